"""The feature pipeline as functions, and its configuration as a plain dict.

The steps, each a public function of its own module:

1. read and validate the samples (:func:`featpool.samples.read_samples`);
2. build the filter banks for their shape (:func:`build_banks`);
3. filter, apply the nonlinearity and pool (:func:`featpool.filter_pool`);
4. pool across scales and orientations (:mod:`featpool.invariance`);
5. normalize each vector (:func:`featpool.normalization.normalize`);
6. name the features (:mod:`featpool.feature_names`).

:func:`extract_features` runs them all on a batch of images and gives what
``FilterBankPooling(**params).fit(X).transform(X)`` gives; the estimator
and the batch command compose the same functions. The parameters are those
of :class:`featpool.FilterBankPooling`, by the same names. A
*configuration* is those parameters as a dict that TOML and JSON can hold:
the batch command's ``--config`` file and the provenance stored beside
every output it writes (:func:`params_to_config`, :func:`config_to_params`).
"""
import inspect
import math
import numbers

import numpy as np
from sklearn.utils import check_random_state

from ._cache import cached
from .feature_names import describe_maps, feature_names
from .filters import BANKS, FilterBank
from .invariance import apply_invariances
from .normalization import normalize
from .pooling import Pooling, as_poolings
from .responses import filter_pool
from .samples import map_by_shape, read_samples

__all__ = ["DEFAULTS", "build_banks", "config_to_params", "extract_features",
           "output_maps", "params_to_config", "pipeline_features"]

#: Every pipeline parameter and its default (those of FilterBankPooling).
DEFAULTS = {
    "bank": "gabor",
    "n_scales": None,
    "n_orientations": None,
    "bank_params": None,
    "nonlinearity": "modulus",
    "pooling": "mean",
    "levels": (1, 2, 4),
    "rotation": None,
    "scale_pooling": None,
    "second_layer": False,
    "normalization": "power",
    "image_shape": None,
    "channel_axis": None,
    "mode": "wrap",
    "dtype": np.float32,
    "batch_size": None,
    "n_threads": None,
    "random_state": None,
}
# TOML has no null: a None where the default is not None is written as this.
_NONE = "none"
_DTYPES = {"float32": np.float32, "float64": np.float64}
_POOLING_FIELDS = ("op", "levels", "size", "stride", "padding", "p")


