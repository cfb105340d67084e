"""Per-label statistics of maps: one pass over each map, no loop over labels.

A label image (int32) and a lookup table from label values to object
indices (0..K-1, -1 for the background) say which object every pixel
belongs to. For each map, one
pass over its pixels adds each pixel's value to the accumulators of its
label: the count of valid cells, the sum and sum of squares of the values
minus a shift, the min, the max, and the sum of ``|x|^p`` for each ``p``.
The shift is the first valid value of the label, so the variance
``(S2 - S1^2 / n) / n`` keeps its precision for data far from zero (values
near 1e8 with a spread of 1), where plain sums of squares would cancel.

Optionally each object's bounding box is cut into a pyramid of adaptive
cells (PyTorch's bins, as featpool's image pyramid), and a pixel also adds
to the cells of every level that hold it (adaptive bins may overlap by one
pixel, so up to two cells per axis and level).

Maps are read as the pooling kernel reads them (``_load`` of _pooling.pxd):
real maps, or complex responses stored as interleaved (re, im) pairs through
a nonlinearity code, so no modulus map is written. Accumulators are float64
and accumulate across calls: the caller feeds the maps tile by tile or a few
filters at a time. Threads split the maps, each writing only its own rows of
``acc``; each map is visited in pixel order, so the result does not depend
on the number of threads. Kernels return nothing and never raise:
featpool/regions.py validates and allocates.
"""
from cython.parallel cimport prange
from libc.math cimport INFINITY, NAN
from libc.stdint cimport int32_t, int64_t
from libc.stdlib cimport free, malloc

from featpool._pooling cimport floating, Opts, T_NONE, _load, _better, _power

# Keep in sync with featpool/regions.py::STATS.
cdef enum:
    S_COUNT = 0
    S_SHIFT = 1
    S_SUM = 2
    S_SUMSQ = 3
    S_MIN = 4
    S_MAX = 5
    S_POWERS = 6


cdef struct Layout:
    Py_ssize_t nd          # 2 or 3 spatial axes (2D maps are read as one plane)
    Py_ssize_t D, H, W     # the maps' (tile's) shape
    Py_ssize_t z0, y0, x0  # the tile's origin in the whole image
    const Py_ssize_t* box  # per label: first index and extent per axis (z, y, x)
    const Py_ssize_t* levels
    Py_ssize_t n_levels
    Py_ssize_t n_cells     # cells per label (1 without a pyramid)
    Py_ssize_t n_stats
    const double* powers
    Py_ssize_t n_powers
    bint omit
    bint extremes
    bint moments


cdef inline void _add(double* a, double v, Layout* L) noexcept nogil:
    """Add one value to one cell's accumulators."""
    cdef Py_ssize_t k
    cdef double d
    if a[S_COUNT] == 0:
        a[S_SHIFT] = v
    a[S_COUNT] += 1
    if L.moments:
        d = v - a[S_SHIFT]
        a[S_SUM] += d
        a[S_SUMSQ] += d * d
    if L.extremes:
        if _better(v, a[S_MAX], False):
            a[S_MAX] = v
        if _better(v, a[S_MIN], True):
            a[S_MIN] = v
    for k in range(L.n_powers):
        a[S_POWERS + k] += _power(v, L.powers[k])


cdef inline void _bins(Py_ssize_t r, Py_ssize_t n, Py_ssize_t g, Py_ssize_t* lo,
                       Py_ssize_t* hi) noexcept nogil:
    """The adaptive bins lo..hi (inclusive) of g over n that hold offset r.

    Bin i spans floor(i n / g) <= r < ceil((i + 1) n / g).
    """
    lo[0] = (r * g) // n
    hi[0] = ((r + 1) * g + n - 1) // n - 1


cdef void _pyramid_add(double* acc, Py_ssize_t label, Py_ssize_t z, Py_ssize_t y,
                       Py_ssize_t x, double v, Layout* L) noexcept nogil:
    """Add v to every pyramid cell of ``label`` that holds pixel (z, y, x)."""
    cdef const Py_ssize_t* b = L.box + 6 * label
    cdef Py_ssize_t i, g, offset = 0, zl, zh, yl, yh, xl, xh, cz, cy, cx
    cdef double* base = acc + label * L.n_cells * L.n_stats
    for i in range(L.n_levels):
        g = L.levels[i]
        if L.nd == 3:
            _bins(z - b[0], b[3], g, &zl, &zh)
        else:
            zl = 0
            zh = 0
        _bins(y - b[1], b[4], g, &yl, &yh)
        _bins(x - b[2], b[5], g, &xl, &xh)
        for cz in range(zl, zh + 1):
            for cy in range(yl, yh + 1):
                for cx in range(xl, xh + 1):
                    _add(base + (offset + (cz * g + cy) * g + cx) * L.n_stats, v, L)
        offset += g * g * (g if L.nd == 3 else 1)


