"""Pooling kernels for every op, 2D and 3D: separable passes and a row-wise path.

Every pooling here is a reduction over a box of taps, so it is computed one
axis at a time (W, then H, then D). A window of ``kd x kh x kw`` taps costs
``kd + kh + kw`` reads per output, not their product, so overlapping windows
(3x3 stride 2, 7x7 stride 1) stay fast. Non-overlapping max/min/sum/mean take
a row-wise path with the same results (see "The row-wise path" below).

Per axis the caller gives, for every output position ``o``, the first input
index of its window ``start[o]`` and the range of taps ``lo[o] <= t < hi[o]``
that fall inside the input (taps in the padding are never read), with the
dilation ``d``: the window reads ``start[o] + t * d``. That one description
covers strided, padded, dilated, ceil-mode and adaptive (variable-size) windows.

Intermediate results are float64 "channels" of accumulators: the value
(max/min), sums (of x, of |x|^p), or (mean, sum of squared deviations) for
var/std, combined across axes with Chan et al.'s pairwise update so that data
far from zero keep their precision; the count of valid
cells where a mask or ``nan_policy='omit'`` can exclude some, and the argmax.

Those sums can overflow or underflow where the result itself would not: the
mean of cells near 1e308, the variance of cells near 1e200 or 1e-200,
``(mean |x|^50)^(1/50)`` of cells near 1e-8. ``_finish_row`` spots such cells
from their accumulators (a non-finite mean, a sum of powers outside
[1e-280, 1e280], a variance near underflow) and recomputes them straight from
their window, scaled by the window's largest magnitude (``_exact_cell``), as
it does for every ``lp`` with p < 1, where powers lose the geometric mean.
Ordinary data never take that path.

The driver splits the output into tasks (image, block of output planes, block
of output rows); each task writes a disjoint block of ``out``, so results do
not depend on the number of threads. Kernels return nothing and never raise:
the Python side (featpool/pooling.py) validates everything and allocates every
array, scratch space included.
"""
from cython.parallel cimport prange, parallel, threadid
from libc.math cimport sqrt, sqrtf, fabs, frexp, INFINITY
from libc.float cimport DBL_MAX
from libc.stdint cimport int64_t

# Types, op and nonlinearity codes, and per-cell functions: _pooling.pxd.


cdef inline Axis _axis(Py_ssize_t n_in, const Py_ssize_t[::1] geometry,
                       const Py_ssize_t[:, ::1] taps, const double[:, ::1] counts) noexcept nogil:
    """Describe one axis. geometry = (k, s, d), k = 0 for adaptive windows;
    taps = (start, lo, hi) per output; counts = (creal, cpad) per output."""
    cdef Axis a
    a.n_in = n_in
    a.n_out = taps.shape[1]
    a.k = geometry[0]
    a.s = geometry[1]
    a.d = geometry[2]
    a.start = &taps[0, 0]
    a.lo = &taps[1, 0]
    a.hi = &taps[2, 0]
    a.creal = &counts[0, 0]
    a.cpad = &counts[1, 0]
    a.j0 = 0
    a.j1 = 0
    if a.k > 0:
        # Windows are clipped only at the two ends, so the full ones are contiguous.
        while a.j0 < a.n_out and not (a.lo[a.j0] == 0 and a.hi[a.j0] == a.k):
            a.j0 += 1
        a.j1 = a.j0
        while a.j1 < a.n_out and a.lo[a.j1] == 0 and a.hi[a.j1] == a.k:
            a.j1 += 1
    return a


cdef inline Chan _chan(double* buf, int64_t* ibuf, Py_ssize_t size) noexcept nogil:
    cdef Chan ch
    ch.v = buf
    ch.v2 = buf + size
    ch.c = buf + 2 * size
    ch.i = ibuf
    return ch


cdef inline Chan _shift(Chan ch, Py_ssize_t k) noexcept nogil:
    ch.v += k
    ch.v2 += k
    ch.c += k
    if ch.i != NULL:
        ch.i += k
    return ch


