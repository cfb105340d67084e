"""The one cache mechanism of featpool, and :func:`clear_cache`.

Two shapes, both registered here so that :func:`clear_cache` empties every
cache: :func:`cached` (an ``lru_cache`` of a module-level function: bank
builders, the engine's plans and spectra, pooling windows) and
:class:`Memo` (a dict held by an object, e.g. a bank's copies of itself on
other grids).
"""
import functools
import weakref

__all__ = ["Memo", "cached", "clear_cache"]

_FUNCTIONS = []
_MEMOS = weakref.WeakSet()


def cached(maxsize):
    """Decorator: ``functools.lru_cache(maxsize)`` that :func:`clear_cache` empties."""
    def decorate(func):
        wrapped = functools.lru_cache(maxsize=maxsize)(func)
        _FUNCTIONS.append(wrapped)
        return wrapped
    return decorate


class Memo(dict):
    """A dict cache owned by an object, emptied by :func:`clear_cache`."""

    def __init__(self):
        super().__init__()
        _MEMOS.add(self)

    __hash__ = object.__hash__  # a WeakSet member; dicts are otherwise unhashable


def clear_cache():
    """Forget every cached filter bank, plan and window, releasing its memory.

    Builders such as :func:`~featpool.gabor_bank` return the same (read-only)
    bank when called twice with the same arguments; banks keep themselves on
    the grids they were used on (:meth:`~featpool.FilterBank.for_shape`); the
    response engine keeps its plans, filter spectra and quadrature weights;
    the pooling functions their windows. All are forgotten.

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
    for func in _FUNCTIONS:
        func.cache_clear()
    for memo in list(_MEMOS):
        memo.clear()
