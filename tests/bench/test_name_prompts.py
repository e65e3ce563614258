"""The designer prompts ask for the Table 3 names on lines of their own, and such lines are what is read."""

from __future__ import annotations

from backend.bench.names import find_name
from backend.pipeline import SessionSettings, SessionState, get_task
from backend.pipeline.stages import build_prompt


def test_propose_and_improve_prompts_ask_for_the_name_lines(deepones_home):
    state = SessionState(get_task("demo-digits"), SessionSettings(), [])
    propose, improve = build_prompt("propose", state), build_prompt("improve", state)
    assert '"Backbone: <name>"' in propose and "Improvement:" not in propose
    assert '"Improvement: <name>"' in improve
    # An answer that does what the prompts ask is read from its line, not guessed from the prose.
    answer = "One possible model is a small network with attention.\nBackbone: ResNet-18\n"
    assert (find_name(answer, "backbone").name, find_name(answer, "backbone").source) == ("ResNet-18", "line")
    answer = "One possible improvement is a better block.\n```python\npass\n```\nImprovement: mixup\n"
    assert (find_name(answer, "improvement").name, find_name(answer, "improvement").source) == ("mixup", "line")