cdef inline void _interior(const floating* row, Axis* a, Opts* o, Chan dst) noexcept nogil:
    """Full windows j0 <= j < j1 of one row, no mask/NaN omission/indices.

    Taps outermost, outputs innermost: a loop that the compiler vectorises.
    """
    cdef Py_ssize_t j, t, n = a.j1 - a.j0, s = a.s
    cdef const floating* base
    cdef double* out = dst.v + a.j0
    cdef double* out2 = dst.v2 + a.j0
    cdef double v, m
    if n <= 0:
        return
    if o.moments:
        # Mean of each window, then squared deviations from it (two passes).
        for t in range(a.k):
            base = row + a.start[a.j0] + t * a.d
            for j in range(n):
                if t == 0:
                    out[j] = base[j * s]
                else:
                    out[j] += base[j * s]
        for j in range(n):
            out[j] /= a.k
            out2[j] = 0.0
            dst.c[a.j0 + j] = a.k
        for t in range(a.k):
            base = row + a.start[a.j0] + t * a.d
            for j in range(n):
                v = base[j * s] - out[j]
                out2[j] += v * v
        return
    if a.k == 2 and s == 2 and a.d == 1 and (o.op == OP_SUM or o.op == OP_MEAN):
        # The most common average pooling: both taps in one pass over the row.
        base = row + a.start[a.j0]
        for j in range(n):
            out[j] = <double>base[2 * j] + <double>base[2 * j + 1]
        return
    for t in range(a.k):
        base = row + a.start[a.j0] + t * a.d
        if o.extreme and t == 0:
            for j in range(n):
                out[j] = base[j * s]
        elif o.extreme and o.is_min:
            for j in range(n):
                v = base[j * s]
                m = out[j]
                out[j] = v if ((v < m) | (v != v)) else m
        elif o.extreme:
            for j in range(n):
                v = base[j * s]
                m = out[j]
                out[j] = v if ((v > m) | (v != v)) else m
        elif o.op == OP_LP:
            if t == 0:
                for j in range(n):
                    out[j] = 0.0
            if o.p == 2.0:
                for j in range(n):
                    v = base[j * s]
                    out[j] += v * v
            else:
                for j in range(n):
                    out[j] += _power(base[j * s], o.p)
        else:
            if t == 0:
                for j in range(n):
                    out[j] = base[j * s]
            else:
                for j in range(n):
                    out[j] += base[j * s]


cdef inline void _transform_row(const floating* row, Py_ssize_t n, Opts* o,
                                double* out) noexcept nogil:
    """out[i] = nonlinearity(row[i]) for a whole row, for the vectorised path."""
    cdef Py_ssize_t i
    if o.cplx and o.transform == T_MODULUS and floating is float:
        for i in range(n):
            out[i] = sqrtf(row[2 * i] * row[2 * i] + row[2 * i + 1] * row[2 * i + 1])
    elif o.cplx and o.transform == T_MODULUS:
        for i in range(n):
            out[i] = sqrt(row[2 * i] * row[2 * i] + row[2 * i + 1] * row[2 * i + 1])
    else:
        for i in range(n):
            out[i] = _load(row, i, o)


cdef inline void _row_fast(const floating* src, Axis* a, Opts* o, Chan dst) noexcept nogil:
    """One row, no mask/omission/indices, values already through the nonlinearity."""
    cdef Py_ssize_t j
    for j in range(a.j0):
        _window(src, NULL, j, 0, a, o, dst)
    if a.j1 - a.j0 >= 8:
        _interior(src, a, o, dst)
    else:  # a few long windows: one window at a time reads contiguously
        for j in range(a.j0, a.j1):
            _window(src, NULL, j, 0, a, o, dst)
    for j in range(a.j1, a.n_out):
        _window(src, NULL, j, 0, a, o, dst)


cdef void _first_pass(const floating* plane, const unsigned char* mplane,
                      Py_ssize_t plane_off, Py_ssize_t r0, Py_ssize_t r1,
                      Axis* a, Opts* o, Chan dst, double* rowbuf) noexcept nogil:
    """Reduce along W the rows r0..r1-1 of one input plane into ``dst``.

    ``rowbuf`` (W doubles) holds a row through the nonlinearity, so that the
    fast loops see plain values whatever the nonlinearity.
    """
    cdef Py_ssize_t r, j, W = a.n_in
    cdef const floating* row
    cdef const unsigned char* mrow = NULL
    cdef bint fast = not o.counted and not o.with_idx and a.k > 0
    cdef bint plain = o.transform == T_NONE and not o.cplx
    cdef Opts plain_opts = o[0]
    plain_opts.transform = T_NONE
    plain_opts.cplx = False
    for r in range(r0, r1):
        row = plane + r * W * (2 if o.cplx else 1)
        if o.use_mask:
            mrow = mplane + r * W
        if fast and plain:
            _row_fast(row, a, o, dst)
        elif fast:
            _transform_row(row, W, o, rowbuf)
            _row_fast(<const double*>rowbuf, a, &plain_opts, dst)
        else:
            for j in range(a.n_out):
                _window(row, mrow, j, plane_off + r * W, a, o, dst)
        dst = _shift(dst, a.n_out)


