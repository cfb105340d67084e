"""The FFT engine behind :func:`featpool.filter_pool`: plans, spectra, fused pooling.

Private: :mod:`featpool.responses` validates the user's arguments once per
call and hands validated stacks of images to :func:`pool_stack`; everything
here trusts its input (the arrays it is given, the poolings, the bank).

The path of every image: pad (border ``mode``, each group of filters as far
as it reaches) → FFT → for each filter, multiply by its spectrum → inverse
FFT, either at full resolution, cropped to the image, then the nonlinearity
and pooling fused in the pooling kernel (it reads the complex responses, so
no modulus map is stored), or, for averaging poolings, on the coarsest grid
the filter's band allows, then the nonlinearity and a quadrature of the
samples (:mod:`featpool._multires`). Filters are processed a few at a time,
so the full-resolution response stack of a large image is never held in
memory at once; very large images go tile by tile.

Memory: every chunk size comes from the configured working memory
(:func:`featpool.set_config`), by default 256 MiB: responses held per chunk
of filters (1/8 of it), full-size maps of the tiled path (all of it), and the
switch to tiles when a bank's spectra on the padded image would take more
than twice it.
"""
import functools
import itertools
from dataclasses import dataclass, replace

import numpy as np
import scipy.fft

from . import _spectral
from ._cache import cached
from ._config import working_memory_bytes
from ._multires import (MAX_COARSE_FRACTION, Quadrature, band_layout, crop_indices,
                        oversampling, power_layout)
from ._vocabulary import AVERAGING, MAX_COARSE_P, NONLINEARITIES, apply_nonlinearity
from ._windows import MIN_PARALLEL_SIZE, pool_cells
from .filters._bank import COMPLEX

# scipy.ndimage's vocabulary: 'reflect' repeats the edge pixel (d c b a | a b c d).
BORDER_MODES = {"reflect": "symmetric", "mirror": "reflect", "wrap": "wrap",
                "constant": "constant", "nearest": "edge"}
# Fractions of the working memory (see the module docstring). Responses per
# chunk stay small so that the allocator reuses memory instead of faulting in
# new pages.
_WORK_FRACTION = 1 / 8
_BANK_FRACTION = 2.0
_MAP_FRACTION = 1.0
# Very large images are filtered on tiles of this many core pixels per axis.
_TILE = 512
# A forward FFT (padding, real input) costs about this many inverse-FFT points
# per point of its grid (measured, 2 threads): a group of filters moves to the
# next larger grid when that adds fewer points than its own forward FFT.
_FORWARD_COST = 1.5


def map_kinds(nonlinearity):
    """The pooling-kernel nonlinearities of the maps one engine nonlinearity gives."""
    return NONLINEARITIES[nonlinearity]


# --------------------------------------------------------------------------
# Geometry: padding and resolutions
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class _Plan:
    """How one group of filters is applied to images of one shape."""

    spatial: tuple       # image shape
    index: np.ndarray    # the group's filters (indices in the bank)
    pad: tuple           # pixels added before the image, per axis
    padded: tuple        # FFT grid
    periodic: tuple      # per axis: the grid is one period of the border extension
    coarse: tuple        # the grid the responses are sampled on (padded: full resolution)
    centres: np.ndarray  # (n_filters, ndim) band centres moved to bin 0 (coarse grids)
    group: tuple         # every filter on this grid (plans split a group by coarse grid)

    @property
    def full_resolution(self):
        return self.coarse == self.padded


def _coarse_exact(pooling):
    """Whether coarse samples pool as the full-resolution maps would: averaging
    ops, but not a power mean of high order (|y|^p spreads the band p-fold;
    measured: p=6 within 4e-5, p=8 1.3e-2 off on natural images)."""
    return pooling.op in AVERAGING and not (pooling.op == "lp" and pooling.p > MAX_COARSE_P)


