"""The model check through the real job launcher, on the demo task (fast tier): a small MLP found by
the fallback search, a design that cannot be built, a program that never finishes; plus the pure parts
(requirement numbers, verdicts, the send-back note)."""

from __future__ import annotations

import pytest

from backend.ideation.check import check_file, check_program
from backend.ideation.result import CheckLimits, CheckRequest, CheckResult
from backend.ideation.verdict import GB, judge, send_back_message
from backend.pipeline import get_task
from backend.pipeline.tasks import Requirements, Task, custom_task
from tests.ideation.helpers import PROGRAMS, load, own_counts


def test_demo_task_mlp_is_found_measured_and_green(deepones_home):
    task = get_task("demo-digits")
    assert task.input_spec.shape == (64,) and task.input_spec.batch_size == 64
    result = check_file(PROGRAMS / "mlp.py", CheckRequest.for_task(task))
    assert result.status == "ok", result.traceback
    params, trainable, flops = own_counts(load("mlp").MLP(), (64,))
    # The MLP has no build_model(): the search takes MLP, not its part Block, and never runs the main block.
    assert result.model == "MLP" and "search" in result.found_by
    assert (result.params, result.trainable_params) == (params, trainable) == (42_634, 42_634)
    assert abs(result.flops_per_sample - flops) <= 0.05 * flops
    assert result.batch_size == 64 and result.device == "cpu" and result.forward_ms > 0 and result.epoch_s > 0
    # Params, grads and two Adam moments alone are 4 x 4 bytes per parameter; activations come on top.
    assert 16 * params < result.peak_memory_bytes < 1 * GB
    assert result.verdict == "green", result.reasons
    assert result.limits["memory_gb"] == 1.0 and result.job_id
    assert (deepones_home / "jobs" / result.job_id / "program.py").is_file()   # it ran as a job
    assert result.diagram["traced_with"] == "fx" and {"inp", "blocks", "head"} <= {n["id"] for n in result.diagram["nodes"]}


def test_shape_error_gives_the_traceback_as_the_result(deepones_home):
    cifar = CheckRequest.for_task(get_task("image-classification"), diagram=False)
    result = check_file(PROGRAMS / "shape_error.py", cifar)
    assert result.status == "error" and result.verdict == "red"
    assert "mat1 and mat2 shapes cannot be multiplied" in result.error
    assert "Traceback (most recent call last)" in result.traceback and "shape_error" not in result.model
    assert result.reasons[0].startswith("the model could not be built or run: RuntimeError")
    note = send_back_message(result)
    assert "mat1 and mat2" in note and "fix the error" in note


@pytest.mark.slow   # waits out its 2 s limit: kept out of the fast tier's ~20 s budget for ideation
def test_a_check_that_never_finishes_times_out_cleanly(deepones_home):
    never = "import time\nwhile True:\n    time.sleep(0.1)\n"
    request = CheckRequest(input_shape=(4,), batch_size=2, timeout_s=2.0, diagram=False,
                           limits=CheckLimits(memory_gb=1.0))
    result = check_program(never, request)
    assert result.status == "timeout" and result.verdict == "red"
    assert result.reasons == ["the check did not finish in time: no result within 2 s (the job was stopped)"]


def test_requirements_read_as_numbers():
    assert get_task("image-classification").requirements.gpu_memory_gb == 48.0
    demo = get_task("demo-digits").requirements
    assert (demo.gpu_memory_gb, demo.train_time_s, demo.inference_time_s) == (1.0, 60.0, 0.01)
    paper = custom_task("cells", "X", "acc", gpu_memory="~15GB", train_time="~10 hours", inference_time="<1 s")
    assert (paper.requirements.gpu_memory_gb, paper.requirements.train_time_s) == (15.0, 36000.0)
    # A session stored before the numbers existed gets them from its text.
    stored = paper.to_dict()
    stored["requirements"] = {"gpu_memory": "8 GB", "train_time": "2 hours", "inference_time": "50 ms"}
    old = Task.from_dict(stored).requirements
    assert (old.gpu_memory_gb, old.train_time_s, old.inference_time_s) == (8.0, 7200.0, 0.05)
    assert Task.from_dict(get_task("demo-digits").to_dict()) == get_task("demo-digits")
    with pytest.raises(ValueError, match="no input shape"):
        CheckRequest.for_task(get_task("speech-recognition"))
    assert Requirements().gpu_memory_gb == 48.0


def _ok(**numbers) -> CheckResult:
    base = {"status": "ok", "model": "Net", "params": 10, "trainable_params": 10, "flops_per_sample": 100,
            "peak_memory_bytes": 1, "forward_ms": 1.0, "step_ms": 3.0, "epoch_s": 10.0, "batch_size": 128,
            "measured_batch": 128, "device": "cuda", "device_name": "GPU"}
    return CheckResult(**{**base, **numbers})


def test_verdicts_and_their_reasons():
    limits = CheckLimits(memory_gb=15, train_time_s=3600, inference_s_per_example=1.0)
    verdict, reasons = judge(_ok(peak_memory_bytes=21 * GB), limits)
    assert verdict == "red" and reasons == ["~21.0 GB at batch 128 > 15 GB"]
    verdict, reasons = judge(_ok(peak_memory_bytes=13 * GB), limits)
    assert verdict == "amber" and reasons == ["~13.0 GB at batch 128 is close to 15 GB"]
    assert judge(_ok(peak_memory_bytes=2 * GB), limits) == ("green", ["within every requirement checked"])
    verdict, reasons = judge(_ok(epoch_s=7200), limits)
    assert verdict == "red" and reasons == ["one epoch ~2.0 h > the 60 min training budget"]
    # Timed on a CPU for a GPU task: a warning, not a failure.
    verdict, reasons = judge(_ok(epoch_s=7200, device="cpu"), limits)
    assert verdict == "amber" and "measured on the CPU" in reasons[0]
    verdict, reasons = judge(_ok(forward_ms=256_000), limits)
    assert verdict == "red" and reasons == ["inference ~2.0 s per example > 1.0 s"]
    result = _ok(peak_memory_bytes=21 * GB, status="ok")
    result.verdict, result.reasons = judge(result, limits)
    result.limits = limits.to_dict()
    assert "too big: reduce the memory of a training step to under 15 GB" in send_back_message(result)
    assert judge(CheckResult(status="oom", error="CUDA out of memory", batch_size=64, device="cuda"), limits)[0] == "red"
