"""Features per object: the pipeline's responses pooled inside each labelled region.

A label image (0 = background, any other integer an object, as
:func:`skimage.measure.label` makes them) or a boolean mask (the one-object
case) says where to pool. The responses are computed on the whole image, so
an object near another sees its true surroundings, a few filters at a time;
one pass of a Cython kernel (``_regions.pyx``) over each response map adds
every pixel to its object's statistics (count, sum, sum of squares, min,
max, powers), so there is no loop over objects and no crop per object.

Optionally each object's bounding box is cut into a pyramid of cells
(``levels``), as the image pyramid cuts an image (PyTorch's adaptive bins):
every object then has a vector of the same length, whatever its size. A
cell that holds none of the object's pixels (a thin diagonal object, say)
is NaN, as is an object whose pixels are all NaN with ``nan_policy='omit'``.
"""
import numpy as np

from . import _regions
from ._config import effective_n_threads, working_memory_bytes
from ._region_responses import region_responses
from ._windows import MIN_PARALLEL_SIZE
from ._vocabulary import (KERNEL_NONLINEARITIES, NAN_POLICIES, NONLINEARITIES, OPS,
                          check_option)
from .feature_names import describe_maps, feature_names
from .invariance import apply_invariances
from .normalization import normalize
from .pipeline import DEFAULTS, build_banks, check_invariances, output_maps, training_images
from .pooling import as_poolings
from .responses import BORDER_MODES
from .samples import read_samples

__all__ = ["masked_features", "region_features", "region_geometry",
           "read_masks", "region_pool", "region_poolings", "split_masks"]

#: Accumulators per cell, in the kernel's order (``S_*`` in _regions.pyx); then one
#: sum of powers per exponent.
STATS = ("count", "shift", "sum", "sumsq", "min", "max")
#: Exponents of 'lp' summed in one pass (MAX_POWERS in _regions.pyx).
MAX_POWERS = 8
#: Labels at or beyond this are refused (the kernel indexes with them densely).
MAX_LABEL = 2 ** 31
#: The defaults of region_features that differ from the pipeline's: whole
#: objects, and a border mode that does not wrap one side onto the other.
REGION_DEFAULTS = dict(DEFAULTS, levels=(1,), mode="reflect")


# --------------------------------------------------------------------------
# Label images
# --------------------------------------------------------------------------

def _check_labels(labels, spatial, owner, name="labels"):
    """``labels`` as an integer array of shape ``spatial``: a bool mask is label 1."""
    if isinstance(labels, np.ma.MaskedArray):
        raise TypeError(f"The '{name}' parameter of {owner} must be a plain integer array, "
                        f"not a masked array.")
    try:
        labels = np.asarray(labels)
    except (TypeError, ValueError) as error:
        raise TypeError(f"The '{name}' parameter of {owner} must be an integer label image. "
                        f"Got {type(labels).__name__}: {error}") from None
    if labels.dtype == bool:
        labels = labels.view(np.uint8)
    if labels.dtype.kind not in "iu":
        raise TypeError(f"The '{name}' parameter of {owner} must be an integer label image "
                        f"(0 = background) or a boolean mask. Got an array of dtype "
                        f"{labels.dtype} instead.")
    if spatial is not None and labels.shape != tuple(spatial):
        raise ValueError(f"The '{name}' parameter of {owner} must have the image's spatial "
                         f"shape {tuple(spatial)}. Got shape {labels.shape} instead.")
    if labels.size and labels.dtype.kind == "i" and labels.min() < 0:
        raise ValueError(f"The '{name}' parameter of {owner} must hold labels >= 0 "
                         f"(0 = background). Got {labels.min()} instead.")
    if labels.size and labels.max() >= MAX_LABEL:
        raise ValueError(f"The '{name}' parameter of {owner} must hold labels below 2**31. "
                         f"Got {labels.max()} instead.")
    return labels


