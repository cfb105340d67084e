"""2D and 3D Gabor and Morlet filter banks, built in the Fourier domain.

A Gabor filter's spectrum is a Gaussian centred on its frequency vector
``f * u`` (``u`` the unit orientation vector, in array-axis order):

    G(nu) = exp(-2 pi^2 (nu - f u)^T C (nu - f u)),

where ``C`` is the covariance, in pixels^2, of the spatial envelope: standard
deviation ``sigma`` along ``u`` (set by the bandwidth) and ``sigma /
aspect_ratio`` across it. Its peak is 1, so the kernel is exactly
``skimage.filters.gabor_kernel``'s (which is divided by ``2 pi sigma_x
sigma_y``). The spectrum is summed over its aliases ``nu + m`` (``m`` integer
vectors): by the Poisson summation formula it is then exactly the DFT of the
sampled kernel, wrapped around (periodized) on the grid, for even and odd
grid sizes alike.

A Morlet filter is the Gabor filter minus its envelope times the constant that
makes its sum zero (its spectrum vanishes at DC), as Kymatio's ``morlet_2d``.
"""
import functools
from types import MappingProxyType

import numpy as np

from .._cache import cached
from ._bank import (
    COMPLEX,
    NEGLIGIBLE,
    FilterBank,
    LazySpectra,
    cached_builder,
    filter_metadata,
)
from ._validation import (
    check_dtype,
    check_float,
    check_frequency_range,
    check_int,
    check_shape,
)

__all__ = ["gabor_bank", "morlet_bank", "gabor_bank_3d", "morlet_bank_3d"]

# Alias terms below exp(-_CUT) of a Gaussian's peak (1e-13) are skipped.
_CUT = 30.0
# Default scales stop at this many octaves, to bound memory (a 1024x1024
# complex128 spectrum is 16 MiB per filter); larger scales are better computed
# on downsampled images.
_MAX_DEFAULT_SCALES = {2: 4, 3: 3}
# Directions of gabor_bank_3d beyond this many come from the lattice alone.
_MAX_REPELLED = 256
# Envelope standard deviations (pixels) outside this range are refused: wider
# ones overflow the support arithmetic, narrower ones make singular covariances.
_SIGMA_RANGE = (2.0**-10, 2.0**20)
_MAX_SCALES = 1024
_MAX_BANDWIDTH = 64.0


def _sigma(frequency, bandwidth):
    """Envelope standard deviation (pixels) along the wave, as skimage's.

    The spectrum, a Gaussian of standard deviation ``1 / (2 pi sigma)`` about
    ``frequency``, is then at half its peak at ``frequency * (1 +- r)`` with
    ``(1 + r) / (1 - r) = 2**bandwidth``: the half-amplitude bandwidth.
    """
    b = 2.0 ** bandwidth
    return np.sqrt(np.log(2) / 2) / np.pi * (b + 1) / (b - 1) / frequency


def _frequencies(shape, n_scales, bandwidth, aspect_ratio, frequency_range):
    """Centre frequencies, highest first, spaced geometrically."""
    if frequency_range is not None:
        f_min, f_max = frequency_range
        if n_scales is None:
            n_scales = 1 + int(round(np.log2(f_max / f_min) / bandwidth))
        return np.geomspace(f_max, f_min, n_scales)
    # The top filter's upper half-amplitude edge sits at Nyquist (0.5):
    # 0.375 cycles/pixel for one octave, as Kymatio's 3/8.
    f_max = 0.25 * (1 + 2.0 ** -bandwidth)
    if n_scales is None:
        # As many octaves as keep the longer envelope standard deviation
        # within a quarter of the smallest side, capped.
        longest = _sigma(f_max, bandwidth) * max(1.0, 1.0 / aspect_ratio)
        fitting = int(np.floor(np.log2(min(shape) / 4 / longest) / bandwidth)) + 1
        n_scales = int(np.clip(fitting, 1, _MAX_DEFAULT_SCALES[len(shape)]))
    return f_max * 2.0 ** (-bandwidth * np.arange(n_scales))


