"""Tests for featpool/regions.py and its kernel featpool/_regions.pyx."""
import numpy as np
import pytest
from scipy import ndimage

from featpool import config_context, filter_responses
from featpool.pipeline import build_banks
from featpool.regions import region_features, region_geometry, region_pool

from _reference import OPS, reference_region_pool

SHAPES = {2: (13, 11), 3: (5, 6, 7)}


def _labels(nd, dtype, seed=0):
    """Labels 1, 5 and 900 (others absent), one touching every border, a one-pixel one."""
    rng = np.random.default_rng(seed)
    shape = SHAPES[nd]
    labels = rng.choice(np.array([0, 1, 5], dtype=dtype), size=shape, p=[0.3, 0.4, 0.3])
    labels[(0,) * nd] = 0
    labels[(slice(None),) * (nd - 1) + (-1,)] = 5          # the last column: a border
    labels[(2,) * nd] = 0 if dtype == np.uint8 else 900     # one pixel
    if dtype == np.uint8:
        labels[(2,) * nd] = 200
    return labels


def _assert_close(actual, expected, dtype):
    rtol = 2e-6 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol)


@pytest.mark.parametrize("nd", [2, 3])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("label_dtype, levels", [(np.uint8, (1,)), (np.uint16, (1, 2)),
                                                 (np.int32, (2, 1, 3)), (np.int64, (1,))])
def test_region_pool_matches_reference(nd, dtype, label_dtype, levels):
    rng = np.random.default_rng(nd)
    x = (rng.standard_normal((2,) + SHAPES[nd]) * 3).astype(dtype)
    labels = _labels(nd, label_dtype)
    pooled = region_pool(x, labels, op=OPS, ndim=nd, p=3.0, levels=levels)
    present = np.unique(labels)[1:]
    np.testing.assert_array_equal(pooled["label"], present)
    for op in OPS:
        assert pooled[op].dtype == dtype
        _, expected = reference_region_pool(x, labels, op, nd, p=3.0, levels=levels)
        _assert_close(pooled[op], expected, dtype)


@pytest.mark.parametrize("nd", [2, 3])
def test_region_pool_matches_labeled_comprehension(nd):
    rng = np.random.default_rng(3)
    x = rng.random(SHAPES[nd])
    labels = _labels(nd, np.int32)
    index = np.unique(labels)[1:]
    pooled = region_pool(x, labels, op=("mean", "max", "min", "std", "sum", "var"), ndim=nd)
    for op, func in [("mean", np.mean), ("max", np.max), ("min", np.min), ("std", np.std),
                     ("sum", np.sum), ("var", np.var)]:
        expected = ndimage.labeled_comprehension(x, labels, index, func, float, np.nan)
        np.testing.assert_allclose(pooled[op][:, 0], expected, rtol=1e-12)


