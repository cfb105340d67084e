"""The pooling kernel's vocabulary: its types, codes and per-cell functions.

Declared here, apart from the loops of _pooling.pyx (which includes this file
automatically), as scikit-image keeps its rank filters' per-pixel kernels in
core_cy.pxd: what one cell means, then how the loops visit the cells.
"""
from libc.math cimport sqrt, sqrtf, pow, fabs, NAN, log, exp, expm1, log1p, ldexp, ilogb
from libc.stdint cimport int64_t

ctypedef fused floating:
    float
    double

# Keep in sync with featpool/_vocabulary.py::OPS (tests/test_vocabulary.py checks).
cdef enum:
    OP_MAX = 0
    OP_MIN = 1
    OP_SUM = 2
    OP_MEAN = 3
    OP_LP = 4
    OP_VAR = 5
    OP_STD = 6


# Keep in sync with featpool/_vocabulary.py::KERNEL_NONLINEARITIES: what the first pass
# applies to each input cell as it reads it (complex input: interleaved re, im).
cdef enum:
    T_NONE = 0
    T_MODULUS = 1     # |z|
    T_REAL = 2        # Re z
    T_ABS = 3         # |Re z|
    T_SQUARE = 4      # |z|^2
    T_RELU_POS = 5    # max(Re z, 0)
    T_RELU_NEG = 6    # max(-Re z, 0)


cdef struct Axis:
    Py_ssize_t n_in
    Py_ssize_t n_out
    Py_ssize_t d              # dilation
    const Py_ssize_t* start   # first input index of each window (may be < 0)
    const Py_ssize_t* lo      # first tap inside the input
    const Py_ssize_t* hi      # one past the last tap inside the input
    const double* creal       # taps inside the input: hi - lo
    const double* cpad        # taps inside the padded input (count_include_pad)
    # Sliding windows (k > 0) have a constant size k and stride s, and outputs
    # j0 <= j < j1 whose k taps all fall inside the input: the fast path.
    # Adaptive windows vary in size and have k = 0.
    Py_ssize_t k
    Py_ssize_t s
    Py_ssize_t j0
    Py_ssize_t j1


cdef struct Opts:
    int op
    int transform       # T_* applied to each input cell
    bint cplx           # input is complex, stored as interleaved (re, im) pairs
    bint extreme        # max or min
    bint is_min
    bint counted        # cells may be excluded (mask or nan omit): carry counts
    bint omit
    bint use_mask
    bint with_idx
    bint include_pad
    bint moments        # var / std: channels hold (mean, M2, count)
    double p


cdef struct Chan:
    # One stage of accumulators; unused pointers are never read.
    double* v      # value (max/min) or first sum
    double* v2     # sum of squares (var/std)
    double* c      # count of valid cells
    int64_t* i     # flat index of the extreme value


cdef inline bint _better(double v, double m, bint is_min) noexcept nogil:
    # PyTorch's rule: a larger value, or any NaN (the last NaN wins).
    if is_min:
        return v < m or v != v
    return v > m or v != v


cdef inline double _load(const floating* row, Py_ssize_t pos, Opts* o) noexcept nogil:
    """Cell ``pos`` of an input row, through the nonlinearity. NaN stays NaN."""
    cdef double re, im
    if not o.cplx:
        re = row[pos]
        im = 0.0
    else:
        re = row[2 * pos]
        im = row[2 * pos + 1]
    if o.transform == T_NONE or o.transform == T_REAL:
        return re
    if o.transform == T_MODULUS:
        return sqrt(re * re + im * im)
    if o.transform == T_ABS:
        return fabs(re)
    if o.transform == T_SQUARE:
        return re * re + im * im
    if o.transform == T_RELU_POS:
        return 0.0 if re < 0.0 else re
    return 0.0 if re > 0.0 else -re


cdef inline double _power(double v, double p) noexcept nogil:
    v = fabs(v)
    if p == 1.0:
        return v
    if p == 2.0:
        return v * v
    return pow(v, p)


