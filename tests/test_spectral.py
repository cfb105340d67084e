"""Tests for featpool._spectral: threaded spectral products against NumPy."""
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from featpool import _spectral
from featpool._engine import _multiply

COMPLEX = (np.complex64, np.complex128)


def assert_products_equal(got, want):
    """Equal to rounding: NumPy's SIMD loops may round a product differently."""
    rtol = 4e-7 if got.dtype == np.complex64 else 1e-15
    assert_allclose(got, want, rtol=rtol, atol=rtol * np.abs(want).max())


def random_complex(shape, dtype, seed):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dtype)


@pytest.mark.parametrize("dtype", COMPLEX, ids=["complex64", "complex128"])
@pytest.mark.parametrize("grid", [(7,), (5, 9), (4, 3, 5)], ids=["1d", "2d", "3d"])
@pytest.mark.parametrize("n_threads", [1, 2, 3])
def test_multiply_is_numpy_broadcast_product(dtype, grid, n_threads):
    spectrum = random_complex((3,) + grid, dtype, 0)
    filters = random_complex((4,) + grid, dtype, 1)
    out = np.empty((3, 4) + grid, dtype=dtype)
    _multiply(spectrum, filters, None, out, n_threads)
    assert_products_equal(out, spectrum[:, None] * filters[None])
    one = np.empty_like(out)
    _multiply(spectrum, filters, None, one, 1)
    assert_array_equal(out, one)  # whatever the threads


@pytest.mark.parametrize("dtype", COMPLEX, ids=["complex64", "complex128"])
@pytest.mark.parametrize("n_threads", [1, 2, 3])
def test_gather_multiply_takes_the_bins(dtype, n_threads):
    spectrum = random_complex((2, 6, 10), dtype, 2)
    filters = random_complex((3, 4, 5), dtype, 3)
    flat = np.random.default_rng(4).integers(0, 60, size=(3, 4, 5))
    out = np.empty((2, 3, 4, 5), dtype=dtype)
    _multiply(spectrum, filters, flat, out, n_threads)
    want = np.take(spectrum.reshape(2, -1), flat, axis=1) * filters[None]
    assert_products_equal(out, want)


def test_non_contiguous_inputs_and_empty_batches():
    spectrum = random_complex((3, 8, 8), np.complex64, 5)[:, ::2]  # not contiguous
    filters = random_complex((2, 4, 8), np.complex64, 6)
    out = np.empty((3, 2, 4, 8), dtype=np.complex64)
    _multiply(spectrum, filters, None, out, 2)
    assert_products_equal(out, spectrum[:, None] * filters[None])
    empty = np.empty((0, 2, 4, 8), dtype=np.complex64)
    _multiply(spectrum[:0], filters, None, empty, 2)  # no error, nothing written


def test_kernels_reject_wrong_dtypes():
    # The fused type needs one real dtype for every array.
    a = np.zeros((1, 4), np.float32)
    with pytest.raises((TypeError, ValueError)):
        _spectral.multiply(a, np.zeros((1, 4), np.float64), np.zeros((1, 1), np.intp), False,
                           np.zeros((1, 1, 4), np.float32), 1)
