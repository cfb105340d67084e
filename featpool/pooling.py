"""2D and 3D pooling: sliding windows, adaptive grids, global and pyramid pooling.

Every function here pools the last 2 (``*2d``) or 3 (``*3d``) axes of an array
and carries every leading axis (batch, channel, filter, ...) through. Window
geometry follows PyTorch exactly (``torch.nn.functional.max_pool2d`` and
friends); see ``docs/pooling.md`` for the full contract.

This module validates, casts and allocates; the loops are in ``_pooling.pyx``.
"""
import math
import numbers

import numpy as np

from ._config import available_memory_bytes, effective_n_threads, working_memory_bytes
from ._vocabulary import KERNEL_NONLINEARITIES, NAN_POLICIES, OPS, check_option
from ._windows import (AxisWindows, per_axis, pool_cells, pyramid, run,
                       window_geometry)

__all__ = [
    "Pooling",
    "pool2d",
    "pool3d",
    "adaptive_pool2d",
    "adaptive_pool3d",
    "global_pool",
    "pyramid_pool",
    "pool_output_shape",
]

# --------------------------------------------------------------------------
# Validation helpers
# --------------------------------------------------------------------------

def _as_float_array(x, nonlinearity=None, name="x"):
    """Return ``x`` as a C-contiguous float32/float64 (or complex64/128) array.

    No copy when it already is one. Complex input is accepted only with a
    nonlinearity that makes it real.
    """
    try:
        x = np.asarray(x)
    except (TypeError, ValueError) as error:  # ragged nested lists, say
        raise TypeError(f"The '{name}' parameter must be a numeric array; np.asarray said: "
                        f"{error}") from None
    if x.ndim == 0:
        raise ValueError(f"The '{name}' parameter must be an array of at least 2 dimensions. "
                         f"Got a scalar (shape ()) instead.")
    if x.dtype.kind == "c":
        if nonlinearity is None:
            raise TypeError(
                f"The '{name}' parameter is a complex array (dtype {x.dtype}); pass a "
                f"nonlinearity (e.g. nonlinearity='modulus') or take np.abs() first."
            )
        return np.ascontiguousarray(x, dtype=np.complex64 if x.dtype.itemsize == 8
                                    else np.complex128)
    if x.dtype.kind not in "biuf":
        raise TypeError(
            f"The '{name}' parameter must be a numeric array; got dtype {x.dtype}."
        )
    # float32 stays float32 (whatever its byte order); everything else is float64.
    dtype = np.float32 if x.dtype.kind == "f" and x.dtype.itemsize == 4 else np.float64
    _check_copy(x, np.dtype(dtype), name)
    return np.ascontiguousarray(x, dtype=dtype)


def _check_copy(x, dtype, name):
    """Refuse, before copying, a copy of ``x`` that memory cannot hold.

    A copy of an array the caller holds is allowed up to the memory available;
    a view that would grow when copied (a broadcast view, zero strides) is
    allowed up to the ``working_memory`` budget only: a (1, 50000, 50000)
    broadcast of one value must not take 9 GiB before anything fails.
    """
    if x.flags.c_contiguous and x.dtype == dtype:
        return  # no copy
    needed = x.size * dtype.itemsize
    if needed <= working_memory_bytes():
        return
    held = x.itemsize + sum((n - 1) * abs(st) for n, st in zip(x.shape, x.strides))
    available = available_memory_bytes()
    if 2 * held < x.size * x.itemsize:
        limit, what = working_memory_bytes(), (
            f"it is a view of {held / 2**20:.3g} MiB (broadcast or zero strides) and the "
            f"copy may take the working_memory budget only")
    elif available is not None and needed > available:
        limit, what = available, "more than the memory available"
    else:
        return
    raise ValueError(
        f"The '{name}' parameter (shape {x.shape}, dtype {x.dtype}) would need a "
        f"{needed / 2**30:.3g} GiB {dtype} copy, and {what} ({limit / 2**30:.3g} GiB). "
        f"Pass a smaller array, or raise working_memory (MiB) with featpool.set_config or "
        f"featpool.config_context."
    )