@cached
def make_plans(bank, spatial, mode, pooling, multiresolution, nonlinearity="modulus"):
    """Group the bank's filters by reach and resolution; one _Plan per group.

    Each group is padded just as far as its own filters reach, so the fine
    filters (most of a bank's cost) get small FFTs instead of the grid that
    the widest filter needs; a group moves to the next larger grid when that
    costs less than its own forward FFT. With ``multiresolution`` (averaging
    poolings only), each filter's responses are then sampled on the coarsest
    grid its band allows (see :mod:`featpool._multires`).
    """
    nd = len(spatial)
    if mode == "wrap":
        # A circular convolution is what 'wrap' means: no padding, one group.
        reach = np.zeros(len(bank), dtype=np.intp)
    else:
        # Reaches within a factor sqrt(2) share a group (and its padding).
        support = np.maximum(np.asarray(bank.support_radius), 1)
        reach = np.ceil(2 * np.log2(support)).astype(np.intp)
    coarse_ok = multiresolution and all(_coarse_exact(p) for p in pooling)
    if coarse_ok:
        factor = oversampling([p.op for p in pooling], nonlinearity, bool(bank.is_real))
    demodulate = nonlinearity in ("modulus", "square")

    def layout(index, grids):
        if coarse_ok:
            return _band_layout(bank, tuple(index.tolist()), grids, demodulate, factor)
        return (np.zeros((len(index), nd), dtype=np.intp),
                np.tile(np.array(grids, dtype=np.intp), (len(index), 1)))

    def cost(index, grids):
        """Points of the inverse FFTs of ``index`` on ``grids``.

        Estimated from each filter's band as a fraction of a probe grid (a
        band spans the same frequencies, so a number of bins proportional to
        the grid), so that weighing a move builds no bank on a grid it may
        not use.
        """
        if not coarse_ok:
            return float(len(index) * np.prod(grids))
        fractions = _band_fractions(bank, demodulate, factor, largest)[index]
        points = np.prod(np.minimum(fractions * np.array(grids), grids), axis=1)
        points[points > MAX_COARSE_FRACTION * np.prod(grids)] = np.prod(grids)
        return float(points.sum())

    keys = sorted(set(reach.tolist()))
    geometries = {key: _geometry(spatial, mode, int(np.max(bank.support_radius[reach == key])))
                  for key in keys}
    largest = max(max(g[1]) for g in geometries.values())
    groups = []  # (filters, (pads, grids, periodic)), reach increasing
    for key in keys:
        index = np.flatnonzero(reach == key)
        geometry = geometries[key]
        if groups:
            previous, before = groups[-1]
            alone = _FORWARD_COST * np.prod(before[1]) + cost(previous, before[1])
            if cost(previous, geometry[1]) <= alone:
                index = np.sort(np.concatenate([previous, index]))
                groups.pop()
        groups.append((index, geometry))
    plans = []
    for index, (pads, grids, periodic) in groups:
        centres, lengths = layout(index, grids)
        for coarse in sorted(set(map(tuple, lengths.tolist()))):
            rows = np.flatnonzero((lengths == coarse).all(axis=1))
            plan = _Plan(tuple(spatial), index[rows], pads, grids, periodic,
                         tuple(int(c) for c in coarse), centres[rows], tuple(index.tolist()))
            plan.index.flags.writeable = plan.centres.flags.writeable = False  # cached
            plans.append(plan)
    return tuple(plans)


def _geometry(spatial, mode, reach):
    """(pads, grids, periodic) per axis for filters that reach ``reach`` pixels."""
    if mode == "wrap":
        return (0,) * len(spatial), tuple(spatial), (True,) * len(spatial)
    pads, grids, periodic = [], [], []
    for n in spatial:
        grid = scipy.fft.next_fast_len(n + 2 * reach)
        # A mirror extension repeats with period 2n ('reflect') or 2n - 2
        # ('mirror'): one period is an exact grid for any filter reach,
        # and a smaller one than the padding on small images.
        period = {"reflect": 2 * n, "mirror": 2 * n - 2}.get(mode)
        if period is not None and period < grid:
            pads.append(0), grids.append(period), periodic.append(True)
        else:
            pads.append(reach), grids.append(grid), periodic.append(False)
    return tuple(pads), tuple(grids), tuple(periodic)


