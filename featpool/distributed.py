"""The batch command on a Dask cluster: ``featpool extract ... --scheduler ADDRESS``.

Each batch runs :func:`featpool._batch.run_batch` on a Dask worker, which
writes its rows to a shard in the run's shard folder (so the folder must be
on a file system that the workers and the client share); only counts and
failures go back through the scheduler. The client publishes the table from
the shards, exactly as a local run does, so the output is the same.

A worker that dies while running a batch (Dask then raises ``KilledWorker``
for it, at once on the local cluster, which this module starts with
``allowed-failures = 0``) costs no other image: its batch is run again one
image at a time, one after the other, and the image whose worker dies again
is recorded as failed: stage 'timeout' where it ran past the time limit
(whose watchdog ends the worker process, as in a local run), 'worker'
otherwise. If the cluster has no worker for :data:`WORKER_WAIT` seconds, the
run stops with an error instead of waiting for ever.

Dask is an optional extra: ``pip install 'featpool[dask]'``.
"""
import time
from collections import deque

from ._batch import Outcome, dead_worker, run_batch

__all__ = ["WORKER_WAIT", "run_dask"]

#: Seconds the run waits while the cluster has no worker before it gives up.
WORKER_WAIT = 60.0
_POLL = 1.0


def _import_dask():
    try:
        import dask
        import distributed
    except ImportError:
        raise ImportError("--scheduler needs Dask distributed: pip install 'featpool[dask]'.")
    return dask, distributed


def _connect(address, jobs):
    dask, distributed = _import_dask()
    if address != "local":
        return distributed.Client(address, timeout="30s"), None
    # A task whose worker dies fails at once (KilledWorker): its images are
    # then isolated here, deterministically, rather than by Dask's retries.
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        cluster = distributed.LocalCluster(n_workers=jobs, threads_per_worker=1,
                                           processes=True, host="127.0.0.1",
                                           dashboard_address=None)
    return distributed.Client(cluster), cluster


def _wait_some(client, futures, distributed):
    """Wait for at least one future; an error if the cluster stays without workers."""
    alone_since = None
    while True:
        try:
            done, _ = distributed.wait(list(futures), timeout=_POLL,
                                       return_when="FIRST_COMPLETED")
            if done:
                return done
        except TimeoutError:  # distributed's wait raises it rather than return nothing
            pass
        if client.scheduler_info().get("workers"):
            alone_since = None
        elif alone_since is None:
            alone_since = time.monotonic()
        elif time.monotonic() - alone_since > WORKER_WAIT:
            raise RuntimeError(f"The Dask cluster at {client.scheduler.address} has had no "
                               f"worker for {WORKER_WAIT:.0f} s; the finished images are kept "
                               f"in the shards (rerun with --resume).")


def _run(client, spec, batches, shards, width, on_outcome, distributed):
    """Run batches, ``width`` at a time; returns the batches whose worker died."""
    todo, running, suspects = deque(batches), {}, []
    try:
        while todo or running:
            while todo and len(running) < width:
                batch = todo.popleft()
                running[client.submit(run_batch, spec, batch, str(shards), pure=False)] = batch
            for future in _wait_some(client, running, distributed):
                batch = running.pop(future)
                try:
                    outcome = future.result()
                except distributed.KilledWorker:
                    suspects.append(batch)
                    continue
                except Exception as exc:  # lost with a dead worker's memory, cancelled
                    if len(batch) > 1 or width > 1:
                        suspects.append(batch)
                        continue
                    outcome = Outcome(0, [(t.key, "worker", f"{type(exc).__name__}: {exc}")
                                          for t in batch])
                if not on_outcome(batch, outcome):
                    return None
    finally:
        for future in running:
            future.cancel()
    return suspects


def run_dask(address, spec, batches, shards, jobs, on_outcome):
    """Run ``batches`` on the Dask cluster at ``address`` ('local': start one).

    Parameters
    ----------
    address : str
        A scheduler address (``tcp://host:8786``) or 'local' for a
        ``LocalCluster`` of ``jobs`` single-threaded worker processes on
        127.0.0.1.
    spec : featpool._batch.Spec
    batches : list of list of Task
    shards : path
        The shard folder, shared by the client and every worker.
    jobs : int
    on_outcome : callable
        ``on_outcome(batch, outcome)``, called as batches finish; False stops.
    """
    dask, distributed = _import_dask()
    client, cluster = _connect(address, jobs)
    try:
        # Not scattered: data scattered to a worker that dies is lost for good,
        # and the tasks that need it are cancelled. A Recipe is a few bytes.
        width = max(2 * len(client.scheduler_info().get("workers", {})), 2 * jobs, 1)
        suspects = _run(client, spec, batches, shards, width, on_outcome, distributed)
        # One image at a time: the worker that dies is the image's fault.
        for task in [t for batch in suspects or [] for t in batch]:
            start = time.monotonic()
            lost = _run(client, spec, [[task]], shards, 1, on_outcome, distributed)
            dead = dead_worker([task], time.monotonic() - start, spec.timeout, "Dask worker")
            if lost is None or (lost and not on_outcome([task], dead)):
                return
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
