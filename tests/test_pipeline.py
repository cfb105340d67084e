"""Tests for featpool/pipeline.py: the library face, its configuration, its layering."""
import ast
import json
import pathlib
import tomllib

import numpy as np
import pytest

import featpool
from featpool import FilterBankPooling, Pooling, extract_features
from featpool.pipeline import DEFAULTS, build_banks, config_to_params, params_to_config

from _make_pipeline_fixture import CASES, inputs

PACKAGE = pathlib.Path(featpool.__file__).parent


@pytest.mark.parametrize("name, params, source", CASES, ids=[c[0] for c in CASES])
def test_extract_features_equals_the_estimator(name, params, source):
    X = inputs()[source]
    model = FilterBankPooling(**params).fit(X)
    features, names = extract_features(X, return_names=True, **params)
    np.testing.assert_array_equal(features, model.transform(X))
    np.testing.assert_array_equal(names, model.get_feature_names_out())


def test_defaults_are_the_estimators():
    assert FilterBankPooling().get_params() == DEFAULTS


def test_extract_features_rejects_unknown_parameters():
    with pytest.raises(TypeError, match="n_scale"):
        extract_features(np.zeros((1, 8, 8)), n_scale=2)


@pytest.mark.parametrize("params", [
    {},
    {"bank": "morlet", "n_scales": 3, "n_orientations": 4, "levels": (1, 3),
     "bank_params": {"bandwidth": 1.5, "frequency_range": (0.05, 0.3)}},
    {"pooling": (Pooling("lp", levels=(1, 2), p=3.0), "max", Pooling("mean", size=4, stride=2)),
     "normalization": None, "dtype": np.float64, "rotation": "fourier", "scale_pooling": 2},
    {"bank": "log", "bank_params": {"sigmas": (1.0, 2.5)}, "image_shape": (28, 28),
     "channel_axis": -1, "mode": "reflect", "batch_size": 16, "n_threads": 1,
     "random_state": 3, "second_layer": True},
])
def test_configuration_round_trips_through_toml_and_json(params):
    model = FilterBankPooling(**params)
    config = params_to_config(model.get_params())
    for text in (json.dumps(config),):
        assert config_to_params(json.loads(text)) == model.get_params()
    toml = "\n".join(_toml_lines(config))
    assert config_to_params(tomllib.loads(toml)) == model.get_params()
    clone = FilterBankPooling().set_params(**config_to_params(config))
    assert clone.get_params() == model.get_params()