cdef void _sum_lines(const double* src, Py_ssize_t src_first, Axis* a,
                     Py_ssize_t o0, Py_ssize_t o1, Py_ssize_t L, double* dst) noexcept nogil:
    """dst[o - o0, l] = sum over taps of src[start[o] + t*d - src_first, l]."""
    cdef Py_ssize_t o, t, l, base
    cdef double* out
    cdef const double* inp
    for o in range(o0, o1):
        out = dst + (o - o0) * L
        base = a.start[o] - src_first
        for l in range(L):
            out[l] = 0.0
        for t in range(a.lo[o], a.hi[o]):
            inp = src + (base + t * a.d) * L
            for l in range(L):
                out[l] += inp[l]


cdef void _extreme_lines(Chan src, Py_ssize_t src_first, Axis* a, Py_ssize_t o0,
                         Py_ssize_t o1, Py_ssize_t L, Chan dst, Opts* o) noexcept nogil:
    """Max (or min) along an axis of lines of length L, carrying index and count."""
    cdef Py_ssize_t oo, t, l, base, k
    cdef double v, m
    cdef double* out
    cdef const double* inp
    cdef bint simple = not o.counted and not o.with_idx
    for oo in range(o0, o1):
        out = dst.v + (oo - o0) * L
        base = a.start[oo] - src_first
        k = (base + a.lo[oo] * a.d) * L
        for l in range(L):
            out[l] = src.v[k + l]
        if o.with_idx:
            for l in range(L):
                dst.i[(oo - o0) * L + l] = src.i[k + l]
        if o.counted:
            for l in range(L):
                dst.c[(oo - o0) * L + l] = src.c[k + l]
        for t in range(a.lo[oo] + 1, a.hi[oo]):
            k = (base + t * a.d) * L
            inp = src.v + k
            if simple and o.is_min:
                for l in range(L):
                    v = inp[l]
                    m = out[l]
                    out[l] = v if ((v < m) | (v != v)) else m
            elif simple:
                for l in range(L):
                    v = inp[l]
                    m = out[l]
                    out[l] = v if ((v > m) | (v != v)) else m
            else:
                for l in range(L):
                    if o.counted:
                        if src.c[k + l] == 0.0:
                            continue
                        if dst.c[(oo - o0) * L + l] == 0.0:
                            out[l] = inp[l]
                            if o.with_idx:
                                dst.i[(oo - o0) * L + l] = src.i[k + l]
                            dst.c[(oo - o0) * L + l] = src.c[k + l]
                            continue
                        dst.c[(oo - o0) * L + l] += src.c[k + l]
                    if _better(inp[l], out[l], o.is_min):
                        out[l] = inp[l]
                        if o.with_idx:
                            dst.i[(oo - o0) * L + l] = src.i[k + l]


cdef void _moment_lines(Chan src, Py_ssize_t src_first, Axis* a, Py_ssize_t o0,
                        Py_ssize_t o1, Py_ssize_t L, Chan dst) noexcept nogil:
    """Combine (mean, M2, count) along an axis: Chan, Golub & LeVeque's update."""
    cdef Py_ssize_t oo, t, l, k, q
    cdef double na, nb, n, delta
    for oo in range(o0, o1):
        q = (oo - o0) * L
        k = (a.start[oo] - src_first + a.lo[oo] * a.d) * L
        for l in range(L):
            dst.v[q + l] = src.v[k + l]
            dst.v2[q + l] = src.v2[k + l]
            dst.c[q + l] = src.c[k + l]
        for t in range(a.lo[oo] + 1, a.hi[oo]):
            k = (a.start[oo] - src_first + t * a.d) * L
            for l in range(L):
                nb = src.c[k + l]
                if nb == 0.0:
                    continue
                na = dst.c[q + l]
                n = na + nb
                delta = src.v[k + l] - dst.v[q + l]
                dst.v[q + l] += delta * (nb / n)
                dst.v2[q + l] += src.v2[k + l] + delta * delta * (na * nb / n)
                dst.c[q + l] = n