cdef enum:
    MAX_POWERS = 8  # exponents summed in one pass (featpool/regions.py splits more)


cdef inline void _run(const floating* row, Py_ssize_t start, Py_ssize_t end, Opts* o, double* a,
               Layout* L) noexcept nogil:
    """Add the pixels start..end-1 of a run of one label: sums in registers, one merge.

    Objects span many pixels along a row, so the label's accumulators are
    read and written once per run, not once per pixel. Real maps read as
    they are (no NaN to skip) take a loop of their own, with two partial
    sums so that additions do not wait on each other.
    """
    cdef Py_ssize_t pos, k
    cdef double v, d, e, shift, n = 0.0, s1 = 0.0, s2 = 0.0, t1 = 0.0, t2 = 0.0
    cdef double u1 = 0.0, u2 = 0.0, w1 = 0.0, w2 = 0.0
    cdef double low = INFINITY, high = -INFINITY, low2 = INFINITY, high2 = -INFINITY
    cdef bint nan = False
    cdef double sp[MAX_POWERS]
    for k in range(L.n_powers):
        sp[k] = 0.0
    if a[S_COUNT] == 0:  # the label's first valid value is its shift
        pos = start
        while pos < end:
            v = _load(row, pos, o)
            if not (L.omit and v != v):
                a[S_SHIFT] = v
                break
            pos += 1
        if pos == end:
            return
    shift = a[S_SHIFT]
    if not o.cplx and o.transform == T_NONE and not L.omit and L.n_powers == 0:
        if L.extremes:
            # (a if a > v else v) is one maxsd; a NaN is caught after the loop.
            pos = start
            while pos + 2 <= end:  # two chains, so that additions overlap
                v = row[pos]
                d = v - shift
                s1 += d
                s2 += d * d
                high = high if high > v else v
                low = low if low < v else v
                v = row[pos + 1]
                e = v - shift
                t1 += e
                t2 += e * e
                high2 = high2 if high2 > v else v
                low2 = low2 if low2 < v else v
                pos += 2
            if pos < end:
                v = row[pos]
                d = v - shift
                s1 += d
                s2 += d * d
                high = high if high > v else v
                low = low if low < v else v
            if s1 != s1 or t1 != t1:  # a NaN (or +inf and -inf): look for one
                for pos in range(start, end):
                    nan = nan | (row[pos] != row[pos])
            high = high2 if high2 > high else high
            low = low2 if low2 < low else low

            s1 = s1 + t1
            s2 = s2 + t2
            t1 = 0.0
            t2 = 0.0
        else:
            pos = start
            while pos + 4 <= end:
                d = row[pos] - shift
                e = row[pos + 1] - shift
                s1 += d
                s2 += d * d
                t1 += e
                t2 += e * e
                d = row[pos + 2] - shift
                e = row[pos + 3] - shift
                u1 += d
                u2 += d * d
                w1 += e
                w2 += e * e
                pos += 4
            while pos < end:
                d = row[pos] - shift
                s1 += d
                s2 += d * d
                pos += 1
            s1 = (s1 + t1) + (u1 + w1)
            s2 = (s2 + t2) + (u2 + w2)
            t1 = 0.0
            t2 = 0.0
        n = end - start
    else:
        for pos in range(start, end):
            v = _load(row, pos, o)
            if v != v:
                if L.omit:
                    continue
                nan = True
            n += 1.0
            d = v - shift
            s1 += d
            s2 += d * d
            if v > high:
                high = v
            if v < low:
                low = v
            for k in range(L.n_powers):
                sp[k] += _power(v, L.powers[k])
    if n == 0:
        return
    a[S_COUNT] += n
    a[S_SUM] += s1 + t1
    a[S_SUMSQ] += s2 + t2
    if nan:  # PyTorch's rule for the extremes: a NaN wins
        a[S_MAX] = NAN
        a[S_MIN] = NAN
    elif L.extremes:
        if high > a[S_MAX]:
            a[S_MAX] = high
        if low < a[S_MIN]:
            a[S_MIN] = low
    for k in range(L.n_powers):
        a[S_POWERS + k] += sp[k]


