"""Spectral products: an image spectrum times each filter's spectrum, threaded.

The filter-bank engine (featpool/responses.py) multiplies the spectrum of
every image by the spectrum of every filter before the inverse FFT. NumPy
does that on one thread, and for coarse grids it first gathers each filter's
band out of the image spectrum (np.take) and then multiplies: two passes over
the product. Here both are one pass, over (image, filter) pairs in parallel.

Complex arrays arrive as interleaved (re, im) pairs of the real dtype. The
kernels return nothing and never raise: the Python side validates shapes and
allocates the output.
"""
from cython.parallel cimport prange

ctypedef fused floating:
    float
    double


cdef inline void _product(const floating* a, const floating* b, floating* o) noexcept nogil:
    """o = a * b for one complex value stored as (re, im)."""
    o[0] = a[0] * b[0] - a[1] * b[1]
    o[1] = a[0] * b[1] + a[1] * b[0]


def multiply(
    const floating[:, ::1] spectra,    # IN  (n_images, 2 * n_bins)
    const floating[:, ::1] filters,    # IN  (n_filters, 2 * n_taken)
    const Py_ssize_t[:, ::1] bins,     # IN  (n_filters, n_taken) if gather, else unused
    bint gather,
    floating[:, :, ::1] out,           # OUT (n_images, n_filters, 2 * n_taken)
    int n_threads,
):
    """out[i, f, k] = spectra[i, bins[f, k] if gather else k] * filters[f, k] (complex)."""
    cdef Py_ssize_t n_images = out.shape[0], n_filters = out.shape[1]
    cdef Py_ssize_t n_taken = out.shape[2] // 2
    cdef Py_ssize_t task, i, f, k
    cdef const floating* a
    cdef const floating* b
    cdef const Py_ssize_t* at
    cdef floating* o
    for task in prange(n_images * n_filters, nogil=True, num_threads=n_threads,
                       schedule="static"):
        i = task // n_filters
        f = task % n_filters
        a = &spectra[i, 0]
        b = &filters[f, 0]
        o = &out[i, f, 0]
        if gather:
            at = &bins[f, 0]
            for k in range(n_taken):
                _product(a + 2 * at[k], b + 2 * k, o + 2 * k)
        else:
            for k in range(n_taken):
                _product(a + 2 * k, b + 2 * k, o + 2 * k)
