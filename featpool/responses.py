"""From images to pooled filter responses: the public face of the FFT engine.

Public functions: :func:`filter_pool` (pooled features, the fast path),
:func:`filter_responses` (full-resolution maps, the plain path) and
:func:`response_maps` (what each map of ``filter_pool``'s result is). They
validate their arguments once per call; the engine itself
(:mod:`featpool._engine`) trusts what it is given. The choices and measured
errors are in docs/responses.md.
"""
import numpy as np

from ._config import effective_n_threads
from ._engine import (BORDER_MODES, full_responses, make_plans, map_kinds, pool_stack,
                      second_layer_pairs)
from ._vocabulary import NONLINEARITIES, apply_nonlinearity, check_option
from .filters import FilterBank
from .pooling import Pooling, as_poolings

__all__ = ["filter_responses", "filter_pool", "response_maps", "NONLINEARITIES",
           "BORDER_MODES"]


# --------------------------------------------------------------------------
# Input checks
# --------------------------------------------------------------------------

def _check_images(images, ndim, channel_axis, func):
    """Return (list of stacks (n, [C,] *spatial), whether one image was given).

    A list of images (possibly of different sizes) gives one stack per image.
    """
    if isinstance(images, (list, tuple)):
        if len(images) == 0:
            raise ValueError(f"{func} got an empty list of images.")
        return [_check_images(im, ndim, channel_axis, func)[0][0] for im in images], False
    x = np.asarray(images)
    if x.dtype.kind not in "biuf":
        raise TypeError(
            f"The 'images' parameter of {func} must be a real numeric array; "
            f"got dtype {x.dtype}."
        )
    n_lead = x.ndim - ndim - (channel_axis is not None)
    if n_lead not in (0, 1):
        axes = ("n_images, " + ("channels, " if channel_axis is not None else "")
                + ", ".join("DHW"[3 - ndim:]))
        hint = (" Colour images need channel_axis (e.g. channel_axis=-1), or convert "
                "them to grey first." if channel_axis is None and x.shape[-1:] in ((3,), (4,))
                else "")
        raise ValueError(
            f"{func} expects an array of shape ({axes}) or one image without the first "
            f"axis, for this {ndim}D filter bank. Got shape {x.shape}." + hint
        )
    single = n_lead == 0
    if channel_axis is None and n_lead == 1 and x.shape[-1] in (3, 4) and x.shape[-2] > 4:
        raise ValueError(
            f"{func} got an array of shape {x.shape}: it looks like one colour image "
            f"(last axis of length {x.shape[-1]}). Pass channel_axis=-1, or convert it to "
            f"grey first; images only {x.shape[-1]} pixels wide can be given as a list."
        )
    if channel_axis is not None:
        if (isinstance(channel_axis, bool) or not isinstance(channel_axis, (int, np.integer))
                or not -x.ndim <= channel_axis < x.ndim):
            raise ValueError(
                f"The 'channel_axis' parameter of {func} must be an axis of the images "
                f"array (of {x.ndim} dimensions). Got {channel_axis!r} instead."
            )
        x = np.moveaxis(x, channel_axis, 0 if single else 1)
    if single:
        x = x[None]
    spatial = x.shape[x.ndim - ndim:]
    if min(spatial) < 2:
        raise ValueError(
            f"{func} needs images of at least 2 pixels along every axis. "
            f"Got images of shape {spatial}."
        )
    if x.size and not np.isfinite(x).all():
        raise ValueError(
            f"The images given to {func} contain NaN or infinite pixels; the Fourier "
            f"transform would spread them over the whole image. Replace them first "
            f"(e.g. with np.nan_to_num or an inpainting)."
        )
    return [x], single


def _check_mode(mode):
    check_option(mode, "mode", BORDER_MODES)


def _check_engine_nonlinearity(nonlinearity):
    check_option(nonlinearity, "nonlinearity", NONLINEARITIES, allow_none=True)


def response_maps(bank, nonlinearity="modulus", second_bank=None):
    """Describe the maps (axis 1 of :func:`filter_pool`'s result), in order.

    Parameters
    ----------
    bank, nonlinearity, second_bank
        As given to :func:`filter_pool`.

    Returns
    -------
    maps : list of dict
        One per map: ``layer`` (1 or 2), ``filter`` (index in ``bank``),
        ``second_filter`` (index in ``second_bank``, layer 2 only) and
        ``part`` (the pooling-kernel nonlinearity: 'modulus', 'relu_pos', ...).

    Examples
    --------
    >>> from featpool import gabor_bank, response_maps
    >>> bank = gabor_bank((32, 32), n_scales=2, n_orientations=2)
    >>> [(m["layer"], m["filter"], m.get("second_filter")) for m in response_maps(bank, second_bank=bank)]
    [(1, 0, None), (1, 1, None), (1, 2, None), (1, 3, None), (2, 0, 2), (2, 0, 3), (2, 1, 2), (2, 1, 3)]
    """
    _check_engine_nonlinearity(nonlinearity)
    kinds = map_kinds(nonlinearity)
    maps = [{"layer": 1, "filter": i, "part": kind}
            for i in range(len(bank)) for kind in kinds]
    maps += [{"layer": 2, "filter": i, "second_filter": j, "part": kind}
             for i, j in second_layer_pairs(bank, second_bank) for kind in kinds]
    return maps


