"""featpool.plotting: what is drawn (Agg backend), named errors, the missing-extra message."""
import sys

import numpy as np
import pytest

import featpool
from featpool import plotting
from featpool.pipeline import extract_features

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _drawn(ax):
    return np.asarray(ax.images[-1].get_array())


# --------------------------------------------------------------------------
# The extra is optional
# --------------------------------------------------------------------------

def test_missing_matplotlib_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    bank = featpool.log_bank((16, 16), sigmas=[1.0])
    with pytest.raises(ImportError, match=r'pip install "featpool\[plot\]"'):
        plotting.plot_bank(bank)
    with pytest.raises(ImportError, match=r"featpool\[plot\]"):
        plotting.plot_pooled(np.ones((2, 2)))
    # What needs no drawing still works.
    assert plotting.bank_images(bank).shape[0] == 1


def test_import_featpool_does_not_import_matplotlib(tmp_path):
    import os
    import subprocess
    from pathlib import Path

    # The featpool under test (installed or built in place), not the cwd's sources.
    env = dict(os.environ, PYTHONPATH=str(Path(featpool.__file__).resolve().parents[1]))
    code = "import sys, featpool, featpool.plotting; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=tmp_path, env=env)
    assert out.stdout.strip() == "False"


# --------------------------------------------------------------------------
# plot_bank
# --------------------------------------------------------------------------

def test_plot_bank_draws_each_kernel_and_spectrum():
    bank = featpool.gabor_bank((48, 48), n_scales=2, n_orientations=3)
    fig, axes = plotting.plot_bank(bank, crop=6)
    assert axes.shape == (4, 3)  # (kernels, spectra) x 2 scales, 3 orientations
    assert len(fig.axes) == 12
    kernels = np.fft.fftshift(np.fft.ifft2(bank.spectra), axes=(1, 2))
    spectra = np.fft.fftshift(np.abs(bank.spectra), axes=(1, 2))
    for i, m in enumerate(bank.metadata):
        row, col = divmod(i, 3)
        spatial, fourier = axes[2 * row, col], axes[2 * row + 1, col]
        np.testing.assert_allclose(_drawn(spatial), kernels[i, 18:31, 18:31].real, atol=1e-6)
        np.testing.assert_allclose(_drawn(fourier), spectra[i], rtol=1e-6)
        label = f"gabor s{m['scale_index']} o{m['orientation_index']}"
        assert spatial.get_title() == f"{i}: {label}"
        assert fourier.get_title() == f"{i}: Fourier"


def test_plot_bank_one_domain_subset_and_columns():
    bank = featpool.leung_malik_bank((49, 49))
    fig, axes = plotting.plot_bank(bank, "fourier", filters=[0, 5, 47], ncols=2)
    assert axes.shape == (2, 2)
    used = [ax for ax in axes.flat if ax.images]
    assert len(used) == 3
    np.testing.assert_allclose(_drawn(used[2]),
                               np.fft.fftshift(np.abs(bank.spectra[47])), rtol=1e-6)
    assert used[2].get_title().startswith("47: ")


def test_plot_bank_3d_draws_central_slices():
    bank = featpool.gabor_bank_3d((12, 12, 12), n_scales=1)
    _, axes = plotting.plot_bank(bank, "spatial", filters=[2], crop=20)
    expected = bank.filters_spatial()[2, 6].real
    np.testing.assert_allclose(_drawn(axes[0, 0]), expected, atol=1e-7)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"domain": "space"}, ValueError, "'domain' parameter"),
    ({"domain": 3}, TypeError, "'domain' parameter"),
    ({"part": "phase"}, ValueError, "'part' parameter"),
    ({"filters": [9]}, ValueError, "'filters' parameter.*outside"),
    ({"filters": []}, ValueError, "'filters' parameter"),
    ({"ncols": 0}, ValueError, "'ncols' parameter"),
    ({"crop": -1}, ValueError, "'crop' parameter"),
])
def test_plot_bank_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        plotting.plot_bank(featpool.log_bank((16, 16), sigmas=[1.0, 2.0]), **kwargs)