cdef inline double _sum_taps(const floating* row, Py_ssize_t start, Py_ssize_t lo,
                            Py_ssize_t hi, Py_ssize_t d, Opts* o) noexcept nogil:
    """Sum of the taps lo..hi-1 of one window through the nonlinearity.

    The common cases get loops of their own, the choice made once per window
    rather than per cell (adaptive and border windows go through here).
    """
    cdef Py_ssize_t t, pos
    cdef double total = 0.0, re, im, a1 = 0.0, a2 = 0.0, a3 = 0.0
    if not o.cplx and o.transform == T_NONE:
        # Four running sums: long windows (global pooling) are not bound by
        # the latency of one chain of additions.
        t = lo
        while t + 4 <= hi:
            total += row[start + t * d]
            a1 += row[start + (t + 1) * d]
            a2 += row[start + (t + 2) * d]
            a3 += row[start + (t + 3) * d]
            t += 4
        while t < hi:
            total += row[start + t * d]
            t += 1
        total = (total + a1) + (a2 + a3)
    elif o.cplx and o.transform == T_MODULUS and floating is float:
        # Single precision in, single-precision square root (4x cheaper).
        for t in range(lo, hi):
            pos = 2 * (start + t * d)
            total += sqrtf(row[pos] * row[pos] + row[pos + 1] * row[pos + 1])
    elif o.cplx and o.transform == T_MODULUS:
        for t in range(lo, hi):
            pos = 2 * (start + t * d)
            re = row[pos]
            im = row[pos + 1]
            total += sqrt(re * re + im * im)
    else:
        for t in range(lo, hi):
            total += _load(row, start + t * d, o)
    return total


cdef inline void _window(const floating* row, const unsigned char* mrow, Py_ssize_t j,
                         Py_ssize_t idx_base, Axis* a, Opts* o, Chan dst) noexcept nogil:
    """Reduce the W window of output j of one row into dst[j], any options."""
    cdef Py_ssize_t t, pos, mi = -1, start = a.start[j], d = a.d
    cdef double m = 0.0, xv, s1 = 0.0, s2 = 0.0, c = 0.0
    cdef bint have = False
    if not o.counted and (o.op == OP_SUM or o.op == OP_MEAN):
        dst.v[j] = _sum_taps(row, start, a.lo[j], a.hi[j], d, o)
        return
    for t in range(a.lo[j], a.hi[j]):
        pos = start + t * d
        xv = _load(row, pos, o)
        if (o.use_mask and not mrow[pos]) or (o.omit and xv != xv):
            continue
        c += 1.0
        if o.extreme:
            if not have or _better(xv, m, o.is_min):
                m = xv
                mi = pos
                have = True
        elif o.op == OP_LP:
            s1 += _power(xv, o.p)
        else:
            s1 += xv
    if o.moments and c > 0.0:
        # Second pass over the window: squared deviations from its own mean.
        s1 = s1 / c
        for t in range(a.lo[j], a.hi[j]):
            pos = start + t * d
            xv = _load(row, pos, o)
            if (o.use_mask and not mrow[pos]) or (o.omit and xv != xv):
                continue
            s2 += (xv - s1) * (xv - s1)
    if o.extreme:
        dst.v[j] = m
        if o.with_idx:
            dst.i[j] = idx_base + mi if have else -1
    else:
        dst.v[j] = s1
        if o.moments:
            dst.v2[j] = s2
    if o.counted or o.moments:
        dst.c[j] = c


cdef inline bint _suspect(Chan q, Py_ssize_t k, Opts* o) noexcept nogil:
    """True if the accumulators of one cell may have overflowed or underflowed."""
    cdef double v = q.v[k]
    # Accumulators outside [SMALL, LARGE] may have overflowed or underflowed.
    # A mean above SAFE_MEAN makes any nonzero squared deviation representable:
    # a variance of exactly 0 (or tiny) there is the true value.
    cdef double SMALL = 1e-280, LARGE = 1e280, SAFE_MEAN = 1e-120
    if o.op == OP_MEAN:
        return v - v != 0.0           # inf or NaN
    if o.op == OP_LP:
        return o.p < 1.0 or not (SMALL <= v <= LARGE)
    if o.moments:
        return (v - v != 0.0 or q.v2[k] - q.v2[k] != 0.0
                or (q.v2[k] < SMALL and fabs(v) < SAFE_MEAN))
    return False


