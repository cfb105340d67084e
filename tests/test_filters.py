"""Tests for featpool.filters: filter banks and their metadata."""
import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from skimage.filters import gabor_kernel

from featpool.filters import (
    FilterBank,
    PatchFilters,
    clear_cache,
    dog_bank,
    gabor_bank,
    gabor_bank_3d,
    learn_patch_filters,
    leung_malik_bank,
    log_bank,
    morlet_bank,
    morlet_bank_3d,
    rfs_bank,
    schmid_bank,
)

BUILDERS_2D = [gabor_bank, morlet_bank, leung_malik_bank, schmid_bank, rfs_bank, log_bank,
               dog_bank]
BUILDERS_3D = [gabor_bank_3d, morlet_bank_3d]


def spectral_peaks(bank):
    """Frequency vector (array-axis order) where each filter's |spectrum| peaks."""
    magnitude = np.abs(bank.spectra).reshape(len(bank), -1)
    index = np.unravel_index(magnitude.argmax(axis=1), bank.shape)
    return np.stack([np.fft.fftfreq(n)[i] for n, i in zip(bank.shape, index)], axis=1)


def embed_centred(kernel, shape):
    """Place an odd-sized centred kernel at the centre (shape // 2) of a grid."""
    out = np.zeros(shape, kernel.dtype)
    centre = [n // 2 for n in shape]
    half = [k // 2 for k in kernel.shape]
    out[tuple(slice(c - h, c + h + 1) for c, h in zip(centre, half))] = kernel
    return out


def fold_centred(kernel, shape):
    """Wrap a large odd-sized centred kernel around a smaller grid, centred at shape // 2."""
    out = np.zeros(shape, kernel.dtype)
    rows = (np.arange(kernel.shape[0]) - kernel.shape[0] // 2 + shape[0] // 2) % shape[0]
    cols = (np.arange(kernel.shape[1]) - kernel.shape[1] // 2 + shape[1] // 2) % shape[1]
    np.add.at(out, (rows[:, None], cols[None, :]), kernel)
    return out


# --------------------------------------------------------------------------
# Shapes, dtypes, metadata
# --------------------------------------------------------------------------

@pytest.mark.parametrize("builder, n_filters", [
    (leung_malik_bank, 48), (schmid_bank, 13), (rfs_bank, 38),
])
@pytest.mark.parametrize("dtype, complex_dtype", [
    (np.float32, np.complex64), (np.float64, np.complex128),
])
def test_classic_bank_sizes(builder, n_filters, dtype, complex_dtype):
    bank = builder((40, 33), dtype=dtype)
    assert len(bank) == n_filters == len(bank.metadata)
    assert bank.spectra.shape == (n_filters, 40, 33)
    assert bank.spectra.dtype == complex_dtype
    assert bank.dtype == dtype
    assert bank.shape == (40, 33) and bank.ndim == 2
    assert bank.is_real
    assert bank.support_radius.shape == bank.max_frequency.shape == (n_filters,)
    kernels = bank.filters_spatial()
    assert kernels.dtype == dtype and kernels.shape == bank.spectra.shape


def test_metadata_keys_everywhere():
    keys = {"kind", "scale", "orientation", "frequency", "bandwidth", "scale_index",
            "orientation_index"}
    banks = [builder((16, 16)) for builder in BUILDERS_2D]
    banks += [builder((8, 8, 8), n_orientations=3) for builder in BUILDERS_3D]
    for bank in banks:
        for m in bank.metadata:
            assert keys <= set(m)
            assert m["frequency"] is not None and 0 <= m["frequency"] <= 0.5


def test_rfs_mr8_groups():
    bank = rfs_bank((64, 64))
    groups = bank.orientation_groups()
    assert len(groups) == 8
    for group in groups[:6]:
        kinds = {bank.metadata[i]["kind"] for i in group}
        scales = {bank.metadata[i]["scale"] for i in group}
        assert len(kinds) == len(scales) == 1
        assert [bank.metadata[i]["orientation_index"] for i in group] == list(range(6))
    assert [bank.metadata[g[0]]["kind"] for g in groups] == ["edge"] * 3 + ["bar"] * 3 + [
        "gaussian", "log"]
    # MR8 as in Varma & Zisserman: max over orientations of each oriented group.
    image = np.random.default_rng(0).random((64, 64))
    responses = np.fft.ifft2(np.fft.fft2(image) * bank.spectra).real
    mr8 = np.stack([responses[g].max(axis=0) for g in groups])
    assert mr8.shape == (8, 64, 64)
    assert_allclose(mr8[7], responses[37])


def test_leung_malik_layout():
    bank = leung_malik_bank((64, 64))
    kinds = [m["kind"] for m in bank.metadata]
    assert kinds[:18] == ["edge"] * 18 and kinds[18:36] == ["bar"] * 18
    assert kinds[36:] == ["gaussian", "log", "log"] * 4
    assert_allclose([m["scale"] for m in bank.metadata[:18:6]], np.sqrt(2) ** np.arange(1, 4))
    log_scales = sorted(m["scale"] for m in bank.metadata if m["kind"] == "log")
    assert_allclose(log_scales, sorted(np.r_[np.sqrt(2) ** np.arange(1, 5),
                                             3 * np.sqrt(2) ** np.arange(1, 5)]))
    assert len(bank.orientation_groups()) == 6 + 8 + 4


# --------------------------------------------------------------------------
# Normalization and zero mean
# --------------------------------------------------------------------------

@pytest.mark.parametrize("builder", [leung_malik_bank, schmid_bank, rfs_bank, log_bank,
                                     dog_bank])
def test_classic_normalization(builder):
    bank = builder((64, 64))
    kernels = bank.filters_spatial()
    for m, kernel, dc in zip(bank.metadata, kernels, bank.spectra[:, 0, 0]):
        if m["kind"] == "gaussian":
            assert_allclose(kernel.sum(), 1, rtol=1e-12)
            assert kernel.min() >= -1e-15
        else:
            assert abs(dc) < 1e-14  # zero mean: no response to a constant image
            assert_allclose(np.abs(kernel).sum(), 1, rtol=1e-12)


def test_morlet_is_zero_mean_and_gabor_is_not():
    # Wide bandwidth and low frequency: a Gabor filter leaks at DC.
    kwargs = dict(bandwidth=2.5, frequency_range=(0.05, 0.3))
    gabor = gabor_bank((45, 50), **kwargs)
    morlet = morlet_bank((45, 50), **kwargs)
    assert np.abs(gabor.spectra[:, 0, 0]).max() > 1e-3
    assert np.abs(morlet.spectra[:, 0, 0]).max() < 1e-14
    assert np.abs(morlet.filters_spatial().sum(axis=(1, 2))).max() < 1e-12
    # At high frequency the correction is negligible.
    top = gabor_bank((64, 64), n_scales=1)
    assert_allclose(morlet_bank((64, 64), n_scales=1).spectra, top.spectra, atol=3e-3)


# --------------------------------------------------------------------------
# Gabor: frequency, orientation, scales
# --------------------------------------------------------------------------

def test_gabor_peaks_at_nominal_frequency_and_orientation():
    bank = gabor_bank((128, 128), n_orientations=6)
    peaks = spectral_peaks(bank)
    for m, peak in zip(bank.metadata, peaks):
        theta, f = m["orientation"], m["frequency"]
        # (row, col) = (y, x) order; theta from x towards y.
        assert_allclose(peak, f * np.array([np.sin(theta), np.cos(theta)]), atol=1 / 128)


def test_gabor_orientations_are_uniform_in_half_circle():
    bank = gabor_bank((32, 32), n_scales=2, n_orientations=5)
    angles = [m["orientation"] for m in bank.metadata]
    assert_allclose(angles, np.tile(np.pi * np.arange(5) / 5, 2))
    assert [m["orientation_index"] for m in bank.metadata] == list(range(5)) * 2
    assert [m["scale_index"] for m in bank.metadata] == [0] * 5 + [1] * 5
    assert [len(g) for g in bank.orientation_groups()] == [5, 5]


def test_gabor_frequencies():
    bank = gabor_bank((256, 256), bandwidth=1.0)
    frequencies = [m["frequency"] for m in bank.metadata[::8]]
    assert_allclose(frequencies, 0.375 * 2.0 ** -np.arange(4))
    bank = gabor_bank((256, 256), bandwidth=0.5, n_orientations=2)
    assert_allclose(bank.metadata[0]["frequency"], 0.25 * (1 + 2**-0.5))
    assert_allclose(bank.metadata[2]["frequency"] / bank.metadata[0]["frequency"], 2**-0.5)
    bank = gabor_bank((64, 64), frequency_range=(0.05, 0.4), n_orientations=1)
    assert_allclose([m["frequency"] for m in bank.metadata], [0.4, 0.2, 0.1, 0.05])
    bank = gabor_bank((64, 64), frequency_range=(0.1, 0.4), n_scales=5, n_orientations=1)
    assert_allclose([m["frequency"] for m in bank.metadata], np.geomspace(0.4, 0.1, 5))


def test_gabor_half_amplitude_bandwidth():
    # Along the orientation, the spectrum is at half its peak at two frequencies
    # whose ratio is 2**bandwidth.
    bandwidth = 1.5
    # theta = pi/2 (the second of 2 orientations) varies along axis 0.
    bank = gabor_bank((4096, 4), n_orientations=2, bandwidth=bandwidth,
                      frequency_range=(0.1, 0.1), aspect_ratio=1.0)
    profile = bank.spectra[1, :2048, 0].real
    nu = np.fft.fftfreq(4096)[:2048]
    above = nu[profile >= 0.5]
    assert_allclose(above.max() / above.min(), 2**bandwidth, rtol=2e-3)


@pytest.mark.parametrize("shape, n_scales", [
    ((8, 8), 1), ((28, 28), 2), ((64, 64), 3), ((256, 256), 4), ((1024, 1024), 4),
])
def test_gabor_default_n_scales(shape, n_scales):
    bank = gabor_bank(shape, dtype=np.float32)
    assert len(bank) == 8 * n_scales
    # The largest envelope (sigma / aspect_ratio) fits a quarter of the image
    # whenever more than one scale is used.
    if n_scales > 1:
        assert max(m["scale"] / m["aspect_ratio"] for m in bank.metadata) <= min(shape) / 4
    clear_cache()


# --------------------------------------------------------------------------
# Agreement with skimage.filters.gabor_kernel, periodization
# --------------------------------------------------------------------------

@pytest.mark.parametrize("frequency, orientation_index, n_orientations, bandwidth", [
    (0.1, 0, 4, 1.0), (0.1, 1, 4, 1.0), (0.25, 2, 4, 1.0), (0.3, 3, 8, 0.7),
    (0.15, 5, 6, 1.5), (0.4, 1, 3, 1.0),
])
def test_gabor_matches_skimage(frequency, orientation_index, n_orientations, bandwidth):
    # aspect_ratio=1: skimage derives both sigmas from the bandwidth.
    bank = gabor_bank((128, 128), n_orientations=n_orientations, bandwidth=bandwidth,
                      aspect_ratio=1.0, frequency_range=(frequency, frequency))
    m = bank.metadata[orientation_index]
    reference = gabor_kernel(frequency, theta=m["orientation"], bandwidth=bandwidth,
                             n_stds=10)
    ours = bank.filters_spatial()[orientation_index]
    # No rescaling: both spectra peak at 1. The residue is skimage's truncation.
    assert_allclose(ours, embed_centred(reference, (128, 128)),
                    atol=1e-9 * np.abs(reference).max())


@pytest.mark.parametrize("theta_index", [0, 1, 3])
def test_gabor_aspect_ratio_matches_skimage_sigmas(theta_index):
    bank = gabor_bank((128, 128), n_orientations=4, aspect_ratio=0.5,
                      frequency_range=(0.2, 0.2))
    m = bank.metadata[theta_index]
    reference = gabor_kernel(m["frequency"], theta=m["orientation"], sigma_x=m["scale"],
                             sigma_y=m["scale"] / m["aspect_ratio"], n_stds=6)
    ours = bank.filters_spatial()[theta_index]
    assert_allclose(ours, embed_centred(reference, (128, 128)), atol=1e-6 * np.abs(reference).max())


@pytest.mark.parametrize("shape", [(16, 16), (15, 12)])
def test_gabor_is_periodized_on_small_grids(shape):
    # The kernel on a grid smaller than its support is the full kernel wrapped around.
    bank = gabor_bank(shape, n_orientations=4, aspect_ratio=1.0, frequency_range=(0.1, 0.1))
    for k, m in enumerate(bank.metadata):
        reference = gabor_kernel(m["frequency"], theta=m["orientation"], n_stds=8)
        assert max(reference.shape) > max(shape)
        assert_allclose(bank.filters_spatial()[k], fold_centred(reference, shape),
                        atol=1e-9 * np.abs(reference).max())


def test_gabor_float32_matches_float64():
    b32 = gabor_bank((33, 40), dtype=np.float32)
    b64 = gabor_bank((33, 40))
    assert_allclose(b32.spectra, b64.spectra, atol=1e-6)


# --------------------------------------------------------------------------
# Support and maximum frequency
# --------------------------------------------------------------------------

def offsets(n):
    return (np.arange(n) + n // 2) % n - n // 2


@pytest.mark.parametrize("bank", [
    gabor_bank((128, 128)), morlet_bank((128, 96), n_orientations=3),
    leung_malik_bank((96, 96)), log_bank((128, 128)),
], ids=["gabor", "morlet", "lm", "log"])
def test_support_and_max_frequency_bound_the_filters(bank):
    kernels = np.abs(np.fft.ifft2(bank.spectra))
    spectra = np.abs(bank.spectra)
    rows, cols = np.meshgrid(offsets(bank.shape[0]), offsets(bank.shape[1]), indexing="ij")
    nu_rows, nu_cols = np.meshgrid(np.fft.fftfreq(bank.shape[0]), np.fft.fftfreq(bank.shape[1]),
                                   indexing="ij")
    for k in range(len(bank)):
        outside = np.maximum(np.abs(rows), np.abs(cols)) > bank.support_radius[k]
        assert kernels[k][outside].max(initial=0) <= 1.01e-3 * kernels[k].max()
        above = np.maximum(np.abs(nu_rows), np.abs(nu_cols)) > bank.max_frequency[k] + 1e-12
        assert spectra[k][above].max(initial=0) <= 1.01e-3 * spectra[k].max()
    assert bank.spatial_support == bank.support_radius.max()


def test_max_frequency_allows_downsampling():
    bank = gabor_bank((256, 256))
    by_scale = {m["scale_index"]: f for m, f in zip(bank.metadata, bank.max_frequency)}
    assert by_scale[0] == 0.5
    # One octave down, a filter fits a grid downsampled twice as much.
    assert by_scale[3] < by_scale[2] < by_scale[1] < 0.5
    assert_allclose(by_scale[2] / by_scale[3], 2)


# --------------------------------------------------------------------------
# 3D Gabor
# --------------------------------------------------------------------------

def test_gabor_3d_orientations_on_half_sphere():
    bank = gabor_bank_3d((16, 16, 16), n_scales=1)
    assert len(bank) == 13 and bank.spectra.shape == (13, 16, 16, 16)
    u = np.array([m["orientation"] for m in bank.metadata])
    assert_allclose(np.linalg.norm(u, axis=1), 1)
    assert (u[:, 0] >= 0).all()
    cosines = np.abs(u @ u.T)
    np.fill_diagonal(cosines, 0)
    # No antipodal (or repeated) pair: any two at least 30 degrees apart (an
    # even spread of 13 lines leaves about 36).
    assert np.degrees(np.arccos(cosines.max())) > 30
    # Covering: every direction is within 35 degrees of one of them (up to sign).
    v = np.random.default_rng(0).normal(size=(5000, 3))
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    assert np.degrees(np.arccos(np.abs(v @ u.T).max(axis=1))).max() < 35


@pytest.mark.parametrize("n", [1, 2, 3, 6])
def test_gabor_3d_small_orientation_counts(n):
    u = np.array([m["orientation"] for m in gabor_bank_3d((8, 8, 8), n_orientations=n,
                                                            n_scales=1).metadata])
    assert u.shape == (n, 3)
    assert_allclose(np.linalg.norm(u, axis=1), 1)
    cosines = np.abs(u @ u.T)
    np.fill_diagonal(cosines, 0)
    if n <= 3:  # one, two or three mutually orthogonal axes
        assert cosines.max() < 1e-6
    if n == 6:  # the icosahedron's six axes: 63.4 degrees apart
        assert_allclose(cosines[cosines > 0], 1 / np.sqrt(5), atol=1e-3)


def test_gabor_3d_peaks_and_morlet_zero_mean():
    bank = gabor_bank_3d((32, 30, 31), n_orientations=5)
    peaks = spectral_peaks(bank)
    for m, peak in zip(bank.metadata, peaks):
        assert_allclose(peak, m["frequency"] * np.array(m["orientation"]), atol=1 / 30)
    morlet = morlet_bank_3d((12, 13, 14), n_orientations=4, bandwidth=2.0)
    assert np.abs(morlet.spectra[:, 0, 0, 0]).max() < 1e-14
    assert morlet.dtype == np.float64 and not morlet.is_real


def test_gabor_3d_matches_spatial_formula():
    bank = gabor_bank_3d((64, 64, 64), n_orientations=4, n_scales=1, aspect_ratio=0.5,
                         frequency_range=(0.25, 0.25))
    grid = np.stack(np.meshgrid(*[np.arange(64) - 32] * 3, indexing="ij"), axis=-1)
    for m, kernel in zip(bank.metadata, bank.filters_spatial()):
        u = np.array(m["orientation"])
        sigma, sigma_across = m["scale"], m["scale"] / m["aspect_ratio"]
        along = grid @ u
        across2 = (grid**2).sum(axis=-1) - along**2
        envelope = np.exp(-along**2 / (2 * sigma**2) - across2 / (2 * sigma_across**2))
        expected = envelope * np.exp(2j * np.pi * m["frequency"] * along) / (
            (2 * np.pi) ** 1.5 * sigma * sigma_across**2)
        assert_allclose(kernel, expected, atol=1e-10 * np.abs(expected).max())


# --------------------------------------------------------------------------
# Classic banks against their spatial formulas (Oxford VGG code)
# --------------------------------------------------------------------------

def vgg_grid(support=49):
    half = (support - 1) // 2
    # MATLAB: [x, y] = meshgrid(-hsup:hsup, hsup:-1:-hsup)
    x, y = np.meshgrid(np.arange(-half, half + 1), np.arange(half, -half - 1, -1))
    return x.astype(float), y.astype(float)


def vgg_normalise(f):
    f = f - f.mean()
    return f / np.abs(f).sum()


def vgg_gauss1d(sigma, x, order):
    variance = sigma**2
    g = np.exp(-x * x / (2 * variance)) / np.sqrt(np.pi * 2 * variance)
    if order == 1:
        g = -g * (x / variance)
    elif order == 2:
        g = g * ((x * x - variance) / variance**2)
    return g


def vgg_makefilter(scale, order, angle):
    x, y = vgg_grid()
    c, s = np.cos(angle), np.sin(angle)
    rx, ry = c * x - s * y, s * x + c * y
    return vgg_normalise(vgg_gauss1d(3 * scale, rx, 0) * vgg_gauss1d(scale, ry, order))


def centre_crop(kernel, size=49):
    return kernel[tuple(slice(n // 2 - size // 2, n // 2 + size // 2 + 1) for n in kernel.shape)]


@pytest.mark.parametrize("index", [0, 4, 11, 17, 20, 29, 35])
def test_leung_malik_oriented_filters_match_reference(index):
    kernels = leung_malik_bank((64, 64)).filters_spatial()
    scale = np.sqrt(2) ** (1 + (index % 18) // 6)
    order = 1 if index < 18 else 2
    angle = np.pi * (index % 6) / 6
    assert_allclose(centre_crop(kernels[index]), vgg_makefilter(scale, order, angle),
                    atol=1e-15)
    # Outside the 49x49 support: zero.
    outside = kernels[index].copy()
    outside[8:57, 8:57] = 0
    assert np.abs(outside).max() < 1e-15


def test_leung_malik_isotropic_filters_match_reference():
    kernels = leung_malik_bank((64, 64)).filters_spatial()
    x, y = vgg_grid()
    r2 = x**2 + y**2
    for i, sigma in enumerate(np.sqrt(2) ** np.arange(1, 5)):
        gaussian = np.exp(-r2 / (2 * sigma**2))
        assert_allclose(centre_crop(kernels[36 + 3 * i]), gaussian / gaussian.sum(), atol=1e-15)
        for j, s in enumerate((sigma, 3 * sigma)):
            # fspecial('log') followed by normalise.
            h = np.exp(-r2 / (2 * s**2))
            h = h / h.sum()
            h1 = h * (r2 - 2 * s**2) / s**4
            log = vgg_normalise(h1 - h1.sum() / h1.size)
            assert_allclose(centre_crop(kernels[37 + 3 * i + j]), log, atol=1e-15)


@pytest.mark.parametrize("index, sigma, tau", [(0, 2, 1), (5, 6, 3), (12, 10, 4)])
def test_schmid_matches_formula(index, sigma, tau):
    bank = schmid_bank((60, 60))
    x, y = vgg_grid()
    r = np.sqrt(x**2 + y**2)
    reference = vgg_normalise(np.cos(r * np.pi * tau / sigma) * np.exp(-r**2 / (2 * sigma**2)))
    assert_allclose(centre_crop(bank.filters_spatial()[index]), reference, atol=1e-15)
    m = bank.metadata[index]
    assert (m["scale"], m["tau"], m["frequency"]) == (sigma, tau, tau / (2 * sigma))


def test_rfs_matches_reference():
    kernels = rfs_bank((64, 64)).filters_spatial()
    for index in (0, 7, 14, 23, 35):
        scale = (1, 2, 4)[(index % 18) // 6]
        expected = vgg_makefilter(scale, 1 if index < 18 else 2, np.pi * (index % 6) / 6)
        assert_allclose(centre_crop(kernels[index]), expected, atol=1e-15)


def test_oriented_filters_vary_along_their_orientation():
    # One convention for every 2D bank: orientation theta is the direction
    # (x towards y-down) in which the filter varies: where its spectrum peaks.
    for bank in (leung_malik_bank((128, 128)), rfs_bank((128, 128))):
        peaks = spectral_peaks(bank)
        for m, (nu_row, nu_col) in zip(bank.metadata, peaks):
            if m["orientation"] is None:
                continue
            angle = np.arctan2(nu_row, nu_col) % np.pi
            difference = (angle - m["orientation"] + np.pi / 2) % np.pi - np.pi / 2
            assert abs(difference) < 0.1
            assert_allclose(np.hypot(nu_row, nu_col), m["frequency"], atol=0.01)


def test_log_and_dog_peak_frequencies():
    for bank in (log_bank((256, 256), sigmas=[2.0, 4.0]), dog_bank((256, 256), sigmas=[2.0, 3.0])):
        peaks = np.hypot(*spectral_peaks(bank).T)
        assert_allclose(peaks, [m["frequency"] for m in bank.metadata], atol=2 / 256)


def test_log_and_dog_defaults_and_signs():
    assert [m["scale"] for m in log_bank((8, 8)).metadata] == [1.0]
    assert [m["scale"] for m in log_bank((256, 256)).metadata] == [1, 2, 4, 8, 16, 32]
    assert [m["scale"] for m in dog_bank((60, 60), ratio=2.0).metadata] == [1, 2]
    assert [m["scale"] for m in dog_bank((64, 64), ratio=2.0).metadata] == [1, 2, 4]
    centre = (32, 32)
    assert log_bank((64, 64)).filters_spatial()[:, 32, 32].max() < 0
    dog = dog_bank((64, 64))
    assert dog.filters_spatial()[(slice(None),) + centre].min() > 0
    assert all(m["ratio"] == 1.6 for m in dog.metadata)


def test_classic_banks_periodize_on_small_grids():
    small = leung_malik_bank((20, 20)).filters_spatial()
    large = leung_malik_bank((64, 64)).filters_spatial()
    for k in (0, 25, 47):
        assert_allclose(small[k], fold_centred(centre_crop(large[k]), (20, 20)), atol=1e-15)


# --------------------------------------------------------------------------
# FilterBank container
# --------------------------------------------------------------------------

def test_banks_are_cached_and_read_only():
    bank = gabor_bank((24, 24))
    assert gabor_bank([24, 24]) is bank
    assert gabor_bank((np.int64(24), 24), dtype="float64") is bank
    assert gabor_bank((24, 24), dtype=np.float32) is not bank
    assert rfs_bank((24, 24)) is rfs_bank((24, 24))
    with pytest.raises(ValueError, match="read-only"):
        bank.spectra[0, 0, 0] = 1
    with pytest.raises(ValueError, match="read-only"):
        bank.max_frequency[0] = 0
    with pytest.raises(TypeError):
        bank.metadata[0]["kind"] = "other"
    with pytest.raises(AttributeError):
        bank.spectra = None
    clear_cache()
    assert gabor_bank((24, 24)) is not bank


def test_filter_bank_from_kernels_convolves():
    rng = np.random.default_rng(1)
    kernels = rng.normal(size=(3, 5, 4))
    bank = FilterBank.from_kernels(kernels, (17, 19))
    assert [m["kind"] for m in bank.metadata] == ["custom"] * 3
    assert bank.is_real and bank.spatial_support <= 2
    image = rng.normal(size=(17, 19))
    responses = np.fft.ifft2(np.fft.fft2(image) * bank.spectra).real
    # Kernel origin at box index (2, 2): response(i, j) = sum k[a, b] x[i - a + 2, j - b + 2].
    i, j = 8, 9
    expected = [sum(kernels[f, a, b] * image[i - a + 2, j - b + 2]
                    for a in range(5) for b in range(4)) for f in range(3)]
    assert_allclose(responses[:, i, j], expected)


@settings(max_examples=30, deadline=None)
@given(
    box=st.tuples(st.integers(1, 9), st.integers(1, 9)),
    shape=st.tuples(st.integers(1, 12), st.integers(1, 12)),
    seed=st.integers(0, 2**16),
)
def test_from_kernels_periodizes_like_a_reference(box, shape, seed):
    rng = np.random.default_rng(seed)
    kernel = rng.normal(size=box)
    bank = FilterBank.from_kernels(kernel[None], shape)
    reference = np.zeros(shape)
    for a in range(box[0]):
        for b in range(box[1]):
            reference[(a - box[0] // 2) % shape[0], (b - box[1] // 2) % shape[1]] += kernel[a, b]
    assert_allclose(np.fft.ifft2(bank.spectra[0]).real, reference, atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(
    shape=st.tuples(st.integers(1, 40), st.integers(1, 40)),
    bandwidth=st.floats(0.3, 3.0),
    aspect_ratio=st.floats(0.3, 2.0),
)
def test_morlet_zero_mean_for_any_grid(shape, bandwidth, aspect_ratio):
    bank = morlet_bank(shape, n_orientations=3, bandwidth=bandwidth, aspect_ratio=aspect_ratio)
    assert np.isfinite(bank.spectra).all()
    assert np.abs(bank.spectra[:, 0, 0]).max() < 1e-12
    assert 1 <= len(bank) // 3 <= 4


def test_subset_repr_pickle():
    bank = gabor_bank((20, 20), n_scales=2, n_orientations=4)
    assert repr(bank) == ("FilterBank(n_filters=8, shape=(20, 20), dtype=float64, "
                          "kinds=('gabor',), spatial_support=23)")
    sub = bank.subset(slice(4, None))
    assert len(sub) == 4 and [m["scale_index"] for m in sub.metadata] == [1] * 4
    assert_array_equal(sub.spectra, bank.spectra[4:])
    assert_array_equal(sub.max_frequency, bank.max_frequency[4:])
    assert not sub.spectra.flags.writeable
    one = bank.subset(3)
    assert len(one) == 1 and one.metadata[0]["orientation_index"] == 3
    real = rfs_bank((20, 20)).subset([36, 37])
    assert real.is_real and [m["kind"] for m in real.metadata] == ["gaussian", "log"]

    clone = pickle.loads(pickle.dumps(bank))
    assert_array_equal(clone.spectra, bank.spectra)
    assert clone.metadata == bank.metadata
    assert not clone.spectra.flags.writeable
    assert clone.spatial_support == bank.spatial_support


def test_filter_bank_measures_what_it_is_not_given():
    bank = leung_malik_bank((48, 48))
    rebuilt = FilterBank(np.array(bank.spectra), [dict(m) for m in bank.metadata])
    assert rebuilt.is_real
    assert_array_equal(rebuilt.max_frequency, bank.max_frequency)
    # Measured from the spectra at 1e-3 of the peak; from_kernels measures the
    # compact kernels at 1e-12, so it reaches at least as far.
    assert np.all(rebuilt.support_radius <= bank.support_radius + 1)
    assert not FilterBank(gabor_bank((16, 16)).spectra, gabor_bank((16, 16)).metadata).is_real


def test_filter_bank_rejects_bad_input():
    with pytest.raises(ValueError, match="'spectra' parameter of FilterBank"):
        FilterBank(np.zeros((4, 4)), [{}] * 4)
    with pytest.raises(ValueError, match="one entry per filter"):
        FilterBank(np.zeros((2, 4, 4)), [{"kind": "x"}])
    with pytest.raises(ValueError, match="'kernels' parameter"):
        FilterBank.from_kernels(np.zeros((3, 3)), (8, 8))
    with pytest.raises(ValueError, match="'origin' parameter"):
        FilterBank.from_kernels(np.zeros((1, 3, 3)), (8, 8), origin=(1,))
    with pytest.raises(TypeError, match="'shape' parameter of FilterBank.from_kernels"):
        FilterBank.from_kernels(np.zeros((1, 3, 3)), (8, 8, 8))


# --------------------------------------------------------------------------
# Learned filters
# --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def images():
    from skimage.data import camera, coins
    return [camera()[::2, ::2].astype(float), coins().astype(float)]


@pytest.fixture(scope="module")
def learned(images):
    return learn_patch_filters(images, n_filters=16, patch_size=6, n_patches=3000,
                               random_state=0)


def test_learned_filters_are_deterministic(images, learned):
    again = learn_patch_filters(images, n_filters=16, patch_size=6, n_patches=3000,
                                random_state=0)
    assert_array_equal(again.templates, learned.templates)
    other = learn_patch_filters(images, n_filters=16, patch_size=6, n_patches=3000,
                                random_state=1)
    assert not np.allclose(other.templates, learned.templates)
    assert isinstance(learned, PatchFilters)
    assert repr(learned).startswith("PatchFilters(n_filters=16, patch_size=6")


def test_learned_filters_reduce_quantization_error(images, learned):
    # Held-out patches are closer to the k-means centroids than to as many
    # whitened patches drawn at random (the k-means++ starting point).
    rng = np.random.default_rng(5)
    windows = np.lib.stride_tricks.sliding_window_view(images[1], (6, 6))
    rows = rng.integers(0, windows.shape[0], 2000)
    cols = rng.integers(0, windows.shape[1], 2000)
    held_out = learned.whiten(windows[rows, cols].reshape(2000, -1))

    def error(centres):
        distances = ((held_out[:, None, :] - centres[None, :, :]) ** 2).sum(axis=-1)
        return distances.min(axis=1).mean()

    random_centres = held_out[rng.choice(2000, 16, replace=False)]
    assert error(learned.centroids) < 0.9 * error(random_centres)
    assert learned.inertia > 0
    fewer = learn_patch_filters(images, n_filters=4, patch_size=6, n_patches=3000,
                                random_state=0)
    assert learned.inertia < fewer.inertia


def test_learned_whitening_decorrelates(images, learned):
    rng = np.random.default_rng(0)
    windows = np.lib.stride_tricks.sliding_window_view(images[0], (6, 6))
    patches = windows[rng.integers(0, windows.shape[0], 4000),
                      rng.integers(0, windows.shape[1], 4000)].reshape(4000, -1)
    off_diagonal = ~np.eye(36, dtype=bool)
    # Neighbouring pixels are strongly correlated before whitening, barely after.
    assert np.abs(np.corrcoef(patches, rowvar=False)[off_diagonal]).mean() > 0.5
    covariance = np.cov(learned.whiten(patches), rowvar=False)
    assert np.abs(covariance[off_diagonal]).mean() < 0.1 * np.diag(covariance).mean()


def test_learned_bank_projects_whitened_patches(images, learned):
    p, a = 6, 3
    image = images[1][:40, :50]
    bank = learned.bank(image.shape)
    assert learned.bank(list(image.shape)) is bank
    assert len(bank) == 16 and bank.is_real and bank.spatial_support == a
    assert np.abs(bank.spectra[:, 0, 0]).max() < 1e-12
    responses = np.fft.ifft2(np.fft.fft2(image) * bank.spectra).real
    templates = learned.templates
    assert_allclose(templates.sum(axis=(1, 2)), 0, atol=1e-12)
    for i, j in [(10, 12), (20, 30), (a, a)]:
        patch = image[i - a:i - a + p, j - a:j - a + p]
        assert_allclose(responses[:, i, j], (templates * patch).sum(axis=(1, 2)), atol=1e-9)
        # The template folds in the whitening: t . patch = c . W (patch - mean(patch)).
        unit = learned.centroids / np.linalg.norm(learned.centroids, axis=1, keepdims=True)
        flat = patch.ravel() - patch.mean()
        assert_allclose(responses[:, i, j], unit @ (learned.whitening @ flat), atol=1e-9)
    for m in bank.metadata:
        assert m["kind"] == "learned" and 0 <= m["frequency"] <= 0.5 * np.sqrt(2)


def test_learned_without_whitening(images):
    filters = learn_patch_filters(images[0][None, :60, :60], n_filters=3, patch_size=4,
                                  n_patches=300, whitening=None, random_state=0)
    assert_array_equal(filters.whitening, np.eye(16))
    assert filters.bank((10, 10), dtype=np.float32).dtype == np.float32


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(images=np.zeros((10, 10))), ValueError, r"Wrap a single image in a list"),
    (dict(images=np.zeros((2, 10, 10, 3))), ValueError, r"\(n_images, height, width\)"),
    (dict(images="image"), TypeError, r"'images' parameter"),
    (dict(images=[]), ValueError, r"at least one image"),
    (dict(images=[np.zeros((10, 10, 3))]), ValueError, r"2D real images"),
    (dict(images=[np.full((10, 10), np.nan)]), ValueError, r"finite"),
    (dict(images=[np.zeros((10, 10)), np.zeros((5, 20))], patch_size=6), ValueError,
     r"'patch_size' parameter of learn_patch_filters must be at most the smallest "
     r"image side \(5\). Got 6 instead."),
    (dict(n_filters=0), ValueError, r"'n_filters' parameter .* int >= 1. Got 0"),
    (dict(n_filters=50, n_patches=20), ValueError, r"at most n_patches \(20\)"),
    (dict(whitening="pca"), ValueError, r"'whitening' parameter .* 'zca' or None"),
    (dict(epsilon=0.0), ValueError, r"'epsilon' parameter .* float > 0"),
])
def test_learned_bad_input(kwargs, error, match):
    arguments = dict(images=[np.random.default_rng(0).random((12, 12))], n_filters=2,
                     patch_size=4, n_patches=50)
    arguments.update(kwargs)
    with pytest.raises(error, match=match):
        learn_patch_filters(**arguments)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_learned_constant_images_do_not_fail():
    filters = learn_patch_filters([np.ones((10, 10))], n_filters=2, patch_size=3,
                                  n_patches=20, random_state=0)
    assert np.isfinite(filters.templates).all()


# --------------------------------------------------------------------------
# Parameter validation
# --------------------------------------------------------------------------

def test_error_message_style():
    with pytest.raises(ValueError) as excinfo:
        gabor_bank((32, 32), n_orientations=0)
    assert str(excinfo.value) == (
        "The 'n_orientations' parameter of gabor_bank must be an int >= 1. Got 0 instead.")


@pytest.mark.parametrize("builder", BUILDERS_2D)
@pytest.mark.parametrize("shape, error", [
    ((0, 8), ValueError), ((8,), TypeError), ((8, 8, 8), TypeError), (8, TypeError),
    ((8.0, 8), TypeError), ((True, 8), TypeError),
])
def test_bad_shape_2d(builder, shape, error):
    with pytest.raises(error, match=rf"The 'shape' parameter of {builder.__name__} must be "
                                    r"a tuple of 2 ints >= 1"):
        builder(shape)


@pytest.mark.parametrize("builder", BUILDERS_3D)
def test_bad_shape_3d(builder):
    with pytest.raises(TypeError, match="tuple of 3 ints"):
        builder((8, 8))


@pytest.mark.parametrize("builder", BUILDERS_2D + BUILDERS_3D)
@pytest.mark.parametrize("dtype", [np.int32, np.complex64, np.float16, None, "foo"])
def test_bad_dtype(builder, dtype):
    shape = (8, 8, 8) if builder in BUILDERS_3D else (8, 8)
    with pytest.raises(ValueError, match=rf"'dtype' parameter of {builder.__name__} must be "
                                         r"np.float32 or np.float64"):
        builder(shape, dtype=dtype)


@pytest.mark.parametrize("builder", [gabor_bank, morlet_bank, gabor_bank_3d, morlet_bank_3d])
@pytest.mark.parametrize("kwargs, error, match", [
    (dict(n_scales=0), ValueError, r"'n_scales' parameter of \w+ must be an int >= 1"),
    (dict(n_scales=2.0), TypeError, r"'n_scales' parameter"),
    (dict(n_orientations=-1), ValueError, r"'n_orientations' parameter"),
    (dict(n_orientations=True), TypeError, r"'n_orientations' parameter"),
    (dict(bandwidth=0), ValueError, r"'bandwidth' parameter of \w+ must be a float > 0. Got 0"),
    (dict(bandwidth=np.inf), ValueError, r"'bandwidth' parameter"),
    (dict(bandwidth="1"), TypeError, r"'bandwidth' parameter"),
    (dict(aspect_ratio=-0.5), ValueError, r"'aspect_ratio' parameter"),
    (dict(frequency_range=(0.0, 0.3)), ValueError, r"0 < f_min <= f_max <= 0.5"),
    (dict(frequency_range=(0.1, 0.6)), ValueError, r"'frequency_range' parameter"),
    (dict(frequency_range=(0.3, 0.1)), ValueError, r"'frequency_range' parameter"),
    (dict(frequency_range=0.3), TypeError, r"'frequency_range' parameter"),
    (dict(frequency_range=(0.1, 0.2, 0.3)), TypeError, r"'frequency_range' parameter"),
])
def test_bad_gabor_parameters(builder, kwargs, error, match):
    shape = (8, 8, 8) if builder in BUILDERS_3D else (8, 8)
    with pytest.raises(error, match=match):
        builder(shape, **kwargs)


@pytest.mark.parametrize("builder", [leung_malik_bank, schmid_bank, rfs_bank])
@pytest.mark.parametrize("support, error", [(0, ValueError), (48, ValueError),
                                            (9.0, TypeError), (1, ValueError),
                                            (515, ValueError)])
def test_bad_support(builder, support, error):
    with pytest.raises(error, match=rf"'support' parameter of {builder.__name__} must be an "
                                    r"odd int from 3 to 513"):
        builder((16, 16), support=support)


@pytest.mark.parametrize("builder", [log_bank, dog_bank])
@pytest.mark.parametrize("sigmas, error", [([], ValueError), ([1.0, 0.0], ValueError),
                                           (2.0, TypeError), (["1"], TypeError)])
def test_bad_sigmas(builder, sigmas, error):
    with pytest.raises(error, match=rf"'sigmas' parameter of {builder.__name__}"):
        builder((16, 16), sigmas=sigmas)


def test_bad_dog_ratio():
    with pytest.raises(ValueError, match=r"'ratio' parameter of dog_bank must be a float > 1"):
        dog_bank((16, 16), ratio=1.0)


def test_small_support_still_builds():
    bank = leung_malik_bank((5, 7), support=3)
    assert len(bank) == 48 and bank.spatial_support <= 1
    assert np.isfinite(bank.spectra).all()


@pytest.mark.parametrize("builder", [gabor_bank, morlet_bank])
def test_subsets_of_a_lazy_bank_compute_their_own_filters(builder):
    # A fresh grid (for_shape) is lazy: nothing is computed until used.
    bank = builder((24, 24), n_scales=3, n_orientations=4).for_shape((40, 36))
    sub = bank.subset([9, 2, 5, 11])
    nested = sub.subset([3, 0])
    assert "spectra" not in sub.__dict__ and "spectra" not in nested.__dict__
    assert_array_equal(nested.spectra, bank.spectra[[11, 9]])
    assert_array_equal(sub.spectra, bank.spectra[[9, 2, 5, 11]])
    assert [m["orientation_index"] for m in nested.metadata] == [3, 1]


@pytest.mark.parametrize("builder", [gabor_bank, morlet_bank])
def test_other_grid_has_exactly_the_same_frequencies(builder):
    # Not recomputed from a frequency range: bit-equal, for every scale.
    bank = builder((256, 256), bandwidth=0.5)
    other = bank.for_shape((300, 290))
    assert [m["frequency"] for m in other.metadata] == [m["frequency"] for m in bank.metadata]


def test_select_of_a_kernel_bank_transforms_only_its_kernels():
    bank = leung_malik_bank((40, 40))
    part = bank.select([3, 17, 40], (64, 60))
    assert_allclose(part.spectra, bank.subset([3, 17, 40]).for_shape((64, 60)).spectra,
                    atol=1e-12)
    assert part.metadata == bank.subset([3, 17, 40]).metadata
    # Its builder holds the three kernels, not the bank's 48.
    assert len(bank.subset([3, 17, 40]).builder.args[0]) == 3


def test_clear_cache_empties_the_banks_on_other_grids():
    bank = leung_malik_bank((32, 32))
    bigger = bank.for_shape((48, 48))
    assert bank.for_shape((48, 48)) is bigger
    clear_cache()
    assert bank.for_shape((48, 48)) is not bigger
