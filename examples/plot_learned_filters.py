"""
Learned filters
===============

Instead of a designed bank, filters can be learned from images: k-means on
whitened patches (Coates and Ng, 2011) gives oriented edges, bars and
blobs, much like the first layer of a trained network.
:func:`featpool.learn_patch_filters` returns them; ``.bank(shape)`` turns
them into a :class:`~featpool.FilterBank` that filters and pools like any
other, and ``FilterBankPooling(bank='learned')`` learns them in ``fit``.
"""
import matplotlib.pyplot as plt
import numpy as np
from skimage import color, data
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import featpool
from featpool.plotting import plot_bank

# %%
# Filters from photographs
# ------------------------
# 24 filters of 8x8 pixels, from 10,000 patches of five photographs.
photos = [data.camera() / 255.0, data.coins() / 255.0, data.moon() / 255.0,
          color.rgb2gray(data.astronaut()), color.rgb2gray(data.coffee())]
filters = featpool.learn_patch_filters(photos, n_filters=24, patch_size=8, random_state=0)
print(filters)

fig, axes = plt.subplots(3, 8, figsize=(8, 3.2), layout="constrained")
for ax, template in zip(axes.flat, filters.templates):
    ax.imshow(template, cmap="gray")
    ax.set_axis_off()
fig.suptitle("the 24 learned filters, as patches")

# %%
# As a bank: kernels and spectra of the first 8. Learned filters are real,
# so their spectra are symmetric about the centre.
bank = filters.bank((64, 64))
fig, axes = plot_bank(bank, filters=range(8), ncols=8, crop=6)

# %%
# On digits
# ---------
# ``bank='learned'`` learns the filters from the training images in
# ``fit`` (here 5x5 patches of the 8x8 digits), against the default Gabor
# bank.
X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.5, random_state=0,
                                                    stratify=y)
for name, features in {
    "gabor (default)": featpool.FilterBankPooling(),
    "learned, 32 filters 5x5": featpool.FilterBankPooling(
        bank="learned", bank_params={"n_filters": 32, "patch_size": 5}, random_state=0),
}.items():
    model = make_pipeline(features, StandardScaler(), LogisticRegression(C=0.1, max_iter=2000))
    model.fit(X_train, y_train)
    print(f"{name:25s} {model[0].transform(X_test[:1]).shape[1]:5d} features, "
          f"test accuracy {model.score(X_test, y_test):.3f}")

fig, axes = plt.subplots(4, 8, figsize=(6, 3.2), layout="constrained")
for ax, template in zip(axes.flat, model[0].filters_.templates):
    ax.imshow(template, cmap="gray")
    ax.set_axis_off()
fig.suptitle("filters learned from the digits")
plt.show()
