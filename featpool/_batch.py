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
"""
import json
import math
import multiprocessing
import os
import signal
from collections import deque
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import NamedTuple

import numpy as np
from threadpoolctl import threadpool_limits

from ._config import config_context, cpu_count, effective_n_threads, working_memory_bytes
from ._tables import write_shard
from .io import UnreadableImageError, read_image
from .pipeline import config_to_params
from .transformers import FilterBankPooling

#: Testing only: when this environment variable names a file (its base name)
#: in the parent, the worker that comes to that file exits at once, as a crash
#: in native code would (the tests of worker failures set it). It travels in
#: the Spec, so it reaches long-lived forkserver and Dask workers.
CRASH_ENV = "FEATPOOL_TESTING_CRASH_ON"
#: Most images in one batch.
MAX_BATCH = 32


class Task(NamedTuple):
    """One image to do: its key (absolute path), file path, spatial and stored shapes."""

    key: str
    path: str
    spatial: tuple
    shape: str


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
        size = min(MAX_BATCH, max(1, budget // math.prod(spatial)),
                   max(1, math.ceil(len(group) / (2 * jobs))))
        batches += [group[i:i + size] for i in range(0, len(group), size)]
    return batches


def _crash_if_asked(path, name):
    if name and Path(path).name == name:
        os._exit(70)


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
    failures, keys, images, shapes = [], [], [], []
    for task in batch:
        _crash_if_asked(task.path, spec.crash_on)
        try:
            image = read_image(task.path, color=spec.color, ndim=spec.ndim,
                               max_pixels=spec.max_pixels)
        except UnreadableImageError as exc:
            failures.append((task.key, exc.stage, exc.reason))
            continue
        except Exception as exc:  # the reader's own bugs cost this image, not the run
            failures.append((task.key, "read", _reason(exc)))
            continue
        keys.append(task.key)
        shapes.append(task.shape)
        images.append(image)
    if not images:
        return Outcome(0, failures)
    spec = spec._replace(estimator=fitted(spec.estimator))
    with threadpool_limits(spec.n_threads), config_context(n_threads=spec.n_threads):
        try:
            features = _transform(spec.estimator, images)
        except Exception:  # find the image(s) at fault, one at a time
            rows, kept = [], []
            for key, image in zip(keys, images):
                try:
                    rows.append(_transform(spec.estimator, [image])[0])
                    kept.append(key)
                except Exception as exc:
                    failures.append((key, "extract", _reason(exc)))
            shapes = [s for k, s in zip(keys, shapes) if k in set(kept)]
            keys = kept
            features = np.stack(rows) if rows else None
    if keys:
        write_shard(shards, keys, shapes, features)
    return Outcome(len(keys), failures)


# --------------------------------------------------------------------------
# Local process pool
# --------------------------------------------------------------------------

_SPEC = None


def _init_worker(spec):
    global _SPEC
    _SPEC = spec
    # Ctrl-C reaches the whole process group: the parent decides what to stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


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


def _dead_worker(batch):
    return Outcome(0, [(t.key, "worker", "the worker process died while processing this "
                        "image (a crash in native code, or killed, e.g. out of memory)")
                       for t in batch])


def _pool(spec, jobs):
    return ProcessPoolExecutor(jobs, mp_context=_context(), initializer=_init_worker,
                               initargs=(spec,))


def _run_window(pool, todo, shards, width, on_outcome):
    """Run batches, ``width`` in flight; returns the in-flight batches if the pool broke."""
    running = {}
    while todo or running:
        while todo and len(running) < width:
            batch = todo.popleft()
            running[pool.submit(_run_in_worker, batch, shards)] = batch
        finished, _ = wait(running, return_when=FIRST_COMPLETED)
        for future in finished:
            batch = running.pop(future)
            try:
                outcome = future.result()
            except BrokenProcessPool:
                return [batch] + list(running.values())
            if not on_outcome(batch, outcome):
                todo.clear()
    return []


def run_local(spec, batches, shards, jobs, on_outcome):
    """Run ``batches`` in ``jobs`` worker processes.

    ``on_outcome(batch, outcome)`` is called in the parent for each batch as
    it finishes; it returns False to stop (pending batches are dropped).
    """
    todo = deque(batches)
    stopped = []

    def report(batch, outcome):
        keep = on_outcome(batch, outcome)
        if not keep:
            stopped.append(True)
        return keep

    while todo:
        pool = _pool(spec, jobs)
        try:
            suspects = _run_window(pool, todo, shards, jobs, report)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
        if stopped:
            return
        singles = deque([task] for batch in suspects for task in batch)
        while singles:  # one at a time: the image that breaks the pool is the crasher
            pool = _pool(spec, 1)
            try:
                lost = _run_window(pool, singles, shards, 1, report)
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
            if stopped:
                return
            if lost:
                if not report(lost[0], _dead_worker(lost[0])):
                    return


def n_threads_for(jobs, n_threads=None):
    """OpenMP threads per worker for ``jobs`` workers (never more than the cores allow)."""
    per_job = max(1, cpu_count() // jobs)
    if n_threads is None:
        return per_job
    return max(1, min(effective_n_threads(n_threads), per_job))
