"""
Images of different sizes through a pyramid
===========================================

A spatial pyramid cuts every image into the same grids (1x1, 2x2, 4x4
cells), whatever its size, so images of different sizes give feature
vectors of one length: no resizing, no cropping. featpool builds the filter
bank once and re-samples it on the grid of each image size (same
frequencies in cycles per pixel), and :func:`featpool.extract_features` or
:class:`~featpool.FilterBankPooling` take a list of images.
"""
import matplotlib.pyplot as plt
import numpy as np
from skimage import data, transform

import featpool
from featpool.plotting import plot_pooled

images = {
    "camera 256x256": transform.rescale(data.camera() / 255.0, 0.5),
    "coins 152x192": transform.rescale(data.coins() / 255.0, 0.5),
    "text 172x448": data.text() / 255.0,
    "moon 128x96": transform.resize(data.moon() / 255.0, (128, 96)),
}
for name, image in images.items():
    print(f"{name:16s} shape {image.shape}")

# %%
# One call, one vector per image. The bank is built for the smallest size
# along each axis; each image is filtered on its own grid.
features, names = featpool.extract_features(list(images.values()), levels=(1, 2, 4),
                                            return_names=True)
print("features:", features.shape, "e.g.", names[0], names[-1])

# %%
# The same through the estimator: fitted on some sizes, it transforms any
# other size to the same number of features.
model = featpool.FilterBankPooling(levels=(1, 2, 4)).fit(list(images.values())[:2])
crop = data.camera()[100:180, 150:300] / 255.0
print("an 80x150 crop:", model.transform([crop]).shape)

# %%
# What a cell is: the 4x4 level cuts each image into 16 cells of (nearly)
# equal size, whatever its shape. The grids below are the mean modulus of
# one filter (finest scale, orientation 0) in each cell, drawn over the
# images.
bank = featpool.gabor_bank((96, 96), n_scales=3, n_orientations=6, aspect_ratio=1.0)
level_4 = featpool.Pooling("mean", levels=(4,))
grids = [featpool.filter_pool(image, bank, level_4)[0].reshape(4, 4)
         for image in images.values()]
fig, axes = plt.subplots(1, len(images), figsize=(12, 3), layout="constrained")
for ax, (name, image), grid in zip(axes, images.items(), grids):
    ax.imshow(image, cmap="gray")
    ax.imshow(grid, extent=(-0.5, image.shape[1] - 0.5, image.shape[0] - 0.5, -0.5),
              alpha=0.5, interpolation="nearest")
    for k in range(1, 4):  # the cell borders: PyTorch's adaptive bins
        ax.axhline(k * image.shape[0] / 4 - 0.5, color="w", lw=0.5)
        ax.axvline(k * image.shape[1] / 4 - 0.5, color="w", lw=0.5)
    ax.set_title(name, fontsize="small")
    ax.set_axis_off()

# %%
# :func:`featpool.plotting.plot_pooled` draws such grids for many filters at
# once; here the six orientations of the finest scale on the text image.
text_grids = featpool.filter_pool(images["text 172x448"], bank, level_4)[:6].reshape(6, 4, 4)
fig, axes = plot_pooled(text_grids, image=images["text 172x448"], ncols=3, panel=2.4,
                        titles=[f"orientation {o}" for o in range(6)])
plt.show()