def test_plot_bank_needs_a_bank():
    with pytest.raises(TypeError, match="'bank' parameter of plot_bank.*ndarray"):
        plotting.plot_bank(np.ones((2, 8, 8)))


# --------------------------------------------------------------------------
# plot_responses
# --------------------------------------------------------------------------

def test_plot_responses_draws_the_image_and_each_map():
    image = np.random.default_rng(1).random((24, 30))
    bank = featpool.gabor_bank((24, 30), n_scales=1, n_orientations=4)
    fig, axes = plotting.plot_responses(image, bank, nonlinearity="relu_split", filters=[1, 3])
    maps = featpool.filter_responses(image, bank, nonlinearity="relu_split")
    assert axes.shape == (2, 3)  # image + 2 filters x 2 half-waves, ceil(sqrt(5)) columns
    np.testing.assert_array_equal(_drawn(axes.flat[0]), image)
    for ax, m in zip(axes.flat[1:], [2, 3, 6, 7]):
        np.testing.assert_array_equal(_drawn(ax), maps[m])
        assert ax.get_title().startswith(f"{m}: gabor s0 o{m // 2}")
    assert not axes.flat[5].images


def test_plot_responses_errors():
    bank = featpool.log_bank((16, 16), sigmas=[1.0])
    with pytest.raises(ValueError, match="'image' parameter of plot_responses.*2D"):
        plotting.plot_responses(np.ones((2, 16, 16)), bank)
    with pytest.raises(ValueError, match="'image' parameter.*dtype <U1"):
        plotting.plot_responses(np.full((16, 16), "a"), bank)
    with pytest.raises(ValueError, match="'nonlinearity'"):
        plotting.plot_responses(np.ones((16, 16)), bank, nonlinearity="tanh")


# --------------------------------------------------------------------------
# plot_pooled
# --------------------------------------------------------------------------

def test_plot_pooled_draws_the_pooled_values_over_the_image():
    image = np.random.default_rng(2).random((32, 40))
    bank = featpool.gabor_bank((32, 40), n_scales=1, n_orientations=2)
    pooled = featpool.filter_pool(image, bank, featpool.Pooling("mean", levels=(4,)))
    grids = pooled.reshape(len(bank), 4, 4)
    fig, axes = plotting.plot_pooled(grids, image=image, titles=["a", "b"])
    assert axes.shape == (1, 2)
    for ax, grid, title in zip(axes.flat, grids, "ab"):
        assert len(ax.images) == 2
        np.testing.assert_array_equal(_drawn(ax), grid)
        np.testing.assert_array_equal(np.asarray(ax.images[0].get_array()), image)
        assert ax.images[-1].get_extent() == [-0.5, 39.5, 31.5, -0.5]
        assert ax.get_title() == title


@pytest.mark.parametrize("pooled, kwargs, match", [
    (np.ones((2, 2, 2, 2)), {}, "'pooled' parameter.*shape \\(2, 2, 2, 2\\)"),
    (np.ones((0, 2, 2)), {}, "'pooled' parameter of plot_pooled holds no grid"),
    (np.ones((2, 0, 2)), {}, "'pooled' parameter.*shape \\(0, 2\\)"),
    ([np.ones(3)], {}, "'pooled' parameter.*shape \\(3,\\)"),
    ([np.ones((2, 2), complex)], {}, "'pooled' parameter.*complex"),
    (np.ones((2, 3, 3)), {"titles": ["a"]}, "'titles' parameter.*\\(2\\)"),
    (np.ones((2, 3, 3)), {"image": np.ones(5)}, "'image' parameter of plot_pooled"),
])
def test_plot_pooled_errors(pooled, kwargs, match):
    with pytest.raises(ValueError, match=match):
        plotting.plot_pooled(pooled, **kwargs)


# --------------------------------------------------------------------------
# weight_map / plot_weights
# --------------------------------------------------------------------------

def test_plot_pooled_takes_grids_of_different_shapes():
    grids = [np.arange(15.0).reshape(3, 5), np.arange(4.0).reshape(2, 2)]
    _, axes = plotting.plot_pooled(grids, ncols=2)
    for ax, grid, title in zip(axes.flat, grids, "01"):
        np.testing.assert_array_equal(_drawn(ax), grid)
        assert ax.get_title() == title


