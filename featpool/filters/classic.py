"""Classic texture filter banks: Leung-Malik, Schmid, RFS/MR8, LoG and DoG.

These filters are defined in the spatial domain, so they are built there: each
is evaluated on a square box centred on the origin, normalized as in the
Oxford VGG reference code (``makeLMfilters.m``, ``makeSfilters.m``,
``makeRFSfilters.m``): band-pass filters to zero mean and unit L1 norm over the
box. Gaussians (lowpass) are normalized to unit sum instead: the reference
also subtracts their mean over its 49x49 box, an artefact of truncation that
would turn them into Gaussian-minus-box filters. The box is then placed on the
grid, wrapped around where it is larger (periodized), and Fourier transformed
(see :meth:`FilterBank.from_kernels`).

Coordinates follow the reference code: ``x`` to the right (columns) and ``y``
up (against the rows). The ``orientation`` reported in the metadata uses the
convention shared by all featpool banks (skimage's ``theta``, from the column
axis towards the downward row axis): it is the direction along which an
oriented filter varies, i.e. across its elongated axis.
"""
import numpy as np

from ._bank import FilterBank, cached_builder, filter_metadata
from ._validation import check_dtype, check_float, check_floats, check_int, check_shape

__all__ = ["leung_malik_bank", "schmid_bank", "rfs_bank", "log_bank", "dog_bank"]

_N_ORIENTATIONS = 6  # LM and RFS
_ELONGATION = 3.0  # LM and RFS: sigma along the filter = 3 * sigma across it
# The (sigma, tau) pairs of Schmid (2001), in the reference code's order.
_SCHMID_PAIRS = ((2, 1), (4, 1), (4, 2), (6, 1), (6, 2), (6, 3), (8, 1), (8, 2),
                 (8, 3), (10, 1), (10, 2), (10, 3), (10, 4))
# LoG and DoG boxes reach this many (outer) standard deviations, as
# scipy.ndimage's default `truncate`.
_TRUNCATE = 4.0


def _box(radius):
    """Coordinates ``x`` (right) and ``y`` (up) on a ``(2 radius + 1)``-square box."""
    offsets = np.arange(-radius, radius + 1, dtype=float)
    y, x = np.meshgrid(-offsets, offsets, indexing="ij")
    return x, y


def _normalize(f):
    """Zero mean, unit L1 norm: the reference code's ``normalise``."""
    f = f - f.mean()
    return f / np.abs(f).sum()


def _gauss1d(sigma, x, order):
    """A 1D Gaussian (order 0) or its first or second derivative at ``x``."""
    variance = sigma**2
    g = np.exp(-x**2 / (2 * variance)) / np.sqrt(2 * np.pi * variance)
    if order == 1:
        return -g * x / variance
    if order == 2:
        return g * (x**2 - variance) / variance**2
    return g


def _gaussian(sigma, x, y):
    g = np.exp(-(x**2 + y**2) / (2 * sigma**2))
    return g / g.sum()


def _log(sigma, x, y):
    r2 = x**2 + y**2
    return _normalize((r2 - 2 * sigma**2) * np.exp(-r2 / (2 * sigma**2)))


def _derivative_frequency(sigma, order):
    """Where the spectrum of an ``order``-th Gaussian derivative peaks.

    ``|nu|**order * exp(-2 pi^2 sigma^2 nu^2)`` peaks at ``sqrt(order) / (2 pi
    sigma)``; the LoG's spectrum is the ``order=2`` case, radially.
    """
    return float(np.sqrt(order) / (2 * np.pi * sigma))


