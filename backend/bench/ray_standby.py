"""Runs on a Ray node as a *standby* job's entrypoint: a job started ahead of the run it will carry.

Ray spends seconds starting any job (its job supervisor is a new worker process). A standby job
pays that while the designer is still thinking: it starts, then waits for its run's package, which
the app uploads into the cluster's package store (the same store ``working_dir`` packages go to)
under the key it was given. It then unpacks the package into a folder of its own and runs it
exactly as :mod:`backend.bench.ray_boot` runs a directly submitted job, so the run's records,
limits, cancel (``stop_job``) and final status are the same. One run per standby job.

Stdlib only apart from Ray's GCS client, which every Ray node has. With no Ray importable (a conda
env without Ray, say) it exits with :data:`UNSUPPORTED`, and the app submits jobs directly instead.
"""

import io
import os
import shutil
import sys
import tempfile
import time
import zipfile

UNSUPPORTED = 3
POLL_S = 0.02


def wait_for_package(key: bytes, idle_s: float):
    """The package's bytes once the app has put them under ``key`` (then removed there), or None."""
    from ray._raylet import GcsClient  # ~1 s to import: paid now, before the run is handed over

    gcs = GcsClient(address=os.environ["RAY_ADDRESS"])
    print("@@deepones-standby ready", flush=True)
    deadline = time.monotonic() + idle_s
    while time.monotonic() < deadline:
        data = gcs.internal_kv_get(key, None)
        if data:
            gcs.internal_kv_del(key, False, None)   # one run, one package: nothing stays in the GCS
            return data
        time.sleep(POLL_S)
    return None


def main() -> int:
    key, idle_s = sys.argv[1].encode(), float(sys.argv[2])
    try:
        data = wait_for_package(key, idle_s)
    except ImportError:
        print("@@deepones-standby unsupported: Ray is not importable by this interpreter", flush=True)
        return UNSUPPORTED
    if data is None:   # nobody came for it: end quietly, freeing its CPUs/GPUs
        return 0
    here = os.path.dirname(os.path.abspath(__file__))
    run_dir = tempfile.mkdtemp(prefix="deepones-run-")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as pkg:
            pkg.extractall(run_dir)
        os.chdir(run_dir)
        sys.path.insert(0, here)
        import _deepones_ray_boot as boot

        return boot.main()
    finally:
        os.chdir(here)
        shutil.rmtree(run_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
