"""Multi-resolution filtering: each response on the coarsest grid its band allows.

The engine (:mod:`featpool.responses`) uses this for averaging poolings. Three
steps, each exact or measured:

1. **Band.** A filter's response ``r = x * h`` has the spectrum ``X H``, which
   lives where ``H`` does. Per axis, the band is the shortest circular run of
   frequency bins that holds all but ``BAND_ENERGY`` of the filter's energy.
2. **Demodulate and crop.** Moving the spectrum by an integer number of bins
   ``c`` multiplies ``r`` by a phase ramp of modulus 1, so ``|r|`` and
   ``|r|**2`` do not change: for these nonlinearities only a filter's
   bandwidth matters, not its centre frequency (the others keep ``c = 0``).
   The ``L`` bins around ``c`` (``L = OVERSAMPLING`` times the band, rounded up
   to a fast FFT length) transformed back at size ``L`` are the response
   sampled every ``N / L`` pixels of the ``N``-point grid: exact samples, not
   an approximation.
3. **Quadrature.** A pooled average over a window of pixels is a linear
   function of the map. It is computed from the samples with weights that
   average, over the window's pixels, the trigonometric interpolant of the
   samples (the Dirichlet kernel of the coarse grid). Windows need not fall on
   the coarse grid, so any image size and cell layout works. The weights are
   exact for maps band-limited below the coarse Nyquist frequency, such as
   ``|r|**2`` (whose band is twice ``r``'s); ``|r|`` is smooth but not
   band-limited (it has kinks where ``r`` crosses zero), which oversampling
   covers: 4 for means, sums and power means, 6 for variances and standard
   deviations (``E[g**2] - E[g]**2`` magnifies the error of ``E[g]``). Maps
   with a kink at every zero crossing of an oscillating real signal (``abs``
   and ``relu_split`` of any response, ``modulus`` of a real filter's) get
   1.5 times more. ``real`` and ``square`` maps are band-limited (once and
   twice the band of ``y``), so fewer samples make their quadrature exact.
   Pooled features then stay within 1e-3 of full resolution
   (docs/responses.md, tests/test_responses.py, tests/test_multires.py).

A coarse grid is used only where it saves at least a third of the points:
the full-resolution path is exact and reads the complex responses in the
fused pooling kernel, which the coarse path cannot.
"""
import functools

import numpy as np
import scipy.fft

from ._cache import cached
from ._vocabulary import AVERAGING as OVERSAMPLING
from ._vocabulary import finish_moments, moment_maps
from ._windows import AxisWindows, window_geometry

__all__ = ["BAND_ENERGY", "OVERSAMPLING", "KINKED_FACTOR", "SMOOTH_MARGIN",
           "MAX_COARSE_FRACTION", "oversampling", "band_layout", "power_layout", "axis_layout",
           "joint_layout", "crop_indices", "Quadrature"]

BAND_ENERGY = 1e-6
# More for maps with a kink at every zero crossing of a real oscillation.
KINKED_FACTOR = 1.5
# Margin over the exact oversampling of band-limited maps (real, square).
SMOOTH_MARGIN = 1.5
# The largest fraction of the fine grid's points a coarse grid may keep.
MAX_COARSE_FRACTION = 2 / 3


