"""Parameter checks shared by the bank builders.

Each check returns the value in the canonical, hashable form that the cached
builders take (plain ``int``/``float``/``tuple``/``np.dtype``), so that
``gabor_bank((28, 28))`` and ``gabor_bank([28, 28])`` hit the same cache entry.
"""
import numbers

import numpy as np


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_shape(shape, ndim, func):
    """Return ``shape`` as a tuple of ``ndim`` ints >= 1."""
    message = (
        f"The 'shape' parameter of {func} must be a tuple of {ndim} ints >= 1. "
        f"Got {shape!r} instead."
    )
    try:
        values = tuple(shape)
    except TypeError:
        raise TypeError(message) from None
    if len(values) != ndim or not all(_is_int(v) for v in values):
        raise TypeError(message)
    if any(v < 1 for v in values):
        raise ValueError(message)
    return tuple(int(v) for v in values)


def check_int(value, name, func):
    """Return ``value`` as an int >= 1."""
    message = f"The '{name}' parameter of {func} must be an int >= 1. Got {value!r} instead."
    if not _is_int(value):
        raise TypeError(message)
    if value < 1:
        raise ValueError(message)
    return int(value)


def check_float(value, name, func, low=0.0):
    """Return ``value`` as a finite float > ``low``."""
    message = (f"The '{name}' parameter of {func} must be a float > {low:g}. "
               f"Got {value!r} instead.")
    if not _is_real(value):
        raise TypeError(message)
    if not (np.isfinite(value) and value > low):
        raise ValueError(message)
    return float(value)


def check_floats(values, name, func):
    """Return a non-empty sequence of floats > 0 as a tuple."""
    message = (
        f"The '{name}' parameter of {func} must be a non-empty sequence of floats > 0. "
        f"Got {values!r} instead."
    )
    try:
        values = tuple(values)
    except TypeError:
        raise TypeError(message) from None
    if not all(_is_real(v) for v in values):
        raise TypeError(message)
    if not values or not all(np.isfinite(v) and v > 0 for v in values):
        raise ValueError(message)
    return tuple(float(v) for v in values)


def check_frequency_range(frequency_range, func):
    """Return ``(f_min, f_max)`` with ``0 < f_min <= f_max <= 0.5``, or None."""
    if frequency_range is None:
        return None
    message = (
        f"The 'frequency_range' parameter of {func} must be None or a pair "
        f"(f_min, f_max) with 0 < f_min <= f_max <= 0.5 (cycles per pixel). "
        f"Got {frequency_range!r} instead."
    )
    try:
        values = tuple(frequency_range)
    except TypeError:
        raise TypeError(message) from None
    if len(values) != 2 or not all(_is_real(v) for v in values):
        raise TypeError(message)
    f_min, f_max = values
    if not (0 < f_min <= f_max <= 0.5):
        raise ValueError(message)
    return float(f_min), float(f_max)


def check_dtype(dtype, func):
    """Return ``dtype`` as ``np.dtype('float32')`` or ``np.dtype('float64')``."""
    try:
        # np.dtype(None) is float64: a silent default that would hide a mistake.
        resolved = None if dtype is None else np.dtype(dtype)
    except TypeError:
        resolved = None
    if resolved is None or resolved not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(
            f"The 'dtype' parameter of {func} must be np.float32 or np.float64. "
            f"Got {dtype!r} instead."
        )
    return resolved
