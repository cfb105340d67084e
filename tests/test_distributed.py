"""featpool extract --scheduler: a real LocalCluster, and real scheduler/worker processes.

Every run is a subprocess with a timeout, so a hang fails the test instead of
stalling CI; a worker that dies is isolated by featpool (one image at a time),
not left to timing.
"""
import os
import shutil
import subprocess
from pathlib import Path
import sys
import time

import numpy as np
import pytest

pytest.importorskip("distributed")

from featpool._batch import CRASH_ENV  # noqa: E402

from test_cli import FAST, _env, _images  # noqa: E402

TIMEOUT = 240


def _extract(folder, out, *extra, env=None):
    return subprocess.run(
        [sys.executable, "-m", "featpool", "extract", str(folder), "-o", str(out), *FAST,
         *extra], env=env or _env(), timeout=TIMEOUT, capture_output=True, text=True,
        cwd=Path(out).parent)   # not the repository: -m would import its unbuilt sources


def _same_tables(a, b):
    a, b = np.load(a), np.load(b)
    assert a["path"].tolist() == b["path"].tolist()
    np.testing.assert_array_equal(a["features"], b["features"])
    assert str(a["provenance"]) == str(b["provenance"])


def test_local_cluster_output_equals_a_local_run(tmp_path):
    folder = _images(tmp_path / "in", 12)
    local = _extract(folder, tmp_path / "local.npz", "--jobs", "2")
    dask = _extract(folder, tmp_path / "dask.npz", "--jobs", "2", "--scheduler", "local")
    assert local.returncode == 0, local.stderr
    assert dask.returncode == 0, dask.stderr
    _same_tables(tmp_path / "local.npz", tmp_path / "dask.npz")


def test_local_cluster_and_a_worker_that_dies(tmp_path):
    folder = _images(tmp_path / "in", 9)
    env = {**_env(), CRASH_ENV: "0005.png"}
    run = _extract(folder, tmp_path / "f.npz", "--jobs", "2", "--scheduler", "local", env=env)
    assert run.returncode == 1, run.stderr
    table = np.load(tmp_path / "f.npz")
    assert table["path"].tolist() == [f"{i:04d}.png" for i in range(9) if i != 5]
    errors = (tmp_path / "f.npz.errors.csv").read_text().splitlines()
    assert errors[0] == "path,stage,reason" and errors[1].startswith("0005.png,worker,")
    assert len(errors) == 2


@pytest.fixture
def cluster(tmp_path):
    """A `dask scheduler` and a `dask worker` (2 processes), on 127.0.0.1 only."""
    dask = shutil.which("dask", path=os.path.dirname(sys.executable)) or shutil.which("dask")
    if dask is None:
        pytest.skip("the dask command is not installed")
    file = tmp_path / "scheduler.json"
    env = {**_env(), "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "1",
           CRASH_ENV: "0003.png"}      # the worker's environment is not the one that counts
    procs = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", "0",
                               "--no-dashboard", "--scheduler-file", str(file)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    deadline = time.monotonic() + 60
    while not file.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    procs.append(subprocess.Popen([dask, "worker", "--scheduler-file", str(file), "--nworkers",
                                   "2", "--nthreads", "1", "--host", "127.0.0.1",
                                   "--no-dashboard"], env=env, cwd=tmp_path,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    import json
    try:
        assert file.exists(), "the scheduler did not start"
        yield json.loads(file.read_text())["address"]
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


def test_scheduler_and_worker_processes(tmp_path, cluster):
    folder = _images(tmp_path / "in", 8)
    assert _extract(folder, tmp_path / "local.npz", "--jobs", "1").returncode == 0
    run = _extract(folder, tmp_path / "dask.npz", "--scheduler", cluster)
    assert run.returncode == 0, run.stderr
    _same_tables(tmp_path / "local.npz", tmp_path / "dask.npz")
    # The crash hook set in the client reaches the workers (it travels with the work).
    env = {**_env(), CRASH_ENV: "0006.png"}
    run = _extract(folder, tmp_path / "crash.npz", "--scheduler", cluster, env=env)
    assert run.returncode == 1 and (tmp_path / "crash.npz").exists(), run.stderr
    assert np.load(tmp_path / "crash.npz")["path"].tolist() == [
        f"{i:04d}.png" for i in range(8) if i != 6]
    assert "0006.png,worker," in (tmp_path / "crash.npz.errors.csv").read_text()


def test_missing_dask_names_the_extra(tmp_path, monkeypatch):
    import builtins

    from featpool import distributed
    real = builtins.__import__

    def no_dask(name, *args, **kwargs):
        if name.split(".")[0] in ("dask", "distributed"):
            raise ImportError(name)
        return real(name, *args, **kwargs)
    monkeypatch.setattr(builtins, "__import__", no_dask)
    with pytest.raises(ImportError, match=r"featpool\[dask\]"):
        distributed._import_dask()
