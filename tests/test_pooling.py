"""Tests for featpool/pooling.py.

Every kernel result is checked against the slow loop-per-window reference in
``_reference.py`` (float64, plain NumPy), which encodes the contract of
DESIGN.md ("Pooling: one contract for 2D and 3D").
"""
import numpy as np
import pytest
from hypothesis import assume, given, settings, strategies as st
from numpy.lib.stride_tricks import sliding_window_view
from numpy.testing import assert_allclose, assert_array_equal

from featpool import (
    adaptive_pool2d,
    adaptive_pool3d,
    global_pool,
    pool2d,
    pool3d,
    pool_output_shape,
    pyramid_pool,
)
from _reference import (
    OPS,
    is_valid_geometry,
    output_length,
    reference_adaptive,
    reference_pool,
)

POOL = {2: pool2d, 3: pool3d}
ADAPTIVE = {2: adaptive_pool2d, 3: adaptive_pool3d}
DTYPES = [np.float32, np.float64]
POLICIES = ["propagate", "omit"]


def random_array(shape, dtype=np.float64, seed=0, nan_fraction=0.0, ties=False):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=shape)
    if ties:
        x = np.round(x)
    if nan_fraction:
        x[rng.random(shape) < nan_fraction] = np.nan
    return x.astype(dtype)


def assert_pooled(got, want, op, dtype):
    """max/min exactly; other ops to rtol 1e-5 (float32) or 1e-10 (float64)."""
    assert got.dtype == dtype
    assert got.shape == want.shape
    if op in ("max", "min"):
        assert_array_equal(got, want.astype(dtype))
        return
    rtol, atol = (1e-5, 1e-6) if dtype == np.float32 else (1e-10, 1e-12)
    if op == "std":
        # sqrt magnifies the rounding of a variance near 0: compare variances.
        got, want = got.astype(np.float64) ** 2, want**2
    assert_allclose(got, want, rtol=rtol, atol=atol)


# --------------------------------------------------------------------------
# Sliding windows against the reference: every op, 2D and 3D, both dtypes
# --------------------------------------------------------------------------

# (id, nd, shape with 0, 1 or 2 leading axes, window geometry)
CASES = [
    ("2d-plain", 2, (7, 9), dict(size=3)),
    ("2d-rect-pad", 2, (2, 9, 11), dict(size=(3, 2), stride=(2, 1), padding=(1, 1))),
    ("2d-ceil", 2, (2, 3, 10, 7), dict(size=3, stride=2, padding=1, ceil_mode=True)),
    ("2d-dilation", 2, (3, 11, 13), dict(size=3, stride=(2, 3), padding=1, dilation=(2, 1))),
    ("2d-ceil-include-pad", 2, (2, 8, 9),
     dict(size=(4, 5), stride=(3, 2), padding=2, ceil_mode=True, count_include_pad=True)),
    ("2d-dilation-include-pad", 2, (5, 13),
     dict(size=(2, 3), stride=1, padding=1, dilation=(3, 2), count_include_pad=True)),
    # A right-padding tap beyond n + p must not count in the divisor.
    ("2d-ceil-dilation-include-pad", 2, (1, 2, 12, 11),
     dict(size=3, stride=2, padding=1, dilation=2, ceil_mode=True, count_include_pad=True)),
    ("2d-whole-image", 2, (2, 6, 7), dict(size=(6, 7))),
    ("2d-no-full-window", 2, (2, 5, 4), dict(size=(7, 5), stride=2, padding=(3, 2))),
    ("2d-identity", 2, (2, 4, 5), dict(size=1)),
    ("2d-2x2-stride-2", 2, (3, 8, 11), dict(size=2)),
    ("2d-2x2-stride-2-pad", 2, (2, 7, 9),
     dict(size=2, padding=1, ceil_mode=True, count_include_pad=True)),
    ("3d-plain", 3, (5, 6, 7), dict(size=2)),
    ("3d-rect-pad", 3, (2, 5, 7, 6), dict(size=(2, 3, 2), stride=(1, 2, 2), padding=(1, 1, 0))),
    ("3d-ceil", 3, (2, 1, 5, 6, 7), dict(size=3, stride=2, padding=1, ceil_mode=True)),
    ("3d-dilation-include-pad", 3, (2, 6, 7, 5),
     dict(size=(2, 2, 3), stride=(1, 2, 1), padding=(1, 0, 1), dilation=(2, 3, 1),
          count_include_pad=True)),
    ("3d-ceil-include-pad", 3, (7, 5, 6),
     dict(size=(3, 2, 4), stride=(2, 2, 3), padding=(1, 1, 2), ceil_mode=True,
          count_include_pad=True)),
    ("3d-whole-volume", 3, (2, 3, 4, 5), dict(size=(3, 4, 5))),
    ("3d-depth-1", 3, (2, 4, 6, 7), dict(size=(1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1))),
]
CASE_IDS = [c[0] for c in CASES]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("name, nd, shape, geometry", CASES, ids=CASE_IDS)
def test_pool_matches_reference(name, nd, shape, geometry, op, dtype):
    x = random_array(shape, dtype, seed=len(name))
    got = POOL[nd](x, op=op, p=3.0, **geometry)
    want = reference_pool(x, nd, op=op, p=3.0, **geometry)
    assert got.shape == shape[: len(shape) - nd] + want.shape[len(shape) - nd:]
    assert_pooled(got, want, op, dtype)


def test_ceil_mode_drops_window_starting_in_padding():
    # n=5, k=2, s=2, p=1: (5 + 2 - 1 - 1 + 1) // 2 + 1 = 4, but the 4th window
    # would start at 3 * 2 - 1 = 5 = n, in the right padding: PyTorch drops it.
    assert output_length(5, 2, 2, 1, 1, ceil_mode=True) == 3
    assert pool2d(np.ones((5, 5)), 2, stride=2, padding=1, ceil_mode=True).shape == (3, 3)
    # n=6, k=3, s=2, p=1: ceil mode adds a window that starts inside the input.
    assert output_length(6, 3, 2, 1, 1, ceil_mode=False) == 3
    assert output_length(6, 3, 2, 1, 1, ceil_mode=True) == 4
    assert pool2d(np.ones((6, 6)), 3, stride=2, padding=1, ceil_mode=True).shape == (4, 4)


def test_count_include_pad_divisor():
    x = np.ones((4, 4))
    # Corner window of a 3x3 / padding 1 mean holds 4 real cells out of 9.
    assert pool2d(x, 3, stride=1, padding=1, op="mean", count_include_pad=True)[0, 0] == 4 / 9
    assert pool2d(x, 3, stride=1, padding=1, op="mean")[0, 0] == 1.0
    # count_include_pad only changes mean.
    for op in ("sum", "max", "lp", "var"):
        assert_array_equal(pool2d(x, 3, stride=1, padding=1, op=op, count_include_pad=True),
                           pool2d(x, 3, stride=1, padding=1, op=op))


@pytest.mark.parametrize("p", [0.5, 1.0, 2.0, 3.7])
@pytest.mark.parametrize("nd", [2, 3])
def test_lp_exponents(nd, p):
    shape = (2,) + (6,) * nd
    x = random_array(shape, seed=3, nan_fraction=0.1)
    for policy in POLICIES:
        kw = dict(size=3, stride=2, padding=1, op="lp", p=p, nan_policy=policy)
        assert_pooled(POOL[nd](x, **kw), reference_pool(x, nd, **kw), "lp", np.float64)


