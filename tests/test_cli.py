"""The featpool command: outputs, provenance, failures, worker crashes, resume, fork safety."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from featpool import FilterBankPooling
from featpool._batch import CRASH_ENV
from featpool.cli import main
from featpool.io import read_image

from test_io import make_messy_folder

FAST = ["--shape", "32x32", "--n-scales", "2", "--n-orientations", "4", "--levels", "1,2",
        "--quiet"]


def _images(folder, n, size=32, seed=0):
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        shape = (size, size) if i % 3 else (size + 8, size, 3)   # grey and RGB, two shapes
        Image.fromarray((rng.random(shape) * 255).astype(np.uint8)).save(folder / f"{i:04d}.png")
    return folder


def _env():
    # Subprocesses import the featpool under test (built in place, or installed), never
    # a source tree without its compiled kernels.
    import featpool
    where = str(Path(featpool.__file__).resolve().parents[1])
    return {**os.environ, "PYTHONPATH": where + os.pathsep + os.environ.get("PYTHONPATH", "")}


def test_features_equal_the_library_in_name_order(tmp_path):
    folder = _images(tmp_path / "in", 6)
    out = tmp_path / "f.csv"
    assert main(["extract", str(folder), "-o", str(out), "--jobs", "2"] + FAST) == 0
    table = pd.read_csv(out)
    model = FilterBankPooling(n_scales=2, n_orientations=4, levels=(1, 2)).fit(
        np.zeros((1, 32, 32)))
    names = model.get_feature_names_out().tolist()
    assert table.columns.tolist() == ["path", "shape"] + names
    assert table.path.tolist() == [f"{i:04d}.png" for i in range(6)]
    assert table["shape"].tolist()[:2] == ["40x32x3", "32x32"]     # as stored, not as read
    expected = model.transform([read_image(folder / p) for p in table.path])
    np.testing.assert_allclose(table[names].to_numpy(), expected, rtol=1e-6, atol=1e-7)
    provenance = json.loads((tmp_path / "f.csv.json").read_text())
    assert provenance["config"]["levels"] == [1, 2] and provenance["shape"] == [32, 32]
    assert provenance["featpool_version"] and provenance["color"] == "gray"
    assert not (tmp_path / "f.csv.shards").exists()
    assert not (tmp_path / "f.csv.errors.csv").exists()


def test_formats_agree_and_carry_provenance(tmp_path):
    folder = _images(tmp_path / "in", 4)
    for fmt in ("csv", "npz", "parquet"):
        assert main(["extract", str(folder), "-o", str(tmp_path / f"f.{fmt}"), "--jobs", "1"]
                    + FAST) == 0
    csv_table = pd.read_csv(tmp_path / "f.csv")
    parquet = pd.read_parquet(tmp_path / "f.parquet")
    npz = np.load(tmp_path / "f.npz")
    names = npz["feature_names"].tolist()
    np.testing.assert_array_equal(parquet[names].to_numpy(), npz["features"])
    np.testing.assert_allclose(csv_table[names].to_numpy(), npz["features"], rtol=1e-7)
    assert npz["path"].tolist() == parquet.path.tolist() == csv_table.path.tolist()
    import pyarrow.parquet as pq
    meta = json.loads(pq.read_schema(tmp_path / "f.parquet").metadata[b"featpool"])
    assert meta == json.loads(str(npz["provenance"]))


def test_messy_folder_reports_each_failure_and_keeps_the_rest(tmp_path, capsys):
    folder = tmp_path / "messy"
    expected = make_messy_folder(folder)
    out = tmp_path / "f.csv"
    assert main(["extract", str(folder), "-o", str(out), "--jobs", "2"] + FAST) == 1
    table = pd.read_csv(out)
    assert sorted(table.path) == sorted(expected["good"])
    errors = pd.read_csv(tmp_path / "f.csv.errors.csv")
    assert sorted(errors.path) == sorted(expected["bad"])
    assert set(errors.stage) <= {"header", "read"} and errors.reason.str.len().min() > 5
    stderr = capsys.readouterr().err
    assert "pickled.npy" in stderr and "never unpickled" in stderr
    assert (tmp_path / "f.csv.shards").is_dir()       # kept: --resume retries the failures


def test_existing_output_needs_overwrite_and_config_errors_are_named(tmp_path, capsys):
    folder = _images(tmp_path / "in", 2)
    out = tmp_path / "f.npz"
    assert main(["extract", str(folder), "-o", str(out)] + FAST) == 0
    assert main(["extract", str(folder), "-o", str(out)] + FAST) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert main(["extract", str(folder), "-o", str(out), "--overwrite"] + FAST) == 0
    bad = tmp_path / "bad.toml"
    bad.write_text("levels = [1, 2\n")
    assert main(["extract", str(folder), "-o", str(out), "--config", str(bad)]) == 2
    assert "bad.toml is not valid TOML" in capsys.readouterr().err
    bad.write_text('n_scale = 3\n')
    assert main(["info", "--config", str(bad)]) == 2
    assert "n_scale" in capsys.readouterr().err
    assert main(["extract", str(folder), "-o", str(tmp_path / "f.xlsx")]) == 2
    assert ".csv, .parquet or .npz" in capsys.readouterr().err
    assert main(["extract", str(tmp_path / "nothing"), "-o", str(out), "--overwrite"]) == 2
    (tmp_path / "empty").mkdir()
    assert main(["extract", str(tmp_path / "empty"), "-o", str(out), "--overwrite"]) == 2
    assert "No image file" in capsys.readouterr().err
    assert main(["extract", str(folder), "-o", str(out), "--overwrite", "--jobs", "0"]) == 2


def test_config_file_flags_and_info(tmp_path, capsys):
    config = tmp_path / "c.toml"
    config.write_text('bank = "morlet"\nn_scales = 2\nlevels = [1]\npooling = ["mean", "std"]\n'
                      'normalization = "none"\n')
    assert main(["info", "--config", str(config), "--shape", "32x32"]) == 0
    printed = capsys.readouterr().out
    header, names = printed.split("\n}\n")
    resolved = json.loads(header + "}")
    model = FilterBankPooling(bank="morlet", n_scales=2, levels=(1,), pooling=("mean", "std"),
                              normalization=None).fit(np.zeros((1, 32, 32)))
    assert resolved["n_features"] == len(model.get_feature_names_out())
    assert names.split() == model.get_feature_names_out().tolist()
    assert resolved["config"]["normalization"] == "none"
    # a flag overrides the file
    assert main(["info", "--config", str(config), "--shape", "32x32", "--levels", "1,2"]) == 0
    resolved = json.loads(capsys.readouterr().out.split("\n}\n")[0] + "}")
    assert resolved["config"]["levels"] == [1, 2]


def test_model_file_and_from_list_with_carried_columns(tmp_path):
    import joblib
    folder = _images(tmp_path / "in", 4)
    rng = np.random.default_rng(1)
    model = FilterBankPooling(bank="learned", bank_params={"n_filters": 4, "patch_size": 5},
                              levels=(1,), random_state=0).fit(rng.random((3, 32, 32)))
    joblib.dump(model, tmp_path / "model.joblib")
    listing = tmp_path / "list.csv"
    listing.write_text("path,label\nin/0001.png,cat\nin/0002.png,dog\n")
    out = tmp_path / "f.csv"
    assert main(["extract", "--from-list", str(listing), "--model", str(tmp_path / "model.joblib"),
                 "-o", str(out), "--quiet", "--jobs", "1"]) == 0
    table = pd.read_csv(out)
    assert table.path.tolist() == ["in/0001.png", "in/0002.png"]
    assert table.label.tolist() == ["cat", "dog"]
    names = model.get_feature_names_out().tolist()
    np.testing.assert_allclose(table[names].to_numpy(),
                               model.transform([read_image(folder / "0001.png"),
                                                read_image(folder / "0002.png")]), rtol=1e-6)
    provenance = json.loads((tmp_path / "f.csv.json").read_text())
    assert len(provenance["model_sha256"]) == 64
    assert main(["extract", str(folder), "-o", str(tmp_path / "g.csv"), "--bank", "learned"]) == 2
    assert main(["extract", str(folder), "-o", str(tmp_path / "g.csv"), "--color", "channels",
                 "--model", str(tmp_path / "model.joblib")]) == 2


def test_a_crashing_worker_costs_one_image(tmp_path, monkeypatch):
    folder = _images(tmp_path / "in", 8)
    monkeypatch.setenv(CRASH_ENV, "0004.png")   # testing hook: that worker calls os._exit
    out = tmp_path / "f.csv"
    assert main(["extract", str(folder), "-o", str(out), "--jobs", "2"] + FAST) == 1
    table = pd.read_csv(out)
    assert sorted(table.path) == [f"{i:04d}.png" for i in range(8) if i != 4]
    errors = pd.read_csv(tmp_path / "f.csv.errors.csv")
    assert errors.path.tolist() == ["0004.png"] and errors.stage.tolist() == ["worker"]


def test_max_failures_stops_early_and_publishes_nothing(tmp_path):
    folder = tmp_path / "messy"
    make_messy_folder(folder)
    out = tmp_path / "f.csv"
    assert main(["extract", str(folder), "-o", str(out), "--max-failures", "1", "--jobs", "1"]
                + FAST) == 3
    assert not out.exists() and (tmp_path / "f.csv.errors.csv").exists()


def test_failed_images_are_retried_on_resume(tmp_path):
    folder = _images(tmp_path / "in", 4)
    (folder / "late.png").write_text("not yet an image")
    out = tmp_path / "f.csv"
    assert main(["extract", str(folder), "-o", str(out)] + FAST) == 1
    assert "late.png" not in pd.read_csv(out).path.tolist()
    Image.fromarray(np.zeros((32, 32), np.uint8)).save(folder / "late.png")
    assert main(["extract", str(folder), "-o", str(out), "--resume"] + FAST) == 0
    assert sorted(pd.read_csv(out).path) == sorted(["late.png"] + [f"{i:04d}.png"
                                                                   for i in range(4)])
    assert not (tmp_path / "f.csv.errors.csv").exists()
    before = out.stat().st_mtime_ns
    assert main(["extract", str(folder), "-o", str(out), "--resume"] + FAST) == 0   # complete
    assert out.stat().st_mtime_ns == before
    changed = [a if a != "1,2" else "1" for a in FAST]
    assert main(["extract", str(folder), "-o", str(out), "--resume"] + changed) == 2
    # a different configuration is refused
    (folder / "late.png").write_text("broken again")
    assert main(["extract", str(folder), "-o", str(out)] + FAST + ["--overwrite"]) == 1
    assert main(["extract", str(folder), "-o", str(out), "--resume"] + changed) == 2


def test_sigkill_mid_run_then_resume_equals_an_uninterrupted_run(tmp_path):
    folder = _images(tmp_path / "in", 60)
    args = [sys.executable, "-m", "featpool", "extract", str(folder), "--jobs", "1"] + FAST
    killed = tmp_path / "killed.csv"
    proc = subprocess.Popen(args + ["-o", str(killed)], env=_env(), cwd=tmp_path)
    shards = tmp_path / "killed.csv.shards"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(shards.glob("shard-*.npz"))) < 2:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert len(list(shards.glob("shard-*.npz"))) >= 2, "the run never wrote a shard"
    assert not killed.exists()                                # absent, never half written
    assert main(["extract", str(folder), "-o", str(killed), "--resume"] + FAST) == 0
    full = tmp_path / "full.csv"
    assert main(["extract", str(folder), "-o", str(full)] + FAST) == 0
    assert killed.read_text() == full.read_text()             # no row twice, none missing


OPENMP_THEN = """
import multiprocessing, sys
import numpy as np
import featpool
from featpool.cli import main
x = np.random.default_rng(0).random((8, 16, 64, 64)).astype(np.float32)
if __name__ == "__main__":   # workers (forkserver) import this script: as any multiprocessing
    featpool.pool2d(x, 2, op="mean", n_threads=2)            # OpenMP's threads now exist
