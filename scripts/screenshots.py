"""Regenerate the README screenshots from the real app (offscreen), with the demo data dir.

    QT_QPA_PLATFORM=offscreen python scripts/screenshots.py [--out docs/screenshots]

Each workspace's state is set up by its scene in ``scripts/screenshot_scenes/`` (public APIs of the
pages only). Train's scene is a real demo run (SmolLM2, 2 x 6 steps on a fixed batch, Q8_0, DeepQA on
20 questions): minutes on a CPU. ``--only train`` makes just that one.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))   # screenshot_scenes


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
    from screenshot_scenes import data as data_scenes
    from screenshot_scenes import scene as scene_for

    from deepones_gui.app import make_application, open_context
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
        scene = scene_for(spec.name)

        def landed(page=page, scene=scene) -> bool:
            return page.ready() and (scene is None or scene.ready(page))

        settle_until(page.ready, settle, 60)   # the page's own loads first (doctor, queries, model list)
        if scene is not None:
            scene.prepare(page)
        settle_until(landed, settle, 240)
        settle(300)
        target = out / f"{spec.name}.png"
        window.grab().save(str(target))
        print(target)
        extras = scene.extras(page, out) if scene is not None and hasattr(scene, "extras") else []
        for item in extras:  # more views of one workspace (Traces' HTML page, Bench tables)
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
        print(data_scenes.tools(window, ctx, out, settle))
    if not args.only or "data-map" in args.only:
        for target in data_scenes.data_map(window, ctx, out, settle):
            print(target)
    if not args.only or "overview" in args.only:
        shoot_overview_again(window, out, settle)
    window.close()
    app.processEvents()


def settle_until(check, settle, tries: int) -> None:
    """Turn the event loop until ``check()`` (background work landed), at most ``tries`` x ~350 ms."""
    from deepones_gui.concurrent import wait_for_background_tasks

    for _ in range(tries):
        settle(250)
        wait_for_background_tasks(100)
        if check():
            return


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
    # The models step: the designer recommended for this machine, with its size and Pull button.
    wizard.next()   # environments -> models
    box = wizard.models_page.recommendation
    for _ in range(120):
        settle(250)
        if box.recommendation is not None:
            break
    settle(300)
    target = out / "wizard-models.png"
    wizard.grab().save(str(target))
    print(target)
    wizard.close()


def shoot_overview_again(window, out: Path, settle) -> None:
    """Overview once the demo data is in (it was shot first, before Data imported anything): its Data card
    follows the store, so the README shows what a user sees after the first import."""
    page = window.show_workspace("overview")
    for _ in range(60):
        settle(250)
        if page.report is not None and (page.report["db"].get("samples") or 0) > 0:
            break
    settle(300)
    target = out / "overview.png"
    window.grab().save(str(target))
    print(target)


def shoot_design_interrupted(window, out: Path, settle) -> None:
    """Design after a crash: the demo's Implement stage left running by a process that is gone now."""
    import json
    import subprocess

    from screenshot_scenes.design import DEMO_DIR

    from backend.pipeline import DesignRunner, SessionStore, get_task
    from backend.pipeline.extract import extract_code
    from backend.pipeline.stages import build_prompt

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
    page.open_session(sid)
    settle(400)
    target = out / "design-interrupted.png"
    window.grab().save(str(target))
    print(target)


def shoot_board(window, out: Path, settle) -> None:
    """Design's proposal board: the demo task's recorded proposals, checked, sorted by parameters, and
    the diff of two of them (text, code, diagrams)."""
    from screenshot_scenes.design import prepare_board

    page = window.show_workspace("design")
    prepare_board(page)
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