class _Objects:
    """The objects of a label image, as the kernels read them.

    ``raw``: int32 labels (spatial shape) and ``lut``: each label value's
    object index (0..K-1, in increasing order of label; -1: background or
    absent); ``present`` (K,) the labels, ``area``, ``box`` (K, 6: first
    index and extent per axis z, y, x) and ``sums`` (K, 3) of coordinates,
    from one pass. Labels far sparser than the pixels (up to 2**31 - 1) are
    ranked with a sort first, so the tables stay as small as the image.
    """

    def __init__(self, labels):
        shape = labels.shape
        flat = labels.ravel()
        top = int(flat.max()) if flat.size else 0
        values = None
        if top <= max(flat.size, 2 ** 16):
            raw = flat.astype(np.int32, copy=False)
        else:
            values, inverse = np.unique(flat, return_inverse=True)
            raw = inverse.astype(np.int32).ravel()
            if values[0] != 0:
                raw += 1
                values = np.concatenate([[0], values])
            top = len(values) - 1
        area = np.zeros(top + 1, dtype=np.int64)
        box = np.empty((top + 1, 6), dtype=np.intp)
        box[:, :3], box[:, 3:] = _as_3d(shape)[:3], -1
        sums = np.zeros((top + 1, 3))
        _regions.geometry(np.ascontiguousarray(raw), _as_3d(shape), area, box, sums)
        index = np.flatnonzero(area[1:]) + 1
        self.lut = np.full(top + 1, -1, dtype=np.int32)
        self.lut[index] = np.arange(len(index))
        self.raw = raw.reshape(shape)
        self.present = (index if values is None else values[index]).astype(np.intp)
        self.area, self.box, self.sums = area[index], box[index], sums[index]
        self.box[:, 3:] += 1 - self.box[:, :3]

    def columns(self):
        """label, area, bbox-*, centroid-*: the columns of regionprops_table."""
        nd = self.raw.ndim
        columns = {"label": self.present.copy(), "area": self.area}
        first, extent = self.box[:, 3 - nd:3], self.box[:, 6 - nd:]
        for a in range(nd):
            columns[f"bbox-{a}"] = first[:, a].copy()
        for a in range(nd):
            columns[f"bbox-{nd + a}"] = first[:, a] + extent[:, a]
        for a in range(nd):
            columns[f"centroid-{a}"] = self.sums[:, 3 - nd + a] / self.area
        return columns


def _as_3d(spatial):
    """(D, H, W, nd) for the kernels: a 2D grid is one plane."""
    return np.array((1,) * (3 - len(spatial)) + tuple(spatial) + (len(spatial),), np.intp)


def region_geometry(labels):
    """Label, area, bounding box and centroid of every object, as regionprops_table names them.

    Parameters
    ----------
    labels : ndarray of int or bool, 2D or 3D
        A label image (0 = background) or a boolean mask (one object, label 1).

    Returns
    -------
    columns : dict of str to ndarray
        ``label``, ``area`` (pixels or voxels), ``bbox-0`` ... (first index
        per axis, then one past the last), ``centroid-0`` ...: one entry per
        label present, in increasing order.

    Examples
    --------
    >>> import numpy as np
    >>> from featpool.regions import region_geometry
    >>> labels = np.array([[0, 5, 5], [0, 0, 2]])
    >>> geometry = region_geometry(labels)
    >>> geometry["label"].tolist(), geometry["area"].tolist(), geometry["bbox-3"].tolist()
    ([2, 5], [1, 2], [3, 3])
    """
    labels = _check_labels(labels, None, "region_geometry")
    if labels.ndim not in (2, 3):
        raise ValueError(f"The 'labels' parameter of region_geometry must be 2D or 3D. Got "
                         f"shape {labels.shape} instead.")
    return _Objects(labels).columns()


# --------------------------------------------------------------------------
# Statistics per label
# --------------------------------------------------------------------------