def _plain(value, name):
    """``value`` as TOML/JSON data: tuples to lists, NumPy scalars to Python ones."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, str):
        return value
    if isinstance(value, (tuple, list, np.ndarray)):
        return [_plain(v, name) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v, name) for k, v in value.items() if v is not None}
    raise TypeError(f"The '{name}' parameter cannot be written to a configuration file: "
                    f"{type(value).__name__} values are not plain data. Got {value!r}.")


def _tuples(value):
    """Lists read from a configuration back to tuples, as the parameters take them."""
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    if isinstance(value, dict):
        return {k: _tuples(v) for k, v in value.items()}
    return value


def params_to_config(params):
    """Pipeline parameters as a dict that TOML and JSON can hold.

    Parameters
    ----------
    params : dict
        Parameters of :class:`~featpool.FilterBankPooling` (``get_params()``),
        all or some of them.

    Returns
    -------
    config : dict
        Every parameter, in the order of :data:`DEFAULTS`: tuples become
        lists, ``dtype`` its name, a :class:`~featpool.Pooling` a table of its
        fields, and None the string ``'none'`` where the default is not None
        (it is left out where the default is None: TOML has no null).
        :func:`config_to_params` gives ``params`` back.

    Raises
    ------
    TypeError
        For values that are not data: a :class:`~featpool.FilterBank` as
        ``bank`` or a random generator as ``random_state`` (save the fitted
        estimator with joblib instead).

    Examples
    --------
    >>> from featpool import FilterBankPooling
    >>> from featpool.pipeline import config_to_params, params_to_config
    >>> model = FilterBankPooling(pooling=("mean", "std"), levels=(1, 2), normalization=None)
    >>> config = params_to_config(model.get_params())
    >>> config["pooling"], config["levels"], config["normalization"], config["dtype"]
    (['mean', 'std'], [1, 2], 'none', 'float32')
    >>> FilterBankPooling(**config_to_params(config)).get_params() == model.get_params()
    True
    """
    unknown = sorted(set(params) - set(DEFAULTS))
    if unknown:
        raise ValueError(f"Unknown pipeline parameters {unknown}; the parameters are "
                         f"{list(DEFAULTS)}.")
    config = {}
    for name in DEFAULTS:
        if name not in params:
            continue
        value = params[name]
        if value is None:
            if DEFAULTS[name] is not None:
                config[name] = _NONE
            continue
        if name == "dtype":
            config[name] = np.dtype(value).name
        elif name == "pooling":
            items = value if isinstance(value, (tuple, list)) else [value]
            config[name] = [
                {f: _plain(getattr(p, f), name) for f in _POOLING_FIELDS
                 if getattr(p, f) is not None} if isinstance(p, Pooling) else _plain(p, name)
                for p in items]
            if not isinstance(value, (tuple, list)):
                config[name] = config[name][0]
        else:
            config[name] = _plain(value, name)
    return config


def config_to_params(config):
    """Pipeline parameters from a configuration dict (the inverse of :func:`params_to_config`).

    Parameters
    ----------
    config : dict
        A configuration as written by :func:`params_to_config` or read from
        a TOML/JSON file; parameters it leaves out take their defaults.
        The string ``'none'`` stands for None for every parameter (TOML has
        no null), whatever its default.

    Returns
    -------
    params : dict
        Every parameter of :class:`~featpool.FilterBankPooling`, ready for
        ``FilterBankPooling(**params)`` or ``set_params(**params)``.

    Raises
    ------
    ValueError
        For a key that is not a parameter, or a ``dtype`` other than
        'float32' and 'float64'. The values themselves are checked by the
        estimator, as any other parameter.

    Examples
    --------
    >>> from featpool.pipeline import config_to_params
    >>> params = config_to_params({"bank": "morlet", "levels": [1, 2], "dtype": "float64"})
    >>> params["bank"], params["levels"], params["dtype"].__name__, params["normalization"]
    ('morlet', (1, 2), 'float64', 'power')
    """
    if not isinstance(config, dict):
        raise TypeError(f"A configuration must be a dict of parameters. Got "
                        f"{type(config).__name__} instead.")
    unknown = sorted(set(config) - set(DEFAULTS))
    if unknown:
        raise ValueError(f"The configuration has keys that are not pipeline parameters: "
                         f"{unknown}. The parameters are {list(DEFAULTS)}.")
    params = dict(DEFAULTS)
    for name, value in config.items():
        if isinstance(value, str) and value == _NONE:
            value = None
        elif name == "dtype":
            if value not in _DTYPES:
                raise ValueError(f"The 'dtype' parameter must be 'float32' or 'float64' in a "
                                 f"configuration. Got {value!r} instead.")
            value = _DTYPES[value]
        elif name == "pooling":
            items = value if isinstance(value, list) else [value]
            items = tuple(Pooling(**_tuples(p)) if isinstance(p, dict) else p for p in items)
            value = items if isinstance(value, list) else items[0]
        else:
            value = _tuples(value)
        params[name] = value
    return params


# --------------------------------------------------------------------------
# Banks
# --------------------------------------------------------------------------

# Where the pipeline's defaults differ from the builders' (round envelopes:
# 0.8 point less error on MNIST than the builders' aspect_ratio=0.5).
_BANK_DEFAULTS = {("gabor", 2): {"aspect_ratio": 1.0, "n_orientations": 6},
                  ("morlet", 2): {"aspect_ratio": 1.0, "n_orientations": 6}}
_ORIENTED = ("gabor", "morlet")


def _builder_kwargs(name, nd, bank_params, owner):
    builder = BANKS[name][nd]
    kwargs = dict(_BANK_DEFAULTS.get((name, nd), {}))
    if bank_params is not None and not isinstance(bank_params, dict):
        raise TypeError(f"The 'bank_params' parameter of {owner} must be a dict or None. "
                        f"Got {bank_params!r} instead.")
    kwargs.update(bank_params or {})
    accepted = set(inspect.signature(builder).parameters) - {
        "shape", "images", "dtype", "random_state", "n_scales", "n_orientations"}
    unknown = set(bank_params or {}) - accepted
    if unknown:
        raise ValueError(
            f"The 'bank_params' parameter of {owner} has keys that {builder.__name__} does "
            f"not take: {sorted(unknown)}. It takes {sorted(accepted)}."
        )
    return builder, kwargs


def _default_n_scales(builder, spatial, kwargs, dtype):
    """Octaves whose envelope (standard deviation) stays within half the smallest side.

    Coarse scales see the layout of a small image as a whole, which helps
    classifiers (MNIST: 4 scales at 28x28 beat the 3 of gabor_bank's
    quarter-side rule); at most 5 in 2D, 3 in 3D (memory).
    """
    kwargs = {k: v for k, v in kwargs.items() if k not in ("n_scales", "n_orientations")}
    top = builder(spatial, n_scales=1, n_orientations=1, dtype=dtype, **kwargs).metadata[0]
    longest = top["scale"] / min(1.0, top["aspect_ratio"])
    octaves = math.floor(math.log2(max(min(spatial) / 2 / longest, 1)) / top["bandwidth"])
    return int(np.clip(octaves + 1, 1, 5 if len(spatial) == 2 else 3))


def _first_bank(spatial, bank, n_scales, n_orientations, bank_params, dtype, images,
                random_state, owner):
    nd = len(spatial)
    if isinstance(bank, FilterBank):
        if bank.ndim != nd:
            raise ValueError(f"The {bank.ndim}D FilterBank given as 'bank' cannot filter "
                             f"{nd}D samples.")
        return bank.for_shape(spatial), None
    if not isinstance(bank, str) or bank not in BANKS:
        raise ValueError(f"The 'bank' parameter of {owner} must be one of {sorted(BANKS)} or "
                         f"a FilterBank. Got {bank!r} instead.")
    if nd not in BANKS[bank]:
        raise ValueError(f"bank={bank!r} is a 2D bank; for {nd}D samples use 'gabor' or "
                         f"'morlet'.")
    builder, kwargs = _builder_kwargs(bank, nd, bank_params, owner)
    oriented = bank in _ORIENTED
    if oriented and n_scales is None and "frequency_range" not in kwargs:
        kwargs["n_scales"] = _default_n_scales(builder, spatial, kwargs, dtype)
    for name, value in (("n_scales", n_scales), ("n_orientations", n_orientations)):
        if value is None:
            continue
        if oriented:
            kwargs[name] = value
        elif name == "n_scales" and bank in ("log", "dog"):
            kwargs.setdefault("sigmas", tuple(2.0 ** np.arange(value)))
        else:
            raise ValueError(f"The '{name}' parameter of {owner} must be None for "
                             f"bank={bank!r}, whose design fixes it. Got {value}.")
    if bank == "learned":
        if images is None:
            raise ValueError("bank='learned' learns its filters from images: pass 'images'.")
        patch_filters = builder(images, random_state=check_random_state(random_state),
                                **kwargs)
        return patch_filters.bank(spatial, dtype=dtype), patch_filters
    return builder(spatial, dtype=dtype, **kwargs), None


def _second_bank(spatial, bank, first, bank_params, owner):
    if isinstance(bank, FilterBank) or bank not in _ORIENTED:
        raise ValueError(f"second_layer=True needs bank='gabor' or 'morlet' in {owner}. "
                         f"Got bank={bank!r}.")
    frequencies = sorted({m["frequency"] for m in first.metadata}, reverse=True)
    if len(frequencies) < 2:
        raise ValueError(f"second_layer=True needs a bank with at least 2 scales; the bank "
                         f"for images of shape {spatial} has 1 (set n_scales).")
    n_orientations = 1 + max(m["orientation_index"] for m in first.metadata)
    builder, kwargs = _builder_kwargs("morlet", len(spatial), bank_params, owner)
    kwargs = {k: v for k, v in kwargs.items() if k in ("bandwidth", "aspect_ratio")}
    return builder(spatial, n_scales=len(frequencies) - 1, n_orientations=n_orientations,
                   frequency_range=(frequencies[-1], frequencies[1]), dtype=first.dtype,
                   **kwargs)


def build_banks(spatial, *, bank="gabor", n_scales=None, n_orientations=None,
                bank_params=None, second_layer=False, dtype=np.float32, images=None,
                random_state=None, owner="build_banks"):
    """The filter banks of the pipeline for images of shape ``spatial``.

    Parameters
    ----------
    spatial : tuple of int
        The grid (2D or 3D) the banks are built for; they are rebuilt for
        other image sizes on the fly, with the same filters.
    bank, n_scales, n_orientations, bank_params, second_layer, dtype, random_state
        As in :class:`~featpool.FilterBankPooling`.
    images : list of ndarray, optional
        Training images, for ``bank='learned'`` only.
    owner : str
        The function or class named in error messages.

    Returns
    -------
    bank : FilterBank
    second_bank : FilterBank or None
        The second layer's Morlet filters (``second_layer=True``).
    patch_filters : PatchFilters or None
        The learned filters (``bank='learned'``).

    Examples
    --------
    >>> from featpool.pipeline import build_banks
    >>> bank, second, _ = build_banks((28, 28), second_layer=True)
    >>> len(bank), len(second)
    (24, 18)
    """
    spatial = tuple(int(n) for n in spatial)
    first, patch_filters = _first_bank(spatial, bank, n_scales, n_orientations, bank_params,
                                       dtype, images, random_state, owner)
    second = _second_bank(spatial, bank, first, bank_params, owner) if second_layer else None
    return first, second, patch_filters


# --------------------------------------------------------------------------
# Features
# --------------------------------------------------------------------------

def _widen(x, spatial_ndim):
    """Repeat axes of length 1 to length 2: filtering needs 2 pixels per axis.

    Every border mode but 'constant' extends a 1-pixel axis by repeating it,
    so the responses along it are constant either way.
    """
    for axis in range(x.ndim - spatial_ndim, x.ndim):
        if x.shape[axis] == 1:
            x = np.repeat(x, 2, axis=axis)
    return x


@cached
def _maps(bank, nonlinearity, second_bank, rotation, scale_pooling):
    """(maps in, maps out) of the invariances: computed once per bank and options."""
    maps = describe_maps(bank, nonlinearity, second_bank)
    dummy = np.zeros((1, 1, len(maps), 1), dtype=np.float32)
    return tuple(maps), tuple(apply_invariances(dummy, maps, rotation, scale_pooling)[1])


def output_maps(bank, nonlinearity="modulus", second_bank=None, rotation=None,
                scale_pooling=None):
    """What each map of the pipeline's output is, after the invariances.

    Returns
    -------
    maps : list of dict
        As :func:`featpool.feature_names.describe_maps`, pooled as
        :func:`featpool.invariance.apply_invariances` pools the features.
    """
    return [dict(m) for m in _maps(bank, nonlinearity, second_bank, rotation,
                                   scale_pooling)[1]]


def pipeline_features(samples, bank, poolings, *, nonlinearity="modulus", mode="wrap",
                      second_bank=None, rotation=None, scale_pooling=None,
                      normalization="power", dtype=np.float32, batch_size=None,
                      n_threads=None):
    """Feature vectors of validated samples: filter, pool, invariances, normalization.

    Parameters
    ----------
    samples : ndarray (n, C, *spatial) or list of ndarrays (C, *spatial)
        As :func:`featpool.samples.read_samples` returns them.
    bank : FilterBank
    poolings : tuple of Pooling
    nonlinearity, mode, second_bank, rotation, scale_pooling, normalization, dtype, batch_size, n_threads
        As in :class:`~featpool.FilterBankPooling`.

    Returns
    -------
    features : ndarray of shape (n, C * n_maps * n_cells), dtype ``dtype``
        Channel-major, then map, then cell: named by :func:`feature_names`
        of :func:`output_maps`.
    """
    maps, out_maps = _maps(bank, nonlinearity, second_bank, rotation, scale_pooling)
    maps, n_maps = list(maps), len(out_maps)
    spatial = (samples[0].shape if isinstance(samples, list) else samples.shape[1:])[1:]
    n_cells = sum(p.n_cells(tuple(max(n, 2) for n in spatial)) for p in poolings)
    n_channels = samples[0].shape[0] if isinstance(samples, list) else samples.shape[1]

    def compute(batch):
        pooled = filter_pool(_widen(batch, bank.ndim), bank, poolings,
                             nonlinearity=nonlinearity, mode=mode, channel_axis=1,
                             second_bank=second_bank, batch_size=batch_size,
                             n_threads=n_threads)  # (n, C, maps, cells)
        return apply_invariances(pooled, maps, rotation, scale_pooling)[0].reshape(
            len(batch), -1)

    features = map_by_shape(samples, n_channels * n_maps * n_cells, dtype, compute)
    return normalize(features, normalization, copy=False)


def extract_features(X, *, return_names=False, **params):
    """Feature vectors of images: the whole pipeline as one function.

    Gives what ``FilterBankPooling(**params).fit(X).transform(X)`` gives
    (the banks are built for the shape of ``X``, or the smallest size along
    each axis of a list), as :func:`sklearn.cluster.k_means` does for
    :class:`~sklearn.cluster.KMeans`.

    Parameters
    ----------
    X : array-like or list of array-like
        Images, as :func:`featpool.samples.read_samples` reads them.
    return_names : bool, default False
        Also return the feature names.
    **params
        Parameters of :class:`~featpool.FilterBankPooling`, by name (see
        :data:`DEFAULTS`).

    Returns
    -------
    features : ndarray of shape (n_samples, n_features_out)
    names : ndarray of str objects
        Only with ``return_names``.

    Examples
    --------
    >>> import numpy as np
    >>> from featpool.pipeline import extract_features
    >>> images = np.random.default_rng(0).random((3, 32, 32))
    >>> features, names = extract_features(images, levels=(1, 2), return_names=True)
    >>> features.shape, names[0]
    ((3, 120), 'gabor_s0_o0_mean_l1_c0')
    """
    unknown = sorted(set(params) - set(DEFAULTS))
    if unknown:
        raise TypeError(f"extract_features got unknown parameters {unknown}; the parameters "
                        f"are {list(DEFAULTS)}.")
    p = dict(DEFAULTS, **params)
    owner = "extract_features"
    poolings = as_poolings(p["pooling"], p["levels"], owner)
    samples, _ = read_samples(X, channel_axis=p["channel_axis"], image_shape=p["image_shape"])
    spatial = fit_shape(samples, poolings, owner)
    images = training_images(samples) if p["bank"] == "learned" else None
    bank, second_bank, _ = build_banks(
        spatial, bank=p["bank"], n_scales=p["n_scales"], n_orientations=p["n_orientations"],
        bank_params=p["bank_params"], second_layer=p["second_layer"], dtype=p["dtype"],
        images=images, random_state=p["random_state"], owner=owner)
    check_invariances(p["rotation"], bank, owner)
    features = pipeline_features(
        samples, bank, poolings, nonlinearity=p["nonlinearity"], mode=p["mode"],
        second_bank=second_bank, rotation=p["rotation"], scale_pooling=p["scale_pooling"],
        normalization=p["normalization"], dtype=p["dtype"], batch_size=p["batch_size"],
        n_threads=p["n_threads"])
    if not return_names:
        return features
    maps = output_maps(bank, p["nonlinearity"], second_bank, p["rotation"],
                       p["scale_pooling"])
    n_channels = samples[0].shape[0] if p["channel_axis"] is not None else None
    return features, feature_names(maps, poolings, spatial, n_channels)


def fit_shape(samples, poolings, owner):
    """The grid the banks are built for: the samples' shape (smallest per axis for a list)."""
    nd = samples[0].ndim - 1 if isinstance(samples, list) else samples.ndim - 2
    if isinstance(samples, list):
        if any(p.size is not None for p in poolings):
            raise ValueError(f"{owner} got images of different sizes, but a sliding-window "
                             f"Pooling gives a number of features that depends on the size; "
                             f"use a pyramid (levels) instead.")
        spatial = tuple(min(s.shape[1 + a] for s in samples) for a in range(nd))
    else:
        spatial = samples.shape[2:]
    return tuple(max(n, 2) for n in spatial)


def training_images(samples):
    """Every channel of every sample, for learning filters."""
    if isinstance(samples, list):
        return [c for s in samples for c in s]
    return list(samples.reshape((-1,) + samples.shape[2:]))


def check_invariances(rotation, bank, owner):
    """Refuse rotation='fourier' for a 3D bank, whose directions are not on a circle."""
    if rotation == "fourier" and bank.ndim == 3:
        raise ValueError(
            f"rotation='fourier' needs orientations evenly spaced on a circle, which a 3D "
            f"bank's directions are not; use rotation='max' for volumes in {owner}."
        )
