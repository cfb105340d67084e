"""Tests of featpool/transformers.py: the scikit-learn face."""
import pickle
import re

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from featpool import Pooling, pyramid_pool
from featpool.transformers import FilterBankPooling, SpatialPooling


@pytest.fixture(scope="module")
def digits():
    return load_digits(return_X_y=True)


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(0).random((6, 24, 24)).astype(np.float32)


@parametrize_with_checks([FilterBankPooling(), SpatialPooling()])
def test_sklearn_compatible(estimator, check):
    check(estimator)


# ---------------------------------------------------------------- pipelines

def test_pipeline_on_flat_digits(digits):
    X, y = digits
    model = make_pipeline(FilterBankPooling(), StandardScaler(),
                          LogisticRegression(C=0.1, max_iter=1000))
    model.fit(X[:1000], y[:1000])
    assert model.score(X[1000:], y[1000:]) > 0.96    # measured 0.985; raw pixels 0.935
    assert model[0].image_shape_ == (8, 8)


def test_grid_search_over_bank_and_pooling(digits):
    X, y = digits
    model = make_pipeline(FilterBankPooling(), LogisticRegression(max_iter=500))
    grid = {"filterbankpooling__bank": ["gabor", "log"],
            "filterbankpooling__pooling": ["mean", ("mean", "std")],
            "filterbankpooling__levels": [(1, 2)]}
    search = GridSearchCV(model, grid, cv=2).fit(X[:200], y[:200])
    assert len(search.cv_results_["params"]) == 4
    assert search.best_estimator_[0].bank_ is not None


def test_clone_and_pickle(images):
    model = FilterBankPooling(pooling=("mean", "max"), levels=(1, 2), rotation="fourier")
    assert clone(model).get_params() == model.get_params()
    model.fit(images)
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.transform(images), model.transform(images))
    assert not hasattr(clone(model), "bank_")


def test_set_params_then_fit_takes_effect(images):
    model = FilterBankPooling(n_scales=2, n_orientations=4).fit(images)
    assert len(model.bank_) == 8
    width = model.transform(images).shape[1]
    model.set_params(n_orientations=6, levels=(1,)).fit(images)
    assert len(model.bank_) == 12
    assert model.transform(images).shape[1] == 12 != width
    model.set_params(bank="log", n_orientations=None).fit(images)   # 2 scales: sigmas 1, 2
    assert [m["scale"] for m in model.bank_.metadata] == [1.0, 2.0]
    assert {m["kind"] for m in model.bank_.metadata} == {"log"}


def test_pandas_output(images):
    pd = pytest.importorskip("pandas")
    model = FilterBankPooling(levels=(1,)).set_output(transform="pandas")
    frame = model.fit_transform(images)
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == list(model.get_feature_names_out())
    spatial = SpatialPooling(levels=(1,)).set_output(transform="pandas")
    assert list(spatial.fit_transform(images[:, None]).columns) == ["map0_mean_l1_c0"]


# ---------------------------------------------------------------- input forms

def test_flat_rows_equal_images(images):
    flat = images.reshape(len(images), -1)
    by_image = FilterBankPooling().fit(images).transform(images)
    by_row = FilterBankPooling(image_shape=(24, 24)).fit(flat).transform(flat)
    inferred = FilterBankPooling().fit(flat).transform(flat)  # 576 = 24 x 24
    np.testing.assert_array_equal(by_row, by_image)
    np.testing.assert_array_equal(inferred, by_image)
    # fitted on images, flat rows of the same size are read with the fitted shape
    np.testing.assert_array_equal(FilterBankPooling().fit(images).transform(flat), by_image)


def test_channels_are_filtered_one_by_one(images):
    colour = np.stack([images, 1 - images, images**2], axis=-1)   # (n, H, W, 3)
    model = FilterBankPooling(channel_axis=-1, normalization=None).fit(colour)
    features = model.transform(colour)
    grey = FilterBankPooling(normalization=None).fit(images)
    per_channel = np.concatenate([grey.transform(colour[..., c]) for c in range(3)], axis=1)
    np.testing.assert_allclose(features, per_channel, rtol=1e-5)
    names = model.get_feature_names_out()
    assert names[0].startswith("ch0_gabor") and names[-1].startswith("ch2_gabor")
    # channels first, as PyTorch: the same features
    first = FilterBankPooling(channel_axis=1, normalization=None).fit(colour.transpose(0, 3, 1, 2))
    np.testing.assert_allclose(first.transform(colour.transpose(0, 3, 1, 2)), features, rtol=1e-6)
    flat = colour.reshape(len(colour), -1)
    rows = FilterBankPooling(channel_axis=-1, image_shape=(24, 24, 3), normalization=None)
    np.testing.assert_allclose(rows.fit(flat).transform(flat), features, rtol=1e-6)