class _Accumulator:
    """Per (map, label, cell) accumulators that maps are added to, chunk by chunk."""

    def __init__(self, n_targets, objects, levels, ops, powers, omit, n_threads):
        self.box, self.lut, self.spatial = objects.box, objects.lut, objects.raw.shape
        self.levels = np.array(levels, dtype=np.intp)
        self.n_cells = sum(g ** len(self.spatial) for g in levels)
        self.powers = np.array(sorted(set(powers)), dtype=np.float64)
        if len(self.powers) > MAX_POWERS:
            raise ValueError(f"At most {MAX_POWERS} different exponents p of 'lp' are "
                             f"pooled per object at once. Got {len(self.powers)}.")
        self.omit, self.n_threads = omit, n_threads
        self.extremes = any(op in ("max", "min") for op in ops)
        self.moments = any(op in ("mean", "sum", "var", "std") for op in ops)
        n_stats = len(STATS) + len(self.powers)
        self.acc = np.zeros((n_targets, len(self.box) * self.n_cells, n_stats))
        self.acc[:, :, STATS.index("min")] = np.inf
        self.acc[:, :, STATS.index("max")] = -np.inf

    def add(self, rows, source, transform, target, cplx, labels, origin, shape):
        """Add maps ``rows`` (n, n_pixels) (complex: interleaved) over a tile of ``raw``."""
        origin = np.array((0,) * (3 - len(origin)) + tuple(origin), dtype=np.intp)
        # Waking threads costs more than a small pass (as in featpool.pooling).
        n_threads = 1 if rows.size < MIN_PARALLEL_SIZE else self.n_threads
        _regions.accumulate(rows, np.asarray(source, np.intp),
                            np.asarray(transform, np.intc), np.asarray(target, np.intp),
                            cplx, np.ascontiguousarray(labels).ravel(), self.lut,
                            _as_3d(shape), origin, self.box, self.levels,
                            self.powers, self.omit, self.extremes, self.moments, self.acc,
                            n_threads)

    def finish(self, op, p, levels=None):
        """One op's values (n_targets, K, n_cells of ``levels``); NaN for empty cells."""
        acc = self.acc.reshape(len(self.acc), len(self.box), self.n_cells, self.acc.shape[2])
        if levels is not None and tuple(levels) != tuple(self.levels):
            nd = len(self.spatial)
            starts = np.cumsum([0] + [g ** nd for g in self.levels])
            where = {int(g): i for i, g in reversed(list(enumerate(self.levels)))}
            keep = np.concatenate([np.arange(starts[where[g]], starts[where[g] + 1])
                                   for g in levels])
            acc = acc[:, :, keep]
        n, shift, s1, s2, low, high = (acc[..., i] for i in range(len(STATS)))
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            if op == "max":
                value = high.copy()
            elif op == "min":
                value = low.copy()
            elif op == "sum":
                value = s1 + n * shift
            elif op == "mean":
                value = shift + s1 / n
            elif op == "lp":
                sp = acc[..., len(STATS) + int(np.searchsorted(self.powers, p))]
                value = np.maximum(sp / n, 0) ** (1.0 / p)
            else:
                mean = s1 / n
                value = np.maximum(s2 / n - mean * mean, 0)
                value = np.sqrt(value) if op == "std" else value
        value[n == 0] = np.nan
        return value


def _check_ops(ops, owner):
    ops = (ops,) if isinstance(ops, str) else tuple(ops)
    if not ops:
        raise ValueError(f"The 'op' parameter of {owner} must name at least one op.")
    for op in ops:
        check_option(op, "op", OPS)
    return ops


def region_pool(x, labels, op="mean", ndim=2, p=2.0, nan_policy="propagate", levels=(1,),
                n_threads=None):
    """Pool maps inside each labelled region: one pass per map for every op and label.

    Parameters
    ----------
    x : array-like of shape (..., *spatial)
        Maps; the last ``ndim`` axes are pooled, leading axes carried
        through. float32 and float64 are read natively, other numbers as
        float64.
    labels : ndarray of int or bool, shape ``spatial``
        Label image (0 = background) or boolean mask (one region, label 1).
    op : str or sequence of str, default 'mean'
        Ops of :func:`featpool.pool2d`: 'max', 'min', 'sum', 'mean', 'lp',
        'var', 'std'. Several ops share the one pass.
    ndim : {2, 3}, default 2
    p : float, default 2.0
        Exponent of 'lp' (``(mean |x|^p)^(1/p)``).
    nan_policy : {'propagate', 'omit'}, default 'propagate'
        'propagate': a NaN in a region makes its values NaN; 'omit': NaNs
        are skipped (a region with no valid cell gives NaN).
    levels : sequence of int, default (1,)
        A pyramid over each region's bounding box (PyTorch's adaptive bins);
        ``(1,)`` pools whole regions. A cell with none of the region's
        pixels is NaN.
    n_threads : int, optional
        As in :func:`featpool.set_config`; results do not depend on it.

    Returns
    -------
    pooled : dict
        ``'label'``: the labels present, increasing (K,); then for each op
        an array (..., K, n_cells) in ``x``'s float dtype.

    Examples
    --------
    >>> import numpy as np
    >>> from featpool.regions import region_pool
    >>> x = np.arange(6.0).reshape(2, 3)
    >>> pooled = region_pool(x, np.array([[1, 1, 0], [4, 4, 4]]), op=("mean", "max"))
    >>> pooled["label"].tolist(), pooled["mean"][:, 0].tolist(), pooled["max"][:, 0].tolist()
    ([1, 4], [0.5, 4.0], [1.0, 5.0])
    """
    owner = "region_pool"
    if ndim not in (2, 3):
        raise ValueError(f"The 'ndim' parameter of {owner} must be 2 or 3. Got {ndim!r} "
                         f"instead.")
    x = np.asarray(x)
    if x.dtype.kind not in "biuf":
        raise TypeError(f"The 'x' parameter of {owner} must hold real numbers. Got dtype "
                        f"{x.dtype} instead.")
    if x.ndim < ndim:
        raise ValueError(f"The 'x' parameter of {owner} must have at least ndim={ndim} axes. "
                         f"Got shape {x.shape} instead.")
    x = np.ascontiguousarray(x, dtype=x.dtype if x.dtype in (np.float32, np.float64)
                             else np.float64)
    ops = _check_ops(op, owner)
    check_option(nan_policy, "nan_policy", NAN_POLICIES)
    levels = as_poolings("mean", levels, owner)[0].levels
    spatial = x.shape[x.ndim - ndim:]
    labels = _check_labels(labels, spatial, owner)
    objects = _Objects(labels)
    lead = x.shape[:x.ndim - ndim]
    rows = x.reshape(-1, int(np.prod(spatial)))
    acc = _Accumulator(len(rows), objects, levels, ops,
                       [p] if "lp" in ops else [], nan_policy == "omit",
                       effective_n_threads(n_threads))
    index = np.arange(len(rows))
    acc.add(rows, index, np.zeros(len(rows)), index, False, objects.raw, (0,) * ndim, spatial)
    pooled = {"label": objects.present}
    for name in ops:
        value = acc.finish(name, float(p)).astype(x.dtype, copy=False)
        pooled[name] = value.reshape(lead + value.shape[1:])
    return pooled


