"""Pictures of what the features see: banks, responses, pooled grids, weights.

matplotlib is an optional dependency (``pip install "featpool[plot]"``): it
is imported when a function here is called, never by ``import featpool``.
Every function returns the :class:`~matplotlib.figure.Figure` and an array of
the :class:`~matplotlib.axes.Axes` it drew, so a script can add to them.
3D banks and maps are drawn by their central slice along the first axis.
"""
import numbers
import re

import numpy as np

from ._vocabulary import check_option
from ._windows import AxisWindows
from .filters import FilterBank
from .responses import filter_responses

__all__ = ["bank_images", "plot_bank", "plot_pooled", "plot_responses", "plot_weights", "weight_map"]

#: A pyramid cell's feature name: ``[ch{c}_]{map}_{op}_l{level}_c{cell}``.
_CELL = re.compile(r"^(?:ch(?P<channel>\d+)_)?(?P<map>.+)_(?P<op>[a-z]+[0-9.]*)"
                   r"_l(?P<level>\d+)_c(?P<cell>\d+)$")


def _pyplot():
    """matplotlib.pyplot, or an ImportError that names the extra to install."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            'featpool.plotting needs matplotlib, which is an optional dependency: '
            'install it with pip install "featpool[plot]" (or pip install matplotlib).'
        ) from exc
    return plt


def _grid(n, ncols, func):
    if ncols is None:
        return n, 1
    if not isinstance(ncols, numbers.Integral) or isinstance(ncols, bool) or ncols < 1:
        raise ValueError(f"The 'ncols' parameter of {func} must be a positive int or None. "
                         f"Got {ncols!r} instead.")
    return int(ncols), -(-n // int(ncols))


def _figure(nrows, ncols, panel):
    plt = _pyplot()
    fig, axes = plt.subplots(nrows, ncols, figsize=(panel * ncols, panel * nrows),
                             squeeze=False, layout="constrained")
    for ax in axes.flat:
        ax.set_axis_off()
    return fig, axes


def _central(array, ndim):
    """The central slice along the first of the last ``ndim`` axes of a 3D map."""
    if ndim == 3:
        return array[..., array.shape[-3] // 2, :, :]
    return array


def _check_bank(bank, func):
    if not isinstance(bank, FilterBank):
        raise TypeError(f"The 'bank' parameter of {func} must be a featpool FilterBank "
                        f"(e.g. featpool.gabor_bank(shape)). Got {type(bank).__name__} instead.")


def _filters(bank, filters, func):
    if filters is None:
        return np.arange(len(bank))
    index = np.asarray(filters)
    if index.dtype.kind not in "iu" or index.ndim != 1 or index.size == 0:
        raise ValueError(f"The 'filters' parameter of {func} must be a non-empty sequence of "
                         f"filter indices. Got {filters!r} instead.")
    if index.min() < -len(bank) or index.max() >= len(bank):
        raise ValueError(f"The 'filters' parameter of {func} holds an index outside the "
                         f"bank's {len(bank)} filters: {filters!r}.")
    return index % len(bank)


def _label(metadata):
    parts = [metadata["kind"]]
    for key, short in (("scale_index", "s"), ("orientation_index", "o")):
        if metadata.get(key) is not None:
            parts.append(f"{short}{metadata[key]}")
    return " ".join(parts)


def bank_images(bank, domain="spatial", part="real", crop=None):
    """The 2D pictures :func:`plot_bank` draws, one per filter.

    Parameters
    ----------
    bank : FilterBank
    domain : {'spatial', 'fourier'}, default 'spatial'
        The centred kernels (:meth:`FilterBank.filters_spatial`) or the
        modulus of the spectra with frequency 0 at the centre.
    part : {'real', 'imag', 'modulus'}, default 'real'
        Which part of a complex kernel (spatial domain only).
    crop : int, optional
        Half-width of the spatial window kept around each kernel's centre;
        default the bank's ``spatial_support`` (at least 3).

    Returns
    -------
    images : ndarray of shape (n_filters, h, w)

    Examples
    --------
    >>> from featpool import log_bank
    >>> from featpool.plotting import bank_images
    >>> bank = log_bank((33, 33), sigmas=[1.0, 2.0])
    >>> bank_images(bank, crop=5).shape, bank_images(bank, "fourier").shape
    ((2, 11, 11), (2, 33, 33))
    """
    _check_bank(bank, "bank_images")
    check_option(domain, "domain", ("spatial", "fourier"))
    check_option(part, "part", ("real", "imag", "modulus"))
    if domain == "fourier":
        axes = tuple(range(1, bank.ndim + 1))
        return _central(np.fft.fftshift(np.abs(bank.spectra), axes=axes), bank.ndim)
    kernels = _central(bank.filters_spatial(), bank.ndim)
    kernels = {"real": np.real, "imag": np.imag, "modulus": np.abs}[part](kernels)
    if crop is None:
        crop = max(3, int(bank.spatial_support))
    if not isinstance(crop, numbers.Integral) or isinstance(crop, bool) or crop < 1:
        raise ValueError(f"The 'crop' parameter of bank_images must be a positive int or "
                         f"None. Got {crop!r} instead.")
    rows, cols = kernels.shape[1:]
    r0, c0 = rows // 2, cols // 2
    return kernels[:, max(0, r0 - crop): r0 + crop + 1, max(0, c0 - crop): c0 + crop + 1]


def plot_bank(bank, domain="both", *, part="real", crop=None, filters=None, ncols=None,
              panel=1.2, cmap="RdBu_r"):
    """Draw a filter bank's kernels in space, its spectra in frequency, or both.

    Parameters
    ----------
    bank : FilterBank
        E.g. ``featpool.gabor_bank((64, 64))``; a 3D bank is drawn by the
        central slice of each filter.
    domain : {'both', 'spatial', 'fourier'}, default 'both'
        'both' draws each row of kernels above the row of their spectra.
    part : {'real', 'imag', 'modulus'}, default 'real'
        Part of complex kernels drawn in space.
    crop : int, optional
        Half-width in pixels of the spatial window drawn (see
        :func:`bank_images`).
    filters : sequence of int, optional
        Which filters; default all.
    ncols : int, optional
        Panels per row; default the number of orientations of the bank
        (the number of filters for an isotropic bank).
    panel : float, default 1.2
        Size in inches of one panel.
    cmap : str, default 'RdBu_r'
        Colour map of the kernels (spectra use 'magma'); each kernel is
        centred on 0.

    Returns
    -------
    fig : matplotlib.figure.Figure
    axes : ndarray of matplotlib.axes.Axes, shape (rows, ncols)
        Row by row: with 'both', rows alternate between kernels and spectra.
        Each used axes holds one image (``axes[i, j].images[0]``) titled
        with the filter's index, kind, scale and orientation indices (its
        spectrum: with the index and 'Fourier').

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from featpool import gabor_bank
    >>> from featpool.plotting import plot_bank
    >>> fig, axes = plot_bank(gabor_bank((64, 64), n_scales=2, n_orientations=4))
    >>> axes.shape
    (4, 4)
    >>> axes[0, 1].get_title(), axes[1, 1].get_title()
    ('1: gabor s0 o1', '1: Fourier')
    """
    _check_bank(bank, "plot_bank")
    check_option(domain, "domain", ("both", "spatial", "fourier"))
    index = _filters(bank, filters, "plot_bank")
    if ncols is None:
        orientations = {m.get("orientation_index") for m in bank.metadata} - {None}
        ncols = min(len(index), max(len(orientations), 1) if orientations else len(index))
    ncols, nrows = _grid(len(index), ncols, "plot_bank")
    domains = ("spatial", "fourier") if domain == "both" else (domain,)
    pictures = {d: bank_images(bank, d, part, crop)[index] for d in domains}
    fig, axes = _figure(nrows * len(domains), ncols, panel)
    for k, i in enumerate(index):
        row, col = divmod(k, ncols)
        for j, d in enumerate(domains):
            ax = axes[row * len(domains) + j, col]
            picture = pictures[d][k]
            if d == "spatial":
                limit = float(np.abs(picture).max()) or 1.0
                ax.imshow(picture, cmap=cmap, vmin=-limit, vmax=limit)
            else:
                ax.imshow(picture, cmap="magma")
            label = "Fourier" if d == "fourier" else _label(bank.metadata[i])
            ax.set_title(f"{i}: {label}", fontsize="x-small")
    return fig, axes


def plot_responses(image, bank, *, nonlinearity="modulus", mode="reflect", filters=None,
                   ncols=None, panel=1.6, cmap="viridis"):
    """Draw an image and its response maps to a bank's filters.

    Parameters
    ----------
    image : array_like of shape (H, W) or (D, H, W)
        One grayscale image (or volume: central slices are drawn), of the
        dimension of the bank.
    bank : FilterBank
    nonlinearity : str or None, default 'modulus'
        As in :func:`featpool.filter_responses`; None draws the real part.
    mode : str, default 'reflect'
        Border mode, as in :func:`featpool.filter_responses`.
    filters : sequence of int, optional
        Which filters' maps; default all (with 'relu_split', map ``2i`` and
        ``2i + 1`` belong to filter ``i``).
    ncols : int, optional
        Panels per row; default ``ceil(sqrt(n_panels))``.
    panel : float, default 1.6
    cmap : str, default 'viridis'

    Returns
    -------
    fig : matplotlib.figure.Figure
    axes : ndarray of matplotlib.axes.Axes
        ``axes.flat[0]`` holds the image, ``axes.flat[k + 1]`` the k-th drawn
        response map (titled with its map index and filter).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from featpool import log_bank
    >>> from featpool.plotting import plot_responses
    >>> image = np.random.default_rng(0).random((32, 32))
    >>> fig, axes = plot_responses(image, log_bank((32, 32), sigmas=[1.0, 2.0, 4.0]))
    >>> axes.shape, axes[0, 1].get_title()
    ((2, 2), '0: log s0')
    """
    _check_bank(bank, "plot_responses")
    image = np.asarray(image)
    if image.ndim != bank.ndim or image.dtype.kind not in "biuf":
        raise ValueError(f"The 'image' parameter of plot_responses must be one real "
                         f"{bank.ndim}D image, as the bank. Got an array of shape "
                         f"{image.shape} and dtype {image.dtype} instead.")
    maps = filter_responses(image, bank, nonlinearity=nonlinearity, mode=mode)
    maps = np.real(maps)
    per_filter = maps.shape[0] // len(bank)
    index = _filters(bank, filters, "plot_responses")
    index = (index[:, None] * per_filter + np.arange(per_filter)).ravel()
    n = len(index) + 1
    ncols, nrows = _grid(n, ncols or int(np.ceil(np.sqrt(n))), "plot_responses")
    fig, axes = _figure(nrows, ncols, panel)
    axes.flat[0].imshow(_central(image, bank.ndim), cmap="gray")
    axes.flat[0].set_title("image", fontsize="small")
    for ax, m in zip(axes.flat[1:], index):
        ax.imshow(_central(maps[m], bank.ndim), cmap=cmap)
        ax.set_title(f"{m}: {_label(bank.metadata[m // per_filter])}", fontsize="small")
    return fig, axes


def plot_pooled(pooled, *, image=None, titles=None, ncols=None, panel=1.6, cmap="viridis",
                alpha=0.6):
    """Draw pooled maps as grids of cells, optionally over the image they pool.

    Parameters
    ----------
    pooled : array_like of shape (n_maps, h, w) or (h, w), or list of 2D arrays
        Pooled maps, e.g. ``featpool.pool2d(responses, 8)`` or one pyramid
        level of :func:`featpool.filter_pool` reshaped to ``(n_maps, g, g)``;
        a list may hold grids of different shapes.
    image : array_like of shape (H, W), optional
        Drawn in gray under each grid, which then spans the whole image
        (each cell over the part of the image it pools, for pyramid cells).
    titles : sequence of str, optional
        One per map; default the map index.
    ncols : int, optional
        Panels per row; default ``ceil(sqrt(n_maps))``.
    panel : float, default 1.6
    cmap : str, default 'viridis'
    alpha : float, default 0.6
        Opacity of the grid over the image.

    Returns
    -------
    fig : matplotlib.figure.Figure
    axes : ndarray of matplotlib.axes.Axes
        ``axes.flat[k].images[-1]`` holds the k-th map's cells.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> import featpool
    >>> from featpool.plotting import plot_pooled
    >>> maps = np.random.default_rng(0).random((3, 32, 32))
    >>> fig, axes = plot_pooled(featpool.pool2d(maps, 8, op="mean"))
    >>> axes.shape, axes[0, 0].images[0].get_array().shape
    ((2, 2), (4, 4))
    """
    if isinstance(pooled, (list, tuple)):
        pooled = [np.asarray(grid) for grid in pooled]
    else:
        pooled = np.asarray(pooled)
        pooled = list(pooled[None] if pooled.ndim == 2 else pooled) if pooled.ndim in (2, 3) \
            else [pooled]
    for grid in pooled:
        if grid.ndim != 2 or grid.dtype.kind not in "biuf" or 0 in grid.shape:
            raise ValueError(f"The 'pooled' parameter of plot_pooled must be real grids: an "
                             f"array of shape (n_maps, h, w) or (h, w), or a list of 2D "
                             f"arrays. Got a grid of shape {grid.shape} and dtype {grid.dtype} "
                             f"instead.")
    if not pooled:
        raise ValueError("The 'pooled' parameter of plot_pooled holds no grid.")
    if titles is not None and len(titles) != len(pooled):
        raise ValueError(f"The 'titles' parameter of plot_pooled must hold one title per map "
                         f"({len(pooled)}). Got {len(titles)} instead.")
    extent = None
    if image is not None:
        image = np.asarray(image)
        if image.ndim != 2:
            raise ValueError(f"The 'image' parameter of plot_pooled must be a 2D image. Got "
                             f"an array of shape {image.shape} instead.")
        extent = (-0.5, image.shape[1] - 0.5, image.shape[0] - 0.5, -0.5)
    ncols, nrows = _grid(len(pooled), ncols or int(np.ceil(np.sqrt(len(pooled)))),
                         "plot_pooled")
    fig, axes = _figure(nrows, ncols, panel)
    for k, (ax, cells) in enumerate(zip(axes.flat, pooled)):
        if image is not None:
            ax.imshow(image, cmap="gray")
        ax.imshow(cells, cmap=cmap, extent=extent, interpolation="nearest",
                  alpha=alpha if image is not None else None)
        ax.set_title(str(k) if titles is None else titles[k], fontsize="small")
    return fig, axes


def weight_map(weights, feature_names, image_shape, *, levels=None, channel=None):
    """Spread feature weights onto the pixels of the pyramid cells they pool.

    Each feature named ``..._l{g}_c{c}`` (a cell of a ``g x g`` pyramid
    level, see :mod:`featpool.feature_names`) adds its weight to every
    pixel of its cell, whose rows and columns are PyTorch's adaptive bins
    (``floor(i * n / g)`` to ``ceil((i + 1) * n / g)``), as featpool pools
    them. Where the bins of a level overlap (``g`` does not divide the
    size), a pixel gets the mean of its cells' weights. Levels add up.
    Sliding-window features (``_w_``) are left out.

    Parameters
    ----------
    weights : array_like of shape (n_features,)
        E.g. ``np.abs(classifier.coef_).sum(axis=0)`` or a forest's
        ``feature_importances_``.
    feature_names : sequence of str, shape (n_features,)
        From ``FilterBankPooling.get_feature_names_out()`` or
        ``extract_features(..., return_names=True)``.
    image_shape : tuple of 2 int
        The shape of the images the features were computed on.
    levels : sequence of int, optional
        Only these pyramid levels; default all.
    channel : int, optional
        Only the features of this channel (names ``ch{c}_...``); default all.

    Returns
    -------
    heat : ndarray of shape image_shape, float64

    Examples
    --------
    >>> from featpool.plotting import weight_map
    >>> names = ["gabor_s0_o0_mean_l1_c0", "gabor_s0_o0_mean_l2_c0", "gabor_s0_o0_mean_l2_c3"]
    >>> weight_map([1.0, 2.0, 4.0], names, (4, 4))
    array([[3., 3., 1., 1.],
           [3., 3., 1., 1.],
           [1., 1., 5., 5.],
           [1., 1., 5., 5.]])
    """
    weights = np.asarray(weights, dtype=float)
    if weights.ndim != 1:
        raise ValueError(f"The 'weights' parameter of weight_map must be 1D, one value per "
                         f"feature (for a classifier's coef_, pass e.g. "
                         f"np.abs(coef_).sum(axis=0)). Got shape {weights.shape} instead.")
    if len(feature_names) != len(weights):
        raise ValueError(f"The 'feature_names' parameter of weight_map must name each of the "
                         f"{len(weights)} weights. Got {len(feature_names)} names instead.")
    shape = tuple(image_shape) if isinstance(image_shape, (tuple, list)) else ()
    if len(shape) != 2 or not all(isinstance(n, numbers.Integral) and n > 0 for n in shape):
        raise ValueError(f"The 'image_shape' parameter of weight_map must be a tuple of 2 "
                         f"positive ints. Got {image_shape!r} instead.")
    heat, used = {}, 0
    for weight, name in zip(weights, feature_names):
        cell = _CELL.match(str(name))
        if cell is None:
            continue
        g, c = int(cell["level"]), int(cell["cell"])
        if levels is not None and g not in levels:
            continue
        if channel is not None and (cell["channel"] is None or int(cell["channel"]) != channel):
            continue
        if c >= g * g:
            raise ValueError(f"Feature {name!r} is cell {c} of a {g}x{g} level: not a 2D "
                             f"pyramid cell.")
        rows, cols = _bin(c // g, g, shape[0]), _bin(c % g, g, shape[1])
        heat.setdefault(g, np.zeros(shape))[rows, cols] += weight
        used += 1
    if used == 0:
        raise ValueError("No feature name of weight_map's 'feature_names' is a 2D pyramid cell "
                         "('..._l{level}_c{cell}') of the levels and channel asked for.")
    total = np.zeros(shape)
    for g, level in heat.items():
        # Adaptive bins overlap by a pixel when g does not divide the size:
        # such a pixel gets the mean of its cells, not their sum.
        coverage = np.zeros(shape)
        for i in range(g):
            coverage[_bin(i, g, shape[0]), :] += 1
        columns = np.zeros(shape[1])
        for j in range(g):
            columns[_bin(j, g, shape[1])] += 1
        total += level / (coverage * columns)
    return total


def _bin(i, g, n):
    """Adaptive bin ``i`` of ``g`` over ``n`` pixels: the window the kernel pools."""
    start, _, length = AxisWindows.adaptive(n, g).taps[:, i]
    return slice(int(start), int(start + length))


def plot_weights(weights, feature_names, image, *, levels=None, channel=None,
                 cmap="inferno", alpha=0.6, panel=3.0):
    """Draw where on an image a model's feature weights or importances fall.

    Parameters
    ----------
    weights, feature_names, levels, channel
        As in :func:`weight_map`.
    image : array_like of shape (H, W) or (H, W, 3)
        An image of the size the features were computed on.
    cmap : str, default 'inferno'
    alpha : float, default 0.6
        Opacity of the weight map over the image.
    panel : float, default 3.0

    Returns
    -------
    fig : matplotlib.figure.Figure
    axes : ndarray of 2 matplotlib.axes.Axes
        The image, then the image under the weight map of :func:`weight_map`
        (``axes[1].images[-1]``), with a colour bar.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from featpool.pipeline import extract_features
    >>> from featpool.plotting import plot_weights
    >>> images = np.random.default_rng(0).random((2, 32, 32))
    >>> features, names = extract_features(images, levels=(1, 2), return_names=True)
    >>> fig, axes = plot_weights(features[0], names, images[0])
    >>> axes[1].images[-1].get_array().shape
    (32, 32)
    """
    image = np.asarray(image)
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[-1] not in (3, 4)):
        raise ValueError(f"The 'image' parameter of plot_weights must be a 2D grayscale image "
                         f"(H, W) or an RGB(A) image (H, W, 3|4). Got shape {image.shape} "
                         f"instead.")
    heat = weight_map(weights, feature_names, image.shape[:2], levels=levels, channel=channel)
    fig, axes = _figure(1, 2, panel)
    axes = axes[0]
    gray = "gray" if image.ndim == 2 else None
    axes[0].imshow(image, cmap=gray)
    axes[0].set_title("image", fontsize="small")
    axes[1].imshow(image, cmap=gray)
    shown = axes[1].imshow(heat, cmap=cmap, alpha=alpha)
    axes[1].set_title("weights on the pooling grid", fontsize="small")
    fig.colorbar(shown, ax=axes[1], shrink=0.8)
    return fig, axes