def test_colour_images_need_channel_axis():
    # (n, H, W, 3) without channel_axis is not silently read as 3-voxel-deep
    # volumes: the error says what to pass, for arrays and for lists.
    x = np.random.default_rng(0).random((3, 6, 7, 3))
    for X in (x, list(x), [x[0], x[1, :5]]):
        with pytest.raises(ValueError, match="channel_axis=-1.*np.moveaxis"):
            FilterBankPooling().fit(X)
    # Volumes 3 voxels deep: their depth axis first.
    volumes = np.moveaxis(x, -1, 1)
    assert FilterBankPooling().fit_transform(volumes).shape[0] == 3
    assert FilterBankPooling(channel_axis=-1).fit_transform(x).shape[0] == 3


@pytest.mark.parametrize("shape", [(5, 16, 3), (5, 12, 4), (3, 3, 7, 3)],
                         ids=["3-wide", "4-wide", "volumes-3-deep"])
def test_narrow_images_are_not_taken_for_colour(shape):
    # 3 or 4 pixels along the last axis, no channel_axis: grey images, as in fit.
    x = np.random.default_rng(0).random(shape)
    model = FilterBankPooling(normalization=None).fit(x)
    features = model.transform(x)
    assert features.shape[0] == shape[0] and np.isfinite(features).all()
    assert_allclose = np.testing.assert_allclose
    assert_allclose(features[1:2], model.transform(x[1:2]), rtol=1e-6)


def test_list_of_images_of_different_sizes():
    rng = np.random.default_rng(1)
    images = [rng.random((30, 40)), rng.random((24, 24)), rng.random((50, 33)),
              rng.random((24, 24))]
    model = FilterBankPooling(levels=(1, 2)).fit(images)
    assert model.image_shape_ is None and model.bank_.shape == (24, 24)
    features = model.transform(images)
    assert features.shape == (4, len(model.get_feature_names_out()))
    # each image alone gives the same vector as in the list
    for image, row in zip(images, features):
        np.testing.assert_allclose(model.transform(image[None]), row[None], rtol=1e-5)


def test_volumes_3d_end_to_end():
    """Volumes of oriented gratings: the 3D bank tells the orientations apart."""
    rng = np.random.default_rng(0)
    grid = np.indices((16, 16, 16)).astype(float)
    volumes, labels = [], []
    for label, direction in enumerate([(1, 0, 0), (0, 1, 1), (1, -1, 1)]):
        u = np.array(direction) / np.linalg.norm(direction)
        for _ in range(8):
            phase = np.tensordot(u, grid, axes=1) * 2 * np.pi * 0.2 + rng.uniform(0, 6.3)
            volumes.append(np.cos(phase) + 0.5 * rng.standard_normal((16, 16, 16)))
            labels.append(label)
    volumes, labels = np.array(volumes), np.array(labels)
    model = FilterBankPooling(n_scales=2, levels=(1,))
    features = model.fit_transform(volumes)
    assert model.bank_.ndim == 3 and features.shape == (24, 26)
    classifier = LogisticRegression(max_iter=1000).fit(features[::2], labels[::2])
    assert classifier.score(features[1::2], labels[1::2]) == 1.0


def test_rotation_invariance_to_quarter_turns(images):
    image = images[:1]
    turned = np.rot90(image, axes=(1, 2))
    invariant = FilterBankPooling(rotation="fourier", levels=(1,)).fit(image)
    np.testing.assert_allclose(invariant.transform(turned), invariant.transform(image),
                               rtol=1e-4, atol=1e-6)
    by_max = FilterBankPooling(rotation="max", levels=(1,)).fit(image)
    np.testing.assert_allclose(by_max.transform(turned), by_max.transform(image),
                               rtol=1e-4, atol=1e-6)
    plain = FilterBankPooling(levels=(1,)).fit(image)
    assert not np.allclose(plain.transform(turned), plain.transform(image), rtol=1e-2)


