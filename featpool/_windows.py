"""The pooling kernel's driver: window geometry, task blocks, and the validated path.

Private: :mod:`featpool.pooling` validates the user's arguments and calls
:func:`run` (or :func:`pool_cells` for a :class:`~featpool.Pooling`); the
response engine calls :func:`pool_cells` on arrays it made itself, so that
nothing is validated or cast again per chunk of filters.
"""
import numbers

import numpy as np

from ._cache import cached
from ._pooling import pool_kernel, scratch_size
from ._vocabulary import KERNEL_NONLINEARITIES, OPS

# Target number of output elements per parallel task: large enough to amortise
# the task's set-up and the rows its windows share with the next task, small
# enough that its work space stays in cache.
TASK_OUTPUTS = 16384
# Input elements per task at least, grouping small images.
TASK_INPUTS = 32768
# Below this many input elements, starting threads costs more than it saves.
MIN_PARALLEL_SIZE = 1 << 16
# Window parameters beyond this could overflow the kernel's index arithmetic
# (int64): no array is that long.
MAX_EXTENT = 1 << 48


def per_axis(value, nd, name, minimum):
    """Expand an int or a tuple of ``nd`` ints, each at least ``minimum``."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        values = (int(value),) * nd
    else:
        try:
            values = tuple(value)
        except TypeError:
            values = None
        if (
            values is None
            or len(values) != nd
            or not all(isinstance(v, numbers.Integral) and not isinstance(v, bool)
                       for v in values)
        ):
            raise TypeError(
                f"The '{name}' parameter must be an int or a tuple of {nd} ints. "
                f"Got {value!r} instead."
            )
        values = tuple(int(v) for v in values)
    if any(v < minimum or v > MAX_EXTENT for v in values):
        raise ValueError(
            f"The '{name}' parameter must be an int >= {minimum} and <= 2**48 (or a tuple "
            f"of them). Got {value!r} instead."
        )
    return values


def output_length(n, k, s, p, d, ceil_mode):
    """PyTorch's ``pooling_output_shape``, including its ceil-mode rule."""
    span = n + 2 * p - d * (k - 1) - 1
    out = (span + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= n + p:
        out -= 1  # the last window would start in the right padding
    return out


def window_geometry(spatial, nd, size, stride, padding, dilation, ceil_mode):
    """Validate the window parameters; return (k, s, p, d, n_out) per axis."""
    size = per_axis(size, nd, "size", 1)
    stride = size if stride is None else per_axis(stride, nd, "stride", 1)
    padding = per_axis(padding, nd, "padding", 0)
    dilation = per_axis(dilation, nd, "dilation", 1)
    geom = []
    for ax, (n, k, s, p, d) in enumerate(zip(spatial, size, stride, padding, dilation)):
        if p > k // 2:
            raise ValueError(
                f"The 'padding' parameter must be at most half the window size on every "
                f"axis: padding {padding} for size {size}."
            )
        extent = d * (k - 1) + 1
        if extent > n + 2 * p:
            raise ValueError(
                f"The window (size {size}, dilation {dilation}) is larger than the padded "
                f"input on pooled axis {ax}: {extent} > {n} + 2 * {p}. Pooled axes have "
                f"shape {tuple(spatial)}."
            )
        geom.append((k, s, p, d, output_length(n, k, s, p, d, ceil_mode)))
    return geom


class AxisWindows:
    """The windows along one pooled axis, as the kernel reads them.

    ``geometry`` is (size, stride, dilation), size 0 for adaptive windows;
    ``taps`` is (start, lo, hi) per output: window ``o`` reads input
    ``start[o] + t * dilation`` for ``lo[o] <= t < hi[o]``; ``counts`` is
    (taps inside the input, taps inside the padded input) per output.
    """

    def __init__(self, geometry, start, lo, hi, cpad):
        self.geometry = np.asarray(geometry, dtype=np.intp)
        self.taps = np.ascontiguousarray(np.stack([start, lo, hi]), dtype=np.intp)
        self.counts = np.ascontiguousarray(np.stack([hi - lo, cpad]), dtype=np.float64)
        self.n_out = self.taps.shape[1]
        for array in (self.geometry, self.taps, self.counts):
            array.flags.writeable = False  # instances are cached and shared

    # Cached: building the arrays costs more than pooling a small image.
    @classmethod
    @cached
    def sliding(cls, n, k, s, p, d, n_out):
        start = np.arange(n_out, dtype=np.intp) * s - p
        lo = np.where(start < 0, -(start // d), 0)          # ceil(-start / d)
        hi = np.minimum(k, -((start - n) // d))              # ceil((n - start) / d)
        cpad = np.minimum(k, -((start - n - p) // d))
        return cls((k, s, d), start, lo, hi, cpad)

    @classmethod
    @cached
    def adaptive(cls, n, g):
        """PyTorch's bins: start = floor(i*n/g), end = ceil((i+1)*n/g)."""
        if n % g == 0:  # equal, disjoint bins: sliding windows, the fast path
            return cls.sliding(n, n // g, n // g, 0, 1, g)
        i = np.arange(g, dtype=np.intp)
        start = (i * n) // g
        hi = -((-(i + 1) * n) // g) - start
        return cls((0, 1, 1), start, np.zeros_like(start), hi, hi)

    @classmethod
    def trivial(cls):
        """One window of one tap: the depth axis of 2D pooling."""
        return cls.sliding(1, 1, 1, 0, 1, 1)


def blocks(n_images, in_size, out_shape, n_threads):
    """Images, output planes and output rows per task.

    Enough tasks to keep the threads busy, each large enough to amortise its
    set-up (small maps are grouped several images to a task) and small enough
    that its work space stays in cache.
    """
    d_out, h_out, w_out = out_shape
    block_h = max(1, min(h_out, TASK_OUTPUTS // max(w_out, 1)))
    block_d = max(1, min(d_out, TASK_OUTPUTS // (block_h * w_out)))
    block_n = 1
    if block_d == d_out and block_h == h_out:
        block_n = max(1, min(n_images, TASK_INPUTS // max(in_size, 1)))

    def n_tasks():
        return -(-n_images // block_n) * -(-d_out // block_d) * -(-h_out // block_h)

    # More, smaller tasks only to share them out: one thread keeps them whole.
    while (n_threads > 1 and n_tasks() < 4 * n_threads
           and (block_n > 1 or block_d > 1 or block_h > 1)):
        if block_n > 1:
            block_n = (block_n + 1) // 2
        elif block_d > 1:
            block_d = (block_d + 1) // 2
        else:
            block_h = (block_h + 1) // 2
    return block_n, block_d, block_h, n_tasks()


def run(x, nd, axes, op, p, omit, mask, include_pad, return_indices, nonlinearity,
        n_threads):
    """Call the kernel on ``x`` (already validated) and reshape the result.

    ``x`` is C-contiguous float32/float64 (complex64/complex128 with a
    nonlinearity that makes it real), ``axes`` the AxisWindows of the pooled
    axes, ``mask`` None or uint8 (1 or N, *spatial), ``n_threads`` a count
    already resolved by :func:`featpool._config.effective_n_threads`.
    """
    cplx = x.dtype.kind == "c"
    real_dtype = x.real.dtype if cplx else x.dtype
    lead = x.shape[: x.ndim - nd]
    spatial = x.shape[x.ndim - nd:]
    if nd == 2:
        spatial = (1,) + spatial
        axes = [AxisWindows.trivial()] + list(axes)
    out_spatial = tuple(a.n_out for a in axes)
    n_images = int(np.prod(lead, dtype=np.int64))
    out = np.empty((n_images,) + out_spatial, dtype=real_dtype)
    indices = np.empty(out.shape if return_indices else (1, 1, 1, 1), dtype=np.int64)
    result_shape = lead + out_spatial[3 - nd:]
    if n_images == 0:
        out = out.reshape(result_shape)
        return (out, indices.reshape(result_shape)) if return_indices else out

    x4 = x.reshape((n_images,) + spatial)
    if cplx:  # the kernel reads interleaved (re, im) pairs
        x4 = x4.view(real_dtype)
    if mask is None:
        mask4 = np.ones((1, 1, 1, 1), dtype=np.uint8)
    else:
        mask4 = mask.reshape((mask.shape[0],) + spatial)
    if x4.size < MIN_PARALLEL_SIZE:
        n_threads = 1
    block_n, block_d, block_h, n_tasks = blocks(n_images, int(np.prod(spatial)),
                                                 out_spatial, n_threads)
    ad, ah, aw = axes
    geometry = np.ascontiguousarray(np.stack([a.geometry for a in axes]))
    size = scratch_size(geometry, ad.taps, ah.taps, aw.taps, ad.counts, block_d, block_h,
                        spatial[2])
    n_threads = min(n_threads, n_tasks)
    scratch = np.empty((n_threads, size))
    iscratch = np.empty((n_threads, size if return_indices else 1), dtype=np.int64)
    pool_kernel(
        x4, mask4, geometry, ad.taps, ah.taps, aw.taps, ad.counts, ah.counts, aw.counts,
        block_n, block_d, block_h, OPS[op], p, omit, mask is not None, return_indices,
        include_pad, KERNEL_NONLINEARITIES[nonlinearity], cplx, out, indices, scratch, iscratch,
        n_threads,
    )
    out = out.reshape(result_shape)
    if return_indices:
        return out, indices.reshape(result_shape)
    return out


def flatten_cells(out, ndim):
    """(..., *grid) -> (..., n_cells); explicit size, so an empty batch works."""
    return out.reshape(out.shape[: out.ndim - ndim] + (int(np.prod(out.shape[out.ndim - ndim:])),))


def nested_finest(spatial, levels, op, nan_policy, mask):
    """The finest level if every level's cells are unions of its equal cells, else None."""
    if op not in ("max", "min", "sum", "mean") or nan_policy != "propagate" or mask is not None:
        return None
    if not all(isinstance(g, numbers.Integral) and not isinstance(g, bool) for g in levels):
        return None
    finest = max(levels)
    if any(n % finest for n in spatial) or any(finest % g for g in levels):
        return None
    return int(finest)




_REDUCE = {"max": np.max, "min": np.min, "sum": np.sum, "mean": np.mean}


def pyramid(x, nd, levels, op, p, omit, mask, nonlinearity, n_threads):
    """Adaptive pools of ``x`` at each level, cells flattened and concatenated."""
    spatial = x.shape[x.ndim - nd:]
    finest = nested_finest(spatial, levels, op, "omit" if omit else "propagate", mask)
    if finest is not None:
        # Coarser levels are unions of equal cells of the finest one: pool the
        # input once, then reduce the small grid.
        axes = [AxisWindows.adaptive(n, finest) for n in spatial]
        grid = run(x, nd, axes, op, p, omit, None, False, False, nonlinearity, n_threads)
        # A mean of means can overflow only where the grid holds values near
        # the largest float: scale by the block's largest magnitude then.
        scaled = op == "mean" and not (
            np.max(np.abs(grid), initial=0) < np.finfo(grid.dtype).max / finest ** nd)
        parts = []
        for level in levels:
            k = finest // level
            if k == 1:
                parts.append(flatten_cells(grid, nd))
                continue
            blocks_ = grid.reshape(grid.shape[: grid.ndim - nd] + (level, k) * nd)
            axes = tuple(range(grid.ndim - nd + 1, grid.ndim + nd, 2))
            if scaled:
                scale = np.max(np.abs(blocks_), axis=axes, keepdims=True)
                scale = np.where((scale > 0) & np.isfinite(scale), scale, 1)
                reduced = (np.mean(blocks_ / scale, axis=axes, keepdims=True) * scale)
                reduced = reduced.reshape(reduced.shape[: grid.ndim - nd] + (level,) * nd)
            else:
                reduced = _REDUCE[op](blocks_, axis=axes)
            parts.append(flatten_cells(reduced, nd))
        return np.concatenate(parts, axis=-1)
    parts = []
    for level in levels:
        grid = level if isinstance(level, tuple) else (level,) * nd
        axes = [AxisWindows.adaptive(n, g) for n, g in zip(spatial, grid)]
        out = run(x, nd, axes, op, p, omit, mask, False, False, nonlinearity, n_threads)
        parts.append(flatten_cells(out, nd))
    return np.concatenate(parts, axis=-1)


def pool_cells(x, pooling, nd, nonlinearity, n_threads):
    """Apply a validated :class:`~featpool.Pooling` to a validated ``x``: (..., n_cells).

    The engine's path into the kernel: ``x`` as :func:`run` takes it.
    """
    x = np.ascontiguousarray(x)  # a view when it already is (the engine's arrays are)
    p = float(pooling.p) if pooling.op == "lp" else 1.0
    if pooling.size is None:
        return pyramid(x, nd, pooling.levels, pooling.op, p, False, None, nonlinearity,
                       n_threads)
    spatial = x.shape[x.ndim - nd:]
    geometry = window_geometry(spatial, nd, pooling.size, pooling.stride, pooling.padding,
                               1, False)
    axes = [AxisWindows.sliding(n, *g) for n, g in zip(spatial, geometry)]
    out = run(x, nd, axes, pooling.op, p, False, None, False, False, nonlinearity, n_threads)
    return flatten_cells(out, nd)