cdef inline double _exact_cell(const floating* img, const unsigned char* mimg, Py_ssize_t H,
                               Axis* ad, Axis* ah, Axis* aw, Py_ssize_t od, Py_ssize_t oh,
                               Py_ssize_t ow, double n_real, double n_pad,
                               Opts* o) noexcept nogil:
    """One mean/lp/var/std cell straight from its window, without overflow.

    Pass 0 finds the count, the largest magnitude m = 2^e * f and a pivot
    (the first cell); pass 1 sums (x - pivot) / 2^e (mean, var: exact scaling,
    |x| / 2^e < 2; the shift makes identical cells exactly 0 apart) or
    expm1(p log(|x| / m)) (lp: mean |x/m|^p - 1, each term in [-1, 0], which
    keeps the geometric-mean limit of small p); pass 2 sums squared scaled
    deviations from the mean (var, std).
    """
    cdef Py_ssize_t W = aw.n_in, stride = aw.n_in * (2 if o.cplx else 1)
    cdef Py_ssize_t step, td, th, tw, iz, iy, ix
    cdef double v, m = 0.0, c = 0.0, s = 0.0, mean = 0.0, pivot = 0.0
    cdef bint nan = False
    cdef int e = 0
    cdef const floating* row
    for step in range(3):
        for td in range(ad.lo[od], ad.hi[od]):
            iz = ad.start[od] + td * ad.d
            for th in range(ah.lo[oh], ah.hi[oh]):
                iy = ah.start[oh] + th * ah.d
                row = img + (iz * H + iy) * stride
                for tw in range(aw.lo[ow], aw.hi[ow]):
                    ix = aw.start[ow] + tw * aw.d
                    v = _load(row, ix, o)
                    if ((o.use_mask and not mimg[(iz * H + iy) * W + ix])
                            or (o.omit and v != v)):
                        continue
                    if step == 0:
                        if c == 0.0:
                            pivot = v
                        c += 1.0
                        if v != v:
                            nan = True
                        elif fabs(v) > m:
                            m = fabs(v)
                    elif step == 1 and o.op == OP_LP:
                        s += expm1(o.p * log(fabs(v) / m))
                    elif step == 1:
                        s += ldexp(v, -e) - pivot
                    else:
                        v = (ldexp(v, -e) - pivot) - mean
                        s += v * v
        if step == 0:
            if c == 0.0 or nan:
                return NAN
            if m == 0.0:
                return 0.0
            if m - m != 0.0:          # an infinite cell: plain arithmetic is right
                if o.op == OP_LP:
                    return m
                e = 0
            else:
                e = ilogb(m)
            pivot = ldexp(pivot, -e) if pivot - pivot == 0.0 else 0.0
        elif step == 1:
            if o.op == OP_LP:
                return m * exp(log1p(s / c) / o.p)
            if o.op == OP_MEAN:
                if o.include_pad:   # padding counts, excluded real cells do not
                    return ldexp((pivot * c + s) / (c + n_pad - n_real), e)
                return ldexp(pivot + s / c, e)
            mean = s / c
            s = 0.0
    if o.op == OP_STD:
        return ldexp(sqrt(s / c), e)
    return ldexp(s / c, 2 * e)


cdef inline double _finish(Chan q, Py_ssize_t k, double n_real, double n_pad,
                           Opts* o) noexcept nogil:
    """Turn the accumulators of one output cell into its value."""
    cdef double n = q.c[k] if (o.counted or o.moments) else n_real
    cdef double var
    if n == 0.0:
        return NAN
    if o.extreme or o.op == OP_SUM:
        return q.v[k]
    if o.op == OP_MEAN:
        if o.include_pad:
            n = n + n_pad - n_real   # padding counts, excluded real cells do not
        return q.v[k] / n
    if o.op == OP_LP:
        if o.p == 1.0:
            return q.v[k] / n
        if o.p == 2.0:
            return sqrt(q.v[k] / n)
        return pow(q.v[k] / n, 1.0 / o.p)
    var = q.v2[k] / n
    if o.op == OP_STD:
        return sqrt(var)
    return var