"""
COMMAND = """
    sys.exit(main(["extract", sys.argv[1], "-o", sys.argv[2], "--jobs", "2", "--shape", "32x32",
                   "--n-scales", "2", "--levels", "1", "--quiet"]))
"""
def _run_script(tmp_path, code, *args):
    script = tmp_path / "fork.py"
    script.write_text(code)
    return subprocess.run([sys.executable, str(script), *map(str, args)], env=_env(),
                          timeout=180, capture_output=True, text=True)


def test_command_after_openmp_in_the_parent_does_not_deadlock(tmp_path):
    folder = _images(tmp_path / "in", 4)
    run = _run_script(tmp_path, OPENMP_THEN + COMMAND, folder, tmp_path / "f.csv")
    assert run.returncode == 0, run.stderr
    assert len(pd.read_csv(tmp_path / "f.csv")) == 4


# A plain fork after OpenMP (no command): tests/test_concurrency.py.


def test_progress_log_lines_and_summary_off_a_terminal(capsys):
    from featpool.cli import Progress
    progress = Progress(3, quiet=False, every=0.0)
    progress.update(2, [])
    progress.update(0, [("bad.png", "read", "truncated")])
    progress.close(4, "out.csv", stopped=False)
    err = capsys.readouterr().err
    assert "featpool: 2/3 images, 0 failed" in err and "featpool: 3/3 images, 1 failed" in err
    assert "featpool: failed: bad.png: read: truncated" in err
    assert "2 done, 1 failed, 4 skipped" in err and "images/s -> out.csv" in err
    quiet = Progress(3, quiet=True, every=0.0)
    quiet.update(1, [("bad.png", "read", "truncated")])
    quiet.close(0, "out.csv", stopped=False)
    assert capsys.readouterr().err == "featpool: failed: bad.png: read: truncated\n"


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_progress_bar_on_a_terminal(tmp_path):
    # stderr a terminal (of 100 columns: tqdm draws nothing on a 0-column one).
    import fcntl
    import pty
    import struct
    import termios
    folder = _images(tmp_path / "in", 4)
    primary, secondary = pty.openpty()
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    args = [sys.executable, "-m", "featpool", "extract", str(folder), "-o",
            str(tmp_path / "f.csv"), "--jobs", "1"] + [a for a in FAST if a != "--quiet"]
    proc = subprocess.Popen(args, stdout=secondary, stderr=secondary, env=_env(), cwd=tmp_path)
    os.close(secondary)
    out = b""
    while True:
        try:
            chunk = os.read(primary, 4096)
        except OSError:   # the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    assert proc.wait(timeout=120) == 0
    text = out.decode(errors="replace")
    assert "4/4 [" in text and "img/s]" in text, text
    assert "featpool: finished: 4 done, 0 failed" in text
