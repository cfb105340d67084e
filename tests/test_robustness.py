"""Hostile input, extreme parameters, extreme magnitudes, large data.

Each test names the failure it guards against (issue 11's probe): every case
gives a correct result or a named error (ValueError / TypeError naming the
parameter), never a crash, a Python internal error or a silently wrong value.
"""
import tracemalloc

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import featpool
from featpool import FilterBank, config_context
from featpool.filters.gabor import _half_sphere, _min_separation

from _common import uses_coarse_grids
from _reference import reference_adaptive, reference_pool

F32, F64 = np.finfo(np.float32), np.finfo(np.float64)


# --------------------------------------------------------------------------
# Named errors that were Python internals (fixed before; kept fixed here)
# --------------------------------------------------------------------------

@pytest.mark.parametrize("call, error, match", [
    (lambda x: featpool.pyramid_pool(x, levels=(0,)), ValueError, "'levels'"),
    (lambda x: featpool.pyramid_pool(x, levels=(2.0,)), TypeError, "'levels'"),
    (lambda x: featpool.pool2d(x, 2, op=["max"]), TypeError, "'op'"),
    (lambda x: featpool.global_pool(x, ndim=2.0), ValueError, "'ndim'"),
    (lambda x: featpool.pool2d([[1.0, 2.0], [3.0]], 2), TypeError, "'x'"),
    (lambda x: featpool.pool2d(3.0, 2), ValueError, "'x'"),
    (lambda x: featpool.pool2d(x, 2, stride=2**63), ValueError, "'stride'"),
    (lambda x: featpool.pool2d(x, 2, padding=2**63), ValueError, "'padding'"),
    (lambda x: featpool.pool2d(x, 2, dilation=2**63), ValueError, "'dilation'"),
    (lambda x: featpool.pool2d(x, 2**63), ValueError, "size"),
    (lambda x: featpool.adaptive_pool2d(x, 10**30), ValueError, "'output_size'"),
    (lambda x: featpool.filter_pool(x, featpool.gabor_bank((8, 8)), workers=2.5),
     TypeError, "'workers'"),
    (lambda x: featpool.pool2d(x, 2, op="lp", p=float("nan")), ValueError, "'p'"),
    (lambda x: featpool.pool2d(x, 2, op="lp", p=0.0), ValueError, "'p'"),
    (lambda x: featpool.pool2d(x.astype(np.complex128), 2), TypeError, "'x'"),
    (lambda x: featpool.pool2d(x.astype(object), 2), TypeError, "'x'"),
])
def test_named_errors(call, error, match):
    with pytest.raises(error, match=match):
        call(np.random.default_rng(0).random((2, 8, 8)))


def test_masked_array_is_honoured_as_mask():
    x = np.random.default_rng(1).random((2, 6, 6))
    masked = np.ma.masked_array(x, mask=x > 0.5)
    assert_allclose(featpool.global_pool(masked, op="max"),
                    featpool.global_pool(x, op="max", mask=x <= 0.5))
    assert_allclose(featpool.global_pool(masked, op="mean"), masked.mean(axis=(1, 2)).data)


def test_pyramid_mean_of_huge_values_does_not_overflow():
    x = np.full((1, 8, 8), 1e308)
    assert_allclose(featpool.pyramid_pool(x, levels=(1, 2, 4), op="mean"), 1e308)


def test_n_threads_is_capped_at_the_cpus():
    x = np.random.default_rng(2).random((4, 16, 16))
    assert_array_equal(featpool.pool2d(x, 2, n_threads=10_000), featpool.pool2d(x, 2))


def test_planner_probe_is_small():
    """A many-scale bank on small images in 'reflect' mode tried 15.8 GiB in its probe."""
    x = np.random.default_rng(3).random((2, 64, 64))
    bank = featpool.gabor_bank((64, 64), n_scales=8)
    tracemalloc.start()
    try:
        featpool.filter_pool(x, bank, pooling=featpool.Pooling("mean", levels=(1,)))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 512 * 2**20