def _check_nonlinearity(nonlinearity):
    return check_option(nonlinearity, "nonlinearity", KERNEL_NONLINEARITIES, allow_none=True)


def _per_axis_bool(value, nd, name):
    if isinstance(value, (bool, np.bool_)):
        return (bool(value),) * nd
    try:
        values = tuple(value)
    except TypeError:
        values = ()
    if len(values) != nd or not all(isinstance(v, (bool, np.bool_)) for v in values):
        raise TypeError(
            f"The '{name}' parameter must be a bool or a tuple of {nd} bools. "
            f"Got {value!r} instead."
        )
    return tuple(bool(v) for v in values)


def _check_spatial(x, nd, func):
    if x.ndim < nd:
        raise ValueError(
            f"{func} pools the last {nd} axes, so 'x' must have at least {nd} dimensions. "
            f"Got an array of shape {x.shape} ({x.ndim} dimensions) instead."
        )


def _check_op(op, p):
    check_option(op, "op", OPS)
    if op == "lp":
        if isinstance(p, bool) or not isinstance(p, numbers.Real) or not (
            np.isfinite(p) and p > 0
        ):
            raise ValueError(
                f"The 'p' parameter must be a finite number > 0 for op='lp'. Got {p!r} instead."
            )
    return float(p) if op == "lp" else 1.0


def _check_nan_policy(nan_policy):
    return check_option(nan_policy, "nan_policy", NAN_POLICIES) == "omit"


def _check_mask(mask, x, nd):
    """Return the mask as uint8 of shape (1 or N, *spatial), or None."""
    if mask is None:
        return None
    mask = np.asarray(mask)
    if mask.dtype.kind not in "biu":
        raise TypeError(
            f"The 'mask' parameter must be a boolean array. Got dtype {mask.dtype} instead."
        )
    spatial = x.shape[x.ndim - nd:]
    if mask.shape == spatial:
        mask = mask.reshape((1,) + spatial)
    elif mask.shape == x.shape:
        mask = mask.reshape((-1,) + spatial)
    else:
        raise ValueError(
            f"The 'mask' parameter must have the shape of the pooled axes {spatial} or of "
            f"'x' {x.shape}. Got shape {mask.shape} instead."
        )
    return np.ascontiguousarray(mask != 0, dtype=np.uint8)


def _check_indices(return_indices, op):
    if return_indices and op not in ("max", "min"):
        raise ValueError(
            f"return_indices=True needs op='max' or op='min'. Got op={op!r} instead."
        )


# --------------------------------------------------------------------------
# Window geometry
# --------------------------------------------------------------------------