def test_invariant_feature_names(images):
    model = FilterBankPooling(n_scales=3, n_orientations=4, rotation="fourier",
                              scale_pooling=2, levels=(1,)).fit(images)
    names = model.get_feature_names_out().tolist()
    assert names == [f"gabor_s{s}_h{h}_mean_l1_c0" for s in ("0-1", "1-2") for h in range(3)]
    model.set_params(rotation="max", scale_pooling=None).fit(images)
    assert model.get_feature_names_out()[0] == "gabor_s0_omax_mean_l1_c0"
    assert model.transform(images).shape == (6, 3)


def test_feature_names_describe_filter_op_and_cell(images):
    model = FilterBankPooling(pooling=("mean", "std"), levels=(1, 2)).fit(images)
    names = model.get_feature_names_out()
    assert len(names) == len(set(names)) == model.transform(images).shape[1]
    assert "gabor_s0_o3_mean_l2_c1" in names and "gabor_s1_o5_std_l1_c0" in names
    assert all(re.fullmatch(r"gabor_s\d_o\d_(mean|std)_l[12]_c\d", n) for n in names)
    split = FilterBankPooling(nonlinearity="relu_split", levels=(1,)).fit(images)
    assert split.get_feature_names_out()[:2].tolist() == ["gabor_s0_o0_pos_mean_l1_c0",
                                                          "gabor_s0_o0_neg_mean_l1_c0"]
    window = FilterBankPooling(pooling=Pooling("max", size=8)).fit(images)
    assert window.get_feature_names_out()[0] == "gabor_s0_o0_max_w_c0"
    assert window.transform(images).shape[1] == len(window.bank_) * 9


@pytest.mark.parametrize("bank", ["morlet", "leung_malik", "schmid", "rfs", "log", "dog"])
def test_every_bank(bank, images):
    model = FilterBankPooling(bank=bank, levels=(1, 2)).fit(images)
    features = model.transform(images)
    names = model.get_feature_names_out()
    assert features.shape == (6, len(names)) == (6, 5 * len(model.bank_))
    assert len(set(names)) == len(names) and np.isfinite(features).all()


def test_learned_bank_is_fitted_and_seeded(images):
    params = dict(bank="learned", bank_params={"n_filters": 8, "n_patches": 500},
                  random_state=0, levels=(1,))
    model = FilterBankPooling(**params).fit(images)
    assert len(model.bank_) == 8 and model.filters_.templates.shape == (8, 8, 8)
    again = FilterBankPooling(**params).fit(images)
    np.testing.assert_array_equal(model.transform(images), again.transform(images))
    assert model.get_feature_names_out()[0] == "learned_k0_mean_l1_c0"
    many = np.random.default_rng(2).random((300, 10, 10))   # more images than patches / 20
    assert len(FilterBankPooling(**params).fit(many).bank_) == 8


def test_second_layer_pairs_only_coarser_scales():
    # A second bank built from a frequency range has the first bank's scales
    # an ulp apart: equal scales must not pass for coarser (bandwidth 0.5).
    from featpool import response_maps

    model = FilterBankPooling(second_layer=True, bank_params=dict(bandwidth=0.5))
    model.fit(np.random.default_rng(0).random((2, 64, 64)))
    n_scales = 1 + max(m["scale_index"] for m in model.bank_.metadata)
    n_orientations = len(model.bank_) // n_scales
    second = [m for m in response_maps(model.bank_, second_bank=model.second_bank_)
              if m["layer"] == 2]
    # First-layer scale s pairs with the second bank's scales s + 1 .. n_scales - 1.
    coarser = sum(n_scales - 1 - s for s in range(n_scales))
    assert len(second) == coarser * n_orientations ** 2


