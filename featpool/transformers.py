"""scikit-learn transformers: images to feature vectors, feature maps to pooled vectors.

:class:`FilterBankPooling` is the whole featpool pipeline as one estimator;
:class:`SpatialPooling` is its second half, for feature maps computed
elsewhere (a network's activations, say). Both are thin: they check their
parameters, keep scikit-learn's bookkeeping (``n_features_in_``,
``feature_names_in_``) and compose the public steps of
:mod:`featpool.pipeline` (read samples, build banks, filter and pool,
invariances, normalization, names), which the batch command runs too.
"""
import numbers

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, Options, StrOptions
from sklearn.utils.validation import (
    _check_feature_names_in,
    check_array,
    check_is_fitted,
    validate_data,
)

from .feature_names import cell_names, feature_names
from .filters import BANKS, FilterBank
from .normalization import NORMALIZATIONS, normalize
from .pipeline import (build_banks, check_invariances, fit_shape, output_maps,
                       pipeline_features, training_images)
from ._vocabulary import NONLINEARITIES, OPS
from .pooling import Pooling, as_poolings
from .regions import masked_features, read_masks, region_poolings, split_masks
from .responses import BORDER_MODES
from .samples import map_by_shape, read_samples

__all__ = ["FilterBankPooling", "SpatialPooling"]

_N_THREADS = [Interval(numbers.Integral, None, -1, closed="right"),
              Interval(numbers.Integral, 1, None, closed="left"), None]


def _is_image_list(X):
    """Whether X is a list of images to read one by one (sizes differ, or bad items)."""
    if not isinstance(X, (list, tuple)) or len(X) == 0:
        return False
    shapes = set()
    for x in X:
        if x is None or isinstance(x, (str, bytes)) or hasattr(x, "__fspath__"):
            return True
        try:
            shapes.add(np.shape(x))
        except ValueError:  # a ragged nested list
            return True
    return len(shapes) > 1 and all(len(shape) >= 2 for shape in shapes)