def _half_sphere(n, n_steps=200):
    """``n`` distinct unit vectors spread evenly over a half-sphere, first coordinate >= 0.

    A direction and its opposite give the same filter up to conjugation, so
    the vectors are spread over the projective plane: starting from a
    Fibonacci lattice on the hemisphere (equal-area bands, azimuths advancing
    by the golden angle; its heights are distinct, so its directions are),
    points repel each other and each other's opposites (Coulomb energy) for a
    fixed number of steps, each step bounded so that no two points can jump
    onto one another. Deterministic; gives three orthogonal axes for ``n=3``
    and the icosahedron's 6 axes for ``n=6``. Above ``_MAX_REPELLED`` points
    the lattice alone is already even (and repelling would cost O(n^2) per step).
    """
    i = np.arange(n)
    height = (i + 0.5) / n
    azimuth = i * np.pi * (3.0 - np.sqrt(5.0))
    radius = np.sqrt(1.0 - height**2)
    u = np.stack([height, radius * np.sin(azimuth), radius * np.cos(azimuth)], axis=1)
    lattice = u
    # Points are about sqrt(2 pi / n) apart on the half-sphere.
    max_step = 0.3 * np.sqrt(2 * np.pi / n)
    for _ in range(n_steps if n <= _MAX_REPELLED else 0):
        # |u_i -+ u_j|^2 = 2 -+ 2 cos: the forces from the points and their
        # opposites, as matrix products rather than (n, 2n, 3) differences.
        cos = u @ u.T
        near = np.maximum(2.0 - 2.0 * cos, 1e-18) ** -1.5
        far = np.maximum(2.0 + 2.0 * cos, 1e-18) ** -1.5
        near[i, i] = 0.0
        step = (u * (near.sum(axis=1) + far.sum(axis=1))[:, None]
                - (near - far) @ u) / (2 * n)
        norm = np.linalg.norm(step, axis=1, keepdims=True)
        u = u + step * np.minimum(1.0, max_step / np.maximum(norm, 1e-300))
        u /= np.linalg.norm(u, axis=1, keepdims=True)
    u = u * np.where(u[:, :1] < 0, -1.0, 1.0)
    if n > 1 and _min_separation(u) < 1e-6:
        return lattice  # never seen; the lattice's directions are distinct
    return u


def _min_separation(u):
    """Smallest 1 - |cos| between two of the directions ``u`` (0: two coincide)."""
    cos = np.abs(u @ u.T)
    np.fill_diagonal(cos, 0.0)
    return float(1.0 - cos.max())


def _alias_terms(n, centre, reach):
    """Bins of an axis of length ``n`` within ``reach`` of an alias of ``centre``.

    Returns the bin indices and their distances ``nu + m - centre`` (``nu``
    in ``fftfreq`` layout, ``m`` an integer alias): one entry per (bin,
    alias) pair, so a bin near two aliases appears twice.
    """
    nu = np.fft.fftfreq(n)
    m = np.arange(int(np.floor(centre - reach - 0.5)), int(np.ceil(centre + reach + 0.5)) + 1)
    d = nu[None, :] + (m[:, None] - centre)
    keep = np.abs(d) <= reach
    return np.broadcast_to(np.arange(n), d.shape)[keep], d[keep]


def _gaussian(shape, centre, quad):
    """``sum_m exp(-(nu+m-c)^T quad (nu+m-c))`` on a grid (``fftfreq`` layout), float64.

    Only the box where every axis is within the Gaussian's ``exp(-_CUT)``
    reach is computed, as a sum over its (bin, alias) pairs.
    """
    # Where the exponent is above -_CUT, |d_i| <= sqrt(_CUT * inv(quad)_ii).
    reach = np.sqrt(_CUT * np.diag(np.linalg.inv(quad)))
    terms = [_alias_terms(n, c, r) for n, c, r in zip(shape, centre, reach)]
    nd = len(shape)
    d = np.ix_(*(t[1] for t in terms))
    exponent = np.zeros([len(t[1]) for t in terms])
    for i in range(nd):
        for j in range(i, nd):
            exponent += ((1 if i == j else 2) * quad[i, j] * d[i]) * d[j]
    flat = np.broadcast_to(np.ravel_multi_index(np.ix_(*(t[0] for t in terms)), shape),
                           exponent.shape)
    # (No bin in reach gives an int array: cast.)
    return np.bincount(flat.ravel(), np.exp(-exponent).ravel(), minlength=int(np.prod(shape))
                       ).astype(np.float64, copy=False).reshape(shape)


