"""featpool extract --labels / --mask: one row per (image, object), pairing rules, failures,
resume, 3D, Dask."""
import csv
import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from featpool import region_features
from featpool.cli import main
from featpool.io import read_image

from test_cli import _env

FAST = ["--shape", "32x32", "--n-scales", "1", "--n-orientations", "2", "--quiet",
        "--jobs", "1"]
PARAMS = dict(n_scales=1, n_orientations=2)
GEOMETRY = ["label", "area", "bbox-0", "bbox-1", "bbox-2", "bbox-3", "centroid-0",
            "centroid-1"]


def _labels(shape, seed, n=3):
    """A label image of ``n`` boxes (labels 2, 4, ...; one touches the border)."""
    rng = np.random.default_rng(seed)
    labels = np.zeros(shape, np.uint16)
    for i in range(n):
        start = [int(rng.integers(0, s - 6)) for s in shape]
        start[0] = 0 if i == 0 else start[0]
        labels[tuple(slice(a, a + 6) for a in start)] = 2 * (i + 1)
    return labels


def _image(path, shape, seed):
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, np.random.default_rng(seed).random(shape).astype(np.float32))
    return path


def _errors(out):
    path = out.with_name(out.name + ".errors.csv")
    if not path.exists():
        return {}
    with open(path, newline="") as f:
        return {row["path"]: (row["stage"], row["reason"]) for row in csv.DictReader(f)}


def _expected(image_path, labels, **params):
    return pd.DataFrame(region_features(read_image(image_path, **params.pop("read", {})),
                                        labels, **PARAMS, **params))


def _check_rows(table, path, expected):
    rows = table[table.path == path].reset_index(drop=True)
    assert len(rows) == len(expected) > 0
    assert rows[list(expected)[:len(GEOMETRY)]].to_numpy().tolist() == \
        expected.iloc[:, :len(GEOMETRY)].to_numpy().tolist()
    names = list(expected)[len(GEOMETRY):]
    np.testing.assert_allclose(rows[names].to_numpy(), expected[names].to_numpy(),
                               rtol=1e-5, atol=1e-6)


def test_folder_rule_equals_region_features_and_fails_bad_label_images_alone(tmp_path):
    images, labels = tmp_path / "in", tmp_path / "labels"
    shapes = {"a/one.npy": (40, 48), "b/two.npy": (33, 30), "missing.npy": (32, 32),
              "shape.npy": (32, 32), "float.npy": (32, 32), "empty.npy": (32, 32)}
    for i, (name, shape) in enumerate(shapes.items()):
        _image(images / name, shape, i)
        (labels / name).parent.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(["a/one.npy", "b/two.npy"]):
        np.save(labels / name, _labels(shapes[name], i))
    np.save(labels / "shape.npy", _labels((32, 31), 0))
    np.save(labels / "float.npy", _labels((32, 32), 0).astype(np.float32))
    np.save(labels / "empty.npy", np.zeros((32, 32), np.int32))
    out = tmp_path / "t.csv"
    assert main(["extract", str(images), "-o", str(out), "--labels", str(labels)] + FAST) == 1
    table = pd.read_csv(out)
    assert table.columns.tolist()[:10] == ["path", "shape"] + GEOMETRY
    assert table.path.tolist() == ["a/one.npy"] * 3 + ["b/two.npy"] * 3
    assert table["shape"].tolist()[0] == "40x48"
    for i, name in enumerate(["a/one.npy", "b/two.npy"]):
        _check_rows(table, name, _expected(images / name, _labels(shapes[name], i)))
    errors = _errors(out)
    assert sorted(errors) == ["empty.npy", "float.npy", "missing.npy", "shape.npy"]
    assert {stage for stage, _ in errors.values()} == {"labels"}
    assert "no label image" in errors["missing.npy"][1]
    assert "(32, 31)" in errors["shape.npy"][1] and "(32, 32)" in errors["shape.npy"][1]
    assert "float32" in errors["float.npy"][1]
    assert errors["empty.npy"][1].startswith("no object")
    provenance = json.loads(out.with_name("t.csv.json").read_text())
    assert str(labels) in provenance["objects"]
    assert provenance["config"]["levels"] == [1] and provenance["config"]["mode"] == "reflect"


