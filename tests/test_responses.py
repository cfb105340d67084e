"""Tests for featpool.responses: the FFT engine (filter_responses, filter_pool).

The references are independent of the engine: ``scipy.ndimage.convolve`` with
the bank's spatial kernels for the responses and their border modes, and the
plain path (full-resolution maps from :func:`filter_responses`, then pooled)
for :func:`filter_pool`.
"""
import functools
import tracemalloc

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy import ndimage

from _common import (
    assert_each_pooling_close,
    natural_images,
    relative_error,
    uses_coarse_grids,
)

import featpool
from featpool import (
    FilterBank,
    Pooling,
    clear_cache,
    dog_bank,
    filter_pool,
    filter_responses,
    gabor_bank,
    gabor_bank_3d,
    learn_patch_filters,
    leung_malik_bank,
    log_bank,
    morlet_bank,
    rfs_bank,
    schmid_bank,
)

MODES = ("reflect", "mirror", "nearest", "wrap", "constant")
NONLINEARITIES = ("modulus", "real", "abs", "relu_split", "square")
DTYPES = (np.float32, np.float64)


def random_images(shape, seed=0):
    return np.random.default_rng(seed).random(shape)


@functools.lru_cache(maxsize=None)
def learned_filters():
    from skimage.data import camera

    # An even patch size: its origin is off-centre, which the references must handle.
    return learn_patch_filters([camera()[::4, ::4]], n_filters=6, patch_size=6,
                               n_patches=500, random_state=0)


def make_bank(name, shape, dtype=np.float64):
    """Banks of every kind, small enough for fast tests."""
    if name == "learned":
        return learned_filters().bank(shape, dtype=dtype)
    builders = {
        "gabor": lambda: gabor_bank(shape, n_scales=2, n_orientations=4, dtype=dtype),
        "morlet": lambda: morlet_bank(shape, n_scales=2, n_orientations=3, dtype=dtype),
        "leung_malik": lambda: leung_malik_bank(shape, dtype=dtype),
        "schmid": lambda: schmid_bank(shape, dtype=dtype),
        "rfs": lambda: rfs_bank(shape, dtype=dtype),
        "log": lambda: log_bank(shape, dtype=dtype),
        "dog": lambda: dog_bank(shape, dtype=dtype),
    }
    return builders[name]()


BANKS_2D = ("gabor", "morlet", "leung_malik", "schmid", "rfs", "log", "dog", "learned")


