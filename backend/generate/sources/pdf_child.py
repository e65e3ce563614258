"""Child process: the text of each page of a PDF through pypdf, printed as one JSON line.

Run as ``python -I pdf_child.py MEMORY_MB CPU_S PATH MAX_PAGES`` by :mod:`.pdf`; a hostile PDF can
only exhaust this process's limits. Any failure is reported as ``{"error": "..."}``.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from child_limits import apply_limits

MAX_PAGE_CHARS = 200_000


def main() -> int:
    memory_mb, cpu_s, path, max_pages = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    apply_limits(memory_mb, cpu_s)
    import logging

    logging.disable(logging.CRITICAL)  # pypdf warns on stderr about every odd object
    try:
        from pypdf import PdfReader

        reader = PdfReader(path, strict=False)
        if reader.is_encrypted:
            try:
                reader.decrypt("")
            except Exception:  # noqa: BLE001
                print(json.dumps({"error": "the PDF is encrypted"}))
                return 0
        meta = reader.metadata or {}
        info = {k: str(meta.get(k) or "") for k in ("/Title", "/Author", "/CreationDate", "/Subject")}
        pages = []
        total = len(reader.pages)
        for page in reader.pages[:max_pages]:
            pages.append((page.extract_text() or "")[:MAX_PAGE_CHARS])
        print(json.dumps({"pages": pages, "page_count": total, "metadata": info}))
    except MemoryError:
        print(json.dumps({"error": "the PDF needs more memory than allowed"}))
    except Exception as exc:  # noqa: BLE001 - one line for the user, whatever pypdf raised
        print(json.dumps({"error": f"not a readable PDF ({type(exc).__name__}: {str(exc)[:160]})"}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
