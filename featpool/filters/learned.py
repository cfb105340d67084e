"""Filters learned by k-means on whitened image patches (Coates and Ng, 2011)."""
from dataclasses import dataclass

import numpy as np
from sklearn.cluster import KMeans
from sklearn.utils import check_random_state

from ._bank import FilterBank, cached_builder, filter_metadata
from ._validation import check_dtype, check_float, check_int, check_shape

__all__ = ["learn_patch_filters", "PatchFilters"]

# Contrast normalization adds this fraction of the mean patch variance to each
# patch's variance. Coates and Ng add 10 to the variance of 0-255 patches,
# about 1% of a typical one; a relative value does not depend on the
# intensity scale.
_CONTRAST_EPSILON = 0.01


def _check_images(images, func):
    """Return the images as a list of 2D float64 arrays."""
    if isinstance(images, np.ndarray):
        if images.ndim != 3:
            hint = " Wrap a single image in a list: [image]." if images.ndim == 2 else ""
            raise ValueError(
                f"The 'images' parameter of {func} must be a list of 2D arrays or an "
                f"array of shape (n_images, height, width). Got an array of shape "
                f"{images.shape} instead.{hint}"
            )
        images = list(images)
    elif not isinstance(images, (list, tuple)):
        raise TypeError(
            f"The 'images' parameter of {func} must be a list of 2D arrays or an "
            f"array of shape (n_images, height, width). Got {type(images).__name__} instead."
        )
    if not images:
        raise ValueError(f"The 'images' parameter of {func} must hold at least one image.")
    checked = []
    for i, image in enumerate(images):
        image = np.asarray(image)
        if image.ndim != 2 or image.dtype.kind not in "biuf":
            raise ValueError(
                f"The 'images' parameter of {func} must hold 2D real images. Image {i} "
                f"has shape {image.shape} and dtype {image.dtype}."
            )
        image = image.astype(np.float64)
        if not np.isfinite(image).all():
            raise ValueError(
                f"The 'images' parameter of {func} must hold finite values. Image {i} "
                "holds NaN or infinity."
            )
        checked.append(image)
    return checked


def _sample_patches(images, patch_size, n_patches, rng):
    """``n_patches`` patches drawn uniformly over all positions of all images."""
    positions = np.array([(h - patch_size + 1) * (w - patch_size + 1)
                          for h, w in (image.shape for image in images)], dtype=float)
    counts = np.bincount(rng.choice(len(images), n_patches, p=positions / positions.sum()),
                         minlength=len(images))
    patches = []
    for image, count in zip(images, counts):
        windows = np.lib.stride_tricks.sliding_window_view(image, (patch_size, patch_size))
        rows = rng.randint(0, windows.shape[0], count)
        cols = rng.randint(0, windows.shape[1], count)
        # Explicit width: an image may draw no patch (count 0).
        patches.append(windows[rows, cols].reshape(count, patch_size * patch_size))
    return np.concatenate(patches)


def _normalize_contrast(patches, epsilon):
    """Subtract each patch's mean and divide by ``sqrt(variance + epsilon)``."""
    centred = patches - patches.mean(axis=1, keepdims=True)
    return centred / np.sqrt(centred.var(axis=1, keepdims=True) + epsilon)


