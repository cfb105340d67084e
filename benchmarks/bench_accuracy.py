"""Accuracy and speed of FilterBankPooling beside raw pixels, HOG and Kymatio, in one run.

Sections (all run by default; ``--only`` picks some):

* ``mnist``: the protocol of docs/benchmarks.md, on the MNIST test set in the
  folder ``--mnist`` or ``$FEATPOOL_MNIST`` names (train on the first
  5,000 test images, test on the last 5,000, pixels / 255, StandardScaler,
  ``LogisticRegression(C=0.1, max_iter=2000)``): raw pixels, scikit-image
  ``hog`` (9 orientations, 7x7 cells, 2x2 blocks), Kymatio ``Scattering2D(J=2,
  L=8)`` (NumPy frontend, float32) and featpool's default and best
  configurations. Extraction speed is the median of repeats on the same
  images in this process; the ratio to Kymatio is what to read (the machines
  are shared and noisy).
* ``rotation``: patches of scikit-image's brick, grass and gravel textures;
  train on upright patches of the top half of each image, test on patches of
  the bottom half, upright and rotated by uniform random angles. Rotated
  patches are cut from a texture at twice the resolution, rotated (cubic
  spline), then averaged 2x2 like the upright ones, so that interpolation blur
  does not tell them apart.
* ``volumes``: generated 3D textures (gratings along three directions, blobs
  of two sizes) through the 3D Gabor bank, end to end.
* ``ablation``: the defaults on MNIST, one change at a time, on both halves
  (the protocol split and the swapped one: a difference smaller than about
  0.3 point is noise).
* ``datasets``: the defaults on other data: load_digits (8x8, 5-fold CV),
  scikit-image's LFW subset (25x25 faces against non-faces, 5-fold CV),
  texture patches (64x64, as above, upright) and crops of random size (40 to
  140 pixels a side) from eight photos, labelled by photo (5-fold CV).

Run::

    python benchmarks/bench_accuracy.py --mnist DIR     # everything (~25 min on 2 cores)
    python benchmarks/bench_accuracy.py --quick         # small smoke run (~2 min)
    python benchmarks/bench_accuracy.py --only mnist rotation
"""
import argparse
import sys
from pathlib import Path

import numpy as np
from skimage import color, data, transform
from skimage.feature import hog
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _peers import import_kymatio_scattering2d  # noqa: E402
from _common import find_mnist, load_mnist, median_time, peak_memory  # noqa: E402

import featpool  # noqa: E402
from featpool.transformers import FilterBankPooling  # noqa: E402

# The configurations the docs name (docs/transformers.md).
DEFAULT = {}
MNIST_BEST = dict(n_orientations=6, levels=(1, 7))
ROTATION = dict(levels=(1,), rotation="fourier", normalization="l2")


def classifier():
    """The protocol's classifier: standardized features, logistic regression."""
    return make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000))