def _axis_gaussians(n, centres, quads):
    """(K, n): ``sum_m exp(-q (nu+m-c)^2)`` on one axis for K 1D Gaussians at once.

    The factors of Gaussians with a diagonal ``quad`` (round envelopes,
    axis-aligned waves: the pipeline's default banks): the same box and
    aliases as :func:`_gaussian`, whose product over axes they are.
    """
    reach = np.sqrt(_CUT / quads)
    m = np.arange(int(np.floor(np.min(centres - reach) - 0.5)),
                  int(np.ceil(np.max(centres + reach) + 0.5)) + 1)
    d = np.fft.fftfreq(n)[None, None, :] + (m[None, :, None] - centres[:, None, None])
    values = np.exp(-quads[:, None, None] * d * d)
    values[np.abs(d) > reach[:, None, None]] = 0.0
    return values.sum(axis=1)


def _diagonal(cov):
    return not np.any(np.asarray(cov)[~np.eye(len(cov), dtype=bool)])


def _factors(shape, gaussians, index=None):
    """Per axis (K, n): the 1D Gaussians whose outer products are the spectra."""
    if index is not None:
        gaussians = [gaussians[i] for i in index]
    nd = len(shape)
    centres = np.array([c for c, _ in gaussians], dtype=np.float64).reshape(-1, nd)
    quads = 2 * np.pi**2 * np.array([np.diag(q) for _, q in gaussians],
                                    dtype=np.float64).reshape(-1, nd)
    return [_axis_gaussians(n, centres[:, a], quads[:, a]) for a, n in enumerate(shape)]


def _outer(factors, k):
    """Row ``k`` of the per-axis ``factors``, multiplied out over the grid."""
    out = factors[0][k]
    for factor in factors[1:]:
        out = np.multiply.outer(out, factor[k])
    return out


@cached_builder
def _build(kind, shape, frequencies, n_orientations, bandwidth, aspect_ratio, dtype):
    metadata, support, max_frequency, gaussians, separable = _design(
        kind, len(shape), frequencies, n_orientations, bandwidth, aspect_ratio)
    # Spectra are made on first use: a bank for a large image costs nothing
    # until then (the response engine works on tiles of it).
    spectra = LazySpectra(functools.partial(_spectra, kind, tuple(shape), gaussians, dtype),
                          (len(gaussians),) + tuple(shape), COMPLEX[dtype],
                          functools.partial(_factors, tuple(shape), gaussians)
                          if separable else None)
    # On another grid: the same frequencies, not that grid's defaults.
    builder = functools.partial(_build_on_grid, kind, frequencies, n_orientations,
                                bandwidth, aspect_ratio, dtype)
    return FilterBank(spectra, metadata, support_radius=support,
                      max_frequency=max_frequency, is_real=False, builder=builder)