cdef void _reduce_lines(Chan src, Py_ssize_t src_first, Axis* a, Py_ssize_t o0,
                        Py_ssize_t o1, Py_ssize_t L, Chan dst, Opts* o) noexcept nogil:
    if o.extreme:
        _extreme_lines(src, src_first, a, o0, o1, L, dst, o)
        return
    if o.moments:
        _moment_lines(src, src_first, a, o0, o1, L, dst)
        return
    _sum_lines(src.v, src_first, a, o0, o1, L, dst.v)
    if o.counted:
        _sum_lines(src.c, src_first, a, o0, o1, L, dst.c)


cdef inline bint _divide(const double* v, Py_ssize_t j0, Py_ssize_t j1, double n,
                         const double* counts, floating* out) noexcept nogil:
    """out[j] = v[j] / (n * counts[j]), or v[j] * n without counts, for j0 <= j < j1;
    True if a v[j] is not finite (a conditional store: the loop stays vectorised)."""
    cdef Py_ssize_t j
    cdef bint bad = False
    if counts == NULL:
        for j in range(j0, j1):
            out[j] = <floating>(v[j] * n)
            if not fabs(v[j]) <= DBL_MAX:
                bad = True
    else:
        for j in range(j0, j1):
            out[j] = <floating>(v[j] / (n * counts[j]))
            if not fabs(v[j]) <= DBL_MAX:
                bad = True
    return bad


cdef inline void _finish_row(Chan q, Py_ssize_t k, Axis* aw, double real_dh, double pad_dh,
                             floating* out, int64_t* idx, Opts* o, const floating* img,
                             const unsigned char* mimg, Py_ssize_t H, Axis* ad, Axis* ah,
                             Py_ssize_t od, Py_ssize_t oh) noexcept nogil:
    """Write one output row from its accumulators (q at offset k); cells whose
    accumulators over- or underflowed are recomputed from ``img`` (one image)."""
    cdef Py_ssize_t ow, j0, j1, n = aw.n_out
    cdef double v
    cdef int bad = 0, e
    if not o.counted and (o.extreme or o.op == OP_SUM):
        for ow in range(n):
            out[ow] = <floating>q.v[k + ow]
    elif not o.counted and o.op == OP_MEAN and not o.include_pad:
        j0 = j1 = 0
        if aw.j1 > aw.j0 and frexp(real_dh * aw.k, &e) == 0.5:
            # The full windows' count is a power of two: multiplying by its
            # reciprocal gives the quotient exactly, several times faster.
            j0, j1 = aw.j0, aw.j1
            bad = _divide(q.v + k, j0, j1, 1.0 / (real_dh * aw.k), NULL, out)
        bad = _divide(q.v + k, 0, j0, real_dh, aw.creal, out) | bad
        bad = _divide(q.v + k, j1, n, real_dh, aw.creal, out) | bad
        if bad:
            for ow in range(n):
                if q.v[k + ow] - q.v[k + ow] != 0.0:
                    out[ow] = <floating>_exact_cell(img, mimg, H, ad, ah, aw, od, oh, ow,
                                                    real_dh * aw.creal[ow], 0.0, o)
    else:
        for ow in range(n):
            if not o.extreme and _suspect(q, k + ow, o):
                v = _exact_cell(img, mimg, H, ad, ah, aw, od, oh, ow,
                                real_dh * aw.creal[ow], pad_dh * aw.cpad[ow], o)
            else:
                v = _finish(q, k + ow, real_dh * aw.creal[ow], pad_dh * aw.cpad[ow], o)
            out[ow] = <floating>v
    if o.with_idx:
        for ow in range(n):
            if o.counted and q.c[k + ow] == 0.0:
                idx[ow] = -1
            else:
                idx[ow] = q.i[k + ow]


# The row-wise path. Where no two windows share an input row along H and D
# (non-overlapping pooling), the separable passes gain nothing and cost
# passes over their work space. Each output row then folds its input rows,
# reduced along W, into a row of accumulators in the separable passes' order,
# for the same result to the bit: sums (float64) start from 0 and add rows in
# order, plane by plane; a max is "the last NaN, else the first largest value"
# in row-major order, which any grouping of the sequence gives: it folds every
# row straight into the output, from -inf. A fold reads a row of accumulators
# (prev: acc itself, or starting values for the first row) and writes acc.

