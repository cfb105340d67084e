"""Full-resolution responses for features per object (:mod:`featpool.regions`).

Private, beside the FFT engine it drives (:mod:`featpool._engine`): every
filter's responses over the whole image once, whole or tile by tile, a few
filters per pass, within a memory budget.
"""
import itertools
from dataclasses import replace

import numpy as np
import scipy.fft

from ._cache import CACHE_FRACTION
from ._config import working_memory_bytes
from ._engine import (BORDER_MODES, _FORWARD_COST, _Buffers, _chunks, _forward, _group_spectra,
                      _responses_at, make_plans)

__all__ = ["region_responses"]


def region_responses(x, bank, mode, workers, budget=None):
    """Yield (filters, origin, complex full-resolution responses (b, f, *size)).

    For featpool.regions: each filter's responses cover the image once, whole
    or tile by tile (overlap-save; tiles cut from ``x`` with the border mode),
    in passes of a few filters, on the grid of least FFT work where a pass (its
    spectra, the cache's half of the working memory, the tile, its spectrum, a
    chunk of responses) fits in ``budget`` bytes (default: the working memory).
    """
    spatial, nd, b, real = tuple(x.shape[1:]), x.ndim - 1, x.shape[0], bank.dtype.itemsize
    support, buffers = bank.spatial_support, _Buffers()
    free = (working_memory_bytes() if budget is None else budget) - working_memory_bytes(
        CACHE_FRACTION)

    def passes(plans, core):  # (FFT work, [(plan, filters per pass, bytes of a grid)])
        out = [(p, b * int(np.prod(p.padded)) * 2 * real) for p in plans]
        out = [(p, int(min(len(p.index), max(1, (free - 2 * g) // (2 * g)))), g)
               for p, g in out]
        work = sum(g * (_FORWARD_COST * -(-len(p.index) // k) + len(p.index))
                   for p, k, g in out) * np.prod([-(-n // c) for n, c in zip(spatial, core)])
        return work + (0 if all(5 * g <= free for _, _, g in out) else np.inf), out, core

    core, options = list(spatial), [passes(make_plans(bank, spatial, mode, (), False), spatial)]
    while max(core) > 16:
        core[int(np.argmax(core))] = (max(core) + 1) // 2
        options.append(passes(make_plans(bank, tuple(core), "constant", (), False), list(core)))
    pick = min(range(len(options)), key=lambda i: (options[i][0], -i))
    core = options[pick][2]
    where = [np.pad(np.arange(n), support, mode=BORDER_MODES[mode], **(  # -1: a zero
        {"constant_values": -1} if mode == "constant" else {})) for n in spatial]
    origins = list(itertools.product(*(range(0, n, c) for n, c in zip(spatial, core))))
    for plan, k, grid in options[pick][1]:
        for start in range(0, len(plan.index), k):
            index = plan.index[start:start + k]
            filters, _ = _group_spectra(bank, tuple(index.tolist()), plan.padded)
            for origin in [(0,) * nd] if pick == 0 else origins:
                size = tuple(min(c, n - o) for o, c, n in zip(origin, core, spatial))
                if pick == 0:
                    spectrum, at = _forward(x, plan, mode, bank.dtype, workers), plan
                else:
                    read = [w[o + support - r:o + support + s + r]
                            for w, o, s, r in zip(where, origin, size, plan.pad)]
                    tile = buffers.get("tile", (b,) + plan.padded, bank.dtype)
                    tile[...] = 0
                    cut = tile[(slice(None),) + tuple(slice(0, len(i)) for i in read)]
                    cut[...] = x[(slice(None),) + np.ix_(*[np.maximum(i, 0) for i in read])]
                    for axis, i in enumerate(read, start=1):
                        cut[(slice(None),) * axis + (i < 0,)] = 0
                    spectrum = scipy.fft.fftn(tile, axes=range(1, nd + 1), workers=workers)
                    at = replace(plan, spatial=size)
                for chunk in _chunks(len(index), 2 * grid, free - grid * (k + 2)):
                    yield index[chunk], origin, _responses_at(spectrum, filters[chunk], at,
                                                              workers, None, buffers)
