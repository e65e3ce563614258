"""Start-up problems are handled before anything is touched: nothing deleted, a clear refusal."""

from deepones_gui import app as gui_app


def test_unwritable_data_dir_gives_no_context(qapp, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    assert gui_app.open_context(blocker / "sub", interactive=False) is None


def test_corrupt_db_is_moved_aside_only_when_the_user_agrees(qapp, tmp_path, monkeypatch):
    root = tmp_path / "home"
    root.mkdir()
    bad = root / "deepones.db"
    bad.write_bytes(b"definitely not sqlite" * 50)
    # The user declines: nothing changes.
    monkeypatch.setattr(gui_app, "_ask_move_aside", lambda exc: False)
    assert gui_app.open_context(root, interactive=True) is None
    assert bad.read_bytes().startswith(b"definitely")
    # The user agrees: the file is kept under a new name and a fresh store opens.
    asked = []
    monkeypatch.setattr(gui_app, "_ask_move_aside", lambda exc: asked.append(str(exc)) or True)
    ctx = gui_app.open_context(root, interactive=True)
    assert ctx is not None and "not a DeepOnes database" in asked[0]
    kept = list(root.glob("deepones.db.moved-aside-*"))
    assert len(kept) == 1 and kept[0].read_bytes().startswith(b"definitely")
    ctx.db.conn.close()