@cached
def _band_fractions(bank, demodulate, oversampling, largest):
    """(n_filters, ndim): coarse lengths as fractions of the grid, on a probe grid.

    The probe holds the widest filter twice over, so that estimating costs
    never builds the bank on a large grid; but it is never larger than the
    largest grid the plans consider (``largest``, or 256), since a filter far
    wider than the image (a bank of many scales on a small image) would make
    it huge: 64 filters on a 5760^2 probe took 16 GiB for 64x64 images.
    """
    side = max(32, scipy.fft.next_fast_len(4 * bank.spatial_support + 1))
    probe = (min(side, max(256, largest)),) * bank.ndim
    lengths = _band_layout(bank, tuple(range(len(bank))), probe, demodulate, oversampling)[1]
    return lengths / np.array(probe)


@cached
def _band_layout(bank, index, shape, demodulate, oversampling):
    """Cached :func:`featpool._multires.band_layout` of a group of filters.

    From the spectra on the whole grid, as every bank: a band's edges are
    decided on its float32 power (deciding them from a separable bank's exact
    factors, axis by axis, moved an edge on 9% of grid sizes, and features by
    up to 3e-4).
    """
    if bank.axis_factors() is None:
        return band_layout(np.asarray(bank.select(list(index), shape).spectra), demodulate,
                           oversampling)
    # The float32 power of the spectra, |c|^2 for c the float64 product of the
    # factors rounded (the spectra's imaginary parts are 0): the same values,
    # made in place without a grid-sized bank.
    power = _multiply_out(_factor_rows(bank, index, shape),
                          np.empty((len(index),) + tuple(shape), dtype=bank.dtype))
    np.square(power, out=power)
    return power_layout(power, demodulate, oversampling)


def _factor_rows(bank, index, shape):
    """Per axis, the factors of filters ``index`` of a separable bank on ``shape``."""
    return [_axis_factor(bank, len(shape), a, n)[list(index)] for a, n in enumerate(shape)]


def _multiply_out(rows, out):
    """``out[k]``: the outer product of ``rows[0][k], rows[1][k], ...`` (per axis (K, n)).

    The float64 products are cast once into ``out``'s dtype (float32 power,
    complex spectra), the values a separable bank's spectra hold, with no
    float64 array of the whole grid on the way.
    """
    k, nd = len(out), len(rows)
    shaped = [r.reshape((k,) + (1,) * a + (r.shape[1],) + (1,) * (nd - 1 - a))
              for a, r in enumerate(rows)]
    np.multiply(functools.reduce(np.multiply, shaped[:-1]), shaped[-1], out=out,
                casting="unsafe")
    return out


@cached
def _axis_factor(bank, ndim, axis, n):
    """(n_filters, n): a separable bank's factors along ``axis`` on a grid ``n`` long
    there (they do not depend on the other axes)."""
    return bank.for_shape((n,) * ndim).axis_factors()[axis]


# --------------------------------------------------------------------------
# The engine
# --------------------------------------------------------------------------

def _fft_workers(array, workers):
    """Threads for one FFT call: waking them costs more than a small transform
    (a single 80x80 image took twice as long with 2 threads as with 1)."""
    return 1 if array.size < MIN_PARALLEL_SIZE else workers


def _forward(batch, plan, mode, dtype, workers):
    """Pad a batch (b, *spatial) and return its full complex spectrum."""
    nd = len(plan.spatial)
    width = [(0, 0)] + [(0, 0) if periodic else (p, q - n - p) for p, q, n, periodic
                        in zip(plan.pad, plan.padded, plan.spatial, plan.periodic)]
    if any(w != (0, 0) for w in width):
        batch = np.pad(batch, width, mode=BORDER_MODES[mode])
    if mode in ("reflect", "mirror"):
        for axis, periodic in enumerate(plan.periodic, start=1):
            if periodic:  # one period of the mirror extension: x then x reversed
                back = np.flip(batch, axis=axis)
                if mode == "mirror":
                    back = back.take(range(1, batch.shape[axis] - 1), axis=axis)
                batch = np.concatenate([batch, back], axis=axis)
    batch = batch.astype(dtype, copy=False)
    axes = tuple(range(1, nd + 1))
    return scipy.fft.fftn(batch, axes=axes, workers=_fft_workers(batch, workers))