# --------------------------------------------------------------------------
# Numerically robust ops: the extremes of float32 and float64
# --------------------------------------------------------------------------

def _exact(x, nd, op, **kw):
    return reference_pool(x, nd, op=op, exact=True, **kw)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("op", ["mean", "var", "std"])
def test_identical_cells_near_the_largest_float(dtype, op):
    big = np.finfo(dtype).max * 0.9
    x = np.full((2, 5, 7), big, dtype=dtype)
    got = featpool.pool2d(x, (2, 3), stride=1, op=op)
    assert np.all(np.isfinite(got))
    assert_allclose(got, big if op == "mean" else 0.0, rtol=1e-6)


@pytest.mark.parametrize("nd", [2, 3])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("scale", [1e-300, 1e-150, 1e-40, 1e-8, 1.0, 1e30, 1e150, 1e300])
@pytest.mark.parametrize("op, p", [("mean", 1.0), ("var", 1.0), ("std", 1.0),
                                   ("lp", 0.5), ("lp", 3.0), ("lp", 50.0)])
def test_extreme_magnitudes_against_exact_reference(nd, dtype, scale, op, p):
    info = np.finfo(dtype)
    if scale > float(info.max) / 4 or scale < float(info.tiny) * 1e3:
        pytest.skip("not representable in this dtype")
    rng = np.random.default_rng(4)
    x = (rng.standard_normal((2,) + (5,) * nd) * scale).astype(dtype)
    kw = dict(size=3, stride=2, padding=1)
    got = (featpool.pool2d if nd == 2 else featpool.pool3d)(x, op=op, p=p, **kw)
    want = _exact(x, nd, op, p=p, **kw)
    tiny = info.tiny if op != "var" else info.tiny * scale   # var ~ scale^2 may be subnormal
    assert_allclose(got.astype(np.float64), want.astype(dtype), rtol=2e-5 if dtype ==
                    np.float32 else 1e-12, atol=tiny)


def test_lp_with_p_50_on_small_values():
    x = np.full((1, 4, 4), 1e-8)
    x[0, 0, 0] = 2e-8
    got = featpool.pool2d(x, 2, op="lp", p=50.0)
    want = 1e-8 * ((2.0**50 + 3) / 4) ** (1 / 50)
    assert_allclose(got[0, 0, 0], want, rtol=1e-13)
    assert_allclose(got[0, 1, 1], 1e-8, rtol=1e-15)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_lp_tends_to_max_and_geometric_mean(dtype):
    x = np.random.default_rng(5).uniform(0.5, 2.0, (3, 4, 4)).astype(dtype)
    big = featpool.global_pool(x, op="lp", p=1e9)
    assert_allclose(big, np.abs(x).max(axis=(1, 2)), rtol=1e-6)
    small = featpool.global_pool(x, op="lp", p=1e-12)
    geometric = np.exp(np.log(x.astype(np.float64)).mean(axis=(1, 2)))
    assert_allclose(small, geometric, rtol=1e-6)
    for p in (1e-300, 1e300):
        assert np.all(np.isfinite(featpool.global_pool(x, op="lp", p=p)))


def test_lp_std_of_huge_spread_is_finite():
    x = np.array([[[-1e308, 1e308], [1e308, -1e308]]])
    assert_allclose(featpool.pool2d(x, 2, op="std"), 1e308)
    assert_allclose(featpool.pool2d(x, 2, op="lp", p=4.0), 1e308)
    assert np.isinf(featpool.pool2d(x, 2, op="var")).all()   # 1e616 is not a float64


