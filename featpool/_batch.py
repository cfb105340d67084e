"""The batch command's work: tasks grouped by shape, batches run in worker processes.

A *batch* is a few images of one shape. :func:`run_batch` reads them,
transforms them with the command's fitted :class:`~featpool.FilterBankPooling`
(so the filters are resampled once per shape and batch) and writes their
rows to a shard itself: features never travel back to the parent, which
only learns counts and failures. The same function runs in the local
process pool (:func:`run_local`) and on Dask workers
(:mod:`featpool.distributed`).

A worker that dies (a crash in native code, the out-of-memory killer)
breaks the pool. The batches that were in flight then run again one image
at a time, one after the other, in a fresh pool: the image that kills its
worker again is recorded as failed ('worker' stage), the others are done.
That is deterministic whatever the timing.

An image that takes longer than the run's time limit (``Spec.timeout``
seconds) to read, or a batch that takes that long per image to compute,
makes its worker exit (the kernel's interval timer, whose SIGALRM ends a
local worker, or :mod:`faulthandler`'s watchdog on Dask: neither needs the GIL):
the pool breaks as for a crash, and the image whose worker dies again after
the limit, alone, is recorded with stage 'timeout'.

Workers never outlive the command: each watches a pipe whose only writer is
the parent (a thread that exits the worker at its end of file, when the
parent closes it or dies, even by ``kill -9``), and on Linux also asks the
kernel for SIGKILL when its parent dies (``PR_SET_PDEATHSIG``). Once the
workers are gone, multiprocessing's forkserver and resource tracker see
their pipes close and exit too.
"""
import faulthandler
import json
import math
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import NamedTuple

import numpy as np
from threadpoolctl import threadpool_limits

from ._config import config_context, cpu_count, effective_n_threads, working_memory_bytes
from ._labels import object_rows, read_labels
from ._tables import write_shard
from .io import UnreadableImageError, read_image
from .pipeline import config_to_params
from .transformers import FilterBankPooling

#: Testing only: when this environment variable names a file (its base name)
#: in the parent, the worker that comes to that file exits at once, as a crash
#: in native code would (the tests of worker failures set it). It travels in
#: the Spec, so it reaches long-lived forkserver and Dask workers.
CRASH_ENV = "FEATPOOL_TESTING_CRASH_ON"
#: Testing only: the worker that comes to a file of this base name (read from
#: the worker's environment) hangs, as a stuck decoder would.
HANG_ENV = "FEATPOOL_TESTING_HANG_ON"
#: The per-image time limit of the command, in seconds (``--timeout``), and its
#: largest value (a year: a batch's limit, that times its images, fits faulthandler's).
TIMEOUT = 300.0
MAX_TIMEOUT = 365 * 86400.0
#: Most images in one batch of images of 64x64 pixels or more; smaller images
#: go by pixels instead (:data:`BATCH_PIXELS` a batch, at most :data:`MAX_SMALL_BATCH`
#: images), so that the cost of a batch (a task, a shard) is spread over more of them.
MAX_BATCH = 32
BATCH_PIXELS = 32 * 64 * 64
MAX_SMALL_BATCH = 256


class Task(NamedTuple):
    """One image to do: its key (absolute path), file path, spatial and stored shapes, its
    file's identity ``(size, mtime_ns)``, with which its row is stored for resume, and its
    label file in a run per object."""

    key: str
    path: str
    spatial: tuple
    shape: str
    identity: tuple = None
    labels: str = None


class Recipe(NamedTuple):
    """How to fit the command's estimator: a few bytes to ship instead of its filters."""

    config: dict
    shape: tuple    # of the zeros it is fitted on (``image_shape_``)


class Spec(NamedTuple):
    """What every worker needs: the fitted estimator (or its Recipe), the reading options."""

    estimator: object
    color: str
    ndim: int
    max_pixels: object
    n_threads: object
    crash_on: object = None
    timeout: float = 0.0     # seconds per image; 0: no limit
    regions: tuple = None    # per object: ('labels' or 'mask', region_features' parameters,
    #                          the feature names)
    text: bool = False       # shards also hold the rows as CSV text (a CSV output)