cdef inline void _extreme_k(const floating* x, Py_ssize_t n, Py_ssize_t k, bint is_min,
                            const floating* prev, floating* acc) noexcept nogil:
    """acc[j] = prev[j] (max or min) the extreme of x[k*j : k*j + k], NaN first.

    Inlined with a constant k, the loop vectorises (no branch per cell)."""
    cdef Py_ssize_t j, t
    cdef floating m, v
    for j in range(n):
        m = prev[j]
        for t in range(k):
            v = x[k * j + t]
            if is_min:
                m = v if ((v < m) | (v != v)) else m
            else:
                m = v if ((v > m) | (v != v)) else m
        acc[j] = m


cdef inline void _sum_k(const floating* x, Py_ssize_t n, Py_ssize_t k,
                        const double* prev, double* acc) noexcept nogil:
    """acc[j] = prev[j] + the sum of x[k*j : k*j + k] (float64, in order)."""
    cdef Py_ssize_t j, t
    cdef double s
    for j in range(n):
        s = x[k * j]
        for t in range(1, k):
            s += x[k * j + t]
        acc[j] = prev[j] + s


cdef inline void _fold_k(const floating* x, Py_ssize_t n, Py_ssize_t k, Opts* o,
                         const floating* mprev, floating* macc, const double* sprev,
                         double* sacc) noexcept nogil:
    if not o.extreme:
        _sum_k(x, n, k, sprev, sacc)
    elif o.is_min:
        _extreme_k(x, n, k, True, mprev, macc)
    else:
        _extreme_k(x, n, k, False, mprev, macc)


cdef inline void _fold(double v, Py_ssize_t j, Opts* o, const floating* mprev, floating* macc,
                       const double* sprev, double* sacc) noexcept nogil:
    if not o.extreme:   # v: window j reduced along W
        sacc[j] = sprev[j] + v
    elif _better(v, mprev[j], o.is_min):
        macc[j] = <floating>v
    else:
        macc[j] = mprev[j]


cdef void _fold_row(const floating* row, Axis* a, Opts* o, const floating* mprev,
                    floating* macc, const double* sprev, double* sacc, Chan w) noexcept nogil:
    """Reduce one input row along W (windows of stride = size, no dilation) and
    fold it: max and min into macc (the output row), sums into sacc. The
    interior windows as _interior adds them, the others through _window (all
    of them where the interior is short, as on the separable path)."""
    cdef Py_ssize_t j, j0 = a.j0, j1 = a.j1, k = a.k
    cdef const floating* x = row + a.start[j0] if j1 - j0 >= 8 else row
    if j1 - j0 < 8:
        j0 = j1 = 0
    elif k == 2:   # the common sizes get loops of their own (a constant k)
        _fold_k(x, j1 - j0, 2, o, mprev + j0, macc + j0, sprev + j0, sacc + j0)
    elif k == 3:
        _fold_k(x, j1 - j0, 3, o, mprev + j0, macc + j0, sprev + j0, sacc + j0)
    elif k == 4:
        _fold_k(x, j1 - j0, 4, o, mprev + j0, macc + j0, sprev + j0, sacc + j0)
    elif k == 8:
        _fold_k(x, j1 - j0, 8, o, mprev + j0, macc + j0, sprev + j0, sacc + j0)
    else:
        _fold_k(x, j1 - j0, k, o, mprev + j0, macc + j0, sprev + j0, sacc + j0)
    for j in range(j0):
        _window(row, NULL, j, 0, a, o, w)
        _fold(w.v[j], j, o, mprev, macc, sprev, sacc)
    for j in range(j1, a.n_out):
        _window(row, NULL, j, 0, a, o, w)
        _fold(w.v[j], j, o, mprev, macc, sprev, sacc)


cdef inline bint _disjoint(Axis* a) noexcept nogil:
    """Sliding windows that share no input index and each hold one at least."""
    cdef Py_ssize_t j
    if a.k == 0 or a.s < (a.k - 1) * a.d + 1:
        return False
    for j in range(a.n_out):
        if a.hi[j] <= a.lo[j]:
            return False
    return True


cdef inline bint _rowwise(Axis* ad, Axis* ah, Axis* aw, Opts* o) noexcept nogil:
    """True where the row-wise path applies: plain max, min, sum or mean of
    sliding windows, of stride = size along W and disjoint along H and D."""
    return (not o.counted and not o.with_idx and not o.cplx and o.transform == T_NONE
            and (o.extreme or o.op == OP_SUM or o.op == OP_MEAN)
            and aw.k > 0 and aw.d == 1 and aw.s == aw.k and _disjoint(ad) and _disjoint(ah))


