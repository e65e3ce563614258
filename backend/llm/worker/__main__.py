"""``python -m backend.llm.worker``: the model worker process (see :mod:`backend.llm.worker.server`)."""

import sys

from backend.llm.worker.server import main

sys.exit(main(sys.argv[1:]))
