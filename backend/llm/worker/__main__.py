"""``python -m backend.llm.worker``: the model worker process (see :mod:`backend.llm.worker.server`)."""

import sys

from backend.llm.worker.server import main

if __name__ == "__main__":  # importing the module (the boundary test walks every module) runs nothing
    sys.exit(main(sys.argv[1:]))
