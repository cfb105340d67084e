"""
Rotation-invariant texture features
===================================

Three textures that ship with scikit-image (brick, grass, gravel) are cut into
64x64 patches. A classifier is trained on upright patches only and tested on
patches turned by random angles. With ``FilterBankPooling(levels=(1,))`` the
features follow the orientation of the texture, so turned patches are
misread; with ``rotation='fourier'`` each scale is summarized by the moduli of
the discrete Fourier transform of its responses along the orientations, which
a rotation (a cyclic shift of the orientations) does not change.

The rotated patches are cut at twice the final resolution, rotated there and
then averaged 2x2, like the upright ones, so that interpolation blur does not
tell them apart. The plot shows the two feature vectors of one patch as it
turns: the plain ones move, the invariant ones stay.

The numbers of ``benchmarks/bench_accuracy.py --only rotation`` (100 patches
per texture) are in the user guide's chapter on invariance.
"""
import matplotlib.pyplot as plt
import numpy as np
from skimage import data, transform
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from featpool.transformers import FilterBankPooling

# %%
# Patches
# -------
# Training patches come from the top half of each texture, upright; test
# patches from the bottom half, turned by a uniform random angle.
rng = np.random.default_rng(0)
SIZE = 64
REACH = 2 * (int(np.ceil(SIZE * np.sqrt(2))) + 2)


def patch(image, top, left, angle):
    big = image[top:top + REACH, left:left + REACH]
    if angle:
        big = transform.rotate(big, angle, order=3, mode="reflect")
    small = transform.downscale_local_mean(big, (2, 2))
    start = (len(small) - SIZE) // 2
    cut = small[start:start + SIZE, start:start + SIZE]
    return (cut - cut.mean()) / cut.std()


def patches(image, rows, n, rotate):
    return [patch(image, rng.integers(rows[0], rows[1] - REACH),
                  rng.integers(0, image.shape[1] - REACH),
                  rng.uniform(0, 360) if rotate else 0.0) for _ in range(n)]


textures = [data.brick() / 255.0, data.grass() / 255.0, data.gravel() / 255.0]
train, test, y_train, y_test = [], [], [], []
for label, image in enumerate(textures):
    half = image.shape[0] // 2
    train += patches(image, (0, half), 40, rotate=False)
    test += patches(image, (half, image.shape[0]), 40, rotate=True)
    y_train += [label] * 40
    y_test += [label] * 40
train, test = np.array(train, dtype=np.float32), np.array(test, dtype=np.float32)

# %%
# Two feature extractors, one classifier
# --------------------------------------
# Both keep one global mean per filter (``levels=(1,)``); the second pools
# each scale's orientations into the moduli of their DFT.
models = {
    "plain": FilterBankPooling(levels=(1,), normalization="l2"),
    "rotation='fourier'": FilterBankPooling(levels=(1,), rotation="fourier",
                                            normalization="l2"),
}
for name, features in models.items():
    classifier = make_pipeline(features, StandardScaler(), LogisticRegression(C=0.1))
    classifier.fit(train, y_train)
    print(f"{name:20s} accuracy on rotated patches: {classifier.score(test, y_test):.2f}")

# %%
# One patch as it turns
# ---------------------
# One brick patch, turned by 0 to 90 degrees, and its two feature vectors.
angles = np.arange(0, 91, 15)
turned = np.array([patch(textures[0], 100, 100, angle) for angle in angles], np.float32)
fig, axes = plt.subplots(1, 3, figsize=(11, 3.2))
axes[0].imshow(turned[2], cmap="gray")
axes[0].set_title("brick patch, turned 30 degrees")
axes[0].axis("off")
for ax, (name, model) in zip(axes[1:], models.items()):
    features = model.fit(turned[:1]).transform(turned)
    for angle, row in zip(angles, features):
        ax.plot(row, label=f"{angle} deg")
    ax.set_title(name)
    ax.set_xlabel("feature")
axes[2].legend(fontsize=7)
fig.tight_layout()
plt.show()
