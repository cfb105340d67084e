"""Features per object in the batch command: which label image goes with each image, and
how it is read.

``featpool extract ... --labels RULE`` (or ``--mask RULE``) pairs each image
with a label image (0 = background, any other integer an object) or a mask
(nonzero = inside: one object, label 1), then computes
:func:`featpool.region_features` per image: one row per (image, label). The
rule is one of

- a folder that mirrors the images' relative paths (their paths in the table);
- a file name pattern with ``{stem}``, ``{name}`` or ``{parent}``, relative
  to the image's folder, e.g. ``{stem}_labels.tif``;
- ``column`` (or ``column:NAME``): a column of the ``--from-list`` CSV, by
  default ``labels`` (``mask`` for ``--mask``), relative to the list's folder.

A label image that is missing, unreadable or does not fit its image fails that
image (stage 'labels'); so does an image without any object ('no object').
"""
import hashlib
import os
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .io import UnreadableImageError, _decode
from .regions import MAX_LABEL, region_features, region_poolings

KINDS = ("labels", "mask")
_PLACEHOLDERS = ("stem", "name", "parent")


class Rule(NamedTuple):
    """How images find their label images: ``kind`` 'labels' or 'mask'; ``how`` 'folder',
    'pattern' or 'column'; ``value`` the folder (absolute), the pattern or the column."""

    kind: str
    how: str
    value: str

    def describe(self):
        """The rule in words, for the provenance."""
        what = "label image (0 = background)" if self.kind == "labels" else "mask (nonzero = in)"
        where = {"folder": f"the same relative path under the folder {self.value}",
                 "pattern": f"the file {self.value!r} in the image's folder",
                 "column": f"the list's column {self.value!r}"}[self.how]
        return f"one {what} per image: {where}"


def parse_rule(labels, mask, list_columns=None):
    """The Rule of ``--labels`` / ``--mask`` (None for whole images); ValueError if unusable.

    ``list_columns``: the carried columns of the ``--from-list`` CSV (None without one).
    """
    if labels is not None and mask is not None:
        raise ValueError("--labels and --mask cannot both be given: a mask is the one-object "
                         "label image.")
    kind, text = ("labels", labels) if labels is not None else ("mask", mask)
    if text is None:
        return None
    flag = f"--{kind}"
    if text == "column" or text.startswith("column:"):
        column = text.partition(":")[2] or kind
        if list_columns is None:
            raise ValueError(f"{flag} {text} reads the label files from a column of "
                             f"--from-list; give --from-list, or a folder or a pattern.")
        if column not in list_columns:
            raise ValueError(f"{flag} {text}: the list has no column {column!r} (its columns: "
                             f"{', '.join(['path'] + list(list_columns))}).")
        return Rule(kind, "column", column)
    if "{" in text:
        try:
            text.format(**{p: "x" for p in _PLACEHOLDERS})
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(f"{flag} {text!r}: a pattern may hold only "
                             f"{', '.join('{' + p + '}' for p in _PLACEHOLDERS)}. Got "
                             f"{type(exc).__name__}: {exc}.") from None
        return Rule(kind, "pattern", text)
    if not os.path.isdir(text):
        raise ValueError(f"{flag} {text!r} is neither a folder nor a file name pattern (with "
                         f"{{stem}}, {{name}} or {{parent}}) nor 'column'.")
    return Rule(kind, "folder", os.path.abspath(text))


def label_file(rule, path, name, carried, list_path=None):
    """The label file of the image at ``path`` (its name in the table ``name``), or an
    UnreadableImageError (stage 'labels') naming why there is none."""
    path = Path(path)
    if rule.how == "pattern":
        return str(path.parent / rule.value.format(stem=path.stem, name=path.name,
                                                   parent=path.parent.name))
    if rule.how == "column":
        value = carried.get(rule.value, "")
        if not value:
            raise UnreadableImageError(path, "labels", f"the list's {rule.value!r} column is "
                                       f"empty for this image")
        value = Path(value)
        return str(value if value.is_absolute() else Path(list_path).parent / value)
    relative = Path(name)
    if relative.is_absolute() or ".." in relative.parts:
        raise UnreadableImageError(path, "labels", f"--{rule.kind} FOLDER mirrors relative "
                                   f"paths, and this image's is {name!r}")
    # The real file's last parts (the table's name may escape odd bytes).
    return str(Path(rule.value, *path.parts[-len(relative.parts):]))


