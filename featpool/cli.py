"""The ``featpool`` command: ``featpool extract`` (images to a table) and ``featpool info``.

``featpool extract INPUT... -o OUT`` reads every image with
:func:`featpool.io.read_image`, computes its features with a
:class:`~featpool.FilterBankPooling` fitted on a reference grid
(``--shape``, or the estimator given with ``--model``) and writes one row per
image. The usage, the output layout, failures, resume and parallelism are
described in the documentation page "The batch command"; exit status: 0 all
done, 1 some image failed (the others are in the table), 2 a usage or
configuration error, 3 stopped early (``--max-failures``, Ctrl-C, SIGTERM).
"""
import argparse
import hashlib
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from . import _batch, _command, _labels, _tables
from .filters import BANKS
from .io import (COLOR_POLICIES, EXTENSIONS, MAX_PIXELS, UnreadableImageError, find_images,
                 image_shape, split_channels)
from .normalization import NORMALIZATIONS
from .pipeline import DEFAULTS, config_to_params, params_to_config
from .regions import REGION_DEFAULTS
from .responses import BORDER_MODES
from .transformers import FilterBankPooling
from ._vocabulary import NONLINEARITIES

__all__ = ["ConfigError", "load_config", "main"]

_DEFAULT_SHAPE = {2: (256, 256), 3: (64, 64, 64)}
_FLAGS = {  # flag -> (parameter, type)
    "bank": str, "n_scales": int, "n_orientations": int, "nonlinearity": str,
    "rotation": str, "scale_pooling": int, "normalization": str, "mode": str, "dtype": str,
}


class ConfigError(ValueError):
    """A configuration file or option that cannot be used (its message says why)."""


def load_config(path, defaults=DEFAULTS):
    """Read a TOML configuration file (the estimator's parameter names) to parameters.

    Parameters
    ----------
    path : str or path
    defaults : dict, default=DEFAULTS
        The values of the parameters that the file leaves out.

    Returns
    -------
    params : dict
        As :func:`featpool.pipeline.config_to_params` returns them.

    Raises
    ------
    ConfigError
        For a file that is not TOML, has unknown keys or wrong values; the
        message names the file. The file is parsed as data only.

    Examples
    --------
    >>> import tempfile
    >>> from featpool.cli import load_config
    >>> path = tempfile.mktemp(suffix=".toml")
    >>> _ = open(path, "w").write('bank = "morlet"\\nlevels = [1, 2]\\n')
    >>> params = load_config(path)
    >>> params["bank"], params["levels"]
    ('morlet', (1, 2))
    """
    if sys.version_info >= (3, 11):
        import tomllib
    else:
        import tomli as tomllib
    try:
        with open(path, "rb") as f:
            config = tomllib.load(f)
    except OSError as exc:
        raise ConfigError(f"Cannot read the configuration file {path}: {exc}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, ValueError) as exc:
        raise ConfigError(f"The configuration file {path} is not valid TOML: {exc}") from None
    try:
        params = config_to_params(config)
        params.update({k: v for k, v in defaults.items() if k not in config})
        FilterBankPooling(**params)._validate_params()
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"In the configuration file {path}: {exc}") from None
    return params


def _shape(text):
    try:
        shape = tuple(int(n) for n in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"a shape is HxW or DxHxW, e.g. 256x256; got {text!r}")
    if len(shape) not in (2, 3) or min(shape) < 2:
        raise argparse.ArgumentTypeError(f"a shape is HxW or DxHxW of sizes >= 2; got {text!r}")
    return shape


def _ints(text):
    return tuple(int(n) for n in text.split(","))


