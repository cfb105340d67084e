"""
Feature vectors from scikit-image's sample images
=================================================

The main job of featpool on images that ship with scikit-image (nothing is
downloaded): images of different sizes go in, one fixed-length vector per
image comes out.

Each image goes through a Gabor filter bank (4 scales x 8 orientations), the
modulus of the responses is pooled by a spatial pyramid (1x1, 2x2 and 4x4
cells) of means and standard deviations, and a max over the orientations
makes a rotation-tolerant summary. The bank is built for the size of the
first image and rebuilt (same filters) for every other size.
"""
import time

import numpy as np
from skimage import color, data, img_as_float32

import featpool

NAMES = ["astronaut", "camera", "coins", "brick", "grass", "gravel", "moon", "text",
         "coffee", "chelsea", "rocket", "page"]


def load(name):
    image = getattr(data, name)()
    if image.ndim == 3:
        image = color.rgb2gray(image[..., :3])
    return img_as_float32(image)


def main():
    images = [load(name) for name in NAMES]
    bank = featpool.gabor_bank(images[0].shape, dtype=np.float32)
    poolings = [featpool.Pooling("mean", levels=(1, 2, 4)),
                featpool.Pooling("std", levels=(1, 2, 4))]
    start = time.perf_counter()
    # (n_images, n_filters, n_cells): one row per image whatever its size.
    features = featpool.filter_pool(images, bank, poolings)
    # Max over the 8 orientations of each scale: (n_images, n_scales, n_cells).
    groups = bank.orientation_groups()
    invariant = np.stack([features[:, g].max(axis=1) for g in groups], axis=1)
    vectors = features.reshape(len(images), -1)
    elapsed = time.perf_counter() - start

    for name, image, vector in zip(NAMES, images, vectors):
        print(f"{name:>10}: image {str(image.shape):>12} -> vector {vector.shape}")
    print(f"\n{len(images)} images -> features {vectors.shape} ({vectors.dtype}), "
          f"rotation-tolerant summary {invariant.reshape(len(images), -1).shape}, "
          f"in {elapsed:.2f} s")
    print(f"bank: {bank}")
    featpool.show_config()


if __name__ == "__main__":
    main()
