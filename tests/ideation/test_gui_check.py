"""The check panel in Design's stage view and Chat's "Check" on code blocks, in a real window: the
designer's reference code is checked as a sandboxed job, judged against a task's limit, drawn, and
sent back to the designer with the numbers."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings

from backend.pipeline.tasks import InputSpec, custom_task
from deepones_gui.main_window import MainWindow
from deepones_gui.workspaces.design.widgets import NEXT

FIXTURES = Path(__file__).with_name("fixtures")
DESIGNER = f"replay:{FIXTURES / 'designer_mlp.jsonl'}"


def _tiny_task():
    # A limit the MLP (8.8k parameters: 16 bytes each with grads and Adam) cannot meet.
    return custom_task("digit classification", "scikit-learn digits", "accuracy",
                       gpu_memory="no GPU: CPU only, under 0.05 MB of memory", train_time="60 seconds",
                       inference_time="10 ms per example",
                       input_spec=InputSpec(shape=(64,), num_classes=10, batch_size=64, train_examples=1437))


def _run(qtbot, page, button) -> None:
    assert button.isEnabled(), button.text()
    button.click()
    qtbot.waitUntil(lambda: not page.is_running(), timeout=60_000)


def test_check_panel_checks_reference_code_and_sends_it_back(qtbot, app_context, tmp_path):
    QSettings().remove("design")
    window = MainWindow(app_context)
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    qtbot.waitExposed(window)
    page = window.show_workspace("design")
    page.create_session(_tiny_task(), DESIGNER, DESIGNER)
    panel = page.view.check_panel
    assert not panel.check_btn.isEnabled() and "once a stage has produced code" in panel.verdict.text()
    _run(qtbot, page, page.run_btn)                 # Propose
    page.accept_btn.click()
    _run(qtbot, page, page.run_btn)                 # Improve: C_R with build_model()
    improve = page.state.steps[-1]
    assert improve.stage == "improve" and "def build_model" in improve.reference_code

    page.tabs.setCurrentWidget(panel)
    # Before a check, the designer's own DeepData diagram (<MODEL>, <LAYER>...) is drawn.
    assert panel.diagram.diagram["traced_with"] == "deepdata" and "DeepData view" in panel.diagram.info.text()
    assert 'data-id="Linear_64_128"' in panel.diagram.canvas.svg and 'data-id="Dropout"' in panel.diagram.canvas.svg
    assert panel.check_btn.isEnabled() and panel.input_label.text().startswith("Input 64 (float32), batch 64 · task custom-")
    assert not panel.send_btn.isEnabled()
    panel.check_btn.click()
    assert panel.cancel_btn.isEnabled() and not panel.check_btn.isEnabled()   # the GUI stays live meanwhile
    qtbot.waitUntil(lambda: panel.result is not None, timeout=60_000)
    result = panel.result
    assert result.ok and result.model == "DigitMLP" and result.params == 64 * 128 + 128 + 128 * 10 + 10
    assert result.verdict == "red" and panel.verdict.text().startswith("RED: ~")
    cells = {panel.table.item(r, 0).text(): panel.table.item(r, 1) for r in range(panel.table.rowCount())}
    assert set(cells) == {"Parameters", "FLOPs / example", "Peak memory", "Inference", "Epoch"}
    assert cells["Parameters"].text() == "9.6k (9.6k trainable)"
    assert cells["Peak memory"].background().color().name() == "#ffebe9"        # red against 0.05 MB
    assert panel.diagram.diagram["traced_with"] == "fx" and panel.diagram.depth.maximum() == 2
    assert 'data-id="net"' in panel.diagram.canvas.svg
    panel.diagram.depth.setValue(2)
    assert 'data-id="net.3"' in panel.diagram.canvas.svg
    assert panel.diagram.export(tmp_path / "mlp.png") == "" and (tmp_path / "mlp.png").stat().st_size > 1000
    window.grab().save(str(tmp_path / "design-check.png"))

    # Send back: the designer's Improve prompt gets the numbers; Re-run sends them on a new branch.
    assert panel.send_btn.isEnabled()
    panel.send_btn.click()
    assert page.shown == improve.id and page.shown != NEXT
    prompt = page.prompt_edit.toPlainText()
    assert "too big: reduce the memory of a training step to under 50.0 kB" in prompt
    assert "The model check of your design (DigitMLP) found problems" in prompt
    assert page.run_btn.isEnabled() and "Re-run stage" in page.run_btn.text()
    assert "Re-run stage to send them" in page.info.text()


def test_chat_code_blocks_offer_check_for_models_only(qtbot, app_context):
    from deepones_gui.ideation.check_dialog import CheckDialog
    from deepones_gui.workspaces.chat.markdown_view import MarkdownView

    view = MarkdownView()
    qtbot.addWidget(view)
    text = (FIXTURES / "designer_mlp.jsonl").read_text()
    import json

    answer = json.loads(text.splitlines()[1])["content"] + "\n```bash\npip install torch\n```\n"
    view.set_text(answer)
    model_block, shell_block = view.code_widgets()
    assert not model_block.check_button.isHidden() and shell_block.check_button.isHidden()
    with qtbot.waitSignal(view.check_code) as sent:
        model_block.check_button.click()
    assert "class DigitMLP" in sent.args[0]
    dialog = CheckDialog(sent.args[0], Path(app_context.data_dir))
    qtbot.addWidget(dialog)
    # The demo task first (it runs offline); only tasks whose input the check can make up are offered.
    assert dialog.task_combo.itemData(0).name == "demo-digits"
    assert all(dialog.task_combo.itemData(i).input_spec for i in range(dialog.task_combo.count()))
    assert dialog.panel.check_btn.isEnabled() and dialog.panel.send_btn.isHidden()
    dialog.task_combo.setCurrentIndex(dialog.task_combo.findText("Image classification on CIFAR-10"))
    assert dialog.panel.input_label.text() == "Input 3x32x32 (float32), batch 128 · task image-classification"
