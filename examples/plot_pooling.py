"""
What pooling does to a feature map
==================================

A Gabor filter's response to the camera man, pooled in the ways
:func:`featpool.pool2d`, :func:`featpool.adaptive_pool2d` and
:func:`featpool.pyramid_pool` offer. Pooling trades where for how much: a
cell keeps one number (the maximum, the mean, the spread...) of the
response inside it, so small shifts of the image leave it nearly unchanged
while the grid still says roughly where the energy was.
"""
import matplotlib.pyplot as plt
import numpy as np
from skimage import data, transform

import featpool
from featpool.plotting import plot_pooled

image = transform.downscale_local_mean(data.camera() / 255.0, (2, 2))  # 256x256
bank = featpool.gabor_bank(image.shape, n_scales=3, n_orientations=4, aspect_ratio=1.0)
responses = featpool.filter_responses(image, bank)                    # (12, 256, 256), modulus
vertical = responses[4]                                                # scale 1, orientation 0

# %%
# One map, four ops over 16x16 windows (stride 16): the maximum keeps the
# strongest edge of each cell, the mean its average energy, the standard
# deviation how uneven it is, the power mean ``lp`` (p=4) sits between mean
# and max.
ops = {"max": {"op": "max"}, "mean": {"op": "mean"}, "std": {"op": "std"},
       "lp, p=4": {"op": "lp", "p": 4}}
pooled = np.stack([featpool.pool2d(vertical, 16, **kwargs) for kwargs in ops.values()])
fig, axes = plt.subplots(1, 2, figsize=(6, 3), layout="constrained")
for ax, picture, title in zip(axes, [image, vertical], ["image", "response |y| (s1, o0)"]):
    ax.imshow(picture, cmap="gray" if picture is image else "viridis")
    ax.set_title(title, fontsize="small")
    ax.set_axis_off()
fig, axes = plot_pooled(pooled, image=image, titles=list(ops), ncols=4, panel=2.2)

# %%
# Window geometry, as PyTorch's ``max_pool2d``: overlapping windows (size 5,
# stride 2, padding 2) give a half-resolution map; dilation 4 spreads the 3
# taps of each window over 9 pixels; ceil mode keeps the partial window at
# the border (a 9-pixel window, stride 8, on 256 pixels: 31 windows without
# it, 32 with it).
shapes = {}
for name, kwargs in {"size 5, stride 2, padding 2": dict(size=5, stride=2, padding=2),
                     "size 3, dilation 4, stride 4": dict(size=3, stride=4, dilation=4),
                     "size 9, stride 8": dict(size=9, stride=8),
                     "size 9, stride 8, ceil mode": dict(size=9, stride=8,
                                                         ceil_mode=True)}.items():
    shapes[name] = featpool.pool2d(vertical, **kwargs)
    print(f"{name:30s} -> {shapes[name].shape}")
fig, axes = plot_pooled(list(shapes.values()), ncols=4, panel=2.4,
                        titles=[f"{name}\n{m.shape[0]}x{m.shape[1]}" for name, m in
                                shapes.items()])

# %%
# Fixed grids whatever the image size: ``adaptive_pool2d`` cuts the map into
# a 3x5 grid of (nearly) equal cells; ``pyramid_pool`` concatenates 1x1,
# 2x2 and 4x4 grids into 21 numbers per map, the feature vector of
# :class:`~featpool.FilterBankPooling`'s default.
grid = featpool.adaptive_pool2d(vertical, (3, 5), op="mean")
levels = featpool.pyramid_pool(vertical[None], levels=(1, 2, 4), op="mean")[0]
print("adaptive grid", grid.shape, "pyramid", levels.shape)
fig, axes = plot_pooled([grid, levels[1:5].reshape(2, 2), levels[5:].reshape(4, 4)],
                        image=image, titles=["3x5 adaptive", "pyramid level 2",
                                             "pyramid level 4"], ncols=3, panel=2.4)

# %%
# Every map at once: a (1, 2, 4) pyramid of means of all 12 maps is what
# :func:`featpool.filter_pool` computes without storing the full-resolution
# responses. Its level-4 cells, one grid per filter:
features = featpool.filter_pool(image, bank, featpool.Pooling("mean", levels=(4,)))
names = [f"s{m['scale_index']} o{m['orientation_index']}" for m in bank.metadata]
fig, axes = plot_pooled(features.reshape(-1, 4, 4), image=image, titles=names, ncols=4,
                        panel=1.8)
plt.show()