def _check_bank(bank, func):
    if not isinstance(bank, FilterBank):
        raise TypeError(
            f"The 'bank' parameter of {func} must be a featpool FilterBank (e.g. "
            f"featpool.gabor_bank(shape)). Got {type(bank).__name__} instead."
        )


def _check_batch_size(batch_size):
    if batch_size is not None and (isinstance(batch_size, bool)
                                   or not isinstance(batch_size, (int, np.integer))):
        raise TypeError(f"The 'batch_size' parameter must be a positive int or None. Got "
                        f"{batch_size!r} instead.")
    if batch_size is not None and batch_size < 1:
        raise ValueError(
            f"The 'batch_size' parameter must be a positive int or None. "
            f"Got {batch_size!r} instead."
        )


def _check_workers(workers):
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, (int, np.integer))):
        raise TypeError(f"The 'workers' parameter must be an int or None. Got {workers!r} "
                        f"instead.")
    return effective_n_threads(workers) if workers is not None else None


def filter_pool(images, bank, pooling=None, nonlinearity="modulus", mode="reflect",
                channel_axis=None, multiresolution=True, second_bank=None, batch_size=None,
                n_threads=None, workers=None):
    """Filter images with a bank, apply a nonlinearity, pool: feature arrays.

    The fast path from pixels to pooled responses: images are padded
    (``mode``), Fourier transformed once, multiplied by each filter's
    spectrum, brought back at the lowest resolution the filter's bandwidth
    allows (``multiresolution``), and the nonlinearity and pooling are fused
    in the Cython pooling kernel (full resolution) or computed from the
    coarse samples by quadrature. Memory is bounded: filters and images are
    processed in chunks of about 32 MiB of responses (1/8 of the working
    memory, :func:`featpool.set_config`), and very large images
    in overlap-save tiles (see docs/responses.md).

    Parameters
    ----------
    images : array_like or list of array_like
        ``(n_images, *spatial)`` or one image ``spatial`` (2D or 3D, as the
        bank); with ``channel_axis``, each image has a channel axis. A list
        may hold images of different sizes (the pyramid then gives every image
        the same number of cells). Integer and boolean images are cast to the
        bank's dtype; NaN or infinite pixels raise a ValueError.
    bank : FilterBank
        E.g. ``featpool.gabor_bank(image_shape)``. It is rebuilt (and cached)
        for the padded grid of each image size.
    pooling : Pooling or sequence of Pooling, default Pooling()
        How each response map is pooled: default a (1, 2, 4) pyramid of
        means. Several poolings are concatenated along the cell axis.
    nonlinearity : {'modulus', 'real', 'abs', 'relu_split', 'square'} or None
        Applied to the complex responses: ``|y|``, ``Re y``, ``|Re y|``,
        the two half-waves ``max(Re y, 0)`` and ``max(-Re y, 0)`` (two maps
        per filter), ``|y|**2``. Default 'modulus'.
    mode : {'reflect', 'mirror', 'nearest', 'wrap', 'constant'}, default 'reflect'
        Border handling, as ``scipy.ndimage``: the image is padded by the
        bank's spatial support so that filters never wrap around ('wrap'
        means a circular convolution, no padding).
    channel_axis : int, optional
        Axis of ``images`` holding channels (colour); each channel is
        filtered separately and kept on its own output axis.
    multiresolution : bool, default True
        For averaging poolings (mean, sum, lp, var, std), sample each
        filter's response on the coarsest grid its band allows: for
        'modulus' and 'square' the band is first moved to frequency 0 (which
        leaves ``|y|`` unchanged), so only the filter's bandwidth counts.
        Pooled averages are computed from the samples by quadrature and stay
        within 1e-3 of full resolution (relative error of each image's
        feature vector; see docs/responses.md). Max and min always use full
        resolution. False computes everything at full resolution.
    second_bank : FilterBank, optional
        A second layer (scattering-like cascade): every first-layer modulus
        map ``|x * g1|`` is filtered again by the filters ``g2`` of
        ``second_bank`` that are coarser (lower ``frequency``) than ``g1``,
        and ``||x * g1| * g2|`` is pooled the same way. These maps follow the
        first-layer ones; :func:`response_maps` lists them all.
    batch_size : int, optional
        Images transformed at once; default: as many as 1/32 of the working
        memory (:func:`featpool.set_config`) holds in image spectra.
    n_threads : int, optional
        Threads for the pooling kernel (see :func:`pool2d`).
    workers : int, optional
        Threads for ``scipy.fft`` (default: ``n_threads`` resolved).

    Returns
    -------
    features : ndarray, shape (n_images, [n_channels,] n_maps, n_cells)
        In the bank's dtype. Axes: image, channel (only with
        ``channel_axis``), map (filter ``i`` is map ``i``, or maps ``2i`` and
        ``2i + 1`` for 'relu_split'; then second-layer maps; see
        :func:`response_maps`), cell (for each pooling in order: pyramid
        levels in order, cells in row-major order). One image in, the image
        axis is dropped.

    Examples
    --------
    >>> import numpy as np
    >>> from featpool import Pooling, filter_pool, gabor_bank
    >>> images = np.random.default_rng(0).random((5, 28, 28))
    >>> bank = gabor_bank((28, 28), n_scales=2, n_orientations=4)
    >>> filter_pool(images, bank).shape          # 8 filters, 1 + 4 + 16 cells
    (5, 8, 21)
    >>> filter_pool(images, bank, Pooling("max", levels=(1,))).shape
    (5, 8, 1)
    """
    _check_bank(bank, "filter_pool")
    _check_batch_size(batch_size)
    poolings = (Pooling(),) if pooling is None else as_poolings(pooling, owner="filter_pool")
    _check_mode(mode)
    _check_engine_nonlinearity(nonlinearity)
    if nonlinearity is None:
        raise ValueError("filter_pool needs a nonlinearity: pooled complex values "
                         "are not features. Use filter_responses for raw responses.")
    if second_bank is not None:
        _check_bank(second_bank, "filter_pool")
        if second_bank.ndim != bank.ndim:
            raise ValueError(
                f"The 'second_bank' parameter must have as many dimensions as 'bank' "
                f"({bank.ndim}). Got a {second_bank.ndim}D bank instead."
            )
    stacks, single = _check_images(images, bank.ndim, channel_axis, "filter_pool")
    n_threads = effective_n_threads(n_threads)
    workers = _check_workers(workers) or n_threads
    results = []
    for stack in stacks:
        lead = stack.shape[: stack.ndim - bank.ndim]
        spatial = stack.shape[stack.ndim - bank.ndim:]
        out = pool_stack(stack.reshape((-1,) + spatial), bank, poolings, nonlinearity, mode,
                         multiresolution, second_bank, batch_size, workers, n_threads)
        results.append(out.reshape(lead + out.shape[1:]))
    if len(results) > 1:
        if len({r.shape[1:] for r in results}) > 1:
            raise ValueError(
                "Images of different sizes give different numbers of cells with this "
                "pooling; use a pyramid (Pooling(levels=...)) for a fixed length."
            )
        return np.concatenate(results)
    return results[0][0] if single else results[0]


