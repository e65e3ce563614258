"""Validated stage answers -> samples in the paper's shapes (Figures 2 and 3, Appendix B.2).

- instruction: question => long answer, one of the seven categories, with the section it came from;
- DLPD: "What would be the model that <purpose> under - gpu memory: ... - train time: ... -
  inference time: ..." => "One possible model is X. It ..."; "What would be the block that
  <improves>?" => "One possible block is Y. It ..."; "What is a recommended <name> for X?" =>
  "<value>". Proposal and improvement answers carry the pseudocode of the code mapped to that
  node, as the paper's DLPD answers do (and the sample records that code's file:line);
- MCQ: the question, options A-E, the answer letter, and "C. <text>" as the output (DeepQA's shape).
"""

from __future__ import annotations

import re

from backend.generate.model import CodeUnit
from backend.generate.records import GeneratedSample, StepRecord
from backend.generate.schemas import CATEGORY_KEYS

Pseudo = dict[str, tuple[CodeUnit, str, str]]  # node name (lower) -> (unit, pseudocode, prompt version)


def _clause(text: str, lead: str) -> str:
    """``text`` without a leading ``lead`` word the template already says ("that", "It")."""
    text = " ".join(str(text).split()).strip()
    return re.sub(rf"^{lead}\s+", "", text, flags=re.I).rstrip()


def _flat(text: str) -> str:
    return " ".join(str(text).split())


def _sentence(text: str) -> str:
    return text if text.endswith((".", "!", "?")) else text + "."


def _with_code(answer: str, found: tuple[CodeUnit, str, str] | None) -> str:
    if found is None:
        return answer
    unit, code, _ = found
    return f"{answer}\n\nHere is the pseudocode of {unit.name}:\n\n```pseudocode\n{code.strip()}\n```"


def _code_for(name: str, pseudo: Pseudo, diagram: StepRecord, kind: str) -> tuple[CodeUnit, str, str] | None:
    """The pseudocode mapped to the node called ``name``, else (for the model) to the main <MODEL> node."""
    found = pseudo.get(name.lower())
    if found is None and kind == "model" and diagram.ok:
        main = next((n["name"] for n in diagram.parsed["nodes"] if n["type"] == "<MODEL>"), None)
        found = pseudo.get(main.lower()) if main else None
    return found


def _dlpd(step: StepRecord, req: StepRecord, diagram: StepRecord, pseudo: Pseudo) -> list[GeneratedSample]:
    if not step.ok:
        return []
    out: list[GeneratedSample] = []
    proposal = step.parsed["proposal"]
    model = " ".join(proposal["model"].split())

    def sample(category: str, question: str, answer: str, found=None) -> GeneratedSample:
        version = step.prompt_version + (f"+{found[2]}" if found else "")
        return GeneratedSample(
            "dlpd",
            category,
            question,
            answer,
            step="dlpd",
            prompt_version=version,
            repo_file=found[0].file if found else None,
            repo_line=found[0].line if found else None,
        )

    if req.ok:
        r = req.parsed
        question = (
            f"What would be the model that {_clause(proposal['purpose'], 'that')} under\n"
            f"- gpu memory: {_flat(r['gpu_memory'])}\n- train time: {_flat(r['train_time'])}\n"
            f"- inference time: {_flat(r['inference_time'])}"
        )
        found = _code_for(model, pseudo, diagram, "model")
        answer = _sentence(f"One possible model is {model}. It {_clause(proposal['description'], 'It')}")
        out.append(sample("requirement-based proposal", question, _with_code(answer, found), found))
    for item in step.parsed["improvements"]:
        block = " ".join(item["block"].split())
        found = _code_for(block, pseudo, diagram, "block")
        question = (
            _sentence(f"What would be the block that {_clause(item['improves'], 'that')}").rstrip(".") + "?"
        )
        answer = _sentence(f"One possible block is {block}. It {_clause(item['description'], 'It')}")
        out.append(sample("property-based improvement", question, _with_code(answer, found), found))
    for item in step.parsed["hyperparameters"]:
        question = f"What is a recommended {_clause(item['name'], 'the')} for {model}?"
        out.append(sample("hyperparameter prediction", question, item["value"].strip()))
    return out


def build_samples(
    diagram: StepRecord, req: StepRecord, instr: StepRecord, dlpd: StepRecord, mcq: StepRecord, pseudo: Pseudo
) -> list[GeneratedSample]:
    """Every sample the paper's validated answers make, in a fixed order (instruction, DLPD, MCQ)."""
    out: list[GeneratedSample] = []
    if instr.ok:
        for key, category in CATEGORY_KEYS.items():
            for item in instr.parsed[key]:
                out.append(
                    GeneratedSample(
                        "instruction",
                        category,
                        item["question"].strip(),
                        item["answer"].strip(),
                        section=item["section"],
                        step="instructions",
                        prompt_version=instr.prompt_version,
                    )
                )
    out += _dlpd(dlpd, req, diagram, pseudo)
    if mcq.ok:
        for item in mcq.parsed["questions"]:
            options = {k: item["options"][k].strip() for k in sorted(item["options"])}
            letter = item["answer"]
            out.append(
                GeneratedSample(
                    "mcq",
                    item["category"],
                    item["question"].strip(),
                    f"{letter}. {options[letter]}",
                    options=options,
                    answer=letter,
                    step="mcq",
                    prompt_version=mcq.prompt_version,
                )
            )
    # The same text twice in one paper is one sample (the store would fold it anyway).
    unique: dict[str, GeneratedSample] = {}
    for sample in out:
        unique.setdefault(sample.content_hash(), sample)
    return list(unique.values())
