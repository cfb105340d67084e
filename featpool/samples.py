"""User input to validated samples: arrays, lists of images, flat rows, channels.

Every face of featpool reads images through :func:`read_samples`: the
transformers, :func:`featpool.pipeline.extract_features`, and the batch
command (which reads files with :mod:`featpool.io` first). The rules:

* ``(n, H, W)`` images and ``(n, D, H, W)`` volumes, with a channel axis
  where ``channel_axis`` says;
* flat rows ``(n, n_features)``, as scikit-learn's tabular estimators take
  them, reshaped to ``image_shape`` (square images when it is not given and
  the row length is a perfect square, else images one pixel high);
* a list (or tuple) of images, possibly of different sizes: item ``i`` is
  sample ``i``, whatever its shape, so row ``i`` of every result belongs to
  item ``i``. Items may be arrays, anything ``np.asarray`` takes, or PIL
  images;
* **colour**: an image whose last axis has length 3 or 4 (and whose other
  axes are longer than 4 pixels) is taken for a colour image. Without
  ``channel_axis`` it is an error that says what to pass (``channel_axis=-1``
  to filter each channel, or convert to grey first), never silently a 3-pixel
  deep volume. A volume whose last axis really has 3 or 4 voxels: move that
  axis first (``np.moveaxis``);
* TypeError for the wrong kind of thing (None, a path, a complex or text
  array), ValueError for wrong values (NaN, shapes that do not fit).
"""
import math
import numbers

import numpy as np

from ._config import working_memory_bytes

__all__ = ["map_by_shape", "read_samples"]


def _check_shape(value, name):
    if value is None:
        return None
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__"):
        raise TypeError(f"The '{name}' parameter must be a tuple of ints >= 1. Got {value!r} "
                        f"instead.")
    shape = tuple(value)
    if not shape or not all(isinstance(v, numbers.Integral) and not isinstance(v, bool)
                            and v >= 1 for v in shape):
        raise ValueError(f"The '{name}' parameter must be a tuple of ints >= 1. Got "
                         f"{value!r} instead.")
    return tuple(int(v) for v in shape)


def _check_channel_axis(channel_axis):
    if channel_axis is not None and (isinstance(channel_axis, bool)
                                     or not isinstance(channel_axis, numbers.Integral)):
        raise TypeError(f"The 'channel_axis' parameter must be an int or None. Got "
                        f"{channel_axis!r} instead.")
    return None if channel_axis is None else int(channel_axis)


def _as_image(x, where):
    """One image as a real numeric array, or a TypeError naming where it was."""
    if x is None or isinstance(x, (str, bytes)) or hasattr(x, "__fspath__"):
        hint = (" Read image files first (featpool.io.read_image, or the featpool extract "
                "command for folders)." if x is not None else "")
        raise TypeError(f"{where} is {x!r}: every sample must be an image array.{hint}")
    if isinstance(x, np.ma.MaskedArray) and np.ma.getmaskarray(x).any():
        raise ValueError(f"{where} is a masked array with masked pixels; the filters would "
                         f"read the values under the mask. Fill them first (x.filled(...)).")
    try:
        x = np.asarray(x)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{where} is not an array of numbers: {error}") from None
    if x.dtype.kind not in "biuf":
        raise TypeError(f"{where} must hold real numbers. Got an array of dtype {x.dtype} "
                        f"instead.")
    return x


def _looks_colour(sample_shape):
    return (len(sample_shape) == 3 and sample_shape[-1] in (3, 4)
            and min(sample_shape[:-1]) > 4)


def _colour_error(where, shape):
    return ValueError(
        f"{where} has shape {shape}: it looks like a colour image (last axis of length "
        f"{shape[-1]}). Pass channel_axis=-1 to filter each channel, or convert to grey "
        f"first (skimage.color.rgb2gray). A volume with {shape[-1]} voxels along its last "
        f"axis: move that axis first (np.moveaxis)."
    )


def _channels_first(x, channel_axis, where):
    """Move ``channel_axis`` of a sample x to axis 0, or add a channel axis."""
    if channel_axis is None:
        if _looks_colour(x.shape):
            raise _colour_error(where, x.shape)
        return x[None]
    if not -x.ndim <= channel_axis < x.ndim:
        raise ValueError(
            f"The 'channel_axis' parameter must be an axis of each sample: in [0, "
            f"{x.ndim - 1}] for the sample's own axes, or counted from the batch axis of an "
            f"array. Got {channel_axis} for {where} of shape {x.shape}."
        )
    return np.moveaxis(x, channel_axis, 0)


