"""The first-run wizard on real interpreters: detection lists a venv with torch, a new venv is
created from a local wheel with its log, and Finish saves the choices."""

from __future__ import annotations

import pytest

from tests.packaging.test_environments import _tiny_wheel, _venv_with_torch

pytest.importorskip("PySide6")


@pytest.fixture
def quiet_home(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("PYENV_ROOT", str(home / ".pyenv"))
    monkeypatch.delenv("CONDA_PREFIX", raising=False)
    monkeypatch.delenv("CONDA_EXE", raising=False)
    return home


def test_wizard_detects_creates_and_saves(qtbot, app_context, quiet_home, tmp_path):
    from PySide6.QtWidgets import QWizard

    from deepones_gui.wizard import FIRST_RUN_KEY, FirstRunWizard, should_show_first_run

    ml = _venv_with_torch(quiet_home / ".venvs" / "ml")
    wizard = FirstRunWizard(app_context)
    qtbot.addWidget(wizard)
    wizard.show()
    page = wizard.env_page
    qtbot.waitUntil(lambda: page.list.count() > 0, timeout=180_000)
    labels = [page.list.item(i).text() for i in range(page.list.count())]
    assert any("venv: ml" in label and "torch" in label for label in labels), labels
    with_torch = {e.python for e in page.found if e.torch}
    assert str(ml) in with_torch
    assert page.selected_python() in with_torch  # an environment with torch is preselected
    wizard.resize(1280, 800)
    wizard.grab().save(str(tmp_path / "wizard-env.png"))

    page.folder.setText(str(tmp_path / "fresh"))
    page.pip_args = ["--no-index", str(_tiny_wheel(tmp_path))]
    page.create.click()
    assert page.cancel.isEnabled() and not page.create.isEnabled()
    qtbot.waitUntil(lambda: "Ready:" in page.log.toPlainText(), timeout=180_000)
    assert "deepones_tinypkg" in page.log.toPlainText()
    assert page.selected_python() == str(tmp_path / "fresh" / "bin" / "python")
    qtbot.waitUntil(lambda: page.create.isEnabled(), timeout=10_000)

    # The embedded model as designer is named a demo model; another designer clears the warning.
    wizard.models_page.designer.setCurrentText("embedded")
    assert "not a useful designer" in wizard.models_page.demo_warning.text()
    wizard.models_page.designer.setCurrentText("replay:/tmp/designer.jsonl")
    assert not wizard.models_page.demo_warning.text()
    wizard.next()
    wizard.next()
    wizard.next()
    assert wizard.currentPage() is wizard.keyring_page
    assert wizard.keyring_page.status.text()
    wizard.button(QWizard.WizardButton.FinishButton).click()
    s = app_context.settings
    assert s.execution_python == str(tmp_path / "fresh" / "bin" / "python")
    assert s.designer_model == "replay:/tmp/designer.jsonl"
    assert s.programmer_model == "embedded"
    assert s.extra[FIRST_RUN_KEY] is True
    assert not should_show_first_run(app_context)


def test_skipping_the_wizard_still_marks_it_seen(qtbot, app_context, quiet_home, monkeypatch):
    from deepones_gui.wizard import FirstRunWizard, should_show_first_run

    monkeypatch.delenv("DEEPONES_NO_WIZARD", raising=False)
    assert should_show_first_run(app_context)
    wizard = FirstRunWizard(app_context)
    qtbot.addWidget(wizard)
    wizard.show()
    before = app_context.settings.execution_python
    wizard.reject()
    assert app_context.settings.execution_python == before
    assert not should_show_first_run(app_context)