def _oriented_filters(scales, radius):
    """The LM/RFS edge (first derivative) and bar (second derivative) filters.

    The reference's filter at angle ``a`` is a Gaussian derivative along
    ``y' = x sin a + y cos a`` (sigma) times a Gaussian along ``x' = x cos a -
    y sin a`` (3 sigma). Order: edges then bars, each scale-major.
    """
    x, y = _box(radius)
    kernels, metadata = [], []
    for order, kind in ((1, "edge"), (2, "bar")):
        for s, sigma in enumerate(scales):
            for o in range(_N_ORIENTATIONS):
                a = np.pi * o / _N_ORIENTATIONS
                along = np.cos(a) * x - np.sin(a) * y
                across = np.sin(a) * x + np.cos(a) * y
                kernels.append(_normalize(
                    _gauss1d(_ELONGATION * sigma, along, 0) * _gauss1d(sigma, across, order)))
                # d/dy' varies along (sin a, cos a) in (x, y-up), which is the
                # angle a + pi/2 from x towards y-down.
                metadata.append(filter_metadata(
                    kind, scale=float(sigma),
                    orientation=float((a + np.pi / 2) % np.pi),
                    frequency=_derivative_frequency(sigma, order),
                    elongation=_ELONGATION, scale_index=s, orientation_index=o))
    return kernels, metadata


_MAX_SUPPORT = 513


def _check_support(support, func):
    # Below 3 taps a derivative kernel is all zeros (and normalising it, NaN);
    # above _MAX_SUPPORT the kernels of one bank take hundreds of MiB.
    message = (f"The 'support' parameter of {func} must be an odd int from 3 to "
               f"{_MAX_SUPPORT}. Got {support!r} instead.")
    try:
        support = check_int(support, "support", func)
    except TypeError:
        raise TypeError(message) from None
    except ValueError:
        raise ValueError(message) from None
    if support % 2 == 0 or not 3 <= support <= _MAX_SUPPORT:
        raise ValueError(message)
    return support


def _default_sigmas(shape, reach):
    """Powers of two from 1 while a box of ``_TRUNCATE * reach * sigma`` fits half the grid."""
    sigmas = [1.0]
    while _TRUNCATE * reach * 2 * sigmas[-1] <= min(shape) / 2:
        sigmas.append(2 * sigmas[-1])
    return tuple(sigmas)


@cached_builder
def _leung_malik(shape, support, dtype):
    radius = support // 2
    kernels, metadata = _oriented_filters(np.sqrt(2) ** np.arange(1, 4), radius)
    x, y = _box(radius)
    sigmas = np.sqrt(2) ** np.arange(1, 5)
    log_sigmas = sorted(np.concatenate([sigmas, 3 * sigmas]))
    for i, sigma in enumerate(sigmas):
        kernels.append(_gaussian(sigma, x, y))
        metadata.append(filter_metadata("gaussian", scale=float(sigma), frequency=0.0,
                                        scale_index=i))
        for s in (sigma, 3 * sigma):
            kernels.append(_log(s, x, y))
            metadata.append(filter_metadata("log", scale=float(s),
                                            frequency=_derivative_frequency(s, 2),
                                            scale_index=log_sigmas.index(s)))
    return FilterBank.from_kernels(np.stack(kernels), shape, metadata, dtype=dtype)


