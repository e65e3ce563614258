"""The model check's program: runs inside a sandboxed job, next to the checked ``program.py``.

Standard library + torch only (the job's interpreter may be another environment); it is copied into
the job folder with :mod:`trace_probe` and started as ``python model_probe.py check_request.json``.
It writes ``check.json`` (the measurements, or the traceback when the model cannot be built) and
exits 0 either way: a broken design is a result, not a failed check.

Finding the model (the implement prompt asks for the convention):
1. ``build_model()`` in the program, called with no arguments, returns the ``nn.Module``;
2. otherwise the program is imported as a module (named ``deepones_program``, so its
   ``if __name__ == "__main__":`` block never runs); module-level ``nn.Module`` instances and the
   ``nn.Module`` subclasses it defines whose constructors need no arguments are candidates, and the
   largest (by parameters) that is not a part of another candidate is the model.

Measured on a dummy batch of the task's input shape: parameters, forward FLOPs per example
(``torch.utils.flop_counter.FlopCounterMode``), one training step (forward, backward, an Adam step),
the forward latency (eval mode, no grad) and, on CUDA, the allocator's peak for the step. On the CPU
the peak is an estimate: parameters + gradients + Adam's two moments + the tensors autograd saves for
the backward pass (counted once per storage through ``saved_tensors_hooks``) + the input batch. On
the CPU a costly model (a training step over ``CPU_FULL_BATCH_FLOPS``) is measured on at most
``cpu_probe_batch`` examples, and its activations and times are scaled linearly to the task's batch
size (the result's ``measured_batch`` says which batch ran). Times are the better of two runs.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import sys
import time
import traceback

PROGRAM_MODULE = "deepones_program"
# On the CPU a training step of at most this many FLOPs (3 x forward) runs at the full batch.
CPU_FULL_BATCH_FLOPS = 30e9


class ModelNotFound(Exception):
    """The program has no ``build_model()`` and no module that can be built without arguments."""


def load_program(path: str):
    folder = os.path.dirname(os.path.abspath(path))
    if folder not in sys.path:
        sys.path.insert(0, folder)
    spec = importlib.util.spec_from_file_location(PROGRAM_MODULE, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[PROGRAM_MODULE] = module
    spec.loader.exec_module(module)     # __name__ is not "__main__": the training block does not run
    return module


def find_model(module):
    """(model, how it was found, notes about candidates that could not be built)."""
    from torch import nn

    factory = getattr(module, "build_model", None)
    if callable(factory):
        model = factory()
        if not isinstance(model, nn.Module):
            raise ModelNotFound(f"build_model() returned {type(model).__name__}, not a torch.nn.Module")
        return model, "build_model()", []
    candidates: list[nn.Module] = []
    notes: list[str] = []
    for name, value in vars(module).items():
        if isinstance(value, nn.Module):
            candidates.append(value)
        elif (isinstance(value, type) and issubclass(value, nn.Module)
              and getattr(value, "__module__", "") == PROGRAM_MODULE):
            try:
                candidates.append(value())
            except TypeError as exc:
                notes.append(f"{name}() needs arguments ({exc})")
    if not candidates:
        detail = "; ".join(notes) or "the program defines no nn.Module"
        raise ModelNotFound(f"no build_model() and no nn.Module that builds without arguments: {detail}")

    def is_part(candidate) -> bool:
        kind = type(candidate)
        return any(other is not candidate and type(other) is not kind
                   and any(type(sub) is kind for sub in other.modules()) for other in candidates)

    top = [c for c in candidates if not is_part(c)] or candidates
    model = max(top, key=lambda m: sum(p.numel() for p in m.parameters()))
    return model, f"largest nn.Module ({type(model).__name__}, found by search)", notes


def dummy_batch(torch, request: dict, batch: int, device):
    shape = [batch, *request["input_shape"]]
    if request.get("dtype", "float32") == "int64":
        return torch.randint(0, int(request.get("vocab_size") or 1000), shape, device=device)
    return torch.randn(shape, device=device)


def scalar_loss(torch, output):
    from trace_probe import first_tensor

    out = first_tensor(output)
    if out is None:
        raise TypeError(f"the model returned {type(output).__name__}, which holds no tensor to backpropagate")
    return out.float().mean()


class SavedTensorBytes:
    """Bytes autograd keeps for the backward pass, each storage counted once (parameters excluded)."""

    def __init__(self, exclude: set[int]) -> None:
        self.seen = set(exclude)
        self.total = 0

    def pack(self, tensor):
        try:
            storage = tensor.untyped_storage()
            key = storage.data_ptr()
            if key and key not in self.seen:
                self.seen.add(key)
                self.total += storage.nbytes()
        except (RuntimeError, NotImplementedError):
            self.total += tensor.numel() * tensor.element_size()
        return tensor

    @staticmethod
    def unpack(tensor):
        return tensor


def measure(request: dict) -> dict:
    import torch
    import trace_probe
    from torch.utils.flop_counter import FlopCounterMode

    want = request.get("device") or "auto"
    cuda = torch.cuda.is_available() and want in ("auto", "cuda")
    if want == "cuda" and not cuda:
        raise RuntimeError("--device cuda was asked for, but torch sees no CUDA device in the job")
    device = torch.device("cuda" if cuda else "cpu")
    batch = int(request["batch_size"])
    probe = batch if cuda else max(1, min(batch, int(request.get("cpu_probe_batch") or 16)))
    torch.manual_seed(0)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    module = load_program(request["program"])
    timings["import_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    model, found_by, notes = find_model(module)
    model = model.to(device)
    timings["build_s"] = time.perf_counter() - t0
    params = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    param_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
    trainable_bytes = sum(p.numel() * p.element_size() for p in model.parameters() if p.requires_grad)
    x = dummy_batch(torch, request, probe, device)

    # 1. Forward once with FLOP counting and shape hooks (eval mode, no grad): FLOPs and the diagram.
    recorder = trace_probe.ShapeRecorder(model)
    model.eval()
    t0 = time.perf_counter()
    counter = FlopCounterMode(display=False)
    try:
        with torch.no_grad(), counter:
            model(x)
    finally:
        recorder.remove()
    timings["count_s"] = time.perf_counter() - t0
    flops = counter.get_total_flops() / probe
    diagram = None
    if request.get("diagram", True):
        t0 = time.perf_counter()
        diagram = trace_probe.trace_model(model, recorder, list(request["input_shape"]), type(model).__name__)
        timings["trace_s"] = time.perf_counter() - t0

    # 2. Training steps (forward, backward, Adam): the first for memory, the second timed (warm).
    # On the CPU a model cheap enough runs the whole batch; a costly one runs the probe batch, scaled.
    if not cuda and flops * batch * 3 <= float(request.get("cpu_full_batch_flops") or CPU_FULL_BATCH_FLOPS):
        probe = batch
        x = dummy_batch(torch, request, probe, device)
    scale = batch / probe
    model.train()
    optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-3) if trainable else None
    saved = SavedTensorBytes({p.untyped_storage().data_ptr() for p in model.parameters()})
    if cuda:
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()

    def step(hooks: SavedTensorBytes | None) -> float:
        t0 = time.perf_counter()
        if hooks is not None:
            with torch.autograd.graph.saved_tensors_hooks(hooks.pack, hooks.unpack):
                loss = scalar_loss(torch, model(x))
        else:
            loss = scalar_loss(torch, model(x))
        if loss.requires_grad:
            loss.backward()
        if optimizer is not None:
            optimizer.step()
            optimizer.zero_grad(set_to_none=False)
        if cuda:
            torch.cuda.synchronize()
        return time.perf_counter() - t0

    first_step_s = step(saved)
    if cuda:
        peak = torch.cuda.max_memory_allocated() - base + param_bytes   # the model itself was there before
        memory_method = "cuda allocator peak"
    else:
        opt_bytes = 2 * trainable_bytes if optimizer is not None else 0
        input_bytes = x.numel() * x.element_size()
        peak = int(param_bytes + trainable_bytes + opt_bytes + (saved.total + input_bytes) * scale)
        memory_method = "estimate: params + grads + Adam state + saved activations"
    step_s = min(first_step_s, step(None))
    timings["first_step_s"] = first_step_s

    # 3. Forward latency (eval, no grad): the better of two passes.
    model.eval()
    forward_s = float("inf")
    with torch.no_grad():
        for _ in range(2):
            if cuda:
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            model(x)
            if cuda:
                torch.cuda.synchronize()
            forward_s = min(forward_s, time.perf_counter() - t0)
    examples = request.get("train_examples")
    step_s_batch = step_s * scale
    epoch_s = step_s_batch * math.ceil(int(examples) / batch) if examples else None
    return {
        "status": "ok", "model": type(model).__name__, "found_by": found_by, "notes": notes,
        "params": int(params), "trainable_params": int(trainable), "flops_per_sample": int(flops),
        "peak_memory_bytes": int(peak), "memory_method": memory_method,
        "saved_activation_bytes": int(saved.total * scale),
        "forward_ms": forward_s * 1000 * scale, "step_ms": step_s_batch * 1000, "epoch_s": epoch_s,
        "batch_size": batch, "measured_batch": probe, "device": str(device),
        "device_name": torch.cuda.get_device_name(0) if cuda else "cpu",
        "input_shape": list(request["input_shape"]), "dtype": request.get("dtype", "float32"),
        "timings": timings, "diagram": diagram, "torch": torch.__version__,
    }


def failure(exc: BaseException, stage: str) -> dict:
    tb = traceback.format_exc()
    line = f"{type(exc).__name__}: {exc}".strip()
    oom = "out of memory" in str(exc).lower()
    return {"status": "oom" if oom else "error", "stage": stage, "error": line.splitlines()[0][:500],
            "traceback": tb[-20000:]}


def main(argv: list[str]) -> int:
    here = os.path.dirname(os.path.abspath(__file__))
    if here not in sys.path:
        sys.path.insert(0, here)
    with open(argv[1], encoding="utf-8") as fh:
        request = json.load(fh)
    out_path = request.get("output") or "check.json"
    t0 = time.perf_counter()
    try:
        result = measure(request)
    except ModelNotFound as exc:
        result = {"status": "no_model", "stage": "find", "error": str(exc), "traceback": ""}
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt):
            raise
        result = failure(exc, "build")
    result["probe_s"] = time.perf_counter() - t0
    with open(out_path + ".tmp", "w", encoding="utf-8") as fh:
        json.dump(result, fh)
    os.replace(out_path + ".tmp", out_path)
    print(f"deepones check: {result['status']}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
