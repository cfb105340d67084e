"""The batch command as a user meets it: its list file, the checks it makes before any
image is computed, and its messages in the command's own words.

Every check here runs before the first image is read, so a run that cannot
finish (an output it cannot write, a Parquet writer that is not installed, a
scheduler it cannot reach, a reference grid too large to build) fails at
once with one line and exit status 2, not after hours of work.
"""
import asyncio
import csv
import math
import numbers
import os
import re
import socket
import sys
import uuid
from pathlib import Path
from urllib.parse import urlsplit

#: Seconds to wait for a Dask scheduler to answer before the run is refused.
CONNECT_TIMEOUT = 10.0
# The longest name the run writes beside OUT: the temporary file of OUT.errors.csv.
_LONGEST_COMPANION = ".{}.errors.csv.{}.tmp"


class CommandError(ValueError):
    """What stops the command before it runs; the message says why (exit status 2)."""


# --------------------------------------------------------------------------
# --from-list
# --------------------------------------------------------------------------

def read_list(path):
    """The rows of a ``--from-list`` CSV: (file path, name, carried columns), and the
    carried column names.

    The file may start with a byte-order mark (a list saved by Excel). A file
    listed twice with the same carried values is one row; with different
    values it is an error, as are two columns of one name and a column named
    'shape' (:func:`check_columns` checks the feature names once known).
    """
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            header = next(reader, None)
            lines = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise CommandError(f"Cannot read the list {path}: {exc}") from None
    if not header or "path" not in header:
        raise CommandError(f"The list {path} must be a CSV with a 'path' column; its first "
                           f"line is {header}.")
    twice = sorted({c for c in header if header.count(c) > 1})
    if twice:
        raise CommandError(f"The list {path} has two columns named {', '.join(twice)}.")
    extra = [c for c in header if c != "path"]
    check_columns(path, extra, ["shape"])
    rows, first = [], {}
    for number, line in enumerate(lines, start=2):
        if not any(line):
            continue   # a blank line
        row = dict(zip(header, line + [""] * (len(header) - len(line))))
        if not row["path"]:
            raise CommandError(f"The list {path}, line {number}: the 'path' is empty.")
        file = Path(row["path"])
        file = str(file if file.is_absolute() else path.parent / file)
        carried = {c: row[c] for c in extra}
        key = os.path.realpath(file)
        if key in first:
            earlier, values = first[key]
            if values != carried:
                raise CommandError(
                    f"The list {path} gives {row['path']!r} twice with different values "
                    f"(lines {earlier} and {number}): a file is one row; remove one.")
            continue   # the same row twice: one row
        first[key] = (number, carried)
        rows.append((file, row["path"], carried))
    if not rows:
        raise CommandError(f"The list {path} has no rows.")
    return rows, extra


def check_columns(path, extra, reserved):
    """Refuse carried columns of the list ``path`` named like output columns."""
    clash = [c for c in extra if c in set(reserved)]
    if clash:
        raise CommandError(f"The list {path} has column(s) {', '.join(map(repr, clash))}, "
                           f"named like output columns ('path', 'shape' and the feature "
                           f"names): rename them.")


# --------------------------------------------------------------------------
# Checks before the run
# --------------------------------------------------------------------------

def check_output(out, fmt, files):
    """Refuse an output the run could not write, before any image is computed.

    ``out`` must not be a folder nor one of the input ``files``, its folder
    must take the names the run writes beside it, and the Parquet writer must
    be installed for ``fmt='parquet'``.
    """
    out = Path(out)
    if out.is_dir():
        raise CommandError(f"The output {out} is a folder: give a file name, e.g. "
                           f"{out / ('features.' + fmt)}.")
    real = os.path.realpath(out)
    if any(os.path.realpath(f) == real for f in files):
        raise CommandError(f"The output {out} is one of the input images: give another name.")
    if fmt == "parquet":
        try:
            import pyarrow.parquet  # noqa: F401
        except ImportError:
            raise CommandError('Parquet output needs pyarrow: pip install ".[parquet]" in '
                               'featpool\'s folder (or pip install pyarrow), or write .csv '
                               'or .npz.') from None
    folder = out.absolute().parent
    while not os.path.lexists(folder):   # the output's folder is made with the shards
        folder = folder.parent
    if not folder.is_dir():
        raise CommandError(f"Cannot write the output {out}: {folder} is a file, not a folder.")
    probe = folder / _LONGEST_COMPANION.format(out.name, uuid.uuid4().hex)
    try:
        with open(probe, "x"):
            pass
        probe.unlink()
    except OSError as exc:
        raise CommandError(f"Cannot write the output {out} and the files beside it (up to "
                           f"{len(os.fsencode(probe.name))} bytes a name): "
                           f"{exc.strerror or exc}.") from None


