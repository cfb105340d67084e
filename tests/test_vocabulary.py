"""The vocabulary table (featpool/_vocabulary.py) against the Cython kernel."""
import pathlib
import re

import numpy as np
import pytest

import featpool
from featpool import Pooling, pool2d
from featpool._multires import Quadrature
from featpool._vocabulary import (AVERAGING, KERNEL_NONLINEARITIES, NONLINEARITIES, OPS,
                                  apply_nonlinearity, finish_moments, moment_maps)

PYX = pathlib.Path(featpool.__file__).parent / "_pooling.pxd"   # the kernel's codes


def _enum(prefix):
    text = PYX.read_text()
    return {name: int(code) for name, code in re.findall(rf"^\s+{prefix}_(\w+) = (\d+)", text,
                                                          flags=re.M)}


def test_op_codes_match_the_kernel():
    assert {k.lower(): v for k, v in _enum("OP").items()} == OPS


def test_nonlinearity_codes_match_the_kernel():
    names = {None if k == "NONE" else k.lower(): v for k, v in _enum("T").items()}
    assert names == KERNEL_NONLINEARITIES


def test_vocabulary_is_consistent():
    assert set(AVERAGING) <= set(OPS) and not {"max", "min"} & set(AVERAGING)
    kinds = {k for parts in NONLINEARITIES.values() for k in parts}
    assert kinds <= set(KERNEL_NONLINEARITIES) - {None}


@pytest.mark.parametrize("kind", sorted(k for k in KERNEL_NONLINEARITIES if k))
def test_apply_nonlinearity_is_the_kernels(kind):
    # A 1x1 window reads each cell through the kernel's _load.
    z = np.random.default_rng(0).standard_normal((3, 5, 7, 2)).view(np.complex128)[..., 0]
    np.testing.assert_allclose(pool2d(z, 1, op="max", nonlinearity=kind),
                               apply_nonlinearity(z, kind), rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("op", sorted(AVERAGING))
def test_finish_moments_is_the_kernels(op):
    # The quadrature's finish (coarse path) equals the kernel's _finish at full resolution.
    maps = np.random.default_rng(1).random((2, 12, 10))
    pooling = Pooling(op, levels=(1, 2), p=3.0)
    quadrature = Quadrature(pooling, (12, 10), (0, 0), (12, 10), (12, 10))
    np.testing.assert_allclose(quadrature(maps), pooling(maps), rtol=1e-10)
    sums = [m.sum(axis=(1, 2), keepdims=False)[:, None] for m in moment_maps(maps, op, 3.0)]
    got = finish_moments(op, sums, np.array([120.0]), 3.0)
    np.testing.assert_allclose(got[:, 0], featpool.global_pool(maps, op=op, p=3.0), rtol=1e-10)
