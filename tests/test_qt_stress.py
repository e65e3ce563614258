"""Would have caught the PySide6 6.12.0 / Python 3.11 crash (none_dealloc after thousands of loop turns).

Runs in a child process so a fatal crash fails this test instead of killing the whole run.
"""

import os
import subprocess
import sys
import textwrap


def test_qasync_loop_survives_20000_iterations_with_widget_updates():
    code = textwrap.dedent(
        """
        import asyncio, sys
        from PySide6.QtWidgets import QApplication, QLabel, QProgressBar, QVBoxLayout, QWidget
        import qasync
        app = QApplication(sys.argv)
        loop = qasync.QEventLoop(app)
        asyncio.set_event_loop(loop)
        w = QWidget(); lay = QVBoxLayout(w); label = QLabel(); bar = QProgressBar(); bar.setRange(0, 20000)
        lay.addWidget(label); lay.addWidget(bar); w.show()
        async def pump():
            for i in range(20000):
                label.setText(f"iteration {i}")
                bar.setValue(i)
                if i % 100 == 0:
                    app.processEvents()
                await asyncio.sleep(0)
            return i
        with loop:
            last = loop.run_until_complete(pump())
        print("DONE", last + 1)
        """
    )
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=280)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "DONE 20000" in out.stdout
    assert "Fatal Python error" not in out.stderr
