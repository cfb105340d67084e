"""Tests for featpool/samples.py: every face reads user input through read_samples."""
import pathlib

import numpy as np
import pytest

from featpool import FilterBankPooling, SpatialPooling, extract_features
from featpool.samples import map_by_shape, read_samples

rng = np.random.default_rng(0)


def test_arrays_rows_and_channels():
    samples, shape = read_samples(rng.random((4, 10, 12)))
    assert samples.shape == (4, 1, 10, 12) and shape == (10, 12)
    samples, shape = read_samples(rng.random((4, 49)))
    assert samples.shape == (4, 1, 7, 7) and shape == (7, 7)
    samples, shape = read_samples(rng.random((4, 10)))
    assert samples.shape == (4, 1, 1, 10)
    samples, _ = read_samples(rng.random((4, 6 * 8 * 3)), channel_axis=-1,
                              image_shape=(6, 8, 3))
    assert samples.shape == (4, 3, 6, 8)
    samples, _ = read_samples(rng.random((2, 3, 9, 9)), channel_axis=1)
    assert samples.shape == (2, 3, 9, 9)


def test_pil_images_are_read():
    Image = pytest.importorskip("PIL.Image")
    grey = Image.fromarray((rng.random((20, 30)) * 255).astype(np.uint8))
    colour = Image.fromarray((rng.random((20, 30, 3)) * 255).astype(np.uint8))
    samples, _ = read_samples([grey, grey.resize((40, 10))])
    assert [s.shape for s in samples] == [(1, 20, 30), (1, 10, 40)]
    samples, _ = read_samples([colour, colour], channel_axis=-1)
    assert samples.shape == (2, 3, 20, 30)


@pytest.mark.parametrize("bad, index", [
    ([np.zeros((8, 8)), None], 1),
    (["image.png", np.zeros((8, 8))], 0),
    ([np.zeros((8, 8)), pathlib.Path("a.png")], 1),
])
def test_none_or_paths_name_the_item(bad, index):
    with pytest.raises(TypeError, match=rf"X\[{index}\].*image array"):
        read_samples(bad)
    with pytest.raises(TypeError, match=rf"X\[{index}\]"):
        FilterBankPooling().fit(bad)
    with pytest.raises(TypeError, match=rf"X\[{index}\]"):
        extract_features(bad)


@pytest.mark.parametrize("bad", [
    np.zeros((2, 8, 8), dtype=complex), np.array([["a", "b"]]), np.zeros((2, 8, 8), dtype=object),
])
def test_wrong_kinds_are_type_errors(bad):
    with pytest.raises(TypeError, match="real numbers"):
        read_samples(bad)


def test_wrong_values_are_value_errors():
    with pytest.raises(ValueError, match="NaN"):
        read_samples(np.full((2, 8, 8), np.nan))
    with pytest.raises(ValueError, match=r"X\[1\] contains NaN"):
        read_samples([np.zeros((8, 8)), np.full((9, 9), np.inf)])
    with pytest.raises(ValueError, match="features"):
        read_samples(np.zeros((2, 10)), image_shape=(3, 3))
    with pytest.raises(ValueError, match="empty list"):
        read_samples([])
    with pytest.raises(ValueError, match="spatial axes"):
        read_samples(np.zeros((2, 4, 5, 6, 7)))
    with pytest.raises(ValueError, match="masked"):
        read_samples(np.ma.masked_array(np.zeros((2, 8, 8)), mask=np.eye(8, dtype=bool)[None]
                                        .repeat(2, 0)))
    with pytest.raises(TypeError, match="'image_shape'"):
        read_samples(np.zeros((2, 64)), image_shape=8)
    with pytest.raises(TypeError, match="'channel_axis'"):
        read_samples(np.zeros((2, 8, 8)), channel_axis=1.0)


@pytest.mark.parametrize("X", [
    rng.random((2, 32, 32, 3)),
    [rng.random((32, 32, 3)), rng.random((40, 30, 3))],
    [rng.random((32, 32, 4)), rng.random((32, 32, 4))],
])
def test_colour_without_channel_axis_says_what_to_pass(X):
    with pytest.raises(ValueError, match=r"channel_axis=-1.*rgb2gray"):
        read_samples(X)
    with pytest.raises(ValueError, match="channel_axis=-1"):
        FilterBankPooling().fit(X)


def test_row_i_belongs_to_item_i():
    # A 3D item given to a 2D bank is an error naming it, never unrolled into rows.
    images = [rng.random((16, 16)), rng.random((20, 18))]
    model = FilterBankPooling(levels=(1,)).fit(images)
    with pytest.raises(ValueError, match="different numbers of axes"):
        model.transform([rng.random((16, 16)), rng.random((5, 16, 16))])
    features = model.transform(images + images[:1])
    assert features.shape[0] == 3
    np.testing.assert_array_equal(features[2], features[0])
    single = [model.transform([x])[0] for x in images]
    np.testing.assert_allclose(features[:2], single, rtol=1e-6)


def test_spatial_pooling_reads_alike():
    with pytest.raises(TypeError, match=r"X\[0\]"):
        SpatialPooling().fit([None, np.zeros((3, 4, 4))])


def test_map_by_shape_keeps_order():
    samples = [np.full((1, 4, 4), i, dtype=float) for i in range(5)]
    samples[2] = np.full((1, 6, 6), 2.0)
    out = map_by_shape(samples, 1, np.float64, lambda b: b[:, 0, 0, :1])
    np.testing.assert_array_equal(out.ravel(), np.arange(5.0))
