"""Names of features: what each map is, and each cell of each pooling.

A feature is named ``{map}_{op}_l{level}_c{cell}``: the map is its filter's
kind with ``s`` (scale index), ``o`` (orientation index) and, where used,
``t`` (Schmid's tau), ``k`` (learned filter), ``pos``/``neg``
('relu_split'), ``h`` (harmonic of the orientation DFT), ``omax``
(orientations pooled by max), ``s0-1`` (pooled scales),
``__morlet_s{j2}_d{delta}`` (second layer: its scale and orientation
relative to the first filter's); cells are row-major in a ``level x level``
grid (``w`` for a sliding window). With channels, names start with
``ch{c}_``.
"""
import numpy as np

from .responses import response_maps

__all__ = ["cell_names", "describe_maps", "feature_names", "map_name"]

_PARTS = {"relu_pos": "pos", "relu_neg": "neg"}


def describe_maps(bank, nonlinearity="modulus", second_bank=None):
    """One dict per map of :func:`featpool.filter_pool`'s result: what it is.

    Parameters
    ----------
    bank, nonlinearity, second_bank
        As given to :func:`featpool.filter_pool`.

    Returns
    -------
    maps : list of dict
        ``kind``, ``s``, ``o``, ``t``, ``k``, ``part`` (and ``kind2``,
        ``s2``, ``d`` for second-layer maps): the fields names and
        :mod:`featpool.invariance` use.

    Examples
    --------
    >>> from featpool import gabor_bank
    >>> from featpool.feature_names import describe_maps, map_name
    >>> maps = describe_maps(gabor_bank((32, 32), n_scales=2, n_orientations=2))
    >>> [map_name(m) for m in maps]
    ['gabor_s0_o0', 'gabor_s0_o1', 'gabor_s1_o0', 'gabor_s1_o1']
    """
    if second_bank is not None:
        n_orientations = 1 + max(m["orientation_index"] for m in second_bank.metadata)
    maps = []
    described = response_maps(bank, nonlinearity, second_bank)
    for d in described:
        m = bank.metadata[d["filter"]]
        entry = {"kind": m["kind"], "s": m.get("scale_index"), "o": m.get("orientation_index"),
                 "t": m.get("tau"), "k": m.get("centroid"), "part": _PARTS.get(d["part"])}
        if entry["k"] is not None:
            entry["s"] = None
        if d["layer"] == 2:
            # The second bank's scales are the first's from j = 1 on; its
            # orientation is relative to the first filter's, so that a
            # rotation shifts only ``o``.
            m2 = second_bank.metadata[d["second_filter"]]
            entry.update(kind2=m2["kind"], s2=m2["scale_index"] + 1,
                         d=(m2["orientation_index"] - entry["o"]) % n_orientations)
        maps.append(entry)
    names = [map_name(m) for m in maps]
    if len(set(names)) < len(names):  # e.g. a custom bank: tell filters apart by index
        for m, d in zip(maps, described):
            m["kind"] = f"{m['kind']}{d['filter']}"
    return maps


def map_name(m):
    """The name of one map described by :func:`describe_maps` (or pooled by invariance)."""
    parts = [m["kind"]]
    for key in ("s", "t", "k", "o", "h"):
        if m.get(key) is not None:
            parts.append(f"{key}{m[key]}")
    if m.get("kind2"):
        parts.append(f"_{m['kind2']}_s{m['s2']}_d{m['d']}")
    if m.get("part"):
        parts.append(m["part"])
    return "_".join(parts)


def cell_names(poolings, spatial):
    """Names of the cells of each pooling, in order: ``{op}_l{level}_c{cell}``.

    Examples
    --------
    >>> from featpool import Pooling
    >>> from featpool.feature_names import cell_names
    >>> cell_names((Pooling("mean", levels=(1, 2)),), (16, 16))
    ['mean_l1_c0', 'mean_l2_c0', 'mean_l2_c1', 'mean_l2_c2', 'mean_l2_c3']
    """
    names = []
    for p in poolings:
        op = f"lp{p.p:g}" if p.op == "lp" else p.op
        if p.size is None:
            for g in p.levels:
                names += [f"{op}_l{g}_c{i}" for i in range(g ** len(spatial))]
        else:
            names += [f"{op}_w_c{i}" for i in range(p.n_cells(spatial))]
    return names


def feature_names(maps, poolings, spatial, n_channels=None):
    """Every feature's name, map-major then cell, channel-major with ``n_channels``.

    Parameters
    ----------
    maps : list of dict
        From :func:`describe_maps` (after :mod:`featpool.invariance`, if any).
    poolings : tuple of Pooling
    spatial : tuple of int
        The image shape the poolings' cells are counted on.
    n_channels : int, optional
        With channels (``channel_axis``), names start with ``ch{c}_``.

    Returns
    -------
    names : ndarray of str objects
    """
    cells = cell_names(poolings, spatial)
    names = [f"{map_name(m)}_{c}" for m in maps for c in cells]
    if n_channels is not None:
        names = [f"ch{k}_{name}" for k in range(n_channels) for name in names]
    return np.asarray(names, dtype=object)