def test_second_layer(images):
    model = FilterBankPooling(n_scales=3, n_orientations=4, second_layer=True,
                              levels=(1,)).fit(images)
    features = model.transform(images)
    names = model.get_feature_names_out()
    # 12 first-layer maps; pairs j1 < j2: (0,1), (0,2), (1,2), 4 x 4 orientations each
    assert features.shape == (6, 12 + 3 * 16) == (6, len(names))
    assert "gabor_s0_o1__morlet_s2_d3_mean_l1_c0" in names
    first = FilterBankPooling(n_scales=3, n_orientations=4, levels=(1,),
                              normalization=None).fit(images).transform(images)
    unnormalized = model.set_params(normalization=None).transform(images)
    np.testing.assert_allclose(unnormalized[:, :12], first, rtol=1e-6)
    invariant = model.set_params(rotation="fourier").fit(images)
    turned = np.rot90(images, axes=(1, 2))
    np.testing.assert_allclose(invariant.transform(turned), invariant.transform(images),
                               rtol=1e-3, atol=1e-6)


def test_dtype_and_normalization(images):
    model = FilterBankPooling(dtype=np.float64, normalization="l2").fit(images)
    features = model.transform(images)
    assert features.dtype == np.float64 and model.bank_.dtype == np.float64
    np.testing.assert_allclose(np.linalg.norm(features, axis=1), 1)
    power = FilterBankPooling(normalization="power").fit(images).transform(images)
    raw = FilterBankPooling(normalization=None).fit(images).transform(images)
    expected = np.sqrt(raw) / np.linalg.norm(np.sqrt(raw), axis=1, keepdims=True)
    np.testing.assert_allclose(power, expected, rtol=1e-5)


def test_result_equal_in_diff_n_threads(images):
    one = FilterBankPooling(n_threads=1).fit(images).transform(images)
    two = FilterBankPooling(n_threads=2, batch_size=2).fit(images).transform(images)
    np.testing.assert_array_equal(one, two)


# ---------------------------------------------------------------- bad input

def test_transform_before_fit(images):
    with pytest.raises(NotFittedError):
        FilterBankPooling().transform(images)
    with pytest.raises(NotFittedError):
        SpatialPooling().transform(images)


def test_empty_batch(images):
    model = FilterBankPooling().fit(images)
    out = model.transform(images[:0])
    assert out.shape == (0, len(model.get_feature_names_out())) and out.dtype == np.float32
    with pytest.raises(ValueError, match="0 sample"):
        FilterBankPooling().fit(images[:0])


def test_shape_must_match_when_needed(images):
    window = FilterBankPooling(pooling=Pooling("mean", size=8)).fit(images)
    with pytest.raises(ValueError, match="sliding-window pooling needs that shape"):
        window.transform(np.zeros((2, 32, 32)))
    flat = FilterBankPooling().fit(images.reshape(6, -1))
    with pytest.raises(ValueError, match="X has 100 features, but FilterBankPooling is "
                                         "expecting 576 features"):
        flat.transform(np.zeros((2, 100)))
    # a pyramid takes any size
    assert FilterBankPooling().fit(images).transform(np.zeros((2, 40, 31))).shape[0] == 2
    with pytest.raises(ValueError, match="image_shape"):
        FilterBankPooling(image_shape=(10, 10)).fit(np.zeros((2, 99)))
    with pytest.raises(ValueError, match="fitted on samples of shape"):
        FilterBankPooling().fit(images).transform(np.zeros((2, 8, 24, 24)))


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_non_finite_pixels(images, value):
    bad = images.copy()
    bad[0, 3, 3] = value
    with pytest.raises(ValueError, match="NaN|infinity"):
        FilterBankPooling().fit(bad)
    model = FilterBankPooling().fit(images)
    with pytest.raises(ValueError, match="NaN|infinity"):
        model.transform(bad)
    with pytest.raises(ValueError, match="NaN or infinite"):
        model.transform([bad[0], images[1, :20]])


def test_one_pixel_images_are_constant():
    """Documented: an axis of length 1 is read as constant along it."""
    model = FilterBankPooling(normalization=None).fit(np.full((3, 1, 1), 2.0))
    features = model.transform(np.full((2, 1, 1), 2.0))
    constant = model.transform(np.full((2, 2, 2), 2.0))
    np.testing.assert_allclose(features, constant)
    row = FilterBankPooling().fit(np.random.default_rng(0).random((3, 7)))  # 7 is not a square
    assert row.image_shape_ == (1, 7)


