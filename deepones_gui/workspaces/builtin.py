"""The first-party workspaces, described once.

The ``*_workspace`` plugin modules (built-in plugins, registered even with
``DEEPONES_LOAD_PLUGINS=0``) register these specs; the window shows what the hook returns.
Factories name their page class as a string: nothing here imports a page before it is opened.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from backend.workspaces import WorkspaceSpec


def lazy_page(target: str) -> Callable[[Any], Any]:
    """A factory ``ctx -> page`` for ``"package.module:Class"``, importing the module on first use."""
    module_name, _, class_name = target.partition(":")

    def factory(ctx: Any) -> Any:
        return getattr(importlib.import_module(module_name), class_name)(ctx)

    factory.__qualname__ = f"lazy_page({target})"
    return factory


OVERVIEW = WorkspaceSpec("overview", "Overview", 0, lazy_page("deepones_gui.workspaces.overview:OverviewPage"),
                         icon="SP_ComputerIcon", tooltip="Your setup at a glance: models, GPUs, data, plugins",
                         needs_store=False)
DATA = WorkspaceSpec("data", "Data", 10, lazy_page("deepones_gui.workspaces.data.page:DataPage"),
                     icon="SP_FileDialogDetailedView", tooltip="Import, browse, search, curate and export DeepData",
                     listens=("open_sample", "filter_data_by_paper"))
CHAT = WorkspaceSpec("chat", "Chat", 20, lazy_page("deepones_gui.workspaces.chat.page:ChatPage"),
                     icon="SP_MessageBoxInformation",
                     tooltip="Talk to the designer model: local GGUF or any OpenAI-compatible endpoint")
MODELS = WorkspaceSpec("models", "Models", 25, lazy_page("deepones_gui.workspaces.models.page:ModelManagerPage"),
                       icon="SP_DriveHDIcon",
                       tooltip="Local GGUF models: metadata, memory, pull from the hub, quantise, defaults")
DESIGN = WorkspaceSpec("design", "Design", 30, lazy_page("deepones_gui.workspaces.design.page:DesignPage"),
                       icon="SP_FileDialogContentsView",
                       tooltip="Propose, improve, implement, debug and run a deep learning program",
                       listens=("send_to_design", "open_design_session", "compare_in_design"))
JOBS = WorkspaceSpec("jobs", "Jobs", 40, lazy_page("deepones_gui.workspaces.jobs.page:JobsPage"),
                     icon="SP_MediaPlay", tooltip="Running and finished jobs: live metric charts, logs, GPUs",
                     listens=("show_jobs",))
BENCH = WorkspaceSpec("bench", "Bench", 50, lazy_page("deepones_gui.workspaces.bench.page:BenchPage"),
                      icon="SP_FileDialogDetailedView",
                      tooltip="DeepBench sweeps (Table 2, Table 3, error chart) and DeepQA accuracy")
TRACES = WorkspaceSpec("traces", "Traces", 60, lazy_page("deepones_gui.workspaces.traces.page:TracesPage"),
                       icon="SP_FileDialogDetailedView",
                       tooltip="Failed debug traces across sessions: filter, label, diff, export",
                       listens=("open_trace",))
TRAIN = WorkspaceSpec("train", "Train", 70, lazy_page("deepones_gui.workspaces.train.page:TrainPage"),
                      icon="SP_ArrowUp", tooltip="Fine-tune a designer on curated DeepData, convert it to GGUF, use it",
                      listens=("train_on",))

GENERATE = WorkspaceSpec("generate", "Generate", 80, lazy_page("deepones_gui.workspaces.generate.page:GeneratePage"),
                         icon="SP_FileDialogNewFolder", shortcut="Ctrl+0",
                         tooltip="Papers and their code -> instruction, DLPD and MCQ samples with provenance")


def available_workspaces(*, third_party: bool = True) -> list[WorkspaceSpec]:
    """What plugins register (the built-in workspace plugins always load; ``third_party=False``
    leaves entry points unscanned, for the first frame)."""
    from backend.workspaces import workspaces

    return workspaces(third_party=third_party)
