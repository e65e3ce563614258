"""Regenerate the README screenshots from the real app (offscreen), with the demo data dir.

    QT_QPA_PLATFORM=offscreen python scripts/screenshots.py [--out docs/screenshots]

Train's scene is a real demo run (the page's ``prepare_screenshot``: SmolLM2, 2 x 6 steps on a fixed
batch, Q8_0, DeepQA on 20 questions): minutes on a CPU. ``--only train`` makes just that one.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    parser.add_argument("--only", nargs="*", help="workspace names to capture (default: all)")
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    home = Path(os.environ.get("DEEPONES_HOME") or tempfile.mkdtemp(prefix="deepones-shots-"))
    os.environ["DEEPONES_HOME"] = str(home)
    os.environ.setdefault("XDG_CONFIG_HOME", str(home / "config"))

    from PySide6.QtCore import QEventLoop, QTimer

    from deepones_gui.app import make_application, open_context
    from deepones_gui.concurrent import wait_for_background_tasks
    from deepones_gui.main_window import MainWindow

    app = make_application([])
    ctx = open_context(home, interactive=False)
    window = MainWindow(ctx)
    window.resize(1280, 800)   # the app's default size; the README shows what a new user sees
    window.show()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    def settle(ms: int) -> None:
        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()

    if not args.only or "startup" in args.only:
        shoot_startup(ctx, out)
    for spec in window.specs:
        if args.only and spec.name not in args.only:
            continue
        page = window.show_workspace(spec.name)
        prepare = getattr(page, "prepare_screenshot", None)
        if prepare:
            prepare()
        for _ in range(60):  # let background work (doctor, queries) land
            settle(250)
            wait_for_background_tasks(100)
            if getattr(page, "screenshot_ready", lambda: True)():
                break
        settle(300)
        target = out / f"{spec.name}.png"
        window.grab().save(str(target))
        print(target)
        for item in _extra_screenshots(page, out):  # more views of one workspace (Traces' HTML page, Bench tables)
            if isinstance(item, tuple):
                name, show = item
                show()
                settle(300)
                window.grab().save(str(out / f"{name}.png"))
                item = out / f"{name}.png"
            print(item)
    if not args.only or "design" in args.only:
        shoot_design_interrupted(window, out, settle)
    if not args.only or "board" in args.only:
        shoot_board(window, out, settle)
    if not args.only or "check" in args.only:
        shoot_design_check(window, out, settle)
    if not args.only or "wizard" in args.only:
        shoot_wizard(ctx, window, out, settle)
    if not args.only or "preferences" in args.only:
        from deepones_gui.dialogs import PreferencesDialog

        dialog = PreferencesDialog(ctx, window)
        dialog.show()
        settle(300)
        target = out / "preferences.png"
        dialog.grab().save(str(target))
        print(target)
        dialog.close()
    if not args.only or "data" in args.only:
        print(capture_data_tools(window, ctx, out, settle))
    if not args.only or "data-map" in args.only:
        for target in capture_data_map(window, ctx, out, settle):
            print(target)
    window.close()
    app.processEvents()


def capture_data_tools(window, ctx, out: Path, settle) -> Path:
    """The Data workspace showing a tool-call conversation (the tools/preference demo file)."""
    from PySide6.QtCore import Qt

    from backend.datasets.importer import import_paths
    from backend.datasets.indexing import index_pending
    from backend.store import connection
    from deepones_gui.concurrent import wait_for_background_tasks

    page = window.show_workspace("data")
    with connection(ctx.db_path) as db:
        import_paths(db, [ROOT / "resources" / "demo" / "tools_preference_demo.jsonl"], dataset="tools demo")
        index_pending(db)
    settle(1500)
    group = page.facets.groups["trait"]
    next(group.child(i) for i in range(group.childCount())
         if group.child(i).text(0) == "has tools").setCheckState(0, Qt.CheckState.Checked)
    settle(800)
    wait_for_background_tasks(2000)
    page.table.selectRow(0)
    settle(500)
    target = out / "data-tools.png"
    window.grab().save(str(target))
    return target

def capture_data_map(window, ctx, out: Path, settle) -> list[Path]:
    """The Data map: 20,000 generated samples in 8 topics plus the demo set, laid out with UMAP (a
    minute on 2 cores), zoomed out (density image, a cluster selected) and zoomed in (points, hover)."""
    from backend.datamap.build import build_map
    from backend.datasets.importer import import_paths
    from backend.datasets.indexing import index_pending
    from backend.store import connection
    from deepones_gui.concurrent import wait_for_background_tasks
    from tests.datamap.corpus import write_corpus

    page = window.show_workspace("data")
    corpus = Path(tempfile.mkdtemp(prefix="deepones-map-")) / "topics.jsonl"
    write_corpus(corpus, 20_000, seed=3)
    with connection(ctx.db_path) as db:
        import_paths(db, [corpus], dataset="topics")
        index_pending(db)
        build_map(db)
    page.views.setCurrentIndex(1)
    panel = page.map_panel
    panel.reload()
    for _ in range(120):
        settle(250)
        wait_for_background_tasks(100)
        if panel.points is not None and panel._loading is None:
            break
    panel.canvas.fit()
    settle(300)
    panel.cluster_list.setCurrentRow(1)
    panel._cluster_clicked(panel.cluster_list.item(1))
    settle(800)
    panel.canvas.wait_for_density()
    settle(300)
    shots = [out / "data-map.png"]
    window.grab().save(str(shots[0]))
    # Zoomed in on the selected cluster: real points, and the hover line under the map.
    sel = panel.points.rows_of(panel.selected_ids())
    lo, hi = panel.points.xy[sel].min(axis=0), panel.points.xy[sel].max(axis=0)
    panel.canvas.vb.setRange(xRange=(float(lo[0]), float(hi[0])), yRange=(float(lo[1]), float(hi[1])), padding=0.3)
    settle(500)
    row = int(sel[len(sel) // 2])
    panel._hovered(int(panel.points.ids[row]))
    panel.sampleClicked.emit(int(panel.points.ids[row]))
    settle(500)
    shots.append(out / "data-map-points.png")
    window.grab().save(str(shots[1]))
    return shots


def shoot_wizard(ctx, window, out: Path, settle) -> None:
    """The first-run wizard's environment step, once its interpreters have been probed."""
    from deepones_gui.wizard import FirstRunWizard

    wizard = FirstRunWizard(ctx, window)
    wizard.resize(860, 600)
    wizard.show()
    wizard.next()  # data folder -> environments
    for _ in range(240):
        settle(250)
        if wizard.env_page.list.count():
            break
    settle(300)
    target = out / "wizard.png"
    wizard.grab().save(str(target))
    print(target)
    wizard.close()