@pytest.mark.parametrize("policy", ["propagate", "omit"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_nan_inside_a_region(policy, dtype):
    x = np.arange(30, dtype=dtype).reshape(5, 6)
    labels = np.zeros((5, 6), dtype=np.int32)
    labels[:2], labels[3:, :3], labels[4, 5] = 1, 2, 3
    x[0, 1] = np.nan
    x[4, 5] = np.nan  # label 3 is all NaN
    pooled = region_pool(x, labels, op=OPS, nan_policy=policy, levels=(1, 2))
    for op in OPS:
        _, expected = reference_region_pool(x, labels, op, 2, nan_policy=policy, levels=(1, 2))
        _assert_close(pooled[op], expected, dtype)
        assert np.isnan(pooled[op][2]).all()
        assert np.isnan(pooled[op][0, 0]) == (policy == "propagate")


def test_variance_keeps_precision_far_from_zero():
    rng = np.random.default_rng(0)
    x = 1e8 + rng.standard_normal((40, 40))
    labels = rng.integers(1, 4, (40, 40))
    pooled = region_pool(x, labels, op=("std", "mean"), levels=(1, 2))
    for op in ("std", "mean"):
        _, expected = reference_region_pool(x, labels, op, 2, levels=(1, 2))
        np.testing.assert_allclose(pooled[op], expected, rtol=1e-9)


@pytest.mark.parametrize("blocks", [True, False])
@pytest.mark.parametrize("levels", [(1,), (1, 3)])
def test_result_equal_in_diff_n_threads(blocks, levels):
    # Large enough to run threaded; blocky labels take the kernel's list of
    # runs, speckled ones its pixel-by-pixel path.
    rng = np.random.default_rng(1)
    x = rng.random((8, 100, 101)).astype(np.float32)
    labels = (np.kron(rng.integers(0, 30, (10, 11)), np.ones((10, 10), int))[:, :101]
              if blocks else rng.integers(0, 20, (100, 101)))
    one = region_pool(x, labels, op=OPS, levels=levels, n_threads=1)
    many = region_pool(x, labels, op=OPS, levels=levels, n_threads=3)
    for op in OPS:
        np.testing.assert_array_equal(one[op], many[op])
    _, expected = reference_region_pool(x[:2], labels, "std", 2, levels=levels)
    _assert_close(one["std"][:2], expected, np.float32)


def test_empty_cells_and_label_images():
    # A diagonal object leaves the off-diagonal cells of its 2x2 pyramid empty.
    labels = np.eye(4, dtype=int)
    pooled = region_pool(np.ones((4, 4)), labels, op="mean", levels=(2,))
    np.testing.assert_array_equal(pooled["mean"][0], [1, np.nan, np.nan, 1])
    empty = region_pool(np.ones((2, 4, 4)), np.zeros((4, 4), int), op="max")
    assert empty["label"].shape == (0,) and empty["max"].shape == (2, 0, 1)


def test_bool_mask_is_label_one():
    x = np.arange(12.0).reshape(3, 4)
    mask = x % 2 == 0
    pooled = region_pool(x, mask, op="mean")
    assert pooled["label"].tolist() == [1]
    assert pooled["mean"][0, 0] == x[mask].mean()


def test_large_sparse_labels_use_sort():
    labels = np.zeros((4, 5), dtype=np.int64)
    labels[0, 0], labels[3, 4] = 2**31 - 1, 7
    pooled = region_pool(np.arange(20.0).reshape(4, 5), labels, op="max")
    assert pooled["label"].tolist() == [7, 2**31 - 1]
    assert pooled["max"][:, 0].tolist() == [19.0, 0.0]


@pytest.mark.parametrize("labels, error, match", [
    (np.zeros((4, 4)), TypeError, "integer label image .* Got an array of dtype float64"),
    (-np.ones((4, 4), int), ValueError, "labels >= 0 .* Got -1"),
    (np.zeros((4, 5), int), ValueError, r"shape \(4, 4\). Got shape \(4, 5\)"),
    (np.full((4, 4), 2**31, np.int64), ValueError, "below 2\\*\\*31. Got 2147483648"),
    (np.ma.zeros((4, 4), int), TypeError, "not a masked array"),
])
def test_bad_label_images(labels, error, match):
    with pytest.raises(error, match=f"The 'labels' parameter of region_pool must .*{match}"):
        region_pool(np.zeros((4, 4)), labels)


def test_bad_arguments():
    labels = np.ones((4, 4), int)
    with pytest.raises(ValueError, match="'op' parameter must be one of"):
        region_pool(np.zeros((4, 4)), labels, op="median")
    with pytest.raises(ValueError, match="'nan_policy' parameter"):
        region_pool(np.zeros((4, 4)), labels, nan_policy="raise")
    with pytest.raises(TypeError, match="'x' parameter of region_pool must hold real"):
        region_pool(np.zeros((4, 4), complex), labels)
    with pytest.raises(ValueError, match="'ndim' parameter of region_pool must be 2 or 3"):
        region_pool(np.zeros((4, 4)), labels, ndim=1)


@pytest.mark.parametrize("nd", [2, 3])
def test_geometry_matches_regionprops_table(nd):
    measure = pytest.importorskip("skimage.measure")
    labels = _labels(nd, np.uint16)
    ours = region_geometry(labels)
    theirs = measure.regionprops_table(labels, properties=("label", "area", "bbox",
                                                           "centroid"))
    assert list(ours) == list(theirs)
    for name in theirs:
        np.testing.assert_allclose(ours[name], theirs[name], err_msg=name)


# --------------------------------------------------------------------------
# region_features: the pipeline per object
# --------------------------------------------------------------------------

def _objects(shape, seed=0):
    """A label image with objects 1, 2 (touching a border) and 9 (one pixel)."""
    labels = np.zeros(shape, dtype=np.int32)
    labels[(slice(2, 9),) * len(shape)] = 1
    labels[(slice(10, None),) + (slice(0, 5),) * (len(shape) - 1)] = 2
    labels[(9,) * len(shape)] = 9
    return labels


@pytest.mark.parametrize("nd, shape, params", [
    (2, (24, 21), dict(pooling=("mean", "max", "std"), levels=(1, 2))),
    (2, (20, 22), dict(pooling=("lp", "min"), levels=(1,), nonlinearity="relu_split",
                       bank="morlet", n_scales=2, mode="wrap", dtype=np.float64)),
    (3, (14, 13, 12), dict(pooling=("mean", "var"), levels=(1, 2), n_scales=1)),
])
def test_region_features_match_full_maps_and_reference(nd, shape, params):
    rng = np.random.default_rng(nd)
    image = rng.random(shape)
    labels = _objects(shape)
    table = region_features(image, labels, normalization=None, **params)
    p = dict(params)
    bank, _, _ = build_banks(shape, bank=p.get("bank", "gabor"), n_scales=p.get("n_scales"),
                             dtype=p.get("dtype", np.float32))
    maps = filter_responses(image, bank, p.get("nonlinearity", "modulus"),
                            p.get("mode", "reflect"))
    assert table["label"].tolist() == [1, 2, 9]
    for op in p["pooling"]:
        _, expected = reference_region_pool(maps, labels, op, nd, levels=p["levels"])
        cells = sum(g ** nd for g in p["levels"])
        names = [n for n in table if f"_{op}_l" in n or f"_{op}2_l" in n]
        assert len(names) == len(maps) * cells
        got = np.stack([table[n] for n in names], axis=-1).reshape(3, len(maps), cells)
        np.testing.assert_allclose(got, expected.transpose(1, 0, 2), rtol=2e-4, atol=1e-6)



def test_region_features_tiles_equal_whole_image():
    # A working memory too small for the bank's spectra: tiles, same features
    # (up to the filters' tails beyond their support, which tiles cut off).
    rng = np.random.default_rng(0)
    image, labels = rng.random((70, 66)), _objects((70, 66))
    labels[30:, 40:] = 3
    params = dict(pooling=("mean", "max"), levels=(1, 2), n_scales=2, normalization=None)
    whole = region_features(image, labels, **params)
    with config_context(working_memory=0.5):
        tiled = region_features(image, labels, **params)
    for name in whole:
        np.testing.assert_allclose(tiled[name], whole[name], rtol=1e-3, atol=1e-5,
                                   err_msg=name)


@pytest.mark.parametrize("mode", ["reflect", "mirror", "wrap", "constant", "nearest"])
def test_volume_tiles_cut_with_the_border_mode(mode):
    # Tiles are cut from the volume with the border mode (no padded copy of
    # it): the same features as on the whole volume, in every mode.
    rng = np.random.default_rng(1)
    image, labels = rng.random((22, 19, 17)), _objects((22, 19, 17))
    params = dict(pooling=("mean", "max"), n_scales=1, normalization=None, mode=mode)
    whole = region_features(image, labels, **params)
    with config_context(working_memory=0.25):
        tiled = region_features(image, labels, **params)
    for name in whole:
        np.testing.assert_allclose(tiled[name], whole[name], rtol=2e-4, atol=1e-5,
                                   err_msg=name)


def test_peak_memory_within_the_working_memory_and_output():
    import tracemalloc
    from featpool import clear_cache

    rng = np.random.default_rng(2)
    image = rng.random((64, 64, 64), dtype=np.float32)
    labels = rng.integers(1, 40, (8, 8, 8)).repeat(8, 0).repeat(8, 1).repeat(8, 2)
    with config_context(working_memory=8):
        clear_cache()
        tracemalloc.start()
        try:
            table = region_features(image, labels, n_scales=2)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    output = sum(column.nbytes for column in table.values())
    assert peak <= 8 * 2**20 + output + 2**19, (peak / 2**20, output / 2**20)


def test_whole_image_label_is_global_pooling():
    from featpool import extract_features

    image = np.random.default_rng(1).random((32, 32))
    params = dict(pooling=("mean", "max"), levels=(1,), mode="reflect", dtype=np.float64)
    table = region_features(image, np.ones((32, 32), bool), **params)
    features, names = extract_features(image[None], return_names=True, **params)
    assert list(table)[8:] == names.tolist()
    np.testing.assert_allclose(np.stack(list(table.values())[8:], axis=1), features,
                               rtol=1e-5)


def test_masks_and_masked_images():
    rng = np.random.default_rng(2)
    image = rng.random((3, 30, 28))
    mask = np.zeros((30, 28), bool)
    mask[4:20, 3:15] = True
    labels = mask.astype(np.uint16) * 4
    params = dict(channel_axis=0, n_scales=2, levels=(1, 2), pooling=("mean", "std"))
    from_mask = region_features(image, mask, **params)
    from_labels = region_features(image, labels, **params)
    masked = np.ma.masked_array(image, mask=np.broadcast_to(~mask, image.shape))
    from_masked = region_features(masked, **params)
    assert from_mask["label"].tolist() == [1] and from_labels["label"].tolist() == [4]
    assert [n for n in from_mask if n.startswith("ch")][0] == "ch0_gabor_s0_o0_mean_l1_c0"
    for name in list(from_mask)[1:]:
        np.testing.assert_array_equal(from_mask[name], from_labels[name])
        np.testing.assert_array_equal(from_mask[name], from_masked[name])


def test_region_features_table_and_empty_image():
    pd = pytest.importorskip("pandas")
    image = np.random.default_rng(3).random((16, 16, 12))
    table = pd.DataFrame(region_features(image, _objects((16, 16, 12)), n_scales=1))
    assert list(table.columns[:11]) == ["label", "area"] + [f"bbox-{i}" for i in range(6)] + [
        f"centroid-{i}" for i in range(3)]
    assert table["label"].tolist() == [1, 2, 9] and table["area"].tolist()[::2] == [343, 1]
    empty = region_features(image, np.zeros((16, 16, 12), int), n_scales=1)
    assert len(empty) == len(table.columns) and all(len(v) == 0 for v in empty.values())


def test_region_features_errors():
    image = np.zeros((16, 16))
    with pytest.raises(TypeError, match="'labels' parameter of region_features must be an "
                                        "integer label image"):
        region_features(image, np.zeros((16, 16)))
    with pytest.raises(ValueError, match=r"spatial shape \(16, 16\). Got shape \(16, 15\)"):
        region_features(image, np.zeros((16, 15), int))
    with pytest.raises(ValueError, match="needs a label image or mask"):
        region_features(image)
    with pytest.raises(ValueError, match="sliding window has no meaning"):
        from featpool import Pooling
        region_features(image, np.ones((16, 16), int), pooling=Pooling("mean", size=4))
    with pytest.raises(ValueError, match="second layer"):
        region_features(image, np.ones((16, 16), int), second_layer=True)
    with pytest.raises(TypeError, match="unknown parameters \\['level'\\]"):
        region_features(image, np.ones((16, 16), int), level=(1,))
    with pytest.raises(ValueError, match="colour"):
        region_features(np.zeros((16, 16, 3)), np.ones((16, 16), int))


# --------------------------------------------------------------------------
# FilterBankPooling with masked arrays
# --------------------------------------------------------------------------

def _masked_digits(n=60):
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    images = X[:n].reshape(n, 8, 8)
    mask = np.zeros_like(images, dtype=bool)
    mask[:, :, :2] = True          # the two left columns are masked out
    mask[1::3, 5:] = True          # and the bottom of every third digit
    return np.ma.masked_array(images, mask=mask), y[:n]


def test_filter_bank_pooling_masked_array_is_region_features():
    from featpool import FilterBankPooling

    X, _ = _masked_digits(6)
    model = FilterBankPooling(levels=(1, 2), pooling=("mean", "max"), mode="reflect")
    features = model.fit(X).transform(X)
    assert features.shape == (6, len(model.get_feature_names_out()))
    for i in range(6):
        table = region_features(X[i], levels=(1, 2), pooling=("mean", "max"),
                                mode="reflect", bank_params=None)
        expected = np.array([table[n][0] for n in model.get_feature_names_out()])
        np.testing.assert_allclose(features[i], expected, rtol=1e-5, atol=1e-7)
    unmasked = model.transform(X.data)
    assert not np.allclose(unmasked, features)
    X.mask[0] = True  # nothing left of the first sample
    assert np.isnan(model.transform(X[:2])[0]).all()


def _still_masked(X):
    assert isinstance(X, np.ma.MaskedArray) and X.mask.any()
    return X


def test_masked_arrays_in_pipeline_and_grid_search():
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GridSearchCV
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    from featpool import FilterBankPooling

    X, y = _masked_digits(120)
    pipe = make_pipeline(FunctionTransformer(_still_masked), FilterBankPooling(levels=(1, 2)),
                         LogisticRegression(max_iter=300))
    search = GridSearchCV(pipe, {"filterbankpooling__pooling": ["mean", "max"]}, cv=2)
    search.fit(X, y)
    assert search.best_score_ > 0.2  # chance: 0.1; 60 training digits per fold
    features = search.best_estimator_[:-1].transform(X)
    model = FilterBankPooling(levels=(1, 2), pooling=search.best_params_[
        "filterbankpooling__pooling"])
    np.testing.assert_array_equal(features, model.fit(X).transform(X))
    assert not np.allclose(features, model.transform(X.data))
    with pytest.raises(ValueError, match="sliding window has no meaning"):
        from featpool import Pooling
        FilterBankPooling(pooling=Pooling("mean", size=2)).fit(X).transform(X)


@pytest.mark.parametrize("policy", ["propagate", "omit"])
def test_infinities_and_nan_in_long_runs(policy):
    # Runs long enough for the kernel's unrolled loops, with inf, -inf and NaN,
    # in several maps (the kernel's list of runs) and in one (its scan).
    x = np.tile(np.arange(40.0), (3, 4, 1)) * np.array([1.0, -2.0, 0.5])[:, None, None]
    labels = np.ones((4, 40), dtype=np.uint8)
    labels[2:] = 2
    labels[3] = 3
    x[:, 0, 7], x[:, 0, 30] = np.inf, -np.inf    # label 1: both infinities, no NaN
    x[:, 2, 11] = np.nan                         # label 2: a NaN
    for maps in (x, x[:1]):
        pooled = region_pool(maps, labels, op=OPS, nan_policy=policy)
        for op in OPS:
            with np.errstate(invalid="ignore"):  # inf - inf in the reference's sums
                _, expected = reference_region_pool(maps, labels, op, 2, nan_policy=policy)
            np.testing.assert_allclose(pooled[op], expected, rtol=1e-12, err_msg=op)
        assert pooled["max"][0, 0, 0] == np.inf and pooled["min"][0, 0, 0] == -np.inf