@pytest.mark.parametrize("shape, match", [
    ((5,), "Expected 2D array"),
    ((2, 3, 4, 5, 6), "2D images or 3D volumes"),
])
def test_wrong_number_of_dimensions(shape, match):
    with pytest.raises(ValueError, match=match):
        FilterBankPooling().fit(np.zeros(shape))


def test_bad_parameters(images):
    with pytest.raises(ValueError, match=r"'bank_params' .* does not take: \['sigma'\]"):
        FilterBankPooling(bank_params={"sigma": 2}).fit(images)
    with pytest.raises(ValueError, match="'n_orientations' parameter .* must be None"):
        FilterBankPooling(bank="leung_malik", n_orientations=4).fit(images)
    with pytest.raises(ValueError, match="second_layer=True needs bank='gabor' or 'morlet'"):
        FilterBankPooling(bank="log", second_layer=True).fit(images)
    with pytest.raises(ValueError, match="'levels' parameter"):
        FilterBankPooling(levels=(0, 2)).fit(images)
    with pytest.raises(ValueError, match="'pooling' parameter"):
        FilterBankPooling(pooling=("mean", "median")).fit(images)
    with pytest.raises(ValueError, match="2D bank"):
        FilterBankPooling(bank="schmid").fit(np.zeros((2, 8, 8, 8)))
    with pytest.raises(ValueError, match="rotation='max' for volumes"):
        FilterBankPooling(rotation="fourier").fit(np.zeros((2, 8, 8, 8)))
    with pytest.raises(ValueError, match="'channel_axis' parameter"):
        FilterBankPooling(channel_axis=4).fit(np.zeros((2, 8, 8, 3)))


# ---------------------------------------------------------------- SpatialPooling

def test_spatial_pooling_matches_pyramid_pool():
    maps = np.random.default_rng(0).random((4, 5, 9, 11))
    model = SpatialPooling(pooling=("max", "mean"), levels=(1, 3), dtype=np.float64)
    expected = np.concatenate([pyramid_pool(maps, (1, 3), op="max"),
                               pyramid_pool(maps, (1, 3), op="mean")], axis=-1)
    np.testing.assert_allclose(model.fit_transform(maps), expected.reshape(4, -1))
    names = model.get_feature_names_out()
    assert names[0] == "map0_max_l1_c0" and names[-1] == "map4_mean_l3_c8"


def test_spatial_pooling_layouts():
    rng = np.random.default_rng(0)
    maps = rng.random((3, 4, 6, 6))                      # (n, C, H, W)
    reference = SpatialPooling().fit_transform(maps)
    last = SpatialPooling(channel_axis=-1).fit_transform(maps.transpose(0, 2, 3, 1))
    flat = SpatialPooling(map_shape=(4, 6, 6)).fit_transform(maps.reshape(3, -1))
    np.testing.assert_allclose(last, reference)
    np.testing.assert_allclose(flat, reference)
    volumes = SpatialPooling(spatial_ndim=3, levels=(1, 2)).fit_transform(
        rng.random((2, 3, 4, 4, 4)))
    assert volumes.shape == (2, 3 * 9)
    ragged = SpatialPooling().fit([rng.random((4, 6, 6)), rng.random((4, 9, 7))])
    assert ragged.transform([rng.random((4, 5, 5))]).shape == (1, 4 * 21)
    with pytest.raises(ValueError, match="fitted on 4 map"):
        SpatialPooling().fit(maps).transform(rng.random((3, 2, 6, 6)))


def test_transform_in_bounded_chunks(images, monkeypatch):
    import featpool
    from featpool import _engine
    monkeypatch.setattr(_engine, "_BANK_FRACTION", 2**20)  # no tiles: the same arithmetic
    model = FilterBankPooling(levels=(1, 2)).fit(images)
    whole = model.transform(images)
    ragged = [images[0], images[1, :20], images[2], images[3, :, :17]]
    ragged_whole = model.transform(ragged)
    # A quarter of the working memory holds two images at a time.
    with featpool.config_context(working_memory=4 * (4 * 24 * 24 * 2) / 2**20):
        np.testing.assert_array_equal(model.transform(images), whole)
        np.testing.assert_array_equal(model.transform(ragged), ragged_whole)
