"""Registers the Bench workspace: sweeps, Table 2 / Table 3, the error chart and DeepQA."""

from backend.hookspecs import hookimpl


@hookimpl
def register_workspaces(register):
    from deepones_gui.workspaces.builtin import BENCH

    register(BENCH)
