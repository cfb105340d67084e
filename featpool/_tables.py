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
import socket
import sys
import uuid
import zipfile
import zlib
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
    what = ("config", "featpool_version", "inputs")   # the inputs may change: resume follows
    return {**{k: v for k, v in provenance.items() if k not in what},
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


def _read_json(path, what):
    try:
        return json.loads(Path(path).read_text())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ResumeError(f"The {what} {path} is damaged and cannot be read ({type(exc).__name__}: "
                          f"{exc}). Start again with --overwrite.") from None


def open_shards(out, provenance, *, resume, overwrite):
    """Prepare and lock ``OUT.shards`` for a run; returns its path.

    A fresh run refuses to replace an existing output or shards unless
    ``overwrite``; ``resume`` keeps the shards of a run with the same
    provenance and refuses a different one. None when ``resume`` finds the
    output complete (no shards left) and made the same way. Shards locked by
    a live run are refused whatever the options (:func:`release_lock` frees
    this process's lock).
    """
    paths = companions(out)
    shards = paths["shards"]
    if resume and not shards.exists() and Path(out).exists():
        previous = paths["provenance"]
        inputs = None
        if previous.is_file():
            previous = _read_json(previous, "provenance file")
            _check_same(previous, provenance, out)
            inputs = previous.get("inputs")
        if inputs is None or inputs == provenance.get("inputs"):
            return None   # complete: nothing to resume
        _warn(f"the inputs changed since {out} was made ({inputs.get('files')} files then, "
              f"{provenance['inputs']['files']} now, or some of them rewritten): every image "
              f"is computed again.")
    if shards.is_dir():
        _take_stale_lock(shards, out)
    if resume and shards.is_dir() and (shards / _RUN_FILE).is_file():
        _check_same(_read_json(shards / _RUN_FILE, "run file"), provenance, shards)
        _lock(shards, out)
        return shards
    if not resume and not overwrite:
        existing = [str(p) for p in (Path(out), shards) if p.exists()]
        if existing:
            raise ResumeError(f"{' and '.join(existing)} already exist(s): pass --overwrite to "
                              f"replace, or --resume to finish an interrupted run.")
    if shards.exists():
        shutil.rmtree(shards)
    try:
        shards.mkdir(parents=True)
    except FileExistsError:   # another run made it since
        _take_stale_lock(shards, out)
    _lock(shards, out)
    _atomic_write_text(shards / _RUN_FILE, json.dumps(provenance, indent=1))
    return shards


# --------------------------------------------------------------------------
# The lock: one run at a time on an output
# --------------------------------------------------------------------------

_LOCK_FILE = "lock"
_HELD = set()     # the lock files this process holds


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:   # someone else's process
        return True
    return True


def _take_stale_lock(shards, out):
    """Remove the lock of a run that is gone; an error if a live run holds it."""
    lock = Path(shards) / _LOCK_FILE
    try:
        owner = json.loads(lock.read_text())
        pid, host = int(owner["pid"]), str(owner["host"])
    except FileNotFoundError:
        return
    except (OSError, ValueError, KeyError, TypeError):   # half written by a killed run
        pid, host = None, socket.gethostname()
    ours = pid == os.getpid() and lock not in _HELD     # a pid reused after a killed run
    if host == socket.gethostname() and (pid is None or ours or not _alive(pid)):
        lock.unlink(missing_ok=True)
        return
    raise ResumeError(f"{out} is being written by another featpool run (process {pid} on "
                      f"{host}). Wait for it to finish; if that run is gone, remove {lock}.")


def _lock(shards, out):
    lock = Path(shards) / _LOCK_FILE
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            break
        except FileExistsError:
            _take_stale_lock(shards, out)
    else:
        raise ResumeError(f"{out} is being written by another featpool run ({lock}).")
    with os.fdopen(fd, "w") as f:
        json.dump({"pid": os.getpid(), "host": socket.gethostname()}, f)
    _HELD.add(lock)


def release_lock():
    """Remove the locks this process holds (if still there)."""
    while _HELD:
        _HELD.pop().unlink(missing_ok=True)


def _atomic_write_text(path, text):
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def csv_row_format(dtype, n_values):
    """The %-format of one row of ``n_values`` features as CSV text (9 significant digits
    for float32, 17 for float64: values read back exactly)."""
    return ",".join([("%.9g" if np.dtype(dtype) == np.float32 else "%.17g")] * n_values)


def write_shard(shards, keys, shapes, features, identities=None, regions=None, text=False):
    """Write one batch's rows as a shard, whole or not at all.

    ``identities`` are the ``(size, mtime_ns)`` of each row's file, which
    resume compares with the file's (None: unknown, never equal). A run per
    object writes several consecutive rows of one key, and ``regions``: their
    label, area, bounding box and centroid (rows, columns), float64. With
    ``text``, the shard also holds the rows as CSV text (members ``csv``, its
    bytes, and ``csv_ends``, where each row ends): formatted by the workers, in
    parallel, the CSV table is then only copied.
    """
    name = f"shard-{uuid.uuid4().hex}.npz"
    tmp = Path(shards) / f".{name}.tmp"
    known = identities is not None and None not in identities
    members = ({"sizes": np.asarray([i[0] for i in identities], np.int64),
                "mtimes": np.asarray([i[1] for i in identities], np.int64)} if known else {})
    if text:
        fmt = csv_row_format(features.dtype, features.shape[1])
        rows = [(fmt % tuple(values)).encode() for values in features.tolist()]
        members["csv"] = np.frombuffer(b"".join(rows), np.uint8)
        members["csv_ends"] = np.cumsum([len(row) for row in rows], dtype=np.int64)
    with open(tmp, "wb") as f:
        np.savez(f, keys=np.asarray(keys, dtype=str), shapes=np.asarray(shapes, dtype=str),
                 features=features, **members,
                 **({} if regions is None else {"regions": regions}))
    os.replace(tmp, Path(shards) / name)
    return name


def _shard_files(shards):
    return sorted(Path(shards).glob("shard-*.npz"))


def _warn(message):
    print(f"featpool: warning: {message}", file=sys.stderr, flush=True)


def _shard_index(path):
    """A shard's keys, stored shapes and input identities, or None if it cannot be read."""
    try:
        with np.load(path, allow_pickle=False) as f:
            keys, shapes = f["keys"].tolist(), f["shapes"].tolist()
            identities = (list(zip(f["sizes"].tolist(), f["mtimes"].tolist()))
                          if "sizes" in f.files else [None] * len(keys))
            n_rows = len(f["features"])     # read whole: the zip checks its CRC
            if "csv" in f.files and (len(f["csv_ends"]) != n_rows
                                     or f["csv_ends"][-1:].sum() != len(f["csv"])):
                raise ValueError("its CSV text does not match its rows")
    except (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile, zlib.error) as exc:
        _set_aside(path, exc)
        return None
    if not len(keys) == len(shapes) == len(identities) == n_rows:
        _set_aside(path, ValueError("its arrays have different lengths"))
        return None
    return keys, shapes, identities


def _set_aside(path, exc):
    path = Path(path)
    damaged = path.with_name(f"damaged-{path.name}")
    os.replace(path, damaged)
    _warn(f"the shard {path} cannot be read ({type(exc).__name__}: {exc}); it is set aside as "
          f"{damaged.name} and its images are computed again.")


def done_keys(shards):
    """Keys of the images whose features are in the shards, with the identity of the file
    each row was computed from (``(size, mtime_ns)``, or None for a shard without one).

    A shard that cannot be read is set aside (renamed ``damaged-shard-*.npz``) with a
    warning on stderr, so its images are computed again.
    """
    for tmp in Path(shards).glob(".shard-*.tmp"):   # a killed worker's unfinished shard
        tmp.unlink(missing_ok=True)
    done = {}
    for path in _shard_files(shards):
        index = _shard_index(path)
        if index is not None:
            for key, identity in zip(index[0], index[2]):
                done.setdefault(key, set()).add(identity)
    return done


class ShardRows:
    """Feature rows spread over shards, read a block at a time (never all at once)."""

    def __init__(self, files, shard, row, n_features, dtype):
        self.files, self.shard, self.row = files, shard, row
        self.shape = (len(row), n_features)
        self.dtype = np.dtype(dtype)

    def blocks(self, n_rows):
        """Arrays of at most ``n_rows`` consecutive rows, in order."""
        for start in range(0, self.shape[0], n_rows):
            shard, row = self.shard[start:start + n_rows], self.row[start:start + n_rows]
            block = np.empty((len(row), self.shape[1]), self.dtype)
            for s in np.unique(shard):
                with np.load(self.files[s], allow_pickle=False) as f:
                    features = f["features"]
                block[shard == s] = features[row[shard == s]]
            yield block

    def gather(self, member):
        """The array ``member`` of the shards (e.g. 'regions') for every row, in order."""
        parts = []
        for s in np.unique(self.shard):
            at = np.flatnonzero(self.shard == s)
            with np.load(self.files[s], allow_pickle=False) as f:
                parts.append((at, f[member][self.row[at]]))
        out = np.empty((len(self.row),) + parts[0][1].shape[1:], parts[0][1].dtype)
        for at, values in parts:
            out[at] = values
        return out

    def text_blocks(self, n_rows):
        """The rows as CSV text (lists of str), as :func:`write_shard` stored them, in
        blocks of at most ``n_rows``; None unless every shard holds them."""
        for path in set(self.files[s] for s in np.unique(self.shard)):
            with np.load(path, allow_pickle=False) as f:
                if "csv" not in f.files:
                    return None
        return self._text_blocks(n_rows)

    def _text_blocks(self, n_rows):
        for start in range(0, self.shape[0], n_rows):
            shard, row = self.shard[start:start + n_rows], self.row[start:start + n_rows]
            block = [None] * len(row)
            for s in np.unique(shard):
                with np.load(self.files[s], allow_pickle=False) as f:
                    data, ends = f["csv"].tobytes(), f["csv_ends"].tolist()
                for i in np.flatnonzero(shard == s).tolist():
                    r = int(row[i])
                    block[i] = data[ends[r - 1] if r else 0:ends[r]].decode()
            yield block


class ArrayRows:
    """Rows already in memory, with the interface of :class:`ShardRows`."""

    def __init__(self, features):
        self.features = features
        self.shape, self.dtype = features.shape, features.dtype

    def blocks(self, n_rows):
        for start in range(0, self.shape[0], n_rows):
            yield self.features[start:start + n_rows]


def read_shards(shards, keys, identities=None):
    """Rows for ``keys`` (in that order, those present): (keys, shapes, rows).

    ``rows`` is a :class:`ShardRows` that :func:`publish` reads a block at a
    time (None when no key is present). Where ``identities`` maps a key to its
    file's current identity, only a row computed from that identity counts.
    A key with several consecutive rows in its shard (one per object) gives
    them all, its key and shape repeated.
    """
    position = {key: i for i, key in enumerate(keys)}
    shard = np.full(len(keys), -1, np.int64)     # where each key's rows are: O(keys) integers
    row = np.zeros(len(keys), np.int64)
    count = np.zeros(len(keys), np.int64)
    shapes = [None] * len(keys)
    files = []
    for path in _shard_files(shards):
        index = _shard_index(path)
        if index is None:
            continue
        for i, (key, shape, identity) in enumerate(zip(*index)):
            at = position.get(key)
            if at is None or shard[at] not in (-1, len(files)):
                continue
            if identities is not None and identity != identities.get(key):
                continue
            if shard[at] < 0:
                shard[at], row[at], shapes[at] = len(files), i, shape
            count[at] += 1
        files.append(path)
    del position
    order = np.flatnonzero(shard >= 0)
    if not len(order):
        return [], [], None
    count = count[order]
    present = [keys[i] for i, n in zip(order, count) for _ in range(n)]
    shapes = [shapes[i] for i, n in zip(order, count) for _ in range(n)]
    starts = np.cumsum(count) - count
    shard = np.repeat(shard[order], count)
    row = np.repeat(row[order] - starts, count) + np.arange(count.sum())
    with np.load(files[shard[0]], allow_pickle=False) as f:
        features = f["features"]
    return present, shapes, ShardRows(files, shard, row, features.shape[1], features.dtype)


def _tmp_beside(path):
    path = Path(path)
    return path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")


# Bytes of one block of rows as the table is written (of text for CSV, of values
# otherwise): memory is flat in the number of rows.
_BLOCK_BYTES = 8 << 20
# About the bytes one value takes as CSV text while it is formatted.
_CSV_BYTES_PER_VALUE = 80


def _block_rows(rows, bytes_per_value):
    return max(1, _BLOCK_BYTES // max(1, rows.shape[1] * bytes_per_value))


def _write_csv(tmp, columns, names, rows):
    # One %-format per row (4x faster than np.char.mod per value, the same text), or the
    # text the workers formatted (the same format) where the shards hold it.
    fmt = csv_row_format(rows.dtype, rows.shape[1])
    carried = list(columns.values())
    n_rows = _block_rows(rows, _CSV_BYTES_PER_VALUE)
    texts = rows.text_blocks(n_rows) if hasattr(rows, "text_blocks") else None
    if texts is None:
        texts = ([fmt % tuple(values) for values in block.tolist()]
                 for block in rows.blocks(n_rows))
    with open(tmp, "w", newline="") as f:
        csv.writer(f).writerow(list(columns) + list(names))
        # The carried columns as csv.writer quotes them, then the values, as one row.
        prefix = csv.writer(f, lineterminator=",")
        start = 0
        for block in texts:
            for i, text in enumerate(block):
                prefix.writerow([column[start + i] for column in carried])
                f.write(text + "\r\n")
            start += len(block)


def _write_parquet(tmp, columns, names, rows, provenance):
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise ImportError("Parquet output needs pyarrow: pip install 'featpool[parquet]'.")
    value = pa.from_numpy_dtype(rows.dtype)
    kinds = {name: (pa.from_numpy_dtype(v.dtype) if isinstance(v, np.ndarray) else pa.string())
             for name, v in columns.items()}   # numbers per object; text otherwise
    schema = pa.schema(list(kinds.items())
                       + [(name, value) for name in names],
                       metadata={"featpool": json.dumps(provenance)})
    with pq.ParquetWriter(tmp, schema) as writer:   # one row group per block
        start = 0
        for block in rows.blocks(_block_rows(rows, rows.dtype.itemsize)):
            stop = start + len(block)
            arrays = [pa.array(v[start:stop], type=kinds[k]) for k, v in columns.items()]
            arrays += [pa.array(block[:, j]) for j in range(block.shape[1])]
            writer.write_table(pa.Table.from_arrays(arrays, schema=schema))
            start = stop


def _write_npy_member(archive, name, dtype, shape, blocks):
    """Stream one ``.npy`` member into an open zip: its header, then its blocks' bytes."""
    header = {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)), "fortran_order": False,
              "shape": tuple(shape)}
    with archive.open(name + ".npy", "w", force_zip64=True) as member:   # as np.savez does
        try:
            np.lib.format.write_array_header_1_0(member, header)
        except ValueError:   # a header too long for format 1.0
            np.lib.format.write_array_header_2_0(member, header)
        for block in blocks:
            member.write(np.ascontiguousarray(block, dtype=dtype).tobytes())


