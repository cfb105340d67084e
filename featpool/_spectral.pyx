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


def multiply(
    const floating[:, ::1] spectra,    # IN  (n_images, 2 * n_bins)
    const floating[:, ::1] filters,    # IN  (n_filters, 2 * n_bins)
    floating[:, :, ::1] out,           # OUT (n_images, n_filters, 2 * n_bins)
    int n_threads,
):
    """out[i, f] = spectra[i] * filters[f] (complex)."""
    cdef Py_ssize_t n_images = out.shape[0], n_filters = out.shape[1]
    cdef Py_ssize_t n_bins = out.shape[2] // 2
    cdef Py_ssize_t task, i, f, k
    cdef floating ar, ai, br, bi
    cdef const floating* a
    cdef const floating* b
    cdef floating* o
    for task in prange(n_images * n_filters, nogil=True, num_threads=n_threads,
                       schedule="static"):
        i = task // n_filters
        f = task % n_filters
        a = &spectra[i, 0]
        b = &filters[f, 0]
        o = &out[i, f, 0]
        for k in range(n_bins):
            ar = a[2 * k]
            ai = a[2 * k + 1]
            br = b[2 * k]
            bi = b[2 * k + 1]
            o[2 * k] = ar * br - ai * bi
            o[2 * k + 1] = ar * bi + ai * br


def gather_multiply(
    const floating[:, ::1] spectra,    # IN  (n_images, 2 * n_bins)
    const floating[:, ::1] filters,    # IN  (n_filters, 2 * n_taken)
    const Py_ssize_t[:, ::1] bins,     # IN  (n_filters, n_taken): bins of spectra
    floating[:, :, ::1] out,           # OUT (n_images, n_filters, 2 * n_taken)
    int n_threads,
):
    """out[i, f, k] = spectra[i, bins[f, k]] * filters[f, k] (complex)."""
    cdef Py_ssize_t n_images = out.shape[0], n_filters = out.shape[1]
    cdef Py_ssize_t n_taken = out.shape[2] // 2
    cdef Py_ssize_t task, i, f, k, j
    cdef floating ar, ai, br, bi
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
        at = &bins[f, 0]
        o = &out[i, f, 0]
        for k in range(n_taken):
            j = at[k]
            ar = a[2 * j]
            ai = a[2 * j + 1]
            br = b[2 * k]
            bi = b[2 * k + 1]
            o[2 * k] = ar * br - ai * bi
            o[2 * k + 1] = ar * bi + ai * br