def _extra_screenshots(page, out: Path) -> list:
    """A page's extra views: paths it saved itself, or (name, show) pairs to grab here."""
    import inspect

    extra = getattr(page, "extra_screenshots", None)
    if extra is None:
        return []
    return list(extra(out) if inspect.signature(extra).parameters else extra())


def shoot_design_interrupted(window, out: Path, settle) -> None:
    """Design after a crash: the demo's Implement stage left running by a process that is gone now."""
    import json
    import subprocess

    from backend.pipeline import DesignRunner, SessionStore, get_task
    from backend.pipeline.extract import extract_code
    from backend.pipeline.stages import build_prompt
    from deepones_gui.workspaces.design.demo import DEMO_DIR

    page = window.show_workspace("design")
    sessions = SessionStore(page.ctx.db)
    programmer = f"replay:{DEMO_DIR / 'programmer.jsonl'}"
    sid = sessions.create_session(get_task("demo-digits"), f"replay:{DEMO_DIR / 'designer.jsonl'}", programmer,
                                  title="Demo: interrupted while running")
    state = DesignRunner(page.ctx.db, sid).run_until("improve")   # the real recorded answers
    answer = json.loads((DEMO_DIR / "programmer.jsonl").read_text().splitlines()[0])["content"]
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    # The Implement step as a killed app leaves it: "running", owned by a process that has ended.
    sessions.add_step(sid, state.steps[-1].id, "implement", prompt=build_prompt("implement", state),
                      response=answer, code=extract_code(answer), model=programmer, runner_pid=int(done.stdout))
    page._fill_sessions()
    page.open_session(sid)
    settle(400)
    target = out / "design-interrupted.png"
    window.grab().save(str(target))
    print(target)


