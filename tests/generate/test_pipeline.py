"""process_paper: the stages, their records, validation with one retry, skips, resume, the MCQ share."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from backend.datasets.schema import DLPD_CATEGORIES, INSTRUCTION_CATEGORIES
from backend.generate.answerers import KeyedReplay
from backend.generate.pipeline import GenerateOptions, mcq_selected, process_paper
from backend.generate.structured import Answer, AnswerError
from tests.generate import paper_fixture as fx


def _answers() -> dict[str, str]:
    return {
        json.loads(line)["step"]: json.loads(line)["content"] for line in fx.ANSWERS.read_text().splitlines()
    }


class Scripted:
    """Answers by step from a dict of lists (one per attempt), and counts what it was asked."""

    model = "scripted"

    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers, self.asked = answers, []

    async def ask(self, request):
        self.asked.append((request.step, request.attempt, request.messages))
        got = self.answers.get(request.step) or self.answers.get(request.step.split(":")[0])
        if got is None or request.attempt >= len(got):
            raise AnswerError(f"nothing for {request.step}")
        return Answer(got[request.attempt], 10, 5)


def test_replayed_paper_gives_every_kind_with_provenance():
    result = process_paper(
        fx.paper(), fx.code_units(), KeyedReplay(fx.ANSWERS), options=GenerateOptions(mcq_share=1)
    )
    assert result.status == "done"
    assert [s.name for s in result.steps] == [
        "filter",
        "contributions",
        "diagram",
        "properties",
        "requirements",
        "code_filter",
        "code_map",
        "pseudocode:models/resnet.py:ResNet",
        "pseudocode:models/resnet.py:BasicBlock",
        "instructions",
        "dlpd",
        "mcq",
    ]
    assert all(s.status == "ok" and s.parsed is not None and s.raw and s.prompt for s in result.steps)
    kinds = Counter((s.kind, s.category) for s in result.samples)
    assert {c for k, c in kinds if k == "instruction"} == set(INSTRUCTION_CATEGORIES)
    assert {c for k, c in kinds if k == "dlpd"} == set(DLPD_CATEGORIES)
    assert {c for k, c in kinds if k == "mcq"} == set(INSTRUCTION_CATEGORIES)
    proposal = next(s for s in result.samples if s.category == "requirement-based proposal")
    assert proposal.instruction.startswith("What would be the model that trains very deep")
    assert "\n- gpu memory: Uses approximately 11GB" in proposal.instruction
    assert proposal.output.startswith("One possible model is ResNet. It stacks residual blocks")
    assert "```pseudocode\nclass ResNet:" in proposal.output
    assert (proposal.repo_file, proposal.repo_line) == ("models/resnet.py", 27)
    assert proposal.prompt_version == "dlpd.v1+pseudocode.v1"
    block = next(s for s in result.samples if s.category == "property-based improvement")
    assert block.instruction == "What would be the block that eases the optimization of very deep networks?"
    assert (block.repo_file, block.repo_line) == (
        "models/resnet.py",
        6,
    ) and "class BasicBlock" in block.output
    lr = next(s for s in result.samples if s.category == "hyperparameter prediction")
    assert (lr.instruction, lr.output) == ("What is a recommended learning rate for ResNet?", "0.1")
    math = next(
        s for s in result.samples if s.category == "mathematical expression" and s.kind == "instruction"
    )
    assert "\\mathcal{F}(x, \\{W_i\\}) + x" in math.output and math.section == "Deep Residual Learning"
    mcq = next(s for s in result.samples if s.kind == "mcq" and s.category == "name guessing")
    assert mcq.answer == "D" and list(mcq.options) == list("ABCDE") and mcq.output == "D. ResNet"
    # Pure: the same answers give the same samples (what lets a Ray worker agree with a local run).
    again = process_paper(
        fx.paper(), fx.code_units(), KeyedReplay(fx.ANSWERS), options=GenerateOptions(mcq_share=1)
    )
    assert [s.to_dict() for s in again.samples] == [s.to_dict() for s in result.samples]


def test_invalid_answer_is_retried_once_with_the_error_then_recorded_as_failed():
    answers = {k: [v] for k, v in _answers().items()}
    answers["diagram"] = ['{"nodes": []}', answers["diagram"][0]]  # fixed by the retry
    answers["requirements"] = ["not json at all", '{"gpu_memory": "a lot"}']  # still wrong after it
    model = Scripted(answers)
    result = process_paper(fx.paper(), fx.code_units(), model, options=GenerateOptions(mcq_share=0))
    diagram, reqs = result.step("diagram"), result.step("requirements")
    assert diagram.status == "ok" and diagram.attempts == 2
    retry = next(m for step, attempt, m in model.asked if step == "diagram" and attempt == 1)
    assert retry[-2]["content"] == '{"nodes": []}' and "not valid" in retry[-1]["content"]
    assert "'edges' is a required property" in retry[-1]["content"]  # the validation error, verbatim
    assert reqs.status == "failed" and reqs.reason.startswith("invalid answer after a retry")
    assert reqs.raw == '{"gpu_memory": "a lot"}'
    # What needed the requirements is skipped with the reason; the rest still produced samples.
    assert result.step("dlpd").status == "skipped" and "requirements" in result.step("dlpd").reason
    assert result.step("mcq").status == "skipped" and "MCQ share" in result.step("mcq").reason
    assert {s.kind for s in result.samples} == {"instruction"}


def test_not_ai_related_paper_is_skipped_with_the_reason():
    model = Scripted({"filter": ['{"ai_related": false, "reason": "It is about soil chemistry."}']})
    result = process_paper(fx.paper(), fx.code_units(), model)
    assert result.status == "skipped" and "soil chemistry" in result.reason
    assert [s.step for s in result.samples] == [] and len(model.asked) == 1
    assert all(s.status == "skipped" for s in result.steps[1:]) and len(result.steps) == 10


def test_no_answer_at_all_fails_the_paper_without_raising():
    result = process_paper(fx.paper(), [], Scripted({}))
    assert result.status == "failed" and "no answer from the model" in result.reason


def test_done_steps_are_reused_without_asking_again():
    first = process_paper(
        fx.paper(), fx.code_units(), KeyedReplay(fx.ANSWERS), options=GenerateOptions(mcq_share=1)
    )
    done = {s.name: s for s in first.steps if s.name in ("filter", "contributions", "diagram")}
    seen = []
    model = Scripted({k: [v] for k, v in _answers().items()})
    resumed = process_paper(
        fx.paper(),
        fx.code_units(),
        model,
        options=GenerateOptions(mcq_share=1),
        done_steps=done,
        on_step=seen.append,
    )
    asked = {step for step, _, _ in model.asked}
    assert not asked & {"filter", "contributions", "diagram"} and "instructions" in asked
    assert [s.name for s in seen] == [s.name for s in resumed.steps][3:]  # only new steps are reported
    assert [s.to_dict() for s in resumed.samples] == [s.to_dict() for s in first.samples]


@pytest.mark.parametrize("share", [0.01, 0.1, 0.5])
def test_mcq_share_is_a_stable_hash_of_the_paper_id(share):
    ids = [f"2401.{n:05d}" for n in range(4000)]
    chosen = [i for i in ids if mcq_selected(i, share)]
    assert chosen == [i for i in ids if mcq_selected(i, share)]
    assert abs(len(chosen) / len(ids) - share) < 0.35 * share + 0.005
    assert mcq_selected("x", 1.0) and not mcq_selected("x", 0.0)


def test_prompts_are_versioned_every_placeholder_is_filled_and_a_user_edit_has_its_own_version(deepones_home):
    from backend.generate.prompts import STAGES, load_prompt, reset_user_prompt, save_user_prompt

    assert {s: load_prompt(s).version for s in STAGES} == {s: f"{s}.v1" for s in STAGES}
    result = process_paper(
        fx.paper(), fx.code_units(), KeyedReplay(fx.ANSWERS), options=GenerateOptions(mcq_share=1)
    )
    for step in result.steps:
        text = "".join(m["content"] for m in step.prompt)
        assert "{{" not in text, (step.name, text[:200])
    assert "Paper: Deep Residual Learning for Image Recognition" in result.steps[0].prompt[0]["content"]

    edited = save_user_prompt("filter", load_prompt("filter").body + "\nBe strict.", deepones_home)
    assert (
        edited.user
        and edited.version.startswith("filter.v1+user.")
        and load_prompt("filter").version == edited.version
    )
    again = process_paper(
        fx.paper(), fx.code_units(), KeyedReplay(fx.ANSWERS), options=GenerateOptions(mcq_share=1)
    )
    assert again.step("filter").prompt_version == edited.version
    assert again.step("filter").prompt[1]["content"].rstrip().endswith("Be strict.")
    # the same wording saved again is the same version; the packaged one comes back on reset
    assert save_user_prompt("filter", edited.body, deepones_home).version == edited.version
    assert reset_user_prompt("filter", deepones_home).version == "filter.v1"
    with pytest.raises(ValueError, match="empty"):
        save_user_prompt("filter", "  ", deepones_home)
