"""The features of every pipeline option stay what they were when the fixture was recorded.

``tests/data/pipeline_features.npz`` was written by ``tests/_make_pipeline_fixture.py``
before the pipeline was split into public steps; a change that moves code must
not change a single feature beyond float rounding.
"""
import numpy as np
import pytest

from _make_pipeline_fixture import CASES, FIXTURE, compute, inputs


@pytest.fixture(scope="module")
def recorded():
    with np.load(FIXTURE) as data:
        return dict(data)


@pytest.mark.parametrize("name, params, source", CASES, ids=[c[0] for c in CASES])
def test_features_unchanged(recorded, name, params, source):
    features, names = compute(params, inputs()[source])
    np.testing.assert_array_equal(names, recorded[name + "__names"])
    expected = recorded[name]
    assert features.dtype == expected.dtype
    tol = 1e-6 if expected.dtype == np.float32 else 1e-13
    np.testing.assert_allclose(features, expected, rtol=tol, atol=tol)