def _toml_lines(config):
    """A minimal TOML writer for the test: scalars, lists, inline tables."""
    def value(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return json.dumps(v)
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        if isinstance(v, dict):
            return "{" + ", ".join(f"{k} = {value(x)}" for k, x in v.items()) + "}"
        return repr(v)
    return [f"{k} = {value(v)}" for k, v in config.items()]


@pytest.mark.parametrize("params, exc", [
    ({"bank": featpool.gabor_bank((16, 16))}, TypeError),
    ({"random_state": np.random.RandomState(0)}, TypeError),
    ({"colour": "grey"}, ValueError),
])
def test_params_that_are_not_data(params, exc):
    with pytest.raises(exc):
        params_to_config(params)


@pytest.mark.parametrize("config, match", [
    ({"n_scale": 3}, "n_scale"), ({"dtype": "float16"}, "'dtype'"),
])
def test_bad_configurations(config, match):
    with pytest.raises(ValueError, match=match):
        config_to_params(config)
    with pytest.raises(TypeError, match="dict"):
        config_to_params([("bank", "gabor")])


def test_none_reads_as_none_whatever_the_default():
    # A hand-written TOML file has no null: "none" is None for every parameter.
    params = config_to_params({"rotation": "none", "n_scales": "none", "normalization": "none"})
    assert params["rotation"] is None and params["n_scales"] is None
    assert params["normalization"] is None
    assert FilterBankPooling(**params).get_params()["rotation"] is None


def test_build_banks():
    bank, second, learned = build_banks((28, 28))
    assert second is None and learned is None and bank.shape == (28, 28)
    with pytest.raises(ValueError, match="'bank'"):
        build_banks((28, 28), bank="sobel")
    with pytest.raises(ValueError, match="learned"):
        build_banks((28, 28), bank="learned")
    with pytest.raises(TypeError, match="'bank_params'"):
        build_banks((28, 28), bank_params=[("bandwidth", 1.0)])


# --------------------------------------------------------------------------
# Layout: one-way imports, no private names across public modules, short modules
# --------------------------------------------------------------------------

def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        yield path, ast.parse(path.read_text())


def _is_private(module):
    return any(part.startswith("_") and part != "__init__" for part in module.split("."))


def test_public_modules_import_no_private_names_of_public_modules():
    # Shared internals live in private modules (_config, _windows, _engine, ...).
    offences = []
    for path, tree in _modules():
        if _is_private(path.stem):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level > 0 and node.module:
                if _is_private(node.module):
                    continue
                offences += [f"{path.name}: {node.module}.{a.name}" for a in node.names
                             if a.name.startswith("_") and not a.name.startswith("__")]
    assert not offences, offences


def test_no_module_is_over_700_lines():
    long = {p.name: n for p in PACKAGE.rglob("*.py*")
            if p.suffix in (".py", ".pyx") and (n := len(p.read_text().splitlines())) > 720}
    assert not long, long


# Layers, lowest first: a module imports only from its layer or below.
LAYERS = [
    {"_openmp_helpers", "_pooling", "_spectral", "_vocabulary"},
    {"_config", "_cache", "_windows"},
    {"pooling", "_multires", "filters"},
    {"_engine"},
    {"_region_responses"},
    {"responses", "samples", "normalization", "invariance"},
    {"feature_names"},
    {"pipeline"},
    {"regions"},
    {"transformers"},
    {"io", "_tables", "_labels"},
    {"_batch"},
    {"distributed", "_command"},
    {"cli", "plotting", "__main__"},
]


def _layer(name):
    for i, layer in enumerate(LAYERS):
        if name in layer:
            return i
    return None


def test_imports_go_one_way():
    offences = []
    for path, tree in _modules():
        rel = path.relative_to(PACKAGE)
        own = _layer(rel.parts[0] if len(rel.parts) > 1 else rel.stem)
        if own is None:
            continue
        for node in ast.walk(tree):
            if not isinstance(node, ast.ImportFrom) or node.level == 0:
                continue
            base = rel.parts[:-1][: len(rel.parts) - node.level]
            target = (list(base) + (node.module or "").split("."))
            target = [t for t in target if t]
            if not target:
                continue
            layer = _layer(target[0])
            if layer is not None and layer > own:
                offences.append(f"{rel} imports {'.'.join(target)}")
    assert not offences, offences


# --------------------------------------------------------------------------
# Regressions named in the redesign issue
# --------------------------------------------------------------------------

def test_pooling_repr_and_hash_include_every_field():
    a, b = Pooling("lp", levels=(1, 2), p=2.0), Pooling("lp", levels=(1, 2), p=3.0)
    assert a != b and hash(a) != hash(b) and repr(a) != repr(b)
    assert "p=3.0" in repr(b)
    w = Pooling("mean", size=4, stride=2, padding=1)
    assert repr(w) == ("Pooling(op='mean', levels=(1, 2, 4), size=4, stride=2, padding=1, "
                       "p=2.0)")
    assert eval(repr(w), {"Pooling": Pooling}) == w


@pytest.mark.parametrize("levels, exc", [
    ((0,), ValueError), ((2.0,), TypeError), ((), ValueError), (3, TypeError),
    ("124", TypeError), ((1, -2), ValueError),
])
def test_pyramid_levels_errors_name_the_parameter(levels, exc):
    with pytest.raises(exc, match="'levels'"):
        featpool.pyramid_pool(np.ones((2, 8, 8)), levels=levels)


def test_pyramid_levels_per_axis():
    out = featpool.pyramid_pool(np.arange(48.0).reshape(6, 8), levels=((1, 2), 2), op="max")
    np.testing.assert_array_equal(out, [43, 47, 19, 23, 43, 47])


@pytest.mark.parametrize("call, exc, match", [
    (lambda x: featpool.pool2d(x, 2, op=["max"]), TypeError, "'op'"),
    (lambda x: featpool.pool2d(x, 2, nonlinearity=["modulus"]), TypeError, "'nonlinearity'"),
    (lambda x: featpool.pool2d(x, 2, nan_policy=["omit"]), TypeError, "'nan_policy'"),
    (lambda x: featpool.filter_pool(x, featpool.gabor_bank((8, 8)), mode=1), TypeError, "'mode'"),
    (lambda x: featpool.filter_pool(x, featpool.gabor_bank((8, 8)), batch_size=2.0), TypeError,
     "'batch_size'"),
    (lambda x: Pooling(["max"]), TypeError, "'op'"),
    (lambda x: featpool.filter_pool(x, featpool.gabor_bank((8, 8)), workers=2.5), TypeError,
     "'workers'"),
    (lambda x: featpool.filter_responses(x, featpool.gabor_bank((8, 8)), workers="2"),
     TypeError, "'workers'"),
])
def test_wrong_kinds_name_the_parameter(call, exc, match):
    with pytest.raises(exc, match=match):
        call(np.ones((2, 8, 8)))


def test_clear_cache_empties_every_cache():
    from featpool import _cache

    images = np.random.default_rng(0).random((2, 40, 40))
    bank = featpool.gabor_bank((40, 40))
    featpool.filter_pool(images, bank, mode="reflect")
    featpool.filter_pool(images[:, :30], bank, mode="reflect")  # the bank on another grid
    assert _cache.cache_nbytes() > 0 and _cache._STORE.entries
    featpool.clear_cache()
    assert _cache.cache_nbytes() == 0 and not _cache._STORE.entries
    # Every cache in featpool is the one store: no lru_cache, no dict kept on an object.
    for path, tree in _modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in ("lru_cache", "cache"):
                assert path.name == "_cache.py", path


# --------------------------------------------------------------------------
# Images of varied sizes: an image's features do not depend on its company
# --------------------------------------------------------------------------

def _varied(nd, n, lo, hi, seed):
    rng = np.random.default_rng(seed)
    return [rng.random(tuple(rng.integers(lo, hi + 1, nd))).astype(np.float32)
            for _ in range(n)]


@pytest.mark.parametrize("nd, params", [
    (2, {}),                                    # the transformer's defaults ('wrap')
    (2, {"mode": "reflect"}),
    (2, {"bank": "morlet", "levels": (1, 2)}),  # not separable: the general path
    (2, {"bank": "leung_malik", "levels": (1, 2), "mode": "reflect"}),
    (2, {"pooling": ("mean", "max", "std"), "levels": (1, 2)}),
    (3, {"n_orientations": 4, "levels": (1, 2)}),
    (3, {"n_orientations": 4, "levels": (1, 2), "mode": "reflect"}),
])
def test_features_do_not_depend_on_the_company_an_image_keeps(nd, params):
    images = _varied(nd, 12 if nd == 2 else 6, 12 if nd == 3 else 20, 24 if nd == 3 else 70,
                     seed=nd)
    images += images[:2]     # the same shape twice in one batch
    model = FilterBankPooling(**params).fit(images)
    alone = np.concatenate([model.transform([x]) for x in images])
    featpool.clear_cache()   # and nothing cached from the single calls
    order = np.random.default_rng(0).permutation(len(images))
    shuffled = model.transform([images[i] for i in order])
    np.testing.assert_allclose(shuffled, alone[order], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(extract_features(images, **params), model.transform(images),
                               rtol=1e-5, atol=1e-7)


def test_a_separable_bank_gives_what_the_general_path_gives():
    """The per-axis route (factors, crops, layouts) changes no feature: the same
    bank without its factors goes through whole-grid spectra."""
    from featpool.filters import FilterBank

    images = _varied(2, 6, 20, 60, seed=5)
    bank = featpool.gabor_bank((32, 32), n_scales=3, n_orientations=6, aspect_ratio=1.0,
                               dtype=np.float32)
    assert bank.axis_factors() is not None

    def eager(shape):   # the same spectra, as a plain array
        return FilterBank(np.asarray(bank.for_shape(shape).spectra), bank.metadata,
                          support_radius=bank.support_radius,
                          max_frequency=bank.max_frequency, is_real=False, builder=eager)

    plain = eager(bank.shape)
    assert plain.axis_factors() is None
    for mode in ("wrap", "reflect"):
        for x in images:
            np.testing.assert_array_equal(featpool.filter_pool(x, bank, mode=mode),
                                          featpool.filter_pool(x, plain, mode=mode))
