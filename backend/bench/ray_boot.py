"""Runs on a Ray node as a job's entrypoint (stdlib only; shipped in the job's working_dir).

It turns the shipped launch config into the node's ``launch.bin``, starts the same supervisor the
local executor uses (so the limits hold on the node), and relays the job folder back through its
own stdout, which the Jobs API streams to the app: one ``@@deepones {json}`` line per chunk of the
program's stdout/stderr, and a last line with ``status.json`` and ``metric.log``.
"""

import json
import marshal
import os
import signal
import socket
import subprocess
import sys
import time

MARK = "@@deepones "


def emit(record):
    sys.stdout.write(MARK + json.dumps(record) + "\n")
    sys.stdout.flush()


def read_from(path, offset):
    try:
        with open(path, "rb") as fh:
            fh.seek(offset)
            data = fh.read(1 << 20)
    except OSError:
        return offset, ""
    return offset + len(data), data.decode("utf-8", errors="replace")


def main():
    cwd = os.getcwd()
    with open("ray_launch.json", encoding="utf-8") as fh:
        cfg = json.load(fh)
    job_env = cfg.pop("job_env", {})
    cfg["cwd"] = cwd
    cfg["gpu"] = None            # Ray assigned the GPUs (CUDA_VISIBLE_DEVICES), no local slot queue
    cfg["slot_dir"] = os.path.join(cwd, ".gpu-slots")
    cfg["sys_path"] = []
    with open("launch.bin", "wb") as fh:
        fh.write(marshal.dumps(cfg))
    for name in ("status.json", "stdout.log", "stderr.log", "metric.log", "cancel.request"):
        try:
            os.remove(name)
        except OSError:
            pass
    env = dict(os.environ)
    env.update(job_env)
    env["DEEPONES_JOB_DIR"] = cwd
    try:
        host = socket.gethostbyname(socket.gethostname())
    except OSError:
        host = ""
    emit({"start": {"host": socket.gethostname(), "ip": host, "pid": os.getpid(), "t": time.time()}})
    sup = subprocess.Popen([sys.executable, "-I", "-S", "supervisor.py", cwd], env=env, stdin=subprocess.DEVNULL)

    def forward(signum, frame):
        # stop_job: let the supervisor stop the program tree within its grace, then report.
        try:
            sup.send_signal(signal.SIGTERM)
        except OSError:
            pass

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    offsets = {"stdout": 0, "stderr": 0}

    def pump():
        for stream in ("stdout", "stderr"):
            while True:
                new, text = read_from(stream + ".log", offsets[stream])
                if not text:
                    break
                offsets[stream] = new
                emit({"s": stream, "t": text})

    while sup.poll() is None:
        pump()
        try:
            sup.wait(timeout=0.1)   # returns the moment the supervisor ends, not at the next tick
        except subprocess.TimeoutExpired:
            pass
    pump()
    try:
        with open("status.json", encoding="utf-8") as fh:
            status = json.load(fh)
    except (OSError, ValueError):
        status = {"status": "failed", "detail": "the supervisor wrote no status on the node"}
    try:
        with open("metric.log", encoding="utf-8", errors="replace") as fh:
            metric = fh.read(1 << 16)
    except OSError:
        metric = None
    emit({"final": status, "metric": metric})
    return 0


if __name__ == "__main__":
    sys.exit(main())
