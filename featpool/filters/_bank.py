"""The `FilterBank` container: filters' spectra on a grid, with their metadata.

Conventions shared by every bank in ``featpool.filters``:

* A bank is built for one grid ``shape`` (2D ``(rows, cols)`` or 3D). Its
  ``spectra[k]`` is the DFT of filter ``k``'s convolution kernel on that grid,
  in ``np.fft.fftfreq`` layout (DC at index 0), so the response of an image
  ``x`` of that shape is ``ifftn(fftn(x) * spectra[k])``: a circular
  convolution. Kernels whose support is larger than the grid wrap around
  (they are periodized); ``spatial_support`` tells callers how much border
  padding avoids that.
* Frequencies are in cycles per pixel (Nyquist is 0.5).
* Orientations (2D) are angles in radians in ``[0, pi)``, measured from the
  column axis (x, pointing right) towards the row axis (y, pointing down):
  ``theta = 0`` varies along columns, ``theta = pi/2`` along rows. This is
  ``skimage.filters.gabor_kernel``'s ``theta``. In 3D an orientation is a unit
  vector in array-axis order.
"""
import functools
import hashlib
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import scipy.fft

from .._cache import cached
from ._validation import check_dtype, check_shape

__all__ = ["FilterBank", "LazySpectra"]

# A filter is negligible where its magnitude is below this fraction of its
# peak: used for `support_radius` (space) and `max_frequency` (frequency).
NEGLIGIBLE = 1e-3
# For banks made of compact spatial kernels, support_radius is where they fall
# below this: cheap to honour, and convolutions are then exact to that level.
KERNEL_NEGLIGIBLE = 1e-12

COMPLEX = {np.dtype(np.float32): np.dtype(np.complex64),
           np.dtype(np.float64): np.dtype(np.complex128)}



def cached_builder(func):
    """Cache a bank builder on its (canonical, hashable) arguments."""
    return cached(func)


def _read_only(array):
    view = array.view()
    view.flags.writeable = False
    return view


