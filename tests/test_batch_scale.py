"""The batch command at scale: publishing memory flat in the number of rows."""
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from test_cli import _env

# Publish a table of ROWS synthetic rows (no image is computed) from shards of 5,000 in the
# FORMATS given (comma-separated, in turn), and report the process's peak resident memory.
PUBLISH = """
import json, resource, sys
import numpy as np
import pyarrow.parquet
from featpool import _tables
folder, n_rows, formats = sys.argv[1], int(sys.argv[2]), sys.argv[3].split(",")
rng = np.random.default_rng(0)
keys = [f"{folder}/image-{i:06d}.png" for i in range(n_rows)]
for start in range(0, n_rows, 5000):
    part = keys[start:start + 5000]
    _tables.write_shard(folder, part, ["25x25"] * len(part),
                        rng.random((len(part), 64), dtype=np.float32))
names = [f"f{j}" for j in range(64)]
for fmt in formats:
    present, shapes, rows = _tables.read_shards(folder, keys)
    columns = {"path": [k.rsplit("/", 1)[1] for k in present], "shape": shapes}
    _tables.publish(folder + "/out." + fmt, fmt, columns, names, rows, {"n": n_rows})
    del present, shapes, rows, columns
print(json.dumps(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))
"""


def _peak_kib(tmp_path, n_rows, formats):
    folder = tmp_path / f"{n_rows}-{formats}"
    folder.mkdir()
    run = subprocess.run([sys.executable, "-c", PUBLISH, str(folder), str(n_rows), formats],
                         env=_env(), cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout), folder


# A table held in memory exceeds the 64 MiB allowance at 100,000 rows of 64 values: as
# CSV text (about 68 bytes a value), and as Parquet or NPZ (copies of 25 MB).
@pytest.mark.skipif(sys.platform == "win32", reason="ru_maxrss")
def test_publishing_100000_rows_takes_the_memory_of_1000(tmp_path):
    small, _ = _peak_kib(tmp_path, 1_000, "csv,parquet,npz")    # the largest of the three
    folders = {}
    for fmt in ("csv", "parquet", "npz"):       # one process each: none inherits another's heap
        large, folders[fmt] = _peak_kib(tmp_path, 100_000, fmt)
        assert large <= 1.2 * small + 64 * 1024, (fmt, small, large)
    with np.load(folders["npz"] / "out.npz") as table:
        assert table["features"].shape == (100_000, 64)
        assert table["path"][-1] == "image-099999.png"
        features = table["features"]
    for table in (pd.read_csv(folders["csv"] / "out.csv"),
                  pd.read_parquet(folders["parquet"] / "out.parquet")):
        assert table.shape == (100_000, 66) and table.path.iloc[-1] == "image-099999.png"
        np.testing.assert_allclose(table.iloc[-5:, 2:].to_numpy(), features[-5:], rtol=1e-7)


def test_small_images_go_in_larger_batches():
    from featpool._batch import BATCH_PIXELS, MAX_BATCH, MAX_SMALL_BATCH, Task, plan_batches

    def sizes(side, n=2000):
        tasks = [Task(f"k{i}", f"p{i}", (side, side), f"{side}x{side}") for i in range(n)]
        return {len(b) for b in plan_batches(tasks, jobs=1)[:-1]}

    assert sizes(25) == {BATCH_PIXELS // 625} and MAX_BATCH < BATCH_PIXELS // 625
    assert sizes(8) == {MAX_SMALL_BATCH}
    assert sizes(64) == sizes(256) == {MAX_BATCH}