@dataclass(frozen=True, eq=False, repr=False)
class PatchFilters:
    """Patch filters fitted by :func:`learn_patch_filters`.

    Attributes
    ----------
    centroids : ndarray of shape (n_filters, patch_size**2)
        The k-means centroids, in whitened patch space.
    whitening : ndarray of shape (patch_size**2, patch_size**2)
        The symmetric ZCA whitening matrix (identity if ``whitening=None``).
    patch_mean : ndarray of shape (patch_size**2,)
        Mean of the contrast-normalized training patches.
    patch_size : int
        Side of the square patches.
    contrast_epsilon : float
        Added to each patch's variance by contrast normalization.
    inertia : float
        The k-means objective on the training patches: sum of squared
        distances of the whitened patches to their closest centroid.
    """

    centroids: np.ndarray
    whitening: np.ndarray
    patch_mean: np.ndarray
    patch_size: int
    contrast_epsilon: float
    inertia: float

    def __repr__(self):
        return (f"PatchFilters(n_filters={len(self.centroids)}, patch_size={self.patch_size}, "
                f"inertia={self.inertia:.6g})")

    def whiten(self, patches):
        """Contrast-normalize, centre and whiten flattened patches.

        Parameters
        ----------
        patches : array-like of shape (n_patches, patch_size**2)
            Raw patches, flattened in C order.

        Returns
        -------
        whitened : ndarray of shape (n_patches, patch_size**2)
            The patches in the space of :attr:`centroids`.
        """
        patches = np.asarray(patches, dtype=np.float64)
        if patches.ndim != 2 or patches.shape[1] != self.patch_size**2:
            raise ValueError(
                f"The 'patches' parameter of PatchFilters.whiten must have shape "
                f"(n_patches, {self.patch_size**2}). Got {patches.shape} instead."
            )
        normalized = _normalize_contrast(patches, self.contrast_epsilon)
        return (normalized - self.patch_mean) @ self.whitening

    @property
    def templates(self):
        """The filters as patch templates, shape (n_filters, patch_size, patch_size).

        Template ``t`` of unit-norm centroid ``c`` is ``W c`` minus its mean, so
        that for any raw patch ``p``, ``t . p = c . W (p - mean(p))``: the
        projection of the whitened (but not contrast-normalized, which is not
        linear) patch on the centroid.
        """
        unit = self.centroids / np.maximum(
            np.linalg.norm(self.centroids, axis=1, keepdims=True), np.finfo(float).tiny)
        templates = unit @ self.whitening  # W is symmetric: rows are W c
        templates -= templates.mean(axis=1, keepdims=True)
        return templates.reshape(-1, self.patch_size, self.patch_size)

    def bank(self, shape, dtype=np.float64):
        """The learned filters as a :class:`FilterBank` on a grid.

        The bank's response at pixel ``(i, j)`` is the dot product of
        template ``k`` with the patch whose top-left corner is ``(i - a, j -
        a)``, ``a = patch_size // 2``: a correlation with the template, i.e. a
        convolution with the flipped template.

        Parameters
        ----------
        shape : tuple of 2 ints
            The grid ``(rows, cols)``. On a grid smaller than the patch the
            filters wrap around (are periodized).
        dtype : {np.float32, np.float64}, default=np.float64
            Precision: the spectra are complex64 or complex128.

        Returns
        -------
        bank : FilterBank
            ``kind='learned'``; ``centroid`` (the filter's index);
            ``frequency`` and ``orientation`` where each template's spectrum
            peaks (orientation None when that is at DC). ``orientation_index``
            is None: learned filters form no orientation groups.
            Cached per (filters, shape, dtype) and read-only.
        """
        func = "PatchFilters.bank"
        return _patch_bank(self, check_shape(shape, 2, func), check_dtype(dtype, func))