@pytest.mark.parametrize("op", ["mean", "lp", "var", "std"])
def test_robust_path_keeps_nan_inf_mask_and_padding_semantics(op):
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 6, 6)) * 1e300
    x[0, 0, 0] = np.nan
    x[1, 2, 3] = np.inf
    mask = rng.random((2, 6, 6)) > 0.3
    for kw in (dict(nan_policy="propagate"), dict(nan_policy="omit"),
               dict(nan_policy="omit", mask=mask), dict(padding=1, count_include_pad=True)):
        geometry = dict(size=3, stride=1, padding=kw.pop("padding", 0))
        got = featpool.pool2d(x, op=op, p=3.0, **geometry, **kw)
        want = _exact(x, 2, op, p=3.0, **geometry, **kw)
        assert_allclose(got, want, rtol=1e-12, equal_nan=True)


def test_adaptive_and_global_use_the_robust_path():
    x = np.full((2, 5, 5), 1.5e308)
    assert_allclose(featpool.adaptive_pool2d(x, 2, op="var"), 0.0)
    got = featpool.adaptive_pool2d(x * 1e-316, 3, op="std")
    assert_allclose(got, reference_adaptive(x * 1e-316, 2, 3, op="std", exact=True))


# --------------------------------------------------------------------------
# Hostile arrays
# --------------------------------------------------------------------------

def _hostile_arrays():
    rng = np.random.default_rng(7)
    x = rng.random((3, 8, 8))
    yield "big-endian", x.astype(">f8"), x
    yield "big-endian f4", x.astype(">f4"), x.astype(np.float32)
    yield "float16", x.astype(np.float16), x.astype(np.float16).astype(np.float64)
    yield "bool", x > 0.5, (x > 0.5).astype(np.float64)
    yield "uint8", (x * 255).astype(np.uint8), (x * 255).astype(np.uint8).astype(np.float64)
    big = np.full((3, 8, 8), np.iinfo(np.int64).max)
    yield "int64 max", big, big.astype(np.float64)
    small = np.full((3, 8, 8), np.iinfo(np.int64).min)
    yield "int64 min", small, small.astype(np.float64)
    yield "Fortran order", np.asfortranarray(x), x
    yield "negative strides", x[:, ::-1, ::-1], x[:, ::-1, ::-1].copy()
    yield "huge strides", np.zeros((3, 8, 8 * 1024))[:, :, ::1024] + x, x
    yield "zero strides", np.broadcast_to(x[:1], (3, 8, 8)), np.repeat(x[:1], 3, axis=0)
    yield "read-only", np.frombuffer(x.tobytes(), dtype=np.float64).reshape(x.shape), x

    class Sub(np.ndarray):
        pass

    yield "subclass", x.view(Sub), x
    yield "matrix", np.matrix(x[0]), x[0]


@pytest.mark.parametrize("name, hostile, plain", list(_hostile_arrays()),
                         ids=[a[0] for a in _hostile_arrays()])
@pytest.mark.parametrize("op", ["max", "mean", "std"])
def test_hostile_arrays_pool_like_plain_ones(name, hostile, plain, op):
    got = featpool.pool2d(hostile, 3, stride=2, op=op)
    assert type(got) is np.ndarray
    want = featpool.pool2d(np.ascontiguousarray(plain, dtype=got.dtype), 3, stride=2, op=op)
    assert_allclose(got, want, rtol=1e-12)


def test_zero_size_axes():
    assert featpool.pool2d(np.zeros((0, 8, 8)), 2).shape == (0, 4, 4)
    assert featpool.global_pool(np.zeros((4, 0, 8, 8)), op="mean").shape == (4, 0)
    with pytest.raises(ValueError, match="larger than the padded input"):
        featpool.pool2d(np.zeros((2, 0, 8)), 2)
    with pytest.raises(ValueError, match="non-empty pooled axes"):
        featpool.adaptive_pool2d(np.zeros((2, 0, 8)), 2)