# --------------------------------------------------------------------------
# The pipeline per object
# --------------------------------------------------------------------------

def _union_levels(poolings):
    levels = []
    for pooling in poolings:
        levels += [g for g in pooling.levels if g not in levels]
    return levels


def _pooled_regions(sample, objects, bank, poolings, *, nonlinearity="modulus",
                   mode="reflect", rotation=None, scale_pooling=None, normalization="power",
                   dtype=np.float32, n_threads=None, held=0):
    """Feature vectors of the labelled objects of one validated sample.

    Parameters
    ----------
    sample : ndarray (C, *spatial)
        As :func:`featpool.samples.read_samples` gives one sample.
    objects : _Objects
        The sample's label image, as the kernels read it.
    bank : FilterBank
    poolings : tuple of Pooling
        Pyramids only (``levels``), cut over each object's bounding box.
    nonlinearity, mode, rotation, scale_pooling, normalization, dtype, n_threads
        As in :class:`~featpool.FilterBankPooling`.
    held : int
        Bytes of copies of the input the caller holds (of the working memory).

    Returns
    -------
    features : ndarray (K, C * n_maps * n_cells)
        In the order of :func:`featpool.feature_names.feature_names`;
        NaN in the cells that hold none of an object's pixels (the norm of
        ``normalization`` is taken over the other features).
    """
    n_threads = effective_n_threads(n_threads)
    spatial = sample.shape[1:]
    kinds = NONLINEARITIES[nonlinearity]
    maps = describe_maps(bank, nonlinearity)
    n_channels, n_kinds, n_maps = len(sample), len(kinds), len(maps)
    box = objects.box
    acc = _Accumulator(n_channels * n_maps, objects, _union_levels(poolings),
                       {p.op for p in poolings}, [p.p for p in poolings if p.op == "lp"],
                       False, n_threads)
    x = np.ascontiguousarray(sample, dtype=bank.dtype)
    # The copies of the image and labels (``held`` bytes before this one) and
    # the statistics count against the working memory too.
    held += acc.acc.nbytes + (0 if np.may_share_memory(x, sample) else x.nbytes)
    budget = max(working_memory_bytes() - held, working_memory_bytes(3 / 4))
    responses = region_responses(x, bank, mode, n_threads, budget) if len(box) else ()
    for filters, origin, y in responses:
        size = y.shape[2:]
        tile = objects.raw[tuple(slice(o, o + s) for o, s in zip(origin, size))]
        c, j, k = np.meshgrid(np.arange(n_channels), np.arange(len(filters)),
                              np.arange(n_kinds), indexing="ij")
        rows = np.ascontiguousarray(y).reshape(n_channels * len(filters), -1)
        acc.add(rows.view(rows.real.dtype), (c * len(filters) + j).ravel(),
                np.array([KERNEL_NONLINEARITIES[kind] for kind in kinds])[k.ravel()],
                (c * n_maps + np.asarray(filters)[j] * n_kinds + k).ravel(), True,
                tile, origin, size)
    pooled = np.concatenate([acc.finish(p.op, p.p, p.levels) for p in poolings], axis=-1)
    pooled = pooled.reshape(n_channels, n_maps, len(box), pooled.shape[-1])
    features = apply_invariances(pooled.transpose(2, 0, 1, 3), maps, rotation,
                                 scale_pooling)[0]
    features = features.reshape(len(box), int(np.prod(features.shape[1:]))).astype(dtype)
    empty = np.isnan(features)
    features[empty] = 0
    features = normalize(features, normalization, copy=False)
    features[empty] = np.nan
    return features