def table(title, header, rows):
    print(f"\n## {title}\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(str(v) for v in row) + " |", flush=True)


# --------------------------------------------------------------------------
# Extractors: name -> callable(images) -> (n, d) features
# --------------------------------------------------------------------------

def raw_pixels(images):
    return np.asarray(images, dtype=np.float32).reshape(len(images), -1)


def hog_features(cell):
    def extract(images):
        return np.array([hog(image, orientations=9, pixels_per_cell=(cell, cell),
                             cells_per_block=(2, 2)) for image in images], dtype=np.float32)
    return extract


def kymatio_features(shape, J, L=8, global_mean=False):
    Scattering2D = import_kymatio_scattering2d()
    if Scattering2D is None:
        return None
    scattering = Scattering2D(J=J, shape=shape, L=L)

    def extract(images):
        out = scattering(np.asarray(images, dtype=np.float32))
        out = out.mean(axis=(-2, -1)) if global_mean else out
        return out.reshape(len(images), -1)
    return extract


def featpool_features(params, fit_images):
    model = FilterBankPooling(**params).fit(fit_images)
    return model.transform


# --------------------------------------------------------------------------
# MNIST
# --------------------------------------------------------------------------

def bench_mnist(args):
    folder = find_mnist(args.mnist)
    if folder is None:
        print("\n## MNIST: skipped (no data; pass --mnist FOLDER)")
        return
    images, labels = load_mnist(folder)
    images = images.astype(np.float32) / 255
    n = 1000 if args.quick else 5000
    train, test = slice(0, n), slice(len(images) - n, None)
    used = np.concatenate([images[train], images[test]])
    timing = used[: 1000 if args.quick else 3000]
    threads = featpool.show_config(print_out=False)["n_threads"]
    extractors = [
        ("raw pixels", raw_pixels, 1),
        ("skimage hog (9 or., 7x7 cells, 2x2 blocks)", hog_features(7), 1),
        ("Kymatio Scattering2D(J=2, L=8), NumPy", kymatio_features((28, 28), 2), 1),
        ("featpool FilterBankPooling() (default)", featpool_features(DEFAULT, images[:1]),
         threads),
        ("featpool default, n_threads=1", featpool_features(dict(n_threads=1), images[:1]), 1),
        (f"featpool best: {_spell(MNIST_BEST)}", featpool_features(MNIST_BEST, images[:1]),
         threads),
    ]
    rows, kymatio_speed = [], None
    for name, extract, n_threads in extractors:
        if extract is None:
            rows.append((name, "not installed", "", "", "", "", ""))
            continue
        features = extract(used)
        seconds = median_time(lambda: extract(timing), 1 if "Kymatio" in name else 3)
        speed = len(timing) / seconds
        kymatio_speed = speed if "Kymatio" in name else kymatio_speed
        model = classifier().fit(features[:n], labels[train])
        error = 100 * (1 - model.score(features[n:], labels[test]))
        if name == "raw pixels":
            rows.append((name, features.shape[1], f"{error:.2f} %", "-", "", "", ""))
            continue
        ratio = f"{speed / kymatio_speed:.1f}x" if kymatio_speed else ""
        memory = peak_memory(lambda: extract(timing[:500])) / 2**20
        rows.append((name, features.shape[1], f"{error:.2f} %", f"{speed:,.0f}", ratio,
                     n_threads, f"{memory:.0f}"))
    table(f"MNIST: train first {n}, test last {n} (protocol of docs/benchmarks.md)",
          ["features", "dim", "test error", "img/s", "vs Kymatio", "threads", "peak MiB"],
          rows)


ABLATION = [
    {}, dict(bank_params={"aspect_ratio": 0.5}), dict(n_scales=3), dict(n_scales=5),
    dict(n_orientations=8), dict(normalization="l2"), dict(normalization=None),
    dict(mode="reflect"), dict(levels=(1, 2, 4, 8)), dict(levels=(1, 7)),
    dict(pooling=("mean", "std")), dict(nonlinearity="relu_split"), dict(bank="morlet"),
    dict(second_layer=True),
]


def bench_ablation(args):
    """The defaults, one change at a time: MNIST error on both halves, speed."""
    folder = find_mnist(args.mnist)
    if folder is None:
        print("\n## MNIST ablation: skipped (no data; pass --mnist FOLDER)")
        return
    images, labels = load_mnist(folder)
    images = images.astype(np.float32) / 255
    n = 1000 if args.quick else 5000
    first, last = slice(0, n), slice(len(images) - n, None)
    used, y = np.concatenate([images[first], images[last]]), np.r_[labels[first], labels[last]]
    configs = ABLATION[:3] if args.quick else ABLATION
    rows = []
    for params in configs:
        model = FilterBankPooling(**params).fit(images[:1])
        features = model.transform(used)
        seconds = median_time(lambda: model.transform(used[:1000]), 3)
        errors = [100 * (1 - classifier().fit(features[a], y[a]).score(features[b], y[b]))
                  for a, b in ((slice(0, n), slice(n, None)), (slice(n, None), slice(0, n)))]
        rows.append((_spell(params) if params else "FilterBankPooling() (default)",
                     features.shape[1], f"{errors[0]:.2f} %", f"{errors[1]:.2f} %",
                     f"{np.mean(errors):.2f} %", f"{1000 / seconds:,.0f}"))
    table("MNIST ablation: the default, one change at a time (protocol split; swapped: "
          "train on the last half, test on the first)",
          ["configuration", "dim", "test error", "swapped", "mean", "img/s"], rows)


def _spell(params):
    return "FilterBankPooling(" + ", ".join(f"{k}={v!r}" for k, v in params.items()) + ")"


# --------------------------------------------------------------------------
# Textures: rotation
# --------------------------------------------------------------------------

def grey(image):
    image = np.asarray(image, dtype=np.float64)
    if image.ndim == 3:
        image = color.rgb2gray(image[..., :3])
    return (image - image.min()) / (image.max() - image.min())


def texture_patches(image, n, rows, rotate, rng, size=64):
    """Patches of ``image`` from the band of ``rows``; rotated by random angles if asked.

    Cut at twice the final resolution, rotated there (cubic spline), then
    averaged 2x2: upright and rotated patches get the same smoothing.
    """
    reach = 2 * (int(np.ceil(size * np.sqrt(2))) + 2)
    patches = []
    for _ in range(n):
        top = rng.integers(rows[0], rows[1] - reach)
        left = rng.integers(0, image.shape[1] - reach)
        patch = image[top:top + reach, left:left + reach]
        if rotate:
            patch = transform.rotate(patch, rng.uniform(0, 360), order=3, mode="reflect")
        patch = transform.downscale_local_mean(patch, (2, 2))
        start = (len(patch) - size) // 2
        patch = patch[start:start + size, start:start + size]
        # Texture, not brightness: every patch has zero mean and unit variance.
        patches.append((patch - patch.mean()) / patch.std())
    return np.array(patches, dtype=np.float32)


def texture_sets(n, rng):
    train, upright, rotated, labels_train, labels_test = [], [], [], [], []
    for label, name in enumerate(("brick", "grass", "gravel")):
        image = grey(getattr(data, name)())
        half = image.shape[0] // 2
        train.append(texture_patches(image, n, (0, half), False, rng))
        upright.append(texture_patches(image, n, (half, image.shape[0]), False, rng))
        rotated.append(texture_patches(image, n, (half, image.shape[0]), True, rng))
        labels_train += [label] * n
        labels_test += [label] * n
    return (np.concatenate(train), np.concatenate(upright), np.concatenate(rotated),
            np.array(labels_train), np.array(labels_test))


def bench_rotation(args):
    rng = np.random.default_rng(0)
    train, upright, rotated, y_train, y_test = texture_sets(30 if args.quick else 100, rng)
    extractors = [
        ("raw pixels", raw_pixels),
        ("skimage hog (16x16 cells)", hog_features(16)),
        ("Kymatio Scattering2D(J=3, L=8), global mean", kymatio_features((64, 64), 3,
                                                                         global_mean=True)),
        ("featpool default", featpool_features(DEFAULT, train)),
        ("featpool levels=(1,), not invariant", featpool_features(
            dict(levels=(1,), normalization="l2"), train)),
        (f"featpool invariant: {_spell(ROTATION)}", featpool_features(ROTATION, train)),
        ("featpool rotation='max', levels=(1,)", featpool_features(
            dict(levels=(1,), rotation="max", normalization="l2"), train)),
    ]
    rows = []
    for name, extract in extractors:
        if extract is None:
            rows.append((name, "not installed", "", "", ""))
            continue
        model = classifier().fit(extract(train), y_train)
        speed = "-" if name == "raw pixels" else \
            f"{len(rotated) / median_time(lambda: extract(rotated), 3):,.0f}"
        rows.append((name, extract(train[:1]).shape[1],
                     f"{100 * model.score(extract(upright), y_test):.1f} %",
                     f"{100 * model.score(extract(rotated), y_test):.1f} %", speed))
    table(f"Textures (brick, grass, gravel), 64x64 patches, {len(train)} upright for "
          f"training", ["features", "dim", "upright test", "rotated test", "img/s"], rows)


# --------------------------------------------------------------------------
# Volumes
# --------------------------------------------------------------------------

def volume_set(n, size, rng):
    """Four 3D textures: gratings along three directions, and blobs of two sizes."""
    grid = np.indices((size,) * 3).astype(np.float64)
    volumes, labels = [], []
    for _ in range(n):
        for label, direction in enumerate([(1, 0, 0), (0, 1, 1), (1, 1, -1)]):
            u = np.array(direction) / np.linalg.norm(direction)
            frequency = rng.uniform(0.12, 0.2)
            phase = 2 * np.pi * frequency * np.tensordot(u, grid, axes=1) + rng.uniform(0, 6.3)
            volumes.append(np.cos(phase))
            labels.append(label)
        for label, sigma in ((3, 1.5), (4, 3.0)):
            volume = np.zeros((size,) * 3)
            for _ in range(int(size**3 / (8 * sigma**3))):
                centre = rng.uniform(0, size, 3)
                volume += np.exp(-((grid - centre[:, None, None, None]) ** 2).sum(0)
                                 / (2 * sigma**2))
            volumes.append(volume / volume.std())
            labels.append(label)
    volumes = np.array(volumes) + 0.7 * rng.standard_normal((len(volumes),) + (size,) * 3)
    return volumes.astype(np.float32), np.array(labels)


def bench_volumes(args):
    rng = np.random.default_rng(0)
    size = 24 if args.quick else 32
    train, y_train = volume_set(6 if args.quick else 20, size, rng)
    test, y_test = volume_set(6 if args.quick else 20, size, rng)
    extractors = [("raw voxels", raw_pixels),
                  ("featpool default (3D Gabor)", featpool_features(DEFAULT, train)),
                  ("featpool levels=(1,)", featpool_features(dict(levels=(1,)), train))]
    rows = []
    for name, extract in extractors:
        model = classifier().fit(extract(train), y_train)
        speed = "-" if name == "raw voxels" else \
            f"{len(test) / median_time(lambda: extract(test), 3):,.1f}"
        rows.append((name, extract(test[:1]).shape[1],
                     f"{100 * model.score(extract(test), y_test):.1f} %", speed))
    table(f"Volumes {size}^3: 5 classes of 3D textures, {len(train)} for training, "
          f"{len(test)} for testing", ["features", "dim", "test accuracy", "volumes/s"], rows)


# --------------------------------------------------------------------------
# The defaults on other data
# --------------------------------------------------------------------------

def cross_validated_error(extract_params, images, labels, folds=5):
    """5-fold error of FilterBankPooling(**params) (or a plain extractor) + classifier."""
    errors = []
    splitter = StratifiedKFold(folds, shuffle=True, random_state=0)
    for train, test in splitter.split(np.zeros(len(labels)), labels):
        pick = (lambda index: [images[i] for i in index]) if isinstance(images, list) \
            else (lambda index: images[index])
        if isinstance(extract_params, dict):
            model = make_pipeline(FilterBankPooling(**extract_params), clone(classifier()))
            model.fit(pick(train), labels[train])
            errors.append(1 - model.score(pick(test), labels[test]))
        else:
            model = classifier().fit(extract_params(pick(train)), labels[train])
            errors.append(1 - model.score(extract_params(pick(test)), labels[test]))
    return f"{100 * np.mean(errors):.2f} %"


def photo_crops(n_per_photo, rng):
    names = ("astronaut", "coffee", "chelsea", "rocket", "hubble_deep_field",
             "immunohistochemistry", "camera", "coins")
    crops, labels = [], []
    for label, name in enumerate(names):
        image = grey(getattr(data, name)()).astype(np.float32)
        for _ in range(n_per_photo):
            rows, cols = rng.integers(40, 140, 2)
            top = rng.integers(0, image.shape[0] - rows)
            left = rng.integers(0, image.shape[1] - cols)
            crops.append(image[top:top + rows, left:left + cols])
            labels.append(label)
    return crops, np.array(labels)


def resized(extract, shape):
    """``extract`` applied to images resized to one ``shape``: for crops of any size."""
    def run(images):
        return extract(np.array([transform.resize(image, shape, anti_aliasing=True)
                                 for image in images], dtype=np.float32))
    return run


def bench_datasets(args):
    from sklearn.datasets import load_digits
    rng = np.random.default_rng(0)
    digits, y_digits = load_digits(return_X_y=True)
    faces, y_faces = data.lfw_subset().astype(np.float32), np.r_[np.ones(100), np.zeros(100)]
    crops, y_crops = photo_crops(10 if args.quick else 40, rng)
    train, upright, _, y_train, y_test = texture_sets(30 if args.quick else 100, rng)
    if args.quick:
        digits, y_digits = digits[:500], y_digits[:500]

    def texture_error(extract):
        if isinstance(extract, dict):
            model = make_pipeline(FilterBankPooling(**extract), clone(classifier()))
            model.fit(train, y_train)
            return f"{100 * (1 - model.score(upright, y_test)):.2f} %"
        model = classifier().fit(extract(train), y_train)
        return f"{100 * (1 - model.score(extract(upright), y_test)):.2f} %"

    rows = [
        ("raw pixels (crops resized to 32x32)",
         cross_validated_error(raw_pixels, digits.reshape(-1, 8, 8), y_digits),
         cross_validated_error(raw_pixels, faces, y_faces), texture_error(raw_pixels),
         cross_validated_error(resized(raw_pixels, (32, 32)), crops, y_crops)),
        ("skimage hog (cells: 4, 8, 16, 16 px; crops resized to 64x64)",
         cross_validated_error(hog_features(4), digits.reshape(-1, 8, 8) / 16, y_digits),
         cross_validated_error(hog_features(8), faces, y_faces),
         texture_error(hog_features(16)),
         cross_validated_error(resized(hog_features(16), (64, 64)), crops, y_crops)),
        ("featpool FilterBankPooling() (default)",
         cross_validated_error(DEFAULT, digits, y_digits),
         cross_validated_error(DEFAULT, faces, y_faces), texture_error(DEFAULT),
         cross_validated_error(DEFAULT, crops, y_crops)),
    ]
    table("Defaults on other data: test error (5-fold CV where marked)",
          ["features", "load_digits 8x8 (CV)", "LFW faces 25x25 (CV)",
           "textures 64x64 upright", "photo crops 40-140 px (CV)"], rows)


SECTIONS = {"mnist": bench_mnist, "rotation": bench_rotation, "volumes": bench_volumes,
            "datasets": bench_datasets, "ablation": bench_ablation}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument("--only", nargs="+", choices=sorted(SECTIONS), default=list(SECTIONS))
    parser.add_argument("--mnist", help="folder holding t10k-images-idx3-ubyte.gz")
    args = parser.parse_args(argv)
    threads = featpool.show_config(print_out=False)["n_threads"]
    print(f"featpool bench_accuracy: {threads} threads{', quick' if args.quick else ''}")
    for name in args.only:
        SECTIONS[name](args)


if __name__ == "__main__":
    main()