def test_broadcast_view_is_refused_before_it_is_copied():
    view = np.broadcast_to(np.float32(1), (1, 50_000, 50_000))   # 9.3 GiB if copied
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="working_memory"):
            featpool.pool2d(view, 2, op="mean")
        with pytest.raises(ValueError, match="working_memory"):
            featpool.global_pool(np.broadcast_to(1.0, (3, 2**16, 2**16)), op="max")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2**20


def test_broadcast_view_within_the_budget_is_pooled():
    view = np.broadcast_to(np.arange(64.0).reshape(8, 8), (5, 8, 8))
    with config_context(working_memory=1):
        assert_allclose(featpool.pool2d(view, 2), featpool.pool2d(np.array(view), 2))
        with pytest.raises(ValueError, match="working_memory"):
            featpool.pool2d(np.broadcast_to(1.0, (1, 1024, 1024)), 2)


# --------------------------------------------------------------------------
# Memory: inputs that fit are materialised at most once
# --------------------------------------------------------------------------

def _peak(func):
    tracemalloc.start()
    try:
        func()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("dtype, copies", [(np.float32, 0), (np.float64, 0), (np.uint8, 1)])
def test_pool_allocates_output_and_at_most_one_copy(dtype, copies):
    x = np.ones((2048, 2048), dtype=dtype)   # a scaled-down 16384 x 16384 image
    cast = x.size * np.dtype(np.float64).itemsize * copies
    out = x.size // 4 * (4 if dtype == np.float32 else 8)
    peak = _peak(lambda: featpool.pool2d(x, 2, op="mean"))
    assert peak < cast + out + 4 * 2**20


def test_volume_pooling_memory_is_bounded():
    x = np.ones((128, 128, 128), dtype=np.float32)   # a scaled-down 512^3 volume
    peak = _peak(lambda: featpool.pool3d(x, 2, op="max"))
    assert peak < x.nbytes // 8 + 4 * 2**20


def test_full_size_image_and_volume():
    """A 16384^2 image and a 512^3 volume, float32: no copy of the input, the
    outputs and the kernel's scratch within the working memory.

    (The uint8 cast, one float64 copy, is checked on a scaled-down image above.)
    """
    budget = featpool._config.working_memory_bytes()
    image = np.zeros((16384, 16384), dtype=np.float32)
    assert _peak(lambda: featpool.pool2d(image, 64, op="max")) < budget
    volume = np.zeros((512, 512, 512), dtype=np.float32)
    assert _peak(lambda: featpool.adaptive_pool3d(volume, 4, op="mean")) < budget


def test_filter_pool_large_image_stays_within_budget():
    image = np.random.default_rng(8).random((1, 1024, 1024)).astype(np.float32)
    bank = featpool.gabor_bank((1024, 1024), n_scales=2, n_orientations=4)
    spectra = len(bank) * image.size * 16   # complex128, built once and cached
    for budget in (16, 64):
        featpool.clear_cache()
        with config_context(working_memory=budget):
            peak = _peak(lambda: featpool.filter_pool(image, bank, mode="wrap"))
        # The bank, the budget and a few image-sized arrays; never all 8
        # responses at full resolution on top of them.
        assert peak < spectra + budget * 2**20 + 3 * image.size * 8


# --------------------------------------------------------------------------
# Filters: extreme parameters
# --------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, match", [
    (dict(n_scales=64), "n_scales=64"),
    (dict(bandwidth=1e10), "'bandwidth'"),
    (dict(bandwidth=1e-6), "bandwidth=1e-06"),
    (dict(aspect_ratio=1e-12), "aspect_ratio=1e-12"),
    (dict(aspect_ratio=1e-300), "aspect_ratio=1e-300"),
    (dict(aspect_ratio=1e300), "aspect_ratio=1e[+]300"),
    (dict(n_scales=2000, frequency_range=(0.1, 0.2)), "'n_scales'"),
])
@pytest.mark.parametrize("bank", [featpool.gabor_bank, featpool.morlet_bank])
def test_gabor_extreme_parameters_are_named_errors(bank, kwargs, match):
    with pytest.raises(ValueError, match=match):
        bank((64, 64), **kwargs)