def check_scheduler(address, timeout=CONNECT_TIMEOUT):
    """Refuse a Dask scheduler address that does not answer within ``timeout`` seconds."""
    try:
        import distributed
    except ImportError:
        raise CommandError('--scheduler needs Dask: pip install ".[dask]" in featpool\'s '
                           'folder (or pip install "dask[distributed]").') from None
    if address == "local":
        return
    parts = urlsplit(address if "://" in address else "tcp://" + address)
    try:
        if parts.scheme in ("tcp", "tls"):   # refused at once, rather than retried
            socket.create_connection((parts.hostname, parts.port or 8786), timeout=timeout
                                     ).close()
        asyncio.run(_handshake(distributed, address, timeout))
    except Exception as exc:   # whatever the address holds, this run cannot use it
        if isinstance(exc, (socket.timeout, TimeoutError, asyncio.TimeoutError)):
            reason = "no answer"
        elif isinstance(exc, OSError) and exc.strerror:
            reason = exc.strerror
        else:
            reason = f"it does not answer as a Dask scheduler ({type(exc).__name__})"
        raise CommandError(f"Cannot reach the Dask scheduler at {address}: {reason} "
                           f"(waited up to {timeout:.0f} s).") from None


async def _handshake(distributed, address, timeout):
    """Something answers: is it a Dask scheduler? (distributed's own handshake, without a
    Client, which would linger at exit when half made)."""
    comm = await distributed.comm.connect(address, timeout=timeout)
    await comm.close()


def check_grid(shape, n_channels, max_pixels):
    """Refuse a reference grid (``--shape``) larger than ``max_pixels``: its filters
    are built in memory, a few dozen float arrays of its size."""
    n = math.prod(shape)
    if max_pixels is not None and n > max_pixels:
        gib = n * 8 * n_channels / 2**30
        raise CommandError(f"--shape {'x'.join(map(str, shape))} is a grid of {n} pixels "
                           f"({gib:.1f} GiB for the grid alone, and each filter as much "
                           f"again), more than --max-pixels {max_pixels}. The filters are "
                           f"built on this grid: give a smaller --shape.")


def out_of_memory(shape):
    """The message for a grid whose filters did not fit in memory."""
    return CommandError(f"--shape {'x'.join(map(str, shape))}: its filters do not fit in "
                        f"memory ({math.prod(shape)} pixels each); give a smaller --shape.")


# --------------------------------------------------------------------------
# Messages
# --------------------------------------------------------------------------

_FLAG_WORDS = [  # the library's words in a message -> the command's
    (re.compile(r"\bndim=([23])\b"), r"--ndim \1"),
    (re.compile(r"\bmax_pixels=(\d+)"), r"--max-pixels \1"),
    (re.compile(r"\bmax_pixels=None\b"), "--max-pixels 0"),
    (re.compile(r"\bcolor='(\w+)'"), r"--color \1"),
    (re.compile(r"use 'gray' or 'channels'"), "use --color gray or --color channels"),
]


def in_command_words(message, flags):
    """A library message with the parameters that the command sets by flags named as
    those flags: ``ndim=3`` becomes ``--ndim 3``, ``'n_scales' parameter`` becomes
    ``'n_scales' parameter (--n-scales)``."""
    for pattern, words in _FLAG_WORDS:
        message = pattern.sub(words, message)
    for name in flags:
        message = message.replace(f"'{name}' parameter",
                                  f"'{name}' parameter (--{name.replace('_', '-')})")
    return message


def resolved_parameters(model):
    """The parameters as the fitted estimator used them: what None resolved to."""
    bank = model.bank_
    meta = list(getattr(bank, "metadata", None) or ())
    used = {"n_filters": len(bank), "image_shape": list(model.image_shape_ or ()),
            "channel_axis": model.channel_axis, "n_channels": int(model.n_channels_),
            "n_features": len(model.get_feature_names_out())}
    for name, index in (("n_scales", "scale_index"), ("n_orientations", "orientation_index")):
        values = {m[index] for m in meta if index in m}
        used[name] = len(values) if values else getattr(model, name)
    constant = {}
    for key in sorted(set().union(*meta) if meta else ()):
        values = {repr(m.get(key)) for m in meta}
        if len(values) == 1 and meta[0].get(key) is not None and not key.endswith(
                "_index") and key not in ("scale", "orientation", "frequency"):
            constant[key] = _plain(meta[0][key])
    used["bank_params"] = {**constant, **{k: _plain(v) for k, v in
                                          (model.bank_params or {}).items()}}
    for key, low, high in (("frequency", "lowest_frequency", "highest_frequency"),
                           ("scale", "smallest_scale", "largest_scale")):
        values = sorted({float(m[key]) for m in meta if isinstance(m.get(key), numbers.Real)})
        if values:
            used[low], used[high] = values[0], values[-1]
    if getattr(model, "second_bank_", None) is not None:
        used["n_second_layer_filters"] = len(model.second_bank_)
    return used


def _plain(value):
    """A value as JSON holds it (NumPy scalars to Python ones; others as text)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return repr(value)


def stdout_closed():
    """After the reader of stdout went away (``featpool info | head``): the rest of the
    output goes nowhere, as the Python documentation recommends (no BrokenPipeError
    when the interpreter flushes stdout at exit)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