def leung_malik_bank(shape, support=49, dtype=np.float64):
    """The Leung-Malik (LM) texture filter bank: 48 filters.

    36 oriented filters (first and second derivatives of elongated Gaussians,
    at 6 orientations and 3 scales), 8 Laplacians of Gaussian and 4
    Gaussians, as defined by the Oxford VGG code ``makeLMfilters.m``.

    Parameters
    ----------
    shape : tuple of 2 ints
        The grid ``(rows, cols)`` the bank is built for. A grid smaller than
        ``support`` wraps the filters around (periodizes them); pad images by
        the bank's ``spatial_support`` to avoid that.
    support : int, default=49
        Side of the square box, centred on the origin, on which the filters are
        evaluated and normalized; they are zero outside it. 49, the
        reference's value, truncates the widest LoG (sigma 12) at 2 sigma.
    dtype : {np.float32, np.float64}, default=np.float64
        Precision: the spectra are complex64 or complex128.

    Returns
    -------
    bank : FilterBank
        Filter ``i`` is the reference's ``F(:, :, i + 1)``:

        * 0-17, ``kind='edge'``: first derivative of a Gaussian across the
          filter, ``sigma = sqrt(2)**k`` (``k = 1, 2, 3``) across and ``3
          sigma`` along it, 6 orientations ``pi * o / 6`` per scale;
        * 18-35, ``kind='bar'``: the same with the second derivative;
        * 36-47: for ``sigma = sqrt(2)**k`` (``k = 1..4``), a Gaussian
          (``kind='gaussian'``), a LoG at ``sigma`` and one at ``3 sigma``
          (``kind='log'``).

        Band-pass filters have zero mean and unit L1 norm over the box,
        Gaussians unit sum. ``scale`` is ``sigma`` (across the filter for the
        oriented ones); ``frequency`` is where the untruncated filter's
        spectrum peaks, ``sqrt(order) / (2 pi sigma)`` (0 for Gaussians).
        Cached and read-only.

    See Also
    --------
    rfs_bank, schmid_bank

    References
    ----------
    .. [1] T. Leung and J. Malik, "Representing and recognizing the visual
           appearance of materials using three-dimensional textons", IJCV
           43(1), 2001.
    .. [2] https://www.robots.ox.ac.uk/~vgg/research/texclass/filters.html

    Examples
    --------
    >>> from featpool.filters import leung_malik_bank
    >>> bank = leung_malik_bank((64, 64))
    >>> len(bank), bank.spatial_support
    (48, 24)
    >>> kinds = [m["kind"] for m in bank.metadata]
    >>> {kind: kinds.count(kind) for kind in dict.fromkeys(kinds)}
    {'edge': 18, 'bar': 18, 'gaussian': 4, 'log': 8}
    >>> len(bank.orientation_groups())  # 6 oriented groups, 12 isotropic filters
    18
    """
    func = "leung_malik_bank"
    return _leung_malik(check_shape(shape, 2, func), _check_support(support, func),
                        check_dtype(dtype, func))