def test_gabor_bank_at_the_edge_of_the_accepted_range_is_finite():
    bank = featpool.gabor_bank((32, 32), n_scales=12, aspect_ratio=0.2)
    assert np.all(np.isfinite(bank.spectra))


@pytest.mark.parametrize("n", list(range(1, 40)) + [91, 97, 128, 200, 256, 257, 1000])
def test_gabor_3d_directions_are_distinct(n):
    u = _half_sphere(n)
    assert u.shape == (n, 3) and np.all(u[:, 0] >= 0)
    assert_allclose(np.linalg.norm(u, axis=1), 1.0)
    if n > 1:
        assert _min_separation(u) > 1e-4


def test_gabor_3d_many_directions_build():
    bank = featpool.gabor_bank_3d((8, 8, 8), n_scales=1, n_orientations=1000)
    assert len(bank) == 1000


@pytest.mark.parametrize("kernels, match", [
    (np.zeros((0, 3, 3)), "at least one"),
    (np.zeros((2, 0, 3)), "at least one"),
    (np.full((2, 3, 3), np.nan), "finite"),
    (np.array([[[1.0, np.inf]]]), "finite"),
    ([], "'kernels'"),
])
def test_from_kernels_refuses_empty_and_non_finite(kernels, match):
    with pytest.raises(ValueError, match=match):
        FilterBank.from_kernels(kernels, (8, 8))


@pytest.mark.parametrize("bank", [featpool.leung_malik_bank, featpool.schmid_bank,
                                  featpool.rfs_bank])
@pytest.mark.parametrize("support", [1, 2, 515, 10**9, 2**63])
def test_classic_support_bounds(bank, support):
    with pytest.raises(ValueError, match="'support'"):
        bank((32, 32), support=support)


@pytest.mark.parametrize("op, p, degree", [("lp", 6.0, 1), ("lp", 3.0, 1), ("std", 2.0, 1),
                                           ("var", 2.0, 2)])
def test_multiresolution_quadrature_is_scale_invariant(op, p, degree):
    """The coarse path's powers (|x|^6 of responses near 1e-8: 1e-48, below
    float32) neither underflow nor overflow: scaled images give scaled features."""
    x = np.random.default_rng(9).random((2, 64, 64)).astype(np.float32)
    bank = featpool.gabor_bank((64, 64), n_scales=3, n_orientations=2, dtype=np.float32)
    pooling = featpool.Pooling(op, levels=(1, 2), p=p)
    assert uses_coarse_grids(bank, (64, 64), [pooling], mode="wrap")
    plain = featpool.filter_pool(x, bank, pooling=pooling, mode="wrap")
    for scale in (1e-8, 1e8):
        got = featpool.filter_pool(x * np.float32(scale), bank, pooling=pooling, mode="wrap")
        assert_allclose(got / scale**degree, plain, rtol=1e-4)


def test_high_order_power_means_are_pooled_at_full_resolution():
    """|y|^50 is far from band-limited: coarse samples gave 14% errors."""
    x = np.random.default_rng(10).random((2, 64, 64))
    bank = featpool.gabor_bank((64, 64), n_scales=3, n_orientations=2)
    high = featpool.Pooling("lp", levels=(1, 2), p=50.0)
    assert not uses_coarse_grids(bank, (64, 64), [high], mode="wrap")
    assert uses_coarse_grids(bank, (64, 64), [featpool.Pooling("lp", levels=(1,), p=3.0)],
                             mode="wrap")
    fast = featpool.filter_pool(x, bank, pooling=high, mode="wrap")
    full = featpool.filter_pool(x, bank, pooling=high, mode="wrap", multiresolution=False)
    assert_allclose(fast, full, rtol=1e-10)