cdef void _rowwise_block(const floating* img, Py_ssize_t H, Axis* ad, Axis* ah, Axis* aw,
                         Py_ssize_t od0, Py_ssize_t od1, Py_ssize_t oh0, Py_ssize_t oh1,
                         bint trivial_d, Opts* o, floating* out, double* buf) noexcept nogil:
    """Output rows oh0..oh1-1 of planes od0..od1-1 of one image; ``buf`` holds
    (oh1 - oh0 + 4) * Wout doubles.

    Plane by plane, the rows of the block are read in the order they lie in
    memory: one stream that the prefetcher follows across pages. In 2D each
    output row is finished at once, its sums still in L1.
    """
    cdef Py_ssize_t od, oh, td, th, j, Wout = aw.n_out, W = aw.n_in
    cdef Py_ssize_t nrows = 1 if trivial_d else oh1 - oh0
    cdef double* zeros = buf + nrows * Wout
    cdef double* plane = zeros + Wout
    cdef floating* start = <floating*>(plane + Wout)
    cdef Chan w = _chan(plane + 2 * Wout, NULL, 0)
    cdef double* sums = buf if trivial_d else plane   # a plane's sums: the D pass adds them
    cdef floating* orow
    cdef double* acc
    cdef double* prev
    for j in range(Wout):
        zeros[j] = 0.0
        start[j] = INFINITY if o.is_min else -INFINITY
    for od in range(od0, od1):
        for td in range(ad.lo[od], ad.hi[od]):
            for oh in range(oh0, oh1):
                orow = out + (od * ah.n_out + oh) * Wout
                acc = buf if trivial_d else buf + (oh - oh0) * Wout
                for th in range(ah.lo[oh], ah.hi[oh]):
                    _fold_row(img + ((ad.start[od] + td * ad.d) * H
                                     + ah.start[oh] + th * ah.d) * W, aw, o,
                              start if (th == ah.lo[oh] and td == ad.lo[od]) else orow, orow,
                              zeros if th == ah.lo[oh] else sums, sums, w)
                if o.extreme:
                    continue
                if not trivial_d:
                    prev = zeros if td == ad.lo[od] else acc
                    for j in range(Wout):
                        acc[j] = prev[j] + plane[j]
                if trivial_d or td == ad.hi[od] - 1:
                    _finish_row(_chan(acc, NULL, 0), 0, aw, ad.creal[od] * ah.creal[oh],
                                ad.cpad[od] * ah.cpad[oh], orow, NULL, o, img, NULL, H,
                                ad, ah, od, oh)