@cached
def _group_spectra(bank, index, shape, coarse=None, centres=None, paired=False, group=None):
    """The spectra of filters ``index`` on ``shape``: (spectra, None) at full resolution.

    ``paired`` (real kernels only): filters two by two as ``H[2j] + 1j *
    H[2j + 1]`` (a zero filter completes an odd count). Both kernels are real,
    so one complex inverse FFT of the product gives the first response as its
    real part and the second as its imaginary part: half the products and
    transforms.

    For a coarse grid, each filter's band cropped around its centre
    (``centres``, a tuple of per-filter tuples), scaled for the inverse FFT
    at the coarse size, with the flat indices of the image spectrum's bins
    it multiplies: (cropped spectra (f, *coarse), indices (f, *coarse)).

    ``group`` (a superset of ``index``): the filters built on ``shape``
    together, once, for all the plans that share the grid.
    """
    if bank.axis_factors() is not None:   # from vectors, not a bank on this grid
        factors = _factor_rows(bank, index, shape)
        if coarse is not None and tuple(coarse) != tuple(shape):
            return _separable_crop(factors, shape, centres, coarse, bank.dtype)
        spectra = _multiply_out(factors, np.empty((len(index),) + tuple(shape),
                                                  COMPLEX[bank.dtype]))
        spectra.flags.writeable = False
        return spectra, None
    if group is None or tuple(group) == tuple(index):
        spectra = bank.select(list(index), shape).spectra
    else:
        position = {g: k for k, g in enumerate(group)}
        spectra = np.asarray(bank.select(list(group), shape).spectra)[
            [position[i] for i in index]]
    if paired:
        spectra = np.asarray(spectra)
        if len(spectra) % 2:
            spectra = np.concatenate([spectra, np.zeros_like(spectra[:1])])
        pairs = (spectra[0::2] + 1j * spectra[1::2]).astype(spectra.dtype)
        pairs.flags.writeable = False
        return pairs, None
    if coarse is None or tuple(coarse) == tuple(shape):
        return spectra, None
    flat = crop_indices(shape, np.array(centres, dtype=np.intp).reshape(len(index), -1),
                        coarse)
    scale = np.prod(coarse) / np.prod(shape)  # ifft at the coarse size divides by less
    cropped = np.take_along_axis(np.asarray(spectra).reshape(len(index), -1),
                                 flat.reshape(len(index), -1), axis=1).reshape(flat.shape)
    cropped = (cropped * scale).astype(spectra.dtype, copy=False)
    flat.flags.writeable = cropped.flags.writeable = False
    return cropped, flat


def _separable_crop(factors, shape, centres, coarse, dtype):
    """:func:`_group_spectra`'s crop of a separable bank, from its factors alone:
    the same values (float64 products cast once), without the whole grid."""
    centres = np.array(centres, dtype=np.intp).reshape(len(factors[0]), -1)
    flat = crop_indices(shape, centres, coarse)
    rows = [np.take_along_axis(factor, (centres[:, axis, None]
                                        + np.fft.fftfreq(m, 1.0 / m).astype(np.intp)) % n, axis=1)
            for axis, (factor, n, m) in enumerate(zip(factors, shape, coarse))]
    cropped = _multiply_out(rows, np.empty((len(centres),) + tuple(coarse),
                                           COMPLEX[np.dtype(dtype)]))
    cropped *= np.prod(coarse) / np.prod(shape)  # ifft at the coarse size divides by less
    flat.flags.writeable = cropped.flags.writeable = False
    return cropped, flat


def _multiply(spectrum, filters, flat, out, n_threads):
    """out[i, f] = spectrum[i] * filters[f], or spectrum[i].flat[flat[f]] * filters[f].

    The threaded kernels of featpool._spectral, on interleaved views.
    """
    if out.size == 0:
        return
    real = spectrum.real.dtype
    # Waking threads costs more than a small product (as in featpool.pooling).
    n_threads = 1 if out.size < MIN_PARALLEL_SIZE else n_threads
    b, f = out.shape[:2]
    spectra = np.ascontiguousarray(spectrum).reshape(b, -1).view(real)
    filters = np.ascontiguousarray(filters).reshape(f, -1).view(real)
    target = out.reshape(b, f, -1).view(real)
    if flat is None:
        bins = np.zeros((1, 1), dtype=np.intp)
    else:
        bins = np.ascontiguousarray(flat, dtype=np.intp).reshape(f, -1)
    _spectral.multiply(spectra, filters, bins, flat is not None, target, n_threads)