cdef void _runs(const floating* row, Opts* o, const int32_t* labels, const int32_t* lut,
                double* acc, Layout* L) noexcept nogil:
    """Whole objects: every run of one label along a row, in order."""
    cdef Py_ssize_t r, start, end, n_rows = L.D * L.H
    cdef int32_t label
    for r in range(n_rows):
        start = r * L.W
        while start < (r + 1) * L.W:
            label = labels[start]
            end = start + 1
            while end < (r + 1) * L.W and labels[end] == label:
                end += 1
            if lut[label] >= 0:
                _run(row, start, end, o, acc + lut[label] * L.n_stats, L)
            start = end


cdef struct Run:
    Py_ssize_t start   # first pixel of the run
    Py_ssize_t end     # one past its last
    Py_ssize_t obj     # its object index


cdef Py_ssize_t _find_runs(const int32_t* labels, const int32_t* lut, Py_ssize_t n_rows,
                           Py_ssize_t W, Run* runs) noexcept nogil:
    """The runs of one object along the rows (count only, where runs is NULL)."""
    cdef Py_ssize_t r, start, end, n = 0
    cdef int32_t label
    for r in range(n_rows):
        start = r * W
        while start < (r + 1) * W:
            label = labels[start]
            end = start + 1
            while end < (r + 1) * W and labels[end] == label:
                end += 1
            if lut[label] >= 0:
                if runs != NULL:
                    runs[n].start = start
                    runs[n].end = end
                    runs[n].obj = lut[label]
                n += 1
            start = end
    return n


cdef void _map_runs(const floating* x0, Py_ssize_t x_stride, const Py_ssize_t* source,
                    const int* transform, const Py_ssize_t* target, bint cplx,
                    const Run* runs, Py_ssize_t n_runs, double* acc0, Py_ssize_t acc_stride,
                    Py_ssize_t first, Py_ssize_t last, Layout* L) noexcept nogil:
    """Maps first..last-1, run by run: the maps of one run follow each other, so the
    run's length (the trip counts of its loops) is predicted after the first map."""
    cdef Opts o
    cdef Py_ssize_t i, m
    o.cplx = cplx
    for i in range(n_runs):
        for m in range(first, last):
            o.transform = transform[m]
            _run(x0 + source[m] * x_stride, runs[i].start, runs[i].end, &o,
                 acc0 + target[m] * acc_stride + runs[i].obj * L.n_stats, L)


cdef void _one_map(const floating* row, int transform, bint cplx, const int32_t* labels,
                   const int32_t* lut, double* acc, Layout* L) noexcept nogil:
    cdef Opts o
    cdef Py_ssize_t z, y, x, pos = 0
    cdef int32_t label
    cdef double v
    o.transform = transform
    o.cplx = cplx
    if L.n_levels == 1 and L.levels[0] == 1:
        _runs(row, &o, labels, lut, acc, L)
        return
    for z in range(L.D):
        for y in range(L.H):
            for x in range(L.W):
                label = lut[labels[pos]]
                if label >= 0:
                    v = _load(row, pos, &o)
                    if not (L.omit and v != v):
                        _pyramid_add(acc, label, L.z0 + z, L.y0 + y, L.x0 + x, v, L)
                pos += 1


