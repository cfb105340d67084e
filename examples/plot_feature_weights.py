"""
Which parts of an image the features look at
============================================

Every pooled feature belongs to a cell of the pyramid, so a linear model's
weights (or a forest's importances) can be mapped back onto the image:
:func:`featpool.plotting.plot_weights` adds each feature's weight to the
pixels of its cell, read from the feature's name
(``{filter}_{op}_l{level}_c{cell}``).

The data: scikit-image's ``lfw_subset``, 100 faces and 100 non-faces of
25x25 pixels. A logistic regression tells them apart from pooled Gabor
features; its weights show where it looks.
"""
import os

import matplotlib.pyplot as plt
import numpy as np
from skimage import data
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from featpool import FilterBankPooling
from featpool.plotting import plot_weights, weight_map

images = data.lfw_subset()
y = np.repeat([1, 0], 100)  # faces first, then non-faces

model = make_pipeline(FilterBankPooling(levels=(1, 2, 4, 8)), StandardScaler(),
                      LogisticRegression(C=0.01, max_iter=2000))
scores = cross_val_score(model, images, y, cv=5)
print(f"5-fold accuracy, faces against non-faces: {scores.mean():.3f}")

# %%
# Fit on all 200 images, then add up the absolute weights of every feature
# on the pixels of its cell. The finest level (8x8 cells of about 3
# pixels) says the most about where.
model.fit(images, y)
names = model[0].get_feature_names_out()
weights = np.abs(model[-1].coef_[0])
mean_face = images[y == 1].mean(axis=0)
fig, axes = plot_weights(weights, names, mean_face)
axes[0].set_title("mean face")

# %%
# Per pyramid level: level 1 is one global cell (it weighs every pixel the
# same), level 8 the finest.
fig, axes = plt.subplots(1, 4, figsize=(10, 2.8), layout="constrained")
for ax, level in zip(axes, (1, 2, 4, 8)):
    ax.imshow(mean_face, cmap="gray")
    ax.imshow(weight_map(weights, names, mean_face.shape, levels=[level]), cmap="inferno",
              alpha=0.6)
    ax.set_title(f"level {level}", fontsize="small")
    ax.set_axis_off()

# %%
# The picture of the README is the first figure, saved when
# ``FEATPOOL_README_PNG`` names a file.
if os.environ.get("FEATPOOL_README_PNG"):
    fig, axes = plot_weights(weights, names, mean_face, panel=2.4)
    axes[0].set_title("mean face of lfw_subset", fontsize="small")
    axes[1].set_title("|weights| of a face classifier", fontsize="small")
    fig.savefig(os.environ["FEATPOOL_README_PNG"], dpi=80)
plt.show()