@cached
def _design(kind, nd, frequencies, n_orientations, bandwidth, aspect_ratio):
    """What a bank is whatever its grid: metadata, supports, band edges, Gaussians.

    Kept apart from the grid so that the same bank on many image sizes
    (images of varied sizes) builds it once; a few KiB per design.
    """
    if nd == 2:
        angles = np.pi * np.arange(n_orientations) / n_orientations
        # Array-axis order (row, col) = (y, x): theta = 0 varies along columns.
        directions = np.stack([np.sin(angles), np.cos(angles)], axis=1)
    else:
        directions = _half_sphere(n_orientations)

    metadata, support, max_frequency, gaussians = [], [], [], []
    log_negligible = np.log(1 / NEGLIGIBLE)
    for s, f in enumerate(frequencies):
        sigma = _sigma(f, bandwidth)
        sigma_across = sigma / aspect_ratio
        for o, u in enumerate(directions):
            cov = sigma_across**2 * np.eye(nd) + (sigma**2 - sigma_across**2) * np.outer(u, u)
            gaussians.append((f * u, cov))
            # The envelope exp(-x^T C^-1 x / 2) and the spectrum's Gaussian
            # fall below NEGLIGIBLE of their peak at these distances.
            support.append(np.ceil(np.sqrt(2 * log_negligible * np.diag(cov)).max()))
            reach = np.sqrt(log_negligible * np.diag(np.linalg.inv(2 * np.pi**2 * cov)))
            max_frequency.append(min(0.5, float(np.max(np.abs(f * u) + reach))))
            orientation = float(angles[o]) if nd == 2 else tuple(float(v) for v in u)
            metadata.append(filter_metadata(
                kind, scale=float(sigma), orientation=orientation, frequency=float(f),
                bandwidth=bandwidth, aspect_ratio=aspect_ratio, scale_index=s,
                orientation_index=o,
            ))
    # Filters whose spectra are outer products of one vector per axis.
    separable = kind == "gabor" and all(_diagonal(cov) for _, cov in gaussians)
    return (tuple(MappingProxyType(m) for m in metadata), tuple(support),
            tuple(max_frequency), tuple(gaussians), separable)


def _spectra(kind, shape, gaussians, dtype, index=None):
    """The spectra of a Gabor or Morlet bank (its filters ``index``): a Gaussian each.

    A Morlet filter subtracts its envelope, scaled to cancel the DC response.
    """
    nd = len(shape)
    if index is not None:
        gaussians = [gaussians[i] for i in index]
    spectra = np.empty((len(gaussians), *shape), COMPLEX[dtype])
    if not gaussians:
        return spectra
    centres = np.array([c for c, _ in gaussians], dtype=np.float64).reshape(-1, nd)
    quads = 2 * np.pi**2 * np.array([q for _, q in gaussians], dtype=np.float64)
    diagonal = ~np.any(quads[:, ~np.eye(nd, dtype=bool)], axis=1)
    rows = np.flatnonzero(diagonal)
    if rows.size:
        # A vector per axis and filter; a grid-sized temporary per filter only.
        q = quads[rows][:, np.arange(nd), np.arange(nd)]
        factors = _factors(shape, gaussians, index=rows)   # the bank's axis_factors
        if kind == "morlet":
            envelopes = [_axis_gaussians(n, np.zeros(len(rows)), q[:, a])
                         for a, n in enumerate(shape)]
        for j, k in enumerate(rows):
            spectrum = _outer(factors, j)
            if kind == "morlet":
                envelope = _outer(envelopes, j)
                spectrum -= (spectrum.flat[0] / envelope.flat[0]) * envelope
            spectra[k] = spectrum
    for k in np.flatnonzero(~diagonal):
        spectrum = _gaussian(shape, centres[k], quads[k])
        if kind == "morlet":
            envelope = _gaussian(shape, np.zeros(nd), quads[k])
            spectrum -= (spectrum.flat[0] / envelope.flat[0]) * envelope
        spectra[k] = spectrum
    return spectra


def _build_on_grid(kind, frequencies, n_orientations, bandwidth, aspect_ratio, dtype, shape):
    return _build(kind, shape, frequencies, n_orientations, bandwidth, aspect_ratio, dtype)


def _validated(func, shape, nd, n_scales, n_orientations, bandwidth, aspect_ratio,
               frequency_range, dtype):
    shape = check_shape(shape, nd, func)
    if n_scales is not None:
        n_scales = check_int(n_scales, "n_scales", func)
    n_orientations = check_int(n_orientations, "n_orientations", func)
    bandwidth = check_float(bandwidth, "bandwidth", func)
    if bandwidth > _MAX_BANDWIDTH:
        raise ValueError(f"The 'bandwidth' parameter of {func} must be at most "
                         f"{_MAX_BANDWIDTH:g} octaves. Got {bandwidth!r} instead.")
    aspect_ratio = check_float(aspect_ratio, "aspect_ratio", func)
    frequency_range = check_frequency_range(frequency_range, func)
    dtype = check_dtype(dtype, func)
    frequencies = _frequencies(shape, n_scales, bandwidth, aspect_ratio, frequency_range)
    _check_envelopes(func, frequencies, bandwidth, aspect_ratio)
    return (shape, tuple(float(f) for f in frequencies), n_orientations, bandwidth,
            aspect_ratio, dtype)


