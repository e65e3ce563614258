"""Registers the Generate workspace: papers and their code -> DeepData samples with provenance."""

from backend.hookspecs import hookimpl


@hookimpl
def register_workspaces(register):
    from deepones_gui.workspaces.builtin import GENERATE

    register(GENERATE)