def _signed_offsets(n):
    """Pixel offset of each index of an axis of length ``n`` in DFT layout."""
    return (np.arange(n) + n // 2) % n - n // 2


def _extent(magnitude, coordinates, negligible=NEGLIGIBLE):
    """Per filter, the largest ``|coordinate|`` along any axis where it is not negligible.

    ``magnitude`` has shape ``(n_filters, *grid)``; ``coordinates[i]`` gives the
    coordinate of each index along grid axis ``i``.
    """
    n = magnitude.shape[0]
    peak = magnitude.reshape(n, -1).max(axis=1)
    mask = magnitude >= (negligible * peak).reshape((n,) + (1,) * (magnitude.ndim - 1))
    extent = np.zeros(n)
    for axis, coordinate in enumerate(coordinates, start=1):
        others = tuple(a for a in range(1, magnitude.ndim) if a != axis)
        hit = mask.any(axis=others)
        extent = np.maximum(extent, np.where(hit, np.abs(coordinate), 0).max(axis=1))
    return extent


def _is_hermitian(spectra):
    """Whether every spectrum is that of a real kernel: S[-k] == conj(S[k])."""
    reflected = spectra
    for axis in range(1, spectra.ndim):
        n = spectra.shape[axis]
        reflected = np.take(reflected, (-np.arange(n)) % n, axis=axis)
    scale = np.abs(spectra).max(initial=0)
    tolerance = 100 * np.finfo(spectra.real.dtype).eps * max(scale, 1e-300)
    return bool(np.abs(spectra - reflected.conj()).max(initial=0) <= tolerance)


def _periodize(kernels, origin, shape):
    """Place small kernels on a ``shape`` grid, origin at index 0, wrapping around.

    ``kernels`` has shape ``(n_filters, *box)``; ``origin[i]`` is the index
    along box axis ``i`` of the kernel's centre. Parts of a kernel that fall
    outside the grid wrap around and add up (periodization).
    """
    out = kernels
    for axis, (n, o) in enumerate(zip(shape, origin), start=1):
        index = (np.arange(out.shape[axis]) - o) % n
        placed = np.zeros(out.shape[:axis] + (n,) + out.shape[axis + 1:], out.dtype)
        where = (slice(None),) * axis + (index,)
        if out.shape[axis] <= n:
            placed[where] = out
        else:
            np.add.at(placed, where, out)
        out = placed
    return out


class LazySpectra:
    """Spectra computed on first use: ``make()`` returns the (n_filters, *shape) array.

    ``make(index=...)`` must return only the filters ``index`` (a tuple of
    ints), so that a subset of a lazy bank computes only its own filters.

    ``factors``, optional, for banks whose every spectrum is separable (an
    outer product of one real vector per axis, as a Gaussian with a diagonal
    covariance is): ``factors(index=...)`` returns per axis a float64 array
    (n_filters, n) whose rows multiply out to the spectra. The response
    engine then measures bands and crops spectra on each axis alone, so a
    bank on a new image size costs a few vectors (:meth:`FilterBank.axis_factors`).

    Builders that know their filters' support and bandwidth analytically (the
    Gabor and Morlet banks) pass one to :class:`FilterBank`, so that a bank
    for a large image costs nothing until its spectra on that grid are really
    needed: the response engine rebuilds banks on tile grids instead.
    """

    def __init__(self, make, layout, dtype, factors=None):
        self.make = make
        self.layout = tuple(int(n) for n in layout)
        self.dtype = np.dtype(dtype)
        self.factors = factors


@dataclass(frozen=True, eq=False, repr=False)
class FilterBank:
    """Filters on a 2D or 3D grid, as spectra, with per-filter metadata.

    A bank is immutable and its arrays are read-only: builders cache banks and
    return the same object again, so nothing may change it in place. Build a
    new bank with :meth:`subset` or the constructor instead.

    Parameters
    ----------
    spectra : ndarray of shape (n_filters, *shape)
        DFT of each filter's convolution kernel on the grid, DC at index 0
        (``np.fft.fftfreq`` layout). Stored as complex64 or complex128
        (real float32 input becomes complex64, anything else complex128).
    metadata : sequence of mappings, one per filter
        Keys used by featpool: ``kind`` (str), ``scale`` (envelope standard
        deviation in pixels, or None), ``orientation`` (radians in
        ``[0, pi)`` in 2D, unit vector in 3D, None if isotropic),
        ``frequency`` (cycles/pixel at the centre of the passband, 0 for a
        lowpass filter), ``bandwidth`` (octaves, or None), ``scale_index`` and
        ``orientation_index`` (ints; ``orientation_index`` None if isotropic).
        Stored as read-only mappings.
    support_radius : array-like of int, shape (n_filters,), optional
        Radius in pixels (along any axis) beyond which each filter's kernel
        is negligible: below ``1e-3`` of its peak when measured from the
        spectra (if None), below ``1e-12`` for :meth:`from_kernels` banks
        (compact kernels, which the engine then reproduces exactly). The
        response engine pads images by it.
    max_frequency : array-like of float, shape (n_filters,), optional
        Highest frequency (cycles/pixel, along any axis) where each filter's
        spectrum is above ``1e-3`` of its peak; a filter can be applied to an
        image downsampled by ``s`` without loss while ``s * max_frequency <=
        0.5``. Measured from the spectra if None.
    is_real : bool, optional
        Whether every kernel is real (Hermitian spectra), so that real FFTs
        suffice. Measured from the spectra if None.
    builder : callable, optional
        ``builder(shape)`` returns the same filters on another grid; it is
        what :meth:`for_shape` calls. The builders of ``featpool.filters``
        and :meth:`from_kernels` set it.

    Attributes
    ----------
    shape : tuple of int
        The grid the bank was built for.
    ndim : int
        2 or 3.
    dtype : numpy.dtype
        float32 for complex64 spectra, float64 for complex128.
    spatial_support : int
        The largest ``support_radius``: pad images by this much to avoid
        wrap-around.

    See Also
    --------
    FilterBank.from_kernels : build a bank from small spatial kernels.

    Examples
    --------
    >>> import numpy as np
    >>> from featpool.filters import FilterBank
    >>> kernels = np.array([[[0, 0, 0], [-1, 0, 1], [0, 0, 0]],
    ...                     [[0, -1, 0], [0, 0, 0], [0, 1, 0]]], dtype=float)
    >>> bank = FilterBank.from_kernels(kernels, (16, 16))
    >>> bank
    FilterBank(n_filters=2, shape=(16, 16), dtype=float64, kinds=('custom',), spatial_support=1)
    >>> bank.spectra.shape, bank.spectra.dtype
    ((2, 16, 16), dtype('complex128'))
    >>> image = np.random.default_rng(0).random((16, 16))
    >>> response = np.fft.ifft2(np.fft.fft2(image) * bank.spectra[0]).real
    >>> bool(np.isclose(response[5, 5], image[5, 4] - image[5, 6]))
    True
    """

    spectra: np.ndarray
    metadata: tuple
    support_radius: np.ndarray = None
    max_frequency: np.ndarray = None
    is_real: bool = None
    builder: object = None

    def __post_init__(self):
        if isinstance(self.spectra, LazySpectra):
            self._init_lazy()
            return
        spectra = np.asarray(self.spectra)
        if spectra.dtype.kind not in "fc" or spectra.ndim not in (3, 4):
            raise ValueError(
                "The 'spectra' parameter of FilterBank must be a float or complex array "
                "of shape (n_filters, *shape) with a 2D or 3D shape. Got an array of "
                f"dtype {spectra.dtype} and shape {spectra.shape} instead."
            )
        single = spectra.dtype in (np.float32, np.complex64)
        spectra = spectra.astype(np.complex64 if single else np.complex128, copy=False)
        n = spectra.shape[0]
        if len(self.metadata) != n:
            raise ValueError(
                f"The 'metadata' parameter of FilterBank must have one entry per filter "
                f"({n}). Got {len(self.metadata)} entries instead."
            )
        metadata = tuple(MappingProxyType(dict(m)) for m in self.metadata)
        shape = spectra.shape[1:]

        support = self.support_radius
        if support is None:
            kernels = scipy.fft.ifftn(spectra, axes=tuple(range(1, spectra.ndim)))
            support = _extent(np.abs(kernels), [_signed_offsets(s) for s in shape])
        max_frequency = self.max_frequency
        if max_frequency is None:
            max_frequency = _extent(np.abs(spectra), [np.fft.fftfreq(s) for s in shape])
        support = np.asarray(support, dtype=np.intp).reshape(n)
        max_frequency = np.asarray(max_frequency, dtype=np.float64).reshape(n)
        is_real = _is_hermitian(spectra) if self.is_real is None else bool(self.is_real)

        object.__setattr__(self, "spectra", _read_only(spectra))
        self._set_fields(spectra.shape, spectra.dtype, metadata, support, max_frequency, is_real)

    def _set_fields(self, layout, complex_dtype, metadata, support, max_frequency, is_real):
        object.__setattr__(self, "_layout", (tuple(layout), np.dtype(complex_dtype)))
        object.__setattr__(self, "metadata", metadata)
        object.__setattr__(self, "support_radius", _read_only(support))
        object.__setattr__(self, "max_frequency", _read_only(max_frequency))
        object.__setattr__(self, "is_real", is_real)
        object.__setattr__(self, "_key", None)

    def _init_lazy(self):
        lazy = self.spectra
        if self.support_radius is None or self.max_frequency is None or self.is_real is None:
            raise ValueError(
                "A FilterBank with LazySpectra needs support_radius, max_frequency and "
                "is_real: they cannot be measured without computing the spectra."
            )
        n = lazy.layout[0]
        if len(self.metadata) != n:
            raise ValueError(
                f"The 'metadata' parameter of FilterBank must have one entry per filter "
                f"({n}). Got {len(self.metadata)} entries instead."
            )
        self._set_fields(
            lazy.layout, lazy.dtype, tuple(m if isinstance(m, MappingProxyType)
                                           else MappingProxyType(dict(m)) for m in self.metadata),
            np.asarray(self.support_radius, dtype=np.intp).reshape(n),
            np.asarray(self.max_frequency, dtype=np.float64).reshape(n), bool(self.is_real))
        object.__setattr__(self, "_lazy", lazy)
        object.__delattr__(self, "spectra")  # computed by __getattr__ on use
        _key_by_builder(self)

    def __getattr__(self, name):
        # Only reached for attributes not set: the spectra of a lazy bank,
        # kept in the bounded cache (not on the bank, which may live long).
        if name == "spectra" and "_lazy" in self.__dict__:
            return _lazy_spectra(self)
        raise AttributeError(f"'FilterBank' object has no attribute {name!r}")

    def __hash__(self):
        key = self.__dict__.get("_key")
        return object.__hash__(self) if key is None else hash(key)

    def __eq__(self, other):
        if self is other:
            return True
        if not isinstance(other, FilterBank):
            return NotImplemented
        key = self.__dict__.get("_key")
        return key is not None and key == other.__dict__.get("_key")

    def axis_factors(self):
        """Per axis, the vectors whose outer products are the spectra; None if not separable.

        Returns
        -------
        factors : list of ndarray (n_filters, n) or None
            float64, read-only; ``spectra[k]`` is the outer product of
            ``factors[0][k], factors[1][k], ...`` cast to the bank's complex
            dtype. Gabor banks with round envelopes (``aspect_ratio=1``, the
            pipeline's default) have them.

        Examples
        --------
        >>> import numpy as np
        >>> from featpool.filters import gabor_bank
        >>> bank = gabor_bank((16, 20), n_scales=1, n_orientations=2, aspect_ratio=1.0)
        >>> rows, cols = bank.axis_factors()
        >>> rows.shape, cols.shape
        ((2, 16), (2, 20))
        >>> bool(np.allclose(np.outer(rows[1], cols[1]), bank.spectra[1]))
        True
        >>> print(gabor_bank((16, 20), aspect_ratio=0.5).axis_factors())
        None
        """
        lazy = self.__dict__.get("_lazy")
        if lazy is None or lazy.factors is None:
            return None
        return _axis_factors(self)

    @classmethod
    def from_kernels(cls, kernels, shape, metadata=None, origin=None, dtype=np.float64):
        """Build a bank from small spatial convolution kernels.

        Each kernel is placed on the grid with its ``origin`` at pixel
        ``(0, 0)``, wrapped around (periodized) where it is larger than the
        grid, and Fourier transformed. ``support_radius`` is measured on the
        kernels, ``max_frequency`` on the spectra.

        Parameters
        ----------
        kernels : array-like of shape (n_filters, *box)
            Real or complex kernels, 2D or 3D.
        shape : tuple of int
            The grid (same number of dimensions as the kernels).
        metadata : sequence of dict, optional
            One mapping per filter; default ``{'kind': 'custom', ...}`` with
            the other keys None (``scale_index`` 0).
        origin : tuple of int, optional
            Index in ``box`` of the kernel's centre. Default ``box // 2``.
        dtype : {np.float32, np.float64}, default=np.float64
            Precision of the bank.

        Returns
        -------
        bank : FilterBank

        Examples
        --------
        >>> import numpy as np
        >>> from featpool.filters import FilterBank
        >>> box = np.ones((1, 3, 3)) / 9
        >>> bank = FilterBank.from_kernels(box, (8, 8), dtype=np.float32)
        >>> bank.dtype, bank.is_real, round(float(bank.spectra[0, 0, 0].real), 6)
        (dtype('float32'), True, 1.0)
        """
        kernels = np.asarray(kernels)
        if kernels.dtype.kind not in "biufc" or kernels.ndim not in (3, 4):
            raise ValueError(
                "The 'kernels' parameter of FilterBank.from_kernels must be a numeric "
                "array of shape (n_filters, *box) with a 2D or 3D box. Got an array of "
                f"dtype {kernels.dtype} and shape {kernels.shape} instead."
            )
        if 0 in kernels.shape:
            raise ValueError(
                "The 'kernels' parameter of FilterBank.from_kernels must hold at least one "
                f"non-empty kernel. Got an array of shape {kernels.shape} instead."
            )
        finite = np.isfinite(kernels).reshape(len(kernels), -1).all(axis=1)
        if not finite.all():
            raise ValueError(
                "The 'kernels' parameter of FilterBank.from_kernels must hold finite values. "
                f"Kernels {np.flatnonzero(~finite).tolist()} hold NaN or infinity."
            )
        nd = kernels.ndim - 1
        shape = check_shape(shape, nd, "FilterBank.from_kernels")
        dtype = check_dtype(dtype, "FilterBank.from_kernels")
        box = kernels.shape[1:]
        origin = tuple(b // 2 for b in box) if origin is None else tuple(origin)
        if len(origin) != nd:
            raise ValueError(
                f"The 'origin' parameter of FilterBank.from_kernels must have {nd} "
                f"entries. Got {origin!r} instead."
            )
        n = kernels.shape[0]
        if metadata is None:
            metadata = [filter_metadata("custom") for _ in range(n)]

        is_real = kernels.dtype.kind != "c"
        kernels = kernels.astype(dtype if is_real else COMPLEX[dtype], copy=False)
        offsets = [np.abs(np.arange(b) - o) for b, o in zip(box, origin)]
        # Kernels are compact: pad as far as they really reach (values above
        # 1e-12 of the peak), so that convolutions are exact to that level.
        support = np.ceil(_extent(np.abs(kernels), offsets, negligible=KERNEL_NEGLIGIBLE))
        placed = _periodize(kernels, origin, shape)
        spectra = scipy.fft.fftn(placed, axes=tuple(range(1, nd + 1)))
        builder = functools.partial(_kernels_on_grid, kernels, tuple(dict(m) for m in metadata),
                                    origin, dtype)
        return _key_by_builder(cls(spectra, metadata, support_radius=support,
                                   is_real=is_real, builder=builder))

    def __len__(self):
        return self._layout[0][0]

    def __repr__(self):
        kinds = tuple(dict.fromkeys(m["kind"] for m in self.metadata))
        return (
            f"FilterBank(n_filters={len(self)}, shape={self.shape}, dtype={self.dtype}, "
            f"kinds={kinds}, spatial_support={self.spatial_support})"
        )

    def __reduce__(self):
        # MappingProxyType does not pickle: rebuild from plain dicts.
        return (
            _unpickle,
            (type(self), self.__dict__.get("spectra", self.__dict__.get("_lazy")),
             [dict(m) for m in self.metadata], self.support_radius,
             self.max_frequency, self.is_real, self.builder, self.__dict__.get("_key")),
        )

    @property
    def shape(self):
        return self._layout[0][1:]

    @property
    def ndim(self):
        return len(self._layout[0]) - 1

    @property
    def dtype(self):
        return np.dtype(np.float32 if self._layout[1] == np.complex64 else np.float64)

    @property
    def spatial_support(self):
        return int(self.support_radius.max(initial=0))

    def for_shape(self, shape):
        """The same filters on another grid (e.g. an image padded for borders).

        Parameters
        ----------
        shape : tuple of int
            The new grid, with as many dimensions as the bank.

        Returns
        -------
        bank : FilterBank
            ``self`` if the shape is unchanged; otherwise rebuilt with
            :attr:`builder` (the same filters: same scales, orientations and
            frequencies, not the defaults of the new shape) and cached.

        Examples
        --------
        >>> from featpool.filters import gabor_bank
        >>> bank = gabor_bank((28, 28))
        >>> bigger = bank.for_shape((64, 64))
        >>> bigger.shape, len(bigger) == len(bank)
        ((64, 64), True)
        >>> [m["frequency"] for m in bigger.metadata] == [m["frequency"] for m in bank.metadata]
        True
        """
        shape = tuple(int(n) for n in shape)
        if shape == self.shape:
            return self
        if len(shape) != self.ndim:
            raise ValueError(
                f"The 'shape' parameter of FilterBank.for_shape must have {self.ndim} "
                f"entries for this {self.ndim}D bank. Got {shape!r} instead."
            )
        if self.builder is None:
            raise ValueError(
                "This FilterBank has no builder, so it cannot be rebuilt for grid "
                f"{shape}; build it with FilterBank.from_kernels or a featpool.filters "
                "builder, or for that shape directly."
            )
        return _on_grid(self, shape)

    def select(self, indices, shape):
        """Some filters on some grid: ``subset(indices).for_shape(shape)``, cached.

        The response engine gives each group of filters a grid padded just as
        much as they reach; this keeps those banks between calls.

        Examples
        --------
        >>> from featpool.filters import gabor_bank
        >>> bank = gabor_bank((64, 64))
        >>> part = bank.select([0, 1], (80, 80))
        >>> part.shape, len(part), bank.select([0, 1], (80, 80)) is part
        ((80, 80), 2, True)
        """
        return _select(self, tuple(int(i) for i in np.atleast_1d(indices)),
                       tuple(int(n) for n in shape))

    def filters_spatial(self):
        """Return the convolution kernels, centred, for plots and checks.

        Returns
        -------
        kernels : ndarray of shape (n_filters, *shape)
            ``fftshift(ifftn(spectra))``: the kernel's origin is at index
            ``shape // 2``. Real (float32/float64) when :attr:`is_real`,
            complex otherwise.

        Examples
        --------
        >>> from featpool.filters import log_bank
        >>> kernels = log_bank((15, 15), sigmas=[1.0]).filters_spatial()
        >>> kernels.shape, kernels.dtype
        ((1, 15, 15), dtype('float64'))
        >>> bool(kernels[0, 7, 7] == kernels[0].min())  # centre of the LoG
        True
        """
        axes = tuple(range(1, self.spectra.ndim))
        kernels = np.fft.fftshift(scipy.fft.ifftn(self.spectra, axes=axes), axes=axes)
        return np.ascontiguousarray(kernels.real) if self.is_real else kernels

    def subset(self, indices):
        """Return a new bank holding the selected filters.

        Parameters
        ----------
        indices : int, slice, sequence of int or boolean mask
            Which filters, as for indexing a 1D array.

        Returns
        -------
        bank : FilterBank

        Examples
        --------
        >>> from featpool.filters import gabor_bank
        >>> bank = gabor_bank((32, 32), n_scales=2, n_orientations=4)
        >>> coarse = bank.subset([m["scale_index"] == 1 for m in bank.metadata])
        >>> len(coarse), sorted({m["scale_index"] for m in coarse.metadata})
        (4, [1])
        """
        index = np.atleast_1d(np.arange(len(self))[indices])
        if "spectra" in self.__dict__:
            spectra = self.spectra[index]
        else:  # stay lazy: a subset of a large bank must not compute all of it
            outer = tuple(int(i) for i in index)
            factors = self._lazy.factors
            spectra = LazySpectra(functools.partial(_take, self._lazy.make, outer),
                                  (len(index),) + self.shape, self._layout[1],
                                  None if factors is None else functools.partial(
                                      _take, factors, outer))
        subset = type(self)(
            spectra,
            [self.metadata[i] for i in index],
            support_radius=self.support_radius[index],
            max_frequency=self.max_frequency[index],
            is_real=bool(self.is_real),
            builder=None if self.builder is None else _subset_builder(
                self.builder, tuple(int(i) for i in index)),
        )
        # A keyed bank's subset is what its builder makes, as the bank was.
        return _key_by_builder(subset) if self.__dict__.get("_key") is not None else subset

    def orientation_groups(self):
        """Group the filters that differ only by orientation.

        Filters with the same ``kind`` and ``scale_index`` and an
        ``orientation_index`` form one group, ordered by orientation; every
        isotropic filter is a group of its own. Pooling over each group (max
        for MR8, mean or a Fourier modulus for rotation invariance) turns the
        bank's responses into rotation-invariant ones.

        Returns
        -------
        groups : list of ndarray of int
            Filter indices, one array per group, in order of first filter.

        Examples
        --------
        >>> from featpool.filters import rfs_bank
        >>> groups = rfs_bank((64, 64)).orientation_groups()
        >>> len(groups), [len(g) for g in groups]
        (8, [6, 6, 6, 6, 6, 6, 1, 1])
        """
        groups = {}
        for i, m in enumerate(self.metadata):
            oriented = m.get("orientation_index") is not None
            key = (m["kind"], m.get("scale_index")) if oriented else ("", i)
            groups.setdefault(key, []).append(i)
        return [
            np.array(sorted(g, key=lambda i: self.metadata[i].get("orientation_index") or 0))
            for g in groups.values()
        ]


def _unpickle(cls, spectra, metadata, support, max_frequency, is_real, builder, key):
    bank = cls(spectra, metadata, support, max_frequency, is_real, builder)
    object.__setattr__(bank, "_key", key)  # an unpickled bank shares the cache
    return bank


def _key_by_builder(bank):
    """Key ``bank`` by its builder and grid, which make it: banks so keyed are equal when
    their keys are, hash alike and share the cache (in another process too, after
    pickling). Only for banks a featpool builder made (not spectra given as arrays)."""
    if bank.builder is not None:
        object.__setattr__(bank, "_key", (_value_key(bank.builder), bank.shape))
    return bank


def _value_key(value):
    """A hashable stand-in for a builder that two equal builders share.

    Partial functions compare by identity; their function and arguments
    (tuples, numbers, dtypes, metadata dicts, kernel arrays by content) do not.
    """
    if isinstance(value, functools.partial):
        return ("partial", value.func, _value_key(value.args),
                _value_key(tuple(sorted(value.keywords.items()))))
    if isinstance(value, (tuple, list)):
        return tuple(_value_key(v) for v in value)
    if isinstance(value, (dict, MappingProxyType)):
        return ("dict",) + tuple((k, _value_key(v)) for k, v in sorted(value.items()))
    if isinstance(value, np.ndarray):
        return ("array", value.shape, value.dtype.str,
                hashlib.sha1(np.ascontiguousarray(value).tobytes()).hexdigest())
    hash(value)
    return value


@cached
def _lazy_spectra(bank):
    """The spectra of a lazy bank, read-only: made once, kept in the bounded cache."""
    spectra = np.asarray(bank._lazy.make()).astype(bank._layout[1], copy=False)
    if spectra.shape != bank._layout[0]:
        raise RuntimeError(
            f"LazySpectra made an array of shape {spectra.shape}, expected {bank._layout[0]}."
        )
    return _read_only(spectra)


@cached
def _axis_factors(bank):
    factors = [np.array(f, dtype=np.float64) for f in bank._lazy.factors()]
    for f in factors:
        f.flags.writeable = False
    return factors


@cached
def _on_grid(bank, shape):
    """``bank.builder(shape)``: the same filters on another grid."""
    return bank.builder(shape)


@cached
def _select(bank, index, shape):
    if shape != bank.shape and bank.builder is not None and len(shape) == bank.ndim:
        # Straight on the new grid: no copy of the subset on this one.
        return _subset_builder(bank.builder, index)(shape)
    return bank.subset(list(index)).for_shape(shape)


def _kernels_on_grid(kernels, metadata, origin, dtype, shape):
    """Builder of FilterBank.from_kernels banks: the same kernels on ``shape``."""
    return FilterBank.from_kernels(kernels, shape, metadata, origin=origin, dtype=dtype)


def _take(make, outer, index=None):
    """Spectra of the subset ``outer`` of a lazy bank (of its filters ``index``)."""
    return make(index=outer if index is None else tuple(outer[i] for i in index))


def _subset_on_grid(builder, index, shape):
    """Builder of FilterBank.subset banks."""
    return builder(shape).subset(list(index))


def _subset_builder(builder, index):
    """The builder of a subset: a kernel bank's keeps only the chosen kernels.

    Others build the whole bank on the grid and take the subset, which costs
    nothing for lazy banks (Gabor, Morlet) but a transform of every kernel
    for :meth:`FilterBank.from_kernels` banks.
    """
    if isinstance(builder, functools.partial) and builder.func is _kernels_on_grid:
        kernels, metadata, origin, dtype = builder.args
        return functools.partial(_kernels_on_grid, kernels[list(index)],
                                 tuple(metadata[i] for i in index), origin, dtype)
    return functools.partial(_subset_on_grid, builder, tuple(index))


def filter_metadata(kind, **fields):
    """A metadata dict with every key featpool uses; unknown ones None."""
    metadata = dict(kind=kind, scale=None, orientation=None, frequency=None,
                    bandwidth=None, scale_index=0, orientation_index=None)
    metadata.update(fields)
    return metadata

