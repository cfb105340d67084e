"""The one cache of featpool, bounded in bytes, and :func:`clear_cache`.

Every memoized function (bank builders, a bank on other grids, its spectra,
the engine's plans and cropped spectra, quadrature weights, pooling windows)
keeps its results in one least-recently-used store. The store counts the
bytes of what it holds (the arrays inside each result) and drops the oldest
results once they exceed half the configured working memory
(:func:`featpool.set_config`, 128 MiB by default), whatever the number of
image sizes seen: a process that transforms images of 2,000 sizes holds no
more than one that saw 20. A single result larger than that budget (a bank's
spectra on a large grid, which the engine bounds by twice the working memory)
is kept alone, so that the chunks of one call still share it.
"""
import functools
import threading
from collections import OrderedDict

import numpy as np

from ._config import working_memory_bytes

__all__ = ["CACHE_FRACTION", "cached", "clear_cache", "cache_nbytes"]

#: Fraction of the working memory the store may hold.
CACHE_FRACTION = 0.5
# Every entry costs at least this (its key, the dict slot, a small object).
_ENTRY_OVERHEAD = 256
_MISSING = object()


def _nbytes(value, depth=2):
    """Bytes held by the arrays of ``value``, looked for ``depth`` containers or fields deep.

    Results are arrays, tuples of them, small objects holding them (plans,
    quadratures, banks); numbers and strings hold nothing that counts.
    """
    if isinstance(value, np.ndarray):
        return value.nbytes
    if isinstance(value, (tuple, list)):
        items = value
    elif isinstance(value, dict):
        items = value.values()
    else:
        fields = getattr(value, "__dict__", None)
        if not isinstance(fields, dict) or isinstance(value, type):
            return 0
        items = fields.values()
    if depth == 0:
        return sum(v.nbytes for v in items if isinstance(v, np.ndarray))
    return sum(_nbytes(v, depth - 1) for v in items
               if isinstance(v, (np.ndarray, tuple, list, dict)) or hasattr(v, "__dict__"))


class _Store:
    """Results of every cached function, least recently used first."""

    def __init__(self):
        self.lock = threading.RLock()
        self.entries = OrderedDict()   # key -> (value, nbytes)
        self.nbytes = 0

    def get(self, key):
        with self.lock:
            entry = self.entries.get(key)
            if entry is None:
                return _MISSING
            self.entries.move_to_end(key)
            return entry[0]

    def put(self, key, value):
        size = _ENTRY_OVERHEAD + _nbytes(value)
        budget = working_memory_bytes(CACHE_FRACTION)
        with self.lock:
            entry = self.entries.get(key)
            if entry is not None:   # another thread made it meanwhile: share one
                return entry[0]
            self.entries[key] = (value, size)
            self.nbytes += size
            while self.nbytes > budget and len(self.entries) > 1:
                _, (_, dropped) = self.entries.popitem(last=False)
                self.nbytes -= dropped
        return value

    def clear(self, owner=None):
        with self.lock:
            if owner is None:
                self.entries.clear()
                self.nbytes = 0
                return
            for key in [k for k in self.entries if k[0] is owner]:
                self.nbytes -= self.entries.pop(key)[1]


_STORE = _Store()


def cached(func):
    """Decorator: memoize ``func`` (hashable arguments) in the one bounded store."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        key = (wrapper, args, tuple(sorted(kwargs.items()))) if kwargs else (wrapper, args)
        value = _STORE.get(key)
        if value is _MISSING:
            value = _STORE.put(key, func(*args, **kwargs))
        return value

    wrapper.cache_clear = functools.partial(_STORE.clear, wrapper)
    return wrapper


def cache_nbytes():
    """Bytes the store holds now (the arrays of every cached result, and a bit per entry)."""
    return _STORE.nbytes


def clear_cache():
    """Forget every cached filter bank, plan and window, releasing its memory.

    Builders such as :func:`~featpool.gabor_bank` return the same (read-only)
    bank when called twice with the same arguments; a bank is kept on the
    grids it was used on (:meth:`~featpool.FilterBank.for_shape`) with its
    spectra there; the response engine keeps its plans, filter spectra and
    quadrature weights; the pooling functions their windows. All of it lives
    in one store bounded by half the working memory (see
    :func:`featpool.set_config`); this empties it.

    Examples
    --------
    >>> from featpool import clear_cache, gabor_bank
    >>> bank = gabor_bank((32, 32))
    >>> gabor_bank((32, 32)) is bank
    True
    >>> clear_cache()
    >>> gabor_bank((32, 32)) is bank
    False
    """
    _STORE.clear()