def pair(rule, found, list_path=None):
    """(images, label files, failures): ``found`` less the inputs that are some image's
    label file, each image's label file (absolute path), and the (key, stage, reason)
    of the images that have none (a missing file, an empty column)."""
    files, failures = {}, []
    for path, name, carried in found:
        key = os.path.abspath(path)
        try:
            files[key] = os.path.abspath(label_file(rule, path, name, carried, list_path))
        except UnreadableImageError as exc:
            failures.append((key, exc.stage, exc.reason))
            continue
        if not os.path.isfile(files[key]):
            failures.append((key, "labels", f"no {_word(rule)} {files[key]} "
                                            f"({rule.describe()})"))
    label_set = {os.path.realpath(f) for f in files.values()}
    images = [f for f in found if os.path.realpath(f[0]) not in label_set]
    return images, files, failures


def _word(rule):
    return "label image" if rule.kind == "labels" else "mask"


def with_labels(identities, files):
    """Each image's identity for resume made from its file's and its label file's
    ``(size, mtime_ns)``: a label file rewritten makes the image's rows stale."""
    combined = {}
    for key, identity in identities.items():
        try:
            stat = os.stat(files[key])
        except (KeyError, OSError):
            combined[key] = None
            continue
        if identity is None:
            combined[key] = None
            continue
        digest = hashlib.sha256(repr((identity[1], stat.st_size, stat.st_mtime_ns)).encode())
        combined[key] = (identity[0], int.from_bytes(digest.digest()[:8], "little") >> 1)
    return combined


def geometry_names(ndim):
    """The columns before the features: label, area, bbox-*, centroid-* (regionprops')."""
    return (["label", "area"] + [f"bbox-{a}" for a in range(2 * ndim)]
            + [f"centroid-{a}" for a in range(ndim)])


def region_params(model, rule):
    """The parameters of :func:`~featpool.region_features` for the command's fitted
    estimator: its own, with the bank's sizes as resolved on the reference grid (so every
    image has the same columns); a ValueError for what has no meaning per object."""
    params = model.get_params()
    params["n_scales"] = params["n_scales"] or _resolved(model, "scale_index")
    params["n_orientations"] = params["n_orientations"] or _resolved(model, "orientation_index")
    params["image_shape"] = None
    region_poolings(params, f"featpool extract --{rule.kind}")
    return params


def _resolved(model, index):
    values = {m[index] for m in getattr(model.bank_, "metadata", None) or () if index in m}
    return len(values) or None


def read_labels(path, spatial, kind):
    """The label image at ``path`` for an image of spatial shape ``spatial``, as integers
    (a mask: 1 inside); an UnreadableImageError (stage 'labels') for one that does not fit."""
    word = "label image" if kind == "labels" else "mask"
    try:
        labels = _decode(path)
    except Exception as exc:  # whatever the decoder raises: this image's failure
        raise UnreadableImageError(path, "labels", f"cannot read the {word} {path}: "
                                   f"{type(exc).__name__}: {exc}".splitlines()[0]) from None
    if labels.shape != tuple(spatial):
        raise UnreadableImageError(path, "labels", f"the {word} {path} has shape "
                                   f"{labels.shape}; the image's is {tuple(spatial)}")
    if labels.dtype != bool and labels.dtype.kind not in "iu":
        raise UnreadableImageError(path, "labels", f"the {word} {path} holds {labels.dtype} "
                                   f"values; a {word} holds integers (or booleans)")
    if kind == "mask":
        return (labels != 0).view(np.uint8)
    labels = labels.view(np.uint8) if labels.dtype == bool else labels
    if labels.size and labels.dtype.kind == "i" and labels.min() < 0:
        raise UnreadableImageError(path, "labels", f"the label image {path} holds negative "
                                   f"labels ({labels.min()}); 0 is the background")
    if labels.size and labels.max() >= MAX_LABEL:
        raise UnreadableImageError(path, "labels", f"the label image {path} holds labels up "
                                   f"to {labels.max()}, beyond 2**31 - 1")
    return labels


def object_rows(params, image, labels, names):
    """(regions, features) of one image: its objects' geometry columns (objects, columns),
    float64, and their features (objects, features), whose names must be ``names``."""
    columns = region_features(image, labels, **params)
    n_geometry = len(geometry_names(labels.ndim))
    if list(columns)[n_geometry:] != list(names):
        raise ValueError(f"its features are not the run's: {len(columns) - n_geometry} "
                         f"columns, the table's {len(names)}")
    names = list(columns)
    regions = np.stack([np.asarray(columns[n], np.float64) for n in names[:n_geometry]],
                       axis=1)
    features = np.stack([columns[n] for n in names[n_geometry:]], axis=1)
    return regions, features


def table_columns(regions, ndim):
    """The table's geometry columns from the shards' ``regions`` (rows, columns):
    integers for label, area and bbox, floats for centroids."""
    names = geometry_names(ndim)
    return {name: (regions[:, j] if name.startswith("centroid")
                   else regions[:, j].astype(np.int64)) for j, name in enumerate(names)}