def _check_finite(x, where):
    if x.dtype.kind == "f" and x.size and not np.isfinite(x).all():
        raise ValueError(f"{where} contains NaN or infinite pixels; the Fourier transform "
                         f"would spread them over the whole image. Replace them first (e.g. "
                         f"np.nan_to_num or an inpainting).")


def _check_ndim(samples, spatial_ndim, where):
    for i, s in enumerate(samples):
        if s.ndim - 1 not in ((2, 3) if spatial_ndim is None else (spatial_ndim,)):
            expected = "2 or 3" if spatial_ndim is None else str(spatial_ndim)
            raise ValueError(
                f"{where(i)} has {s.ndim - 1} spatial axes (channels first: {s.shape}); "
                f"expected {expected} (2D images or 3D volumes, plus channel_axis if any)."
            )


def _infer_shape(n_features):
    """Image shape of a flat row without ``image_shape``: square, else one pixel high."""
    side = math.isqrt(n_features)
    return (side, side) if side * side == n_features else (1, n_features)


def _read_list(X, channel_axis, spatial_ndim):
    items = [_as_image(x, f"X[{i}]") for i, x in enumerate(X)]
    if channel_axis is not None and channel_axis < 0:
        axis = channel_axis  # counts back from each image's last axis
    elif channel_axis is not None:
        axis = channel_axis - 1  # counted from the batch axis, as for arrays
    else:
        axis = None
    samples = [_channels_first(x, axis, f"X[{i}]") for i, x in enumerate(items)]
    _check_ndim(samples, spatial_ndim, lambda i: f"X[{i}]")
    if len({(s.ndim, s.shape[0]) for s in samples}) > 1:
        raise ValueError(
            "X is a list of images with different numbers of axes or channels: "
            f"{sorted({x.shape for x in items})}. Every image needs the same layout."
        )
    for i, s in enumerate(samples):
        _check_finite(s, f"X[{i}]")
    if len({s.shape for s in samples}) == 1:  # one shape: one array
        return np.stack(samples), None
    return samples, None