class _Buffers:
    """Work arrays reused from chunk to chunk within one call.

    A fresh array of many MiB is page-faulted in on first touch every time it
    is allocated, which costs as much as multiplying it; reusing one does not.
    """

    def __init__(self):
        self._flat = {}

    def get(self, name, shape, dtype):
        size, dtype = int(np.prod(shape)), np.dtype(dtype)
        flat = self._flat.get(name)
        if flat is None or flat.size < size or flat.dtype != dtype:
            flat = self._flat[name] = np.empty(size, dtype=dtype)
        return flat[:size].reshape(shape)


def _responses_at(spectrum, filters, plan, workers, flat=None, buffers=None, split=False,
                  whole_grid=False):
    """Complex responses of the filters: (b, f, *spatial), or (b, f, *coarse) samples.

    ``filters`` and ``flat`` come from :func:`_group_spectra`: with ``flat``,
    the responses are the demodulated bands sampled on the plan's coarse grid
    (the whole period); without, full-resolution responses cropped to the
    image (``whole_grid``: the whole grid, not cropped). ``split`` (paired
    real filters): real responses (b, 2 f, *spatial),
    each pair's real then imaginary part. With ``buffers`` the result lives
    in them, overwritten by the next call.
    """
    nd = len(plan.spatial)
    buffers = _Buffers() if buffers is None else buffers
    lead = (len(spectrum), len(filters))
    grid = plan.padded if flat is None else plan.coarse
    product = buffers.get("product", lead + tuple(grid), spectrum.dtype)
    _multiply(spectrum, filters, flat, product, workers)
    if flat is not None or whole_grid:
        return scipy.fft.ifftn(product, axes=tuple(range(2, nd + 2)),
                               workers=_fft_workers(product, workers), overwrite_x=True)
    # One axis at a time, cropping each to the image before transforming the
    # next: the padding's rows are never transformed along the last axis.
    y = product
    for axis, (p, n, g) in enumerate(zip(plan.pad, plan.spatial, plan.padded), start=2):
        y = scipy.fft.ifft(y, axis=axis, workers=_fft_workers(y, workers), overwrite_x=True)
        if n < g:
            y = y[(slice(None),) * axis + (slice(p, p + n),)]
    if split:
        parts = buffers.get("split", y.shape[:2] + (2,) + y.shape[2:], y.real.dtype)
        np.copyto(parts[:, :, 0], y.real)
        np.copyto(parts[:, :, 1], y.imag)
        return parts.reshape((y.shape[0], 2 * y.shape[1]) + y.shape[2:])
    if y.flags.c_contiguous:
        return y
    crop = buffers.get("crop", y.shape, y.dtype)
    np.copyto(crop, y)
    return crop