def _shortest_runs(energy, fraction):
    """Per row of ``energy`` (K, n): (centre, length) of its shortest circular run
    holding ``fraction`` of it."""
    k, n = energy.shape
    total = np.zeros((k, 2 * n + 1))
    total[:, 1:] = np.cumsum(np.concatenate([energy, energy], axis=1), axis=1)
    target = (total[:, :n] + fraction * total[:, n:n + 1]) * (1 - 1e-12)
    ends = np.stack([np.searchsorted(t, g, side="left") for t, g in zip(total, target)])
    lengths = np.maximum(ends - np.arange(n), 1)
    start = np.argmin(lengths, axis=1)
    length = lengths[np.arange(k), start]
    return (start + length // 2) % n, length


def _symmetric_runs(energy, fraction):
    """Per row of ``energy`` (K, n): (0, length ``2h + 1``) of the shortest run
    centred on bin 0 holding ``fraction`` of it."""
    k, n = energy.shape
    bins = np.arange(n)
    distance = np.minimum(bins, n - bins)
    per_distance = np.zeros((k, n // 2 + 1))
    np.add.at(per_distance, (slice(None), distance), energy)
    held = np.cumsum(per_distance, axis=1)
    h = np.array([np.searchsorted(row, fraction * row[-1] * (1 - 1e-12)) for row in held])
    return np.zeros(k, dtype=np.intp), np.minimum(n, 2 * h + 1)


def oversampling(ops, nonlinearity, real_filters):
    """Coarse samples per band bin for pooling ``ops`` of maps ``nonlinearity(y)``.

    ``Re y`` and ``|y|**2`` are polynomials of the response, band-limited to
    once and twice its band, and their squares (for var and std) to twice
    that: the quadrature is exact with that many samples per bin, and
    ``SMOOTH_MARGIN`` more covers the band's energy tails.
    """
    if nonlinearity in ("real", "square") and all(
            op in ("mean", "sum", "var", "std") for op in ops):
        degree = 1 if nonlinearity == "real" else 2
        order = 2 if any(op in ("var", "std") for op in ops) else 1
        return SMOOTH_MARGIN * degree * order
    factor = max(OVERSAMPLING[op] for op in ops)
    kinked = nonlinearity in ("abs", "relu_split") or (
        nonlinearity == "modulus" and real_filters)
    return factor * KINKED_FACTOR if kinked else factor


def band_layout(spectra, demodulate, oversampling):
    """Per filter and axis, the centre bin and coarse length of its samples.

    Parameters
    ----------
    spectra : ndarray, shape (n_filters, *grid)
        The filters' spectra on the FFT grid.
    demodulate : bool
        Whether the band may be moved to bin 0 (for ``|r|`` and ``|r|**2``).
    oversampling : float
        Coarse samples per bin of the band.

    Returns
    -------
    centres, lengths : ndarray of int, shape (n_filters, ndim)
        A length equal to the grid's means that axis stays at full resolution
        (its centre is then 0).
    """
    return power_layout(np.abs(spectra) ** 2, demodulate, oversampling)


def power_layout(power, demodulate, oversampling):
    """:func:`band_layout` from the filters' power ``|spectra|**2`` (n_filters, *grid)."""
    nd = power.ndim - 1
    axes = [axis_layout(power.sum(axis=tuple(a for a in range(1, nd + 1) if a != axis)),
                        demodulate, oversampling) for axis in range(1, nd + 1)]
    return joint_layout(axes, power.shape[1:])


def axis_layout(marginal, demodulate, oversampling):
    """Per filter, the centre bin and coarse length along one axis.

    ``marginal`` (n_filters, n): each filter's power per bin of the axis,
    summed over the others (up to a positive factor per filter).
    """
    n = marginal.shape[1]
    zero = ~marginal.any(axis=1)   # a zero filter: any grid samples it exactly
    run = _shortest_runs if demodulate else _symmetric_runs
    centre, band = run(np.where(zero[:, None], 1.0, marginal), 1 - BAND_ENERGY)
    length = np.array([scipy.fft.next_fast_len(int(np.ceil(oversampling * b)))
                       for b in band.tolist()], dtype=np.intp)
    full = length >= n
    centre = np.where(full | zero, 0, centre).astype(np.intp)
    return centre, np.where(zero, 1, np.where(full, n, length)).astype(np.intp)


def joint_layout(axes, grid):
    """(centres, lengths) (n_filters, ndim) from the :func:`axis_layout` of each axis:
    a coarse grid that keeps more than ``MAX_COARSE_FRACTION`` of the points is
    not worth its quadrature, and becomes the full grid."""
    centres = np.stack([c for c, _ in axes], axis=1)
    lengths = np.stack([n for _, n in axes], axis=1)
    full = np.prod(lengths, axis=1) > MAX_COARSE_FRACTION * np.prod(grid)
    centres[full] = 0
    lengths[full] = grid
    return centres, lengths


def crop_indices(grid, centres, coarse):
    """Flat indices (n_filters, *coarse) into the grid of each filter's cropped band.

    Bin ``j`` of the coarse grid is bin ``centre + j`` of the fine grid, ``j``
    counted with FFT signs (``0, 1, ..., -1``): the coarse inverse FFT then
    gives the demodulated response sampled every ``grid / coarse`` pixels.
    """
    per_axis = []
    for axis, (n, m) in enumerate(zip(grid, coarse)):
        signed = np.fft.fftfreq(m, 1.0 / m).astype(np.intp)
        per_axis.append((centres[:, axis, None] + signed[None]) % n)
    nd = len(grid)
    index = np.zeros((len(centres),) + tuple(coarse), dtype=np.intp)
    for axis, rows in enumerate(per_axis):
        shape = [len(centres)] + [1] * nd
        shape[1 + axis] = coarse[axis]
        index = index * grid[axis] + rows.reshape(shape)
    return index


def _dirichlet_grid(positions, m, n):
    """(len(positions), m): the weight of sample ``j`` at each position in the
    trigonometric interpolant of ``m`` samples spread over a period of ``n``
    pixels (the Nyquist term split evenly for even ``m``): ``D(p - j n / m)``
    with ``D(d) = sin(m t) / (m sin t)``, times ``cos t`` for even ``m``, ``t
    = pi d / n`` (1 where ``sin t`` is 0).

    With ``a = pi p / n`` and ``b = pi j / m``: ``sin(m (a - b)) = (-1)^j
    sin(m a)`` and ``sin(a - b)``, ``cos(a - b)`` expand into products, so
    ``len(positions) + m`` sines and cosines make the whole grid instead of
    three per point (22% of a 400x400 image's first transform).
    """
    a = np.pi * np.asarray(positions, dtype=np.float64) / n
    b = np.pi * np.arange(m) / m
    sign = np.where(np.arange(m) % 2, -1.0, 1.0)
    sin_ab = np.multiply.outer(np.sin(a), np.cos(b)) - np.multiply.outer(np.cos(a), np.sin(b))
    numerator = np.multiply.outer(np.sin(m * a), sign)
    if m % 2 == 0:
        numerator *= np.multiply.outer(np.cos(a), np.cos(b)) + np.multiply.outer(np.sin(a),
                                                                                np.sin(b))
    near = np.abs(sin_ab) < 1e-12
    value = numerator / (m * np.where(near, 1.0, sin_ab))
    value[near] = 1.0
    return value


@cached
def _running_weights(n, pad, grid, coarse):
    """(n + 1, coarse): cumulative weights of each sample over pixels pad..pad+n-1.

    Row ``i`` is the weight of every coarse sample in the sum of the map over
    the first ``i`` pixels; ``coarse == grid`` (a sample per pixel) is exact.
    """
    positions = pad + np.arange(n)
    if coarse == grid:
        kernel = (positions[:, None] == np.arange(coarse)[None]).astype(np.float64)
    else:
        kernel = _dirichlet_grid(positions, coarse, grid)
    running = np.concatenate([np.zeros((1, coarse)), np.cumsum(kernel, axis=0)])
    running.flags.writeable = False
    return running


class Quadrature:
    """Pooled averages of maps sampled on a coarse grid, for one pooling and geometry.

    Parameters
    ----------
    pooling : Pooling
        An averaging pooling (mean, sum, lp, var, std).
    spatial : tuple of int
        The image shape the pooling is defined on.
    pad : tuple of int
        Where the image (or the tile, with ``origin``) starts on the fine grid.
    grid, coarse : tuple of int
        Fine and coarse grid lengths per axis. ``coarse == grid`` means
        full-resolution samples: the weights are then plain window sums.
    origin, extent : tuple of int, optional
        A tile of the image: the pixels ``origin <= p < origin + extent`` are
        the ones on the grid, and window sums cover only them (the image's
        tiles add up to the whole sums; see :meth:`finish`).
    """

    def __init__(self, pooling, spatial, pad, grid, coarse, origin=None, extent=None):
        self.pooling = pooling
        self.nd = len(spatial)
        self._cast = {}
        if origin is None and extent is None:
            # The whole image: every axis's weights depend on that axis alone,
            # and are shared by images that share a side length.
            self.weights = [_axis_weights(pooling, self.nd, axis, n, p, g, m)
                            for axis, (n, p, g, m) in enumerate(zip(spatial, pad, grid, coarse))]
            self.counts, self.cells, self._local = _whole_cells(pooling, tuple(spatial))
            return
        origin, extent = tuple(origin), tuple(extent)
        starts, stops, cell_windows, self.counts = _cells(pooling, tuple(spatial))
        self.weights = []   # per axis: (touched windows, coarse) window sums
        local = []          # per axis: each cell's window among the touched ones
        touched = []
        for n0, n, p, g, m, start, stop, index in zip(origin, extent, pad, grid, coarse,
                                                      starts, stops, cell_windows):
            lo = np.clip(start - n0, 0, n)
            hi = np.clip(stop - n0, 0, n)
            keep = np.flatnonzero(hi > lo)   # windows that meet the tile
            running = _running_weights(n, p, g, m)
            self.weights.append(running[hi[keep]] - running[lo[keep]])
            where = np.full(len(start), -1)
            where[keep] = np.arange(len(keep))
            local.append(where[index])
            touched.append(len(keep))
        inside = np.logical_and.reduce([w >= 0 for w in local])
        self.cells = np.flatnonzero(inside)   # the pooling's cells the tile touches
        self._local = np.ravel_multi_index([w[inside] for w in local], touched)

    def _weights(self, dtype):
        if dtype not in self._cast:
            self._cast[dtype] = [np.ascontiguousarray(w.T, dtype=dtype) for w in self.weights]
        return self._cast[dtype]

    def sums(self, values):
        """Sums over the windows' pixels (lead, len(cells)) of ``values`` (lead, *coarse)."""
        lead = values.shape[: values.ndim - self.nd]
        out = values
        for w in reversed(self._weights(values.dtype)):
            out = np.moveaxis(out @ w, -1, len(lead))
        return out.reshape(lead + (-1,))[..., self._local]

    def moments(self, maps):
        """The sums :meth:`finish` needs: a tuple of (lead, len(cells)) arrays."""
        return tuple(self.sums(m) for m in moment_maps(maps, self.pooling.op, self.pooling.p))

    def finish(self, moments):
        """Pooled values (lead, n_cells) from :meth:`moments` summed over the whole image."""
        return finish_moments(self.pooling.op, moments, self.counts, self.pooling.p)

    def __call__(self, maps):
        """Pool real maps (lead, *coarse) as ``pooling`` would at full resolution.

        For lp, var and std each map is first divided by its largest magnitude,
        and the result multiplied back (lp and std scale as it, var as its
        square): |x|^p and x^2 then neither overflow nor underflow (p=50 on
        responses near 1e-8), as the kernel's exact path does.
        """
        op = self.pooling.op
        if op not in ("lp", "var", "std"):
            return self.finish(self.moments(maps)).astype(maps.dtype, copy=False)
        axes = tuple(range(maps.ndim - self.nd, maps.ndim))
        with np.errstate(invalid="ignore"):
            scale = np.max(np.abs(maps), axis=axes, keepdims=True).astype(np.float64)
        scale[~np.isfinite(scale) | (scale == 0)] = 1.0
        pooled = self.finish(self.moments(maps / scale))
        scale = scale.reshape(scale.shape[: maps.ndim - self.nd] + (1,))
        pooled = pooled * (scale * scale if op == "var" else scale)
        return pooled.astype(maps.dtype, copy=False)


@cached
def _axis_weights(pooling, nd, axis, n, pad, grid, coarse):
    """(windows, coarse): each window's sum on one axis, as weights of the samples."""
    windows = _windows(pooling, (n,) * nd)[axis]   # an axis's windows need its length only
    starts = np.concatenate([w[0] for w in windows])
    stops = np.concatenate([w[1] for w in windows])
    running = _running_weights(n, pad, grid, coarse)
    weights = running[stops] - running[starts]
    weights.flags.writeable = False
    return weights


@cached
def _whole_cells(pooling, spatial):
    """(counts, cells, local) of a whole-image :class:`Quadrature`."""
    starts, _, cell_windows, counts = _cells(pooling, spatial)
    local = np.ravel_multi_index(cell_windows, [len(s) for s in starts])
    cells = np.arange(len(counts))
    local.flags.writeable = cells.flags.writeable = False
    return counts, cells, local


@cached
def _cells(pooling, spatial):
    """The pooling's windows on an image, shared by every tile's quadrature.

    Per axis the (starts, stops) of every window, pyramid levels one after
    the other; per axis each cell's window; the pixels of each cell.
    """
    windows = _windows(pooling, spatial)
    starts = [np.concatenate([w[0] for w in axis]) for axis in windows]
    stops = [np.concatenate([w[1] for w in axis]) for axis in windows]
    cell_windows = np.unravel_index(_cell_index(windows), [len(s) for s in starts])
    counts = functools.reduce(np.multiply, [(e - s)[i].astype(np.float64) for s, e, i
                                            in zip(starts, stops, cell_windows)])
    for array in starts + stops + list(cell_windows) + [counts]:
        array.flags.writeable = False
    return starts, stops, cell_windows, counts


def _windows(pooling, spatial):
    """Per axis, a list of (starts, stops) arrays: one per pyramid level (or one)."""
    if pooling.size is None:
        axes = [[AxisWindows.adaptive(n, g) for g in pooling.levels] for n in spatial]
    else:
        geometry = window_geometry(spatial, len(spatial), pooling.size, pooling.stride,
                                   pooling.padding, 1, False)
        axes = [[AxisWindows.sliding(n, k, s, p, d, n_out)]
                for n, (k, s, p, d, n_out) in zip(spatial, geometry)]
    return [[(w.taps[0] + w.taps[1], w.taps[0] + w.taps[2]) for w in level] for level in axes]


def _cell_index(windows):
    """Flat indices of the pooling's cells in the grid of every window combination."""
    nd = len(windows)
    sizes = [sum(len(s) for s, _ in axis) for axis in windows]
    cells = []
    for level in range(len(windows[0])):
        per_axis = []
        for axis in range(nd):
            offset = sum(len(s) for s, _ in windows[axis][:level])
            per_axis.append(offset + np.arange(len(windows[axis][level][0])))
        mesh = np.meshgrid(*per_axis, indexing="ij")
        cells.append(np.ravel_multi_index([m.ravel() for m in mesh], sizes))
    return np.concatenate(cells)
