"""Tests for featpool/invariance.py and featpool/normalization.py."""
import numpy as np
import pytest

from featpool.invariance import apply_invariances, pool_orientations, pool_scales
from featpool.normalization import normalize

MAPS = [{"kind": "gabor", "s": s, "o": o} for s in range(3) for o in range(4)]


def features(seed=0):
    return np.random.default_rng(seed).random((2, 1, len(MAPS), 5))


def test_pool_scales_against_a_loop():
    x = features()
    pooled, maps = pool_scales(x, MAPS, 2)
    assert pooled.shape == (2, 1, 8, 5)
    for m, out in zip(maps, np.moveaxis(pooled, 2, 0)):
        first, last = (int(v) for v in m["s"].split("-"))
        want = np.max([x[:, :, 4 * s + m["o"]] for s in range(first, last + 1)], axis=0)
        np.testing.assert_array_equal(out, want)


@pytest.mark.parametrize("rotation", ["max", "fourier"])
def test_pool_orientations_is_invariant_to_cyclic_shifts(rotation):
    x = features()
    shifted = x.reshape(2, 1, 3, 4, 5)[:, :, :, [3, 0, 1, 2]].reshape(x.shape)
    a, maps = pool_orientations(x, MAPS, rotation)
    b, _ = pool_orientations(shifted, MAPS, rotation)
    np.testing.assert_allclose(a, b, rtol=1e-12)
    assert len(maps) == a.shape[2] == (3 if rotation == "max" else 9)


def test_maps_without_the_field_are_kept():
    maps = MAPS + [{"kind": "log", "s": None, "o": None}]
    x = np.random.default_rng(1).random((1, 1, len(maps), 2))
    pooled, out = apply_invariances(x, maps, "max", 2)
    np.testing.assert_array_equal(pooled[:, :, -1], x[:, :, -1])
    assert out[-1] == maps[-1]


def test_invariance_errors():
    with pytest.raises(ValueError, match="'rotation'"):
        pool_orientations(features(), MAPS, "min")
    with pytest.raises(ValueError, match="n_maps"):
        pool_scales(features()[:, :, :3], MAPS, 2)


def test_normalize():
    x = np.array([[3.0, -4.0], [0.0, 0.0]])
    np.testing.assert_allclose(normalize(x.copy(), "l2"), [[0.6, -0.8], [0, 0]])
    np.testing.assert_allclose(normalize(np.array([[9.0, -16.0]]), "power"), [[0.6, -0.8]])
    assert normalize(x, None) is x

    out = normalize(np.array([[1, 1]]), "l2")
    assert out.dtype == np.float64
    with pytest.raises(ValueError, match="'normalization'"):
        normalize(x, "l1")
    with pytest.raises(ValueError, match="n_samples"):
        normalize(np.zeros(3), "l2")


@pytest.mark.parametrize("method", ["l2", "power"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_normalize_leaves_the_callers_array_unless_told(method, dtype):
    x = np.array([[3.0, -4.0], [0.0, 0.0], [1e-30, 2e-30]], dtype=dtype)
    before = x.copy()
    out = normalize(x, method)
    np.testing.assert_array_equal(x, before)
    assert out.dtype == dtype and not np.shares_memory(out, x)
    inplace = normalize(x, method, copy=False)
    assert inplace is x
    np.testing.assert_allclose(x, out, rtol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(out[[0, 2]], axis=1), 1, rtol=1e-6)