cdef void _rowwise_pool(const floating[:, :, :, ::1] x, Axis* ad, Axis* ah, Axis* aw,
                        Py_ssize_t block_n, Py_ssize_t block_d, Py_ssize_t block_h,
                        bint trivial_d, Opts* o, floating[:, :, :, ::1] out,
                        double[:, ::1] scratch, int n_threads) noexcept nogil:
    """pool_kernel's tasks on the row-wise path (a parallel region of its own,
    so that the compiler inlines each path's loops into its own)."""
    cdef Py_ssize_t N = x.shape[0], H = x.shape[2], Dout = ad.n_out, Hout = ah.n_out
    cdef Py_ssize_t task, n, n0, od0, oh0
    cdef Py_ssize_t nbd = (Dout + block_d - 1) // block_d, nbh = (Hout + block_h - 1) // block_h
    with parallel(num_threads=n_threads):
        for task in prange((N + block_n - 1) // block_n * nbd * nbh, schedule="dynamic"):
            n0 = task // (nbd * nbh) * block_n
            od0 = (task // nbh) % nbd * block_d
            oh0 = task % nbh * block_h
            for n in range(n0, min(n0 + block_n, N)):
                _rowwise_block(&x[n, 0, 0, 0], H, ad, ah, aw, od0, min(od0 + block_d, Dout),
                               oh0, min(oh0 + block_h, Hout), trivial_d, o, &out[n, 0, 0, 0],
                               &scratch[threadid(), 0])


cdef struct Range:
    Py_ssize_t first
    Py_ssize_t last


cdef inline Range _extent(Axis* a, Py_ssize_t o0, Py_ssize_t o1) noexcept nogil:
    """Input range [first, last) read by the windows of outputs o0..o1-1.

    Not just the first and the last window: with dilation, clipping at the
    borders can make an inner window reach further than its neighbours.
    """
    cdef Py_ssize_t o, lo, hi
    cdef Range r
    r.first = a.start[o0] + a.lo[o0] * a.d
    r.last = r.first + 1
    for o in range(o0, o1):
        lo = a.start[o] + a.lo[o] * a.d
        hi = a.start[o] + (a.hi[o] - 1) * a.d + 1
        if lo < r.first:
            r.first = lo
        if hi > r.last:
            r.last = hi
    return r


cdef inline Py_ssize_t _span_max(Axis* a, Py_ssize_t block) noexcept nogil:
    """Most input indices that the windows of ``block`` consecutive outputs span."""
    cdef Py_ssize_t b, best = 0
    cdef Range r
    for b in range((a.n_out + block - 1) // block):
        r = _extent(a, b * block, min((b + 1) * block, a.n_out))
        if r.last - r.first > best:
            best = r.last - r.first
    return best


cdef void _sizes(Axis* ad, Axis* ah, Axis* aw, Py_ssize_t block_d, Py_ssize_t block_h,
                 Py_ssize_t* s_size, Py_ssize_t* p_size, Py_ssize_t* q_size) noexcept nogil:
    # S: W-reduced input rows of one plane; P: H-reduced planes; Q: the task's output.
    s_size[0] = _span_max(ah, block_h) * aw.n_out
    p_size[0] = _span_max(ad, block_d) * block_h * aw.n_out
    q_size[0] = block_d * block_h * aw.n_out


def scratch_size(
    const Py_ssize_t[:, ::1] geometry,
    const Py_ssize_t[:, ::1] taps_d, const Py_ssize_t[:, ::1] taps_h,
    const Py_ssize_t[:, ::1] taps_w, const double[:, ::1] counts,
    Py_ssize_t block_d, Py_ssize_t block_h, Py_ssize_t width,
):
    """Doubles of work space that one thread of ``pool_kernel`` needs (input rows
    of ``width`` cells)."""
    cdef Axis ad = _axis(0, geometry[0], taps_d, counts)
    cdef Axis ah = _axis(0, geometry[1], taps_h, counts)
    cdef Axis aw = _axis(0, geometry[2], taps_w, counts)
    cdef Py_ssize_t s_size, p_size, q_size
    _sizes(&ad, &ah, &aw, block_d, block_h, &s_size, &p_size, &q_size)
    # Three channels of accumulators, then one input row through the nonlinearity.
    return 3 * (s_size + p_size + q_size) + width


def pool_kernel(
    const floating[:, :, :, ::1] x,         # IN  (N, D, H, W)
    const unsigned char[:, :, :, ::1] mask,  # IN  (1 or N, D, H, W), read if use_mask
    const Py_ssize_t[:, ::1] geometry,       # IN  (3, 3): (k, s, d) per axis D, H, W
    const Py_ssize_t[:, ::1] taps_d,         # IN  (3, Dout): start, lo, hi
    const Py_ssize_t[:, ::1] taps_h,         # IN  (3, Hout)
    const Py_ssize_t[:, ::1] taps_w,         # IN  (3, Wout)
    const double[:, ::1] counts_d,           # IN  (2, Dout): real taps, padded taps
    const double[:, ::1] counts_h,           # IN  (2, Hout)
    const double[:, ::1] counts_w,           # IN  (2, Wout)
    Py_ssize_t block_n,                      # IN  images per task
    Py_ssize_t block_d,                      # IN  output planes per task
    Py_ssize_t block_h,                      # IN  output rows per task
    int op, double p, bint omit, bint use_mask, bint with_idx, bint include_pad,
    int transform,                           # IN  T_* nonlinearity applied on reading
    bint cplx,                               # IN  x holds complex cells as (re, im) pairs
    floating[:, :, :, ::1] out,              # OUT (N, Dout, Hout, Wout)
    int64_t[:, :, :, ::1] indices,           # OUT (N, Dout, Hout, Wout), written if with_idx
    double[:, ::1] scratch,                  # OUT (n_threads, scratch_size(...))
    int64_t[:, ::1] iscratch,                # OUT (n_threads, scratch_size(...)) if with_idx
    int n_threads,
):
    """Pool the last three axes of ``x`` into ``out``; see the module docstring."""
    cdef Py_ssize_t N = x.shape[0], D = x.shape[1], H = x.shape[2]
    cdef Py_ssize_t W = x.shape[3] // 2 if cplx else x.shape[3]
    cdef Axis ad = _axis(D, geometry[0], taps_d, counts_d)
    cdef Axis ah = _axis(H, geometry[1], taps_h, counts_h)
    cdef Axis aw = _axis(W, geometry[2], taps_w, counts_w)
    cdef Py_ssize_t Dout = ad.n_out, Hout = ah.n_out, Wout = aw.n_out
    cdef Py_ssize_t nbd = (Dout + block_d - 1) // block_d
    cdef Py_ssize_t nbh = (Hout + block_h - 1) // block_h
    cdef Py_ssize_t n_tasks = (N + block_n - 1) // block_n * nbd * nbh
    cdef Py_ssize_t s_size, p_size, q_size, total
    cdef Opts o
    cdef bint trivial_d
    cdef Py_ssize_t task, n, n0, od0, od1, oh0, oh1, iz, plane_len, od, oh, tid
    cdef Range rows, planes
    cdef Chan cs, cp, cq
    cdef const unsigned char* mplane
    cdef const unsigned char* mimage

    o.op = op
    # 'real' of real input is the input: the plain paths read it as it is.
    o.transform = T_NONE if transform == T_REAL and not cplx else transform
    o.cplx = cplx
    o.extreme = op == OP_MAX or op == OP_MIN
    o.is_min = op == OP_MIN
    o.counted = omit or use_mask
    o.omit = omit
    o.use_mask = use_mask
    o.with_idx = with_idx
    o.include_pad = include_pad
    o.moments = op == OP_VAR or op == OP_STD
    o.p = p
    _sizes(&ad, &ah, &aw, block_d, block_h, &s_size, &p_size, &q_size)
    total = s_size + p_size + q_size
    # Depth windows of one tap per plane need no D pass: the H pass output is final.
    trivial_d = Dout == D and taps_d[2, 0] == 1 and taps_d[0, Dout - 1] == D - 1

    if _rowwise(&ad, &ah, &aw, &o):
        _rowwise_pool(x, &ad, &ah, &aw, block_n, block_d, block_h, trivial_d, &o, out,
                      scratch, n_threads)
        return
    with nogil, parallel(num_threads=n_threads):
        for task in prange(n_tasks, schedule="dynamic"):
            tid = threadid()
            n0 = task // (nbd * nbh) * block_n
            od0 = (task // nbh) % nbd * block_d
            od1 = min(od0 + block_d, Dout)
            oh0 = task % nbh * block_h
            oh1 = min(oh0 + block_h, Hout)
            rows = _extent(&ah, oh0, oh1)
            planes = _extent(&ad, od0, od1)
            cs = _chan(&scratch[tid, 0], &iscratch[tid, 0] if with_idx else NULL, total)
            cp = _shift(cs, s_size)
            cq = _shift(cs, s_size + p_size)
            plane_len = (oh1 - oh0) * Wout
            for n in range(n0, min(n0 + block_n, N)):
                mimage = &mask[n if mask.shape[0] > 1 else 0, 0, 0, 0] if use_mask else NULL
                for iz in range(planes.first, planes.last):
                    mplane = NULL
                    if use_mask:
                        mplane = &mask[n if mask.shape[0] > 1 else 0, iz, 0, 0]
                    _first_pass(&x[n, iz, 0, 0], mplane, iz * H * W, rows.first, rows.last,
                                &aw, &o, cs, &scratch[tid, 3 * total])
                    _reduce_lines(cs, rows.first, &ah, oh0, oh1, Wout,
                                  _shift(cp, (iz - planes.first) * plane_len), &o)
                if trivial_d:
                    cq = cp
                else:
                    _reduce_lines(cp, planes.first, &ad, od0, od1, plane_len, cq, &o)
                for od in range(od0, od1):
                    for oh in range(oh0, oh1):
                        _finish_row(cq, ((od - od0) * (oh1 - oh0) + (oh - oh0)) * Wout, &aw,
                                    ad.creal[od] * ah.creal[oh], ad.cpad[od] * ah.cpad[oh],
                                    &out[n, od, oh, 0],
                                    &indices[n, od, oh, 0] if with_idx else NULL, &o,
                                    &x[n, 0, 0, 0], mimage, H, &ad, &ah, od, oh)