def _flag_help():
    """Each parameter flag's help: its choices and its default (FilterBankPooling's)."""
    choices = {"bank": [b for b in BANKS if b != "learned"], "nonlinearity": NONLINEARITIES,
               "rotation": ["max", "fourier"], "normalization": list(NORMALIZATIONS) + ["none"],
               "mode": BORDER_MODES, "dtype": ["float32", "float64"]}
    default = {**params_to_config(DEFAULTS), "n_scales": "the bank's own",
               "n_orientations": "the bank's own", "rotation": "none", "scale_pooling": "none"}
    what = {"bank": "the filter bank", "n_scales": "scales of the bank",
            "n_orientations": "orientations of the bank",
            "nonlinearity": "applied to the responses", "rotation": "rotation invariance",
            "scale_pooling": "maximum over this many neighbouring scales",
            "normalization": "of each vector", "mode": "borders of the images",
            "dtype": "of the features"}
    return {name: f"{what[name]}; " + (f"one of {', '.join(choices[name])}; "
                                       if name in choices else "")
            + f"default: {default[name]}" for name in _FLAGS}


def _add_params(parser):
    group = parser.add_argument_group("pipeline parameters (FilterBankPooling's names)")
    group.add_argument("--config", metavar="FILE.toml", help="parameters from a TOML file "
                       "(flags override it)")
    group.add_argument("--model", metavar="FILE", help="a fitted FilterBankPooling saved with "
                       "joblib (learned filters); replaces the parameters")
    for name, text in _flag_help().items():
        group.add_argument("--" + name.replace("_", "-"), type=_FLAGS[name],
                           metavar=name.upper(), help=text)
    group.add_argument("--pooling", type=lambda t: tuple(t.split(",")), metavar="OP[,OP]",
                       help="e.g. mean,std; default: mean")
    group.add_argument("--levels", type=_ints, metavar="L[,L]",
                       help="pyramid grid sizes, e.g. 1,2,4 (the default)")
    group.add_argument("--shape", type=_shape, metavar="HxW",
                       help="reference grid the filters are built on (default 256x256, "
                       "64x64x64 for volumes)")
    group.add_argument("--ndim", type=int, choices=(2, 3),
                       help="2D images or 3D volumes (default: from the files)")
    group.add_argument("--color", choices=COLOR_POLICIES, default="gray",
                       help="colour images: luminance, three channels, or a failure "
                       "(default: gray)")


_EXAMPLES = """examples:
  featpool extract photos/ -o features.csv
  featpool extract train/ test/ -o features.parquet --n-scales 4 --levels 1,2
  featpool extract fields/ --labels '{stem}_labels.tif' -o nuclei.parquet
  featpool info --shape 128x128

exit status: 0 every image done, 1 some image failed (the others are in the
table), 2 a usage, configuration or input error (nothing computed), 3 stopped
early (--max-failures, Ctrl-C, SIGTERM)."""


def _add_run_options(parser):
    parser.add_argument("--timeout", type=float, default=_batch.TIMEOUT, metavar="SECONDS",
                        help=f"an image not read and computed within SECONDS fails (stage "
                        f"'timeout') and its worker is replaced (default {_batch.TIMEOUT:g}; "
                        f"0: no limit)")


