"""Install an already-built distribution into another environment by copying its installed files.

``python packaging/copy_installed.py llama-cpp-python TARGET_SITE_PACKAGES`` copies every file that
the running interpreter's installation of that distribution lists in its RECORD (the package,
its compiled libraries and its ``.dist-info``) into the target ``site-packages``. The bundle test's
quick mode uses it to build the bundle from the llama.cpp the development venv already compiled,
instead of compiling it again for every CPU (that build is the ``bundle`` tier's, with its cache).
"""

from __future__ import annotations

import shutil
import sys
from importlib.metadata import distribution
from pathlib import Path


def copy_installed(name: str, target: Path) -> int:
    dist = distribution(name)
    copied = 0
    for entry in dist.files or ():
        src = Path(dist.locate_file(entry)).resolve()
        rel = Path(str(entry))
        # Scripts and data installed outside site-packages (bin/, share/) are not part of the import.
        if rel.parts[0] == ".." or not src.is_file():
            continue
        dst = target / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dst)
        copied += 1
    if not copied:
        raise SystemExit(f"{name}: no installed files found to copy")
    return copied


if __name__ == "__main__":
    count = copy_installed(sys.argv[1], Path(sys.argv[2]))
    print(f"copied {count} files of {sys.argv[1]} into {sys.argv[2]}")