def _string_blocks(values, n_rows):
    """``np.asarray(values, dtype=str)``'s dtype and its rows in blocks (never all at once)."""
    dtype = np.dtype(f"<U{max([1] + [len(v) for v in values])}")
    blocks = (np.asarray(values[i:i + n_rows], dtype=dtype) for i in range(0, len(values),
                                                                          n_rows))
    return dtype, blocks


def _write_npz(tmp, columns, names, rows, provenance):
    small = {"feature_names": np.asarray(names, dtype=str),
             "provenance": np.asarray(json.dumps(provenance))}
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        _write_npy_member(archive, "features", rows.dtype, rows.shape,
                          rows.blocks(_block_rows(rows, rows.dtype.itemsize)))
        for name, array in small.items():
            _write_npy_member(archive, name, array.dtype, array.shape, [array])
        for key, values in columns.items():
            if isinstance(values, np.ndarray):   # label, area, bbox-*, centroid-*
                _write_npy_member(archive, key, values.dtype, values.shape, [values])
                continue
            name = key if key in ("path", "shape") else f"column_{key}"
            dtype, blocks = _string_blocks(values, max(1, _BLOCK_BYTES // 1024))
            _write_npy_member(archive, name, dtype, (len(values),), blocks)


def publish(out, fmt, columns, names, features, provenance):
    """Write the table and its ``OUT.json`` provenance, each atomically.

    ``columns`` maps 'path', 'shape' and the carried columns to lists of
    strings, one per row, and a run per object's label, area, bbox-* and
    centroid-* to arrays (numbers in Parquet and NPZ, named as they are);
    ``features`` is (rows, len(names)): an array, or the :class:`ShardRows`
    of :func:`read_shards`, which is written a block of rows at a time, so
    memory does not grow with the rows.
    """
    if features is None:
        features = np.zeros((0, len(names)), dtype=np.float32)
    rows = features if hasattr(features, "blocks") else ArrayRows(features)
    tmp = _tmp_beside(out)
    try:
        if fmt == "csv":
            _write_csv(tmp, columns, names, rows)
        elif fmt == "parquet":
            _write_parquet(tmp, columns, names, rows, provenance)
        else:
            _write_npz(tmp, columns, names, rows, provenance)
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
