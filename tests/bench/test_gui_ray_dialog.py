"""Bench > New sweep > Cluster…: the Ray settings dialog. Only for the ray executor; a bad address is
refused with a message and nothing saved; Test asks a real local cluster for its resources; Save
writes the settings the sweep and the executor read."""

from __future__ import annotations

import pytest

from deepones_gui.main_window import MainWindow


@pytest.mark.timeout(600)
def test_cluster_dialog_tests_and_saves_ray_settings(qtbot, app_context, deepones_home, ray_cluster):
    from backend.bench.ray_cluster import RaySettings
    from deepones_gui.workspaces.bench.ray_dialog import RaySettingsDialog

    window = MainWindow(app_context)
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    page = window.show_workspace("bench")
    page.new_button.click()
    form = page.form
    form.executor.setCurrentText("local")
    assert not form.cluster_button.isEnabled()   # the local executor has no cluster to set
    form.executor.setCurrentText("ray")
    assert form.cluster_button.isEnabled()

    dialog = RaySettingsDialog(app_context.data_dir, page)
    qtbot.addWidget(dialog)
    dialog.show()
    path = RaySettings.path(app_context.data_dir)
    dialog.address.setText("head:8265")          # no scheme: refused, the dialog stays, nothing written
    dialog.buttons.accepted.emit()
    assert dialog.isVisible() and "http://HEAD:8265" in dialog.result.text() and not path.exists()

    dialog.address.setText(ray_cluster)
    dialog.test_button.click()
    qtbot.waitUntil(lambda: dialog.result.text().startswith("✓"), timeout=60_000)
    assert "2 CPUs, 0 GPUs" in dialog.result.text() and dialog.test_button.isEnabled()

    dialog.cpus.setValue(2)
    dialog.pip.setText("numpy, scikit-learn")
    dialog.standby.setChecked(False)
    dialog.buttons.accepted.emit()
    assert not dialog.isVisible()
    saved = RaySettings.load(app_context.data_dir)
    assert (saved.address, saved.num_cpus, saved.pip, saved.standby) == (ray_cluster, 2.0, ["numpy", "scikit-learn"],
                                                                        False)
    again = RaySettingsDialog(app_context.data_dir, page)   # remembered
    qtbot.addWidget(again)
    assert again.address.text() == ray_cluster and again.pip.text() == "numpy scikit-learn"
    assert not again.standby.isChecked()
    window.close()