@pytest.mark.parametrize("lead", [(), (3,), (2, 3), (2, 1, 2)])
def test_leading_axes_are_carried_through(lead):
    x = random_array(lead + (4, 6, 5), seed=1)
    out = pool3d(x, (2, 3, 2), stride=1, op="mean")
    assert out.shape == lead + (3, 4, 4)
    flat = pool3d(x.reshape((-1, 4, 6, 5)), (2, 3, 2), stride=1, op="mean")
    assert_array_equal(out.reshape(flat.shape), flat)
    # pool2d sees the depth axis as one more leading axis.
    out2 = pool2d(x, 2, op="max")
    assert out2.shape == lead + (4, 3, 2)
    assert_array_equal(out2, reference_pool(x, 2, 2))


# --------------------------------------------------------------------------
# NaN policies, masks and empty windows
# --------------------------------------------------------------------------

NAN_CASES = [
    (2, (2, 9, 8), dict(size=3, stride=2, padding=1, dilation=(1, 2))),
    (3, (2, 5, 6, 7), dict(size=(2, 3, 3), stride=(1, 2, 1), padding=(1, 1, 0), ceil_mode=True)),
]


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("nd, shape, geometry", NAN_CASES, ids=["2d", "3d"])
def test_nan_policy(nd, shape, geometry, op, dtype, policy):
    x = random_array(shape, dtype, seed=5, nan_fraction=0.2)
    x[0, ..., :4, :4] = np.nan   # with 'omit': windows with no valid cell
    for include_pad in (False, True):
        kw = dict(op=op, nan_policy=policy, count_include_pad=include_pad, **geometry)
        got = POOL[nd](x, **kw)
        want = reference_pool(x, nd, **kw)
        assert_pooled(got, want, op, dtype)
    # The NaN-only corner empties a window under both policies; 'propagate'
    # also spreads the scattered NaN.
    assert np.isnan(got[0, ..., 0, 0]).all()
    propagated = POOL[nd](x, op=op, **geometry)
    omitted = POOL[nd](x, op=op, nan_policy="omit", **geometry)
    assert np.isnan(propagated).sum() > np.isnan(omitted).sum()


def test_nan_policy_simple_values():
    x = np.array([[1.0, np.nan], [3.0, 4.0]])
    assert np.isnan(pool2d(x, 2, op="max")[0, 0])
    assert np.isnan(pool2d(x, 2, op="min")[0, 0])
    assert np.isnan(pool2d(x, 2, op="sum")[0, 0])
    assert pool2d(x, 2, op="max", nan_policy="omit")[0, 0] == 4.0
    assert pool2d(x, 2, op="min", nan_policy="omit")[0, 0] == 1.0
    assert pool2d(x, 2, op="sum", nan_policy="omit")[0, 0] == 8.0
    assert pool2d(x, 2, op="mean", nan_policy="omit")[0, 0] == 8.0 / 3
    assert np.isnan(pool2d(np.full((2, 2), np.nan), 2, op="sum", nan_policy="omit")[0, 0])


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("op", OPS)
def test_infinities(op, policy):
    # inf - inf in a sum (or in var's sums) is NaN, as in NumPy.
    rng = np.random.default_rng(6)
    x = rng.normal(size=(3, 9, 10))
    x[rng.random(x.shape) < 0.1] = np.inf
    x[rng.random(x.shape) < 0.1] = -np.inf
    x[rng.random(x.shape) < 0.05] = np.nan
    kw = dict(size=3, stride=2, padding=1, op=op, nan_policy=policy)
    with np.errstate(invalid="ignore"):
        want = reference_pool(x, 2, **kw)
    assert_pooled(pool2d(x, **kw), want, op, np.float64)
    assert np.isinf(want).any() or op in ("var", "std")


MASK_CASES = [
    (2, (2, 3, 9, 10), dict(size=3, stride=2, padding=1)),
    (2, (7, 8), dict(size=(2, 3), stride=1, padding=(1, 1), dilation=(2, 1), ceil_mode=True)),
    (3, (2, 6, 5, 7), dict(size=(3, 2, 3), stride=(2, 1, 2), padding=(1, 1, 1))),
]


@pytest.mark.parametrize("mask_shape", ["spatial", "full"])
@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("nd, shape, geometry", MASK_CASES, ids=["2d", "2d-no-lead", "3d"])
def test_mask(nd, shape, geometry, op, policy, mask_shape):
    x = random_array(shape, seed=7, nan_fraction=0.15)
    rng = np.random.default_rng(8)
    mshape = shape[len(shape) - nd:] if mask_shape == "spatial" else shape
    mask = rng.random(mshape) < 0.7
    mask[..., :4, :4] = False   # empty windows -> NaN
    for include_pad in (False, True):
        kw = dict(op=op, nan_policy=policy, mask=mask, count_include_pad=include_pad,
                  **geometry)
        got = POOL[nd](x, **kw)
        want = reference_pool(x, nd, **kw)
        assert_pooled(got, want, op, np.float64)
    # The mask changed the result, and emptied at least one window.
    assert not np.array_equal(got, POOL[nd](x, op=op, nan_policy=policy, **geometry),
                              equal_nan=True)
    assert np.isnan(got[..., 0, 0]).all()


def test_full_mask_differs_per_image():
    x = np.arange(2 * 4 * 4, dtype=np.float64).reshape(2, 4, 4)
    mask = np.zeros(x.shape, dtype=bool)
    mask[0, 0, 0] = True
    mask[1, 3, 3] = True
    assert_array_equal(pool2d(x, 4, mask=mask, op="max")[:, 0, 0], [0.0, 31.0])
    assert_array_equal(pool2d(x, 4, mask=mask.astype(np.uint8), op="max")[:, 0, 0], [0.0, 31.0])


def test_masked_out_nan_does_not_propagate():
    x = np.array([[1.0, np.nan], [3.0, 4.0]])
    mask = np.array([[True, False], [True, True]])
    for op, want in [("max", 4.0), ("sum", 8.0), ("mean", 8.0 / 3)]:
        assert pool2d(x, 2, op=op, mask=mask)[0, 0] == want


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("nd", [2, 3])
def test_empty_windows_are_nan(nd, op):
    x = random_array((2,) + (4,) * nd, seed=2)
    mask = np.zeros(x.shape, dtype=bool)
    mask[1] = True
    out = POOL[nd](x, 2, op=op, mask=mask)
    assert np.isnan(out[0]).all()
    assert not np.isnan(out[1]).any()
    out = POOL[nd](np.full(x.shape, np.nan), 2, op=op, nan_policy="omit")
    assert np.isnan(out).all()


# --------------------------------------------------------------------------
# return_indices
# --------------------------------------------------------------------------

INDEX_CASES = [
    (2, (2, 3, 9, 11), dict(size=3, stride=2, padding=1, dilation=(2, 1))),
    (2, (8, 7), dict(size=(2, 4), stride=(1, 2), padding=(1, 2), ceil_mode=True)),
    (3, (2, 5, 6, 7),
     dict(size=(2, 3, 2), stride=(1, 2, 2), padding=(1, 1, 0), dilation=(2, 1, 1))),
]