def _check_envelopes(func, frequencies, bandwidth, aspect_ratio):
    """A named error for filters whose envelopes no grid can hold (or no
    covariance can describe), rather than an OverflowError or LinAlgError."""
    if len(frequencies) > _MAX_SCALES:
        raise ValueError(f"{func} would build {len(frequencies)} scales, more than "
                         f"{_MAX_SCALES}: ask for fewer with 'n_scales', or widen 'bandwidth'.")
    with np.errstate(divide="ignore", over="ignore"):   # inf: refused below
        sigma = _sigma(np.asarray(frequencies), bandwidth)
        extremes = np.concatenate([sigma, sigma / aspect_ratio])
    low, high = _SIGMA_RANGE
    if not np.all((extremes >= low) & (extremes <= high)):
        raise ValueError(
            f"{func}: with n_scales={len(frequencies)}, bandwidth={bandwidth!r} and "
            f"aspect_ratio={aspect_ratio!r}, the envelope standard deviations span "
            f"{extremes.min():.3g} to {extremes.max():.3g} pixels, outside [{low:g}, {high:g}]. "
            f"Use fewer scales ('n_scales' or 'frequency_range'), a wider 'bandwidth', or an "
            f"'aspect_ratio' closer to 1."
        )


def gabor_bank(shape, n_scales=None, n_orientations=8, bandwidth=1.0, aspect_ratio=0.5,
               frequency_range=None, dtype=np.float64):
    """Complex 2D Gabor filters at several scales and orientations.

    The filters' spectra are Gaussians centred on ``frequency * (cos theta,
    sin theta)`` in (x, y) = (column, row) coordinates; the kernels are
    complex, with a cosine (even) real part and a sine (odd) imaginary part.
    They are not exactly zero-mean; see :func:`morlet_bank` for filters that
    are.

    Parameters
    ----------
    shape : tuple of 2 ints
        The grid ``(rows, cols)`` the bank is built for. Filters whose
        envelope is wider than the grid wrap around (they are periodized); pad
        images by the bank's ``spatial_support`` to avoid that.
    n_scales : int, optional
        Number of centre frequencies. Default: as many octaves (at spacing
        ``bandwidth``) as keep the longer envelope standard deviation below
        a quarter of ``min(shape)``, at least 1 and at most 4 (1 for 8x8, 2
        for 28x28, 4 from 128x128 up). Larger scales are better applied to
        downsampled images.
    n_orientations : int, default=8
        Orientations ``theta = pi * k / n_orientations``, uniform in
        ``[0, pi)``.
    bandwidth : float, default=1.0
        Half-amplitude radial bandwidth in octaves: the spectrum falls to half
        its peak at two frequencies whose ratio is ``2**bandwidth``. Sets the
        envelope's standard deviation along the wave, ``sigma = sqrt(ln 2 /
        2) / pi * (2**b + 1) / (2**b - 1) / frequency`` (as skimage), and
        the default spacing of the scales (adjacent filters then cross at half
        amplitude).
    aspect_ratio : float, default=0.5
        Ratio of the envelope's standard deviations along and across the
        wave: ``sigma_y = sigma / aspect_ratio``. Below 1 the filter is
        elongated along its stripes and more selective in orientation; 0.5
        makes 8 orientations cross near half amplitude.
    frequency_range : (float, float), optional
        ``(f_min, f_max)`` in cycles per pixel, ``0 < f_min <= f_max <= 0.5``:
        the centre frequencies are ``np.geomspace(f_max, f_min, n_scales)``,
        and ``n_scales`` defaults to the number of octaves (at spacing
        ``bandwidth``) in the range, plus one. Default: ``f_max = (1 +
        2**-bandwidth) / 4`` (0.375 for one octave, the highest frequency
        whose passband stops at Nyquist), spaced by ``2**-bandwidth``.
    dtype : {np.float32, np.float64}, default=np.float64
        Precision: the spectra are complex64 or complex128.

    Returns
    -------
    bank : FilterBank
        ``n_scales * n_orientations`` filters, scale-major (filter ``s *
        n_orientations + o``), highest frequency first. Cached: the same
        read-only bank is returned for the same arguments. Metadata:
        ``kind='gabor'``, ``frequency`` (cycles/pixel), ``orientation``
        (theta, radians), ``scale`` (``sigma``, pixels), ``bandwidth``,
        ``aspect_ratio``, ``scale_index``, ``orientation_index``.

    See Also
    --------
    morlet_bank : the zero-mean version.
    gabor_bank_3d : for volumes.
    skimage.filters.gabor_kernel : one spatial kernel.

    Notes
    -----
    The kernel of a filter with metadata ``m`` equals (up to skimage's
    truncation at ``n_stds`` standard deviations) ::

        skimage.filters.gabor_kernel(
            m["frequency"], theta=m["orientation"],
            sigma_x=m["scale"], sigma_y=m["scale"] / m["aspect_ratio"])

    with no rescaling: both have a spectrum that peaks at 1, skimage through
    its ``1 / (2 pi sigma_x sigma_y)`` factor. With ``aspect_ratio=1`` the
    ``bandwidth`` is skimage's too. Orientations follow skimage: ``theta``
    runs from the column axis (x, right) towards the row axis (y, down).

    Memory grows as ``n_filters * rows * cols``: the default 32 filters on a
    1024x1024 grid take 512 MiB in float64, 256 MiB in float32.

    References
    ----------
    .. [1] B. S. Manjunath and W. Y. Ma, "Texture features for browsing and
           retrieval of image data", IEEE TPAMI 18(8), 1996.

    Examples
    --------
    >>> import numpy as np
    >>> from featpool.filters import gabor_bank
    >>> bank = gabor_bank((28, 28))
    >>> bank
    FilterBank(n_filters=16, shape=(28, 28), dtype=float64, kinds=('gabor',), spatial_support=23)
    >>> [round(m["frequency"], 4) for m in bank.metadata[::8]]
    [0.375, 0.1875]
    >>> len(gabor_bank((8, 8))), len(gabor_bank((1024, 1024), dtype=np.float32))
    (8, 32)
    """
    args = _validated("gabor_bank", shape, 2, n_scales, n_orientations, bandwidth,
                      aspect_ratio, frequency_range, dtype)
    return _build("gabor", *args)


