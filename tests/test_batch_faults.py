"""The batch command under faults: kill -9, SIGTERM, hung images, two runs, damaged shards."""
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from featpool._batch import HANG_ENV
from featpool.cli import main

from test_cli import FAST, _env, _images

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def _session(sid):
    """Pids of the live (not zombie) processes of session ``sid``."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()   # after the command name
        if fields[0] != "Z" and int(fields[3]) == sid:
            pids.append(int(entry.name))
    return pids


def _start_hung_run(tmp_path, folder, out):
    """A run whose worker hangs on 0001.png (no time limit), in a session of its own."""
    env = {**_env(), HANG_ENV: "0001.png"}
    return subprocess.Popen([sys.executable, "-m", "featpool", "extract", str(folder), "-o",
                             str(out), "--jobs", "2", "--timeout", "0"] + FAST,
                            env=env, cwd=tmp_path, start_new_session=True,
                            stderr=subprocess.PIPE, text=True)


def _wait_for_a_shard(proc, out):
    shards = Path(str(out) + ".shards")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not list(shards.glob("shard-*.npz")):
        assert proc.poll() is None, proc.stderr.read()
        time.sleep(0.05)
    assert list(shards.glob("shard-*.npz")), "the run never wrote a shard"


def _gone_within(sid, seconds):
    deadline = time.monotonic() + seconds
    while _session(sid) and time.monotonic() < deadline:
        time.sleep(0.1)
    return _session(sid)


def test_kill_9_and_sigterm_leave_no_process_and_no_lock_behind(tmp_path, capsys):
    # Two runs at once (they start in parallel): one is killed, one terminated.
    folder = _images(tmp_path / "in", 8)
    killed, terminated = tmp_path / "killed.csv", tmp_path / "terminated.csv"
    runs = {killed: _start_hung_run(tmp_path, folder, killed),
            terminated: _start_hung_run(tmp_path, folder, terminated)}
    for out, proc in runs.items():
        _wait_for_a_shard(proc, out)
    proc = runs[killed]
    assert len(_session(proc.pid)) >= 3       # the command, its forkserver, its workers
    # a second run on the same output, while the first is alive, is refused
    assert main(["extract", str(folder), "-o", str(killed), "--resume"] + FAST) == 2
    assert "being written by another featpool run" in capsys.readouterr().err
    assert main(["extract", str(folder), "-o", str(killed), "--overwrite"] + FAST) == 2
    proc.kill()
    proc.wait(timeout=30)
    left = _gone_within(proc.pid, 5)
    assert not left, [Path(f"/proc/{p}/cmdline").read_text() for p in left]
    # SIGTERM to the command alone, as `kill PID` does: stopped as by Ctrl-C
    proc = runs[terminated]
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 3
    err = proc.stderr.read()
    assert "--resume" in err and "Traceback" not in err, err
    assert not _gone_within(proc.pid, 5)       # its workers stopped (one was hung)
    shards = tmp_path / "terminated.csv.shards"
    assert not terminated.exists() and list(shards.glob("shard-*.npz"))
    assert not (shards / "lock").exists()
    # the killed run's lock (a dead process on this host) is taken over; both resume
    for out in runs:
        assert main(["extract", str(folder), "-o", str(out), "--resume"] + FAST) == 0
        assert sorted(pd.read_csv(out).path) == [f"{i:04d}.png" for i in range(8)]
    assert killed.read_text() == terminated.read_text()


def test_a_hung_image_costs_one_image_with_stage_timeout(tmp_path):
    folder = _images(tmp_path / "in", 6)
    out = tmp_path / "f.csv"
    run = subprocess.run([sys.executable, "-m", "featpool", "extract", str(folder), "-o",
                          str(out), "--jobs", "2", "--timeout", "1"] + FAST,
                         env={**_env(), HANG_ENV: "0004.png"}, cwd=tmp_path,
                         start_new_session=True, capture_output=True, text=True, timeout=120)
    assert run.returncode == 1, run.stderr
    assert sorted(pd.read_csv(out).path) == [f"{i:04d}.png" for i in range(6) if i != 4]
    errors = pd.read_csv(tmp_path / "f.csv.errors.csv")
    assert errors.path.tolist() == ["0004.png"] and errors.stage.tolist() == ["timeout"]
    assert "time limit of 1 s" in errors.reason[0]


@pytest.mark.parametrize("seconds", ["-1", "nan", "inf", "1e12"])
def test_timeout_out_of_range_is_a_usage_error(tmp_path, capsys, seconds):
    folder = _images(tmp_path / "in", 1)
    assert main(["extract", str(folder), "-o", str(tmp_path / "f.csv"), "--timeout", seconds]
                + FAST) == 2
    assert "--timeout must be a number of seconds up to" in capsys.readouterr().err


def test_a_stale_or_live_lock_file(tmp_path, capsys):
    folder = _images(tmp_path / "in", 3)
    (folder / "bad.png").write_text("not an image")
    out = tmp_path / "f.npz"
    assert main(["extract", str(folder), "-o", str(out)] + FAST) == 1   # shards are kept
    lock = tmp_path / "f.npz.shards" / "lock"
    assert not lock.exists()                                            # freed at the end
    lock.write_text(json.dumps({"pid": os.getppid(), "host": socket.gethostname()}))
    assert main(["extract", str(folder), "-o", str(out), "--resume"] + FAST) == 2
    err = capsys.readouterr().err
    assert f"process {os.getppid()} on {socket.gethostname()}" in err and str(lock) in err
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    lock.write_text(json.dumps({"pid": dead.pid, "host": socket.gethostname()}))
    assert main(["extract", str(folder), "-o", str(out), "--resume"] + FAST) == 1
    lock.write_text(json.dumps({"pid": dead.pid, "host": "another-host.invalid"}))
    assert main(["extract", str(folder), "-o", str(out), "--resume"] + FAST) == 2


def test_damaged_shards_are_set_aside_and_computed_again(tmp_path, capsys):
    folder = _images(tmp_path / "in", 6)
    (folder / "bad.png").write_text("not an image")
    out = tmp_path / "f.csv"
    assert main(["extract", str(folder), "-o", str(out), "--jobs", "1"] + FAST) == 1
    expected = out.read_text()
    shards = tmp_path / "f.csv.shards"
    first, *_ = sorted(shards.glob("shard-*.npz"))
    first.write_bytes(first.read_bytes()[:-40])                          # truncated
    (shards / "shard-garbage.npz").write_bytes(b"\x00garbage" * 30)       # not a zip
    capsys.readouterr()
    assert main(["extract", str(folder), "-o", str(out), "--resume"] + FAST) == 1
    err = capsys.readouterr().err
    assert f"the shard {first} cannot be read" in err and "shard-garbage.npz" in err
    assert (shards / f"damaged-{first.name}").exists()
    assert out.read_text() == expected                                   # recomputed, same rows
    (shards / "run.json").write_text('{"config": {"levels": [1, ')
    assert main(["extract", str(folder), "-o", str(out), "--resume"] + FAST) == 2
    err = capsys.readouterr().err
    assert f"The run file {shards / 'run.json'} is damaged" in err


def _rewrite(path, seed):
    """New pixels, and a modification time surely different from the old one."""
    before = path.stat().st_mtime_ns if path.exists() else 0
    pixels = np.random.default_rng(seed).random((32, 32)) * 255
    from PIL import Image
    Image.fromarray(pixels.astype(np.uint8)).save(path)
    os.utime(path, ns=(before + 10**9, before + 10**9))


def test_resume_recomputes_changed_and_new_images_and_drops_gone_ones(tmp_path, capsys):
    folder = _images(tmp_path / "in", 5)
    (folder / "bad.png").write_text("not an image")
    out, fresh = tmp_path / "f.csv", tmp_path / "fresh.csv"
    assert main(["extract", str(folder), "-o", str(out)] + FAST) == 1   # shards kept
    _rewrite(folder / "0001.png", 1)
    _rewrite(folder / "new.png", 2)
    (folder / "0002.png").unlink()
    capsys.readouterr()
    assert main(["extract", str(folder), "-o", str(out), "--resume"] + FAST[:-1]) == 1
    assert ("resume: 3 unchanged (kept), 1 changed (computed again), 2 new or failed before "
            "(computed), 1 gone (dropped from the table)") in capsys.readouterr().err
    assert main(["extract", str(folder), "-o", str(fresh)] + FAST) == 1
    assert out.read_text() == fresh.read_text()       # no stale row, none missing, none extra
    # after a complete run, a change is noticed too (the provenance's record of the inputs)
    (folder / "bad.png").unlink()
    assert main(["extract", str(folder), "-o", str(out), "--resume"] + FAST) == 0
    provenance = json.loads((tmp_path / "f.csv.json").read_text())
    assert provenance["inputs"]["files"] == 5 and len(provenance["inputs"]["sha256"]) == 64
    _rewrite(folder / "0003.png", 3)
    assert main(["extract", str(folder), "-o", str(out), "--resume"] + FAST) == 0
    assert "the inputs changed since" in capsys.readouterr().err
    assert main(["extract", str(folder), "-o", str(fresh), "--overwrite"] + FAST) == 0
    assert out.read_text() == fresh.read_text()
