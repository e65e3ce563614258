"""The model's graph from a traced run, computed inside the check job (standard library + torch only).

This file is copied into the check job's folder next to :mod:`model_probe` and runs there, under the
job's confinement, so it imports nothing from ``backend``. It returns the diagram as plain JSON data
(see :mod:`backend.ideation.diagram` for the format and what the app does with it):

- every module of the tree is a node with its class, parameter count (recursive) and output shape
  per example (recorded by forward hooks during the caller's forward pass);
- the edges come from ``torch.fx`` where the model traces symbolically (data flow between leaf
  modules and the operations that merge branches, such as a residual ``add``); where it does not
  trace (data-dependent control flow), the leaf modules are chained in the order they ran, and the
  diagram says ``"traced_with": "hooks"``.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

INPUT, OUTPUT = "<input>", "<output>"
# Operations drawn as their own (small) boxes: those that join branches. Single-input operations
# (flatten, view, relu as a function...) are passed through so the graph stays readable.
MERGE_OPS = {"add", "iadd", "sub", "mul", "matmul", "bmm", "cat", "stack", "concat", "einsum", "baddbmm",
             "scaled_dot_product_attention", "softmax"}


def first_tensor(value: Any) -> torch.Tensor | None:
    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, (list, tuple)):
        for item in value:
            found = first_tensor(item)
            if found is not None:
                return found
    if isinstance(value, dict):
        return first_tensor(list(value.values()))
    return None


class ShapeRecorder:
    """Forward hooks on every module: output shape per example and first-call order."""

    def __init__(self, model: nn.Module) -> None:
        self.model = model
        self.shapes: dict[str, list[int]] = {}
        self.order: dict[str, int] = {}
        self.calls: list[str] = []          # module paths in the order their forward finished
        self.call_shapes: dict[str, list[list[int] | None]] = {}   # per call of a module used repeatedly
        self.handles = []
        for path, module in model.named_modules():
            self.handles.append(module.register_forward_hook(self._hook(path)))

    def _hook(self, path: str):
        def hook(module, args, output) -> None:
            out = first_tensor(output)
            # Drop the batch dimension: shapes are shown per example.
            shape = (list(out.shape[1:]) if out.dim() > 0 else []) if out is not None else None
            if path not in self.order:
                self.order[path] = len(self.calls)
                if shape is not None:
                    self.shapes[path] = shape
            self.call_shapes.setdefault(path, []).append(shape)
            self.calls.append(path)
        return hook

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()


def _depth(path: str) -> int:
    return 0 if not path else path.count(".") + 1


def _parent(path: str) -> str | None:
    if not path:
        return None
    return path.rsplit(".", 1)[0] if "." in path else ""


def _op_name(node) -> str:
    target = node.target
    name = target if isinstance(target, str) else getattr(target, "__name__", str(target))
    return name.strip("_")


def _fx_edges(model: nn.Module) -> tuple[list[dict], list[list[str]]] | None:
    """Op nodes and edges between atoms (leaf modules, merge ops, input, output) from a symbolic trace."""
    try:
        import torch.fx as fx

        graph = fx.symbolic_trace(model).graph
    except Exception:  # noqa: BLE001 - data-dependent control flow and the like: fall back to hooks
        return None
    atom: dict[str, list[str]] = {}      # fx node name -> the atoms it stands for (pass-through ops: its inputs)
    ops: list[dict] = []
    calls: dict[str, int] = {}
    edges: set[tuple[str, str]] = set()
    placeholders = 0
    for node in graph.nodes:
        sources = sorted({a for n in node.all_input_nodes for a in atom.get(n.name, [])})
        if node.op == "placeholder":
            placeholders += 1
            atom[node.name] = [INPUT]
            continue
        if node.op == "get_attr":
            atom[node.name] = []         # a parameter or buffer used directly: no data-flow source
            continue
        if node.op == "output":
            edges.update((s, OUTPUT) for s in sources)
            continue
        if node.op == "call_module":
            me = str(node.target)        # fx keeps torch.nn's own modules as leaves: their paths
            calls[me] = calls.get(me, 0) + 1
            if calls[me] > 1:
                # A module used again (one ReLU for every activation): each call is its own box, else
                # the graph would loop back through it.
                ops.append({"id": f"{me}#{calls[me]}", "call_of": me, "call": calls[me] - 1, "kind": "module"})
                me = f"{me}#{calls[me]}"
        else:
            name = _op_name(node)
            if name not in MERGE_OPS or len(sources) < 2:
                atom[node.name] = sources   # pass-through: what feeds it feeds its users
                continue
            stack = node.meta.get("nn_module_stack") or {}
            scope = ""
            if stack:
                last = list(stack.values())[-1]
                scope = last[0] if isinstance(last, tuple) else str(last)
            me = f"{scope}.@{node.name}" if scope else f"@{node.name}"
            ops.append({"id": me, "type": name, "parent": scope, "kind": "op"})
        atom[node.name] = [me]
        edges.update((s, me) for s in sources if s != me)
    return ops, [list(e) for e in sorted(edges)]


def trace_model(model: nn.Module, recorder: ShapeRecorder, input_shape: list[int], model_name: str) -> dict:
    """The diagram data after ``recorder`` has seen one forward pass of ``model``."""
    params = {path: sum(p.numel() for p in module.parameters()) for path, module in model.named_modules()}
    children = {path: bool(list(module.children())) for path, module in model.named_modules()}
    leaves = {path for path, has in children.items() if not has and path}
    order = recorder.order
    nodes = [{"id": INPUT, "type": "input", "parent": "", "kind": "input", "shape": list(input_shape),
              "params": 0, "order": -1}]
    for path, module in model.named_modules():
        if not path:
            continue
        nodes.append({"id": path, "type": type(module).__name__, "parent": _parent(path), "kind": "module",
                      "shape": recorder.shapes.get(path), "params": params[path], "leaf": path in leaves,
                      "order": order.get(path, len(order) + len(nodes)), "ran": path in order})
    traced = _fx_edges(model)
    if traced is not None:
        ops, edges = traced
        leaf_order = {n["id"]: n["order"] for n in nodes}
        modules = dict(model.named_modules())
        for op in ops:
            if "call_of" in op:
                # A repeated call of a module: its shape from the hook's record of that call.
                path, k = op.pop("call_of"), op.pop("call")
                shapes, seq = recorder.call_shapes.get(path, []), [i for i, p in enumerate(recorder.calls) if p == path]
                op.update({"type": type(modules[path]).__name__, "parent": _parent(path), "leaf": True,
                           "shape": shapes[k] if k < len(shapes) else None, "params": 0, "shared": path,
                           "order": seq[k] if k < len(seq) else len(recorder.calls), "ran": k < len(seq)})
            else:
                # An op runs after the modules that feed it: place it just after the latest of them.
                feeding = [leaf_order.get(src, -1) for src, dst in edges if dst == op["id"]]
                op.update({"shape": None, "params": 0, "order": max(feeding, default=0) + 0.5})
            leaf_order[op["id"]] = op["order"]
        nodes.extend(ops)
        method = "fx"
    else:
        # Hooks fire when a forward finishes, so leaves come out in execution order.
        chain = [INPUT] + [p for p in dict.fromkeys(recorder.calls) if p in leaves] + [OUTPUT]
        edges = [[a, b] for a, b in zip(chain, chain[1:], strict=False)]
        method = "hooks"
    out_shape = recorder.shapes.get("")
    nodes.append({"id": OUTPUT, "type": "output", "parent": "", "kind": "output", "shape": out_shape,
                  "params": 0, "order": 10**9})
    return {"model": model_name, "traced_with": method, "params": params.get("", 0),
            "input_shape": list(input_shape), "nodes": nodes, "edges": edges}
