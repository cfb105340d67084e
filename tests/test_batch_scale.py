"""The batch command at scale: publishing memory flat in the number of rows."""
import json
import subprocess
import sys

import pytest

from test_cli import _env

# Publish a table of ROWS synthetic rows from shards of 1,000 (no image is computed) and
# report the process's peak resident memory.
PUBLISH = """
import json, resource, sys
import numpy as np
from featpool import _tables
folder, fmt, n_rows, n_features = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
if fmt == "parquet":
    import pyarrow.parquet                    # imported in both runs alike
rng = np.random.default_rng(0)
keys = [f"{folder}/image-{i:06d}.png" for i in range(n_rows)]
for start in range(0, n_rows, 1000):
    part = keys[start:start + 1000]
    _tables.write_shard(folder, part, ["25x25"] * len(part),
                        rng.random((len(part), n_features), dtype=np.float32))
present, shapes, rows = _tables.read_shards(folder, keys)
columns = {"path": [k.rsplit("/", 1)[1] for k in present], "shape": shapes}
names = [f"f{j}" for j in range(n_features)]
_tables.publish(folder + "/out." + fmt, fmt, columns, names, rows, {"n": n_rows})
print(json.dumps(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))
"""


def _peak_kib(tmp_path, fmt, n_rows, n_features):
    folder = tmp_path / f"{fmt}-{n_rows}"
    folder.mkdir()
    run = subprocess.run([sys.executable, "-c", PUBLISH, str(folder), fmt, str(n_rows),
                          str(n_features)], env=_env(), cwd=tmp_path, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout), folder / f"out.{fmt}"


# CSV is narrower (its text is what grew: ~68 bytes a value); the binary formats are wide
# enough for a table held in memory to exceed the 64 MiB allowance.
@pytest.mark.skipif(sys.platform == "win32", reason="ru_maxrss")
@pytest.mark.parametrize("fmt, n_features", [("csv", 16), ("parquet", 128), ("npz", 128)])
def test_publishing_100000_rows_takes_the_memory_of_1000(tmp_path, fmt, n_features):
    small, _ = _peak_kib(tmp_path, fmt, 1_000, n_features)
    large, out = _peak_kib(tmp_path, fmt, 100_000, n_features)
    assert large <= 1.2 * small + 64 * 1024, (fmt, small, large)
    if fmt == "npz":
        import numpy as np
        with np.load(out) as table:
            assert table["features"].shape == (100_000, n_features)
            assert table["path"][-1] == "image-099999.png"
    else:
        import pandas as pd
        table = pd.read_csv(out) if fmt == "csv" else pd.read_parquet(out)
        assert table.shape == (100_000, n_features + 2)
        assert table.path.iloc[-1] == "image-099999.png"
