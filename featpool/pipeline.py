"""The feature pipeline as functions, and its configuration as a plain dict.

The parameters are those of :class:`featpool.FilterBankPooling`, by the same
names. A *configuration* is those parameters as a dict that TOML and JSON
can hold: the batch command's ``--config`` file and the provenance stored
beside every output it writes.
"""
import numbers

import numpy as np

from .pooling import Pooling

__all__ = ["DEFAULTS", "config_to_params", "params_to_config"]

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
        if value == _NONE and DEFAULTS[name] is not None:
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