def pool_output_shape(shape, size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """Shape of the result of :func:`pool2d` / :func:`pool3d` for an input shape.

    The number of pooled axes is ``len(size)`` (2 or 3) when ``size`` is a
    tuple, else 2.

    Examples
    --------
    >>> from featpool import pool_output_shape
    >>> pool_output_shape((8, 28, 28), 3, stride=2)
    (8, 13, 13)
    >>> pool_output_shape((8, 28, 28), 3, stride=2, ceil_mode=True)
    (8, 14, 14)
    """
    if isinstance(size, numbers.Integral) and not isinstance(size, bool):
        nd = 2
    elif isinstance(size, (list, tuple)) and len(size) in (2, 3):
        nd = len(size)
    else:
        raise TypeError(
            f"The 'size' parameter must be an int or a tuple of 2 or 3 ints. "
            f"Got {size!r} instead."
        )
    geom = window_geometry(tuple(shape)[-nd:], nd, size, stride, padding, dilation, ceil_mode)
    return tuple(shape)[:-nd] + tuple(g[-1] for g in geom)


def _check_common(x, nd, func, op, p, nan_policy, mask, return_indices, nonlinearity):
    """The checks every pooling function shares; returns the validated values."""
    nonlinearity = _check_nonlinearity(nonlinearity)
    if isinstance(x, np.ma.MaskedArray):
        # Masked cells are left out, as cells outside ``mask``.
        data = np.ma.getdata(x)
        valid = ~np.ma.getmaskarray(x)
        _check_spatial(data, nd, func)
        if mask is not None:
            spatial = data.shape[data.ndim - nd:]
            checked = _check_mask(mask, data, nd).astype(bool)
            valid = (valid.reshape((-1,) + spatial) & checked).reshape(data.shape)
        x, mask = data, valid
    x = _as_float_array(x, nonlinearity)
    _check_spatial(x, nd, func)
    p = _check_op(op, p)
    omit = _check_nan_policy(nan_policy)
    _check_indices(return_indices, op)
    mask = _check_mask(mask, x, nd)
    return x, p, omit, mask, nonlinearity


def _pool(x, nd, func, size, stride, padding, dilation, ceil_mode, op, p,
          count_include_pad, nan_policy, mask, return_indices, wrap, nonlinearity, n_threads):
    x, p, omit, mask, nonlinearity = _check_common(x, nd, func, op, p, nan_policy, mask,
                                                   return_indices, nonlinearity)
    wrap = _per_axis_bool(wrap, nd, "wrap")
    if any(wrap):
        if return_indices:
            raise ValueError("return_indices=True cannot be combined with wrap.")
        # Circular padding makes the padded cells real: pad here, pool unpadded.
        pads = per_axis(padding, nd, "padding", 0)
        width = [(0, 0)] * (x.ndim - nd) + [(q, q) if w else (0, 0) for q, w in zip(pads, wrap)]
        x = np.pad(x, width, mode="wrap")
        if mask is not None:
            mask = np.pad(mask, [(0, 0)] + width[x.ndim - nd:], mode="wrap")
        padding = tuple(0 if w else q for q, w in zip(pads, wrap))
    spatial = x.shape[x.ndim - nd:]
    geom = window_geometry(spatial, nd, size, stride, padding, dilation, ceil_mode)
    axes = [AxisWindows.sliding(n, *g) for n, g in zip(spatial, geom)]
    for ax, a in enumerate(axes):
        if np.any(a.taps[2] <= a.taps[1]):
            raise ValueError(
                f"With padding {padding} and dilation {dilation}, some windows on pooled "
                f"axis {ax} (length {spatial[ax]}) hold no input cell, only padding. "
                f"Reduce the padding or the dilation."
            )
    return run(x, nd, axes, op, p, omit, mask, count_include_pad, return_indices,
               nonlinearity, effective_n_threads(n_threads))


_POOL_DOC = """Pool the last {nd} axes of ``x`` with a sliding window.

    Window geometry (output length, padding, dilation, ceil mode) follows
    PyTorch's ``torch.nn.functional.{torch}`` exactly; every leading axis of
    ``x`` is carried through.

    Parameters
    ----------
    x : array_like, shape (..., {axes})
        Input. float32 and float64 are computed natively and preserved; other
        real dtypes are cast to float64. Any strides, read-only arrays and
        memmaps are accepted.
    size : int or tuple of {nd} ints
        Window size per pooled axis.
    stride : int or tuple of {nd} ints, optional
        Step between windows; defaults to ``size`` (non-overlapping windows).
    padding : int or tuple of {nd} ints, default 0
        Implicit padding on both sides, at most half the window. Padded cells
        never contribute to ``max``, ``min``, ``lp``, ``var`` and ``std``, and
        count in the divisor of ``mean`` only with ``count_include_pad=True``.
    dilation : int or tuple of {nd} ints, default 1
        Spacing between the taps of a window.
    ceil_mode : bool, default False
        Round the output length up instead of down; as in PyTorch a window that
        would start in the right padding is dropped.
    op : {{'max', 'min', 'mean', 'sum', 'lp', 'var', 'std'}}, default 'max'
        Reduction over each window. ``'lp'`` is the power mean
        ``(mean |x|**p) ** (1/p)``; ``'var'`` and ``'std'`` are population
        statistics (``ddof=0``).
    p : float, default 2.0
        Exponent of ``op='lp'`` (finite, > 0).
    count_include_pad : bool, default False
        For ``op='mean'``: divide by the window size including padded cells
        (PyTorch's ``avg_pool`` default is True; featpool's is False, so
        borders are not darkened).
    nan_policy : {{'propagate', 'omit'}}, default 'propagate'
        ``'propagate'``: a NaN in a window makes its result NaN (as PyTorch).
        ``'omit'``: NaNs are ignored; a window with no valid cell gives NaN.
    mask : array_like of bool, shape ({axes}) or x.shape, optional
        Only cells where ``mask`` is True count (region pooling); a window
        with no such cell gives NaN. The mask of a ``np.ma.MaskedArray``
        ``x`` is honoured the same way (and combined with ``mask``).
    return_indices : bool, default False
        Also return, for ``op='max'``/``'min'``, the flat index of the chosen
        cell within its ({axes}) block (PyTorch's convention; ``-1`` for an
        empty window).
    nonlinearity : {{None, 'modulus', 'real', 'abs', 'square', 'relu_pos', 'relu_neg'}}
        Applied to each cell as it is read, so the transformed array is never
        stored: ``|z|``, ``Re z``, ``|Re z|``, ``|z|**2``, ``max(Re z, 0)``,
        ``max(-Re z, 0)``. Complex ``x`` (filter responses) needs one; for
        real ``x``, ``'modulus'`` is ``|x|``. None: the values as they are.
    wrap : bool or tuple of {nd} bools, default False
        Circular boundary per axis: the padding of a wrapped axis is taken
        from its other end and counts as real cells (orientation axes).
    n_threads : int, optional
        Threads to use. None: every core that OpenMP and threadpoolctl allow;
        negative values count back from that (-1 = all). The result is
        bit-identical for every thread count.

    Returns
    -------
    out : ndarray, shape (..., {out_axes})
        Pooled array, same dtype as ``x`` (float64 for non-float input).
    indices : ndarray of int64, same shape as ``out``
        Only if ``return_indices``.

    Raises
    ------
    ValueError
        For a bad window (zero or negative size, padding over half the window,
        window larger than the padded input), an unknown op or nan_policy,
        ``p <= 0``, a mask of the wrong shape, too few dimensions or
        ``n_threads=0``.
    TypeError
        For object or string input, complex input without a nonlinearity and
        parameters of the wrong type.

    See Also
    --------
    {other}, adaptive_pool{nd}d, global_pool, pyramid_pool

    Examples
    --------
    {example}
    """


def pool2d(x, size, stride=None, padding=0, dilation=1, ceil_mode=False, op="max",
           p=2.0, count_include_pad=False, nan_policy="propagate", mask=None,
           return_indices=False, wrap=False, nonlinearity=None, n_threads=None):
    return _pool(x, 2, "pool2d", size, stride, padding, dilation, ceil_mode, op, p,
                 count_include_pad, nan_policy, mask, return_indices, wrap, nonlinearity,
                 n_threads)


def pool3d(x, size, stride=None, padding=0, dilation=1, ceil_mode=False, op="max",
           p=2.0, count_include_pad=False, nan_policy="propagate", mask=None,
           return_indices=False, wrap=False, nonlinearity=None, n_threads=None):
    return _pool(x, 3, "pool3d", size, stride, padding, dilation, ceil_mode, op, p,
                 count_include_pad, nan_policy, mask, return_indices, wrap, nonlinearity,
                 n_threads)


pool2d.__doc__ = _POOL_DOC.format(
    nd=2, torch="max_pool2d / avg_pool2d", axes="H, W", out_axes="H_out, W_out",
    other="pool3d",
    example=""">>> import numpy as np
    >>> from featpool import pool2d
    >>> x = np.arange(16, dtype=np.float32).reshape(1, 4, 4)
    >>> pool2d(x, 2)
    array([[[ 5.,  7.],
            [13., 15.]]], dtype=float32)
    >>> pool2d(x, 3, stride=1, padding=1, op="mean")[0, 0]
    array([2.5, 3. , 4. , 4.5], dtype=float32)""",
)
pool3d.__doc__ = _POOL_DOC.format(
    nd=3, torch="max_pool3d / avg_pool3d", axes="D, H, W", out_axes="D_out, H_out, W_out",
    other="pool2d",
    example=""">>> import numpy as np
    >>> from featpool import pool3d
    >>> x = np.arange(64.0).reshape(4, 4, 4)
    >>> pool3d(x, 2, op="mean").shape
    (2, 2, 2)

    Max over 3 neighbouring orientations (a circular axis) and 2x2 cells of
    a (filters, orientations, H, W) stack:

    >>> responses = np.random.default_rng(0).random((5, 8, 32, 32))
    >>> pool3d(responses, (3, 2, 2), stride=(1, 2, 2), padding=(1, 0, 0),
    ...        wrap=(True, False, False)).shape
    (5, 8, 16, 16)""",
)


def _adaptive(x, nd, func, output_size, op, p, nan_policy, mask, return_indices,
              nonlinearity, n_threads):
    x, p, omit, mask, nonlinearity = _check_common(x, nd, func, op, p, nan_policy, mask,
                                                   return_indices, nonlinearity)
    spatial = x.shape[x.ndim - nd:]
    if min(spatial) < 1:
        raise ValueError(
            f"{func} needs non-empty pooled axes. Got pooled axes of shape {spatial}."
        )
    given = output_size
    if (isinstance(output_size, numbers.Integral) and not isinstance(output_size, bool)
            or output_size is None):
        output_size = (output_size,) * nd
    try:
        output_size = tuple(output_size)
    except TypeError:
        output_size = ()
    if len(output_size) != nd or not all(
        g is None or (isinstance(g, numbers.Integral) and not isinstance(g, bool))
        for g in output_size
    ):
        raise TypeError(
            f"The 'output_size' parameter must be an int, None, or a tuple of {nd} "
            f"of them. Got {given!r} instead."
        )
    if any(g is not None and g < 1 for g in output_size):
        raise ValueError(
            f"The 'output_size' parameter must hold sizes >= 1. Got {given!r} instead."
        )
    grid = tuple(n if g is None else int(g) for n, g in zip(spatial, output_size))
    n_out = int(np.prod(x.shape[: x.ndim - nd], dtype=np.int64)) * math.prod(grid)
    available = available_memory_bytes()
    if available is not None and n_out * x.itemsize > available:
        raise ValueError(
            f"The 'output_size' parameter of {func} asks for {grid} cells per map: "
            f"{n_out * x.itemsize / 2**30:.3g} GiB of output, more than the "
            f"{available / 2**30:.3g} GiB of memory available. Got {given!r}.")
    axes = [AxisWindows.adaptive(n, g) for n, g in zip(spatial, grid)]
    return run(x, nd, axes, op, p, omit, mask, False, return_indices, nonlinearity,
               effective_n_threads(n_threads))


_ADAPTIVE_DOC = """Pool the last {nd} axes of ``x`` onto a fixed grid of cells.

    Cell ``i`` of an axis of length ``L`` pooled to ``g`` cells covers
    ``floor(i*L/g) <= j < ceil((i+1)*L/g)``, PyTorch's
    ``adaptive_{{max,avg}}_pool{nd}d`` bins: cells tile the input and overlap
    by at most one element when ``g`` does not divide ``L``. A grid larger
    than the input repeats cells.

    Parameters
    ----------
    x : array_like, shape (..., {axes})
        Input; dtype handling as in :func:`pool{nd}d`.
    output_size : int, None or tuple of {nd} ints or None
        Cells per pooled axis; None keeps that axis's length.
    op, p, nan_policy, mask, return_indices, nonlinearity, n_threads
        As in :func:`pool{nd}d`.

    Returns
    -------
    out : ndarray, shape (..., *output_size)
    indices : ndarray of int64
        Only if ``return_indices``.

    Examples
    --------
    >>> import numpy as np
    >>> from featpool import adaptive_pool{nd}d
    >>> adaptive_pool{nd}d(np.ones((2,) + (7,) * {nd}), 3, op="mean").shape
    (2, {grid})
    """


def adaptive_pool2d(x, output_size, op="max", p=2.0, nan_policy="propagate", mask=None,
                    return_indices=False, nonlinearity=None, n_threads=None):
    return _adaptive(x, 2, "adaptive_pool2d", output_size, op, p, nan_policy, mask,
                     return_indices, nonlinearity, n_threads)


def adaptive_pool3d(x, output_size, op="max", p=2.0, nan_policy="propagate", mask=None,
                    return_indices=False, nonlinearity=None, n_threads=None):
    return _adaptive(x, 3, "adaptive_pool3d", output_size, op, p, nan_policy, mask,
                     return_indices, nonlinearity, n_threads)


adaptive_pool2d.__doc__ = _ADAPTIVE_DOC.format(nd=2, axes="H, W", grid="3, 3")
adaptive_pool3d.__doc__ = _ADAPTIVE_DOC.format(nd=3, axes="D, H, W", grid="3, 3, 3")


def _check_ndim(ndim):
    if isinstance(ndim, bool) or not isinstance(ndim, numbers.Integral) or ndim not in (2, 3):
        raise ValueError(f"The 'ndim' parameter must be 2 or 3. Got {ndim!r} instead.")


def global_pool(x, op="mean", ndim=2, p=2.0, nan_policy="propagate", mask=None,
                nonlinearity=None, n_threads=None):
    """Pool the whole of the last ``ndim`` axes to one value.

    Parameters
    ----------
    x : array_like, shape (..., *spatial)
        Input; dtype handling as in :func:`pool2d`.
    op : str, default 'mean'
        Any op of :func:`pool2d`.
    ndim : {2, 3}, default 2
        Number of trailing axes to pool.
    p, nan_policy, mask, nonlinearity, n_threads
        As in :func:`pool2d`.

    Returns
    -------
    out : ndarray, shape (...)
        ``x.shape`` without its last ``ndim`` axes.

    Examples
    --------
    >>> import numpy as np
    >>> from featpool import global_pool
    >>> global_pool(np.arange(12.0).reshape(3, 2, 2), op="max")
    array([ 3.,  7., 11.])
    """
    _check_ndim(ndim)
    func = adaptive_pool2d if ndim == 2 else adaptive_pool3d
    out = func(x, 1, op=op, p=p, nan_policy=nan_policy, mask=mask,
               nonlinearity=nonlinearity, n_threads=n_threads)
    return out.reshape(out.shape[: out.ndim - ndim])


def pyramid_pool(x, levels=(1, 2, 4), op="max", ndim=2, p=2.0, nan_policy="propagate",
                 mask=None, nonlinearity=None, n_threads=None):
    """Spatial pyramid pooling: adaptive grids at several sizes, concatenated.

    Gives a vector of fixed length from inputs of any spatial size (He et al.
    2014, after Lazebnik et al. 2006).

    Parameters
    ----------
    x : array_like, shape (..., *spatial)
        Input; dtype handling as in :func:`pool2d`.
    levels : sequence of int or tuple, default (1, 2, 4)
        Grid size of each level (``g`` means ``g x g`` cells in 2D).
    op : str, default 'max'
        Any op of :func:`pool2d`.
    ndim : {2, 3}, default 2
        Number of trailing axes to pool.
    p, nan_policy, mask, nonlinearity, n_threads
        As in :func:`pool2d`.

    Returns
    -------
    out : ndarray, shape (..., n_cells)
        ``n_cells = sum(prod(level))``; level by level, cells in row-major
        order.

    Examples
    --------
    >>> import numpy as np
    >>> from featpool import pyramid_pool
    >>> pyramid_pool(np.ones((3, 50, 37)), levels=(1, 2, 4)).shape
    (3, 21)
    """
    _check_ndim(ndim)
    levels = _check_levels(levels, "pyramid_pool", ndim)
    x, p, omit, mask, nonlinearity = _check_common(x, ndim, "pyramid_pool", op, p, nan_policy,
                                                   mask, False, nonlinearity)
    if min(x.shape[x.ndim - ndim:]) < 1:
        raise ValueError(f"pyramid_pool needs non-empty pooled axes. Got pooled axes of shape "
                         f"{x.shape[x.ndim - ndim:]}.")
    return pyramid(x, ndim, levels, op, p, omit, mask, nonlinearity,
                   effective_n_threads(n_threads))


def _check_levels(levels, owner, nd=None):
    """Pyramid levels as a tuple of ints >= 1 (or, with ``nd``, tuples of ``nd`` of them)."""
    def level(g):
        if isinstance(g, numbers.Integral) and not isinstance(g, bool):
            return int(g)
        if nd is not None and isinstance(g, (tuple, list)) and len(g) == nd and all(
                isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in g):
            return tuple(int(v) for v in g)
        return None

    kind = "ints" if nd is None else f"ints or tuples of {nd} ints"
    if isinstance(levels, (str, bytes)) or not isinstance(levels, (list, tuple, np.ndarray)):
        raise TypeError(f"The 'levels' parameter of {owner} must be a non-empty sequence of "
                        f"{kind}. Got {levels!r} instead.")
    checked = tuple(level(g) for g in levels)
    if any(g is None for g in checked):
        raise TypeError(f"The 'levels' parameter of {owner} must be a non-empty sequence of "
                        f"{kind}. Got {levels!r} instead.")
    if not checked or any(min(np.atleast_1d(g)) < 1 for g in checked):
        raise ValueError(f"The 'levels' parameter of {owner} must be a non-empty sequence of "
                         f"grid sizes >= 1. Got {levels!r} instead.")
    return checked


def as_poolings(pooling, levels=(1, 2, 4), owner="featpool"):
    """Poolings from a parameter: an op name, a Pooling, or a sequence of them.

    Op names become pyramids over ``levels``; used by the engine and the
    transformers so that every face of featpool reads ``pooling`` alike.

    Parameters
    ----------
    pooling : str, Pooling or sequence of them
        An op among :data:`OPS`, a :class:`Pooling`, or a non-empty sequence.
    levels : sequence of int, default (1, 2, 4)
        Pyramid levels of the op names.
    owner : str
        The function or class named in error messages.

    Returns
    -------
    poolings : tuple of Pooling

    Examples
    --------
    >>> from featpool.pooling import Pooling, as_poolings
    >>> as_poolings(("mean", Pooling("max", levels=(1,))), levels=(1, 2))
    (Pooling(op='mean', levels=(1, 2), p=2.0), Pooling(op='max', levels=(1,), p=2.0))
    """
    items = (pooling,) if isinstance(pooling, (str, Pooling)) else pooling
    message = (f"The 'pooling' parameter of {owner} must be an op in {list(OPS)}, a Pooling, "
               f"or a non-empty sequence of them. Got {pooling!r} instead.")
    if not isinstance(items, (tuple, list)) or not items:
        raise TypeError(message)
    if any(isinstance(item, str) for item in items):
        levels = _check_levels(levels, owner)
    out = []
    for item in items:
        if isinstance(item, Pooling):
            out.append(item)
        elif isinstance(item, str) and item in OPS:
            out.append(Pooling(item, levels=levels))
        elif isinstance(item, str):
            raise ValueError(message)
        else:
            raise TypeError(message)
    return tuple(out)


class Pooling:
    """How to pool each map into cells: a spatial pyramid or a sliding window.

    A ``Pooling`` is a reusable, immutable description that the filter-bank
    engine (:func:`featpool.filter_pool`) and the transformers apply to every
    response map. Calling it pools the last ``ndim`` axes of an array and
    flattens the cells into one last axis.

    Parameters
    ----------
    op : str, default 'mean'
        Any op of :func:`pool2d`.
    levels : sequence of int, default (1, 2, 4)
        Pyramid levels: level ``g`` is a ``g x g`` (x ``g``) grid of
        adaptive cells; ``(1,)`` is global pooling. Ignored when ``size`` is
        given.
    size, stride, padding : int or tuple, optional
        A sliding window instead of a pyramid, as in :func:`pool2d`.
    p : float, default 2.0
        Exponent of ``op='lp'``.

    Examples
    --------
    >>> import numpy as np
    >>> from featpool import Pooling
    >>> pooling = Pooling("max", levels=(1, 2))
    >>> pooling(np.ones((3, 8, 32, 32))).shape
    (3, 8, 5)
    >>> Pooling("mean", size=4).n_cells((32, 32))
    64
    """

    def __init__(self, op="mean", levels=(1, 2, 4), size=None, stride=None, padding=0,
                 p=2.0):
        _check_op(op, 1.0 if op != "lp" else p)
        _check_op("lp", p)  # p is a field of every Pooling (names, configurations)
        if size is None:
            levels = _check_levels(levels, "Pooling")
        else:  # a window's parameters, checked as pool2d/pool3d will use them
            tuples = [v for v in (size, stride, padding) if isinstance(v, (tuple, list))]
            nd = len(tuples[0]) if tuples else 2
            per_axis(size, nd, "size", 1)
            if stride is not None:
                per_axis(stride, nd, "stride", 1)
            per_axis(padding, nd, "padding", 0)
            size, stride, padding = (v if v is None or isinstance(v, numbers.Integral)
                                     else tuple(int(a) for a in v)
                                     for v in (size, stride, padding))
        self.op, self.levels, self.p = op, levels, float(p)
        self.size, self.stride, self.padding = size, stride, padding

    def _fields(self):
        return (self.op, self.levels, self.size, self.stride, self.padding, self.p)

    def __repr__(self):
        if self.size is None:
            return f"Pooling(op={self.op!r}, levels={self.levels}, p={self.p!r})"
        return (f"Pooling(op={self.op!r}, levels={self.levels}, size={self.size!r}, "
                f"stride={self.stride!r}, padding={self.padding!r}, p={self.p!r})")

    def __eq__(self, other):
        return isinstance(other, Pooling) and self._fields() == other._fields()

    def __hash__(self):
        return hash(self._fields())

    def geometry(self, spatial):
        """The sliding window on maps of shape ``spatial``: (size, stride, padding, dilation, n_out) per axis."""
        nd = len(spatial)
        return window_geometry(spatial, nd, self.size, self.stride, self.padding, 1, False)

    def n_cells(self, spatial):
        """Cells per map for maps of shape ``spatial``."""
        if self.size is None:
            return sum(g ** len(spatial) for g in self.levels)
        return int(np.prod([g[-1] for g in self.geometry(spatial)]))

    def __call__(self, x, ndim=2, nonlinearity=None, n_threads=None):
        """Pool the last ``ndim`` axes of ``x`` into cells: shape (..., n_cells)."""
        _check_ndim(ndim)
        x, _, _, _, nonlinearity = _check_common(x, ndim, "Pooling", self.op, self.p,
                                                 "propagate", None, False, nonlinearity)
        if self.size is not None:
            window_geometry(x.shape[x.ndim - ndim:], ndim, self.size, self.stride,
                            self.padding, 1, False)
        return pool_cells(x, self, ndim, nonlinearity, effective_n_threads(n_threads))