def _chunks(n, per_filter_bytes, budget=None):
    """Slices of ``range(n)`` (filters) whose responses fit in ``budget`` bytes.

    Slices, not index arrays: indexing spectra and bins with them makes views.
    """
    budget = working_memory_bytes(_WORK_FRACTION) if budget is None else budget
    size = max(1, int(budget // max(per_filter_bytes, 1)))
    for start in range(0, n, size):
        yield slice(start, min(start + size, n))


def _bank_bytes(n_filters, shape, dtype):
    return n_filters * int(np.prod(shape)) * 2 * np.dtype(dtype).itemsize


def _run_tiled(x, bank, mode, nonlinearity, poolings, multiresolution, workers, n_threads):
    """Pooled responses (b, n_maps, n_cells) of large images, tile by tile.

    Overlap-save: the image is padded once by the bank's support; each tile of
    ``_TILE`` core pixels per axis is filtered, group by group as on a whole
    image (each group of filters on a grid padded as far as it reaches), and
    only the core of its responses is used. The bank is only ever built on
    tile grids, and no full-resolution stack of all responses is held:

    * averaging poolings add up, tile by tile, the window sums that the
      quadrature of :mod:`featpool._multires` gives (from coarse samples with
      ``multiresolution``, else from every pixel): nothing full-size is held;
    * other poolings write the cores into full-size maps of a few filters at
      a time, which are then pooled.
    """
    nd = bank.ndim
    spatial = x.shape[1:]
    support = bank.spatial_support
    image = np.pad(x, [(0, 0)] + [(support, support)] * nd,
                   mode=BORDER_MODES[mode]).astype(bank.dtype, copy=False)
    core = tuple(min(_TILE, n) for n in spatial)
    averaging = all(_coarse_exact(p) for p in poolings)
    # Tiles are cut from the padded image: no border mode inside the plan.
    plans = make_plans(bank, core, "constant", poolings, multiresolution and averaging,
                  nonlinearity)
    kinds = map_kinds(nonlinearity)
    origins = list(itertools.product(*(range(0, n, c) for n, c in zip(spatial, core))))
    buffers = _Buffers()

    def tiles(plan):
        """(origin, core size, plan for that size, tile spectrum) for every tile."""
        for origin in origins:
            size = tuple(min(c, n - o) for o, c, n in zip(origin, core, spatial))
            source = tuple(slice(o + support - r, o + support + s + r)
                           for o, s, r in zip(origin, size, plan.pad))
            tile = buffers.get("tile", (x.shape[0],) + plan.padded, bank.dtype)
            tile[...] = 0
            tile[(slice(None),) + tuple(slice(0, s + 2 * r) for s, r in
                                        zip(size, plan.pad))] = image[(slice(None),) + source]
            spectrum = scipy.fft.fftn(tile, axes=tuple(range(1, nd + 1)), workers=workers)
            yield origin, size, replace(plan, spatial=size), spectrum

    if averaging:
        return _tile_sums(x.shape[0], spatial, bank, plans, tiles, kinds, poolings, workers,
                          buffers)
    out = np.empty((x.shape[0], len(bank), len(kinds), sum(p.n_cells(spatial)
                                                           for p in poolings)), bank.dtype)
    map_bytes = x.shape[0] * len(kinds) * int(np.prod(spatial)) * bank.dtype.itemsize
    for plan in plans:
        filters, _ = _group_spectra(bank, tuple(plan.index.tolist()), plan.padded,
                                    group=plan.group)
        for chunk in _chunks(len(plan.index), map_bytes, working_memory_bytes(_MAP_FRACTION)):
            maps = np.empty((x.shape[0], chunk.stop - chunk.start, len(kinds)) + spatial,
                            dtype=bank.dtype)
            for origin, size, at, spectrum in tiles(plan):
                y = _responses_at(spectrum, filters[chunk], at, workers, None, buffers)
                target = tuple(slice(o, o + s) for o, s in zip(origin, size))
                for k, kind in enumerate(kinds):
                    maps[(slice(None), slice(None), k) + target] = apply_nonlinearity(y, kind)
            out[:, plan.index[chunk]] = np.concatenate(
                [pool_cells(maps, p, nd, None, n_threads) for p in poolings], axis=-1)
            del maps
    return out.reshape(x.shape[0], len(bank) * len(kinds), -1)


def _tile_sums(n_images, image_shape, bank, plans, tiles, kinds, poolings, workers, buffers):
    """Averaging poolings of the tiled path: window sums added up over tiles."""
    totals = None  # per pooling, per moment: (b, n_filters, n_kinds, n_cells)
    grids = {}     # plans by tile grid: one forward FFT per tile and grid
    for plan in plans:
        grids.setdefault((plan.pad, plan.padded), []).append(plan)
    for group in grids.values():
        spectra = [_group_spectra(bank, tuple(plan.index.tolist()), plan.padded, plan.coarse,
                                  tuple(map(tuple, plan.centres.tolist())), group=plan.group)
                   for plan in group]
        for origin, size, _, spectrum in tiles(group[0]):
            for plan, (filters, flat) in zip(group, spectra):
                at = replace(plan, spatial=size)
                quadratures = [Quadrature(p, image_shape, at.pad, at.padded, at.coarse,
                                          origin, size) for p in poolings]
                if totals is None:  # every tile's quadratures know the whole windows
                    finishers = quadratures
                    totals = [[np.zeros((n_images, len(bank), len(kinds), len(q.counts)))
                               for _ in q.moments(np.zeros((1,) + at.coarse))]
                              for q in quadratures]
                per_filter = 4 * n_images * np.prod(plan.coarse) * bank.dtype.itemsize
                for chunk in _chunks(len(plan.index), per_filter):
                    y = _responses_at(spectrum, filters[chunk], at, workers,
                                      None if flat is None else flat[chunk], buffers,
                                      whole_grid=True)
                    rows = plan.index[chunk][:, None]
                    for k, kind in enumerate(kinds):
                        maps = apply_nonlinearity(y, kind)
                        for q, total in zip(quadratures, totals):
                            for moment, part in zip(q.moments(maps), total):
                                part[:, rows, k, q.cells[None]] += moment
    pooled = [q.finish(total) for q, total in zip(finishers, totals)]
    out = np.concatenate(pooled, axis=-1).astype(bank.dtype, copy=False)
    return out.reshape(n_images, len(bank) * len(kinds), -1)


def _run_bank(x, bank, plans, mode, nonlinearity, poolings, workers, n_threads):
    """Pooled responses (b, n_maps, n_cells) of a batch x (b, *spatial)."""
    nd = bank.ndim
    kinds = map_kinds(nonlinearity)
    n_cells = sum(p.n_cells(x.shape[1:]) for p in poolings)
    out = np.empty((x.shape[0], len(bank), len(kinds), n_cells), dtype=bank.dtype)
    grid, buffers = None, _Buffers()
    for plan in plans:  # the plans of one grid follow each other: one forward FFT
        if grid != (plan.pad, plan.padded, plan.periodic):
            grid = (plan.pad, plan.padded, plan.periodic)
            spectrum = _forward(x, plan, mode, bank.dtype, workers)
        index = tuple(plan.index.tolist())
        paired = plan.full_resolution and bank.is_real
        if plan.full_resolution:
            filters, flat = _group_spectra(bank, index, plan.padded, paired=paired,
                                           group=plan.group)
            per_filter = 2 * spectrum.nbytes
        else:
            filters, flat = _group_spectra(bank, index, plan.padded, plan.coarse,
                                           tuple(map(tuple, plan.centres.tolist())),
                                           group=plan.group)
            quadratures = [_quadrature(p, plan.spatial, plan.pad, plan.padded, plan.coarse)
                           for p in poolings]
            per_filter = 2 * spectrum.nbytes * np.prod(plan.coarse) / np.prod(plan.padded)
        for chunk in _chunks(len(filters), per_filter):
            y = _responses_at(spectrum, filters[chunk], plan, workers,
                              None if flat is None else flat[chunk], buffers, paired)
            rows = chunk
            if paired:  # two real maps per product; an odd bank's last one is padding
                rows = slice(2 * chunk.start, min(2 * chunk.stop, len(plan.index)))
                y = y[:, :rows.stop - rows.start]
            for k, kind in enumerate(kinds):
                if plan.full_resolution:  # the kernel reads the complex responses
                    pooled = [pool_cells(y, p, nd, kind, n_threads) for p in poolings]
                else:
                    maps = apply_nonlinearity(y, kind)
                    pooled = [q(maps) for q in quadratures]
                out[:, plan.index[rows], k] = np.concatenate(pooled, axis=-1)
    return out.reshape(x.shape[0], len(bank) * len(kinds), n_cells)


@cached
def _quadrature(pooling, spatial, pad, padded, coarse):
    return Quadrature(pooling, spatial, pad, padded, coarse)




def full_responses(x, bank, plans, mode, index, workers):
    """Yield (filters, complex full-resolution responses (b, len(filters), *spatial)).

    Only the filters in ``index``, a few at a time; each group's image
    spectrum is computed once.
    """
    wanted = set(int(i) for i in index)
    for plan in plans:
        mine = np.array([i for i in plan.index if int(i) in wanted], dtype=np.intp)
        if not mine.size:
            continue
        filters, _ = _group_spectra(bank, tuple(plan.index.tolist()), plan.padded,
                                    group=plan.group)
        rows = np.searchsorted(plan.index, mine)
        spectrum = _forward(x, plan, mode, bank.dtype, workers)
        for chunk in _chunks(mine.size, spectrum.nbytes * 2):
            yield mine[chunk], _responses_at(spectrum, filters[rows[chunk]], plan, workers)


def second_layer_pairs(bank, second_bank):
    """(i, j) for every first-layer filter i and coarser second-layer filter j."""
    if second_bank is None:
        return []
    # Coarser by more than rounding: banks built apart (e.g. a second bank
    # from a frequency range) give equal scales frequencies an ulp apart.
    return [(i, j) for i, m1 in enumerate(bank.metadata)
            for j, m2 in enumerate(second_bank.metadata)
            if (m2["frequency"] or 0.0) < (m1["frequency"] or 0.0) * (1 - 1e-9)]


def _run_second_layer(x, bank, second_bank, pairs, mode, nonlinearity, poolings,
                      multiresolution, workers, n_threads):
    """Pooled ||x * g1| * g2| for the (g1, g2) pairs: (b, n_pairs * kinds, n_cells).

    The first-layer modulus maps of a few filters at a time are themselves
    filtered by the engine, as a batch of images.
    """
    spatial = x.shape[1:]
    first = sorted({i for i, _ in pairs})
    full_plans = make_plans(bank, tuple(spatial), mode, tuple(poolings), False)
    n_kinds = len(map_kinds(nonlinearity))
    n_cells = sum(p.n_cells(spatial) for p in poolings)
    pooled = {}
    for chunk, y in full_responses(x, bank, full_plans, mode, first, workers):
        moduli = np.abs(y).reshape((-1,) + spatial)
        second = pool_stack(moduli, second_bank, poolings, nonlinearity, mode,
                            multiresolution, None, None, workers, n_threads)
        second = second.reshape(x.shape[0], len(chunk), len(second_bank), n_kinds, n_cells)
        for c, i in enumerate(chunk):
            pooled[int(i)] = second[:, c]
    out = np.stack([pooled[i][:, j] for i, j in pairs], axis=1)
    return out.reshape(x.shape[0], len(pairs) * n_kinds, n_cells)


def _batches(n, per_image_bytes, batch_size):
    if batch_size is None:
        budget = working_memory_bytes(_WORK_FRACTION / 4)
        batch_size = max(1, int(budget // max(per_image_bytes, 1)))
    for start in range(0, n, batch_size):
        yield slice(start, min(start + batch_size, n))


def pool_stack(flat, bank, poolings, nonlinearity, mode, multiresolution, second_bank,
               batch_size, workers, n_threads):
    """Pooled responses (n, n_maps, n_cells) of a validated stack ``flat`` (n, *spatial).

    The one path from images to the pooling kernels: ``flat`` is real, finite,
    at least 2 pixels per axis; ``poolings`` a tuple of Pooling; ``n_threads``
    and ``workers`` resolved counts. Images go in batches (``batch_size``, or
    from the working memory), large ones tile by tile.
    """
    spatial = tuple(flat.shape[1:])
    plans = make_plans(bank, spatial, mode, poolings, False)
    kinds = map_kinds(nonlinearity)
    n_first = len(bank) * len(kinds)
    pairs = second_layer_pairs(bank, second_bank)
    n_maps = n_first + len(pairs) * len(kinds)
    n_cells = sum(p.n_cells(spatial) for p in poolings)
    out = np.empty((flat.shape[0], n_maps, n_cells), dtype=bank.dtype)
    per_image = max(np.prod(p.padded) for p in plans) * 2 * bank.dtype.itemsize
    tiled = sum(_bank_bytes(len(p.index), p.padded, bank.dtype)
                for p in plans) > working_memory_bytes(_BANK_FRACTION)
    if multiresolution and not tiled:
        plans = make_plans(bank, spatial, mode, poolings, True, nonlinearity)
    for part in _batches(flat.shape[0], per_image, batch_size):
        if tiled:
            out[part, :n_first] = _run_tiled(flat[part], bank, mode, nonlinearity, poolings,
                                             multiresolution, workers, n_threads)
        else:
            out[part, :n_first] = _run_bank(flat[part], bank, plans, mode, nonlinearity,
                                            poolings, workers, n_threads)
        if pairs:
            out[part, n_first:] = _run_second_layer(
                flat[part], bank, second_bank, pairs, mode, nonlinearity, poolings,
                multiresolution, workers, n_threads)
    return out