@pytest.mark.parametrize("variant", ["plain", "ties", "nan", "nan-omit", "mask", "mask-omit"])
@pytest.mark.parametrize("op", ["max", "min"])
@pytest.mark.parametrize("nd, shape, geometry", INDEX_CASES, ids=["2d", "2d-no-lead", "3d"])
@pytest.mark.parametrize("dtype", DTYPES)
def test_return_indices(nd, shape, geometry, op, variant, dtype):
    x = random_array(shape, dtype, seed=11, ties=variant != "plain",
                     nan_fraction=0.0 if variant in ("plain", "ties") else 0.2)
    kw = dict(op=op, nan_policy="omit" if variant.endswith("omit") else "propagate", **geometry)
    if variant.startswith("mask"):
        mask = np.random.default_rng(12).random(shape[len(shape) - nd:]) < 0.6
        mask[..., :5, :5] = False
        kw["mask"] = mask
    out, idx = POOL[nd](x, return_indices=True, **kw)
    want, want_idx = reference_pool(x, nd, return_indices=True, **kw)
    assert idx.dtype == np.int64
    assert idx.shape == out.shape
    assert_pooled(out, want, op, dtype)
    assert_array_equal(idx, want_idx)
    assert_array_equal(out, POOL[nd](x, **kw))
    # Each index points at the value it reports.
    spatial = shape[len(shape) - nd:]
    flat = x.reshape((-1, int(np.prod(spatial))))
    picked = np.take_along_axis(flat, np.maximum(idx.reshape(len(flat), -1), 0), axis=1)
    valid = idx.reshape(len(flat), -1) >= 0
    assert_array_equal(picked[valid], out.reshape(len(flat), -1)[valid])
    if variant.startswith("mask"):
        assert (idx == -1).any()
        assert np.isnan(out[idx == -1]).all()


def test_return_indices_rules():
    x = np.array([[1.0, 5.0, 5.0], [np.nan, 5.0, np.nan], [0.0, 5.0, 1.0]])
    # First maximum in row-major order; with NaN, the last NaN (PyTorch's rule).
    assert pool2d(x[:1], (1, 3), return_indices=True)[1][0, 0] == 1
    assert pool2d(x, 3, return_indices=True)[1][0, 0] == 5
    assert pool2d(x, 3, nan_policy="omit", return_indices=True)[1][0, 0] == 1
    assert pool2d(x, 3, op="min", nan_policy="omit", return_indices=True)[1][0, 0] == 6
    mask = np.zeros((3, 3), dtype=bool)
    out, idx = pool2d(x, 3, mask=mask, return_indices=True)
    assert idx[0, 0] == -1 and np.isnan(out[0, 0])


@pytest.mark.parametrize("nd", [2, 3])
def test_adaptive_return_indices(nd):
    shape = (2,) + (7, 5, 6)[3 - nd:]
    x = random_array(shape, seed=4, nan_fraction=0.1, ties=True)
    for op in ("max", "min"):
        for policy in POLICIES:
            out, idx = ADAPTIVE[nd](x, 3, op=op, nan_policy=policy, return_indices=True)
            want, want_idx = reference_adaptive(x, nd, 3, op=op, nan_policy=policy,
                                                return_indices=True)
            assert_pooled(out, want, op, np.float64)
            assert_array_equal(idx, want_idx)


# --------------------------------------------------------------------------
# Adaptive, global and pyramid pooling
# --------------------------------------------------------------------------

