"""The one table of featpool's vocabulary: pooling ops and nonlinearities.

Every module takes the names, the kernel codes and what an op means from
here. The Cython kernel (``_pooling.pyx``) has its own enums, which
``tests/test_vocabulary.py`` checks against these codes, and its own loops for
what a nonlinearity and an op compute, which the same test checks against
:func:`apply_nonlinearity` and :func:`finish_moments`.
"""
import numpy as np

__all__ = ["OPS", "AVERAGING", "MAX_COARSE_P", "NAN_POLICIES", "KERNEL_NONLINEARITIES",
           "NONLINEARITIES", "apply_nonlinearity", "check_option", "finish_moments",
           "moment_maps"]

#: Pooling ops and their codes in the kernel (``OP_*`` in _pooling.pyx).
OPS = {"max": 0, "min": 1, "sum": 2, "mean": 3, "lp": 4, "var": 5, "std": 6}
#: The ops whose value is an average over the cell, with the coarse samples per
#: band bin that multi-resolution filtering needs for them (measured,
#: docs/responses.md); max and min would see only the sampled extreme.
AVERAGING = {"mean": 4.0, "sum": 4.0, "lp": 4.0, "var": 6.0, "std": 6.0}
#: Power means of higher order than this are pooled at full resolution.
MAX_COARSE_P = 6.0
NAN_POLICIES = ("propagate", "omit")
#: What the pooling kernel applies to each cell it reads, and its code
#: (``T_*`` in _pooling.pyx); None reads real input as it is.
KERNEL_NONLINEARITIES = {None: 0, "modulus": 1, "real": 2, "abs": 3, "square": 4,
                         "relu_pos": 5, "relu_neg": 6}
#: The nonlinearities of the filter-bank engine, and the kernel nonlinearities
#: of the maps each one gives ('relu_split': two maps per filter).
NONLINEARITIES = {"modulus": ("modulus",), "real": ("real",), "abs": ("abs",),
                  "relu_split": ("relu_pos", "relu_neg"), "square": ("square",)}


def apply_nonlinearity(y, kind):
    """A real map from complex responses ``y``: the kernel's ``_load``, in NumPy.

    ``kind`` is a key of :data:`KERNEL_NONLINEARITIES` other than None.
    """
    if kind == "modulus":
        return np.abs(y)
    if kind == "real":
        return np.ascontiguousarray(y.real)
    if kind == "abs":
        return np.abs(y.real)
    if kind == "square":
        return y.real ** 2 + y.imag ** 2
    if kind == "relu_pos":
        return np.maximum(y.real, 0)
    return np.maximum(-y.real, 0)


def moment_maps(maps, op, p):
    """The maps whose window sums :func:`finish_moments` turns into an op's value."""
    if op == "lp":   # float64: |x|^p of float32 maps underflows from p of about 10
        return (np.abs(maps.astype(np.float64)) ** p,)
    if op in ("var", "std"):
        maps = maps.astype(np.float64)
        return maps, maps * maps
    return (maps,)


def finish_moments(op, sums, counts, p):
    """An averaging op's value from window sums of :func:`moment_maps`: the kernel's ``_finish``.

    ``sums`` holds one array per moment map, ``counts`` the cells per window.
    """
    if op == "sum":
        return sums[0]
    if op == "lp":
        return np.maximum(sums[0] / counts, 0) ** (1.0 / p)
    mean = sums[0] / counts
    if op == "mean":
        return mean
    var = np.maximum(sums[1] / counts - mean * mean, 0)
    return var if op == "var" else np.sqrt(var)


def check_option(value, name, options, allow_none=False):
    """``value`` if it is one of ``options`` (strings); else a named error.

    TypeError for something that is not a string (a list, say), ValueError
    for an unknown string: every public function checks its options so.
    """
    if value is None and allow_none:
        return value
    expected = f"one of {sorted(o for o in options if o is not None)}" + (
        " or None" if allow_none else "")
    if not isinstance(value, str):
        raise TypeError(f"The '{name}' parameter must be {expected}. Got {value!r} instead.")
    if value not in options:
        raise ValueError(f"The '{name}' parameter must be {expected}. Got {value!r} instead.")
    return value
