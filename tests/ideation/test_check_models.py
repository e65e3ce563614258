"""The model check of real programs on the CIFAR-10 DeepBench task (slow tier: a ResNet-18 and a
ViT-B/16 on the CPU), the ResNet's diagram and its SVG in a real headless Chromium, and the CLI."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from backend.ideation.check import check_file
from backend.ideation.diagram import collapse, diff, diff_summary
from backend.ideation.result import CheckLimits, CheckRequest
from backend.ideation.svg import diagram_to_svg
from backend.pipeline import get_task
from tests.ideation.helpers import PROGRAMS, load, own_counts
from tests.traces.chromium import chromium_or_skip, run_chromium

pytestmark = pytest.mark.slow
CIFAR = (3, 32, 32)


@pytest.fixture(scope="module")
def resnet_check(tmp_path_factory):
    import os

    os.environ["DEEPONES_HOME"] = str(tmp_path_factory.mktemp("home"))
    try:
        yield check_file(PROGRAMS / "resnet18.py", CheckRequest.for_task(get_task("image-classification")))
    finally:
        os.environ.pop("DEEPONES_HOME", None)


def test_resnet18_counts_match_the_tests_own(resnet_check):
    result = resnet_check
    assert result.status == "ok", result.traceback
    params, trainable, flops = own_counts(load("resnet18").build_model(), CIFAR)
    assert result.model == "ResNet18" and result.found_by == "build_model()"
    assert result.params == params == 11_181_642 and result.trainable_params == trainable
    assert abs(result.flops_per_sample - flops) <= 0.05 * flops
    # 48 GB, one GPU: a ResNet-18 at batch 128 is far under it; the CPU-timed epoch may only warn.
    assert result.batch_size == 128 and result.limits["memory_gb"] == 48.0
    assert result.verdict in ("green", "amber") and not any("GB at batch" in r for r in result.reasons)


def test_vit_b16_is_red_under_a_1_gb_requirement(deepones_home):
    task = get_task("image-classification")
    request = CheckRequest.for_task(task, diagram=False)
    request = CheckRequest(**{**request.__dict__, "limits": CheckLimits(memory_gb=1.0, train_time_s=3600,
                                                                        inference_s_per_example=1.0)})
    result = check_file(PROGRAMS / "vit_b16.py", request)
    assert result.status == "ok", result.traceback
    params, trainable, flops = own_counts(load("vit_b16").VisionTransformer(), CIFAR)
    assert result.model == "VisionTransformer" and "search" in result.found_by   # not its part EncoderBlock
    assert result.params == params and result.trainable_params == trainable and 85_000_000 < params < 87_000_000
    assert abs(result.flops_per_sample - flops) <= 0.05 * flops
    # Weights, gradients and Adam's moments alone: 16 bytes x 85.8M parameters > 1 GB.
    assert result.peak_memory_bytes > 16 * params
    assert result.verdict == "red"
    assert re.match(r"~\d\.\d\d GB at batch 128 > 1 GB \(scaled from batch 16\)$", result.reasons[0]), result.reasons


def test_resnet18_diagram_has_its_stages_and_shapes(resnet_check, tmp_path):
    diagram = resnet_check.diagram
    assert diagram["traced_with"] == "fx" and diagram["params"] == 11_181_642
    top = collapse(diagram, 1)
    ids = [n["id"] for n in top.nodes]
    assert ids == ["<input>", "conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4",
                   "avgpool", "fc", "<output>"]
    shapes = {n["id"]: n["shape"] for n in top.nodes}
    assert shapes["conv1"] == [64, 16, 16] and shapes["maxpool"] == [64, 8, 8]
    assert [shapes[f"layer{i}"] for i in (1, 2, 3, 4)] == [[64, 8, 8], [128, 4, 4], [256, 2, 2], [512, 1, 1]]
    assert shapes["fc"] == [10] and ("layer3", "layer4") in top.edges
    params = {n["id"]: n["params"] for n in top.nodes}
    assert params["layer1"] == 147_968 and params["fc"] == 5_130
    # Deeper: each block's residual add joins the block's main path and its shortcut.
    blocks = collapse(diagram, 3)
    add = next(n["id"] for n in blocks.nodes if n["id"].startswith("layer2.0.@add"))
    feeding = {a for a, b in blocks.edges if b == add}
    assert feeding == {"layer2.0.bn2", "layer2.0.downsample"}
    # A diff against a variant with a wider head marks that node changed and nothing else.
    variant = json.loads(json.dumps(diagram))
    for node in variant["nodes"]:
        if node["id"] == "fc":
            node["params"], node["shape"] = 51_300, [100]
    summary = diff_summary(*diff(diagram, variant, 1))
    assert summary == {"added": [], "removed": [], "changed": ["fc"]}


def test_resnet18_svg_opens_in_headless_chromium(resnet_check, tmp_path):
    chromium = chromium_or_skip()
    svg = diagram_to_svg(resnet_check.diagram, 2)
    (tmp_path / "resnet.svg").write_text(svg, "utf-8")
    dom = run_chromium(chromium, tmp_path / "resnet.svg", tmp_path / "p1", "--dump-dom")
    assert dom.returncode == 0 and "This page contains the following errors" not in dom.stdout
    # Inline it in a page whose script measures what the browser drew: every box, every label inside its box.
    page = tmp_path / "measure.html"
    page.write_text("""<!doctype html><html><body>""" + svg + """<pre id="out"></pre><script>
