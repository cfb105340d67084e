"""Property-based tests: every public pooling, filtering and pipeline function
against the slow NumPy references, on inputs drawn by hypothesis.

Shapes with size-1 axes, every parameter, float32 and float64, NaN and
infinity, masks, magnitudes from subnormals to 1e30 and extreme parameter
values. What is accepted must be right; what is refused must be a
ValueError or TypeError that names the parameter. The profile (examples per
test, derandomized in CI) is set in tests/conftest.py.
"""
import numpy as np
import pytest
from hypothesis import assume, given, strategies as st
from numpy.testing import assert_allclose

import featpool

from _reference import is_valid_geometry, reference_adaptive, reference_pool

OPS = ("max", "min", "sum", "mean", "lp", "var", "std")
AVERAGING = ("mean", "lp", "var", "std")


@st.composite
def arrays(draw, nd, max_side=6, nan=True):
    """A float32/float64 array (lead..., *spatial) at some magnitude, maybe with NaN/inf."""
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    lead = draw(st.lists(st.integers(1, 2), max_size=2))
    spatial = draw(st.lists(st.integers(1, max_side), min_size=nd, max_size=nd))
    shape = tuple(lead) + tuple(spatial)
    tiny = float(np.finfo(dtype).smallest_subnormal) * 64
    scale = draw(st.sampled_from([tiny, 1e-30, 1e-8, 1.0, 1e8, 1e30]))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * scale).astype(dtype)
    if draw(st.booleans()):   # ties and constant regions
        x = np.round(x / scale).astype(dtype) * dtype(scale)
    if nan and draw(st.booleans()):
        flat = x.reshape(-1)
        for value in draw(st.lists(st.sampled_from([np.nan, np.inf, -np.inf]), max_size=3)):
            flat[rng.integers(flat.size)] = value
    return x


def assert_matches(got, want, x, op):
    """Equal up to the output dtype's rounding, and up to the cancellation that
    float64 sums of cells of magnitude up to max|x| allow (sum, mean, var, std)."""
    dtype = x.dtype
    assert got.dtype == dtype and got.shape == want.shape
    finite = np.abs(x[np.isfinite(x)].astype(np.float64))
    mag = float(finite.max()) if finite.size else 0.0
    cancel = 1e-14 * x.size * {"sum": mag, "mean": mag, "var": mag * mag,
                               "std": mag * 1e-7}.get(op, 0.0)
    rtol = 3e-5 if dtype == np.float32 else 1e-10
    atol = max(float(np.finfo(dtype).tiny) * 4, cancel)
    with np.errstate(over="ignore"):
        want = want.astype(dtype)   # the reference rounded once to the output dtype
    assert_allclose(got.astype(np.float64), want.astype(np.float64), equal_nan=True,
                    rtol=rtol, atol=atol)


def named_error(call, *names):
    """``call()`` raises ValueError or TypeError naming one of ``names``."""
    with pytest.raises((ValueError, TypeError)) as info:
        call()
    assert any(name in str(info.value) for name in names), str(info.value)


ops = st.sampled_from(OPS)
ps = st.one_of(st.sampled_from([1.0, 2.0, 3.0, 0.5]), st.floats(1e-3, 1e3))


@given(nd=st.sampled_from([2, 3]), data=st.data())
def test_pool_matches_reference(nd, data):
    x = data.draw(arrays(nd))
    spatial = x.shape[-nd:]
    size = tuple(data.draw(st.integers(1, 4)) for _ in range(nd))
    stride = tuple(data.draw(st.integers(1, 3)) for _ in range(nd))
    padding = tuple(data.draw(st.integers(0, 2)) for _ in range(nd))
    dilation = tuple(data.draw(st.integers(1, 2)) for _ in range(nd))
    ceil_mode = data.draw(st.booleans())
    op, p = data.draw(ops), data.draw(ps)
    nan_policy = data.draw(st.sampled_from(["propagate", "omit"]))
    include_pad = data.draw(st.booleans())
    mask = None
    if data.draw(st.booleans()):
        mask = np.random.default_rng(data.draw(st.integers(0, 99))).random(spatial) > 0.3
    kw = dict(size=size, stride=stride, padding=padding, dilation=dilation,
              ceil_mode=ceil_mode, op=op, p=p, nan_policy=nan_policy, mask=mask,
              count_include_pad=include_pad)
    pool = featpool.pool2d if nd == 2 else featpool.pool3d
    if not is_valid_geometry(spatial, size, stride, padding, dilation, ceil_mode):
        named_error(lambda: pool(x, **kw), "size", "padding", "window", "dilation")
        return
    got = pool(x, **kw)
    want = reference_pool(x, nd, exact=op in AVERAGING, **kw)
    assert_matches(got, want, x, op)


@given(nd=st.sampled_from([2, 3]), data=st.data())
def test_adaptive_and_global_match_reference(nd, data):
    x = data.draw(arrays(nd))
    spatial = x.shape[-nd:]
    grid = tuple(data.draw(st.one_of(st.none(), st.integers(1, 7))) for _ in range(nd))
    op, p = data.draw(ops), data.draw(ps)
    nan_policy = data.draw(st.sampled_from(["propagate", "omit"]))
    adaptive = featpool.adaptive_pool2d if nd == 2 else featpool.adaptive_pool3d
    got = adaptive(x, grid, op=op, p=p, nan_policy=nan_policy)
    want = reference_adaptive(x, nd, grid, op=op, p=p, nan_policy=nan_policy,
                              exact=op in AVERAGING)
    assert_matches(got, want, x, op)
    got = featpool.global_pool(x, op=op, ndim=nd, p=p, nan_policy=nan_policy)
    want = reference_adaptive(x, nd, 1, op=op, p=p, nan_policy=nan_policy,
                              exact=op in AVERAGING).reshape(x.shape[:-nd])
    assert_matches(got, want, x, op)
    assert spatial == x.shape[-nd:]