def _validate(estimator, X, reset, image_shape, channel_axis, fitted_shape=None):
    """scikit-learn's checks and bookkeeping, then :func:`read_samples`.

    Arrays are validated as their flattened rows (dtype, NaN, empty input,
    ``n_features_in_`` = values per sample); a list of images of different
    sizes has no ``n_features_in_``. Flat rows are read with ``image_shape``,
    else ``fitted_shape`` (the shape of a sample seen in fit).
    """
    if _is_image_list(X):
        if reset:
            for attribute in ("n_features_in_", "feature_names_in_"):
                if hasattr(estimator, attribute):
                    delattr(estimator, attribute)
        return read_samples(X, channel_axis=channel_axis)
    if not hasattr(X, "shape") and not hasattr(X, "__dataframe__"):
        X = np.asarray(X)
    if (len(X.shape) if hasattr(X, "shape") else 2) > 2:
        X = np.asarray(X)
        flat = X.reshape(len(X), -1) if X.size else X.reshape(len(X), int(np.prod(X.shape[1:])))
        if reset:
            flat = validate_data(estimator, flat, dtype="numeric")
        else:  # any image size goes where the pooling allows it
            flat = check_array(flat, dtype="numeric", ensure_min_samples=0)
        X = flat.reshape(X.shape)
    else:
        X = validate_data(estimator, X, reset=reset, dtype="numeric",
                          ensure_min_samples=1 if reset else 0)
        image_shape = image_shape or fitted_shape
    return read_samples(X, channel_axis=channel_axis, image_shape=image_shape)


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
        Images filtered at once (default: from the working memory,
        :func:`featpool.set_config`; 256 MiB unless set).
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

    Masks: a :class:`numpy.ma.MaskedArray` ``X`` (or a list of masked
    images) is pooled only over its unmasked pixels, each sample as one
    object of :func:`~featpool.region_features`: the filters read the whole
    image, values under the mask included, and the pyramid's cells cover the
    bounding box of the unmasked pixels (a cell without one, or a sample
    without any, gives NaN). Masked arrays pass through ``Pipeline``,
    ``cross_val_score`` and ``GridSearchCV`` as they are; :meth:`fit` reads
    only the shapes (and, for ``bank='learned'``, every pixel). Sliding
    windows and ``second_layer`` are refused with masks.

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
        "normalization": [StrOptions(set(NORMALIZATIONS)), None],
        "image_shape": [tuple, list, None],
        "channel_axis": [numbers.Integral, None],
        "mode": [StrOptions(set(BORDER_MODES))],
        "dtype": [Options(type, {np.float32, np.float64})],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "n_threads": _N_THREADS,
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
        poolings = as_poolings(self.pooling, self.levels, owner)
        samples, sample_shape = _validate(self, split_masks(X)[0], True, self.image_shape,
                                          self.channel_axis)
        spatial = fit_shape(samples, poolings, owner)
        learned = self.bank == "learned"
        self.bank_, self.second_bank_, self.filters_ = build_banks(
            spatial, bank=self.bank, n_scales=self.n_scales,
            n_orientations=self.n_orientations, bank_params=self.bank_params,
            second_layer=self.second_layer, dtype=self.dtype,
            images=training_images(samples) if learned else None,
            random_state=self.random_state, owner=owner)
        check_invariances(self.rotation, self.bank_, owner)
        self.image_shape_ = sample_shape
        self.n_channels_ = samples[0].shape[0]
        self._spatial = spatial
        self._poolings = poolings
        self._maps = output_maps(self.bank_, self.nonlinearity, self.second_bank_,
                                 self.rotation, self.scale_pooling)
        return self

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
        X, valid = split_masks(X)
        samples, sample_shape = _validate(self, X, False, self.image_shape, self.channel_axis,
                                          self.image_shape_)
        self._check_samples(samples, sample_shape)
        if valid is not None:
            region_poolings(self.get_params(), type(self).__name__)
            return masked_features(
                samples, read_masks(valid, self.channel_axis,
                                    self.image_shape or self.image_shape_),
                self.bank_, self._poolings, nonlinearity=self.nonlinearity, mode=self.mode,
                rotation=self.rotation, scale_pooling=self.scale_pooling,
                normalization=self.normalization, dtype=self.dtype, n_threads=self.n_threads)
        return pipeline_features(
            samples, self.bank_, self._poolings, nonlinearity=self.nonlinearity,
            mode=self.mode, second_bank=self.second_bank_, rotation=self.rotation,
            scale_pooling=self.scale_pooling, normalization=self.normalization,
            dtype=self.dtype, batch_size=self.batch_size, n_threads=self.n_threads)

    def _check_samples(self, samples, sample_shape):
        owner = type(self).__name__
        fixed = any(p.size is not None for p in self._poolings)
        firsts = (list({x.shape: x for x in samples}.values()) if isinstance(samples, list)
                  else samples[:1])
        for s in firsts:
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
        n_channels = self.n_channels_ if self.channel_axis is not None else None
        return feature_names(self._maps, self._poolings, self._spatial, n_channels)

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
        "normalization": [StrOptions(set(NORMALIZATIONS)), None],
        "map_shape": [tuple, list, None],
        "channel_axis": [numbers.Integral, None],
        "spatial_ndim": [Options(numbers.Integral, {2, 3})],
        "dtype": [Options(type, {np.float32, np.float64})],
        "n_threads": _N_THREADS,
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
        self._poolings = as_poolings(self.pooling, self.levels, owner)
        # Flat rows without map_shape: one map per row (see map_shape).
        flat = self.map_shape is None and not _is_image_list(X) and (
            X.ndim if hasattr(X, "ndim") else np.asarray(X).ndim) == 2
        channel_axis = None if flat else self.channel_axis
        samples, shape = _validate(self, X, True, self.map_shape, channel_axis)
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
        samples, shape = _validate(self, X, False, self.map_shape, self._channel_axis,
                                   self.map_shape_)
        fixed = any(p.size is not None for p in self._poolings)
        firsts = (list({x.shape: x for x in samples}.values()) if isinstance(samples, list)
                  else samples[:1])
        for x in firsts:
            if (x.shape[0] != self._n_maps or x.ndim - 1 != self.spatial_ndim
                    or (fixed and x.shape[1:] != self._spatial)):
                raise ValueError(
                    f"{owner} was fitted on {self._n_maps} map(s) of shape {self._spatial}"
                    f"{' (its sliding-window pooling needs that shape)' if fixed else ''}; "
                    f"got samples of shape {shape or x.shape}.")
        n_out = self._n_maps * sum(p.n_cells(self._spatial) for p in self._poolings)
        features = map_by_shape(samples, n_out, self.dtype, self._pool)
        return normalize(features, self.normalization, copy=False)

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
        cells = cell_names(self._poolings, self._spatial)
        return np.asarray([f"map{m}_{c}" for m in range(self._n_maps) for c in cells],
                          dtype=object)

    def __sklearn_tags__(self):
        return _set_tags(super().__sklearn_tags__(), self.dtype)