def test_pattern_rule_leaves_out_label_files_and_writes_typed_parquet(tmp_path):
    pytest.importorskip("pyarrow")
    rng = np.random.default_rng(0)
    for i in range(2):
        pixels = (rng.random((36, 40)) * 255).astype(np.uint8)
        Image.fromarray(pixels).save(tmp_path / f"cell{i}.png")
        Image.fromarray(_labels((36, 40), i).astype(np.uint8)).save(
            tmp_path / f"cell{i}_seg.png")
    out = tmp_path / "out" / "t.parquet"
    assert main(["extract", str(tmp_path), "-o", str(out), "--labels", "{stem}_seg.png",
                 "--levels", "1,2"] + FAST) == 0
    table = pd.read_parquet(out)
    assert sorted(set(table.path)) == ["cell0.png", "cell1.png"]   # not the label files
    assert table.label.dtype == np.int64 and table["bbox-3"].dtype == np.int64
    assert table["centroid-0"].dtype == np.float64
    for i in range(2):
        _check_rows(table, f"cell{i}.png", _expected(tmp_path / f"cell{i}.png",
                                                     _labels((36, 40), i), levels=(1, 2)))


def test_list_column_and_masks(tmp_path):
    rows = []
    for i in range(3):
        image = _image(tmp_path / "img" / f"{i}.npy", (32, 34), i)
        np.save(tmp_path / f"m{i}.npy", _labels((32, 34), i))   # as a mask: nonzero
        rows.append({"path": f"img/{i}.npy", "seg": f"m{i}.npy", "group": f"g{i}"})
    rows[2]["seg"] = ""
    pd.DataFrame(rows).to_csv(tmp_path / "list.csv", index=False)
    out = tmp_path / "t.npz"
    argv = ["extract", "--from-list", str(tmp_path / "list.csv"), "-o", str(out)] + FAST
    assert main(argv + ["--mask", "column:seg"]) == 1
    table = np.load(out)
    assert table["path"].tolist() == ["img/0.npy", "img/1.npy"]
    assert table["label"].tolist() == [1, 1] and table["label"].dtype == np.int64
    assert table["column_group"].tolist() == ["g0", "g1"]
    for i in range(2):
        mask = np.load(tmp_path / f"m{i}.npy") > 0
        assert table["area"][i] == mask.sum()
        expected = region_features(read_image(tmp_path / "img" / f"{i}.npy"), mask, **PARAMS)
        np.testing.assert_allclose(table["features"][i], [expected[n][0] for n in
                                                          table["feature_names"]], rtol=1e-5)
    assert _errors(out)["img/2.npy"][0] == "labels"
    # The same column as label images, and a list column that is missing.
    assert main(argv + ["--overwrite", "--labels", "column:seg"]) == 1
    assert np.load(out)["label"].tolist() == [2, 4, 6] * 2
    assert main(argv + ["--overwrite", "--labels", "column"]) == 2


@pytest.mark.parametrize("flags, message", [
    (["--labels", "nowhere"], "neither a folder nor a file name pattern"),
    (["--labels", "{stem}_{nope}.tif"], "a pattern may hold only"),
    (["--labels", "column"], "give --from-list"),
    (["--labels", "{stem}.npy", "--mask", "{stem}.npy"], "cannot both be given"),
    (["--labels", "{stem}_l.npy", "--pooling", "mean", "--levels", "1", "--shape", "32x32"],
     None),
])
def test_bad_rules_are_refused_before_any_image(tmp_path, capsys, flags, message):
    _image(tmp_path / "a.npy", (32, 32), 0)
    status = main(["extract", str(tmp_path / "a.npy"), "-o", str(tmp_path / "t.csv"),
                   "--quiet"] + flags)
    if message is None:   # the pattern works; its label file is missing
        assert status == 1 and _errors(tmp_path / "t.csv")["a.npy"][0] == "labels"
        return
    assert status == 2
    assert message in capsys.readouterr().err