@given(data=st.data())
def test_pyramid_is_its_adaptive_grids(data):
    x = data.draw(arrays(2, nan=False))
    levels = tuple(sorted(set(data.draw(st.lists(st.integers(1, 5), min_size=1, max_size=3)))))
    op = data.draw(st.sampled_from(["max", "mean", "sum"]))
    got = featpool.pyramid_pool(x, levels=levels, op=op)
    lead = x.shape[:-2]
    want = np.concatenate([reference_adaptive(x, 2, g, op=op).reshape(lead + (-1,))
                           for g in levels], axis=-1)
    assert_matches(got, want, x, op)


bad_values = st.sampled_from([0, -1, 2.5, "3", None, [1, 2, 3], 2**63, float("nan"), True])


@given(name=st.sampled_from(["size", "stride", "padding", "dilation", "op", "p",
                             "nan_policy", "ceil_mode", "count_include_pad", "n_threads"]),
       value=bad_values)
def test_bad_pool_parameters_are_named(name, value):
    x = np.zeros((1, 6, 6))
    kw = dict(size=2, op="lp")
    kw[name] = value
    try:
        featpool.pool2d(x, **kw)
    except (ValueError, TypeError) as error:
        assert name in str(error) or "window" in str(error), str(error)
    else:   # accepted: a value that means something for that parameter
        assert not (name in ("op", "nan_policy") and not isinstance(value, str))


@given(n_scales=st.integers(1, 80), n_orientations=st.integers(1, 3),
       bandwidth=st.floats(1e-3, 100), aspect_ratio=st.floats(1e-4, 1e4),
       bank=st.sampled_from([featpool.gabor_bank, featpool.morlet_bank]))
def test_gabor_banks_are_finite_or_refused(n_scales, n_orientations, bandwidth, aspect_ratio,
                                           bank):
    kw = dict(n_scales=n_scales, n_orientations=n_orientations, bandwidth=bandwidth,
              aspect_ratio=aspect_ratio)
    try:
        built = bank((8, 8), **kw)
    except ValueError as error:
        assert any(name in str(error) for name in kw), str(error)
        return
    assert len(built) == n_scales * n_orientations
    assert np.all(np.isfinite(built.spectra))


@given(n=st.integers(1, 130))
def test_gabor_3d_has_distinct_directions(n):
    bank = featpool.gabor_bank_3d((4, 4, 4), n_scales=1, n_orientations=n)
    u = np.array([m["orientation"] for m in bank.metadata])
    cos = np.abs(u @ u.T)
    np.fill_diagonal(cos, 0.0)
    assert cos.max() < 1 - 1e-6


@given(data=st.data())
def test_filter_pool_matches_fft_reference(data):
    """Full-resolution, wrap mode: |x * h| (filter_responses), pooled over the
    whole image (filter_pool)."""
    shape = tuple(data.draw(st.integers(5, 12)) for _ in range(2))
    n_images = data.draw(st.integers(1, 3))
    seed = data.draw(st.integers(0, 2**32 - 1))
    scale = data.draw(st.sampled_from([1e-20, 1.0, 1e20]))
    x = np.random.default_rng(seed).random((n_images,) + shape) * scale
    bank = featpool.gabor_bank(shape, n_scales=1,
                               n_orientations=data.draw(st.integers(1, 4)))
    op = data.draw(st.sampled_from(["mean", "max", "std"]))
    nonlinearity = data.draw(st.sampled_from(["modulus", "real", "abs", "square"]))
    got = featpool.filter_pool(x, bank, pooling=featpool.Pooling(op, levels=(1,)),
                               nonlinearity=nonlinearity, mode="wrap", multiresolution=False)
    y = np.fft.ifft2(np.fft.fft2(x)[:, None] * bank.spectra[None])
    maps = {"modulus": np.abs(y), "real": y.real, "abs": np.abs(y.real),
            "square": np.abs(y) ** 2}[nonlinearity]
    want = getattr(np, op)(maps, axis=(-2, -1))
    assert_allclose(got.reshape(want.shape), want, rtol=1e-6,
                    atol=1e-9 * float(np.abs(want).max()))
    responses = featpool.filter_responses(x, bank, nonlinearity=nonlinearity, mode="wrap")
    assert_allclose(responses, maps, rtol=1e-6, atol=1e-9 * float(np.abs(maps).max()))


@given(data=st.data())
def test_extract_features_is_fit_transform(data):
    shape = tuple(data.draw(st.integers(8, 16)) for _ in range(2))
    x = np.random.default_rng(data.draw(st.integers(0, 99))).random((2,) + shape)
    params = dict(
        bank=data.draw(st.sampled_from(["gabor", "morlet"])),
        n_scales=data.draw(st.integers(1, 2)),
        n_orientations=data.draw(st.integers(1, 4)),
        nonlinearity=data.draw(st.sampled_from(["modulus", "real", "relu_split"])),
        pooling=data.draw(st.sampled_from(["mean", "max", "std"])),
        levels=data.draw(st.sampled_from([(1,), (1, 2)])),
        normalization=data.draw(st.sampled_from([None, "power"])),
    )
    got = featpool.extract_features(x, **params)
    want = featpool.FilterBankPooling(**params).fit(x).transform(x)
    assert_allclose(got, want)
    assert np.all(np.isfinite(got))