def morlet_bank(shape, n_scales=None, n_orientations=8, bandwidth=1.0, aspect_ratio=0.5,
                frequency_range=None, dtype=np.float64):
    """Complex 2D Morlet (zero-mean Gabor) filters at several scales and orientations.

    Each filter is the :func:`gabor_bank` filter minus ``beta`` times its
    Gaussian envelope, with ``beta`` chosen so that the kernel sums to zero on
    the grid (its spectrum is 0 at DC), as Kymatio's ``morlet_2d``. The
    correction matters at low frequency and wide bandwidth, where a Gabor
    filter would respond to the mean intensity.

    Parameters
    ----------
    shape, n_scales, n_orientations, bandwidth, aspect_ratio, frequency_range, dtype
        As for :func:`gabor_bank`.

    Returns
    -------
    bank : FilterBank
        Like :func:`gabor_bank`'s, with ``kind='morlet'``.

    See Also
    --------
    gabor_bank, morlet_bank_3d

    Examples
    --------
    >>> import numpy as np
    >>> from featpool.filters import morlet_bank
    >>> bank = morlet_bank((64, 64), bandwidth=2.0)
    >>> bool(np.abs(bank.spectra[:, 0, 0]).max() < 1e-12)
    True
    """
    args = _validated("morlet_bank", shape, 2, n_scales, n_orientations, bandwidth,
                      aspect_ratio, frequency_range, dtype)
    return _build("morlet", *args)


