"""Ideation: size and draw a design before running it.

- :mod:`backend.ideation.result` — CheckRequest / CheckLimits / CheckResult (plain data)
- :mod:`backend.ideation.check` — ``check_program`` / ``check_file``: the model check as a sandboxed job
- :mod:`backend.ideation.verdict` — green / amber / red against the task's requirements, and the
  "send back to the designer" note
- :mod:`backend.ideation.model_probe`, :mod:`backend.ideation.trace_probe` — what runs inside the job
- :mod:`backend.ideation.diagram` — the model graph: collapse by depth, diff two designs, layout
- :mod:`backend.ideation.svg` — the diagram as SVG (pure Python)
"""
