"""Invariance: pooling features across orientations and across scales.

A rotation of the image by a multiple of a bank's orientation step shifts
each group of filters that differ only by orientation cyclically; a change of
scale by an octave shifts the scales. Pooling across those groups makes
features invariant (rotation) or tolerant (scale) to such changes.

Both functions take features ``(n, C, n_maps, n_cells)`` (as
:func:`featpool.filter_pool` returns them, with a channel axis) and ``maps``,
one dict per map saying what it is (:func:`featpool.feature_names.describe_maps`):
``s`` (scale index), ``o`` (orientation index) and the other fields that
tell filters apart. They return the pooled features and the new maps.
"""
import numpy as np

from ._vocabulary import check_option

__all__ = ["pool_orientations", "pool_scales", "apply_invariances"]


def _groups(maps, field):
    """Indices of maps equal in every field but ``field`` (which is not None)."""
    groups = {}
    for i, m in enumerate(maps):
        if m.get(field) is None:
            continue
        key = tuple(sorted((k, str(v)) for k, v in m.items() if k != field))
        groups.setdefault(key, []).append(i)
    return [sorted(g, key=lambda i: maps[i][field]) for g in groups.values()]


def _check(features, maps, func):
    features = np.asarray(features)
    if features.ndim != 4 or features.shape[2] != len(maps):
        raise ValueError(f"{func} takes features of shape (n, channels, n_maps, n_cells) "
                         f"with one dict of 'maps' per map. Got features of shape "
                         f"{features.shape} and {len(maps)} maps.")
    return features


def pool_scales(features, maps, width):
    """Max over windows of ``width`` neighbouring scales (stride 1), as HMAX's C1 layer.

    Parameters
    ----------
    features : ndarray of shape (n, C, n_maps, n_cells)
    maps : list of dict
        What each map is; maps with ``s`` None are kept as they are.
    width : int
        Neighbouring scales per window (>= 2).

    Returns
    -------
    features : ndarray of shape (n, C, n_maps_out, n_cells)
    maps : list of dict
        Pooled maps have ``s`` = 'first-last'.

    Examples
    --------
    >>> import numpy as np
    >>> from featpool.invariance import pool_scales
    >>> maps = [{"kind": "gabor", "s": s, "o": 0} for s in range(3)]
    >>> pooled, new = pool_scales(np.arange(3.0).reshape(1, 1, 3, 1), maps, 2)
    >>> pooled.ravel().tolist(), [m["s"] for m in new]
    ([1.0, 2.0], ['0-1', '1-2'])
    """
    features = _check(features, maps, "pool_scales")
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


def pool_orientations(features, maps, rotation):
    """Rotation invariance: max, or DFT moduli, over each orientation group.

    Parameters
    ----------
    features : ndarray of shape (n, C, n_maps, n_cells)
    maps : list of dict
        What each map is; maps with ``o`` None are kept as they are.
    rotation : {'max', 'fourier'}
        'max' keeps the maximum over the group; 'fourier' the moduli of its
        discrete Fourier transform along the orientations (``n // 2 + 1``
        values per group, divided by ``n``): a cyclic shift leaves them
        unchanged and they keep more than the maximum.

    Returns
    -------
    features : ndarray of shape (n, C, n_maps_out, n_cells)
    maps : list of dict
        Pooled maps have ``o`` = 'max', or ``o`` None and ``h`` (harmonic).

    Examples
    --------
    >>> import numpy as np
    >>> from featpool.invariance import pool_orientations
    >>> maps = [{"kind": "gabor", "s": 0, "o": o} for o in range(4)]
    >>> x = np.array([1.0, 2.0, 3.0, 4.0]).reshape(1, 1, 4, 1)
    >>> shifted = np.roll(x, 1, axis=2)
    >>> a, _ = pool_orientations(x, maps, "fourier")
    >>> b, new = pool_orientations(shifted, maps, "fourier")
    >>> bool(np.allclose(a, b)), [m["h"] for m in new]
    (True, [0, 1, 2])
    """
    features = _check(features, maps, "pool_orientations")
    check_option(rotation, "rotation", ("max", "fourier"))
    out, new_maps, used = [], [], set()
    for group in _groups(maps, "o"):
        used.update(group)
        block = features[:, :, group]
        if rotation == "max":
            out.append(block.max(axis=2, keepdims=True))
            new_maps.append(dict(maps[group[0]], o="max"))
        else:
            spectrum = np.abs(np.fft.rfft(block, axis=2)) / len(group)
            out.append(spectrum.astype(features.dtype, copy=False))
            new_maps += [dict(maps[group[0]], o=None, h=h) for h in range(spectrum.shape[2])]
    rest = [i for i in range(len(maps)) if i not in used]
    out += [features[:, :, [i]] for i in rest]
    new_maps += [maps[i] for i in rest]
    return np.concatenate(out, axis=2), new_maps


def apply_invariances(features, maps, rotation=None, scale_pooling=None):
    """Scale pooling, then orientation pooling, as :class:`~featpool.FilterBankPooling` does.

    Parameters
    ----------
    features : ndarray of shape (n, C, n_maps, n_cells)
    maps : list of dict
    rotation : {'max', 'fourier'}, optional
        As in :func:`pool_orientations`; None skips it.
    scale_pooling : int, optional
        As ``width`` in :func:`pool_scales`; None skips it.

    Returns
    -------
    features, maps
        As the two functions return them.
    """
    if scale_pooling is not None:
        features, maps = pool_scales(features, maps, scale_pooling)
    if rotation is not None:
        features, maps = pool_orientations(features, maps, rotation)
    return features, maps