def test_resume_recomputes_the_images_whose_label_file_changed(tmp_path, capsys):
    images, labels = tmp_path / "in", tmp_path / "labels"
    labels.mkdir()
    for i in range(3):
        _image(images / f"{i}.npy", (32, 32), i)
    for i in range(2):
        np.save(labels / f"{i}.npy", _labels((32, 32), i))
    out = tmp_path / "t.csv"
    argv = ["extract", str(images), "-o", str(out), "--labels", str(labels)] + FAST[:-3]
    assert main(argv + ["--jobs", "1"]) == 1          # 2.npy has no label image yet
    np.save(labels / "2.npy", _labels((32, 32), 2))
    changed = _labels((32, 32), 7, n=2)
    np.save(labels / "1.npy", changed)
    os.utime(labels / "1.npy", ns=(1, 1))             # a new identity whatever the clock
    capsys.readouterr()
    assert main(argv + ["--jobs", "1", "--resume"]) == 0
    assert "1 unchanged (kept), 1 changed (computed again), 1 new" in capsys.readouterr().err
    table = pd.read_csv(out)
    assert table.path.tolist() == ["0.npy"] * 3 + ["1.npy"] * 2 + ["2.npy"] * 3
    _check_rows(table, "1.npy", _expected(images / "1.npy", changed))


def test_volumes(tmp_path):
    for i in range(2):
        _image(tmp_path / f"v{i}.npy", (12, 14, 16), i)
        np.save(tmp_path / f"v{i}_labels.npy", _labels((12, 14, 16), i).astype(np.int64))
    out = tmp_path / "t.csv"
    assert main(["extract", str(tmp_path), "-o", str(out), "--labels", "{stem}_labels.npy",
                 "--ndim", "3", "--shape", "12x12x12"] + FAST[2:]) == 0
    table = pd.read_csv(out)
    assert table.columns.tolist()[2:13] == (
        ["label", "area"] + [f"bbox-{a}" for a in range(6)] + [f"centroid-{a}" for a in range(3)])
    for i in range(2):
        expected = _expected(tmp_path / f"v{i}.npy", _labels((12, 14, 16), i),
                             read={"ndim": 3})
        rows = table[table.path == f"v{i}.npy"]
        np.testing.assert_allclose(rows.iloc[:, 2:].to_numpy(), expected.to_numpy(),
                                   rtol=1e-5, atol=1e-6)


def test_dask_local_cluster_gives_the_local_rows(tmp_path):
    pytest.importorskip("distributed")
    for i in range(3):
        _image(tmp_path / "in" / f"{i}.npy", (32, 32), i)
        np.save(tmp_path / "in" / f"{i}_l.npy", _labels((32, 32), i))
    out = tmp_path / "dask.csv"
    run = subprocess.run(
        [sys.executable, "-m", "featpool", "extract", str(tmp_path / "in"), "-o", str(out),
         "--labels", "{stem}_l.npy", "--scheduler", "local"] + FAST[:-2] + ["--jobs", "2"],
        env=_env(), timeout=240, capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    table = pd.read_csv(out)
    for i in range(3):
        _check_rows(table, f"{i}.npy", _expected(tmp_path / "in" / f"{i}.npy",
                                                 _labels((32, 32), i)))


def test_a_model_file_is_refused_with_labels(tmp_path, capsys):
    import joblib
    from featpool import FilterBankPooling
    _image(tmp_path / "a.npy", (32, 32), 0)
    joblib.dump(FilterBankPooling(**PARAMS).fit(np.zeros((1, 32, 32))), tmp_path / "m.joblib")
    assert main(["extract", str(tmp_path / "a.npy"), "-o", str(tmp_path / "t.csv"), "--model",
                 str(tmp_path / "m.joblib"), "--labels", "{stem}_l.npy", "--quiet"]) == 2
    assert "--model cannot be used with --labels" in capsys.readouterr().err


def test_a_worker_refuses_features_that_are_not_the_tables():
    from featpool._labels import object_rows
    labels = _labels((32, 32), 0)
    with pytest.raises(ValueError, match="not the run's: 2 columns, the table's 1"):
        object_rows(dict(PARAMS), np.zeros((32, 32)), labels, ["gabor_s0_o0_mean_l1_c0"])