def _read_image(image, channel_axis, owner):
    """(sample (C, *spatial), mask of valid pixels or None) of one image."""
    valid = None
    if isinstance(image, np.ma.MaskedArray):
        valid = ~np.ma.getmaskarray(image)
        if channel_axis is not None:
            valid = valid.all(axis=channel_axis)
        image = image.data
    if channel_axis is not None and isinstance(channel_axis, int) and channel_axis >= 0:
        channel_axis += 1
    samples, _ = read_samples(np.asarray(image)[None], channel_axis=channel_axis)
    return samples[0], valid


def region_features(image, labels=None, **params):
    """Features of every object of a label image: one row per label, as regionprops_table.

    The image is filtered whole by the pipeline's bank (so an object near
    another sees its true surroundings), a few filters at a time, and each
    response map is pooled inside every object in one pass.

    Parameters
    ----------
    image : array-like, 2D, colour (``channel_axis``) or 3D
        One image. A :class:`numpy.ma.MaskedArray` pools only its unmasked
        pixels (with ``labels``: only the unmasked pixels of each object);
        the filters still read the values under the mask.
    labels : ndarray of int or bool, the image's spatial shape, optional
        A label image (0 = background), as :func:`skimage.measure.label`
        gives; a boolean mask is one object, label 1. Optional for a masked
        image.
    **params
        Parameters of :class:`~featpool.FilterBankPooling` by name. Two
        defaults differ: ``levels=(1,)`` (whole objects; ``(1, 2)`` adds a
        2x2 grid over each object's bounding box, PyTorch's adaptive bins,
        and a cell with none of the object's pixels is NaN) and
        ``mode='reflect'`` (no wrap-around of one border onto the other).
        Sliding-window poolings and ``second_layer`` are refused;
        ``batch_size`` and ``image_shape`` have no effect (one image).

    Returns
    -------
    columns : dict of str to ndarray
        ``label``, ``area``, ``bbox-0`` ..., ``centroid-0`` ...
        (:func:`region_geometry`), then one column per feature, named as
        :meth:`~featpool.FilterBankPooling.get_feature_names_out` names
        them; one row per label present, in increasing order (none for an
        image without objects). ``pandas.DataFrame(columns)`` makes a table.

    Examples
    --------
    >>> import numpy as np
    >>> from featpool import region_features
    >>> image = np.random.default_rng(0).random((64, 64))
    >>> labels = np.zeros((64, 64), dtype=int)
    >>> labels[5:20, 5:30], labels[40:60, 30:50] = 1, 7
    >>> table = region_features(image, labels, n_scales=2, pooling=("mean", "max"))
    >>> table["label"], table["area"]
    (array([1, 7]), array([375, 400]))
    >>> list(table)[:7], list(table)[-1]
    (['label', 'area', 'bbox-0', 'bbox-1', 'bbox-2', 'bbox-3', 'centroid-0'], 'gabor_s1_o5_max_l1_c0')
    """
    owner = "region_features"
    unknown = sorted(set(params) - set(DEFAULTS))
    if unknown:
        raise TypeError(f"{owner} got unknown parameters {unknown}; the parameters are "
                        f"{list(DEFAULTS)}.")
    p = dict(REGION_DEFAULTS, **params)
    given = (image, labels)
    sample, valid = _read_image(image, p["channel_axis"], owner)
    spatial = sample.shape[1:]
    if labels is None and valid is None:
        raise ValueError(f"{owner} needs a label image or mask ('labels'), or a masked image.")
    labels = (valid.view(np.uint8) if labels is None
              else _check_labels(labels, spatial, owner))
    if valid is not None:
        labels = np.where(valid, labels, 0)
    if min(spatial) < 2:
        raise ValueError(f"{owner} filters images of at least 2 pixels per axis. Got an image "
                         f"of spatial shape {spatial}.")
    poolings = region_poolings(p, owner)
    check_option(p["mode"], "mode", BORDER_MODES)
    check_option(p["nonlinearity"], "nonlinearity", NONLINEARITIES)
    bank, _, _ = build_banks(
        spatial, bank=p["bank"], n_scales=p["n_scales"], n_orientations=p["n_orientations"],
        bank_params=p["bank_params"], dtype=p["dtype"],
        images=training_images(sample[None]) if p["bank"] == "learned" else None,
        random_state=p["random_state"], owner=owner)
    check_invariances(p["rotation"], bank, owner)
    objects = _Objects(labels)
    held = sum(0 if user is not None and np.may_share_memory(copy, user) else copy.nbytes
               for copy, user in zip((sample, objects.raw), given))
    features = _pooled_regions(
        sample, objects, bank, poolings, nonlinearity=p["nonlinearity"], mode=p["mode"],
        rotation=p["rotation"], scale_pooling=p["scale_pooling"],
        normalization=p["normalization"], dtype=p["dtype"], n_threads=p["n_threads"],
        held=held)
    names = feature_names(output_maps(bank, p["nonlinearity"], None, p["rotation"],
                                      p["scale_pooling"]), poolings, spatial,
                          len(sample) if p["channel_axis"] is not None else None)
    columns = objects.columns()
    columns.update(zip(names, features.T))
    return columns