def gabor_bank_3d(shape, n_scales=None, n_orientations=13, bandwidth=1.0, aspect_ratio=1.0,
                  frequency_range=None, dtype=np.float64):
    """Complex 3D Gabor filters for volumes, orientations spread over the half-sphere.

    The 3D counterpart of :func:`gabor_bank`: each spectrum is a Gaussian
    centred on ``frequency * u`` for a unit vector ``u``; the envelope has
    standard deviation ``sigma`` along ``u`` and ``sigma / aspect_ratio`` in
    the plane across it.

    Parameters
    ----------
    shape : tuple of 3 ints
        The grid the bank is built for (periodized as in :func:`gabor_bank`).
    n_scales : int, optional
        As for :func:`gabor_bank`, with at most 3 octaves by default (memory
        grows with the volume).
    n_orientations : int, default=13
        Number of directions ``u``, spread evenly over the half-sphere: unit
        vectors with first coordinate >= 0, no two of them antipodal, that
        repel each other and each other's opposites (from a Fibonacci
        lattice start; 13 directions are at least 36 degrees apart).
    bandwidth : float, default=1.0
        Half-amplitude radial bandwidth in octaves, as for :func:`gabor_bank`.
    aspect_ratio : float, default=1.0
        Ratio of the envelope's standard deviations along and across ``u``.
        The default, an isotropic envelope, makes 13 directions cross near
        half amplitude.
    frequency_range : (float, float), optional
        As for :func:`gabor_bank`.
    dtype : {np.float32, np.float64}, default=np.float64
        Precision: the spectra are complex64 or complex128.

    Returns
    -------
    bank : FilterBank
        ``n_scales * n_orientations`` filters, scale-major. Metadata as for
        :func:`gabor_bank`, except that ``orientation`` is the unit vector
        ``u`` as a tuple in array-axis order. Cached and read-only.

    See Also
    --------
    gabor_bank, morlet_bank_3d

    Examples
    --------
    >>> import numpy as np
    >>> from featpool.filters import gabor_bank_3d
    >>> bank = gabor_bank_3d((32, 32, 32), n_scales=2)
    >>> len(bank), bank.shape
    (26, (32, 32, 32))
    >>> u = np.array([m["orientation"] for m in bank.metadata])
    >>> bool(np.allclose(np.linalg.norm(u, axis=1), 1) and (u[:, 0] > 0).all())
    True
    """
    args = _validated("gabor_bank_3d", shape, 3, n_scales, n_orientations, bandwidth,
                      aspect_ratio, frequency_range, dtype)
    return _build("gabor", *args)


def morlet_bank_3d(shape, n_scales=None, n_orientations=13, bandwidth=1.0, aspect_ratio=1.0,
                   frequency_range=None, dtype=np.float64):
    """Complex 3D Morlet (zero-mean Gabor) filters, orientations over the half-sphere.

    The filters of :func:`gabor_bank_3d`, each minus its envelope times the
    constant that makes it sum to zero, as :func:`morlet_bank` in 2D.

    Parameters
    ----------
    shape, n_scales, n_orientations, bandwidth, aspect_ratio, frequency_range, dtype
        As for :func:`gabor_bank_3d`.

    Returns
    -------
    bank : FilterBank
        Like :func:`gabor_bank_3d`'s, with ``kind='morlet'``.

    See Also
    --------
    gabor_bank_3d, morlet_bank

    Examples
    --------
    >>> import numpy as np
    >>> from featpool.filters import morlet_bank_3d
    >>> bank = morlet_bank_3d((16, 16, 16), n_orientations=6)
    >>> len(bank), bool(np.abs(bank.spectra[:, 0, 0, 0]).max() < 1e-12)
    (12, True)
    """
    args = _validated("morlet_bank_3d", shape, 3, n_scales, n_orientations, bandwidth,
                      aspect_ratio, frequency_range, dtype)
    return _build("morlet", *args)
