"""Registers the Bench workspace: sweeps, Table 2 / Table 3, the error chart and DeepQA."""

from backend.hookspecs import hookimpl
from backend.workspaces import WorkspaceSpec


def _factory(ctx):
    from deepones_gui.workspaces.bench.page import BenchPage

    return BenchPage(ctx)


@hookimpl
def register_workspaces(register):
    register(WorkspaceSpec("bench", "Bench", 50, _factory, icon="SP_FileDialogDetailedView",
                           tooltip="DeepBench sweeps (Table 2, Table 3, error chart) and DeepQA accuracy"))
