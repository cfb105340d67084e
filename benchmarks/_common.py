"""Helpers the benchmarks share: timing, peak memory, the MNIST test set.

No peer (torch, Kymatio) is imported here: they load their own OpenMP
runtimes, which should not sit in processes that do not compare with them.
"""
import functools
import gzip
import hashlib
import os
import time
import tracemalloc
from pathlib import Path

import numpy as np

MNIST_SHA256 = {
    "t10k-images-idx3-ubyte.gz":
        "9fe7630f90c0e670227960a294637bc2e78a29d724810e24204eb342c9f033a1",
    "t10k-labels-idx1-ubyte.gz":
        "2c54c993d38068b3c3adb720a5cdee07065a066a7b36e7d1df720548d6359eba",
}


def median_time(func, repeats, warmup=True):
    """Median seconds of ``repeats`` calls, after one warm-up call (page faults,
    thread pools) unless the caller has just made one."""
    if warmup:
        func()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def traced(func):
    """(seconds, peak bytes NumPy allocated) of one call (tracemalloc)."""
    tracemalloc.start()
    start = time.perf_counter()
    func()
    seconds = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return seconds, peak


def peak_memory(func):
    """Peak bytes that NumPy allocates while ``func`` runs (tracemalloc)."""
    return traced(func)[1]


def find_mnist(path=None):
    """The folder holding the MNIST test set: ``path`` (``--mnist``), else $FEATPOOL_MNIST.

    None when neither is given (the MNIST sections are then skipped); a
    ValueError when the folder given lacks the files, so that a typo does
    not silently skip them.
    """
    folder = path or os.environ.get("FEATPOOL_MNIST")
    if not folder:
        return None
    missing = [name for name in MNIST_SHA256 if not (Path(folder) / name).exists()]
    if missing:
        origin = "--mnist" if path else "FEATPOOL_MNIST"
        raise ValueError(f"{origin} names {folder!r}, which lacks {missing}: it must hold "
                         f"the MNIST test set as distributed (gzip-compressed IDX files).")
    return Path(folder)


@functools.lru_cache(maxsize=2)
def load_mnist(folder):
    """(images (10000, 28, 28) uint8, labels), checked against their sha256; read once."""
    arrays = []
    for name, offset in (("t10k-images-idx3-ubyte.gz", 16), ("t10k-labels-idx1-ubyte.gz", 8)):
        raw = (Path(folder) / name).read_bytes()
        if hashlib.sha256(raw).hexdigest() != MNIST_SHA256[name]:
            raise ValueError(f"{Path(folder) / name} does not have the expected sha256.")
        arrays.append(np.frombuffer(gzip.decompress(raw), np.uint8, offset=offset))
    return arrays[0].reshape(-1, 28, 28), arrays[1]
