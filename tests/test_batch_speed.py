"""The batch command's cheap paths for many small images give what the plain ones gave.

Not timed: each test checks that a faster route (CSV text formatted by the
workers, the folder listing, the local workers' time limit) has the same
result as the route it replaces.
"""
import os
import signal

import numpy as np
import pytest

from featpool import _batch, _tables
from featpool.io import find_images


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_csv_from_text_in_the_shards_is_the_csv_formatted_at_publish(tmp_path, dtype):
    rng = np.random.default_rng(0)
    features = (rng.standard_normal((7, 5)) * 10.0 ** rng.integers(-8, 8, (7, 5))).astype(dtype)
    features[0, :3] = [np.nan, np.inf, -0.0]
    keys = [f"/in/{i}.png" for i in range(7)]
    tables = {}
    for text in (False, True):
        shards = tmp_path / f"shards-{text}"
        shards.mkdir()
        # two shards, rows asked for out of shard order
        _tables.write_shard(shards, keys[:4], ["5x5"] * 4, features[:4], text=text)
        _tables.write_shard(shards, keys[4:], ["5x5"] * 3, features[4:], text=text)
        order = keys[::-1]
        present, shapes, rows = _tables.read_shards(shards, order)
        assert present == order
        assert (rows.text_blocks(3) is None) != text
        out = tmp_path / f"out-{text}.csv"
        _tables.publish(out, "csv", {"path": [k[4:] for k in present], "shape": shapes},
                        [f"f{j}" for j in range(5)], rows, {})
        tables[text] = out.read_bytes()
    assert tables[True] == tables[False]
    assert b"nan" in tables[True] and b"-0" in tables[True]


def test_shard_whose_text_does_not_match_its_rows_is_set_aside(tmp_path, capsys):
    name = _tables.write_shard(tmp_path, ["/a.png", "/b.png"], ["5x5"] * 2,
                               np.ones((2, 3), np.float32), text=True)
    with np.load(tmp_path / name) as f:
        members = {k: f[k] for k in f.files}
    members["csv_ends"] = members["csv_ends"][:1]
    np.savez(tmp_path / name, **members)
    assert _tables.done_keys(tmp_path) == {}
    assert "cannot be read" in capsys.readouterr().err


def _reference_find(inputs, recursive=True, hidden=False):
    """The plain search: os.walk, a realpath and an isfile per file, sorted Path parts."""
    found, seen, skipped = [], set(), {"hidden": 0, "other": 0}
    for item in inputs:
        folder = os.path.abspath(item)
        files, dirs_seen = [], set()
        for root, dirs, names in os.walk(folder, followlinks=True):
            stat = os.stat(root)
            if (stat.st_dev, stat.st_ino) in dirs_seen:
                dirs[:] = []
                continue
            dirs_seen.add((stat.st_dev, stat.st_ino))
            if not hidden:
                skipped["hidden"] += sum(n.startswith(".") for n in dirs + names)
                dirs[:] = [d for d in dirs if not d.startswith(".")]
                names = [n for n in names if not n.startswith(".")]
            dirs[:] = sorted(dirs) if recursive else []
            for name in names:
                path = os.path.join(root, name)
                if os.path.isfile(path):
                    if os.path.splitext(name)[1].lower() in (".png", ".npy"):
                        files.append(path)
                    else:
                        skipped["other"] += 1
        for path in sorted(files, key=lambda p: os.path.relpath(p, folder).split(os.sep)):
            if os.path.realpath(path) not in seen:
                seen.add(os.path.realpath(path))
                found.append((path, folder))
    root = os.path.commonpath([r for _, r in found])
    return [os.path.relpath(p, root) for p, _ in found], skipped


def test_folder_listing_is_the_plain_search(tmp_path):
    data = tmp_path / "data"
    for sub in ("b/deep", "a", ".hidden", "a.png.d"):
        (data / sub).mkdir(parents=True)
    for name in ("b/deep/x.npy", "b/y.png", "a.png", "a/z.PNG", "a/.h.png", ".hidden/q.png",
                 "a.png.d/w.png", "notes.txt", "b/deep/x.npy.txt"):
        (data / name).write_bytes(b"x")
    os.symlink(data / "b", data / "again")                  # a folder reached twice
    os.symlink(data, data / "b" / "loop")                   # a cycle
    os.symlink(data / "a.png", data / "b" / "link.png")     # a file reached twice
    os.symlink(data / "gone.png", data / "broken.png")      # a broken link: not a file
    os.mkfifo(data / "fifo.png")                            # not a regular file
    for inputs in ([data], [data / "b", data / "a"], [data / "again", data]):
        for options in ({}, {"recursive": False}, {"hidden": True}):
            skipped = {}
            names = [f.name for f in find_images(inputs, skipped=skipped, **options)]
            assert (names, skipped) == _reference_find(inputs, **options), (inputs, options)


@pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="no interval timer")
def test_local_workers_time_limit_is_the_interval_timer(monkeypatch):
    monkeypatch.setattr(_batch, "_ALARM", [True])
    _batch._time_limit(30.0)
    try:
        assert 29.0 < signal.getitimer(signal.ITIMER_REAL)[0] <= 30.0
    finally:
        _batch._no_time_limit(30.0)
    assert signal.getitimer(signal.ITIMER_REAL)[0] == 0.0
    _batch._time_limit(0)      # no limit: nothing armed
    assert signal.getitimer(signal.ITIMER_REAL)[0] == 0.0