def build_parser():
    """The command's argument parser."""
    parser = argparse.ArgumentParser(prog="featpool", description="Image features from files.",
                                     epilog=_EXAMPLES,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"featpool {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    ext = sub.add_parser("extract", help="images to a feature table", epilog=_EXAMPLES,
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    ext.add_argument("inputs", nargs="*", metavar="INPUT",
                     help="image files, folders (recursive) or glob patterns; paths in the "
                     "table are relative to the inputs' common folder")
    ext.add_argument("-o", "--output", required=True, metavar="OUT",
                     help="the table: .csv, .parquet or .npz")
    ext.add_argument("--from-list", metavar="CSV", help="a CSV with a 'path' column; other "
                     "columns are carried into the output")
    ext.add_argument("--labels", metavar="RULE", help="features per object: one row per "
                     "(image, label) of its label image, found by RULE: a FOLDER mirroring "
                     "the images' paths, a pattern such as '{stem}_labels.tif' (also {name}, "
                     "{parent}; in the image's folder), or 'column[:NAME]' of --from-list")
    ext.add_argument("--mask", metavar="RULE", help="as --labels, for masks (nonzero = in): "
                     "features inside each image's mask, label 1")
    ext.add_argument("--sample", action="store_true",
                     help="scikit-image's sample images (nothing is downloaded)")
    ext.add_argument("--no-recursive", dest="recursive", action="store_false",
                     help="only the top level of folders")
    ext.add_argument("--hidden", action="store_true", help="also read hidden files and "
                     "folders (names starting with '.', e.g. macOS '._*'); skipped by default")
    ext.add_argument("--format", choices=_tables.FORMATS,
                     help="default: from the output's extension")
    ext.add_argument("--overwrite", action="store_true", help="replace an existing output")
    ext.add_argument("--resume", action="store_true",
                     help="finish an interrupted run; failed images are retried")
    ext.add_argument("--quiet", action="store_true", help="no progress, no summary")
    ext.add_argument("--jobs", type=int, metavar="N", help="worker processes (default: cores)")
    ext.add_argument("--max-failures", type=int, metavar="N", help="stop after N failures")
    ext.add_argument("--max-pixels", type=int, default=MAX_PIXELS, metavar="N",
                     help=f"refuse larger images (default {MAX_PIXELS}; 0: no limit)")
    ext.add_argument("--scheduler", metavar="ADDRESS",
                     help="run on a Dask cluster ('local' starts one on this machine)")
    _add_run_options(ext)
    _add_params(ext)
    info = sub.add_parser("info", help="the resolved configuration and feature names",
                          epilog=_EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_params(info)
    return parser


# --------------------------------------------------------------------------
# Configuration and estimator
# --------------------------------------------------------------------------

def _params(args):
    per_object = getattr(args, "labels", None) or getattr(args, "mask", None)
    defaults = REGION_DEFAULTS if per_object else DEFAULTS
    params = load_config(args.config, defaults) if args.config else dict(defaults)
    for name in list(_FLAGS) + ["pooling", "levels"]:
        value = getattr(args, name)
        if value is not None:
            params[name] = value if name != "pooling" or len(value) > 1 else value[0]
    if isinstance(params["dtype"], str):
        params = config_to_params({**params_to_config({k: v for k, v in params.items()
                                                       if k != "dtype"}),
                                   "dtype": params["dtype"]})
    params["channel_axis"] = -1 if args.color == "channels" else None
    params["image_shape"] = None
    if params["bank"] == "learned":
        raise ConfigError("bank='learned' learns its filters from images: fit a "
                          "FilterBankPooling on yours, save it with joblib.dump and pass "
                          "--model FILE.")
    return params


def _load_model(args):
    import joblib
    try:
        model = joblib.load(args.model)
    except Exception as exc:
        raise ConfigError(f"Cannot load the model {args.model}: {exc}") from None
    if not isinstance(model, FilterBankPooling) or not hasattr(model, "bank_"):
        raise ConfigError(f"The model {args.model} must be a fitted FilterBankPooling. Got "
                          f"{type(model).__name__} instead.")
    with open(args.model, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    return model, digest


def build_estimator(args, ndim, max_pixels=MAX_PIXELS):
    """The fitted estimator and its provenance (configuration, grid, model hash)."""
    if args.model:
        model, digest = _load_model(args)
        colour = model.channel_axis is not None and model.n_channels_ == 3
        if colour != (args.color == "channels") or model.bank_.ndim != ndim:
            raise ConfigError(
                f"The model {args.model} was fitted on {model.bank_.ndim}D images with "
                f"{model.n_channels_} channel(s) (channel_axis={model.channel_axis}); the run "
                f"reads {ndim}D images with --color {args.color}. Use --color "
                f"{'channels' if colour else 'gray'} and --ndim {model.bank_.ndim}.")
        try:
            config = params_to_config(model.get_params())
        except TypeError:
            config = {}
        return model, {"config": config, "model_sha256": digest,
                       "shape": list(model.image_shape_ or ())}
    try:
        params = _params(args)
        shape = args.shape or _DEFAULT_SHAPE[ndim]
        if len(shape) != ndim:
            raise ConfigError(f"--shape {'x'.join(map(str, shape))} has {len(shape)} axes; the "
                              f"images are {ndim}D.")
        channels = (3,) if args.color == "channels" else ()
        _command.check_grid(shape, len(channels) * 3 or 1, max_pixels)
        model = FilterBankPooling(**params).fit(np.zeros((1,) + tuple(shape) + channels))
    except (ConfigError, _command.CommandError):
        raise
    except MemoryError:
        raise _command.out_of_memory(shape) from None
    except (TypeError, ValueError) as exc:
        raise ConfigError(_where(args) + str(exc)) from None
    return model, {"config": params_to_config(model.get_params()), "shape": list(shape)}


def _where(args):
    """Where the parameters of a failed build came from: the configuration file, flags."""
    if not args.config:
        return ""
    flags = [f"--{n.replace('_', '-')}" for n in list(_FLAGS) + ["pooling", "levels"]
             if getattr(args, n) is not None]
    return (f"In the configuration file {args.config}"
            f"{' with ' + ', '.join(flags) if flags else ''}: ")


def _version():
    from . import __version__
    return __version__


# --------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------

def _sample_folder():
    from skimage import data
    # A private folder (not a fixed path that another user could have made first);
    # removed at the end of the run.
    folder = Path(tempfile.mkdtemp(prefix="featpool-sample-"))
    for name in ("camera", "coins", "moon", "page", "text", "astronaut", "coffee", "chelsea",
                 "rocket", "horse"):
        image = getattr(data, name)()
        image = (image * 255).astype(np.uint8) if image.dtype == bool else image
        np.save(folder / f"{name}.npy", image)
    return folder


def _discover(args, skipped):
    """(path, name, carried columns) of every input, and the carried column names."""
    if args.from_list:
        return _command.read_list(args.from_list)
    inputs = list(args.inputs)
    if args.sample:
        args.sample = _sample_folder()
        inputs.append(args.sample)
    if not inputs:
        raise ConfigError("No input: give image files, folders or patterns, --from-list or "
                          "--sample.")
    try:
        found = find_images(inputs, recursive=args.recursive, hidden=args.hidden,
                            skipped=skipped)
    except FileNotFoundError as exc:
        raise ConfigError(str(exc)) from None
    if not found:
        raise ConfigError(f"No image file ({', '.join(EXTENSIONS)}) in "
                          f"{', '.join(map(str, inputs))}.")
    return [(f.path, f.name, {}) for f in found], []


def _headers(found, ndim, failures):
    """Stored and spatial shapes of each file from its header; header failures recorded."""
    shapes = {}
    for path, _, _ in found:
        try:
            shapes[path] = image_shape(path)
        except UnreadableImageError as exc:
            failures[os.path.abspath(path)] = ("header", exc.reason)
    if ndim is None:
        dims = {len(_safesplit_channels(s)) for s in shapes.values()} - {None, 0}
        ndim = 3 if dims == {3} else 2
    spatial = {}
    for path, shape in shapes.items():
        try:
            spatial[path] = split_channels(shape, ndim)[0]
        except ValueError as exc:
            failures[os.path.abspath(path)] = ("header", _command.in_command_words(str(exc), ()))
    return shapes, spatial, ndim


def _safesplit_channels(shape):
    try:
        return split_channels(shape, None)[0]
    except ValueError:
        return ()


# --------------------------------------------------------------------------
# Resume: what is done, what changed
# --------------------------------------------------------------------------

def _identities(keys):
    """Each file's identity for resume: ``(size, mtime_ns)`` (None where it cannot be read)."""
    found = {}
    for key in keys:
        try:
            stat = os.stat(key)
            found[key] = (stat.st_size, stat.st_mtime_ns)
        except OSError:
            found[key] = None
    return found


def _inputs(identities):
    """The provenance's record of the inputs: their number and a digest of their identities."""
    digest = hashlib.sha256()
    for key in sorted(identities):
        digest.update(json.dumps([key, identities[key]]).encode("utf-8", "surrogateescape"))
    return {"files": len(identities), "sha256": digest.hexdigest()}


def _resume_plan(done, keys, identities, args):
    """The keys whose rows in the shards are still good; says what changed when resuming."""
    unchanged = {k for k in keys if identities[k] in done.get(k, ())}
    if args.resume and not args.quiet:
        changed = sum(k in done for k in keys) - len(unchanged)
        gone = len(done.keys() - set(keys))
        print(f"featpool: resume: {len(unchanged)} unchanged (kept), {changed} changed "
              f"(computed again), {len(keys) - len(unchanged) - changed} new or failed before "
              f"(computed), {gone} gone (dropped from the table).", file=sys.stderr)
    return unchanged


# --------------------------------------------------------------------------
# Progress
# --------------------------------------------------------------------------

class Progress:
    """A tqdm bar on a terminal, plain log lines every ``every`` seconds otherwise."""

    def __init__(self, total, quiet, every=10.0):
        self.total, self.quiet, self.every = total, quiet, every
        self.done = self.failed = 0
        self.start = self.last = time.perf_counter()
        self.bar = None
        if not quiet and total and sys.stderr.isatty():
            from tqdm import tqdm
            self.bar = tqdm(total=total, unit="img", file=sys.stderr)

    def update(self, n_done, failures):
        self.done += n_done
        self.failed += len(failures)
        for path, stage, reason in failures:
            message = f"featpool: failed: {path}: {stage}: {reason}"
            (self.bar.write(message, file=sys.stderr) if self.bar
             else print(message, file=sys.stderr))
        if self.bar is not None:
            self.bar.update(n_done + len(failures))
        elif not self.quiet and time.perf_counter() - self.last >= self.every:
            self.last = time.perf_counter()
            rate = self.done / max(self.last - self.start, 1e-9)
            print(f"featpool: {self.done + self.failed}/{self.total} images, {self.failed} "
                  f"failed, {rate:.1f} img/s", file=sys.stderr, flush=True)

    def close(self, skipped, out, stopped, ignored=None):
        if self.bar is not None:
            self.bar.close()
        seconds = time.perf_counter() - self.start
        if not self.quiet:
            word = "stopped early" if stopped else "finished"
            print(f"featpool: {word}: {self.done} done, {self.failed} failed, {skipped} skipped "
                  f"(already done){_ignored(ignored)}, {seconds:.1f} s, "
                  f"{self.done / max(seconds, 1e-9):.1f} images/s -> {out}", file=sys.stderr,
                  flush=True)


def _ignored(counts):
    """The summary's words for what the search of folders left out."""
    words = {"hidden": "hidden", "other": "not images"}
    parts = [f"{n} {words[k]}" for k, n in (counts or {}).items() if n]
    return f", {' and '.join(parts)} not read" if parts else ""


# --------------------------------------------------------------------------
# extract
# --------------------------------------------------------------------------

def _run(args, spec, batches, shards, jobs, progress, failures, names):
    """Run the batches, locally or on Dask; returns True when stopped early."""
    stop = []

    def on_outcome(batch, outcome):
        shown = []
        for key, stage, reason in outcome.failures:
            reason = _command.in_command_words(reason, ())
            failures[key] = (stage, reason)
            shown.append((names[key], stage, reason))
        progress.update(outcome.n_done, shown)
        if args.max_failures is not None and len(failures) >= args.max_failures:
            stop.append(True)
            return False
        return True

    if args.scheduler:
        from .distributed import run_dask   # the scheduler answered check_scheduler
        if not args.model:   # Dask workers fit the estimator from its recipe
            model = spec.estimator
            spec = spec._replace(estimator=_batch.Recipe(
                params_to_config(model.get_params()), tuple(model.image_shape_)))
        run_dask(args.scheduler, spec, batches, shards, jobs, on_outcome)
    else:
        _batch.run_local(spec, batches, shards, jobs, on_outcome)
    return bool(stop)


def _path_rule(args):
    """How the table's paths and the input files relate (recorded in the provenance)."""
    if args.from_list:
        return (f"as written in the list {os.path.basename(args.from_list)} (relative to its "
                f"folder)")
    return ("relative to the common folder of the inputs; bytes that are not UTF-8 as \\xNN, "
            "a backslash as \\\\")


def extract(args):
    """``featpool extract``; returns the exit status."""
    try:
        return _extract(args)
    finally:
        if isinstance(args.sample, Path):
            shutil.rmtree(args.sample, ignore_errors=True)


def _extract(args):
    out = Path(args.output)
    fmt = _tables.output_format(out, args.format)
    if args.scheduler:
        _command.check_scheduler(args.scheduler)
    ignored = {}
    found, extra = _discover(args, ignored)
    rule = _labels.parse_rule(args.labels, args.mask, extra if args.from_list else None)
    if rule is not None and args.model:
        raise ConfigError(f"--model cannot be used with --{rule.kind} (yet): give the "
                          f"parameters as flags or --config.")
    if rule is not None:
        found, label_files, unpaired = _labels.pair(rule, found, args.from_list)
    # Only a file of the output's name, or a link, can be the output (a realpath each).
    _command.check_output(out, fmt, [path for path, _, _ in found
                                     if os.path.basename(path) == out.name
                                     or os.path.islink(path)])
    keys = [os.path.abspath(path) for path, _, _ in found]
    names = dict(zip(keys, (name for _, name, _ in found)))
    failures = {}
    if rule is not None:
        failures.update((k, (stage, reason)) for k, stage, reason in unpaired if k in names)
    stored, spatial, ndim = _headers(found, args.ndim, failures)
    max_pixels = args.max_pixels or None
    model, provenance = build_estimator(args, ndim, max_pixels)
    _command.check_columns(args.from_list, extra, model.get_feature_names_out().tolist()
                           + (_labels.geometry_names(ndim) if rule else []))
    provenance = {"featpool_version": _version(), **provenance, "color": args.color,
                  "ndim": ndim, "max_pixels": max_pixels,
                  "resolved": _command.resolved_parameters(model), "paths": _path_rule(args)}
    identities = _identities(keys)
    if rule is not None:
        regions = (rule.kind, _labels.region_params(model, rule),
                   model.get_feature_names_out().tolist())
        provenance["objects"] = rule.describe()
        identities = _labels.with_labels(identities, label_files)
    provenance["inputs"] = _inputs(identities)
    shards = _tables.open_shards(out, provenance, resume=args.resume, overwrite=args.overwrite)
    if shards is None:
        if not args.quiet:
            print(f"featpool: {out} is complete; nothing to resume (--overwrite computes it "
                  f"again).", file=sys.stderr)
        return 0
    unchanged = _resume_plan(_tables.done_keys(shards), keys, identities, args)
    tasks = [_batch.Task(key, path, spatial[path], "x".join(map(str, stored[path])),
                         identities[key], label_files[key] if rule else None)
             for key, (path, _, _) in zip(keys, found)
             if key not in unchanged and key not in failures]
    jobs = _batch.balance(args.jobs, len(tasks))
    channels = 3 if args.color == "channels" else 1
    batches = _batch.plan_batches(tasks, jobs, channels)
    spec = _batch.Spec(model, args.color, ndim, max_pixels,
                       _batch.n_threads_for(jobs, model.n_threads),
                       os.environ.get(_batch.CRASH_ENV), args.timeout,
                       regions if rule else None, fmt == "csv" and not rule)
    progress = Progress(len(tasks) + len(failures), args.quiet)   # header failures count
    progress.update(0, [(names[k], stage, reason) for k, (stage, reason) in failures.items()])
    try:
        stopped = _run(args, spec, batches, shards, jobs, progress, failures, names)
    except KeyboardInterrupt:
        stopped = True
    errors = [(names[k], stage, reason) for k, (stage, reason) in failures.items()]
    _tables.write_errors(out, errors)
    progress.close(len(unchanged), out, stopped, ignored)
    if stopped:
        print(f"featpool: nothing published; the finished images are kept in {shards}: "
              f"rerun with --resume to finish.", file=sys.stderr)
        return 3
    present, shapes, features = _tables.read_shards(shards, keys, identities)
    carried = {k: c for k, (_, _, c) in zip(keys, found)}
    columns = {"path": [names[k] for k in present], "shape": list(shapes)}
    if rule is not None:
        regions = (np.zeros((0, 2 + 3 * ndim)) if features is None
                   else features.gather("regions"))
        columns.update(_labels.table_columns(regions, ndim))
    for column in extra:
        columns[column] = [carried[k][column] for k in present]
    _tables.publish(out, fmt, columns, model.get_feature_names_out().tolist(), features,
                    provenance)
    if failures:
        print(f"featpool: {len(failures)} image(s) failed, listed in "
              f"{_tables.companions(out)['errors']}; --resume retries them.", file=sys.stderr)
        return 1
    _tables.close_shards(shards)
    return 0


def _on_sigterm(signum, frame):
    raise KeyboardInterrupt


def _guarded(args):
    """``extract`` as one run: SIGTERM stops it as Ctrl-C does, its lock is always freed."""
    if not 0 <= args.timeout <= _batch.MAX_TIMEOUT:
        raise ConfigError(f"--timeout must be a number of seconds up to "
                          f"{_batch.MAX_TIMEOUT:g}, 0 for no limit. Got {args.timeout:g}.")
    if not args.scheduler:
        _batch.start_early()
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _on_sigterm) if main_thread else None
    try:
        return extract(args)
    except KeyboardInterrupt:   # outside the batches: nothing was published half
        print("featpool: interrupted. Rerun with --resume to finish.", file=sys.stderr)
        return 3
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous)
        _tables.release_lock()


def info(args):
    """``featpool info``: the configuration, feature count and names; reads no image."""
    ndim = args.ndim or (len(args.shape) if args.shape else 2)
    model, provenance = build_estimator(args, ndim)
    names = model.get_feature_names_out()
    print(json.dumps({"featpool_version": _version(), **provenance, "color": args.color,
                      "ndim": ndim, "n_features": len(names),
                      "resolved": _command.resolved_parameters(model)}, indent=1))
    print("\n".join(names))
    sys.stdout.flush()
    return 0


def main(argv=None):
    """Run the command (``argv`` defaults to ``sys.argv[1:]``); returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return _main(args)
    except BrokenPipeError:   # featpool info | head
        _command.stdout_closed()
        return 0


def _main(args):
    flags = list(_FLAGS) + ["pooling", "levels"]
    try:
        if args.command == "info":
            return info(args)
        if args.max_failures is not None and args.max_failures < 1:
            raise ConfigError(f"--max-failures must be at least 1. Got {args.max_failures}.")
        if args.jobs == 0:
            raise ConfigError("--jobs must be a positive number of processes, or negative to "
                              "count back from the cores (-1: all). Got 0.")
        if args.max_pixels < 0:
            raise ConfigError(f"--max-pixels must be positive (0: no limit). Got "
                              f"{args.max_pixels}.")
        return _guarded(args)
    except (ConfigError, _tables.ResumeError, ImportError, ValueError) as exc:
        print(f"featpool: error: {_command.in_command_words(str(exc), flags)}",
              file=sys.stderr)
        return 2