def shoot_board(window, out: Path, settle) -> None:
    """Design's proposal board: the demo task's recorded proposals, checked, sorted by parameters, and
    the diff of two of them (text, code, diagrams)."""
    from deepones_gui.workspaces.design.demo import prepare_demo_board

    page = window.show_workspace("design")
    prepare_demo_board(page)
    settle(400)
    target = out / "design-board.png"
    window.grab().save(str(target))
    print(target)
    board = page.board
    board.merge_a.setCurrentIndex(0)
    board.merge_b.setCurrentIndex(board.merge_b.count() - 1)
    board.compare()
    from deepones_gui.workspaces.design.design_diff import DesignDiffDialog

    dialog = board.findChildren(DesignDiffDialog)[-1]
    for index, name in ((1, "design-board-diff"), (3, "design-board-diagrams")):
        dialog.tabs.setCurrentIndex(index)
        settle(300)
        dialog.grab().save(str(out / f"{name}.png"))
        print(out / f"{name}.png")
    dialog.close()


def shoot_design_check(window, out: Path, settle) -> None:
    """Design's Check tab after a real check of a ViT-B/16 on CIFAR-10, and Chat's Check of a ResNet-18."""
    import time

    from deepones_gui.ideation.check_dialog import CheckDialog

    programs = Path(__file__).resolve().parents[1] / "tests" / "ideation" / "programs"
    page = window.show_workspace("design")
    answer = ("One possible model is <MODEL>ViT-B/16: <LAYER>Patch embedding -> <BLOCK>Encoder x12 -> "
              "<LAYER>Head")
    page.seed_from_chat(answer, (programs / "vit_b16.py").read_text(), "image-classification")
    page.rail.select_data(page.state.steps[-1].id)
    panel = page.view.check_panel
    page.tabs.setCurrentWidget(panel)

    def finish(p) -> None:
        p.check_btn.click()
        end = time.time() + 600
        while p.result is None and time.time() < end:
            settle(200)

    finish(panel)
    target = out / "design-check.png"
    window.grab().save(str(target))
    print(target)
    dialog = CheckDialog((programs / "resnet18.py").read_text(), Path(page.ctx.data_dir), window)
    dialog.task_combo.setCurrentIndex(dialog.task_combo.findText("Image classification on CIFAR-10"))
    dialog.show()
    finish(dialog.panel)
    dialog.panel.diagram.depth.setValue(2)
    settle(300)
    target = out / "chat-check.png"
    dialog.grab().save(str(target))
    print(target)
    dialog.close()


def shoot_startup(ctx, out: Path) -> None:
    """The two start-up frames as deepones_gui.app.run paints them: the window, then its first workspace."""
    from PySide6.QtWidgets import QApplication

    from deepones_gui.main_window import MainWindow

    main_window = ctx.window
    window = MainWindow(ctx, activate=False)
    window.resize(1280, 800)
    window.show()
    QApplication.processEvents()
    for name, step in (("startup-first-frame", None), ("startup-first-workspace", window.activate)):
        if step is not None:
            step()
            QApplication.processEvents()
        target = out / f"{name}.png"
        window.grab().save(str(target))
        print(target)
    window.close()
    ctx.window = main_window


if __name__ == "__main__":
    main()