def convolve_reference(images, bank, mode, reach=None):
    """Complex responses (n, n_filters, *spatial) by direct convolution, in float64.

    Each kernel is taken on a large grid (``filters_spatial``) and cropped
    around its origin: to the bank's ``spatial_support`` (how far the engine
    pads), or to ``reach`` times its own support radius. Also returns the
    largest magnitude that the crops leave out, relative to each kernel's peak.
    """
    if reach is None:
        radii = np.full(len(bank), max(bank.spatial_support, 1))
    else:
        radii = np.maximum(reach * bank.support_radius, 1)
    big = (2 * int(radii.max()) + 8,) * bank.ndim
    kernels = bank.for_shape(big).filters_spatial()
    out = np.zeros((images.shape[0], len(bank)) + images.shape[1:], dtype=complex)
    lost = 0.0
    for k, (kernel, r) in enumerate(zip(kernels, radii)):
        crop = tuple(slice(n // 2 - r, n // 2 + r + 1) for n in big)
        outside = np.abs(kernel).copy()
        outside[crop] = 0
        lost = max(lost, outside.max() / np.abs(kernel).max())
        for i, image in enumerate(images.astype(np.float64)):
            out[i, k] = ndimage.convolve(image, kernel[crop].real, mode=mode)
            if np.iscomplexobj(kernel):
                out[i, k] += 1j * ndimage.convolve(image, kernel[crop].imag, mode=mode)
    return out, lost


def per_filter_error(got, want):
    """Max error of each filter's responses relative to that filter's largest response."""
    axes = (0,) + tuple(range(2, got.ndim))
    return np.abs(got - want).max(axis=axes) / np.abs(want).max(axis=axes)


def pooled_responses(images, bank, poolings, nonlinearity, **kwargs):
    """The plain path: full-resolution response maps, then each pooling, concatenated."""
    maps = filter_responses(images, bank, nonlinearity=nonlinearity, **kwargs)
    return np.concatenate([p(maps, bank.ndim) for p in poolings], axis=-1)


def assert_features_close(got, want, dtype):
    """Equal to the float precision of ``dtype``, relative to the largest feature."""
    tol = 2e-5 if dtype == np.float32 else 1e-10
    assert got.shape == want.shape
    assert_allclose(got, want, rtol=tol, atol=tol * np.abs(want).max())


# --------------------------------------------------------------------------
# Responses against direct spatial convolution
# --------------------------------------------------------------------------

def complex_kernel_bank(shape, dtype=np.float64):
    kernels = np.random.default_rng(5).standard_normal((3, 2) + (7, 5, 3)[: len(shape)])
    return FilterBank.from_kernels(kernels[:, 0] + 1j * kernels[:, 1], shape, dtype=dtype)


# Banks of compactly supported kernels: the engine pads by the whole kernel,
# so it must reproduce a direct convolution exactly.
EXACT_BANKS = {
    "leung_malik-11": lambda shape: leung_malik_bank(shape, support=11),
    "schmid-9": lambda shape: schmid_bank(shape, support=9),
    "rfs-13": lambda shape: rfs_bank(shape, support=13),
    "log": lambda shape: log_bank(shape, sigmas=[1.0, 2.5]),
    "learned": lambda shape: learned_filters().bank(shape),
    "complex-kernels": complex_kernel_bank,
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", EXACT_BANKS)
def test_responses_equal_ndimage_convolve(name, mode):
    images = random_images((2, 37, 44), seed=len(name))
    bank = EXACT_BANKS[name]((37, 44))
    assert 2 * bank.spatial_support + 1 < 37, "kernels smaller than the image"
    want, lost = convolve_reference(images, bank, mode)
    assert lost < 1e-12, "the test needs kernels that the crop holds entirely"
    got = filter_responses(images, bank, nonlinearity=None, mode=mode)
    assert got.shape == want.shape
    assert per_filter_error(got, want).max() < 1e-10


def test_responses_equal_ndimage_convolve_3d():
    images = random_images((2, 9, 10, 11), seed=3)
    bank = complex_kernel_bank((9, 10, 11))
    for mode in MODES:
        got = filter_responses(images, bank, nonlinearity=None, mode=mode)
        want, lost = convolve_reference(images, bank, mode)
        assert lost < 1e-12
        assert per_filter_error(got, want).max() < 1e-10


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", ["gabor", "morlet", "dog"])
def test_band_limited_responses_close_to_ndimage_convolve(name, mode):
    # Gabor and Morlet kernels have unbounded support, and the DoG's broad
    # surround extends beyond the radius where its magnitude falls under
    # 1e-3 of the peak (spatial_support): the engine pads by that radius, so
    # it drops the kernels' tails. The reference reaches twice as far.
    images = random_images((1, 36, 40), seed=2)
    bank = {"gabor": gabor_bank((36, 40), n_scales=2, n_orientations=2),
            "morlet": morlet_bank((36, 40), n_scales=2, n_orientations=2),
            "dog": dog_bank((36, 40))}[name]
    want, lost = convolve_reference(images, bank, mode, reach=2)
    assert lost < 1e-9
    got = filter_responses(images, bank, nonlinearity=None, mode=mode)
    assert per_filter_error(got, want).max() < 1e-3


@pytest.mark.parametrize("mode", MODES)
def test_images_smaller_than_the_support(mode):
    # Documented result: still computed; the padding reflects (or wraps)
    # repeatedly, exactly as scipy.ndimage extends the image.
    images = random_images((2, 10, 13), seed=4)
    bank = leung_malik_bank((10, 13))  # 49x49 kernels
    assert bank.spatial_support > 13
    want, lost = convolve_reference(images, bank, mode)
    assert lost < 1e-12
    got = filter_responses(images, bank, nonlinearity=None, mode=mode)
    assert np.isfinite(got).all()
    assert per_filter_error(got, want).max() < 1e-10
    pooled = filter_pool(images, bank, mode=mode)
    assert pooled.shape == (2, len(bank), 21) and np.isfinite(pooled).all()


@pytest.mark.parametrize("name", ["gabor", "leung_malik"])
def test_no_wrap_around(name):
    # A bright block at the left edge of a black image: with zero padding,
    # the right half of the responses stays dark (up to the negligible tail of
    # the kernels); a circular convolution ('wrap') carries the block there.
    image = np.zeros((64, 96))
    image[:, :6] = 1.0
    bank = make_bank(name, image.shape)
    assert 6 + bank.spatial_support < 48
    far = (slice(None), slice(None), slice(48, None))
    peak = filter_responses(image, bank, mode="constant").max(axis=(1, 2))
    constant = filter_responses(image, bank, mode="constant")[far].max(axis=(1, 2))
    wrap = filter_responses(image, bank, mode="wrap")[far].max(axis=(1, 2))
    assert (constant <= 1e-3 * peak).all()
    assert (wrap > 0.1 * peak).any()


def test_default_mode_is_reflect():
    images = random_images((2, 30, 31))
    bank = make_bank("gabor", (30, 31))
    assert_array_equal(filter_pool(images, bank), filter_pool(images, bank, mode="reflect"))
    assert not np.allclose(filter_pool(images, bank), filter_pool(images, bank, mode="wrap"))


@pytest.mark.parametrize("dtype, complex_dtype", [(np.float32, np.complex64),
                                                  (np.float64, np.complex128)])
def test_dtypes_follow_the_bank(dtype, complex_dtype):
    bank = make_bank("gabor", (24, 28), dtype)
    for images in (random_images((2, 24, 28)), random_images((2, 24, 28)).astype(np.float32)):
        assert filter_responses(images, bank, nonlinearity=None).dtype == complex_dtype
        assert filter_responses(images, bank).dtype == dtype
        assert filter_pool(images, bank).dtype == dtype


def test_float32_bank_close_to_float64():
    images = random_images((2, 40, 48))
    got = filter_pool(images, make_bank("gabor", (40, 48), np.float32))
    want = filter_pool(images, make_bank("gabor", (40, 48), np.float64))
    assert relative_error(got, want).max() < 1e-5


def test_nonlinearities_of_the_complex_responses():
    images = random_images((2, 30, 34))
    bank = make_bank("gabor", (30, 34))
    y = filter_responses(images, bank, nonlinearity=None)
    assert_allclose(filter_responses(images, bank), np.abs(y), rtol=1e-12)
    assert_allclose(filter_responses(images, bank, nonlinearity="real"), y.real, rtol=1e-12)
    assert_allclose(filter_responses(images, bank, nonlinearity="abs"), np.abs(y.real),
                    rtol=1e-12)
    assert_allclose(filter_responses(images, bank, nonlinearity="square"), np.abs(y) ** 2,
                    rtol=1e-12)
    split = filter_responses(images, bank, nonlinearity="relu_split")
    assert split.shape == (2, 2 * len(bank), 30, 34)
    # Filter i gives maps 2i (+ half-wave) and 2i + 1 (- half-wave).
    assert_allclose(split[:, 0::2], np.maximum(y.real, 0), rtol=1e-12)
    assert_allclose(split[:, 1::2], np.maximum(-y.real, 0), rtol=1e-12)
    pooled = filter_pool(images, bank, nonlinearity="relu_split")
    assert pooled.shape == (2, 2 * len(bank), 21)


def test_threads_and_workers_do_not_change_results():
    images = random_images((3, 64, 64))
    bank = make_bank("gabor", (64, 64))
    want = filter_pool(images, bank, n_threads=1, workers=1)
    for kwargs in (dict(), dict(n_threads=2), dict(workers=2), dict(n_threads=-1, workers=-1)):
        assert_allclose(filter_pool(images, bank, **kwargs), want, rtol=1e-12)


# --------------------------------------------------------------------------
# filter_pool at full resolution equals pooling the plain responses
# --------------------------------------------------------------------------

POOLINGS_2D = (
    Pooling("mean"),                                  # pyramid (1, 2, 4)
    Pooling("max", size=8, stride=4),                 # overlapping windows
    Pooling("std", levels=(1, 3)),
    Pooling("lp", p=3.0, size=(10, 12), padding=(2, 3)),
    Pooling("sum", size=5),
)


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("nonlinearity", NONLINEARITIES)
@pytest.mark.parametrize("name", BANKS_2D)
def test_filter_pool_full_resolution_equals_pooled_responses(name, nonlinearity, dtype):
    images = random_images((3, 40, 46), seed=7)
    bank = make_bank(name, (40, 46), dtype)
    got = filter_pool(images, bank, POOLINGS_2D, nonlinearity=nonlinearity,
                      multiresolution=False)
    want = pooled_responses(images, bank, POOLINGS_2D, nonlinearity)
    factor = 2 if nonlinearity == "relu_split" else 1
    assert got.shape == (3, factor * len(bank), sum(p.n_cells((40, 46)) for p in POOLINGS_2D))
    assert got.dtype == dtype
    assert_features_close(got, want, dtype)


@pytest.mark.parametrize("mode", MODES)
def test_filter_pool_full_resolution_every_mode(mode):
    images = random_images((2, 33, 40), seed=8)
    bank = make_bank("gabor", (33, 40))
    got = filter_pool(images, bank, POOLINGS_2D, mode=mode, multiresolution=False)
    assert_features_close(got, pooled_responses(images, bank, POOLINGS_2D, "modulus",
                                                mode=mode), np.float64)


POOLINGS_3D = (
    Pooling("mean", levels=(1, 2)),
    Pooling("max", size=4, stride=(2, 3, 4)),
    Pooling("var", size=(3, 4, 5)),
)


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("nonlinearity", NONLINEARITIES)
def test_filter_pool_full_resolution_equals_pooled_responses_3d(nonlinearity, dtype):
    volumes = random_images((2, 12, 13, 14), seed=9)
    bank = gabor_bank_3d((12, 13, 14), n_scales=1, n_orientations=4, dtype=dtype)
    got = filter_pool(volumes, bank, POOLINGS_3D, nonlinearity=nonlinearity,
                      multiresolution=False)
    want = pooled_responses(volumes, bank, POOLINGS_3D, nonlinearity)
    assert got.dtype == dtype
    assert_features_close(got, want, dtype)


def test_concatenated_poolings_equal_separate_calls():
    images = random_images((2, 48, 48))
    bank = make_bank("gabor", (48, 48))
    together = filter_pool(images, bank, POOLINGS_2D, multiresolution=False)
    apart = np.concatenate([filter_pool(images, bank, p, multiresolution=False)
                            for p in POOLINGS_2D], axis=-1)
    assert_allclose(together, apart, rtol=1e-12)


def test_default_pooling_is_a_mean_pyramid():
    images = random_images((2, 32, 32))
    bank = make_bank("gabor", (32, 32))
    assert_array_equal(filter_pool(images, bank), filter_pool(images, bank, Pooling()))
    assert_features_close(filter_pool(images, bank, multiresolution=False),
                          pooled_responses(images, bank, [Pooling("mean", levels=(1, 2, 4))],
                                           "modulus"), np.float64)


# --------------------------------------------------------------------------
# Large images: the tiled (overlap-save) path and its memory
# --------------------------------------------------------------------------

@pytest.fixture
def tiled(monkeypatch):
    """Send small images down the path of large ones: tiles of 16 pixels."""
    from featpool import _engine

    monkeypatch.setattr(_engine, "_BANK_FRACTION", 0)
    monkeypatch.setattr(_engine, "_TILE", 16)


@pytest.mark.parametrize("mode", MODES)
def test_tiled_path_equals_pooled_responses(mode, tiled):
    images = random_images((2, 45, 38), seed=15)  # 3 x 3 tiles, partial at the far edges
    bank = leung_malik_bank((45, 38), support=11)  # compact kernels: exact
    for nonlinearity in NONLINEARITIES if mode == "reflect" else ("modulus",):
        got = filter_pool(images, bank, POOLINGS_2D, nonlinearity=nonlinearity, mode=mode)
        want = pooled_responses(images, bank, POOLINGS_2D, nonlinearity, mode=mode)
        assert_features_close(got, want, np.float64)


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_tiled_path_with_band_limited_filters(dtype, tiled):
    # Each tile is padded by the bank's support only, so the kernels' tails
    # beyond it are dropped, as on the whole image (see the ndimage tests).
    images = random_images((2, 50, 41), seed=16)
    bank = make_bank("gabor", (50, 41), dtype)
    got = filter_pool(images, bank, POOLINGS_2D)
    want = pooled_responses(images, bank, POOLINGS_2D, "modulus")
    assert got.dtype == dtype
    assert relative_error(got, want).max() < 1e-3


AVERAGING_2D = tuple(p for p in POOLINGS_2D if p.op not in ("max", "min")) + (
    Pooling("var", size=7, stride=3, padding=2),
)


@pytest.mark.parametrize("mode", ["reflect", "constant"])
@pytest.mark.parametrize("nonlinearity", NONLINEARITIES)
def test_tiled_window_sums_equal_pooled_responses(mode, nonlinearity, tiled):
    # Averaging poolings add up window sums tile by tile (no full-size maps);
    # at full resolution that is exact, cells across tile edges included.
    images = random_images((2, 45, 38), seed=17)
    bank = leung_malik_bank((45, 38), support=11)
    got = filter_pool(images, bank, AVERAGING_2D, nonlinearity=nonlinearity, mode=mode,
                      multiresolution=False)
    want = pooled_responses(images, bank, AVERAGING_2D, nonlinearity, mode=mode)
    assert_features_close(got, want, np.float64)


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_tiled_multiresolution(dtype, monkeypatch):
    # Tiles large enough for coarse grids: within 1e-3 of full resolution.
    from featpool import _engine

    monkeypatch.setattr(_engine, "_BANK_FRACTION", 0)
    monkeypatch.setattr(_engine, "_TILE", 64)
    shape = (150, 131)
    images = natural_images(shape)[-3:]
    bank = gabor_bank(shape, dtype=dtype)
    poolings = (Pooling("mean"), Pooling("std", levels=(1, 3)), Pooling("sum", size=20))
    assert uses_coarse_grids(bank, (64, 64), poolings, mode="constant")  # on the tiles
    fast = filter_pool(images, bank, poolings)
    monkeypatch.setattr(_engine, "_BANK_FRACTION", 2**20)  # whole images, full resolution
    full = filter_pool(images, bank, poolings, multiresolution=False)
    assert fast.dtype == dtype
    assert relative_error(fast, full).max() <= 1e-3


def test_memory_of_a_4096x4096_image():
    # About 10 s: the slowest test, kept because the bound is a promise of the engine.
    bank = gabor_bank((4096, 4096), dtype=np.float32)  # the default bank, float32
    image = np.random.default_rng(0).random((4096, 4096), dtype=np.float32)
    tracemalloc.start()
    try:
        features = filter_pool(image, bank)  # default pyramid of means
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        clear_cache()  # the bank's spectra on the tile grid take 125 MiB
    assert features.shape == (len(bank), 21) and np.isfinite(features).all()
    assert peak < 2**30, f"peak {peak / 2**30:.2f} GiB"


# --------------------------------------------------------------------------
# Multi-resolution: pooled averages within 1e-3 of full resolution
# --------------------------------------------------------------------------

# Every averaging op at 128x128; fewer (they cost seconds) on larger images.
MULTIRES_CASES = [
    ((128, 128), np.float64, 6, (
        Pooling("mean"),
        Pooling("sum"),
        Pooling("lp", p=2.0),
        Pooling("lp", p=1.0, levels=(2,)),
        Pooling("std"),
        Pooling("var"),
        Pooling("mean", size=16),
        Pooling("std", size=32, stride=16),
    )),
    ((256, 256), np.float32, 6, (
        Pooling("mean"),
        Pooling("var"),
        Pooling("lp", p=3.0, levels=(2,)),
        Pooling("sum", size=32),
    )),
    ((384, 512), np.float32, 3, (Pooling("mean"), Pooling("std", levels=(1, 2)))),
]


@pytest.mark.parametrize("shape, dtype, n_images, poolings", MULTIRES_CASES,
                         ids=["128x128", "256x256", "384x512"])
def test_multiresolution_error_on_natural_images(shape, dtype, n_images, poolings):
    images = natural_images(shape)[-n_images:]  # always the random image
    bank = gabor_bank(shape, dtype=dtype)  # the default bank
    fast = filter_pool(images, bank, poolings)
    full = filter_pool(images, bank, poolings, multiresolution=False)
    assert_each_pooling_close(fast, full, poolings, shape)
    # The low-frequency filters of the default bank do run at a coarser grid.
    assert relative_error(fast, full).max() > 1e-7


def test_multiresolution_error_3d():
    volumes = random_images((2, 32, 32, 32), seed=11)
    bank = gabor_bank_3d((32, 32, 32), n_orientations=4)
    poolings = (Pooling("mean", levels=(1, 2)), Pooling("std", levels=(1, 2)))
    fast = filter_pool(volumes, bank, poolings)
    full = filter_pool(volumes, bank, poolings, multiresolution=False)
    assert relative_error(fast, full).max() <= 1e-3


@pytest.mark.parametrize("poolings", [
    Pooling("max"),
    Pooling("min", size=16),
    [Pooling("mean"), Pooling("max", levels=(1,))],  # one max pooling: all at full resolution
], ids=["max", "min", "mean+max"])
def test_max_and_min_never_use_multiresolution(poolings):
    images = natural_images((128, 128))[-2:]
    bank = gabor_bank((128, 128), dtype=np.float32)
    # Float precision, far below the 1e-4 that a coarser grid would give.
    full = filter_pool(images, bank, poolings, multiresolution=False)
    assert_allclose(filter_pool(images, bank, poolings), full, rtol=1e-6,
                    atol=1e-6 * np.abs(full).max())


# --------------------------------------------------------------------------
# Batching, lists of sizes, channels, single images
# --------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_batch_size_does_not_change_results(dtype):
    images = random_images((7, 64, 64), seed=12)
    bank = gabor_bank((64, 64), dtype=dtype)
    want = filter_pool(images, bank, batch_size=None)
    tol = 1e-6 if dtype == np.float32 else 1e-12
    for batch_size in (1, 3, 7, 100):
        got = filter_pool(images, bank, batch_size=batch_size)
        assert_allclose(got, want, rtol=tol, atol=tol * np.abs(want).max())


def test_list_of_sizes_gives_fixed_length_with_a_pyramid():
    sizes = [(32, 32), (40, 52), (33, 47), (64, 30)]
    images = [random_images(size, seed=i) for i, size in enumerate(sizes)]
    bank = make_bank("gabor", (32, 32))
    got = filter_pool(images, bank)
    assert got.shape == (4, len(bank), 21)
    for row, image in zip(got, images):
        assert_allclose(row, filter_pool(image, bank), rtol=1e-12)
    # A list of equal sizes is the same as the stacked array.
    same = [random_images((32, 32), seed=i) for i in range(3)]
    assert_allclose(filter_pool(same, bank), filter_pool(np.stack(same), bank), rtol=1e-12)


def test_list_of_sizes_with_sliding_windows_is_an_error():
    images = [random_images((32, 32)), random_images((40, 48))]
    bank = make_bank("gabor", (32, 32))
    with pytest.raises(ValueError, match="different sizes.*pyramid"):
        filter_pool(images, bank, Pooling("mean", size=8))


@pytest.mark.parametrize("channel_axis", [-1, 1, 3])
def test_channel_axis_keeps_channels_on_their_own_axis(channel_axis):
    rgb = random_images((2, 30, 36, 3), seed=13)
    colour = np.moveaxis(rgb, -1, channel_axis)
    bank = make_bank("gabor", (30, 36))
    got = filter_pool(colour, bank, channel_axis=channel_axis)
    assert got.shape == (2, 3, len(bank), 21)
    for c in range(3):
        assert_allclose(got[:, c], filter_pool(rgb[..., c], bank), rtol=1e-12)
    maps = filter_responses(colour, bank, channel_axis=channel_axis)
    assert maps.shape == (2, 3, len(bank), 30, 36)
    assert_allclose(maps[:, 1], filter_responses(rgb[..., 1], bank), rtol=1e-12)


def test_single_colour_image_with_channel_axis():
    rgb = random_images((30, 36, 3), seed=14)
    bank = make_bank("gabor", (30, 36))
    got = filter_pool(rgb, bank, channel_axis=-1)
    assert got.shape == (3, len(bank), 21)
    assert_allclose(got, filter_pool(rgb[None], bank, channel_axis=-1)[0], rtol=1e-12)


def test_single_image_drops_the_image_axis():
    images = random_images((2, 30, 36))
    bank = make_bank("gabor", (30, 36))
    assert_allclose(filter_pool(images[0], bank), filter_pool(images, bank)[0], rtol=1e-12)
    assert filter_pool(images[0], bank).shape == (len(bank), 21)
    assert filter_responses(images[0], bank).shape == (len(bank), 30, 36)
    volume = random_images((10, 11, 12))
    bank3 = gabor_bank_3d((10, 11, 12), n_scales=1, n_orientations=4)
    assert filter_pool(volume, bank3).shape == (4, 1 + 8 + 64)


# --------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def bank():
    return make_bank("gabor", (32, 32))


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("func", [filter_pool, filter_responses])
def test_non_finite_pixels_are_an_error(func, value, bank):
    images = random_images((2, 32, 32))
    images[1, 5, 7] = value
    with pytest.raises(ValueError, match="NaN or infinite"):
        func(images, bank)


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.int64, bool])
def test_integer_and_boolean_images_are_cast(dtype, bank):
    images = (random_images((2, 32, 32)) * 200).astype(dtype)
    got = filter_pool(images, bank)
    assert got.dtype == np.float64
    assert_allclose(got, filter_pool(images.astype(np.float64), bank), rtol=1e-12)
    bank32 = make_bank("gabor", (32, 32), np.float32)
    assert filter_pool(images, bank32).dtype == np.float32


def test_colour_images_without_channel_axis_are_an_error(bank):
    with pytest.raises(ValueError, match="channel_axis"):
        filter_pool(random_images((2, 32, 32, 3)), bank)


def test_single_colour_image_without_channel_axis_is_an_error(bank):
    with pytest.raises(ValueError, match="channel_axis"):
        filter_pool(random_images((32, 32, 3)), bank)


@pytest.mark.parametrize("shape", [(1, 1), (1, 32), (32, 1), (4, 1, 32)])
@pytest.mark.parametrize("func", [filter_pool, filter_responses])
def test_one_pixel_images_are_an_error(func, shape, bank):
    with pytest.raises(ValueError, match="at least 2 pixels"):
        func(np.ones(shape), bank)


def test_empty_batch(bank):
    assert filter_pool(np.empty((0, 32, 32)), bank).shape == (0, len(bank), 21)
    assert filter_pool(np.empty((0, 32, 32)), bank, nonlinearity="relu_split").shape == (
        0, 2 * len(bank), 21)
    assert filter_pool(np.empty((0, 32, 32, 3)), bank, channel_axis=-1).shape == (
        0, 3, len(bank), 21)
    with pytest.raises(ValueError, match="empty list"):
        filter_pool([], bank)


@pytest.mark.parametrize("nonlinearity", ["modulus", "relu_split", None])
def test_empty_batch_of_responses(nonlinearity, bank):
    n_maps = 2 * len(bank) if nonlinearity == "relu_split" else len(bank)
    got = filter_responses(np.empty((0, 32, 32)), bank, nonlinearity=nonlinearity)
    assert got.shape == (0, n_maps, 32, 32)


@pytest.mark.parametrize("images", [np.array(["a", "b"]), "image", None,
                                    np.ones((2, 8, 8), dtype=complex),
                                    np.array([object()] * 4).reshape(2, 2)],
                         ids=["str-array", "str", "None", "complex", "object"])
@pytest.mark.parametrize("func", [filter_pool, filter_responses])
def test_wrong_image_types_are_a_type_error(func, images, bank):
    with pytest.raises(TypeError, match="'images'"):
        func(images, bank)


@pytest.mark.parametrize("func", [filter_pool, filter_responses])
def test_wrong_bank_is_a_type_error(func):
    with pytest.raises(TypeError, match="'bank'"):
        func(random_images((2, 16, 16)), np.ones((3, 16, 16)))


@pytest.mark.parametrize("pooling", [[], 3, [Pooling(), 3], {"op": "max"}])
def test_wrong_pooling_is_a_type_error(pooling, bank):
    with pytest.raises(TypeError, match="'pooling'"):
        filter_pool(random_images((2, 32, 32)), bank, pooling)


def test_pooling_by_op_name(bank):
    # The estimators' vocabulary works here too: an op name is its pyramid.
    images = random_images((2, 32, 32))
    np.testing.assert_array_equal(filter_pool(images, bank, ["mean", Pooling("max")]),
                                  filter_pool(images, bank, [Pooling("mean"), Pooling("max")]))
    with pytest.raises(ValueError, match="'pooling'"):
        filter_pool(images, bank, "median")


@pytest.mark.parametrize("shape", [(32,), (2, 3, 32, 32), (2, 3, 4, 32, 32)])
def test_wrong_number_of_dimensions(shape, bank):
    with pytest.raises(ValueError, match="shape"):
        filter_pool(np.ones(shape), bank)


@pytest.mark.parametrize("func", [filter_pool, filter_responses])
def test_unknown_mode_and_nonlinearity(func, bank):
    images = random_images((2, 32, 32))
    with pytest.raises(ValueError, match="'mode'"):
        func(images, bank, mode="periodic")
    with pytest.raises(ValueError, match="'nonlinearity'"):
        func(images, bank, nonlinearity="relu")


def test_filter_pool_needs_a_nonlinearity(bank):
    with pytest.raises(ValueError, match="nonlinearity"):
        filter_pool(random_images((2, 32, 32)), bank, nonlinearity=None)


def test_filter_responses_takes_one_size(bank):
    with pytest.raises(ValueError, match="one size"):
        filter_responses([random_images((32, 32)), random_images((30, 32))], bank)


@pytest.mark.parametrize("batch_size", [0, -1])
def test_bad_batch_size_is_an_error(batch_size, bank):
    with pytest.raises(ValueError, match="'batch_size'"):
        filter_pool(random_images((3, 32, 32)), bank, batch_size=batch_size)


# --------------------------------------------------------------------------
# Second layer
# --------------------------------------------------------------------------

@pytest.mark.parametrize("nonlinearity", ["modulus", "relu_split"])
def test_second_layer_equals_filtering_the_modulus_maps_again(nonlinearity):
    images = random_images((3, 24, 20), seed=7)
    bank = gabor_bank((24, 20), n_scales=2, n_orientations=3)
    second = featpool.morlet_bank((24, 20), n_scales=2, n_orientations=2)
    pooling = [Pooling("mean", levels=(1, 2)), Pooling("max", levels=(1,))]
    got = filter_pool(images, bank, pooling, nonlinearity=nonlinearity, second_bank=second)
    maps = featpool.response_maps(bank, nonlinearity, second_bank=second)
    assert got.shape == (3, len(maps), 5 + 1)
    # The plain composition: |x * g1| at full resolution, filtered again.
    first = filter_responses(images, bank, nonlinearity="modulus")
    for k, m in enumerate(maps):
        if m["layer"] == 1:
            continue
        assert second.metadata[m["second_filter"]]["frequency"] < \
            bank.metadata[m["filter"]]["frequency"]
        again = filter_responses(first[:, m["filter"]], second.subset([m["second_filter"]]),
                                 nonlinearity=None)[:, 0]
        part = {"modulus": np.abs, "relu_pos": lambda y: np.maximum(y.real, 0),
                "relu_neg": lambda y: np.maximum(-y.real, 0)}[m["part"]](again)
        want = np.concatenate([p(part) for p in pooling], axis=-1)
        np.testing.assert_allclose(got[:, k], want, rtol=1e-6, atol=1e-9)
    # The first-layer maps are those of the one-layer pipeline.
    n_first = sum(m["layer"] == 1 for m in maps)
    np.testing.assert_allclose(got[:, :n_first],
                               filter_pool(images, bank, pooling, nonlinearity=nonlinearity))


def test_second_bank_of_another_dimension_is_an_error():
    bank = gabor_bank((16, 16), n_scales=1, n_orientations=2)
    with pytest.raises(ValueError, match="'second_bank'"):
        filter_pool(random_images((2, 16, 16)), bank,
                    second_bank=featpool.gabor_bank_3d((8, 8, 8), n_scales=1, n_orientations=3))


def test_cost_estimates_build_no_huge_probe():
    # A bank of many scales on small images: its widest filter is far larger
    # than the image; estimating plan costs once built the bank on a 5760^2
    # probe grid (16 GiB). The probe is now no larger than the grids in play.
    bank = gabor_bank((64, 64), n_scales=8)
    images = random_images((2, 64, 64), seed=3)
    tracemalloc.start()
    try:
        out = filter_pool(images, bank, mode="reflect")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert out.shape == (2, len(bank), 21) and np.isfinite(out).all()
    assert peak < 512 * 2**20, peak / 2**20