def read_samples(X, *, channel_axis=None, image_shape=None, spatial_ndim=None):
    """Validate images and put their channels first.

    Parameters
    ----------
    X : array-like or list of array-like
        ``(n, H, W)`` images, ``(n, D, H, W)`` volumes, either with a channel
        axis (``channel_axis``), flat rows ``(n, n_features)``, or a list of
        images of any sizes (arrays, nested lists, PIL images). See the
        module's rules for colour.
    channel_axis : int, optional
        The axis of ``X`` (samples first; for a list, of the array the list
        would stack into) that holds channels, e.g. -1 for ``(n, H, W, 3)``.
    image_shape : tuple of int, optional
        Shape of one sample, to read flat rows: ``(H, W)``, ``(D, H, W)``,
        or with the channel axis where ``channel_axis`` says. Without it,
        rows whose length is a perfect square are square images, others one
        pixel high.
    spatial_ndim : {2, 3}, optional
        Spatial axes each sample must have (the bank's); default 2 or 3.

    Returns
    -------
    samples : ndarray of shape (n, C, *spatial), or list of ndarrays (C, *spatial)
        A list only for images of different shapes; item ``i`` is ``X[i]``.
        Numbers as given (integer images stay integer: the pipeline casts).
    sample_shape : tuple of int or None
        The shape of one sample as given (None for images of different shapes).

    Raises
    ------
    TypeError
        For a sample that is not an array of real numbers (None, a path, a
        complex or text array).
    ValueError
        For NaN or infinite pixels, colour images without ``channel_axis``,
        shapes that do not fit ``image_shape`` or ``spatial_ndim``.

    Examples
    --------
    >>> import numpy as np
    >>> from featpool.samples import read_samples
    >>> samples, shape = read_samples(np.zeros((5, 64)))          # flat rows: 8x8 images
    >>> samples.shape, shape
    ((5, 1, 8, 8), (8, 8))
    >>> samples, _ = read_samples(np.zeros((2, 32, 32, 3)), channel_axis=-1)
    >>> samples.shape
    (2, 3, 32, 32)
    >>> [s.shape for s in read_samples([np.zeros((20, 30)), np.zeros((40, 40))])[0]]
    [(1, 20, 30), (1, 40, 40)]
    >>> read_samples([np.zeros((8, 8)), None])
    Traceback (most recent call last):
    ...
    TypeError: X[1] is None: every sample must be an image array.
    """
    channel_axis = _check_channel_axis(channel_axis)
    image_shape = _check_shape(image_shape, "image_shape")
    if spatial_ndim not in (None, 2, 3):
        raise ValueError(f"The 'spatial_ndim' parameter must be 2, 3 or None. Got "
                         f"{spatial_ndim!r} instead.")
    if isinstance(X, (list, tuple)):
        if not X:
            raise ValueError("X is an empty list: there are no images to read.")
        if image_shape is not None:
            raise ValueError("The 'image_shape' parameter reads flat rows of an array; X is "
                             "a list of images, which have their own shapes.")
        return _read_list(X, channel_axis, spatial_ndim)
    X = _as_image(X, "X")
    if X.ndim < 2:
        raise ValueError(f"X must be a batch of images or flat rows (2 dimensions or more). "
                         f"Got an array of shape {X.shape}.")
    if X.ndim == 2:
        sample_shape = image_shape
        if sample_shape is None:
            if channel_axis is not None:
                raise ValueError(
                    f"With channel_axis={channel_axis}, flat rows of {X.shape[1]} features "
                    f"need 'image_shape' (e.g. image_shape=(32, 32, 3)).")
            sample_shape = _infer_shape(X.shape[1])
        if math.prod(sample_shape) != X.shape[1]:
            source = "image_shape" if image_shape else "a square, or one pixel high"
            raise ValueError(
                f"Each row is read as an image of shape {sample_shape} ({source}: "
                f"{math.prod(sample_shape)} values), but X has {X.shape[1]} features."
            )
        X = X.reshape((len(X),) + sample_shape)
    elif image_shape is not None and image_shape != X.shape[1:]:
        raise ValueError(
            f"The 'image_shape' parameter applies to flat rows; the samples given have "
            f"shape {X.shape[1:]}, not {image_shape}.")
    sample_shape = X.shape[1:]
    if channel_axis is None:
        if _looks_colour(sample_shape):
            raise _colour_error("Each sample of X", sample_shape)
        samples = X[:, None]
    else:
        if not -X.ndim < channel_axis < X.ndim or channel_axis % X.ndim == 0:
            raise ValueError(
                f"The 'channel_axis' parameter must be an axis of X other than the first (the "
                f"sample axis), in [1, {X.ndim - 1}] or [{-X.ndim + 1}, -1], for X of shape "
                f"{X.shape}. Got {channel_axis} instead.")
        samples = np.moveaxis(X, channel_axis, 1)
    _check_ndim(samples[:1], spatial_ndim, lambda i: "Each sample of X")
    _check_finite(samples, "X")
    return samples, tuple(sample_shape)


def map_by_shape(samples, n_out, dtype, compute):
    """Apply ``compute`` (n, C, *spatial) -> (n, n_out) to samples, grouped by shape.

    A few samples at a time (a quarter of the working memory, counted in
    float32 pixels), so that the copies made on the way (channels moved,
    dtype cast) stay small and memory does not grow with the number of
    samples. Row ``i`` of the result is sample ``i``.

    Parameters
    ----------
    samples : ndarray (n, C, *spatial) or list of ndarrays (C, *spatial)
        As :func:`read_samples` returns them.
    n_out : int
        Values ``compute`` returns per sample.
    dtype : dtype
        Of the result.
    compute : callable
        Takes an array (b, C, *spatial) of samples of one shape and returns
        (b, n_out).

    Returns
    -------
    out : ndarray of shape (n, n_out)

    Examples
    --------
    >>> import numpy as np
    >>> from featpool.samples import map_by_shape
    >>> samples = [np.ones((1, 4, 4)), np.ones((1, 8, 8)), np.ones((1, 4, 4))]
    >>> map_by_shape(samples, 1, np.float64, lambda b: b.sum(axis=(1, 2, 3))[:, None]).ravel()
    array([16., 64., 16.])
    """
    out = np.empty((len(samples), n_out), dtype=dtype)
    if isinstance(samples, list):
        groups = {}
        for i, x in enumerate(samples):
            groups.setdefault(x.shape, []).append(i)
    else:
        groups = {samples.shape[1:]: list(range(len(samples)))} if len(samples) else {}
    budget = working_memory_bytes(1 / 4)
    for shape, index in groups.items():
        step = max(1, budget // (4 * math.prod(shape)))
        for start in range(0, len(index), step):
            chunk = index[start:start + step]
            if isinstance(samples, list):
                out[chunk] = compute(np.stack([samples[i] for i in chunk]))
            else:
                out[chunk[0]:chunk[-1] + 1] = compute(samples[chunk[0]:chunk[-1] + 1])
    return out
