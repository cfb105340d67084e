"""
3-D volume features
===================

The same pipeline on volumes: a 3-D Gabor bank (directions spread over the
half-sphere), the modulus of the responses, and a pyramid of 1, 2x2x2 and
4x4x4 cells. The volumes are generated: gratings along three directions
and Gaussian blobs of two sizes, in strong noise, five classes.
"""
import matplotlib.pyplot as plt
import numpy as np
from scipy import ndimage
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import featpool

rng = np.random.default_rng(0)
SIDE = 24
grid = np.indices((SIDE,) * 3).astype(float)
DIRECTIONS = [(1, 0, 0), (0, 1, 1), (1, 1, -1)]


def volume(label):
    if label < 3:  # a grating of random frequency and phase along one direction
        direction = np.array(DIRECTIONS[label]) / np.linalg.norm(DIRECTIONS[label])
        frequency = rng.uniform(0.12, 0.2)
        phase = np.tensordot(direction, grid, axes=1) * frequency * 2 * np.pi
        clean = np.cos(phase + rng.uniform(0, 2 * np.pi))
    else:  # blobs: smoothed sparse points, small (3) or large (4)
        points = (rng.random(grid.shape[1:]) < 0.01).astype(float)
        clean = ndimage.gaussian_filter(points, 1.0 if label == 3 else 2.5)
        clean = (clean - clean.mean()) / clean.std()
    return (clean + rng.normal(0, 0.7, clean.shape)).astype(np.float32)


y = np.repeat(np.arange(5), 16)
volumes = np.stack([volume(label) for label in y])
test_y = np.repeat(np.arange(5), 16)
test_volumes = np.stack([volume(label) for label in test_y])
print("volumes:", volumes.shape)

# %%
# The central slice of one volume per class.
fig, axes = plt.subplots(1, 5, figsize=(10, 2.2), layout="constrained")
names = ["grating x", "grating yz", "grating xy-z", "small blobs", "large blobs"]
for ax, label, name in zip(axes, range(5), names):
    ax.imshow(volumes[y == label][0, SIDE // 2], cmap="gray")
    ax.set_title(name, fontsize="small")
    ax.set_axis_off()

# %%
# Features and a linear classifier. ``(n, D, H, W)`` input is read as
# volumes; the default bank for volumes is :func:`featpool.gabor_bank_3d`.
features = featpool.FilterBankPooling(n_scales=2, levels=(1, 2))
model = make_pipeline(features, StandardScaler(), LogisticRegression(C=0.1, max_iter=2000))
model.fit(volumes, y)
print("filters:", len(model[0].bank_), "features per volume:", model[0].transform(
    volumes[:1]).shape[1])
print(f"test accuracy: {model.score(test_volumes, test_y):.2f}")
flat = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000))
flat.fit(volumes.reshape(len(y), -1), y)
print(f"raw voxels:    {flat.score(test_volumes.reshape(len(test_y), -1), test_y):.2f}")

# %%
# Which filter answers each class: the global mean modulus (level 1) of
# every filter, averaged over the training volumes of each class.
global_means = featpool.filter_pool(volumes, model[0].bank_,
                                    featpool.Pooling("mean", levels=(1,)))[..., 0]
fig, ax = plt.subplots(figsize=(8, 2.6), layout="constrained")
shown = ax.imshow([global_means[y == label].mean(axis=0) for label in range(5)],
                  aspect="auto", cmap="viridis")
ax.set_yticks(range(5), names)
ax.set_xlabel("filter (scale-major, 13 directions per scale)")
fig.colorbar(shown, ax=ax)
plt.show()