@cached_builder
def _schmid(shape, support, dtype):
    x, y = _box(support // 2)
    r = np.hypot(x, y)
    sigmas = sorted({sigma for sigma, _ in _SCHMID_PAIRS})
    kernels, metadata = [], []
    for sigma, tau in _SCHMID_PAIRS:
        kernels.append(_normalize(np.cos(np.pi * tau * r / sigma) * np.exp(-r**2 / (2 * sigma**2))))
        metadata.append(filter_metadata("schmid", scale=float(sigma), tau=tau,
                                        frequency=tau / (2 * sigma),
                                        scale_index=sigmas.index(sigma)))
    return FilterBank.from_kernels(np.stack(kernels), shape, metadata, dtype=dtype)


def schmid_bank(shape, support=49, dtype=np.float64):
    """The Schmid texture filter bank: 13 isotropic (rotation-invariant) filters.

    ``F(r, sigma, tau) = cos(pi tau r / sigma) exp(-r^2 / (2 sigma^2))``,
    made zero-mean and unit-L1, for the 13 ``(sigma, tau)`` pairs of the
    reference code ``makeSfilters.m``: (2, 1), (4, 1), (4, 2), (6, 1),
    (6, 2), (6, 3), (8, 1), (8, 2), (8, 3), (10, 1), (10, 2), (10, 3),
    (10, 4).

    Parameters
    ----------
    shape : tuple of 2 ints
        The grid ``(rows, cols)`` the bank is built for (periodized as in
        :func:`leung_malik_bank`).
    support : int, default=49
        Side of the square box on which the filters are evaluated and
        normalized.
    dtype : {np.float32, np.float64}, default=np.float64
        Precision: the spectra are complex64 or complex128.

    Returns
    -------
    bank : FilterBank
        13 filters, ``kind='schmid'``, in the pairs' order; metadata ``scale``
        (sigma), ``tau``, ``frequency`` (``tau / (2 sigma)``, the cosine's
        frequency), ``scale_index`` (rank of sigma). Cached and read-only.

    See Also
    --------
    leung_malik_bank, rfs_bank

    References
    ----------
    .. [1] C. Schmid, "Constructing models for content-based image
           retrieval", CVPR 2001.

    Examples
    --------
    >>> import numpy as np
    >>> from featpool.filters import schmid_bank
    >>> bank = schmid_bank((49, 49))
    >>> len(bank), bank.is_real
    (13, True)
    >>> kernels = bank.filters_spatial()
    >>> bool(np.allclose(kernels.sum(axis=(1, 2)), 0))
    True
    """
    func = "schmid_bank"
    return _schmid(check_shape(shape, 2, func), _check_support(support, func),
                   check_dtype(dtype, func))


@cached_builder
def _rfs(shape, support, dtype):
    radius = support // 2
    kernels, metadata = _oriented_filters((1.0, 2.0, 4.0), radius)
    x, y = _box(radius)
    kernels += [_gaussian(10.0, x, y), _log(10.0, x, y)]
    metadata += [filter_metadata("gaussian", scale=10.0, frequency=0.0),
                 filter_metadata("log", scale=10.0, frequency=_derivative_frequency(10.0, 2))]
    return FilterBank.from_kernels(np.stack(kernels), shape, metadata, dtype=dtype)


def rfs_bank(shape, support=49, dtype=np.float64):
    """The Root Filter Set (RFS): 38 filters, whose MR8 responses number 8.

    Edge and bar filters (first and second derivatives of an elongated
    Gaussian) at 3 scales and 6 orientations, a Gaussian and a Laplacian of
    Gaussian, as the Oxford VGG code ``makeRFSfilters.m``. The Maximum
    Response 8 (MR8) features of Varma and Zisserman take, for each of the 6
    oriented groups, the maximum response over the 6 orientations, and keep
    the 2 isotropic responses: :meth:`FilterBank.orientation_groups` returns
    those 8 groups.

    Parameters
    ----------
    shape : tuple of 2 ints
        The grid ``(rows, cols)`` the bank is built for (periodized as in
        :func:`leung_malik_bank`).
    support : int, default=49
        Side of the square box on which the filters are evaluated and
        normalized.
    dtype : {np.float32, np.float64}, default=np.float64
        Precision: the spectra are complex64 or complex128.

    Returns
    -------
    bank : FilterBank
        In the reference's order: 0-17 ``kind='edge'``, 18-35 ``kind='bar'``
        (scale-major, ``sigma`` = 1, 2, 4 across the filter and ``3 sigma``
        along it, orientations ``pi * o / 6``), 36 a Gaussian
        (``sigma=10``), 37 a LoG (``sigma=10``). Normalized as
        :func:`leung_malik_bank`'s. Cached and read-only.

    See Also
    --------
    leung_malik_bank, schmid_bank

    References
    ----------
    .. [1] M. Varma and A. Zisserman, "A statistical approach to texture
           classification from single images", IJCV 62(1-2), 2005.

    Examples
    --------
    >>> import numpy as np
    >>> from featpool.filters import rfs_bank
    >>> bank = rfs_bank((64, 64))
    >>> image = np.random.default_rng(0).random((64, 64))
    >>> responses = np.fft.ifft2(np.fft.fft2(image) * bank.spectra).real
    >>> mr8 = np.stack([np.abs(responses[g]).max(axis=0) for g in bank.orientation_groups()])
    >>> mr8.shape
    (8, 64, 64)
    """
    func = "rfs_bank"
    return _rfs(check_shape(shape, 2, func), _check_support(support, func),
                check_dtype(dtype, func))


@cached_builder
def _log_bank(shape, sigmas, dtype):
    x, y = _box(int(np.ceil(_TRUNCATE * max(sigmas))))
    kernels = np.stack([_log(sigma, x, y) for sigma in sigmas])
    metadata = [filter_metadata("log", scale=sigma, frequency=_derivative_frequency(sigma, 2),
                                scale_index=i) for i, sigma in enumerate(sigmas)]
    return FilterBank.from_kernels(kernels, shape, metadata, dtype=dtype)


def log_bank(shape, sigmas=None, dtype=np.float64):
    """Laplacian of Gaussian (LoG) filters at several scales.

    ``(x^2 + y^2 - 2 sigma^2) exp(-(x^2 + y^2) / (2 sigma^2))``, made
    zero-mean and unit-L1 (which makes responses comparable across scales,
    as the ``sigma^2`` scale normalization does), as ``fspecial('log')``
    followed by the LM code's ``normalise``. Negative at the centre: it
    responds positively to dark blobs of radius about ``sqrt(2) sigma``.

    Parameters
    ----------
    shape : tuple of 2 ints
        The grid ``(rows, cols)`` the bank is built for. Each filter is
        evaluated out to ``4 sigma`` of the largest ``sigma``, and wraps
        around (is periodized) on a smaller grid.
    sigmas : sequence of float, optional
        Standard deviations in pixels. Default: 1, 2, 4, ... while ``4
        sigma`` is at most half the smallest side (always at least 1).
    dtype : {np.float32, np.float64}, default=np.float64
        Precision: the spectra are complex64 or complex128.

    Returns
    -------
    bank : FilterBank
        ``kind='log'``, ``scale`` sigma, ``frequency`` ``1 / (sqrt(2) pi
        sigma)`` (the peak of the spectrum). Cached and read-only.

    See Also
    --------
    dog_bank, skimage.feature.blob_log

    Examples
    --------
    >>> from featpool.filters import log_bank
    >>> [m["scale"] for m in log_bank((64, 64)).metadata]
    [1.0, 2.0, 4.0, 8.0]
    >>> [m["scale"] for m in log_bank((8, 8)).metadata]
    [1.0]
    """
    func = "log_bank"
    shape = check_shape(shape, 2, func)
    sigmas = _default_sigmas(shape, 1.0) if sigmas is None else check_floats(sigmas, "sigmas", func)
    return _log_bank(shape, sigmas, check_dtype(dtype, func))


@cached_builder
def _dog_bank(shape, sigmas, ratio, dtype):
    x, y = _box(int(np.ceil(_TRUNCATE * ratio * max(sigmas))))
    kernels = np.stack([_normalize(_gaussian(sigma, x, y) - _gaussian(ratio * sigma, x, y))
                        for sigma in sigmas])
    metadata = []
    for i, sigma in enumerate(sigmas):
        # exp(-a s1^2 rho^2) - exp(-a s2^2 rho^2), a = 2 pi^2, peaks where
        # rho^2 = ln(s2^2 / s1^2) / (a (s2^2 - s1^2)).
        peak = np.sqrt(np.log(ratio**2) / (2 * np.pi**2 * sigma**2 * (ratio**2 - 1)))
        metadata.append(filter_metadata("dog", scale=sigma, ratio=ratio,
                                        frequency=float(peak), scale_index=i))
    return FilterBank.from_kernels(kernels, shape, metadata, dtype=dtype)


def dog_bank(shape, sigmas=None, ratio=1.6, dtype=np.float64):
    """Difference of Gaussians (DoG) filters at several scales.

    ``G(sigma) - G(ratio * sigma)`` (each Gaussian of unit sum), made
    zero-mean and unit-L1: a centre-surround filter, positive at the centre.
    ``ratio=1.6`` approximates a (negated) LoG (Marr and Hildreth).

    Parameters
    ----------
    shape : tuple of 2 ints
        The grid ``(rows, cols)`` the bank is built for. Each filter is
        evaluated out to ``4 * ratio`` times the largest ``sigma``, and wraps
        around (is periodized) on a smaller grid.
    sigmas : sequence of float, optional
        Standard deviations of the centre Gaussians, in pixels. Default: 1,
        2, 4, ... while ``4 * ratio * sigma`` is at most half the smallest
        side (always at least 1).
    ratio : float, default=1.6
        Surround to centre standard deviation ratio, > 1.
    dtype : {np.float32, np.float64}, default=np.float64
        Precision: the spectra are complex64 or complex128.

    Returns
    -------
    bank : FilterBank
        ``kind='dog'``, ``scale`` sigma, ``ratio``, ``frequency`` where the
        spectrum peaks. Cached and read-only.

    See Also
    --------
    log_bank, skimage.filters.difference_of_gaussians

    Examples
    --------
    >>> from featpool.filters import dog_bank
    >>> bank = dog_bank((64, 64))
    >>> [m["scale"] for m in bank.metadata]
    [1.0, 2.0, 4.0]
    >>> bool(bank.filters_spatial()[0, 32, 32] > 0)
    True
    """
    func = "dog_bank"
    shape = check_shape(shape, 2, func)
    ratio = check_float(ratio, "ratio", func, low=1.0)
    sigmas = (_default_sigmas(shape, ratio) if sigmas is None
              else check_floats(sigmas, "sigmas", func))
    return _dog_bank(shape, sigmas, ratio, check_dtype(dtype, func))