ADAPTIVE_CASES = [
    (2, (2, 7, 9), 3),
    (2, (7, 9), (4, None)),
    (2, (2, 3, 3, 5), (7, 8)),          # grid larger than the input
    (2, (1, 10), (1, 3)),
    (3, (2, 5, 6, 7), (2, 3, 4)),
    (3, (4, 3, 5), (None, 5, 2)),       # grid == depth: one plane per cell
    (3, (2, 3, 2, 3), 4),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("nd, shape, grid", ADAPTIVE_CASES)
def test_adaptive_matches_reference(nd, shape, grid, op, dtype):
    x = random_array(shape, dtype, seed=9)
    got = ADAPTIVE[nd](x, grid, op=op, p=1.5)
    want = reference_adaptive(x, nd, grid, op=op, p=1.5)
    assert_pooled(got, want, op, dtype)


@pytest.mark.parametrize("op", OPS)
def test_adaptive_nan_and_mask(op):
    x = random_array((2, 3, 9, 7), seed=10, nan_fraction=0.2)
    mask = np.random.default_rng(10).random(x.shape) < 0.6
    for policy in POLICIES:
        kw = dict(op=op, nan_policy=policy, mask=mask)
        assert_pooled(adaptive_pool2d(x, (4, 3), **kw), reference_adaptive(x, 2, (4, 3), **kw),
                      op, np.float64)
        assert_pooled(adaptive_pool3d(x, (2, 4, 3), **kw),
                      reference_adaptive(x, 3, (2, 4, 3), **kw), op, np.float64)


def test_adaptive_bins_match_pytorch_rule():
    # L = 5 into 3 cells: [0, 2), [1, 4), [3, 5).
    x = np.arange(5.0).reshape(1, 5)
    assert_array_equal(adaptive_pool2d(x, (1, 3), op="sum"), [[0 + 1, 1 + 2 + 3, 3 + 4]])
    # A grid larger than the input repeats cells: 5 into 8 gives [0, 1), [0, 2),
    # [1, 2), [1, 3), [2, 4), [3, 4), [3, 5), [4, 5).
    assert_array_equal(adaptive_pool2d(x, (1, 8), op="max"), [[0, 1, 1, 2, 3, 3, 4, 4]])
    assert_array_equal(adaptive_pool2d(x, (1, 8), op="min"), [[0, 0, 1, 1, 2, 3, 3, 4]])
    assert adaptive_pool2d(np.ones((4, 6)), None).shape == (4, 6)


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("ndim", [2, 3])
def test_global_pool(op, ndim):
    x = random_array((2, 3, 5, 6, 7), seed=13)
    axes = tuple(range(-ndim, 0))
    got = global_pool(x, op=op, ndim=ndim, p=2.5)
    assert got.shape == x.shape[: x.ndim - ndim]
    numpy_ops = {
        "max": np.max(x, axis=axes), "min": np.min(x, axis=axes),
        "sum": np.sum(x, axis=axes), "mean": np.mean(x, axis=axes),
        "lp": np.mean(np.abs(x) ** 2.5, axis=axes) ** (1 / 2.5),
        "var": np.var(x, axis=axes), "std": np.std(x, axis=axes),
    }
    assert_pooled(got, numpy_ops[op], op, np.float64)


def test_global_pool_nan_and_mask():
    x = random_array((3, 6, 5), seed=14, nan_fraction=0.3)
    assert_allclose(global_pool(x, nan_policy="omit"), np.nanmean(x, axis=(1, 2)), rtol=1e-12)
    assert np.isnan(global_pool(x)).all()
    mask = np.random.default_rng(1).random((6, 5)) < 0.5
    want = [np.nanmax(np.where(mask, img, np.nan)) for img in x]
    assert_array_equal(global_pool(x, op="max", nan_policy="omit", mask=mask), want)


def test_pyramid_pool():
    x = random_array((2, 3, 13, 17), seed=15)
    levels = (1, 2, 4)
    out = pyramid_pool(x, levels=levels, op="mean")
    assert out.shape == (2, 3, 1 + 4 + 16)
    want = np.concatenate(
        [reference_adaptive(x, 2, g, op="mean").reshape(2, 3, -1) for g in levels], axis=-1)
    assert_allclose(out, want, rtol=1e-12)
    # Default op max, level 1 first: the global maximum.
    assert_array_equal(pyramid_pool(x)[..., 0], x.max(axis=(-2, -1)))


def test_pyramid_pool_fixed_length():
    lengths = {pyramid_pool(np.ones(shape), levels=(1, 2, 4)).shape for shape in
               [(3, 50, 37), (3, 9, 11), (3, 4, 4), (3, 2, 3)]}
    assert lengths == {(3, 21)}


def test_pyramid_pool_levels_and_3d():
    x = random_array((2, 5, 6, 7), seed=16)
    out = pyramid_pool(x, levels=(1, (2, 3)), op="max")
    assert out.shape == (2, 5, 1 + 6)
    assert_array_equal(out[..., 1:], reference_adaptive(x, 2, (2, 3)).reshape(2, 5, 6))
    out3 = pyramid_pool(x, levels=(1, 2), ndim=3, op="sum")
    assert out3.shape == (2, 1 + 8)
    assert_allclose(out3[:, 1:], reference_adaptive(x, 3, 2, op="sum").reshape(2, 8), rtol=1e-12)
    assert_allclose(out3[:, 0], x.sum(axis=(1, 2, 3)), rtol=1e-12)


@pytest.mark.parametrize("name, nd, shape, geometry", CASES, ids=CASE_IDS)
def test_pool_output_shape(name, nd, shape, geometry):
    kwargs = {k: v for k, v in geometry.items() if k != "count_include_pad"}
    if nd == 3 and isinstance(kwargs["size"], int):
        kwargs["size"] = (kwargs["size"],) * 3
    x = np.zeros(shape)
    assert pool_output_shape(shape, **kwargs) == POOL[nd](x, **geometry).shape


def test_pool_output_shape_values():
    assert pool_output_shape((8, 28, 28), 3, stride=2) == (8, 13, 13)
    assert pool_output_shape((8, 28, 28), 3, stride=2, ceil_mode=True) == (8, 14, 14)
    assert pool_output_shape((5, 6, 7), (1, 2, 3)) == (5, 3, 2)
    assert pool_output_shape((5, 6, 7), 2) == (5, 3, 3)
    with pytest.raises(ValueError, match="larger than the padded input"):
        pool_output_shape((4, 4), 5)


# --------------------------------------------------------------------------
# Circular boundary (wrap)
# --------------------------------------------------------------------------

@pytest.mark.parametrize("op", OPS)
def test_wrap_equals_circular_padding(op):
    x = random_array((2, 8, 9, 10), seed=17, nan_fraction=0.05)
    kw = dict(op=op, stride=(1, 2, 2), nan_policy="omit")
    got = pool3d(x, (3, 3, 3), padding=(1, 1, 1), wrap=(True, False, False), **kw)
    padded = np.pad(x, [(0, 0), (1, 1), (0, 0), (0, 0)], mode="wrap")
    assert_array_equal(got, pool3d(padded, (3, 3, 3), padding=(0, 1, 1), **kw))
    assert_pooled(got, reference_pool(padded, 3, (3, 3, 3), padding=(0, 1, 1), **kw),
                  op, np.float64)


def test_wrap_orientation_max_is_circular():
    x = random_array((3, 8, 5, 6), seed=18)   # (filters, orientations, H, W)
    got = pool3d(x, (3, 1, 1), stride=1, padding=(1, 0, 0), wrap=(True, False, False))
    want = np.maximum(np.maximum(np.roll(x, 1, axis=1), x), np.roll(x, -1, axis=1))
    assert_array_equal(got, want)
    assert got.shape == x.shape


def test_wrap_2d_both_axes_with_mask():
    x = random_array((2, 7, 6), seed=19)
    mask = np.random.default_rng(19).random((7, 6)) < 0.7
    # Wrapped padding is made of real cells: count_include_pad has nothing to add.
    got = pool2d(x, 3, stride=2, padding=1, op="mean", mask=mask, wrap=True,
                 count_include_pad=True)
    want = reference_pool(np.pad(x, [(0, 0), (1, 1), (1, 1)], mode="wrap"), 2, 3, stride=2,
                          op="mean", mask=np.pad(mask, 1, mode="wrap"))
    assert_pooled(got, want, "mean", np.float64)
    full = np.broadcast_to(mask, x.shape)
    assert_array_equal(pool2d(x, 3, stride=2, padding=1, op="max", mask=full, wrap=True),
                       pool2d(x, 3, stride=2, padding=1, op="max", mask=mask, wrap=True))


# --------------------------------------------------------------------------
# Property tests
# --------------------------------------------------------------------------

@st.composite
def axis_geometry(draw, valid_padding=True):
    k = draw(st.integers(1, 4))
    s = draw(st.integers(1, 3))
    d = draw(st.integers(1, 3))
    p = draw(st.integers(0, k // 2 if valid_padding else k // 2 + 1))
    extent = d * (k - 1) + 1
    low = max(1, extent - 2 * p) if valid_padding else 1
    n = draw(st.integers(low, low + 5))
    return n, k, s, p, d


@st.composite
def pooling_cases(draw, valid_padding=True):
    nd = draw(st.sampled_from([2, 3]))
    axes = [draw(axis_geometry(valid_padding)) for _ in range(nd)]
    spatial, size, stride, padding, dilation = (tuple(v) for v in zip(*axes))
    lead = tuple(draw(st.lists(st.integers(1, 2), max_size=2)))
    geometry = dict(size=size, stride=stride, padding=padding, dilation=dilation,
                    ceil_mode=draw(st.booleans()))
    return nd, lead, spatial, geometry


@settings(max_examples=200, deadline=None)
@given(
    case=pooling_cases(),
    op=st.sampled_from(OPS),
    dtype=st.sampled_from(DTYPES),
    count_include_pad=st.booleans(),
    policy=st.sampled_from(POLICIES),
    nan_fraction=st.sampled_from([0.0, 0.0, 0.1, 0.4]),
    mask_kind=st.sampled_from([None, None, "spatial", "full"]),
    p=st.sampled_from([0.5, 1.0, 2.0, 3.3]),
    seed=st.integers(0, 2**32 - 1),
)
def test_pool_property(case, op, dtype, count_include_pad, policy, nan_fraction, mask_kind,
                       p, seed):
    nd, lead, spatial, geometry = case
    assume(is_valid_geometry(spatial, **geometry))
    shape = lead + spatial
    x = random_array(shape, dtype, seed, nan_fraction, ties=op in ("max", "min"))
    mask = None
    if mask_kind is not None:
        mask = np.random.default_rng(seed + 1).random(
            spatial if mask_kind == "spatial" else shape) < 0.7
    with_idx = op in ("max", "min")
    kw = dict(op=op, p=p, count_include_pad=count_include_pad, nan_policy=policy, mask=mask,
              **geometry)
    got = POOL[nd](x, return_indices=with_idx, **kw)
    want = reference_pool(x, nd, return_indices=with_idx, **kw)
    if with_idx:
        (got, idx), (want, want_idx) = got, want
        assert_array_equal(idx, want_idx)
    assert_pooled(got, want, op, dtype)
    assert got.shape == pool_output_shape(shape, **geometry)


@settings(max_examples=200, deadline=None)
@given(case=pooling_cases(valid_padding=False))
def test_invalid_geometry_raises(case):
    nd, lead, spatial, geometry = case
    x = np.ones(lead + spatial)
    if is_valid_geometry(spatial, **geometry):
        want = reference_pool(x, nd, **geometry).shape
        assert POOL[nd](x, **geometry).shape == want
    else:
        with pytest.raises(ValueError, match="padding|window|larger"):
            POOL[nd](x, **geometry)


@settings(max_examples=100, deadline=None)
@given(
    nd=st.sampled_from([2, 3]),
    spatial=st.lists(st.integers(1, 7), min_size=3, max_size=3),
    grid=st.lists(st.one_of(st.none(), st.integers(1, 8)), min_size=3, max_size=3),
    op=st.sampled_from(OPS),
    policy=st.sampled_from(POLICIES),
    seed=st.integers(0, 2**32 - 1),
)
def test_adaptive_property(nd, spatial, grid, op, policy, seed):
    shape = (2,) + tuple(spatial[:nd])
    x = random_array(shape, seed=seed, nan_fraction=0.1, ties=op in ("max", "min"))
    kw = dict(op=op, nan_policy=policy)
    assert_pooled(ADAPTIVE[nd](x, tuple(grid[:nd]), **kw),
                  reference_adaptive(x, nd, tuple(grid[:nd]), **kw), op, np.float64)


# --------------------------------------------------------------------------
# dtypes and memory layouts
# --------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", OPS)
def test_float_dtype_preserved(dtype, op):
    x = random_array((2, 6, 6), dtype)
    assert pool2d(x, 2, op=op).dtype == dtype
    assert pool3d(x, 2, op=op).dtype == dtype
    assert adaptive_pool2d(x, 2, op=op).dtype == dtype
    assert global_pool(x, op=op).dtype == dtype
    assert pyramid_pool(x, op=op).dtype == dtype


@pytest.mark.parametrize("dtype", [np.int8, np.int32, np.int64, np.uint8, np.uint16, np.bool_,
                                   np.float16, ">f8", ">i4"])
def test_other_dtypes_become_float64(dtype):
    x = np.random.default_rng(20).integers(0, 200, size=(2, 7, 8)).astype(dtype)
    for op in OPS:
        got = pool2d(x, 3, stride=2, padding=1, op=op)
        assert got.dtype == np.float64
        assert_pooled(got, reference_pool(x, 2, 3, stride=2, padding=1, op=op), op, np.float64)


def test_big_endian_float32_preserved():
    x = random_array((2, 6, 6), ">f4")
    out = pool2d(x, 2)
    assert out.dtype == np.float32
    assert_array_equal(out, reference_pool(x, 2, 2).astype(np.float32))


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
def test_complex_input_raises(dtype):
    with pytest.raises(TypeError, match="'x'.*complex"):
        pool2d(np.ones((4, 4), dtype=dtype), 2)
    with pytest.raises(TypeError, match="'x'"):
        adaptive_pool3d(np.ones((4, 4, 4), dtype=dtype), 2)


@pytest.mark.parametrize("x", [np.array([["a", "b"], ["c", "d"]]),
                               np.ones((2, 2), dtype=object),
                               np.array([[1, 2], [3, 4]], dtype="datetime64[s]")],
                         ids=["str", "object", "datetime"])
def test_non_numeric_input_raises(x):
    with pytest.raises(TypeError, match="'x'"):
        pool2d(x, 2)


def _layouts(x):
    yield "transposed", np.swapaxes(x, -1, -2)
    yield "stepped", x[:, ::2, 1::3]
    yield "reversed", x[..., ::-1]
    yield "fortran", np.asfortranarray(x)
    yield "channel-last", np.moveaxis(np.ascontiguousarray(np.moveaxis(x, 0, -1)), -1, 0)


@pytest.mark.parametrize("op", OPS)
def test_non_contiguous_input(op):
    base = random_array((3, 20, 31), seed=21, nan_fraction=0.05)
    for name, x in _layouts(base):
        kw = dict(op=op, stride=2, padding=1, nan_policy="omit")
        got = pool2d(x, 3, **kw)
        assert_array_equal(got, pool2d(np.ascontiguousarray(x), 3, **kw), err_msg=name)
        assert_pooled(got, reference_pool(x, 2, 3, **kw), op, np.float64)


def test_non_contiguous_mask():
    x = random_array((2, 9, 10), seed=22)
    mask = np.random.default_rng(22).random((10, 9)) < 0.5
    got = pool2d(x, 3, op="sum", mask=mask.T)
    assert_allclose(got, reference_pool(x, 2, 3, op="sum", mask=mask.T), rtol=1e-12)


def test_read_only_input_and_mask():
    x = random_array((2, 9, 8), np.float32, seed=23)
    mask = np.random.default_rng(23).random((9, 8)) < 0.7
    x.setflags(write=False)
    mask.setflags(write=False)
    for op in ("max", "mean", "std"):
        assert_pooled(pool2d(x, 3, padding=1, op=op, mask=mask),
                      reference_pool(x, 2, 3, padding=1, op=op, mask=mask), op, np.float32)
    out, idx = pool2d(x, 3, mask=mask, return_indices=True)
    assert_array_equal(out, reference_pool(x, 2, 3, mask=mask).astype(np.float32))
    assert_array_equal(adaptive_pool2d(x, 2), reference_adaptive(x, 2, 2).astype(np.float32))


@pytest.mark.parametrize("dtype", DTYPES)
def test_memmap_input(tmp_path, dtype):
    data = random_array((2, 5, 11, 12), dtype, seed=24)
    path = tmp_path / "x.dat"
    writer = np.memmap(path, dtype=dtype, mode="w+", shape=data.shape)
    writer[:] = data
    writer.flush()
    del writer
    x = np.memmap(path, dtype=dtype, mode="r", shape=data.shape)
    got = pool3d(x, (2, 3, 3), stride=(1, 2, 2), padding=(1, 1, 1), op="mean")
    assert type(got) is np.ndarray
    assert_array_equal(got, pool3d(data, (2, 3, 3), stride=(1, 2, 2), padding=(1, 1, 1),
                                   op="mean"))
    assert_array_equal(pool2d(x[:, 1], 3), reference_pool(data[:, 1], 2, 3).astype(dtype))


@pytest.mark.parametrize("func, args, in_shape, out_shape", [
    (pool2d, (3,), (0, 5, 5), (0, 1, 1)),
    (pool2d, (2,), (3, 0, 4, 4), (3, 0, 2, 2)),
    (pool3d, (2,), (2, 0, 4, 5, 6), (2, 0, 2, 2, 3)),
    (adaptive_pool2d, (2,), (0, 5, 5), (0, 2, 2)),
    (adaptive_pool3d, ((2, None, 3),), (0, 4, 5, 5), (0, 2, 5, 3)),
    (global_pool, (), (0, 5, 5), (0,)),
])
def test_empty_leading_axis(func, args, in_shape, out_shape):
    out = func(np.zeros(in_shape, dtype=np.uint8), *args)
    assert out.shape == out_shape
    assert out.dtype == np.float64


def test_pyramid_pool_empty_leading_axis():
    assert pyramid_pool(np.zeros((0, 5, 5)), levels=(1, 2)).shape == (0, 5)


def test_empty_leading_axis_with_indices():
    out, idx = pool2d(np.zeros((0, 3, 5, 5), np.float32), 2, return_indices=True)
    assert out.shape == idx.shape == (0, 3, 2, 2)
    assert out.dtype == np.float32 and idx.dtype == np.int64


# --------------------------------------------------------------------------
# Non-overlapping windows: the kernel's row-wise path
# --------------------------------------------------------------------------
# Windows of stride = size along W (no dilation there) and disjoint along H
# and D take a path of their own for max, min, sum and mean without a mask,
# 'omit' or indices, with loops of their own for sizes 2, 3, 4 and 8 where a
# row holds 8 full windows at least. Its results must be those of the
# separable passes to the bit: 'omit' on data without NaN, and indices for
# max and min, take those passes.

def _special_values(shape, dtype, seed):
    """Signed zeros, ties, infinities and NaN among normal values."""
    rng = np.random.default_rng(seed)
    x = np.round(rng.normal(size=shape) * 2) / 2
    u = rng.random(shape)
    x[u < 0.3] = 0.0
    x[u < 0.15] = -0.0
    x[(u > 0.97)] = np.inf
    x[(u > 0.985)] = -np.inf
    return x.astype(dtype)


ROWWISE_CASES = [
    # (id, nd, shape, geometry): W holds >= 8 full windows unless said
    ("2d-2", 2, (2, 7, 37), dict(size=2)),
    ("2d-3-ragged", 2, (2, 8, 31), dict(size=3)),
    ("2d-4-ceil", 2, (1, 9, 35), dict(size=4, ceil_mode=True)),
    ("2d-8-pad", 2, (2, 17, 70), dict(size=8, padding=4, count_include_pad=True)),
    ("2d-4-pad", 2, (2, 9, 38), dict(size=4, padding=2)),
    ("2d-5-generic", 2, (3, 10, 47), dict(size=5, ceil_mode=True)),
    ("2d-rect-gap", 2, (2, 11, 36), dict(size=(2, 4), stride=(3, 4))),
    ("2d-dilated-h", 2, (2, 13, 24), dict(size=(2, 3), stride=(4, 3), dilation=(2, 1))),
    ("2d-short-row", 2, (2, 6, 13), dict(size=2, padding=1)),   # 6 full windows: _window
    ("3d-2", 3, (2, 5, 7, 33), dict(size=2)),
    ("3d-2-ceil-pad", 3, (1, 5, 6, 41), dict(size=2, padding=1, ceil_mode=True)),
    ("3d-rect", 3, (2, 6, 5, 50), dict(size=(3, 2, 4), stride=(3, 2, 4))),
    ("3d-depth-1", 3, (2, 3, 8, 34), dict(size=(1, 2, 2))),
]
ROWWISE_IDS = [c[0] for c in ROWWISE_CASES]


def _bits(a):
    return a.view(np.uint32 if a.dtype == np.float32 else np.uint64)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", ["max", "min", "sum", "mean"])
@pytest.mark.parametrize("name, nd, shape, geometry", ROWWISE_CASES, ids=ROWWISE_IDS)
def test_rowwise_path_matches_reference_and_separable_passes(name, nd, shape, geometry, op,
                                                             dtype):
    special = _special_values(shape, dtype, seed=len(name))
    if op in ("max", "min"):
        special[np.random.default_rng(1).random(shape) < 0.05] = np.nan
    for x in (random_array(shape, dtype, seed=len(name)), special):
        with np.errstate(invalid="ignore"):
            got = POOL[nd](x, op=op, **geometry)
            assert_pooled(got, reference_pool(x, nd, op=op, **geometry), op, dtype)
        if op in ("sum", "mean"):
            separable = POOL[nd](x, op=op, nan_policy="omit", **geometry)
            # NaN (inf - inf) payloads are not specified: compare NaN cells as NaN.
            assert_array_equal(np.isnan(got), np.isnan(separable))
            got, separable = got[~np.isnan(got)], separable[~np.isnan(separable)]
            k_w, pad_w = (np.atleast_1d(geometry.get(key, 0))[-1] for key in ("size", "padding"))
            if pad_w and k_w - pad_w >= 4:
                # 'omit' sums a padded window of 4 taps or more in one running
                # sum, the plain passes in four: the same to rounding only.
                assert_allclose(got, separable, rtol=1e-6 if dtype == np.float32 else 1e-15)
                continue
        else:
            separable = POOL[nd](x, op=op, return_indices=True, **geometry)[0]
        # To the bit: rounding, signed zeros, which NaN wins.
        assert_array_equal(_bits(got), _bits(separable))


@pytest.mark.parametrize("op", ["max", "min", "sum", "mean"])
@pytest.mark.parametrize("nd, shape, geometry", [
    # Long enough for the threads to overlap: shared work space would show.
    (2, (4, 400, 403), dict(size=2, padding=1, ceil_mode=True)),
    (2, (4, 400, 262), dict(size=8, ceil_mode=True)),
    (3, (2, 32, 64, 66), dict(size=2)),
], ids=["2d-2x2", "2d-8x8", "3d-2x2"])
def test_rowwise_path_equal_in_diff_n_threads(nd, shape, geometry, op):
    x = _special_values(shape, np.float32, seed=27)
    x[np.random.default_rng(27).random(shape) < 0.01] = np.nan
    with np.errstate(invalid="ignore"):
        first, *others = [POOL[nd](x, op=op, n_threads=n, **geometry)
                          for n in (1, 2, 3, None, 2, 2, 2, 2, 2, 2)]
    for res in others:
        assert_array_equal(_bits(res), _bits(first))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("nd", [2, 3])
def test_rowwise_mean_overflow(nd, dtype):
    # Sums past the largest float64 go through the exact per-cell path.
    big = np.finfo(dtype).max
    x = np.full((2,) + (4,) * (nd - 1) + (40,), big / 2, dtype=dtype)
    x[0, ..., :6] = big
    got = POOL[nd](x, 2, op="mean")
    assert_array_equal(got[1], big / 2)
    assert_array_equal(got[0, ..., :3], big)
    assert_array_equal(got[0, ..., 3:], big / 2)
    assert np.isposinf(POOL[nd](x, 2, op="sum")).all()


# --------------------------------------------------------------------------
# Threads
# --------------------------------------------------------------------------

THREAD_CASES = [
    # Many small tasks.
    (2, (3, 67, 91), dict(size=3, stride=1, padding=1)),
    (2, (3, 67, 91), dict(size=(4, 3), stride=(2, 1), padding=(2, 1), dilation=(1, 2),
                          ceil_mode=True, count_include_pad=True)),
    (3, (2, 9, 33, 41), dict(size=3, stride=(1, 2, 1), padding=1, dilation=(1, 1, 2))),
    # Tasks long enough for the threads to overlap: shared work space would show.
    (2, (4, 256, 255), dict(size=3, stride=1, padding=1)),
    (3, (2, 16, 64, 65), dict(size=3, stride=1, padding=1)),
]
THREAD_IDS = ["2d", "2d-ceil", "3d", "2d-large", "3d-large"]


@pytest.mark.parametrize("variant", ["plain", "nan-mask-omit"])
@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("nd, shape, geometry", THREAD_CASES, ids=THREAD_IDS)
def test_result_equal_in_diff_n_threads(nd, shape, geometry, op, variant):
    x = random_array(shape, np.float32 if op == "mean" else np.float64, seed=25,
                     nan_fraction=0.02, ties=op in ("max", "min"))
    kw = dict(op=op, **geometry)
    if variant != "plain":
        kw.update(nan_policy="omit",
                  mask=np.random.default_rng(25).random(shape[len(shape) - nd:]) < 0.8)
    if op in ("max", "min"):
        kw["return_indices"] = True
    first, *others = [POOL[nd](x, n_threads=n, **kw) for n in (1, 2, 3, -1, None, 2, 2)]
    for res in others:
        if op in ("max", "min"):
            assert np.array_equal(res[1], first[1])
            res = res[0]
        out = first[0] if op in ("max", "min") else first
        assert res.dtype == out.dtype
        assert np.array_equal(res, out, equal_nan=True)
    adaptive = [ADAPTIVE[nd](x, 7, op=op, n_threads=n) for n in (1, 2, 3, None)]
    for res in adaptive[1:]:
        assert np.array_equal(res, adaptive[0], equal_nan=True)


def _window_view_pool(x, nd, size, stride, op):
    """Vectorised reference for unpadded windows of large arrays."""
    axes = tuple(range(x.ndim - nd, x.ndim))
    w = sliding_window_view(x.astype(np.float64), size, axis=axes)
    w = w[(Ellipsis,) + tuple(slice(None, None, s) for s in stride) + (slice(None),) * nd]
    win = tuple(range(w.ndim - nd, w.ndim))
    return {
        "max": lambda: w.max(axis=win), "min": lambda: w.min(axis=win),
        "sum": lambda: w.sum(axis=win), "mean": lambda: w.mean(axis=win),
        "lp": lambda: np.mean(np.abs(w) ** 3, axis=win) ** (1 / 3),
        "var": lambda: w.var(axis=win), "std": lambda: w.std(axis=win),
    }[op]()


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("nd, shape, size, stride", [
    (2, (3, 67, 91), (3, 3), (2, 2)),
    (2, (1, 260, 250), (2, 5), (1, 1)),     # more than one task per image at any thread count
    (2, (2, 64, 97), (2, 2), (2, 2)),
    (3, (2, 9, 33, 41), (2, 3, 3), (1, 2, 2)),
])
def test_large_arrays_match_window_view(nd, shape, size, stride, op):
    x = random_array(shape, seed=26)
    got = POOL[nd](x, size, stride=stride, op=op, p=3.0)
    assert_pooled(got, _window_view_pool(x, nd, size, stride, op), op, np.float64)


def test_n_threads_validation():
    x = np.ones((2, 4, 4))
    with pytest.raises(ValueError, match="'n_threads'"):
        pool2d(x, 2, n_threads=0)
    with pytest.raises(ValueError, match="'n_threads'"):
        adaptive_pool3d(x, 2, n_threads=0)
    for bad in ("2", 2.0, True):
        with pytest.raises(TypeError, match="'n_threads'"):
            pool2d(x, 2, n_threads=bad)
    assert_array_equal(pool2d(x, 2, n_threads=np.int64(2)), pool2d(x, 2, n_threads=-2))


# --------------------------------------------------------------------------
# Error messages name the parameter
# --------------------------------------------------------------------------

X2 = np.ones((2, 6, 6))
X3 = np.ones((2, 6, 6, 6))

ERRORS = [
    ("size-0", lambda: pool2d(X2, 0), ValueError, "'size'.*>= 1"),
    ("size-negative", lambda: pool3d(X3, (2, -1, 2)), ValueError, "'size'"),
    ("size-float", lambda: pool2d(X2, 2.0), TypeError, "'size'"),
    ("size-bool", lambda: pool2d(X2, True), TypeError, "'size'"),
    ("size-tuple-length", lambda: pool2d(X2, (2, 2, 2)), TypeError, "'size'.*2 ints"),
    ("stride-0", lambda: pool2d(X2, 2, stride=0), ValueError, "'stride'"),
    ("stride-tuple-length", lambda: pool3d(X3, 2, stride=(1, 1)), TypeError, "'stride'.*3 ints"),
    ("dilation-0", lambda: pool2d(X2, 2, dilation=(1, 0)), ValueError, "'dilation'"),
    ("padding-negative", lambda: pool2d(X2, 2, padding=-1), ValueError, "'padding'"),
    ("padding-over-half", lambda: pool2d(X2, 3, padding=2), ValueError, "'padding'.*half"),
    ("padding-over-half-3d", lambda: pool3d(X3, (4, 2, 3), padding=(2, 2, 1)), ValueError,
     "'padding'"),
    ("window-larger", lambda: pool2d(X2, 7), ValueError, "larger than the padded input"),
    ("window-larger-dilated", lambda: pool2d(X2, 3, dilation=3), ValueError,
     "size.*dilation.*larger"),
    ("padding-only-window", lambda: pool2d(np.ones((1, 1)), 2, stride=1, padding=1, dilation=2),
     ValueError, "padding"),
    ("ndim-2d", lambda: pool2d(np.ones(5), 2), ValueError, "'x'.*at least 2 dimensions"),
    ("ndim-3d", lambda: pool3d(np.ones((5, 5)), 2), ValueError, "'x'.*at least 3 dimensions"),
    ("ndim-adaptive", lambda: adaptive_pool3d(np.ones((5, 5)), 2), ValueError, "3 dimensions"),
    ("op", lambda: pool2d(X2, 2, op="median"), ValueError, "'op'.*'median'"),
    ("op-adaptive", lambda: adaptive_pool2d(X2, 2, op="avg"), ValueError, "'op'"),
    ("p-0", lambda: pool2d(X2, 2, op="lp", p=0), ValueError, "'p'"),
    ("p-negative", lambda: pool2d(X2, 2, op="lp", p=-2.0), ValueError, "'p'"),
    ("p-inf", lambda: pool2d(X2, 2, op="lp", p=np.inf), ValueError, "'p'"),
    ("p-nan", lambda: global_pool(X2, op="lp", p=np.nan), ValueError, "'p'"),
    ("nan_policy", lambda: pool2d(X2, 2, nan_policy="raise"), ValueError, "'nan_policy'"),
    ("mask-shape", lambda: pool2d(X2, 2, mask=np.ones((6, 5), bool)), ValueError,
     r"'mask'.*\(6, 6\)"),
    ("mask-shape-lead", lambda: pool2d(X2, 2, mask=np.ones((1, 6, 6), bool)), ValueError,
     "'mask'"),
    ("mask-float", lambda: pool2d(X2, 2, mask=np.ones((6, 6))), TypeError, "'mask'.*bool"),
    ("mask-float-adaptive", lambda: adaptive_pool2d(X2, 2, mask=np.ones((6, 6), np.float32)),
     TypeError, "'mask'"),
    ("return_indices-mean", lambda: pool2d(X2, 2, op="mean", return_indices=True), ValueError,
     "return_indices.*'mean'"),
    ("return_indices-adaptive", lambda: adaptive_pool2d(X2, 2, op="std", return_indices=True),
     ValueError, "return_indices"),
    ("return_indices-wrap", lambda: pool2d(X2, 3, padding=1, wrap=True, return_indices=True),
     ValueError, "return_indices.*wrap"),
    ("wrap-tuple-length", lambda: pool2d(X2, 2, wrap=(True,)), TypeError, "'wrap'"),
    ("output_size-0", lambda: adaptive_pool2d(X2, 0), ValueError, "'output_size'"),
    ("output_size-length", lambda: adaptive_pool2d(X2, (2, 2, 2)), TypeError,
     "'output_size'"),
    ("output_size-empty-axis", lambda: adaptive_pool2d(np.ones((2, 0, 4)), 2), ValueError,
     "non-empty"),
    ("ndim-global", lambda: global_pool(X2, ndim=4), ValueError, "'ndim'"),
    ("ndim-pyramid", lambda: pyramid_pool(X2, ndim=1), ValueError, "'ndim'"),
    ("levels-empty", lambda: pyramid_pool(X2, levels=()), ValueError, "'levels'"),
    ("levels-int", lambda: pyramid_pool(X2, levels=2), TypeError, "'levels'"),
]


@pytest.mark.parametrize("call, exc, match", [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_error_messages(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


@pytest.mark.parametrize("call, match", [
    (lambda: adaptive_pool2d(X2, 2.0), "'output_size'"),
    (lambda: pyramid_pool(X2, levels=2.0), "'levels'"),
    (lambda: pool_output_shape((6, 6), 3.0), "'size'"),
], ids=["output_size", "levels", "pool_output_shape-size"])
def test_float_grid_error_names_parameter(call, match):
    with pytest.raises(TypeError, match=match):
        call()


def test_adaptive_empty_axis_with_none_output_size():
    with pytest.raises(ValueError, match="non-empty"):
        adaptive_pool2d(np.ones((2, 0, 4)), None)


def test_n_threads_zero_rejected_on_empty_input():
    with pytest.raises(ValueError, match="'n_threads'"):
        pool2d(np.zeros((0, 5, 5)), 2, n_threads=0)


# --------------------------------------------------------------------------
# Accuracy of var/std
# --------------------------------------------------------------------------

@pytest.mark.parametrize("op", ["var", "std"])
def test_var_std_large_values(op):
    x = 1e6 + random_array((2, 40, 40), seed=27) * 1e-2
    got = pool2d(x, 4, stride=2, op=op)
    want = _window_view_pool(x, 2, (4, 4), (2, 2), op)
    assert_allclose(got, want, rtol=1e-7)
    got3 = adaptive_pool3d(x, (1, 5, 5), op=op)
    want3 = reference_adaptive(x, 3, (1, 5, 5), op=op)
    assert_allclose(got3, want3, rtol=1e-7)


def test_var_accuracy_with_offset_region():
    # Half the image sits at 1e6, half at 0: the noise variance (~1) of each
    # window is what np.var returns to ~1e-9.
    x = random_array((1, 64, 64), seed=28)
    x[..., 32:] += 1e6
    got = pool2d(x, 4, op="var")
    want = _window_view_pool(x, 2, (4, 4), (4, 4), "var")
    assert_allclose(got, want, rtol=1e-8)


# --------------------------------------------------------------------------
# PyTorch (optional): the geometry contract is PyTorch's
# --------------------------------------------------------------------------

def _torch_cases(seed, kinds, n_cases):
    """Random geometry (some of it invalid) and data with NaN and ties."""
    rng = np.random.default_rng(seed)
    for _ in range(n_cases):
        nd = int(rng.integers(2, 4))
        kind = kinds[rng.integers(len(kinds))]
        k = tuple(int(v) for v in rng.integers(1, 5, nd))
        s = tuple(int(v) for v in rng.integers(1, 4, nd))
        pad = tuple(int(rng.integers(0, kk // 2 + 1)) for kk in k)
        d = tuple(int(v) for v in rng.integers(1, 3, nd)) if kind == "max" else (1,) * nd
        spatial = tuple(int(max(1, d[i] * (k[i] - 1) + 1 - 2 * pad[i] + rng.integers(-1, 6)))
                        for i in range(nd))
        dtype = [np.float32, np.float64][rng.integers(2)]
        x = random_array((2, 2) + spatial, dtype, int(rng.integers(2**31)),
                         nan_fraction=float(rng.choice([0.0, 0.1])), ties=bool(rng.integers(2)))
        yield nd, kind, x, dict(size=k, stride=s, padding=pad, dilation=d,
                                ceil_mode=bool(rng.integers(2)),
                                count_include_pad=bool(rng.integers(2)),
                                grid=tuple(int(v) for v in rng.integers(1, 8, nd)))


@pytest.mark.parametrize("seed", range(8))
def test_matches_torch(seed):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    n_checked = 0
    kinds = ("max", "avg", "adaptive_max", "adaptive_avg")
    for nd, kind, x, g in _torch_cases(seed, kinds, 160):
        t = torch.from_numpy(x)
        tol = dict(rtol=1e-5, atol=1e-6) if x.dtype == np.float32 else dict(rtol=1e-10)
        label = f"{kind}{nd}d {x.shape} {x.dtype} {g}"
        if kind.startswith("adaptive"):
            if kind == "adaptive_max":
                tv, ti = getattr(F, f"adaptive_max_pool{nd}d")(t, g["grid"], return_indices=True)
                fv, fi = ADAPTIVE[nd](x, g["grid"], return_indices=True)
                assert_array_equal(fi, ti.numpy(), err_msg=label)
                assert_array_equal(fv, tv.numpy(), err_msg=label)
            else:
                tv = getattr(F, f"adaptive_avg_pool{nd}d")(t, g["grid"])
                assert_allclose(ADAPTIVE[nd](x, g["grid"], op="mean"), tv.numpy(),
                                err_msg=label, **tol)
            n_checked += 1
            continue
        geometry = dict(kernel_size=g["size"], stride=g["stride"], padding=g["padding"],
                        ceil_mode=g["ceil_mode"])
        try:
            if kind == "max":
                tv, ti = getattr(F, f"max_pool{nd}d")(t, dilation=g["dilation"],
                                                      return_indices=True, **geometry)
            else:
                tv = getattr(F, f"avg_pool{nd}d")(t, count_include_pad=g["count_include_pad"],
                                                  **geometry)
        except RuntimeError:
            continue   # a geometry that torch rejects
        if not is_valid_geometry(x.shape[2:], g["size"], g["stride"], g["padding"],
                                 g["dilation"], g["ceil_mode"]):
            # Windows holding only padding (torch gives -inf) or larger than
            # the padded input: featpool refuses them.
            with pytest.raises(ValueError):
                POOL[nd](x, g["size"], stride=g["stride"], padding=g["padding"],
                         dilation=g["dilation"], ceil_mode=g["ceil_mode"])
            continue
        kw = dict(stride=g["stride"], padding=g["padding"], ceil_mode=g["ceil_mode"])
        if kind == "max":
            fv, fi = POOL[nd](x, g["size"], dilation=g["dilation"], return_indices=True, **kw)
            assert_array_equal(fi, ti.numpy(), err_msg=label)
            assert_array_equal(fv, tv.numpy(), err_msg=label)
        else:
            fv = POOL[nd](x, g["size"], op="mean", count_include_pad=g["count_include_pad"],
                          **kw)
            assert_allclose(fv, tv.numpy(), err_msg=label, **tol)
        n_checked += 1
    assert n_checked > 80


def test_masked_arrays_honour_their_mask():
    import featpool

    rng = np.random.default_rng(5)
    data = rng.random((2, 3, 9, 8))
    hidden = rng.random(data.shape) < 0.3
    x = np.ma.masked_array(data, mask=hidden)
    for func, args in ((featpool.pool2d, (3,)), (featpool.adaptive_pool2d, (2,)),
                       (featpool.pyramid_pool, ((1, 2),)), (featpool.global_pool, ())):
        for op in ("max", "mean", "std"):
            got = func(x, *args, op=op)
            want = func(data, *args, op=op, mask=~hidden)
            np.testing.assert_array_equal(got, want)
    region = rng.random((9, 8)) < 0.7
    np.testing.assert_array_equal(featpool.pool2d(x, 3, op="mean", mask=region),
                                  featpool.pool2d(data, 3, op="mean", mask=~hidden & region))
    with pytest.raises(ValueError, match="'mask'"):
        featpool.pool2d(x, 3, mask=np.ones((4, 4), dtype=bool))
