"""The featpool command as a user meets it: help, clear one-line errors with their exit
status, checks before any image is computed, paths that identify files, the list file."""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from featpool import FilterBankPooling, cli
from featpool.cli import main

from test_cli import FAST, _env

ROOT = Path(__file__).resolve().parents[1]


def _png(path, shape=(24, 24), seed=0):
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    Image.fromarray((rng.random(shape) * 255).astype(np.uint8)).save(path)
    return path


def _error(capsys):
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


# --------------------------------------------------------------------------
# Help and version
# --------------------------------------------------------------------------

def test_version_and_help_with_choices_defaults_and_examples(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    import featpool
    assert capsys.readouterr().out.strip() == f"featpool {featpool.__version__}"
    with pytest.raises(SystemExit):
        main(["extract", "--help"])
    text = capsys.readouterr().out
    assert "examples:" in text and "featpool extract photos/ -o features.csv" in text
    assert "one of gabor, morlet" in text and "default: gabor" in text   # --bank
    assert "default: power" in text and "exit status:" in text


# --------------------------------------------------------------------------
# Section 4: one line, a documented exit status, no traceback
# --------------------------------------------------------------------------

def test_info_refuses_a_huge_grid_instead_of_allocating_it(capsys):
    assert main(["info", "--shape", "100000x100000"]) == 2
    err = _error(capsys)
    assert "--shape 100000x100000" in err and "10000000000 pixels" in err


def test_info_into_a_closed_pipe_is_quiet():
    # `featpool info | head`: the reader goes away before the names are written.
    proc = subprocess.Popen([sys.executable, "-m", "featpool", "info"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=_env(), cwd=os.path.expanduser("~"))
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 0
    assert "BrokenPipeError" not in err and "Traceback" not in err


def test_config_errors_name_the_file_and_the_key(tmp_path, capsys):
    config = tmp_path / "params.toml"
    config.write_text("n_scales = 100\n")   # valid alone, refused when the bank is built
    assert main(["info", "--config", str(config)]) == 2
    err = _error(capsys)
    assert str(config) in err and "n_scales" in err
    assert main(["info", "--n-scales", "0"]) == 2
    assert "(--n-scales)" in _error(capsys)


def test_unreachable_scheduler_is_refused_before_any_image(tmp_path, capsys):
    with socket.socket() as s:   # a port that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    _png(tmp_path / "in" / "a.png")
    out = tmp_path / "f.csv"
    assert main(["extract", str(tmp_path / "in"), "-o", str(out), "--scheduler",
                 f"tcp://127.0.0.1:{port}"] + FAST) == 2
    err = _error(capsys)
    assert f"Cannot reach the Dask scheduler at tcp://127.0.0.1:{port}" in err
    assert not (tmp_path / "f.csv.shards").exists()


def test_failure_reasons_in_the_command_words(tmp_path):
    _png(tmp_path / "in" / "a.png")
    np.save(tmp_path / "in" / "v.npy", np.zeros((5, 24, 24)))   # a volume among images
    out = tmp_path / "f.csv"
    assert main(["extract", str(tmp_path / "in"), "-o", str(out), "--ndim", "2"] + FAST) == 1
    reason = pd.read_csv(tmp_path / "f.csv.errors.csv").reason[0]
    assert "--ndim 3" in reason and "ndim=3" not in reason


# --------------------------------------------------------------------------
# Section 3: paths, lists, outputs, names
# --------------------------------------------------------------------------

def test_same_names_in_two_inputs_stay_distinct_and_a_file_twice_is_one_row(tmp_path):
    a = _png(tmp_path / "train" / "0001.png", seed=1)
    _png(tmp_path / "test" / "0001.png", seed=2)
    out = tmp_path / "f.csv"
    assert main(["extract", str(tmp_path / "train"), str(tmp_path / "test"), str(a), "-o",
                 str(out), "--jobs", "1"] + FAST) == 0
    table = pd.read_csv(out)
    assert table.path.tolist() == ["train/0001.png", "test/0001.png"]
    assert not np.allclose(table.iloc[0, 2:].to_numpy(float), table.iloc[1, 2:].to_numpy(float))
    provenance = json.loads((tmp_path / "f.csv.json").read_text())
    assert "common folder" in provenance["paths"]
    model = FilterBankPooling(n_scales=2, n_orientations=4, levels=(1, 2))
    resolved = provenance["resolved"]
    assert resolved["n_scales"] == 2 and resolved["n_orientations"] == 4
    assert resolved["image_shape"] == [32, 32] and resolved["n_filters"] == 8
    assert resolved["n_features"] == table.shape[1] - 2
    assert model.get_params()["n_scales"] == 2


def test_provenance_resolves_what_the_defaults_chose(tmp_path, capsys):
    assert main(["info", "--shape", "32x32"]) == 0
    text = capsys.readouterr().out
    info = json.loads(text[:text.index("\n}\n") + 3])
    assert info["config"].get("n_scales") is None   # the parameter as given: the default
    assert isinstance(info["resolved"]["n_scales"], int) and info["resolved"]["n_scales"] > 0
    assert isinstance(info["resolved"]["n_orientations"], int)
    assert info["resolved"]["bank_params"]["bandwidth"] == 1.0


def _list(tmp_path, text, bom=False):
    _png(tmp_path / "a.png", seed=1)
    _png(tmp_path / "b.png", seed=2)
    path = tmp_path / "list.csv"
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode())
    return path


def test_from_list_saved_by_excel_and_a_row_given_twice(tmp_path):
    listed = _list(tmp_path, "path,label\r\na.png,cat\r\nb.png,dog\r\na.png,cat\r\n", bom=True)
    out = tmp_path / "f.csv"
    assert main(["extract", "--from-list", str(listed), "-o", str(out), "--jobs", "1"]
                + FAST) == 0
    table = pd.read_csv(out)
    assert table[["path", "label"]].values.tolist() == [["a.png", "cat"], ["b.png", "dog"]]


@pytest.mark.parametrize("text, message", [
    ("path,label\na.png,cat\nb.png,dog\na.png,dog\n", "twice with different values (lines 2 "
     "and 4)"),
    ("path,shape\na.png,big\n", "'shape', named like output columns"),
    ("path,gabor_s0_o0_mean_l1_c0\na.png,1\n", "'gabor_s0_o0_mean_l1_c0', named like"),
    ("path,label,label\na.png,1,2\n", "two columns named label"),
])
def test_from_list_clashes_are_refused(tmp_path, capsys, text, message):
    listed = _list(tmp_path, text)
    names = FilterBankPooling(n_scales=2, n_orientations=4, levels=(1, 2)).fit(
        np.zeros((1, 32, 32))).get_feature_names_out()
    assert "gabor_s0_o0_mean_l1_c0" in names
    assert main(["extract", "--from-list", str(listed), "-o", str(tmp_path / "f.csv")]
                + FAST) == 2
    assert message in _error(capsys)
    assert not (tmp_path / "f.csv.shards").exists()


def test_outputs_that_cannot_be_written_are_refused_before_any_image(tmp_path, capsys):
    image = _png(tmp_path / "in" / "a.png")
    before = image.read_bytes()
    for out, message in [(image, "is one of the input images"),
                         (tmp_path / "in", "is a folder"),
                         (tmp_path / ("x" * 240 + ".csv"), "Cannot write the output")]:
        assert main(["extract", str(tmp_path / "in"), "-o", str(out), "--overwrite",
                     "--format", "csv"] + FAST) == 2
        assert message in _error(capsys)
    assert image.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"]


def test_missing_parquet_writer_or_dask_is_refused_before_any_image(tmp_path):
    _png(tmp_path / "in" / "a.png")
    code = ("import sys\n"
            "for name in ('pyarrow', 'pyarrow.parquet', 'distributed'):\n"
            "    sys.modules[name] = None   # not installed\n"
            "from featpool.cli import main\n"
            f"args = ['extract', {str(tmp_path / 'in')!r}, '--quiet', '-o']\n"
            f"print(main(args + [{str(tmp_path / 'f.parquet')!r}]))\n"
            f"print(main(args + [{str(tmp_path / 'f.csv')!r}, '--scheduler', 'local']))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=_env(), cwd=tmp_path, timeout=120)
    assert proc.stdout.split() == ["2", "2"], proc.stderr
    assert 'pip install ".[parquet]"' in proc.stderr and "Traceback" not in proc.stderr
    assert 'pip install ".[dask]"' in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in"]


def test_names_that_are_not_utf8_are_published_escaped(tmp_path):
    folder = tmp_path / "in"
    name = os.fsencode(folder) + b"/caf\xe9.png"
    folder.mkdir()
    try:
        _png(Path(os.fsdecode(name)))
    except (OSError, UnicodeEncodeError):
        pytest.skip("the file system refuses names that are not UTF-8")
    _png(folder / "b.png")
    out = tmp_path / "f.csv"
    assert main(["extract", str(folder), "-o", str(out), "--jobs", "1"] + FAST) == 0
    assert pd.read_csv(out).path.tolist() == ["b.png", "caf\\xe9.png"]


# --------------------------------------------------------------------------
# Section 5: hidden files, progress, --sample, an unbuilt source tree
# --------------------------------------------------------------------------

def test_hidden_files_skipped_and_header_failures_counted_once(tmp_path, capsys, monkeypatch):
    folder = tmp_path / "in"
    _png(folder / "a.png")
    _png(folder / "b.png", seed=1)
    (folder / "._a.png").write_bytes(b"\x00\x05\x16\x07 macOS AppleDouble")
    (folder / "bad.png").write_text("no image")
    (folder / "bad.npy").write_text("no array")
    monkeypatch.setattr(cli.Progress.__init__, "__defaults__", (0.0,))   # a line per update
    out = tmp_path / "f.csv"
    assert main(["extract", str(folder), "-o", str(out), "--jobs", "1",
                 *[f for f in FAST if f != "--quiet"]]) == 1
    err = capsys.readouterr().err
    counts = [line.split()[1].split("/") for line in err.splitlines()
              if line.startswith("featpool: ") and " images, " in line]
    assert counts and all(int(n) <= int(total) for n, total in counts), err   # was 48/43
    assert counts[-1] == ["4", "4"]
    assert "2 done, 2 failed" in err and "1 hidden not read" in err
    assert "._a.png" not in err
    assert pd.read_csv(out).path.tolist() == ["a.png", "b.png"]


def test_sample_uses_a_private_folder_removed_after_the_run(tmp_path, monkeypatch):
    first, second = cli._sample_folder(), cli._sample_folder()
    try:
        assert first != second and (first.stat().st_mode & 0o077) == 0
        assert sorted(p.name for p in first.iterdir())[:2] == ["astronaut.npy", "camera.npy"]
    finally:
        shutil.rmtree(first), shutil.rmtree(second)
    made = []

    def small_sample():
        folder = Path(tempfile.mkdtemp())
        _png(folder / "x.png")
        made.append(folder)
        return folder
    monkeypatch.setattr(cli, "_sample_folder", small_sample)
    out = tmp_path / "f.csv"
    assert main(["extract", "--sample", "-o", str(out), "--jobs", "1"] + FAST) == 0
    assert pd.read_csv(out).path.tolist() == ["x.png"] and not made[0].exists()


def test_an_unbuilt_source_tree_says_what_to_do(tmp_path):
    # The root of a fresh clone: the sources shadow the installed featpool.
    shutil.copytree(ROOT / "featpool", tmp_path / "featpool",
                    ignore=shutil.ignore_patterns("*.so", "*.pyd", "*.c", "__pycache__"))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run([sys.executable, "-m", "featpool", "--version"], capture_output=True,
                          text=True, env=env, cwd=tmp_path, timeout=120)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert "kernels are not built" in proc.stderr
    assert "python setup.py build_ext --inplace" in proc.stderr


def test_an_image_too_large_for_the_machine_names_its_size_and_the_limit(tmp_path):
    # --max-pixels 0 lifts the limit; a 1.6e11-pixel PNG (a few hundred bytes) is still
    # refused from its header, with its size, rather than by "MemoryError" or the OOM killer.
    import struct
    import zlib

    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(
            ">I", zlib.crc32(tag + data) & 0xFFFFFFFF)
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "huge.png").write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 400000, 400000, 8, 0, 0,
                                                          0, 0))
        + chunk(b"IDAT", zlib.compress(bytes(1000))) + chunk(b"IEND", b""))
    out = tmp_path / "f.csv"
    assert main(["extract", str(folder), "-o", str(out), "--max-pixels", "0", "--jobs", "1"]
                + FAST) == 1
    reason = pd.read_csv(tmp_path / "f.csv.errors.csv").reason[0]
    assert "160000000000 pixels (400000x400000) need at least 596.0 GiB" in reason
    assert "the limit is no limit (--max-pixels 0)" in reason