@cached_builder
def _patch_bank(filters, shape, dtype):
    templates = filters.templates
    p = filters.patch_size
    # The peak of each template's spectrum, on a grid fine enough to read it.
    spectra = np.abs(np.fft.fft2(templates, s=(4 * p, 4 * p)))
    metadata = []
    for k, spectrum in enumerate(spectra):
        row, col = np.unravel_index(np.argmax(spectrum), spectrum.shape)
        nu_row, nu_col = np.fft.fftfreq(4 * p)[[row, col]]
        frequency = float(np.hypot(nu_row, nu_col))
        orientation = float(np.arctan2(nu_row, nu_col) % np.pi) if frequency > 0 else None
        metadata.append(filter_metadata("learned", frequency=frequency,
                                        orientation=orientation, centroid=k))
    origin = (p - 1 - p // 2,) * 2  # of the flipped template
    return FilterBank.from_kernels(templates[:, ::-1, ::-1], shape, metadata,
                                   origin=origin, dtype=dtype)


def learn_patch_filters(images, n_filters=64, patch_size=8, n_patches=10000,
                        whitening="zca", epsilon=0.1, random_state=None):
    """Learn filters by k-means on whitened image patches (Coates and Ng, 2011).

    Random patches are contrast-normalized (mean subtracted, divided by
    their standard deviation), ZCA-whitened and clustered with
    :class:`sklearn.cluster.KMeans`. The whitening is folded into the
    filters: each filter is ``W c`` for a unit-norm centroid ``c``, so that
    filtering an image projects each whitened patch on the centroids.

    Parameters
    ----------
    images : list of 2D array-like or array-like of shape (n_images, height, width)
        Training images (grayscale, real, finite; any sizes in a list).
    n_filters : int, default=64
        Number of filters (k-means clusters).
    patch_size : int, default=8
        Side of the square patches; at most the smallest image side.
    n_patches : int, default=10000
        Number of patches, drawn uniformly (with replacement) over all
        patch positions of all images.
    whitening : {'zca', None}, default='zca'
        ZCA whitening ``W = U diag(1 / sqrt(lambda + epsilon)) U^T`` of the
        patch covariance, or none.
    epsilon : float, default=0.1
        Regularization of the whitening (the patches have unit variance after
        contrast normalization, so 0.1 is Coates and Ng's value).
    random_state : int, RandomState instance or None, default=None
        Seeds the patch sampling and k-means; an int gives the same filters
        on every call.

    Returns
    -------
    filters : PatchFilters
        Holds the centroids and whitening; ``filters.bank(shape)`` is the
        :class:`FilterBank` to use like any other bank, and
        ``filters.templates`` the filters as patches, for plots.

    Notes
    -----
    The contrast normalization (a division by each patch's standard
    deviation) is not linear, so it cannot be folded into the filters:
    applied by convolution, they see the raw patch minus its mean. Normalize
    image contrast beforehand (e.g. local contrast normalization) where that
    matters. Constant patches are left at zero. Contrast normalization adds
    1% of the mean patch variance to each variance, a scale-free version of
    Coates and Ng's ``+10`` for 0-255 images.

    References
    ----------
    .. [1] A. Coates, H. Lee and A. Y. Ng, "An analysis of single-layer
           networks in unsupervised feature learning", AISTATS 2011.
    .. [2] A. Coates and A. Y. Ng, "Learning feature representations with
           K-means", Neural Networks: Tricks of the Trade, 2012.

    Examples
    --------
    >>> import numpy as np
    >>> from skimage.data import camera
    >>> from featpool.filters import learn_patch_filters
    >>> filters = learn_patch_filters([camera()], n_filters=16, patch_size=6,
    ...                               n_patches=2000, random_state=0)
    >>> filters.templates.shape
    (16, 6, 6)
    >>> bank = filters.bank((64, 64))
    >>> bank
    FilterBank(n_filters=16, shape=(64, 64), dtype=float64, kinds=('learned',), spatial_support=3)
    >>> bool(np.abs(bank.spectra[:, 0, 0]).max() < 1e-12)  # zero mean
    True
    """
    func = "learn_patch_filters"
    images = _check_images(images, func)
    n_filters = check_int(n_filters, "n_filters", func)
    patch_size = check_int(patch_size, "patch_size", func)
    n_patches = check_int(n_patches, "n_patches", func)
    if whitening not in ("zca", None):
        raise ValueError(
            f"The 'whitening' parameter of {func} must be 'zca' or None. "
            f"Got {whitening!r} instead."
        )
    epsilon = check_float(epsilon, "epsilon", func)
    smallest = min(min(image.shape) for image in images)
    if patch_size > smallest:
        raise ValueError(
            f"The 'patch_size' parameter of {func} must be at most the smallest image "
            f"side ({smallest}). Got {patch_size} instead."
        )
    if n_filters > n_patches:
        raise ValueError(
            f"The 'n_filters' parameter of {func} must be at most n_patches "
            f"({n_patches}). Got {n_filters} instead."
        )
    rng = check_random_state(random_state)

    patches = _sample_patches(images, patch_size, n_patches, rng)
    mean_variance = patches.var(axis=1).mean()
    contrast_epsilon = float(_CONTRAST_EPSILON * mean_variance) if mean_variance > 0 else 1.0
    normalized = _normalize_contrast(patches, contrast_epsilon)
    patch_mean = normalized.mean(axis=0)
    centred = normalized - patch_mean
    if whitening == "zca":
        eigenvalues, eigenvectors = np.linalg.eigh(centred.T @ centred / len(centred))
        eigenvalues = np.maximum(eigenvalues, 0)
        matrix = (eigenvectors / np.sqrt(eigenvalues + epsilon)) @ eigenvectors.T
    else:
        matrix = np.eye(patch_size**2)
    kmeans = KMeans(n_clusters=n_filters, n_init=1, random_state=rng).fit(centred @ matrix)
    return PatchFilters(
        centroids=kmeans.cluster_centers_,
        whitening=matrix,
        patch_mean=patch_mean,
        patch_size=patch_size,
        contrast_epsilon=contrast_epsilon,
        inertia=float(kmeans.inertia_),
    )