def accumulate(const floating[:, ::1] x, const Py_ssize_t[::1] source,
               const int[::1] transform, const Py_ssize_t[::1] target, bint cplx,
               const int32_t[::1] labels, const int32_t[::1] lut, const Py_ssize_t[::1] shape,
               const Py_ssize_t[::1] origin, const Py_ssize_t[:, ::1] box,
               const Py_ssize_t[::1] levels, const double[::1] powers, bint omit,
               bint extremes, bint moments, double[:, :, ::1] acc, int n_threads):
    """Add maps to the per-label accumulators.

    IN x (n_in, n_pixels), or (n_in, 2 n_pixels) interleaved with ``cplx``;
    map m reads row source[m] through nonlinearity code transform[m] (T_* of
    _pooling.pxd) into row target[m] of acc. IN labels (n_pixels,) the label
    of each pixel of a tile of ``shape`` (D, H, W, nd) (2D: D = 1), whose
    first pixel is ``origin`` (z, y, x) in the whole image, and lut its
    object index (0..K-1; -1: none);
    box (K, 6) each label's first index and extent per axis (z, y, x);
    levels the pyramid over each box (``(1,)``: whole objects).
    INOUT acc (n_targets, K * n_cells, 6 + len(powers)).
    """
    cdef Layout L
    cdef Py_ssize_t m, n_maps = source.shape[0]
    cdef Py_ssize_t i, g
    if n_maps == 0 or labels.shape[0] == 0 or box.shape[0] == 0:
        return  # nothing to add (and no first element to point at)
    L.nd = 3 if shape[3] == 3 else 2
    L.D = shape[0]
    L.H = shape[1]
    L.W = shape[2]
    L.z0 = origin[0]
    L.y0 = origin[1]
    L.x0 = origin[2]
    L.box = &box[0, 0]
    L.levels = &levels[0]
    L.n_levels = levels.shape[0]
    L.n_cells = 0
    for i in range(levels.shape[0]):
        g = levels[i]
        L.n_cells += g * g * (g if L.nd == 3 else 1)
    L.n_stats = acc.shape[2]
    L.powers = &powers[0] if powers.shape[0] else NULL
    L.n_powers = powers.shape[0]
    L.omit = omit
    L.extremes = extremes
    L.moments = moments
    cdef Py_ssize_t n_runs = 0, n_blocks, t
    cdef Run* runs = NULL
    if L.n_levels == 1 and L.levels[0] == 1 and n_maps > 1:
        # Every map visits the same runs: find them once, where they are few
        # enough (objects, not noise) that the list is small.
        with nogil:
            n_runs = _find_runs(&labels[0], &lut[0], L.D * L.H, L.W, NULL)
            if n_runs * 8 <= labels.shape[0]:
                runs = <Run*> malloc(max(n_runs, 1) * sizeof(Run))
        if runs != NULL:
            with nogil:
                _find_runs(&labels[0], &lut[0], L.D * L.H, L.W, runs)
                # Threads take contiguous blocks of maps: each map is added by one
                # thread, in run order, whatever the thread count.
                n_blocks = min(max(n_threads, 1), n_maps)
                for t in prange(n_blocks, schedule="static", num_threads=n_blocks):
                    _map_runs(&x[0, 0], x.shape[1], &source[0], &transform[0], &target[0],
                              cplx, runs, n_runs, &acc[0, 0, 0], acc.shape[1] * acc.shape[2],
                              t * n_maps // n_blocks, (t + 1) * n_maps // n_blocks, &L)
            free(runs)
            return
    for m in prange(n_maps, schedule="static", nogil=True, num_threads=n_threads):
        _one_map(&x[source[m], 0], transform[m], cplx, &labels[0], &lut[0],
                 &acc[target[m], 0, 0], &L)


def geometry(const int32_t[::1] labels, const Py_ssize_t[::1] shape, int64_t[::1] area,
             Py_ssize_t[:, ::1] box, double[:, ::1] centroid):
    """Area, bounding box and coordinate sums of every label value, in one pass.

    IN labels (D * H * W,) label values (0: none). OUT, indexed by label
    value: area, box (first and last index per axis z, y, x; the caller
    initialises first to the shape and last to -1), centroid (sums of
    coordinates). Runs of one label along a row are added at once.
    """
    cdef Py_ssize_t z, y, start, end, row, W = shape[2]
    cdef int32_t label
    cdef double n
    with nogil:
        for z in range(shape[0]):
            for y in range(shape[1]):
                row = (z * shape[1] + y) * W
                start = 0
                while start < W:
                    label = labels[row + start]
                    end = start + 1
                    while end < W and labels[row + end] == label:
                        end += 1
                    if label > 0:
                        n = end - start
                        area[label] += end - start
                        centroid[label, 0] += n * z
                        centroid[label, 1] += n * y
                        centroid[label, 2] += n * (start + end - 1) / 2.0
                        if z < box[label, 0]:
                            box[label, 0] = z
                        if y < box[label, 1]:
                            box[label, 1] = y
                        if start < box[label, 2]:
                            box[label, 2] = start
                        if z > box[label, 3]:
                            box[label, 3] = z
                        if y > box[label, 4]:
                            box[label, 4] = y
                        if end - 1 > box[label, 5]:
                            box[label, 5] = end - 1
                    start = end
