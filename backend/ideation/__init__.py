"""Ideation: several designs side by side, sized and drawn before anything runs.

- :mod:`backend.ideation.board` — the proposal board: N proposals at once, merge, continue on a card's branch
  (:mod:`.cards` reads the cards from the session tree, :mod:`.streams` streams the answers in parallel,
  :mod:`.compare` diffs A_I against A_B, :mod:`.card_check` checks a card through the model check)
- :mod:`backend.ideation.result` — CheckRequest / CheckLimits / CheckResult (plain data)
- :mod:`backend.ideation.check` — ``check_program`` / ``check_file``: the model check as a sandboxed job
- :mod:`backend.ideation.verdict` — green / amber / red against the task's requirements, and the
  "send back to the designer" note
- :mod:`backend.ideation.model_probe`, :mod:`backend.ideation.trace_probe` — what runs inside the job
- :mod:`backend.ideation.diagram` — the model graph: collapse by depth, diff two designs, layout
- :mod:`backend.ideation.svg` — the diagram as SVG (pure Python)
"""