const nodes = [...document.querySelectorAll('g.node')];
const clipped = nodes.filter(g => [...g.querySelectorAll('text')].some(
    t => t.getBBox().width > g.querySelector('rect').getBBox().width + 0.5)).map(g => g.dataset.id);
document.getElementById('out').textContent = JSON.stringify({boxes: nodes.length,
    ids: nodes.map(g => g.dataset.id), edges: document.querySelectorAll('path.edge').length, clipped});
</script></body></html>""", "utf-8")
    out = run_chromium(chromium, page, tmp_path / "p2", "--dump-dom")
    report = json.loads(out.stdout.split('<pre id="out">', 1)[1].split("</pre>", 1)[0])
    view = collapse(resnet_check.diagram, 2)
    assert report["boxes"] == len(view.nodes) and report["edges"] == len(view.edges)
    assert "layer4.1" in report["ids"] and report["clipped"] == []


def test_cli_check_json_and_diagram(deepones_home, tmp_path):
    cli = [sys.executable, "-c", "import sys; from backend.cli import main; main(sys.argv[1:])"]
    done = subprocess.run([*cli, "design", "check", str(PROGRAMS / "vit_b16.py"), "--task", "image-classification",
                           "--memory-limit", "1", "--device", "cpu", "--json"], capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 3, done.stderr
    last = json.loads(done.stdout.strip().splitlines()[-1])
    assert last["model"] == "VisionTransformer" and last["verdict"] == "red"
    for key in ("params", "trainable_params", "flops_per_sample", "peak_memory_bytes", "forward_ms", "reasons"):
        assert key in last
    assert "verdict        RED" in done.stdout
    bad = subprocess.run([*cli, "design", "check", str(PROGRAMS / "shape_error.py"), "--input-shape", "3,32,32",
                          "--json"], capture_output=True, text=True, timeout=300)
    assert bad.returncode == 1 and "Traceback" in bad.stderr and json.loads(bad.stdout.splitlines()[-1])["status"] == "error"
    out = tmp_path / "resnet.svg"
    drawn = subprocess.run([*cli, "design", "diagram", str(PROGRAMS / "resnet18.py"), "--task",
                            "image-classification", "--out", str(out), "--depth", "2"],
                           capture_output=True, text=True, timeout=300)
    assert drawn.returncode == 0, drawn.stderr
    assert out.read_text().startswith("<svg") and 'data-id="layer3.1"' in out.read_text()
    usage = subprocess.run([*cli, "design", "check", str(PROGRAMS / "mlp.py")], capture_output=True, text=True,
                           timeout=120)
    assert usage.returncode == 2 and usage.stderr.strip() == (
        "deepones: give --task NAME (see `deepones design --list-tasks`) or --input-shape, e.g. 3,32,32")


@pytest.mark.gpu
def test_resnet18_on_cuda_reports_the_allocator_peak(deepones_home):
    """On a GPU the peak is CUDA's own allocator statistic for a training step at the full batch."""
    import torch

    if not torch.cuda.is_available():
        pytest.skip("needs an NVIDIA GPU with a CUDA build of torch")
    result = check_file(PROGRAMS / "resnet18.py",
                        CheckRequest.for_task(get_task("image-classification"), device="cuda", diagram=False))
    assert result.status == "ok", result.traceback
    assert result.device == "cuda" and result.memory_method == "cuda allocator peak"
    assert result.measured_batch == result.batch_size == 128 and result.params == 11_181_642
    # At least the weights, their gradients and Adam's two moments were allocated during the step.
    assert result.peak_memory_bytes >= 16 * result.params
