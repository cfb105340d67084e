"""scikit-learn transformers: images to feature vectors, feature maps to pooled vectors.

:class:`FilterBankPooling` is the whole featpool path as one estimator:
filter bank → nonlinearity → pooling → invariances → normalization, over
:func:`featpool.filter_pool`. :class:`SpatialPooling` is its second half, for
feature maps computed elsewhere (a network's activations, say).

Both read their input the same way:

* ``(n_samples, H, W)`` grayscale images, ``(n_samples, D, H, W)`` volumes,
  and either with a channel axis when ``channel_axis`` says where it is;
* flat rows ``(n_samples, n_features)``, as scikit-learn's tabular
  estimators take them, reshaped to ``image_shape`` (or the shape seen in
  ``fit``); without either, rows whose length is a perfect square are square
  images (``load_digits().data`` is 8x8, MNIST rows 28x28) and any other row
  is an image one pixel high;
* a list of images, possibly of different sizes: a pyramid pooling gives every
  image the same number of features.
"""
import inspect
import math
import numbers

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.validation import (
    _check_feature_names_in,
    check_array,
    check_is_fitted,
    check_random_state,
    validate_data,
)

from .filters import (
    FilterBank,
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
from .pooling import _OPS, Pooling, _check_levels
from .responses import BORDER_MODES, NONLINEARITIES, filter_pool, response_maps

__all__ = ["FilterBankPooling", "SpatialPooling"]

OPS = tuple(_OPS)
BANKS = ("gabor", "morlet", "leung_malik", "schmid", "rfs", "log", "dog", "learned")
# Builders per bank name and number of spatial dimensions.
_BUILDERS = {
    ("gabor", 2): gabor_bank, ("gabor", 3): gabor_bank_3d,
    ("morlet", 2): morlet_bank, ("morlet", 3): morlet_bank_3d,
    ("leung_malik", 2): leung_malik_bank, ("schmid", 2): schmid_bank,
    ("rfs", 2): rfs_bank, ("log", 2): log_bank, ("dog", 2): dog_bank,
    ("learned", 2): learn_patch_filters,
}
# Input pixels (as float32) transformed at once: bounds the copies made on the way.
_CHUNK_BYTES = 64 * 2**20
# Where FilterBankPooling's defaults differ from the builders' (see its docstring).
_BANK_DEFAULTS = {("gabor", 2): {"aspect_ratio": 1.0, "n_orientations": 6},
                  ("morlet", 2): {"aspect_ratio": 1.0, "n_orientations": 6}}


# --------------------------------------------------------------------------
# Reading samples: arrays, flat rows, lists of images
# --------------------------------------------------------------------------

def _is_ragged(X):
    """Whether X is a list of arrays that do not stack into one array."""
    if not isinstance(X, (list, tuple)) or len(X) == 0:
        return False
    shapes = {np.shape(x) for x in X}
    return len(shapes) > 1 and all(len(s) >= 2 for s in shapes)


def _infer_shape(n_features):
    """Image shape of a flat row without ``image_shape``: square, else one pixel high."""
    side = math.isqrt(n_features)
    return (side, side) if side * side == n_features else (1, n_features)


def _check_shape_param(value, name, owner):
    if value is None:
        return None
    shape = tuple(value)
    if not shape or not all(isinstance(v, numbers.Integral) and not isinstance(v, bool)
                            and v >= 1 for v in shape):
        raise ValueError(f"The '{name}' parameter of {owner} must be a tuple of ints >= 1. "
                         f"Got {value!r} instead.")
    return tuple(int(v) for v in shape)


def _channels_first(x, channel_axis, owner):
    """Move ``channel_axis`` of a batch x (n, ...) to axis 1, or add a channel axis."""
    if channel_axis is None:
        return x[:, None]
    if not -x.ndim < channel_axis < x.ndim or channel_axis % x.ndim == 0:
        raise ValueError(
            f"The 'channel_axis' parameter of {owner} must be an axis of the samples "
            f"other than the first (the sample axis), in [1, {x.ndim - 1}] or "
            f"[{-x.ndim + 1}, -1], for input of shape {x.shape}. Got {channel_axis} instead."
        )
    return np.moveaxis(x, channel_axis, 1)


def _widen(x, spatial_ndim):
    """Repeat axes of length 1 to length 2: filtering needs 2 pixels per axis.

    Every border mode but 'constant' extends a 1-pixel axis by repeating it,
    so the responses along it are constant either way.
    """
    for axis in range(x.ndim - spatial_ndim, x.ndim):
        if x.shape[axis] == 1:
            x = np.repeat(x, 2, axis=axis)
    return x


def _read(estimator, X, reset, image_shape, fitted_shape, channel_axis, owner):
    """Validate X; return (samples, sample_shape).

    ``samples`` is an array (n, C, *spatial) or, for a list of images of
    different sizes, a list of arrays (C, *spatial); ``sample_shape`` is the
    shape of one sample as given (None for such a list). Flat rows are
    reshaped to ``image_shape``, else ``fitted_shape``, else inferred. Sets or
    checks ``n_features_in_`` (values per sample) and ``feature_names_in_``.
    """
    if _is_ragged(X):
        items = []
        for x in X:
            x = np.asarray(x)
            if x.dtype.kind not in "biuf":
                raise ValueError(f"{owner} takes real numeric images. Got an image of "
                                 f"dtype {x.dtype}.")
            if not np.isfinite(x).all():
                raise ValueError(f"{owner} got an image that contains NaN or infinite "
                                 f"pixels; replace them first (e.g. np.nan_to_num).")
            items.append(_channels_first(x[None], channel_axis, owner)[0])
        if len({(s.ndim, s.shape[0]) for s in items}) > 1:
            raise ValueError(f"{owner} got a list of images with different numbers of "
                             f"axes or channels: {sorted({np.shape(x) for x in X})}.")
        if reset:
            for attribute in ("n_features_in_", "feature_names_in_"):
                if hasattr(estimator, attribute):
                    delattr(estimator, attribute)
        return items, None

    if not hasattr(X, "shape") and not hasattr(X, "__dataframe__"):
        X = np.asarray(X)
    ndim = len(X.shape) if hasattr(X, "shape") else 2
    if ndim > 2:
        # Images are validated as their flattened rows: sklearn's checks
        # (dtype, NaN, empty input) and n_features_in_ = pixels per sample.
        X = np.asarray(X)
        flat = X.reshape(len(X), math.prod(X.shape[1:]))
        if reset:
            flat = validate_data(estimator, flat, dtype="numeric")
        else:
            # Any image size goes where the pooling allows it: the callers
            # check shapes; n_features_in_ binds flat rows only.
            flat = check_array(flat, dtype="numeric", ensure_min_samples=0)
        sample_shape = X.shape[1:]
        if image_shape is not None and tuple(image_shape) != sample_shape:
            raise ValueError(
                f"The 'image_shape' parameter of {owner} applies to flat rows; the "
                f"samples given have shape {sample_shape}, not {tuple(image_shape)}."
            )
        x = flat.reshape(X.shape)
    else:
        x = validate_data(estimator, X, reset=reset, dtype="numeric",
                          ensure_min_samples=1 if reset else 0)
        n_features = x.shape[1]
        sample_shape = image_shape or fitted_shape
        source = ("image_shape" if image_shape else "the shape seen in fit" if fitted_shape
                  else "a square, or one pixel high")
        if sample_shape is None:
            if channel_axis is not None:
                raise ValueError(
                    f"{owner} with channel_axis={channel_axis} needs 'image_shape' to read "
                    f"flat rows of {n_features} features (e.g. image_shape=(32, 32, 3))."
                )
            sample_shape = _infer_shape(n_features)
        if math.prod(sample_shape) != n_features:
            raise ValueError(
                f"{owner} reads each row as an image of shape {tuple(sample_shape)} "
                f"({source}: {math.prod(sample_shape)} values), but X has {n_features} "
                f"features."
            )
        x = x.reshape((len(x),) + tuple(sample_shape))
    return _channels_first(x, channel_axis, owner), tuple(sample_shape)


# --------------------------------------------------------------------------
# Pooling specs, names, reductions, normalization
# --------------------------------------------------------------------------

def _poolings(pooling, levels, owner):
    """The Pooling specs: op names become pyramids over ``levels``."""
    levels = _check_levels(levels, owner)
    items = (pooling,) if isinstance(pooling, (str, Pooling)) else tuple(pooling)
    message = (f"The 'pooling' parameter of {owner} must be an op in {list(OPS)}, a Pooling, "
               f"or a non-empty tuple of them. Got {pooling!r} instead.")
    if not items:
        raise ValueError(message)
    out = []
    for item in items:
        if isinstance(item, Pooling):
            out.append(item)
        elif isinstance(item, str) and item in OPS:
            out.append(Pooling(item, levels=levels))
        else:
            raise ValueError(message)
    return tuple(out)


def _cell_names(poolings, spatial):
    names = []
    for p in poolings:
        op = f"lp{p.p:g}" if p.op == "lp" else p.op
        if p.size is None:
            for g in p.levels:
                names += [f"{op}_l{g}_c{i}" for i in range(g ** len(spatial))]
        else:
            names += [f"{op}_w_c{i}" for i in range(p.n_cells(spatial))]
    return names


def _map_name(m):
    parts = [m["kind"]]
    for key in ("s", "t", "k", "o", "h"):
        if m.get(key) is not None:
            parts.append(f"{key}{m[key]}")
    if m.get("kind2"):
        parts.append(f"_{m['kind2']}_s{m['s2']}_d{m['d']}")
    if m.get("part"):
        parts.append(m["part"])
    return "_".join(parts)


def _filter_maps(bank, nonlinearity, second_bank=None):
    """One dict per map of filter_pool's result: what it is, for names and invariances."""
    parts = {"relu_pos": "pos", "relu_neg": "neg"}
    if second_bank is not None:
        n_orientations = 1 + max(m["orientation_index"] for m in second_bank.metadata)
    maps = []
    all_described = response_maps(bank, nonlinearity, second_bank)
    for described in all_described:
        m = bank.metadata[described["filter"]]
        entry = {"kind": m["kind"], "s": m.get("scale_index"), "o": m.get("orientation_index"),
                 "t": m.get("tau"), "k": m.get("centroid"),
                 "part": parts.get(described["part"])}
        if entry["k"] is not None:
            entry["s"] = None
        if described["layer"] == 2:
            # The second bank's scales are the first's from j = 1 on; its
            # orientation is relative to the first filter's, so that a
            # rotation shifts only ``o``.
            m2 = second_bank.metadata[described["second_filter"]]
            entry.update(kind2=m2["kind"], s2=m2["scale_index"] + 1,
                         d=(m2["orientation_index"] - entry["o"]) % n_orientations)
        maps.append(entry)
    names = [_map_name(m) for m in maps]
    if len(set(names)) < len(names):  # e.g. a custom bank: tell filters apart by index
        for m, described in zip(maps, all_described):
            m["kind"] = f"{m['kind']}{described['filter']}"
    return maps


def _groups(maps, field):
    """Indices of maps equal in every field but ``field`` (which is not None)."""
    groups = {}
    for i, m in enumerate(maps):
        if m.get(field) is None:
            continue
        key = tuple(sorted((k, str(v)) for k, v in m.items() if k != field))
        groups.setdefault(key, []).append(i)
    return [sorted(g, key=lambda i: maps[i][field]) for g in groups.values()]


def _pool_scales(features, maps, width):
    """Max over windows of ``width`` neighbouring scales (stride 1)."""
    out, new_maps, used = [], [], set()
    for group in _groups(maps, "s"):
        used.update(group)
        for start in range(max(1, len(group) - width + 1)):
            window = group[start:start + width]
            out.append(features[:, :, window].max(axis=2))
            s = [maps[i]["s"] for i in window]
            new_maps.append(dict(maps[window[0]], s=f"{s[0]}-{s[-1]}" if len(s) > 1 else s[0]))
    rest = [i for i in range(len(maps)) if i not in used]
    out += [features[:, :, i] for i in rest]
    new_maps += [maps[i] for i in rest]
    return np.stack(out, axis=2), new_maps


def _pool_orientations(features, maps, rotation):
    """Rotation invariance: max, or DFT modulus, over each orientation group."""
    out, new_maps, used = [], [], set()
    for group in _groups(maps, "o"):
        used.update(group)
        block = features[:, :, group]
        if rotation == "max":
            out.append(block.max(axis=2, keepdims=True))
            new_maps.append(dict(maps[group[0]], o="max"))
        else:
            # A rotation by a multiple of the orientation step shifts the
            # group cyclically; the moduli of its DFT do not see the shift.
            spectrum = np.abs(np.fft.rfft(block, axis=2)) / len(group)
            out.append(spectrum.astype(features.dtype, copy=False))
            new_maps += [dict(maps[group[0]], o=None, h=h) for h in range(spectrum.shape[2])]
    rest = [i for i in range(len(maps)) if i not in used]
    out += [features[:, :, [i]] for i in rest]
    new_maps += [maps[i] for i in rest]
    return np.concatenate(out, axis=2), new_maps


def _normalize(features, normalization):
    """Per-sample normalization of (n, d) features, in place where possible."""
    if normalization is None:
        return features
    if normalization == "power":
        features = np.sign(features) * np.sqrt(np.abs(features))
    norm = np.linalg.norm(features, axis=1, keepdims=True)
    features /= np.maximum(norm, np.finfo(features.dtype).tiny)
    return features


def _first_of_each_shape(samples):
    """One sample of each shape: what shape checks need to see."""
    if isinstance(samples, list):
        return list({x.shape: x for x in samples}.values())
    return [samples[0]] if len(samples) else []


def _by_shape(samples, n_out, dtype, compute):
    """Apply ``compute`` (n, C, *spatial) -> (n, n_out) to samples, grouped by shape.

    A few samples at a time (``_CHUNK_BYTES`` of float32 pixels), so that the
    copies made on the way (channels moved, dtype cast) stay small.
    """
    out = np.empty((len(samples), n_out), dtype=dtype)
    if isinstance(samples, list):
        groups = {}
        for i, x in enumerate(samples):
            groups.setdefault(x.shape, []).append(i)
    else:
        groups = {samples.shape[1:]: list(range(len(samples)))} if len(samples) else {}
    for shape, index in groups.items():
        step = max(1, _CHUNK_BYTES // (4 * math.prod(shape)))
        for start in range(0, len(index), step):
            chunk = index[start:start + step]
            if isinstance(samples, list):
                out[chunk] = compute(np.stack([samples[i] for i in chunk]))
            else:
                out[chunk[0]:chunk[-1] + 1] = compute(samples[chunk[0]:chunk[-1] + 1])
    return out


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


def _set_tags(tags, dtype):
    tags.transformer_tags.preserves_dtype = [np.dtype(dtype).name]
    tags.input_tags.three_d_array = True
    return tags


# --------------------------------------------------------------------------
# FilterBankPooling
# --------------------------------------------------------------------------

class FilterBankPooling(TransformerMixin, BaseEstimator):
    """Images to feature vectors: filter bank, nonlinearity, pooling, normalization.

    Each image is filtered with a bank (Gabor by default), its responses go
    through a nonlinearity (modulus by default) and are pooled over a
    spatial pyramid of cells; optional steps make the result invariant to
    rotation (over orientations) or to small changes of scale (over
    neighbouring scales), add a second, scattering-like layer, and normalize
    each vector. The filtering is :func:`featpool.filter_pool`'s FFT engine.

    Parameters
    ----------
    bank : {'gabor', 'morlet', 'leung_malik', 'schmid', 'rfs', 'log', 'dog', \
'learned'} or FilterBank, default='gabor'
        The filters: built in :meth:`fit` for the images' shape by
        :func:`~featpool.gabor_bank`, :func:`~featpool.morlet_bank`,
        :func:`~featpool.leung_malik_bank`, :func:`~featpool.schmid_bank`,
        :func:`~featpool.rfs_bank`, :func:`~featpool.log_bank`,
        :func:`~featpool.dog_bank` (for volumes: ``'gabor'`` and ``'morlet'``
        give the 3D banks), or learned from the training images by
        :func:`~featpool.learn_patch_filters` (k-means on whitened patches).
        A :class:`~featpool.FilterBank` is used as it is (its dtype sets the
        precision of the filtering).
    n_scales : int, optional
        Number of scales, one octave apart: of the Gabor/Morlet bank
        (default: as many as keep the coarsest envelope's standard deviation
        within half the smallest image side, at most 5 in 2D and 3 in 3D:
        2 for 8x8, 4 for 28x28, 5 from 64x64 up) or of the LoG/DoG bank
        (sigmas 1, 2, 4, ...). Must be None for the other banks.
    n_orientations : int, optional
        Orientations of the Gabor/Morlet bank (default 6 in 2D, as many as
        8 on MNIST and 25% cheaper; 13 in 3D). Must be None for the other
        banks.
    bank_params : dict, optional
        Further keyword arguments of the bank's builder (``bandwidth``,
        ``frequency_range``, ``support``, ``sigmas``, ``n_filters``,
        ``patch_size``, ...). The one default that differs from the
        builders': ``aspect_ratio=1.0`` for 2D Gabor/Morlet banks (round
        envelopes: 0.8 point less error on MNIST than the builder's 0.5).
    nonlinearity : {'modulus', 'real', 'abs', 'relu_split', 'square'}, \
default='modulus'
        Applied to the complex responses, as in :func:`~featpool.filter_pool`;
        'relu_split' gives two maps per filter.
    pooling : str, Pooling or tuple of them, default='mean'
        How each map is pooled: an op among 'mean', 'max', 'min', 'sum',
        'lp', 'std', 'var' (a pyramid over ``levels``), a
        :class:`~featpool.Pooling` (used as it is, e.g. a sliding window),
        or a tuple of them, concatenated (``('mean', 'std')`` for textures).
    levels : tuple of int, default=(1, 2, 4)
        Pyramid levels of the op names in ``pooling``: level ``g`` is a
        ``g x g`` grid of cells (``g x g x g`` for volumes); ``(1,)`` is
        global pooling. A pyramid gives the same number of features for
        every image size.
    rotation : {'max', 'fourier'}, optional
        Rotation invariance: over each group of filters that differ only by
        orientation, keep the maximum ('max') or the moduli of the discrete
        Fourier transform along the orientations ('fourier', ``n // 2 + 1``
        values per group; 2D only). A rotation of the image by a multiple of
        the orientation step then leaves each cell's features unchanged, and
        other angles nearly so; the cells themselves turn with the image, so
        use ``levels=(1,)`` for features of the whole image that are
        invariant.
    scale_pooling : int, optional
        Invariance to small scale changes: the maximum over windows of this
        many neighbouring scales (stride 1), as HMAX's C1 layer.
    second_layer : bool, default=False
        Add a second layer, as a scattering transform: each first-layer
        modulus map ``|x * g1|`` is filtered again by Morlet filters (same
        orientations) at every scale coarser than ``g1``'s, and the
        ``nonlinearity`` of those responses is pooled like the first layer's
        (:func:`~featpool.filter_pool`'s ``second_bank``). Gabor and Morlet
        banks only. Costs about ``n_orientations`` times the first layer.
    normalization : {'power', 'l2'}, default='power'
        Per-sample normalization of the whole vector: 'l2' divides by its
        Euclidean norm; 'power' first takes the signed square root of each
        feature (which tames the heavy tails of pooled energies), then
        divides by the norm. None leaves the features as pooled.
    image_shape : tuple of int, optional
        Shape of one sample, to read flat rows ``(n_samples, n_features)``:
        ``(H, W)``, ``(D, H, W)``, or with the channel axis where
        ``channel_axis`` says. Default: the shape seen in :meth:`fit`, or for
        flat rows seen there, square images (one pixel high where
        ``n_features`` is not a square).
    channel_axis : int, optional
        Axis of the input array (samples first) that holds channels, e.g.
        -1 for ``(n, H, W, 3)`` colour images. Each channel is filtered on
        its own; its features follow those of the previous channel.
    mode : {'wrap', 'reflect', 'mirror', 'nearest', 'constant'}, default='wrap'
        Border handling, as in :func:`~featpool.filter_pool`. 'wrap' (a
        circular convolution, no padding) was as accurate as 'reflect' on
        every data set measured (digits, faces, textures, photos) and is 2x
        (512x512) to 8x (28x28) faster; choose 'reflect' where the features
        of cells at the image border must not see the opposite border.
    dtype : {np.float32, np.float64}, default=np.float32
        Precision of the bank and of the features.
    batch_size : int, optional
        Images filtered at once (default: from a 256 MiB budget).
    n_threads : int, optional
        Threads (default: all that OpenMP allows; negative counts back).
    random_state : int, RandomState instance or None, default=None
        Seeds the learned filters (``bank='learned'``).

    Attributes
    ----------
    bank_ : FilterBank
        The first layer's filters, on the grid of the images seen in
        :meth:`fit` (the smallest size along each axis, for a list).
    second_bank_ : FilterBank or None
        The second layer's filters.
    filters_ : PatchFilters or None
        The learned filters (``bank='learned'``).
    image_shape_ : tuple of int or None
        Shape of one sample seen in :meth:`fit` (None for images of
        different sizes).
    n_channels_ : int
        Channels per sample (1 without ``channel_axis``).
    n_features_in_ : int
        Values per sample seen in :meth:`fit` (absent for images of
        different sizes).
    feature_names_in_ : ndarray of str
        Column names of a DataFrame seen in :meth:`fit`.

    See Also
    --------
    SpatialPooling : the pooling half, for feature maps computed elsewhere.
    featpool.filter_pool : the function underneath.

    Notes
    -----
    Input: ``(n, H, W)`` images, ``(n, D, H, W)`` volumes (3D Gabor/Morlet
    banks), the same with a channel axis (``channel_axis``), flat rows (see
    ``image_shape``), or a list of images of any sizes. Images are not
    resized: a different size at :meth:`transform` than in :meth:`fit` is
    filtered by the same filters (same frequencies, on the new grid) and,
    with pyramid pooling, gives features of the same length; a sliding
    :class:`~featpool.Pooling` window, or flat rows, need the fitted size.
    An axis of length 1 is read as constant along it (it is repeated to
    length 2: every border mode but 'constant' extends it that way).
    NaN or infinite pixels raise a ValueError. An empty batch transforms to
    an empty ``(0, n_features_out)`` array (fitting on one is an error).

    The defaults were chosen by measurement on MNIST digits, LFW faces,
    textures and natural photos (``benchmarks/bench_accuracy.py``,
    ``docs/transformers.md``).

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from featpool.transformers import FilterBankPooling
    >>> X, y = load_digits(return_X_y=True)          # flat 8x8 rows
    >>> features = FilterBankPooling().fit_transform(X[:100])
    >>> features.shape, features.dtype
    ((100, 252), dtype('float32'))
    >>> model = make_pipeline(FilterBankPooling(), LogisticRegression(max_iter=1000))
    >>> bool(model.fit(X[:1000], y[:1000]).score(X[1000:], y[1000:]) > 0.9)
    True
    """

    _parameter_constraints = {
        "bank": [StrOptions(set(BANKS)), FilterBank],
        "n_scales": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "n_orientations": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "bank_params": [dict, None],
        "nonlinearity": [StrOptions(set(NONLINEARITIES))],
        "pooling": [StrOptions(set(OPS)), Pooling, tuple, list],
        "levels": [tuple, list],
        "rotation": [StrOptions({"max", "fourier"}), None],
        "scale_pooling": [Interval(numbers.Integral, 2, None, closed="left"), None],
        "second_layer": ["boolean"],
        "normalization": [StrOptions({"l2", "power"}), None],
        "image_shape": [tuple, list, None],
        "channel_axis": [numbers.Integral, None],
        "mode": [StrOptions(set(BORDER_MODES))],
        "dtype": [Options(type, {np.float32, np.float64})],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "n_threads": [Interval(numbers.Integral, None, -1, closed="right"),
                      Interval(numbers.Integral, 1, None, closed="left"), None],
        "random_state": ["random_state"],
    }

    def __init__(self, bank="gabor", n_scales=None, n_orientations=None, bank_params=None,
                 nonlinearity="modulus", pooling="mean", levels=(1, 2, 4), rotation=None,
                 scale_pooling=None, second_layer=False, normalization="power",
                 image_shape=None, channel_axis=None, mode="wrap", dtype=np.float32,
                 batch_size=None, n_threads=None, random_state=None):
        self.bank = bank
        self.n_scales = n_scales
        self.n_orientations = n_orientations
        self.bank_params = bank_params
        self.nonlinearity = nonlinearity
        self.pooling = pooling
        self.levels = levels
        self.rotation = rotation
        self.scale_pooling = scale_pooling
        self.second_layer = second_layer
        self.normalization = normalization
        self.image_shape = image_shape
        self.channel_axis = channel_axis
        self.mode = mode
        self.dtype = dtype
        self.batch_size = batch_size
        self.n_threads = n_threads
        self.random_state = random_state

    # ---------------------------------------------------------------- fit

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Build the filter bank for the images' shape (learn it for 'learned').

        Parameters
        ----------
        X : array-like or list of array-like
            Training images, in any of the forms the class accepts (see
            Notes of :class:`FilterBankPooling`). Only their shape is used,
            except by ``bank='learned'``, which learns from their patches.
        y : None
            Ignored.

        Returns
        -------
        self : FilterBankPooling
            Fitted.

        Examples
        --------
        >>> import numpy as np
        >>> from featpool.transformers import FilterBankPooling
        >>> images = np.random.default_rng(0).random((4, 32, 32))
        >>> FilterBankPooling(n_scales=2).fit(images).bank_
        FilterBank(n_filters=12, shape=(32, 32), dtype=float32, kinds=('gabor',), spatial_support=12)
        """
        owner = type(self).__name__
        image_shape = _check_shape_param(self.image_shape, "image_shape", owner)
        poolings = _poolings(self.pooling, self.levels, owner)
        samples, sample_shape = _read(self, X, True, image_shape, None, self.channel_axis,
                                      owner)
        spatial_ndim = (samples[0].ndim if isinstance(samples, list) else samples.ndim - 1) - 1
        if spatial_ndim not in (2, 3):
            raise ValueError(
                f"{owner} filters 2D images or 3D volumes; the samples given have "
                f"{spatial_ndim} spatial axes (shape {sample_shape}"
                f"{', channel_axis=' + str(self.channel_axis) if self.channel_axis else ''})."
            )
        if isinstance(samples, list):
            spatial = tuple(min(s.shape[1 + a] for s in samples) for a in range(spatial_ndim))
            if any(p.size is not None for p in poolings):
                raise ValueError(f"{owner} got images of different sizes, but a sliding-window "
                                 f"Pooling gives a number of features that depends on the "
                                 f"size; use a pyramid (levels) instead.")
        else:
            spatial = samples.shape[2:]
        spatial = tuple(max(n, 2) for n in spatial)
        if self.rotation == "fourier" and spatial_ndim == 3:
            raise ValueError(
                f"rotation='fourier' needs orientations evenly spaced on a circle, which a "
                f"3D bank's directions are not; use rotation='max' for volumes in {owner}."
            )
        self.filters_ = None
        self.bank_ = self._build_bank(spatial, samples)
        self.second_bank_ = self._build_second_bank(spatial) if self.second_layer else None
        self.image_shape_ = sample_shape
        self.n_channels_ = samples[0].shape[0]
        self._spatial = spatial
        self._poolings = poolings
        self._input_maps = _filter_maps(self.bank_, self.nonlinearity, self.second_bank_)
        self._maps = self._invariances(
            np.zeros((1, 1, len(self._input_maps), 1), dtype=np.float32))[1]
        return self

    def _bank_kwargs(self, name, nd):
        builder = _BUILDERS[name, nd]
        kwargs = dict(_BANK_DEFAULTS.get((name, nd), {}))
        kwargs.update(self.bank_params or {})
        accepted = set(inspect.signature(builder).parameters) - {
            "shape", "images", "dtype", "random_state", "n_scales", "n_orientations"}
        unknown = set(self.bank_params or {}) - accepted
        if unknown:
            raise ValueError(
                f"The 'bank_params' parameter of {type(self).__name__} has keys that "
                f"{builder.__name__} does not take: {sorted(unknown)}. It takes "
                f"{sorted(accepted)}."
            )
        return builder, kwargs

    def _build_bank(self, spatial, samples):
        owner = type(self).__name__
        nd = len(spatial)
        if isinstance(self.bank, FilterBank):
            if self.bank.ndim != nd:
                raise ValueError(f"The {self.bank.ndim}D FilterBank given as 'bank' cannot "
                                 f"filter {nd}D samples.")
            return self.bank.for_shape(spatial)
        if (self.bank, nd) not in _BUILDERS:
            raise ValueError(f"bank={self.bank!r} is a 2D bank; for {nd}D samples use "
                             f"'gabor' or 'morlet'.")
        builder, kwargs = self._bank_kwargs(self.bank, nd)
        oriented = self.bank in ("gabor", "morlet")
        if oriented and self.n_scales is None and "frequency_range" not in kwargs:
            kwargs["n_scales"] = _default_n_scales(builder, spatial, kwargs, self.dtype)
        for name in ("n_scales", "n_orientations"):
            value = getattr(self, name)
            if value is None:
                continue
            if oriented:
                kwargs[name] = value
            elif name == "n_scales" and self.bank in ("log", "dog"):
                kwargs.setdefault("sigmas", tuple(2.0 ** np.arange(value)))
            else:
                raise ValueError(f"The '{name}' parameter of {owner} must be None for "
                                 f"bank={self.bank!r}, whose design fixes it. Got {value}.")
        if self.bank == "learned":
            images = ([c for s in samples for c in s] if isinstance(samples, list)
                      else list(samples.reshape((-1,) + samples.shape[2:])))
            rng = check_random_state(self.random_state)
            self.filters_ = builder(images, random_state=rng, **kwargs)
            return self.filters_.bank(spatial, dtype=self.dtype)
        return builder(spatial, dtype=self.dtype, **kwargs)

    def _build_second_bank(self, spatial):
        owner = type(self).__name__
        if isinstance(self.bank, FilterBank) or self.bank not in ("gabor", "morlet"):
            raise ValueError(f"second_layer=True needs bank='gabor' or 'morlet' in {owner}. "
                             f"Got bank={self.bank!r}.")
        frequencies = sorted({m["frequency"] for m in self.bank_.metadata}, reverse=True)
        if len(frequencies) < 2:
            raise ValueError(f"second_layer=True needs a bank with at least 2 scales; the "
                             f"bank for images of shape {spatial} has 1 (set n_scales).")
        n_orientations = 1 + max(m["orientation_index"] for m in self.bank_.metadata)
        builder, kwargs = self._bank_kwargs("morlet", len(spatial))
        kwargs = {k: v for k, v in kwargs.items() if k in ("bandwidth", "aspect_ratio")}
        return builder(spatial, n_scales=len(frequencies) - 1, n_orientations=n_orientations,
                       frequency_range=(frequencies[-1], frequencies[1]), dtype=self.dtype,
                       **kwargs)

    # ---------------------------------------------------------- transform

    def transform(self, X):
        """Compute the feature vector of each image.

        Parameters
        ----------
        X : array-like or list of array-like
            Images in any of the forms the class accepts (see Notes of
            :class:`FilterBankPooling`), with the channels and number of
            spatial axes seen in :meth:`fit`.

        Returns
        -------
        features : ndarray of shape (n_samples, n_features_out)
            In ``dtype``; named by :meth:`get_feature_names_out`.

        Examples
        --------
        >>> import numpy as np
        >>> from featpool.transformers import FilterBankPooling
        >>> rng = np.random.default_rng(0)
        >>> model = FilterBankPooling(pooling=("mean", "std"), levels=(1,))
        >>> model.fit(rng.random((2, 48, 48))).transform(rng.random((3, 48, 48))).shape
        (3, 60)
        >>> model.transform([rng.random((40, 50)), rng.random((64, 64))]).shape
        (2, 60)
        """
        check_is_fitted(self, "bank_")
        owner = type(self).__name__
        samples, sample_shape = _read(self, X, False,
                                      _check_shape_param(self.image_shape, "image_shape", owner),
                                      self.image_shape_, self.channel_axis, owner)
        self._check_samples(samples, sample_shape)
        n_cells = sum(p.n_cells(self._spatial) for p in self._poolings)
        features = _by_shape(samples, self.n_channels_ * len(self._maps) * n_cells, self.dtype,
                             self._features)
        return _normalize(features, self.normalization)

    def _check_samples(self, samples, sample_shape):
        owner = type(self).__name__
        fixed = any(p.size is not None for p in self._poolings)
        for s in _first_of_each_shape(samples):
            if s.ndim - 1 != self.bank_.ndim or s.shape[0] != self.n_channels_:
                raise ValueError(
                    f"{owner} was fitted on samples of shape {self.image_shape_} "
                    f"(channel_axis={self.channel_axis}): {self.n_channels_} channel(s) of "
                    f"{self.bank_.ndim}D images. Got samples with {s.shape[0]} channel(s) of "
                    f"{s.ndim - 1}D images (shape {sample_shape or s.shape})."
                )
            if fixed and tuple(max(n, 2) for n in s.shape[1:]) != self._spatial:
                raise ValueError(
                    f"{owner} was fitted on images of spatial shape {self._spatial}; its "
                    f"sliding-window pooling needs that shape, got {s.shape[1:]}."
                )

    def _features(self, samples):
        """Features (n, C * maps * cells), unnormalized, of an array (n, C, *spatial)."""
        pooled = filter_pool(_widen(samples, self.bank_.ndim), self.bank_, self._poolings,
                             nonlinearity=self.nonlinearity, mode=self.mode, channel_axis=1,
                             second_bank=self.second_bank_, batch_size=self.batch_size,
                             n_threads=self.n_threads)  # (n, C, maps, cells)
        return self._invariances(pooled)[0].reshape(len(samples), -1)

    def _invariances(self, pooled):
        """Scale and orientation pooling of (n, C, maps, cells): (pooled, their maps)."""
        maps = self._input_maps
        if self.scale_pooling is not None:
            pooled, maps = _pool_scales(pooled, maps, self.scale_pooling)
        if self.rotation is not None:
            pooled, maps = _pool_orientations(pooled, maps, self.rotation)
        return pooled, maps

    def get_feature_names_out(self, input_features=None):
        """Name each output feature by its filter, op and pyramid cell.

        Names read ``{filter}_{op}_l{level}_c{cell}``: the filter is its kind
        with ``s`` (scale index), ``o`` (orientation index) and, where used,
        ``t`` (Schmid's tau), ``k`` (learned filter), ``pos``/``neg``
        ('relu_split'), ``h`` (harmonic of the orientation DFT,
        ``rotation='fourier'``), ``omax`` (``rotation='max'``), ``s0-1``
        (pooled scales), ``__morlet_s{j2}_d{delta}`` (second layer:
        its scale and orientation relative to the first filter's); cells are
        row-major in a ``level x level`` grid (``w`` for a sliding window).
        With ``channel_axis``, names start with ``ch{c}_``.

        Parameters
        ----------
        input_features : array-like of str, optional
            Only checked against the input seen in :meth:`fit`.

        Returns
        -------
        feature_names_out : ndarray of str objects

        Examples
        --------
        >>> import numpy as np
        >>> from featpool.transformers import FilterBankPooling
        >>> model = FilterBankPooling(levels=(1, 2)).fit(np.zeros((1, 28, 28)))
        >>> names = model.get_feature_names_out()
        >>> names[:3].tolist(), len(names)
        (['gabor_s0_o0_mean_l1_c0', 'gabor_s0_o0_mean_l2_c0', 'gabor_s0_o0_mean_l2_c1'], 120)
        """
        check_is_fitted(self, "bank_")
        _check_feature_names_in(self, input_features, generate_names=False)
        cells = _cell_names(self._poolings, self._spatial)
        maps = [_map_name(m) for m in self._maps]
        names = [f"{m}_{c}" for m in maps for c in cells]
        if self.channel_axis is not None:
            names = [f"ch{k}_{name}" for k in range(self.n_channels_) for name in names]
        return np.asarray(names, dtype=object)

    def __sklearn_tags__(self):
        return _set_tags(super().__sklearn_tags__(), self.dtype)


# --------------------------------------------------------------------------
# SpatialPooling
# --------------------------------------------------------------------------

class SpatialPooling(TransformerMixin, BaseEstimator):
    """Feature maps to vectors: pool each map over a pyramid of cells.

    For maps computed elsewhere (a network's activations, responses of
    filters of one's own): ``(n_samples, C, H, W)`` maps (or volumes
    ``(n_samples, C, D, H, W)``) become ``(n_samples, C * n_cells)`` vectors,
    with the pooling options of :class:`FilterBankPooling`.

    Parameters
    ----------
    pooling : str, Pooling or tuple of them, default='mean'
        An op among 'mean', 'max', 'min', 'sum', 'lp', 'std', 'var' (a
        pyramid over ``levels``), a :class:`~featpool.Pooling`, or a tuple of
        them, concatenated.
    levels : tuple of int, default=(1, 2, 4)
        Pyramid levels of the op names in ``pooling``.
    normalization : {'power', 'l2'}, optional
        Per-sample normalization of the whole vector, as in
        :class:`FilterBankPooling`. Default None: the pooled values.
    map_shape : tuple of int, optional
        Shape of one sample, to read flat rows: ``(C, H, W)`` (with
        ``channel_axis=1``), ``(H, W)`` (with ``channel_axis=None``), ...
        Default: the shape seen in :meth:`fit`; for flat rows seen there,
        one square map per row (one pixel high where the row length is not
        a square).
    channel_axis : int or None, default=1
        Axis of the input array (samples first) that indexes the maps: 1 for
        ``(n, C, H, W)`` (PyTorch), -1 for ``(n, H, W, C)``; None for one map
        per sample ``(n, H, W)``.
    spatial_ndim : {2, 3}, default=2
        Pooled axes per map: 2 for images, 3 for volumes.
    dtype : {np.float32, np.float64}, default=np.float32
        Precision of the output.
    n_threads : int, optional
        Threads of the pooling kernel.

    Attributes
    ----------
    map_shape_ : tuple of int
        Shape of one sample seen in :meth:`fit` (as given, channels where
        they were).
    n_features_in_ : int
        Values per sample seen in :meth:`fit`.
    feature_names_in_ : ndarray of str
        Column names of a DataFrame seen in :meth:`fit`.

    See Also
    --------
    FilterBankPooling : filters images first.
    featpool.pyramid_pool : the function underneath.

    Examples
    --------
    >>> import numpy as np
    >>> from featpool.transformers import SpatialPooling
    >>> maps = np.random.default_rng(0).random((10, 16, 14, 14))   # (n, C, H, W)
    >>> SpatialPooling(pooling=("mean", "max"), levels=(1, 2)).fit_transform(maps).shape
    (10, 160)
    """

    _parameter_constraints = {
        "pooling": [StrOptions(set(OPS)), Pooling, tuple, list],
        "levels": [tuple, list],
        "normalization": [StrOptions({"l2", "power"}), None],
        "map_shape": [tuple, list, None],
        "channel_axis": [numbers.Integral, None],
        "spatial_ndim": [Options(numbers.Integral, {2, 3})],
        "dtype": [Options(type, {np.float32, np.float64})],
        "n_threads": [Interval(numbers.Integral, None, -1, closed="right"),
                      Interval(numbers.Integral, 1, None, closed="left"), None],
    }

    def __init__(self, pooling="mean", levels=(1, 2, 4), normalization=None, map_shape=None,
                 channel_axis=1, spatial_ndim=2, dtype=np.float32, n_threads=None):
        self.pooling = pooling
        self.levels = levels
        self.normalization = normalization
        self.map_shape = map_shape
        self.channel_axis = channel_axis
        self.spatial_ndim = spatial_ndim
        self.dtype = dtype
        self.n_threads = n_threads

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Record the shape of the maps and check the pooling parameters.

        Parameters
        ----------
        X : array-like
            Feature maps ``(n_samples, C, H, W)`` (see ``channel_axis`` and
            ``spatial_ndim``), or flat rows (see ``map_shape``).
        y : None
            Ignored.

        Returns
        -------
        self : SpatialPooling
            Fitted.

        Examples
        --------
        >>> import numpy as np
        >>> from featpool.transformers import SpatialPooling
        >>> SpatialPooling().fit(np.zeros((2, 8, 7, 7))).map_shape_
        (8, 7, 7)
        """
        owner = type(self).__name__
        self._poolings = _poolings(self.pooling, self.levels, owner)
        map_shape = _check_shape_param(self.map_shape, "map_shape", owner)
        # Flat rows without map_shape: one map per row (see map_shape).
        flat = map_shape is None and not _is_ragged(X) and (
            X.ndim if hasattr(X, "ndim") else np.asarray(X).ndim) == 2
        channel_axis = None if flat else self.channel_axis
        samples, shape = _read(self, X, True, map_shape, None, channel_axis, owner)
        first = samples[0]
        if first.ndim - 1 != self.spatial_ndim:
            axes = self.spatial_ndim + (channel_axis is not None)
            raise ValueError(
                f"{owner} with spatial_ndim={self.spatial_ndim} and channel_axis="
                f"{channel_axis} expects samples of {axes} axes; got samples of shape "
                f"{shape or first.shape}."
            )
        if isinstance(samples, list) and any(p.size is not None for p in self._poolings):
            raise ValueError(f"{owner} got maps of different sizes, but a sliding-window "
                             f"Pooling gives a number of features that depends on the "
                             f"size; use a pyramid (levels) instead.")
        self._channel_axis = channel_axis
        self.map_shape_ = shape
        self._n_maps = first.shape[0]
        self._spatial = (first.shape[1:] if shape is not None else
                         tuple(min(x.shape[1 + a] for x in samples)
                               for a in range(self.spatial_ndim)))
        return self

    def transform(self, X):
        """Pool each map of each sample.

        Parameters
        ----------
        X : array-like
            Maps with the layout seen in :meth:`fit`.

        Returns
        -------
        features : ndarray of shape (n_samples, n_maps * n_cells)
            Map-major: all cells of map 0, then of map 1, ...

        Examples
        --------
        >>> import numpy as np
        >>> from featpool.transformers import SpatialPooling
        >>> maps = np.arange(2 * 1 * 4 * 4, dtype=float).reshape(2, 1, 4, 4)
        >>> SpatialPooling(pooling="max", levels=(1, 2)).fit(maps).transform(maps)[0]
        array([15.,  5.,  7., 13., 15.], dtype=float32)
        """
        check_is_fitted(self, "map_shape_")
        owner = type(self).__name__
        map_shape = _check_shape_param(self.map_shape, "map_shape", owner)
        samples, shape = _read(self, X, False, map_shape, self.map_shape_,
                               self._channel_axis, owner)
        fixed = any(p.size is not None for p in self._poolings)
        for x in _first_of_each_shape(samples):
            if (x.shape[0] != self._n_maps or x.ndim - 1 != self.spatial_ndim
                    or (fixed and x.shape[1:] != self._spatial)):
                raise ValueError(
                    f"{owner} was fitted on {self._n_maps} map(s) of shape {self._spatial}"
                    f"{' (its sliding-window pooling needs that shape)' if fixed else ''}; "
                    f"got samples of shape {shape or x.shape}.")
        n_out = self._n_maps * sum(p.n_cells(self._spatial) for p in self._poolings)
        features = _by_shape(samples, n_out, self.dtype, self._pool)
        return _normalize(features, self.normalization)

    def _pool(self, maps):
        x = np.ascontiguousarray(maps, dtype=self.dtype)  # one copy for every pooling
        pooled = np.concatenate([p(x, self.spatial_ndim, n_threads=self.n_threads)
                                 for p in self._poolings], axis=-1)
        return pooled.reshape(len(x), -1)

    def get_feature_names_out(self, input_features=None):
        """Name each output feature ``map{m}_{op}_l{level}_c{cell}``.

        Parameters
        ----------
        input_features : array-like of str, optional
            Only checked against the input seen in :meth:`fit`.

        Returns
        -------
        feature_names_out : ndarray of str objects

        Examples
        --------
        >>> import numpy as np
        >>> from featpool.transformers import SpatialPooling
        >>> model = SpatialPooling(levels=(1,)).fit(np.zeros((1, 3, 5, 5)))
        >>> model.get_feature_names_out().tolist()
        ['map0_mean_l1_c0', 'map1_mean_l1_c0', 'map2_mean_l1_c0']
        """
        check_is_fitted(self, "map_shape_")
        _check_feature_names_in(self, input_features, generate_names=False)
        cells = _cell_names(self._poolings, self._spatial)
        return np.asarray([f"map{m}_{c}" for m in range(self._n_maps) for c in cells],
                          dtype=object)

    def __sklearn_tags__(self):
        return _set_tags(super().__sklearn_tags__(), self.dtype)
