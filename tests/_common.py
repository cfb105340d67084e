"""Helpers shared by the engine's tests (test_responses.py, test_multires.py)."""
import functools

import numpy as np

from featpool._engine import make_plans as _plan
from featpool.pooling import as_poolings as _as_poolings

NATURAL = ("grass", "coins", "brick", "camera", "astronaut")


@functools.lru_cache(maxsize=None)
def natural_images(shape, names=NATURAL, noise_seed=1):
    """Grey natural images from skimage.data resized to ``shape``, then white noise.

    Noise is the hardest input for multi-resolution: it fills every band.
    """
    from skimage import data
    from skimage.color import rgb2gray
    from skimage.transform import resize

    images = []
    for name in names:
        image = getattr(data, name)()
        image = rgb2gray(image) if image.ndim == 3 else image / 255.0
        images.append(resize(image, shape, anti_aliasing=True))
    images.append(np.random.default_rng(noise_seed).random(shape))
    out = np.stack(images)
    out.flags.writeable = False
    return out


def relative_error(got, want):
    """Per image, ||got - want|| / ||want|| over its feature vector."""
    got = got.reshape(got.shape[0], -1).astype(np.float64)
    want = want.reshape(want.shape[0], -1).astype(np.float64)
    return np.linalg.norm(got - want, axis=1) / np.linalg.norm(want, axis=1)


def assert_each_pooling_close(fast, full, poolings, shape, tol=1e-3):
    """Each pooling's features within ``tol`` of full resolution (relative, per image)."""
    start = 0
    for pooling in poolings:
        stop = start + pooling.n_cells(shape)
        error = relative_error(fast[..., start:stop], full[..., start:stop])
        assert error.max() <= tol, f"{pooling}: relative errors {error}"
        start = stop


def uses_coarse_grids(bank, shape, poolings, nonlinearity="modulus", mode="reflect"):
    """Whether the engine samples some filter on a coarse grid."""
    plans = _plan(bank, tuple(shape), mode, _as_poolings(poolings), True, nonlinearity)
    return any(not p.full_resolution for p in plans)
