"""The batch command's files: shards, the published table, its provenance and errors.

Work is checkpointed as shards in ``OUT.shards/`` (one ``.npz`` per batch,
written to a temporary name and renamed, so a shard is whole or absent),
with ``run.json`` holding the run's provenance. Publishing reads the shards
and writes the table the same way (temporary file, then :func:`os.replace`):
a killed run leaves the previous output or none, never half of one.
"""
import csv
import json
import os
import shutil
import uuid
from pathlib import Path

import numpy as np

FORMATS = ("csv", "parquet", "npz")
_RUN_FILE = "run.json"
# What may change between a run and its resume: how, not what, is computed.
_RUNTIME = ("n_threads", "batch_size")


class ResumeError(RuntimeError):
    """A run that cannot be started or resumed as asked (its message says why)."""


def output_format(out, fmt=None):
    """The table format: ``fmt``, or from the output's extension."""
    if fmt is not None:
        if fmt not in FORMATS:
            raise ValueError(f"The format must be one of {FORMATS}. Got {fmt!r} instead.")
        return fmt
    suffix = Path(out).suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        raise ValueError(f"Cannot tell the format of {str(out)!r} from its extension: use "
                         f".csv, .parquet or .npz, or --format.")
    return suffix


def companions(out):
    """Paths of the files that go with an output: provenance, errors, shards."""
    out = Path(out)
    return {"provenance": out.with_name(out.name + ".json"),
            "errors": out.with_name(out.name + ".errors.csv"),
            "shards": out.with_name(out.name + ".shards")}


def _comparable(provenance):
    config = {k: v for k, v in provenance["config"].items() if k not in _RUNTIME}
    return {**{k: v for k, v in provenance.items() if k not in ("config", "featpool_version")},
            "config": config}


def _check_same(previous, provenance, where):
    old, new = _comparable(previous), _comparable(provenance)
    if old == new:
        return
    diff = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
    if "config" in diff:
        diff.remove("config")
        diff += sorted(k for k in set(old["config"]) | set(new["config"])
                       if old["config"].get(k) != new["config"].get(k))
    raise ResumeError(f"Cannot resume {where}: it was made with a different configuration "
                      f"(differs in {', '.join(diff)}). Rerun with the same options, or start "
                      f"again with --overwrite.")


def open_shards(out, provenance, *, resume, overwrite):
    """Prepare ``OUT.shards`` for a run; returns its path.

    A fresh run refuses to replace an existing output or shards unless
    ``overwrite``; ``resume`` keeps the shards of a run with the same
    provenance and refuses a different one. None when ``resume`` finds the
    output complete (no shards left) and made the same way.
    """
    paths = companions(out)
    shards = paths["shards"]
    if resume and not shards.exists() and Path(out).exists():
        previous = paths["provenance"]
        if previous.is_file():
            _check_same(json.loads(previous.read_text()), provenance, out)
        return None   # complete: nothing to resume
    if resume and shards.is_dir() and (shards / _RUN_FILE).is_file():
        _check_same(json.loads((shards / _RUN_FILE).read_text()), provenance, shards)
        return shards
    if not resume and not overwrite:
        existing = [str(p) for p in (Path(out), shards) if p.exists()]
        if existing:
            raise ResumeError(f"{' and '.join(existing)} already exist(s): pass --overwrite to "
                              f"replace, or --resume to finish an interrupted run.")
    if shards.exists():
        shutil.rmtree(shards)
    shards.mkdir(parents=True)
    _atomic_write_text(shards / _RUN_FILE, json.dumps(provenance, indent=1))
    return shards


def _atomic_write_text(path, text):
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def write_shard(shards, keys, shapes, features):
    """Write one batch's rows as a shard, whole or not at all."""
    name = f"shard-{uuid.uuid4().hex}.npz"
    tmp = Path(shards) / f".{name}.tmp"
    with open(tmp, "wb") as f:
        np.savez(f, keys=np.asarray(keys, dtype=str), shapes=np.asarray(shapes, dtype=str),
                 features=features)
    os.replace(tmp, Path(shards) / name)
    return name


def _shard_files(shards):
    return sorted(Path(shards).glob("shard-*.npz"))


def done_keys(shards):
    """Keys of the images whose features are in the shards."""
    done = set()
    for path in _shard_files(shards):
        with np.load(path, allow_pickle=False) as f:
            done.update(f["keys"].tolist())
    return done


def read_shards(shards, keys):
    """Rows for ``keys`` (in that order, those present): (keys, shapes, features)."""
    where, parts = {}, []
    for path in _shard_files(shards):
        with np.load(path, allow_pickle=False) as f:
            part = (f["keys"], f["shapes"], f["features"])
        for i, key in enumerate(part[0].tolist()):
            where.setdefault(key, (len(parts), i))
        parts.append(part)
    present = [k for k in keys if k in where]
    if not present:
        return present, [], None
    shapes = [parts[where[k][0]][1][where[k][1]] for k in present]
    features = np.stack([parts[where[k][0]][2][where[k][1]] for k in present])
    return present, shapes, features


def _tmp_beside(path):
    path = Path(path)
    return path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")


def _write_csv(tmp, columns, names, features):
    fmt = "%.9g" if features.dtype == np.float32 else "%.17g"
    with open(tmp, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(list(columns) + list(names))
        text = np.char.mod(fmt, features)
        for i in range(len(features)):
            writer.writerow([column[i] for column in columns.values()] + text[i].tolist())


def _write_parquet(tmp, columns, names, features, provenance):
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise ImportError("Parquet output needs pyarrow: pip install 'featpool[parquet]'.")
    arrays = [pa.array(list(v), type=pa.string()) for v in columns.values()]
    arrays += [pa.array(features[:, j]) for j in range(features.shape[1])]
    table = pa.Table.from_arrays(arrays, names=list(columns) + list(names))
    table = table.replace_schema_metadata({"featpool": json.dumps(provenance)})
    pq.write_table(table, tmp)


def _write_npz(tmp, columns, names, features, provenance):
    arrays = {("path" if k == "path" else "shape" if k == "shape" else f"column_{k}"):
              np.asarray(v, dtype=str) for k, v in columns.items()}
    with open(tmp, "wb") as f:
        np.savez(f, features=features, feature_names=np.asarray(names, dtype=str),
                 provenance=np.asarray(json.dumps(provenance)), **arrays)


def publish(out, fmt, columns, names, features, provenance):
    """Write the table and its ``OUT.json`` provenance, each atomically.

    ``columns`` maps 'path', 'shape' and the carried columns to lists of
    strings, one per row; ``features`` is (rows, len(names)).
    """
    if features is None:
        features = np.zeros((0, len(names)), dtype=np.float32)
    tmp = _tmp_beside(out)
    try:
        if fmt == "csv":
            _write_csv(tmp, columns, names, features)
        elif fmt == "parquet":
            _write_parquet(tmp, columns, names, features, provenance)
        else:
            _write_npz(tmp, columns, names, features, provenance)
        # The provenance first: a table is never there without it.
        _atomic_write_text(companions(out)["provenance"], json.dumps(provenance, indent=1))
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_errors(out, failures):
    """``OUT.errors.csv``: path, stage, reason of each failure (removed when none)."""
    path = companions(out)["errors"]
    if not failures:
        path.unlink(missing_ok=True)
        return None
    tmp = _tmp_beside(path)
    with open(tmp, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["path", "stage", "reason"])
        writer.writerows(failures)
    os.replace(tmp, path)
    return path


def close_shards(shards):
    """Remove the shards once their rows are published and nothing is left to retry."""
    shutil.rmtree(shards, ignore_errors=True)