def filter_responses(images, bank, nonlinearity="modulus", mode="reflect",
                     channel_axis=None, workers=None):
    """Full-resolution filter responses of images: the plain path.

    Holds every response map in memory: for plots, tests and small inputs.
    :func:`filter_pool` computes pooled features without doing so.

    Parameters
    ----------
    images, bank, mode, channel_axis, workers
        As in :func:`filter_pool` (images of one size).
    nonlinearity : {'modulus', 'real', 'abs', 'relu_split', 'square'} or None
        As in :func:`filter_pool`; None returns the complex responses.

    Returns
    -------
    responses : ndarray, shape (n_images, [n_channels,] n_maps, *spatial)
        Real in the bank's dtype, complex for ``nonlinearity=None``.

    Examples
    --------
    >>> import numpy as np
    >>> from featpool import filter_responses, gabor_bank
    >>> image = np.random.default_rng(0).random((32, 32))
    >>> filter_responses(image, gabor_bank((32, 32), n_scales=2, n_orientations=4)).shape
    (8, 32, 32)
    """
    _check_bank(bank, "filter_responses")
    _check_mode(mode)
    _check_engine_nonlinearity(nonlinearity)
    stacks, single = _check_images(images, bank.ndim, channel_axis, "filter_responses")
    if len(stacks) > 1:
        raise ValueError("filter_responses takes images of one size; call it per image.")
    stack = stacks[0]
    lead = stack.shape[: stack.ndim - bank.ndim]
    spatial = stack.shape[stack.ndim - bank.ndim:]
    flat = stack.reshape((-1,) + spatial)
    plans = make_plans(bank, spatial, mode, (), False)
    y = np.empty((flat.shape[0], len(bank)) + spatial, dtype=np.result_type(
        bank.dtype, np.complex64))
    workers = _check_workers(workers) or effective_n_threads(None)
    for chunk, responses in full_responses(flat, bank, plans, mode, range(len(bank)),
                                           workers):
        y[:, chunk] = responses
    if nonlinearity is None:
        out = y
    else:
        kinds = map_kinds(nonlinearity)
        out = np.stack([apply_nonlinearity(y, kind) for kind in kinds], axis=2)
        out = out.reshape((y.shape[0], y.shape[1] * len(kinds)) + y.shape[2:])
    out = np.ascontiguousarray(out)
    out = out.reshape(lead + out.shape[1:])
    return out[0] if single else out
