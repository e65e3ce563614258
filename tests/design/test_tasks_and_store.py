"""Task plugins, prompt rendering, the session store (branches, forks, edits) and next-stage logic."""

import pytest

from backend.pipeline import SessionSettings, SessionStore, TaskError, all_tasks, custom_task, get_task
from backend.pipeline.prompts import STAGE_TEMPLATES, load_template, placeholders
from backend.pipeline.stages import build_prompt, prompt_values

PAPER_TASKS = {
    "image-classification": ("CIFAR-10", "accuracy", "higher"),
    "text-to-image-generation": ("MS COCO mini", "FID", "lower"),
    "image-captioning": ("MS COCO mini", "BLEU-4", "higher"),
    "object-detection": ("MS COCO mini", "box average precision", "higher"),
    "face-recognition": ("LFW", "accuracy", "higher"),
    "question-answering": ("GLUE QNLI", "accuracy", "higher"),
    "sentiment-classification": ("GLUE SST-2", "accuracy", "higher"),
    "natural-language-inference": ("GLUE MNLI", "accuracy", "higher"),
    "recommendation": ("MovieLens-100K", "RMSE", "lower"),
    "speech-recognition": ("LibriSpeech mini", "word error rate", "lower"),
}


def test_the_ten_deepbench_tasks_and_the_demo_are_registered():
    tasks = all_tasks()
    assert set(PAPER_TASKS) | {"demo-digits"} == set(tasks)
    for name, (dataset, metric, direction) in PAPER_TASKS.items():
        task = tasks[name]
        assert task.dataset.startswith(dataset) and task.metric.startswith(metric) and task.direction == direction
        text = task.description()
        assert "Local storage:" in text and "Hugging Face:" in text and task.hf_id in text
        assert "48 GB" in task.requirements.as_lines()
        if "mini" in dataset:
            assert (task.train_size, task.valid_size) == (10_000, 1_000) and "10,000 training" in text
    assert tasks["demo-digits"].offline and "load_digits" in tasks["demo-digits"].description()


def test_custom_task_validates_and_round_trips():
    with pytest.raises(TaskError, match="dataset, metric"):
        custom_task("segment cells", "", "")
    with pytest.raises(TaskError, match="direction"):
        custom_task("segment cells", "my cells", "IoU", "sideways")
    task = custom_task("Cell segmentation", "Cell images in ./cells/{train,val}", "mean IoU", "higher",
                       gpu_memory="8 GB")
    assert task.custom and task.requirements.gpu_memory == "8 GB" and task.name.startswith("custom-cell")
    assert type(task).from_dict(task.to_dict()) == task
    with pytest.raises(TaskError, match="Known tasks"):
        get_task("no-such-task")


def test_every_template_renders_without_leftover_placeholders(store, demo_task):
    sessions = SessionStore(store)
    sid = sessions.create_session(demo_task, "replay:a", "replay:b")
    state = sessions.state(sid)
    for stage in STAGE_TEMPLATES:
        assert placeholders(load_template(stage)) <= set(prompt_values(stage, state))
        prompt = build_prompt(stage, state)
        assert "{{" not in prompt and "scikit-learn digits" in prompt


def test_template_override_in_the_data_dir(deepones_home, store, demo_task):
    (deepones_home / "prompts").mkdir()
    (deepones_home / "prompts" / "propose.md").write_text("Suggest a model for: {{task}}", "utf-8")
    sessions = SessionStore(store)
    state = sessions.state(sessions.create_session(demo_task, "replay:a", "replay:b"))
    assert build_prompt("propose", state).startswith("Suggest a model for: Task: image classification")


def test_branches_forks_edits_and_drafts(store, demo_task):
    s = SessionStore(store)
    sid = s.create_session(demo_task, "replay:a", "replay:b", SessionSettings(max_debug=1))
    assert s.state(sid).next_stage() == "propose"
    p = s.add_step(sid, None, "propose", prompt="P", response="MLP", status="done")
    i = s.add_step(sid, p.id, "improve", prompt="I", response="MLP+dropout", status="done")
    impl = s.add_step(sid, i.id, "implement", code="x", status="failed", error_type="ValueError")
    state = s.state(sid)
    assert [st.stage for st in state.steps] == ["propose", "improve", "implement"]
    assert state.next_stage() == "debug" and state.improved == "MLP+dropout"
    d = s.add_step(sid, impl.id, "debug", attempt=1, code="y", status="failed", debug_log="ValueError -> fixed")
    assert s.state(sid).next_stage() is None and s.state(sid).outcome() == "failed"  # max_debug=1 exhausted
    assert s.state(sid).debug_logs == ["ValueError -> fixed"]

    # Fork at Improve: a second branch; the first one stays in the tree.
    s.fork(sid, i.id)
    assert s.state(sid).next_stage() == "implement"
    alt = s.add_step(sid, i.id, "implement", code="z", status="succeeded", score=0.9)
    assert [x.id for x in s.leaves(sid)] == [alt.id, d.id]
    assert s.state(sid).next_stage() == "hyperparameters"

    # Edits keep every version and the step shows the newest.
    assert s.save_edit(sid, p.id, "response", "A CNN") == 1
    assert s.save_edit(sid, p.id, "response", "A small CNN") == 2
    assert s.step(p.id).response == "A small CNN"
    assert [e["value"] for e in s.edits(sid, p.id, "response")] == ["MLP", "A CNN", "A small CNN"]
    assert s.original(s.step(p.id), "response") == "MLP"
    s.save_edit(sid, alt.id, "code", "z2")
    assert s.step(alt.id).code_version == 1

    h = s.add_step(sid, alt.id, "hyperparameters", response="lr: 0.1", hyperparameters={"lr": 0.1}, status="done")
    s.save_edit(sid, h.id, "response", "lr: 0.01\nbatch_size: 16")
    assert s.state(sid).hyperparameters == {"lr": 0.01, "batch_size": 16}
    s.fork(sid, alt.id)

    s.save_draft(sid, alt.id, "hyperparameters", "my own prompt")
    s.save_draft(sid, alt.id, "hyperparameters", "my own prompt, edited")
    assert s.draft(sid, alt.id, "hyperparameters") == "my own prompt, edited"
    assert len(s.edits(sid, field=s.draft_field(alt.id, "hyperparameters"))) == 2


def test_interrupted_steps_are_marked_not_lost(store, demo_task):
    s = SessionStore(store)
    sid = s.create_session(demo_task, "replay:a", "replay:b")
    step = s.add_step(sid, None, "propose", prompt="typed by me", response="partial ans")
    assert s.mark_interrupted(sid) == 1
    again = s.step(step.id)
    assert again.status == "interrupted" and again.prompt == "typed by me" and again.response == "partial ans"
    assert s.state(sid).next_stage() == "propose"
