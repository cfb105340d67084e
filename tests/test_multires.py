"""Tests for featpool._multires: coarse sampling of filter bands and its quadrature.

The references are direct: full-resolution inverse FFTs for the samples, and
the pooling kernel (itself tested against NumPy) on full-resolution maps for
the quadrature, with maps built band-limited so that the quadrature must be
exact.
"""
import numpy as np
import pytest
from numpy.testing import assert_allclose

from featpool import Pooling, filter_pool, gabor_bank, gabor_bank_3d, log_bank
from featpool._multires import (
    BAND_ENERGY,
    KINKED_FACTOR,
    MAX_COARSE_FRACTION,
    OVERSAMPLING,
    SMOOTH_MARGIN,
    Quadrature,
    band_layout,
    crop_indices,
    oversampling,
)
from featpool._engine import make_plans as _plan

from _common import (
    assert_each_pooling_close,
    natural_images,
    relative_error,
    uses_coarse_grids,
)

DTYPES = (np.float32, np.float64)


def bump_spectra(grid, centres, widths, seed=0):
    """Complex spectra that vanish outside a box of ``widths`` bins around ``centres``."""
    rng = np.random.default_rng(seed)
    out = np.zeros((len(centres),) + tuple(grid), dtype=np.complex128)
    for f, (centre, width) in enumerate(zip(centres, widths)):
        box = tuple((c + np.arange(-(w // 2), w - w // 2)) % n
                    for c, w, n in zip(centre, width, grid))
        values = rng.standard_normal(tuple(width)) + 1j * rng.standard_normal(tuple(width))
        out[(f,) + np.ix_(*box)] = values
    return out


# --------------------------------------------------------------------------
# Cropping: exact samples of the demodulated response
# --------------------------------------------------------------------------

@pytest.mark.parametrize("grid, coarse", [
    ((60,), (20,)),
    ((45, 60), (15, 12)),       # odd and even coarse lengths
    ((24, 30, 18), (8, 10, 6)),
], ids=["1d", "2d", "3d"])
@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
def test_cropped_band_samples_the_response(grid, coarse, dtype):
    nd = len(grid)
    rng = np.random.default_rng(1)
    centres = rng.integers(0, grid, size=(3, nd))
    widths = np.array([[max(1, c - 2) for c in coarse]] * 3)
    spectra = bump_spectra(grid, centres, widths).astype(dtype)
    image = np.fft.fftn(rng.random((2,) + grid), axes=range(1, nd + 1)).astype(dtype)
    full = np.fft.ifftn(image[:, None] * spectra[None], axes=range(2, nd + 2))

    flat = crop_indices(grid, centres, coarse)
    assert flat.shape == (3,) + coarse
    product = image.reshape(2, -1)[:, flat] * spectra.reshape(3, -1)[
        np.arange(3)[(slice(None),) + (None,) * nd], flat][None]
    samples = np.fft.ifftn(product, axes=range(2, nd + 2)) * (np.prod(coarse) / np.prod(grid))
    step = tuple(slice(None, None, n // c) for n, c in zip(grid, coarse))
    tol = 1e-5 if dtype == np.complex64 else 1e-12
    # The modulus is what demodulation keeps; the phase differs by a ramp.
    assert_allclose(np.abs(samples), np.abs(full[(Ellipsis,) + step]),
                    atol=tol * np.abs(full).max())


# --------------------------------------------------------------------------
# Quadrature: exact for band-limited maps
# --------------------------------------------------------------------------

def band_limited(grid, coarse, band_fraction, seed=0, n_maps=3):
    """Real maps on the fine grid and at the coarse points, band below the coarse Nyquist.

    A sum of cosines whose frequencies (in bins of the fine grid) stay below
    ``band_fraction`` of the coarse grid's Nyquist bin on every axis.
    """
    rng = np.random.default_rng(seed)
    nd = len(grid)
    fine = np.zeros((n_maps,) + tuple(grid))
    coarse_maps = np.zeros((n_maps,) + tuple(coarse))
    fine_axes = np.meshgrid(*[np.arange(n, dtype=float) for n in grid], indexing="ij")
    coarse_axes = np.meshgrid(*[np.arange(m) * (n / m) for n, m in zip(grid, coarse)],
                              indexing="ij")
    for i in range(n_maps):
        fine[i] += 2.0
        coarse_maps[i] += 2.0
        for _ in range(6):
            k = [int(rng.integers(0, max(1, int(band_fraction * (m // 2))) + 1))
                 for m in coarse]
            phase, amplitude = rng.uniform(0, 2 * np.pi), rng.uniform(0.1, 0.3)

            def wave(axes):
                arg = sum(2 * np.pi * kk * a / n for kk, a, n in zip(k, axes, grid))
                return amplitude * np.cos(arg + phase)

            fine[i] += wave(fine_axes)
            coarse_maps[i] += wave(coarse_axes)
    assert nd == len(coarse)
    return fine, coarse_maps


def image_part(fine, spatial, pad):
    return fine[(Ellipsis,) + tuple(slice(p, p + n) for p, n in zip(pad, spatial))]


QUADRATURE_CASES = [
    # spatial, pad, grid, coarse
    ((40, 30), (4, 3), (50, 37), (21, 16)),
    ((33, 47), (0, 0), (66, 94), (20, 31)),    # one period of a mirror extension
    ((13, 11, 9), (2, 1, 3), (18, 14, 15), (9, 8, 7)),
]


@pytest.mark.parametrize("spatial, pad, grid, coarse", QUADRATURE_CASES,
                         ids=["2d", "2d-period", "3d"])
@pytest.mark.parametrize("pooling", [
    Pooling("mean", levels=(1, 3, 4)),       # cells of unequal sizes
    Pooling("mean", size=5, stride=3, padding=2),
    Pooling("sum", levels=(2,)),
    Pooling("sum", size=4, stride=4, padding=1),
], ids=["pyramid", "sliding", "sum-pyramid", "sum-padded"])
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_quadrature_is_exact_for_band_limited_maps(spatial, pad, grid, coarse, pooling,
                                                   dtype):
    nd = len(spatial)
    fine, samples = band_limited(grid, coarse, 0.95)
    want = pooling(image_part(fine, spatial, pad), nd)
    got = Quadrature(pooling, spatial, pad, grid, coarse)(samples.astype(dtype))
    assert got.dtype == dtype and got.shape == want.shape
    tol = 1e-5 if dtype == np.float32 else 1e-10
    assert_allclose(got, want, rtol=tol, atol=tol * np.abs(want).max())


@pytest.mark.parametrize("spatial, pad, grid, coarse", QUADRATURE_CASES,
                         ids=["2d", "2d-period", "3d"])
@pytest.mark.parametrize("pooling", [
    Pooling("var", levels=(1, 2)),
    Pooling("std", size=6, stride=4),
    Pooling("lp", p=2.0, levels=(1, 3)),
], ids=["var", "std", "lp2"])
def test_quadrature_second_moments(spatial, pad, grid, coarse, pooling):
    # Band below half the coarse Nyquist: the squared map is band-limited too.
    nd = len(spatial)
    fine, samples = band_limited(grid, coarse, 0.45, seed=3)
    want = pooling(image_part(fine, spatial, pad), nd)
    got = Quadrature(pooling, spatial, pad, grid, coarse)(samples)
    assert_allclose(got, want, rtol=1e-9, atol=1e-9 * np.abs(want).max())


@pytest.mark.parametrize("pooling", [
    Pooling("mean", levels=(1, 3, 4)),
    Pooling("sum", size=5, stride=3, padding=2),
], ids=["pyramid", "sliding"])
def test_quadrature_of_a_tile_sums_its_pixels(pooling):
    # A tile (origin, extent) of a 60x50 image lies on a 40x37 grid from pixel
    # (4, 3): window sums cover the tile's pixels only; windows and cells it
    # does not meet are left out.
    image_shape, origin, extent = (60, 50), (24, 16), (30, 28)
    pad, grid, coarse = (4, 3), (40, 37), (21, 16)
    fine, samples = band_limited(grid, coarse, 0.95, seed=7)
    quadrature = Quadrature(pooling, image_shape, pad, grid, coarse, origin, extent)
    image = np.zeros((len(fine),) + image_shape)
    image[:, 24:54, 16:44] = image_part(fine, extent, pad)  # zero outside the tile
    whole = Pooling("sum", levels=pooling.levels) if pooling.size is None else pooling
    want = whole(image, 2)
    got = quadrature.sums(samples)
    assert_allclose(got, want[:, quadrature.cells], rtol=1e-10, atol=1e-10)
    untouched = np.setdiff1d(np.arange(want.shape[1]), quadrature.cells)
    assert untouched.size and not np.abs(want[:, untouched]).any()
    assert len(quadrature.counts) == pooling.n_cells(image_shape)


def test_quadrature_of_a_map_above_the_coarse_nyquist_is_not_exact():
    # The test above can fail: aliasing shows up.
    spatial, pad, grid, coarse = QUADRATURE_CASES[0]
    fine, _ = band_limited(grid, grid, 0.9, seed=5)
    step_ok = all(n % m == 0 for n, m in zip(grid, coarse))
    assert not step_ok  # coarse points are not pixels: sample by interpolation
    pooling = Pooling("mean", levels=(2,))
    spectrum = np.fft.fftn(fine, axes=(1, 2))
    positions = [np.arange(m) * (n / m) for n, m in zip(grid, coarse)]
    k = [np.fft.fftfreq(n, 1 / n) for n in grid]
    basis = [np.exp(2j * np.pi * np.outer(p, kk) / n) / n for p, kk, n in zip(positions, k, grid)]
    samples = np.einsum("ia,jb,nab->nij", basis[0], basis[1], spectrum).real
    got = Quadrature(pooling, spatial, pad, grid, coarse)(samples)
    want = pooling(image_part(fine, spatial, pad), 2)
    assert np.abs(got - want).max() > 1e-6


# --------------------------------------------------------------------------
# Band layout
# --------------------------------------------------------------------------

def test_band_layout_holds_the_energy_and_centres_the_band():
    grid = (64, 48)
    centres = np.array([[10, 40], [60, 3], [0, 0]])
    widths = np.array([[7, 5], [4, 9], [3, 3]])
    spectra = bump_spectra(grid, centres, widths)
    # No oversampling: the coarse box must sit on the band to hold it.
    found, lengths = band_layout(spectra, demodulate=True, oversampling=1.0)
    power = np.abs(spectra) ** 2
    for f in range(len(spectra)):
        box = tuple((c + np.fft.fftfreq(m, 1 / m).astype(int)) % n
                    for c, m, n in zip(found[f], lengths[f], grid))
        held = power[(f,) + np.ix_(*box)].sum() / power[f].sum()
        assert held >= 1 - 1e-12  # the bump's whole support fits
        assert all(w <= m < n for m, w, n in zip(lengths[f], widths[f], grid))


def test_band_layout_without_demodulation_is_centred_on_zero():
    grid = (64, 64)
    spectra = bump_spectra(grid, np.array([[4, 2], [30, 30]]), np.array([[3, 3], [5, 5]]))
    centres, lengths = band_layout(spectra, demodulate=False, oversampling=2.0)
    assert (centres == 0).all()
    # A band near frequency 0 gets a coarse grid; one near Nyquist does not.
    assert np.prod(lengths[0]) < 0.25 * 64 * 64
    assert tuple(lengths[1]) == grid


def test_band_layout_keeps_full_resolution_when_little_is_saved():
    grid = (30, 30)
    spectra = bump_spectra(grid, np.array([[5, 5]]), np.array([[9, 9]]))
    centres, lengths = band_layout(spectra, demodulate=True, oversampling=3.0)
    assert tuple(lengths[0]) == grid and (centres == 0).all()
    assert 27 * 27 > MAX_COARSE_FRACTION * 30 * 30
    assert BAND_ENERGY < 1e-3


# --------------------------------------------------------------------------
# The engine: any image size and cell layout, every nonlinearity
# --------------------------------------------------------------------------

def natural(shape):
    """camera, coins, grass and noise: the images of these tests."""
    return natural_images(shape, ("camera", "coins", "grass"), noise_seed=2)


@pytest.mark.parametrize("shape, poolings", [
    ((97, 131), (Pooling("mean", levels=(1, 3, 5)),)),
    ((120, 90), (Pooling("mean", size=13, stride=7, padding=3), Pooling("std", levels=(1, 2)))),
    ((101, 101), (Pooling("lp", p=0.5, levels=(1, 2)), Pooling("sum", levels=(3,)))),
], ids=["odd-pyramid", "sliding+std", "lp-half+sum"])
def test_multiresolution_any_size_and_cells(shape, poolings):
    images = natural(shape)
    bank = gabor_bank(shape, dtype=np.float32)
    assert uses_coarse_grids(bank, shape, poolings)
    fast = filter_pool(images, bank, poolings)
    full = filter_pool(images, bank, poolings, multiresolution=False)
    assert relative_error(fast, full).max() <= 1e-3


# Poolings given together share the largest oversampling: means apart from std.
SMALL_CELLS = [(Pooling("mean"), Pooling("mean", size=16)), (Pooling("std", levels=(1, 2)),)]


@pytest.mark.parametrize("poolings", SMALL_CELLS, ids=["means", "std"])
@pytest.mark.parametrize("nonlinearity", ["real", "abs", "relu_split", "square"])
def test_multiresolution_other_nonlinearities(nonlinearity, poolings):
    # abs and relu_split have a kink at every zero crossing of Re y: the
    # hardest maps for the quadrature, hence small windows and std too.
    shape = (128, 128)
    images = natural(shape)
    bank = gabor_bank(shape, dtype=np.float64)
    assert uses_coarse_grids(bank, shape, poolings, nonlinearity)
    fast = filter_pool(images, bank, poolings, nonlinearity=nonlinearity)
    full = filter_pool(images, bank, poolings, nonlinearity=nonlinearity,
                       multiresolution=False)
    assert_each_pooling_close(fast, full, poolings, shape)


@pytest.mark.parametrize("poolings", SMALL_CELLS, ids=["means", "std"])
def test_multiresolution_real_filters(poolings):
    # The modulus of a real response is |r|, kinked at every zero crossing.
    shape = (128, 128)
    images = natural(shape)
    bank = log_bank(shape, dtype=np.float32)
    assert uses_coarse_grids(bank, shape, poolings)
    fast = filter_pool(images, bank, poolings)
    full = filter_pool(images, bank, poolings, multiresolution=False)
    assert_each_pooling_close(fast, full, poolings, shape)


def test_oversampling_by_op_and_map():
    assert oversampling(["mean"], "modulus", False) == OVERSAMPLING["mean"]
    assert oversampling(["mean", "std"], "modulus", False) == OVERSAMPLING["std"]
    assert oversampling(["mean"], "abs", False) == OVERSAMPLING["mean"] * KINKED_FACTOR
    assert oversampling(["var"], "modulus", True) == OVERSAMPLING["var"] * KINKED_FACTOR
    # Band-limited maps: Re y has the band of y, |y|**2 twice it, squares double.
    assert oversampling(["mean"], "real", False) == SMOOTH_MARGIN
    assert oversampling(["mean", "std"], "square", True) == SMOOTH_MARGIN * 4
    assert oversampling(["lp"], "real", False) == OVERSAMPLING["lp"]  # |Re y|**p


def test_only_modulus_and_square_move_the_band():
    bank = gabor_bank((128, 128))
    for nonlinearity, moved in [("modulus", True), ("square", True), ("real", False),
                                ("relu_split", False)]:
        plans = _plan(bank, (128, 128), "reflect", (Pooling(),), True, nonlinearity)
        assert any(p.centres.any() for p in plans) == moved


def test_multiresolution_3d_odd_volume():
    shape = (27, 34, 30)
    volumes = np.random.default_rng(4).random((2,) + shape)
    bank = gabor_bank_3d(shape, n_orientations=4)
    poolings = (Pooling("mean", levels=(1, 3)),)
    assert uses_coarse_grids(bank, shape, poolings)
    fast = filter_pool(volumes, bank, poolings)
    full = filter_pool(volumes, bank, poolings, multiresolution=False)
    assert relative_error(fast, full).max() <= 1e-3


# --------------------------------------------------------------------------
# Grouping filters on FFT grids
# --------------------------------------------------------------------------

@pytest.mark.parametrize("shape, mode, multiresolution", [
    ((28, 28), "reflect", True),
    ((128, 128), "reflect", True),
    ((128, 128), "constant", False),
    ((300, 200), "mirror", True),
    ((64, 64), "wrap", True),
])
def test_plans_partition_the_bank(shape, mode, multiresolution):
    bank = gabor_bank(shape)
    plans = _plan(bank, shape, mode, (Pooling(),), multiresolution)
    index = np.concatenate([p.index for p in plans])
    assert sorted(index.tolist()) == list(range(len(bank)))
    for plan in plans:
        assert np.all(np.diff(plan.index) > 0)  # sorted, as _full_responses needs
        reach = bank.support_radius[plan.index].max()
        for n, pad, grid, periodic in zip(shape, plan.pad, plan.padded, plan.periodic):
            # Every filter of the group fits in its padding, or the grid is a period.
            assert periodic or (pad >= reach and grid >= n + 2 * reach) or mode == "wrap"


def test_small_groups_join_a_larger_grid_when_cheaper():
    # On a 28x28 digit, one forward FFT on the mirror period (56) beats three
    # grids of 50, 54 and 56 pixels for the default bank.
    plans = _plan(gabor_bank((28, 28)), (28, 28), "reflect", (Pooling(),), True)
    assert {p.padded for p in plans} == {(56, 56)}
    # On a large image the fine filters keep their small grid.
    plans = _plan(gabor_bank((512, 512)), (512, 512), "reflect", (Pooling(),), False)
    grids = sorted({p.padded for p in plans})
    assert len(grids) > 1 and grids[0][0] < 512 + 2 * 85


def _dirichlet(d, m, n):
    """The interpolant's weight at distance ``d``, point by point (the definition)."""
    theta = np.pi * np.asarray(d, dtype=np.float64) / n
    sin = np.sin(theta)
    near = np.abs(sin) < 1e-12
    safe = np.where(near, 1.0, sin)
    value = np.sin(m * theta) / (m * safe)
    if m % 2 == 0:
        value = value * np.cos(theta)
    return np.where(near, 1.0, value)


@pytest.mark.parametrize("n, m, pad", [(80, 16, 0), (80, 17, 3), (401, 60, 45), (97, 97, 0),
                                       (160, 81, 0), (1024, 250, 100), (7, 2, 1)])
def test_dirichlet_weights_by_expanded_angles_equal_the_definition(n, m, pad):
    from featpool._multires import _dirichlet_grid

    grid = n + 2 * pad
    positions = pad + np.arange(n)
    expected = _dirichlet(positions[:, None] - np.arange(m)[None] * (grid / m), m, grid)
    np.testing.assert_allclose(_dirichlet_grid(positions, m, grid), expected, rtol=0,
                               atol=1e-10)