def test_weight_map_spreads_each_cell_over_its_adaptive_bin():
    # A 5x7 image: a level-2 grid's bins overlap (rows 0-2 and 2-4; cols 0-3, 3-6);
    # a pixel in k cells gets the mean of their weights. Level 1 adds everywhere.
    names = ["log_s0_mean_l2_c0", "log_s0_mean_l2_c3", "log_s0_max_w_c0",
             "log_s0_mean_l1_c0"]
    heat = plotting.weight_map([1.0, 10.0, 100.0, 0.5], names, (5, 7))
    cells = np.zeros((5, 7))
    cells[0:3, 0:4] += 1
    cells[2:5, 3:7] += 10
    coverage = np.ones((5, 7))
    coverage[2, :] *= 2
    coverage[:, 3] *= 2
    np.testing.assert_allclose(heat, cells / coverage + 0.5)
    assert heat[2, 3] == 11 / 4 + 0.5


def test_weight_map_of_pipeline_names_matches_a_direct_sum():
    images = np.random.default_rng(3).random((2, 16, 16))
    _, names = extract_features(images, levels=(1, 2), return_names=True,
                                n_scales=1, n_orientations=2)
    weights = np.arange(len(names), dtype=float)
    heat = plotting.weight_map(weights, names, (16, 16))
    # per map: 1 global cell then 4 quadrants
    per_map = weights.reshape(-1, 5).sum(axis=0)
    assert heat[0, 0] == per_map[0] + per_map[1]
    assert heat[15, 15] == per_map[0] + per_map[4]
    only_2 = plotting.weight_map(weights, names, (16, 16), levels=[2])
    assert only_2[0, 15] == per_map[2]


def test_weight_map_channels():
    names = ["ch0_log_s0_mean_l1_c0", "ch1_log_s0_mean_l1_c0"]
    assert plotting.weight_map([1.0, 2.0], names, (2, 2), channel=1)[0, 0] == 2.0
    assert plotting.weight_map([1.0, 2.0], names, (2, 2))[0, 0] == 3.0


@pytest.mark.parametrize("args, kwargs, match", [
    ((np.ones((2, 3)), ["a"] * 3, (4, 4)), {}, "'weights' parameter.*1D"),
    ((np.ones(3), ["a"] * 2, (4, 4)), {}, "'feature_names'.*3 weights.*2 names"),
    ((np.ones(1), ["x_mean_l1_c0"], (4, 4, 4)), {}, "'image_shape' parameter"),
    ((np.ones(1), ["x_mean_w_c0"], (4, 4)), {}, "No feature name"),
    ((np.ones(1), ["x_mean_l1_c0"], (4, 4)), {"levels": [2]}, "No feature name"),
    ((np.ones(1), ["x_mean_l2_c7"], (4, 4)), {}, "cell 7 of a 2x2 level"),
])
def test_weight_map_errors(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        plotting.weight_map(*args, **kwargs)


def test_plot_weights_draws_the_map_of_a_fitted_model():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(4)
    images = rng.random((20, 16, 16))
    images[10:, :8, :8] += 1.0  # class 1: a bright top-left quadrant
    y = np.repeat([0, 1], 10)
    model = featpool.FilterBankPooling(n_scales=1, n_orientations=2, levels=(2,)).fit(images)
    clf = LogisticRegression().fit(model.transform(images), y)
    names = model.get_feature_names_out()
    fig, axes = plotting.plot_weights(np.abs(clf.coef_[0]), names, images[0])
    heat = _drawn(axes[1])
    np.testing.assert_array_equal(heat, plotting.weight_map(np.abs(clf.coef_[0]), names,
                                                            (16, 16)))
    np.testing.assert_array_equal(np.asarray(axes[0].images[0].get_array()), images[0])
    assert len(fig.axes) == 3  # image, overlay, colour bar
    assert axes[1].get_title() == "weights on the pooling grid"


def test_plot_weights_rejects_a_volume():
    with pytest.raises(ValueError, match="'image' parameter of plot_weights"):
        plotting.plot_weights([1.0], ["x_mean_l1_c0"], np.ones((4, 4, 5)))