def region_poolings(params, owner):
    """The poolings of ``params``, refusing what has no meaning per object."""
    if params.get("second_layer"):
        raise ValueError(f"{owner} does not compute the second layer (second_layer=True) "
                         f"per object; use second_layer=False.")
    poolings = as_poolings(params["pooling"], params["levels"], owner)
    if any(p.size is not None for p in poolings):
        raise ValueError(f"The 'pooling' parameter of {owner} must be pyramids (levels): a "
                         f"sliding window has no meaning over objects of different sizes.")
    return poolings


# --------------------------------------------------------------------------
# Masked samples (FilterBankPooling)
# --------------------------------------------------------------------------

def split_masks(X):
    """(data, valid) of masked samples: ``X`` unmasked, and where its pixels count.

    ``X`` a :class:`numpy.ma.MaskedArray` or a list holding some: ``valid``
    is True where a pixel is not masked (uint8, the shape of ``X`` or of
    each item), None for input without masks.
    """
    if isinstance(X, np.ma.MaskedArray):
        return np.ma.getdata(X), (~np.ma.getmaskarray(X)).view(np.uint8)
    if isinstance(X, (list, tuple)) and any(isinstance(x, np.ma.MaskedArray) for x in X):
        return ([np.ma.getdata(x) for x in X],
                [(~np.ma.getmaskarray(x)).view(np.uint8) for x in X])
    return X, None


def masked_features(samples, valid, bank, poolings, **params):
    """Feature vectors of samples pooled only where ``valid`` (n, C, *spatial) is True.

    Each sample is the one-object case of :func:`region_features` (a pixel
    counts where every channel is valid; the pyramid covers the bounding
    box of its valid pixels); a sample without a valid pixel gives NaN.
    ``params``: ``nonlinearity``, ``mode``, ``rotation``, ``scale_pooling``,
    ``normalization``, ``dtype``, ``n_threads``, as in
    :class:`~featpool.FilterBankPooling`.
    """
    rows = []
    for sample, inside in zip(samples, valid):
        labels = np.asarray(inside).all(axis=0).view(np.uint8)
        features = _pooled_regions(np.asarray(sample), _Objects(labels), bank, poolings,
                                  **params)
        if not len(features):
            features = np.full((1, features.shape[1]), np.nan, dtype=features.dtype)
        rows.append(features[0])
    return np.stack(rows)


def read_masks(valid, channel_axis, image_shape):
    """``valid`` from :func:`split_masks` read as the samples are: (n, C, *spatial)."""
    if isinstance(valid, list):
        return read_samples(valid, channel_axis=channel_axis)[0]
    flat = valid.ndim == 2
    return read_samples(valid, channel_axis=channel_axis,
                        image_shape=image_shape if flat else None)[0]
