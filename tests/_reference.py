"""Slow, obviously-correct NumPy references for featpool's pooling.

Everything here loops over every image and every output cell, lists the taps
of its window explicitly and reduces the valid ones with plain NumPy in
float64. It encodes the contract of docs/DESIGN.md ("Pooling: one contract
for 2D and 3D") independently of the separable kernel in _pooling.pyx.
"""
import itertools
import math

import numpy as np

OPS = ("max", "min", "sum", "mean", "lp", "var", "std")


def output_length(n, k, s, p, d, ceil_mode):
    """PyTorch's pooling output length, with its ceil-mode rule."""
    out = (n + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= n + p:
        out -= 1
    return out


def _per_axis(value, nd):
    if isinstance(value, (tuple, list)):
        assert len(value) == nd
        return tuple(value)
    return (value,) * nd


def sliding_windows(n, k, s, p, d, ceil_mode):
    """Per output position: (input positions of the window inside the input,
    number of its taps in the padding but inside the padded extent)."""
    windows = []
    for o in range(output_length(n, k, s, p, d, ceil_mode)):
        taps = [o * s - p + t * d for t in range(k)]
        real = [q for q in taps if 0 <= q < n]
        n_pad = sum(1 for q in taps if (q < 0 or q >= n) and q < n + p)
        windows.append((real, n_pad))
    return windows


def adaptive_windows(n, g):
    """PyTorch's adaptive bins: floor(i*n/g) <= j < ceil((i+1)*n/g)."""
    return [
        (list(range(math.floor(i * n / g), math.ceil((i + 1) * n / g))), 0)
        for i in range(g)
    ]


def is_valid_geometry(spatial, size, stride, padding, dilation, ceil_mode):
    """True if featpool must accept this window geometry (else ValueError)."""
    nd = len(spatial)
    for n, k, s, p, d in zip(spatial, _per_axis(size, nd), _per_axis(stride, nd),
                             _per_axis(padding, nd), _per_axis(dilation, nd)):
        if k < 1 or s < 1 or d < 1 or p < 0 or p > k // 2:
            return False
        if d * (k - 1) + 1 > n + 2 * p:
            return False
        if any(not real for real, _ in sliding_windows(n, k, s, p, d, ceil_mode)):
            return False
    return True


def _apply_exact(v, op, p, n_pad, count_include_pad):
    """``_apply`` in arbitrary precision (mpmath): no overflow, no underflow.

    The digits grow as p shrinks, so that |x|^p - 1 stays resolved and tiny
    p tends to the geometric mean as it should.
    """
    import mpmath  # the test extra; only the exact mode needs it

    digits = 40 + (int(-math.log10(p)) if op == "lp" and p < 1 else 0)
    with mpmath.workdps(digits):
        x = [mpmath.mpf(float(a)) for a in v]
        if any(mpmath.isinf(a) for a in x):   # plain arithmetic is right with infinities
            return _apply(v, op, p, n_pad, count_include_pad, exact=False)
        n = len(x) + (n_pad if op == "mean" and count_include_pad else 0)
        if op == "lp":
            return float(mpmath.power(mpmath.fsum(abs(a) ** p for a in x) / len(x), 1 / p))
        mean = mpmath.fsum(x) / n
        if op == "mean":
            return float(mean)
        var = mpmath.fsum((a - mean) ** 2 for a in x) / len(x)
        return float(var if op == "var" else mpmath.sqrt(var))


def _apply(values, op, p, n_pad, count_include_pad, exact=False):
    """Reduce the valid (already filtered) values of one window.

    ``exact``: mean, lp, var and std in arbitrary precision, rounded once to
    float64 (sums and powers that overflow in float64 do not here).
    """
    v = np.asarray(values, dtype=np.float64)
    if v.size == 0:
        return np.nan
    if np.isnan(v).any():   # only reached with nan_policy='propagate'
        return np.nan
    if exact and op in ("mean", "lp", "var", "std"):
        return _apply_exact(v, op, p, n_pad, count_include_pad)
    if op == "max":
        return np.max(v)
    if op == "min":
        return np.min(v)
    if op == "sum":
        return np.sum(v)
    if op == "mean":
        if count_include_pad:
            return np.sum(v) / (v.size + n_pad)
        return np.mean(v)
    if op == "lp":
        return np.mean(np.abs(v) ** p) ** (1.0 / p)
    if op == "var":
        return np.var(v)
    if op == "std":
        return np.std(v)
    raise AssertionError(op)


def _arg(values, flats, op):
    """Flat index of the first extreme value, or of the last NaN; -1 if empty."""
    if not values:
        return -1
    nans = [f for v, f in zip(values, flats) if np.isnan(v)]
    if nans:
        return nans[-1]
    target = max(values) if op == "max" else min(values)
    return next(f for v, f in zip(values, flats) if v == target)


def _reduce(x, nd, axis_windows, op, p, count_include_pad, nan_policy, mask,
            return_indices, exact=False):
    x = np.asarray(x, dtype=np.float64)
    lead, spatial = x.shape[: x.ndim - nd], x.shape[x.ndim - nd:]
    images = x.reshape((-1,) + spatial)
    if mask is None:
        masks = np.ones((1,) + spatial, dtype=bool)
    else:
        masks = np.asarray(mask).astype(bool).reshape((-1,) + spatial)
    out_spatial = tuple(len(w) for w in axis_windows)
    out = np.empty((images.shape[0],) + out_spatial)
    idx = np.empty(out.shape, dtype=np.int64)
    for i, image in enumerate(images):
        m = masks[i if masks.shape[0] > 1 else 0]
        for cell in itertools.product(*(range(g) for g in out_spatial)):
            wins = [axis_windows[a][c] for a, c in enumerate(cell)]
            # Row-major scan of the real taps of the window.
            positions = list(itertools.product(*(real for real, _ in wins)))
            n_extent = math.prod(len(real) + n_pad for real, n_pad in wins)
            n_pad = n_extent - len(positions)
            values, flats = [], []
            for pos in positions:
                v = image[pos]
                if not m[pos] or (nan_policy == "omit" and np.isnan(v)):
                    continue
                values.append(v)
                flats.append(int(np.ravel_multi_index(pos, spatial)))
            out[(i,) + cell] = _apply(values, op, p, n_pad, count_include_pad, exact)
            if return_indices:
                idx[(i,) + cell] = _arg(values, flats, op)
    out = out.reshape(lead + out_spatial)
    if return_indices:
        return out, idx.reshape(lead + out_spatial)
    return out


def reference_pool(x, nd, size, stride=None, padding=0, dilation=1, ceil_mode=False,
                   op="max", p=2.0, count_include_pad=False, nan_policy="propagate",
                   mask=None, return_indices=False, exact=False):
    """Sliding-window pooling of the last ``nd`` axes, in float64 (``exact``:
    averaging ops in arbitrary precision, see ``_apply``)."""
    x = np.asarray(x)
    spatial = x.shape[x.ndim - nd:]
    size = _per_axis(size, nd)
    stride = size if stride is None else _per_axis(stride, nd)
    geometry = zip(spatial, size, stride, _per_axis(padding, nd), _per_axis(dilation, nd))
    windows = [sliding_windows(n, k, s, q, d, ceil_mode) for n, k, s, q, d in geometry]
    return _reduce(x, nd, windows, op, p, count_include_pad, nan_policy, mask,
                   return_indices, exact)


def reference_adaptive(x, nd, output_size, op="max", p=2.0, nan_policy="propagate",
                       mask=None, return_indices=False, exact=False):
    """Adaptive pooling of the last ``nd`` axes onto a grid, in float64."""
    x = np.asarray(x)
    spatial = x.shape[x.ndim - nd:]
    grid = [n if g is None else g for n, g in zip(spatial, _per_axis(output_size, nd))]
    windows = [adaptive_windows(n, g) for n, g in zip(spatial, grid)]
    return _reduce(x, nd, windows, op, p, False, nan_policy, mask, return_indices, exact)


def reference_region_pool(x, labels, op, nd, p=2.0, nan_policy="propagate", levels=(1,)):
    """Per label, per pyramid cell of its bounding box: the op over its pixels.

    Loops over every label and cell; returns (labels present, (..., K, n_cells)).
    """
    x = np.asarray(x, dtype=np.float64)
    lead = x.shape[: x.ndim - nd]
    rows = x.reshape((-1,) + labels.shape)
    present = [int(v) for v in np.unique(labels) if v != 0]
    out = np.full((len(rows), len(present), sum(g ** nd for g in levels)), np.nan)
    for k, label in enumerate(present):
        inside = labels == label
        coords = np.nonzero(inside)
        first = [int(c.min()) for c in coords]
        extent = [int(c.max()) - f + 1 for c, f in zip(coords, first)]
        cell = 0
        for g in levels:
            for bins in itertools.product(*(adaptive_windows(n, g) for n in extent)):
                box = tuple(slice(f + b[0][0], f + b[0][-1] + 1) for f, b in zip(first, bins))
                for r, row in enumerate(rows):
                    values = row[box][inside[box]]
                    if nan_policy == "omit":
                        values = values[~np.isnan(values)]
                    out[r, k, cell] = _apply(values, op, p, 0, False)
                cell += 1
    return np.array(present, dtype=np.intp), out.reshape(lead + out.shape[1:])