class Outcome(NamedTuple):
    """What a batch reports back: images done, and (key, stage, reason) failures."""

    n_done: int
    failures: list


def balance(jobs, n_batches):
    """Worker processes for ``jobs`` (None: one per core; negative: counts back from
    the cores), never more than the batches; :func:`n_threads_for` gives each its threads."""
    cores = cpu_count()
    if jobs is None:
        jobs = cores
    elif jobs < 0:
        jobs = max(1, cores + 1 + jobs)
    return max(1, min(jobs, max(n_batches, 1)))


def plan_batches(tasks, jobs, channels=1):
    """Tasks grouped by shape and cut into batches that fit the working memory."""
    groups = {}
    for task in tasks:
        groups.setdefault(task.spatial, []).append(task)
    budget = working_memory_bytes(1 / 4) // (4 * max(jobs, 1) * channels)
    batches = []
    for spatial, group in groups.items():
        pixels = math.prod(spatial)
        most = min(MAX_SMALL_BATCH, max(MAX_BATCH, BATCH_PIXELS // pixels))
        size = min(most, max(1, budget // pixels), max(1, math.ceil(len(group) / (2 * jobs))))
        batches += [group[i:i + size] for i in range(0, len(group), size)]
    return batches


def _testing_hooks(path, name):
    if name and Path(path).name == name:
        os._exit(70)
    if os.environ.get(HANG_ENV) == Path(path).name:
        time.sleep(1e6)


_DEVNULL = []
# True in the local pool's workers (set up by _init_worker, in their main thread): the
# time limit is the kernel's interval timer, whose SIGALRM (default action) ends the
# process, GIL or not. Arming it is one system call; faulthandler's watchdog, used
# elsewhere (Dask workers, systems without setitimer), starts and joins a thread at each
# call, which cost more than reading a 25x25 image.
_ALARM = []


def _time_limit(seconds):
    """Exit this process unless :func:`_no_time_limit` comes within ``seconds`` (0: never)."""
    if not seconds:
        return
    if _ALARM:
        signal.setitimer(signal.ITIMER_REAL, seconds)
        return
    if not _DEVNULL:
        _DEVNULL.append(open(os.devnull, "w"))
    faulthandler.dump_traceback_later(seconds, exit=True, file=_DEVNULL[0])


def _no_time_limit(seconds):
    if not seconds:
        return
    if _ALARM:
        signal.setitimer(signal.ITIMER_REAL, 0)
    else:
        faulthandler.cancel_dump_traceback_later()


def _reason(exc):
    return f"{type(exc).__name__}: {exc}".splitlines()[0]


_FITTED = {}


def fitted(estimator):
    """The estimator itself, or the one a Recipe fits (once per process)."""
    if not isinstance(estimator, Recipe):
        return estimator
    key = json.dumps(estimator, sort_keys=True)
    if key not in _FITTED:
        grid = np.zeros((1,) + tuple(estimator.shape))
        _FITTED[key] = FilterBankPooling(**config_to_params(estimator.config)).fit(grid)
    return _FITTED[key]


def _transform(estimator, images):
    # Colour images come as (H, W, 3): the command's estimator has channel_axis=-1.
    return estimator.transform(np.stack(images))


def _compute(spec, keys, shapes, images, failures):
    """Features of ``images``; an image whose computation fails is dropped, its failure noted."""
    with threadpool_limits(spec.n_threads), config_context(n_threads=spec.n_threads):
        try:
            return keys, shapes, _transform(spec.estimator, images)
        except Exception:  # find the image(s) at fault, one at a time
            rows, kept = [], []
            for key, image in zip(keys, images):
                try:
                    rows.append(_transform(spec.estimator, [image])[0])
                    kept.append(key)
                except Exception as exc:
                    failures.append((key, "extract", _reason(exc)))
            shapes = [s for k, s in zip(keys, shapes) if k in set(kept)]
            return kept, shapes, (np.stack(rows) if rows else None)


def run_batch(spec, batch, shards):
    """Read, transform and write one batch; report counts and failures.

    Parameters
    ----------
    spec : Spec
    batch : list of Task
        Images of one spatial shape.
    shards : str or path
        The run's shard folder.

    Returns
    -------
    Outcome
    """
    failures, keys, images, shapes, labels = [], [], [], [], []
    for task in batch:
        _time_limit(spec.timeout)
        try:
            _testing_hooks(task.path, spec.crash_on)
            image = read_image(task.path, color=spec.color, ndim=spec.ndim,
                               max_pixels=spec.max_pixels)
            if spec.regions is not None:
                labels.append(read_labels(task.labels, task.spatial, spec.regions[0]))
        except UnreadableImageError as exc:
            failures.append((task.key, exc.stage, exc.reason))
            continue
        except Exception as exc:  # the reader's own bugs cost this image, not the run
            failures.append((task.key, "read", _reason(exc)))
            continue
        finally:
            _no_time_limit(spec.timeout)
        keys.append(task.key)
        shapes.append(task.shape)
        images.append(image)
    if not images:
        return Outcome(0, failures)
    if spec.regions is not None:
        return _run_objects(spec, batch, shards, keys, shapes, images, labels, failures)
    spec = spec._replace(estimator=fitted(spec.estimator))
    _time_limit(spec.timeout * len(images))   # the batch's computation: the limit per image
    try:
        keys, shapes, features = _compute(spec, keys, shapes, images, failures)
    finally:
        _no_time_limit(spec.timeout)
    if keys:
        identity = {task.key: task.identity for task in batch}
        write_shard(shards, keys, shapes, features, [identity[key] for key in keys],
                    text=spec.text)
    return Outcome(len(keys), failures)


def _run_objects(spec, batch, shards, keys, shapes, images, labels, failures):
    """The rest of :func:`run_batch` per object: one row per (image, label)."""
    identity = {task.key: task.identity for task in batch}
    done, rows = 0, {"keys": [], "shapes": [], "identities": [], "regions": [], "features": []}
    kind, params, names = spec.regions
    with threadpool_limits(spec.n_threads), config_context(n_threads=spec.n_threads):
        for key, shape, image, objects in zip(keys, shapes, images, labels):
            _time_limit(spec.timeout)
            try:
                regions, features = object_rows(params, image, objects, names)
            except Exception as exc:
                failures.append((key, "extract", _reason(exc)))
                continue
            finally:
                _no_time_limit(spec.timeout)
            if not len(regions):
                failures.append((key, "labels", f"no object: its {kind} hold(s) only "
                                                f"background (0)"))
                continue
            done += 1
            for name, value in (("keys", key), ("shapes", shape), ("identities", identity[key])):
                rows[name] += [value] * len(regions)
            rows["regions"].append(regions)
            rows["features"].append(features)
    if done:
        write_shard(shards, rows["keys"], rows["shapes"], np.concatenate(rows["features"]),
                    rows["identities"], regions=np.concatenate(rows["regions"]))
    return Outcome(done, failures)


# --------------------------------------------------------------------------
# Local process pool
# --------------------------------------------------------------------------

_SPEC = None
_PR_SET_PDEATHSIG = 1


def _die_with_parent(lifeline):
    """End this worker when the parent closes ``lifeline`` or dies (see the module's notes)."""
    if sys.platform.startswith("linux"):
        import ctypes
        try:
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        except (OSError, AttributeError):   # no prctl: the thread below suffices
            pass

    def watch():
        try:
            lifeline.recv_bytes()
        except (EOFError, OSError):
            pass
        os._exit(0)

    threading.Thread(target=watch, name="featpool-lifeline", daemon=True).start()


def _init_worker(spec, lifeline):
    global _SPEC
    _SPEC = spec
    # Ctrl-C reaches the whole process group: the parent decides what to stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "setitimer"):
        signal.signal(signal.SIGALRM, signal.SIG_DFL)
        _ALARM.append(True)
    _die_with_parent(lifeline)


def _run_in_worker(batch, shards):
    return run_batch(_SPEC, batch, shards)


def _context():
    # Never fork: a child forked from a parent that ran OpenMP can deadlock
    # in libgomp, and a forked child shares the parent's thread pools.
    methods = multiprocessing.get_all_start_methods()
    if "forkserver" not in methods:
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["featpool._batch"])   # imported once, not per worker
    return context


def start_early():
    """Start the forkserver now, so that its imports overlap the parent's own start
    (finding the files, reading their headers, fitting the estimator)."""
    context = _context()
    if context.get_start_method() == "forkserver":
        from multiprocessing import forkserver
        forkserver.ensure_running()


def dead_worker(batch, seconds, timeout, worker="worker process"):
    """The failure of an image whose worker died after ``seconds`` alone with it: past the
    time limit (the worker's own watchdog), stage 'timeout'; otherwise 'worker'."""
    if timeout and seconds >= timeout:
        return Outcome(0, [(t.key, "timeout", f"not done within the time limit of {timeout:g} "
                            f"s (--timeout); its {worker} was stopped") for t in batch])
    return Outcome(0, [(t.key, "worker", f"the {worker} died while processing this image (a "
                        f"crash in native code, or killed, e.g. out of memory)") for t in batch])


class _Pool:
    """A process pool whose workers end when it is closed or when this process dies."""

    def __init__(self, spec, jobs):
        context = _context()
        lifeline, self._lifeline = context.Pipe(duplex=False)
        self.executor = ProcessPoolExecutor(jobs, mp_context=context,
                                            initializer=_init_worker,
                                            initargs=(spec, lifeline))
        self._reader = lifeline     # kept open until the workers have started

    def __enter__(self):
        return self.executor

    def __exit__(self, kind, exc, tb):
        if kind is not None:   # interrupted (Ctrl-C, SIGTERM) or failed: stop the workers now
            self._lifeline.close()
        self.executor.shutdown(wait=True, cancel_futures=True)
        self._lifeline.close()
        self._reader.close()


def _run_window(pool, todo, shards, width, on_outcome):
    """Run batches, ``width`` in flight; returns the in-flight batches if the pool broke,
    and how long the first of them ran."""
    running = {}
    while todo or running:
        while todo and len(running) < width:
            batch = todo.popleft()
            running[pool.submit(_run_in_worker, batch, shards)] = (batch, time.monotonic())
        finished, _ = wait(running, return_when=FIRST_COMPLETED)
        for future in finished:
            batch, start = running.pop(future)
            try:
                outcome = future.result()
            except BrokenProcessPool:
                return [batch] + [b for b, _ in running.values()], time.monotonic() - start
            if not on_outcome(batch, outcome):
                todo.clear()
    return [], 0.0


def run_local(spec, batches, shards, jobs, on_outcome):
    """Run ``batches`` in ``jobs`` worker processes.

    ``on_outcome(batch, outcome)`` is called in the parent for each batch as
    it finishes; it returns False to stop (pending batches are dropped). An
    interruption (KeyboardInterrupt) stops the workers at once and propagates.
    """
    todo = deque(batches)
    stopped = []

    def report(batch, outcome):
        keep = on_outcome(batch, outcome)
        if not keep:
            stopped.append(True)
        return keep

    while todo:
        with _Pool(spec, jobs) as pool:
            suspects, _ = _run_window(pool, todo, shards, jobs, report)
        if stopped:
            return
        singles = deque([task] for batch in suspects for task in batch)
        while singles:  # one at a time: the image that breaks the pool is the crasher
            with _Pool(spec, 1) as pool:
                lost, seconds = _run_window(pool, singles, shards, 1, report)
            if stopped:
                return
            if lost:
                if not report(lost[0], dead_worker(lost[0], seconds, spec.timeout)):
                    return


def n_threads_for(jobs, n_threads=None):
    """OpenMP threads per worker for ``jobs`` workers (never more than the cores allow)."""
    per_job = max(1, cpu_count() // jobs)
    if n_threads is None:
        return per_job
    return max(1, min(effective_n_threads(n_threads), per_job))
