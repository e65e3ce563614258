"""Models' scene: a real quantisation (the embedded model requantised to Q8_0 into the data dir), with
the pull and endpoint fields filled in as a user would."""

from __future__ import annotations

_started: list[bool] = []


def prepare(page) -> None:
    page.repo.setText("bartowski/Llama-3.2-1B-Instruct-GGUF")
    page.pattern.setText("*Q4_K_M.gguf")
    page.endpoint.setText("http://127.0.0.1:8080/v1#deepllama-8b")


def ready(page) -> bool:
    if not _started and page.rows and page.ready():
        _started.append(True)
        page.table.selectRow(0)
        page.qtype.setCurrentText("Q8_0")
        page.quantize_selected()   # as the Quantise button does
        return False
    return bool(_started) and len(page.rows) >= 2 and page.ready()
