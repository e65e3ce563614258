"""DeepOnes Studio's Qt-free core: store, datasets, llm, pipeline, jobs, bench, cli.

Nothing under ``backend`` may import Qt or ``deepones_gui`` (a test enforces it), so every
capability is usable from the CLI and from tests without a display.
"""

__version__ = "0.1.0"
