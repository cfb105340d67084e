"""
Feature vectors from scikit-image's sample images
=================================================

The main job of featpool on images that ship with scikit-image (nothing is
downloaded): images of different sizes go in, one fixed-length vector per
image comes out.

Each image is turned into a stack of oriented gradient-energy maps (8
orientation channels, the gradient magnitude shared between the two nearest
orientations), then a spatial pyramid (1x1, 2x2 and 4x4 cells) of max and
mean pooling makes the vector independent of the image size.
"""
import time

import numpy as np
from skimage import color, data, img_as_float32

import featpool

N_ORIENTATIONS = 8
LEVELS = (1, 2, 4)


def oriented_energy(image, n_orientations=N_ORIENTATIONS):
    """(n_orientations, H, W) gradient magnitude, split by orientation."""
    gy, gx = np.gradient(image)
    magnitude = np.hypot(gx, gy)
    # Orientation in [0, n_orientations), linearly shared between two bins.
    position = (np.arctan2(gy, gx) % np.pi) / np.pi * n_orientations
    lower = np.floor(position).astype(int) % n_orientations
    weight = position - np.floor(position)
    maps = np.zeros((n_orientations,) + image.shape, dtype=image.dtype)
    rows, cols = np.indices(image.shape)
    np.add.at(maps, (lower, rows, cols), magnitude * (1 - weight))
    np.add.at(maps, ((lower + 1) % n_orientations, rows, cols), magnitude * weight)
    return maps


def image_features(image):
    maps = oriented_energy(image)
    # Pool over 3 neighbouring orientations (a circular axis) and 2x2 cells ...
    maps = featpool.pool3d(maps, (3, 2, 2), padding=(1, 0, 0), stride=(1, 2, 2),
                           wrap=(True, False, False), op="mean")
    # ... then a pyramid of max and mean cells gives a fixed length.
    return np.concatenate([
        featpool.pyramid_pool(maps, LEVELS, op="max").ravel(),
        featpool.pyramid_pool(maps, LEVELS, op="mean").ravel(),
    ])


def main():
    names = ["astronaut", "camera", "coins", "brick", "grass", "gravel", "moon", "text"]
    start = time.perf_counter()
    features = []
    for name in names:
        image = getattr(data, name)()
        if image.ndim == 3:
            image = color.rgb2gray(image)
        image = img_as_float32(image)
        vector = image_features(image)
        features.append(vector)
        print(f"{name:>10}: image {str(image.shape):>12} -> vector {vector.shape}")
    features = np.stack(features)
    elapsed = time.perf_counter() - start
    print(f"\n{len(names)} images -> features {features.shape} ({features.dtype}) "
          f"in {elapsed:.2f} s")
    featpool.show_config()


if __name__ == "__main__":
    main()
