"""Image files to arrays: find them, read them, with one colour policy and a size limit.

What the batch command reads is what these functions read, so a library
user gets the same arrays as the command:

* :func:`find_images` lists the image files of files, folders (recursive by
  default, following links to folders, skipping hidden files) and glob
  patterns, each with its path relative to the common folder of the inputs
  (as UTF-8 text, see :func:`display_name`);
* :func:`image_shape` reads only a file's header;
* :func:`read_image` reads one file to a float array.

Formats: PNG, JPEG, BMP, GIF (its first frame) and WebP (Pillow; a 16-bit
PNG keeps its 16 bits, colour included), TIFF (tifffile: a multi-page TIFF
is a volume), and NumPy ``.npy`` files (always with ``allow_pickle=False``: a
file that holds Python objects is refused, never unpickled; big-endian
arrays are byte-swapped). scikit-image's
``skimage.io`` plugin system is not used (it is deprecated).

Values are scaled to floats: unsigned integers are divided by their largest
value (uint8 by 255, uint16 by 65535, so 0..1), signed integers likewise
(-1..1), booleans are 0 and 1, floats are kept as they are (float16 becomes
float32) and must be finite.

Colour (``color``): 'gray' (the default) turns RGB into luminance with
:func:`skimage.color.rgb2gray` (0.2125 R + 0.7154 G + 0.0721 B); 'channels'
gives every image three channels, last (a grey image is repeated in each);
'error' refuses colour images. An alpha channel is dropped, never blended
(a grey + alpha image is grey). So a folder that mixes grey, RGB and RGBA
images gives one kind of array under any policy but 'error'.

Size: a file whose image has more pixels (voxels for a volume) than
``max_pixels`` (default :data:`MAX_PIXELS`, Pillow's own limit of about
89.5 million) is refused from its header, before anything is decoded: a few
kilobytes of compressed data can otherwise expand to gigabytes (a
"decompression bomb"). ``max_pixels=None`` lifts the limit.

Every failure is an :class:`UnreadableImageError` that names the file, the
stage (``'header'``, ``'read'``, ``'limit'``, ``'colour'``, ``'validate'``)
and the reason.
"""
import contextlib
import glob
import math
import numbers
import os
import struct
import zlib
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ._vocabulary import check_option
from .samples import read_samples

__all__ = ["COLOR_POLICIES", "EXTENSIONS", "MAX_PIXELS", "FoundImage", "UnreadableImageError",
           "display_name", "find_images", "image_shape", "read_image", "split_channels"]

#: File name extensions read (lower case); other files in folders are skipped.
EXTENSIONS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".npy", ".bmp", ".gif", ".webp")
_PILLOW = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")
#: What :func:`read_image` does with colour images.
COLOR_POLICIES = ("gray", "channels", "error")
#: Default pixel limit (Pillow's ``Image.MAX_IMAGE_PIXELS``).
MAX_PIXELS = 89_478_485


class UnreadableImageError(ValueError):
    """A file that could not be read as an image: its path, the stage and the reason.

    Attributes
    ----------
    path : str
    stage : str
        'header', 'read', 'limit', 'colour' or 'validate'.
    reason : str
    """

    def __init__(self, path, stage, reason):
        super().__init__(f"{path}: {stage}: {reason}")
        self.path, self.stage, self.reason = str(path), stage, reason

    def __reduce__(self):  # travels between processes with its fields
        return type(self), (self.path, self.stage, self.reason)


class FoundImage(NamedTuple):
    """An image file and its name relative to the input it was found from."""

    path: str
    name: str


# --------------------------------------------------------------------------
# Finding files
# --------------------------------------------------------------------------

def _is_image(name):
    return os.path.splitext(name)[1].lower() in EXTENSIONS


def _is_hidden(name):
    return name.startswith(".")   # dot files, macOS '._*' resource forks, '.git'


def _scan(folder):
    """A folder's ``os.DirEntry`` objects by name; none if it cannot be listed (as os.walk)."""
    try:
        with os.scandir(folder) as entries:
            return sorted(entries, key=lambda entry: entry.name)
    except OSError:
        return []


def _from_folder(folder, recursive, hidden, skipped):
    """Image files under ``folder`` as (absolute path, real path) pairs, sorted by their
    parts, following symbolic links to folders, each folder once. A file's type comes
    with its name (``os.scandir``), and its real path is its folder's and its name unless
    it is a link itself: one ``realpath`` per folder, not per file."""
    files, seen = [], set()

    def visit(path):
        try:
            stat = os.stat(path)
        except OSError:   # gone since it was listed
            return
        if (stat.st_dev, stat.st_ino) in seen:   # a link back up the tree, or a second link
            return
        seen.add((stat.st_dev, stat.st_ino))
        real, entries = os.path.realpath(path), _scan(path)
        if not hidden:
            skipped["hidden"] += sum(_is_hidden(entry.name) for entry in entries)
            entries = [entry for entry in entries if not _is_hidden(entry.name)]
        for entry in entries:
            full = os.path.join(path, entry.name)
            try:   # as os.walk: an entry whose type cannot be told is not a folder
                is_dir, is_file = entry.is_dir(), entry.is_file()   # a broken link: neither
            except OSError:
                is_dir = is_file = False
            if is_dir and recursive:
                visit(full)
            elif is_file and _is_image(entry.name):
                files.append((full, os.path.realpath(full) if entry.is_symlink()
                              else os.path.join(real, entry.name)))
            elif is_file:
                skipped["other"] += 1

    visit(os.path.abspath(folder))
    return files


def _glob_root(pattern):
    parts = Path(pattern).parts
    fixed = [p for p in parts[:next((i for i, p in enumerate(parts) if glob.has_magic(p)),
                                    len(parts))]]
    return Path(*fixed) if fixed else Path(".")


def display_name(path):
    """A path as text that is valid UTF-8, losslessly: ``\\`` is written ``\\\\`` and each
    byte of the name that is not UTF-8 as ``\\xNN``.

    ``os.fsencode(codecs.escape_decode(name.encode())[0])`` gives the bytes back.

    Examples
    --------
    >>> import os
    >>> from featpool.io import display_name
    >>> display_name("café/a.png"), display_name(os.fsdecode(b"caf\\xe9.png"))
    ('café/a.png', 'caf\\\\xe9.png')
    """
    return os.fsencode(path).replace(b"\\", b"\\\\").decode("utf-8", "backslashreplace")


def _real_path(path, folders):
    """``os.path.realpath(path)`` of an absolute path, with its folder's real path from
    ``folders`` (a cache): only a file that is itself a link costs a realpath of its own."""
    folder, name = os.path.split(path)
    if os.path.islink(path):
        return os.path.realpath(path)
    if folder not in folders:
        folders[folder] = os.path.realpath(folder)
    return os.path.join(folders[folder], name)


def _search(inputs, recursive, hidden):
    """The (file, input root) pairs of ``inputs`` (absolute paths), each file once, and what
    was skipped."""
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    found, seen, skipped, folders = [], set(), {"hidden": 0, "other": 0}, {}
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            root, files = path, _from_folder(path, recursive, hidden, skipped)
        elif path.is_file():
            root, files = path.parent, [os.path.abspath(path)]
        elif glob.has_magic(str(item)):
            root = _glob_root(str(item))
            files = sorted((p for p in glob.glob(str(item), recursive=True)
                            if os.path.isfile(p)), key=lambda p: Path(p).parts)
            if not files:
                raise FileNotFoundError(f"The pattern {str(item)!r} matches no file.")
            files = [os.path.abspath(p) for p in files]
        else:
            raise FileNotFoundError(f"The input {str(item)!r} is not a file, a folder or a "
                                    f"glob pattern that matches files.")
        root = os.path.abspath(root)
        for file in files:
            file, key = file if isinstance(file, tuple) else (file, _real_path(file, folders))
            if key not in seen:
                seen.add(key)
                found.append((file, root))
    return found, skipped


def _common_root(roots):
    try:
        return os.path.commonpath(roots)
    except ValueError:   # no common root (two drives on Windows): absolute names
        return None


def find_images(inputs, *, recursive=True, hidden=False, skipped=None):
    """List the image files of files, folders and glob patterns.

    Parameters
    ----------
    inputs : str, path or list of them
        Image files (kept whatever their extension: a file that is not an
        image fails when read), folders (their files with an extension in
        :data:`EXTENSIONS`, following symbolic links to folders, each folder
        once), or glob patterns (``'scans/*/*.tif'``, ``**`` for any depth).
    recursive : bool, default=True
        Look into the sub-folders of folders.
    hidden : bool, default=False
        Also list hidden files and look into hidden folders (names that start
        with ``.``, such as macOS's ``._photo.jpg``) of folders.
    skipped : dict, optional
        If given, receives the number of files and folders skipped in
        folders: ``'hidden'`` and ``'other'`` (not an image extension).

    Returns
    -------
    images : list of FoundImage
        ``(path, name)`` pairs in input order, sorted within each input, each
        file once (a file reached twice, by two inputs or a link, is listed
        the first time). ``name`` is the path relative to the common root of
        all inputs (a folder, the fixed part of a glob pattern, a file's own
        folder), so two files never share a name; as UTF-8 text, see
        :func:`display_name`.

    Raises
    ------
    FileNotFoundError
        For an input that does not exist or a pattern that matches nothing.

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> from pathlib import Path
    >>> from featpool.io import find_images
    >>> folder = Path(tempfile.mkdtemp())
    >>> for part in ("train", "test"):
    ...     (folder / part).mkdir()
    ...     np.save(folder / part / "0001.npy", np.zeros((8, 8)))
    >>> _ = (folder / "notes.txt").write_text("not an image")
    >>> [found.name for found in find_images(folder)]
    ['test/0001.npy', 'train/0001.npy']
    >>> [found.name for found in find_images([folder / "train", folder / "test"])]
    ['train/0001.npy', 'test/0001.npy']
    >>> [found.name for found in find_images(folder, recursive=False)]
    []
    """
    found, counts = _search(inputs, recursive, hidden)
    if skipped is not None:
        skipped.update(counts)
    root = _common_root([root for _, root in found]) if found else None
    return [FoundImage(path, display_name(_relative(path, root).replace(os.sep, "/")))
            for path, _ in found]


def _relative(path, root):
    """``os.path.relpath(path, root)`` for an absolute path under the folder ``root`` (by
    slicing: relpath's own work is most of the cost of a name); ``path`` when no root."""
    if root is None:
        return path
    prefix = root if root.endswith(os.sep) else root + os.sep
    return path[len(prefix):] if path.startswith(prefix) else os.path.relpath(path, root)


# --------------------------------------------------------------------------
# Headers
# --------------------------------------------------------------------------

def _npy_header(path):
    with open(path, "rb") as f:
        version = np.lib.format.read_magic(f)
        read = {(1, 0): np.lib.format.read_array_header_1_0,
                (2, 0): np.lib.format.read_array_header_2_0}.get(version)
        if read is None:
            raise ValueError(f"unsupported .npy format version {version}")
        shape, _, dtype = read(f)
    if dtype.hasobject:
        raise ValueError("the file holds Python objects, which are never unpickled "
                         "(allow_pickle=False); save a numeric array")
    return tuple(shape), dtype


def _tiff_pages(tif):
    """The image of a TIFF file: its first page and how many pages, from the
    first, share that page's shape and type (a volume's depth).

    Pages are reached by index, never by iterating the file's chain of
    pages (as ``tif.series`` does), which a corrupt file can make circular:
    a 2.7 kB file kept tifffile's series busy for minutes.
    """
    pages = tif.pages
    n = len(pages)  # tifffile stops at a circular reference
    if n == 0 or not pages[0].shape:
        raise ValueError("the TIFF file has no image on its first page")
    first, depth = pages[0], 1
    while depth < n and pages[depth].shape == first.shape and pages[depth].dtype == first.dtype:
        depth += 1
    return first, depth


def _tiff_series(tif):
    """The shape :func:`read_image` decodes: depth (pages), then the page's axes, colour last."""
    first, depth = _tiff_pages(tif)
    # 'S' is samples per pixel (colour); any other axis than Y and X is depth.
    axes = first.axes.replace("S", "")
    shape = tuple(n for n, a in zip(first.shape, first.axes) if a != "S")
    colour = first.shape[first.axes.index("S")] if "S" in first.axes else None
    spatial = ((depth,) if depth > 1 else ()) + tuple(
        n for n, a in zip(shape, axes) if n > 1 or a in "YX")
    if len(spatial) > 3:
        raise ValueError(f"the TIFF image has {len(spatial)} axes ({depth} pages of "
                         f"{first.axes} {first.shape}); featpool reads 2D images and 3D volumes")
    return spatial + ((colour,) if colour else ())


def _tiff_decode(tif):
    shape = _tiff_series(tif)
    first, depth = _tiff_pages(tif)
    out = np.empty((depth,) + first.shape, dtype=first.dtype)
    for i in range(depth):
        out[i] = tif.pages[i].asarray()
    if "S" in first.axes:   # colour last, whatever the planar configuration
        out = np.moveaxis(out, 1 + first.axes.index("S"), -1)
    return out.reshape(shape)


@contextlib.contextmanager
def _pil_open(path):
    """Pillow's image, without Pillow's own pixel limit: ``max_pixels`` is ours."""
    from PIL import Image
    limit = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None
    try:
        with Image.open(path) as image:
            yield image
    finally:
        Image.MAX_IMAGE_PIXELS = limit


_CONVERTED = ("P", "PA", "CMYK", "YCbCr", "LAB", "HSV")


def _pil_mode(image):
    """The mode an image is decoded in: palettes and other colour spaces become RGB(A)."""
    if image.mode not in _CONVERTED:
        return image.mode
    return "RGBA" if image.mode == "PA" or "transparency" in image.info else "RGB"


def _png16(image):
    """The raw mode of a 16-bit PNG with more than one band, which Pillow decodes to 8 bits."""
    if image.format != "PNG" or not image.tile:
        return None
    rawmode = image.tile[0][3]
    return rawmode if rawmode in ("LA;16B", "RGB;16B", "RGBA;16B") else None


def _pil_shape(image):
    from PIL import Image
    if _png16(image) == "LA;16B":   # Pillow's mode is RGBA (grey repeated)
        return (image.height, image.width, 2)
    bands = Image.getmodebands(_pil_mode(image))
    return (image.height, image.width) + ((bands,) if bands > 1 else ())


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# PNG colour type -> (bit depths, bands) of the arrays Pillow decodes (16-bit colour as
# read by _decode_png16); palette images (3) need the chunks after IHDR: Pillow reads them.
_PNG_BANDS = {0: ((1, 2, 4, 8, 16), 1), 2: ((8, 16), 3), 4: ((8, 16), 2), 6: ((8, 16), 4)}


def _png_shape(path):
    """A PNG file's shape from its first 33 bytes (signature, IHDR chunk, its CRC checked)
    as :func:`_pil_shape` gives it, at a fraction of Pillow's cost; None for anything else."""
    with open(path, "rb") as f:
        head = f.read(33)
    if len(head) < 33 or head[:16] != _PNG_SIGNATURE + b"\x00\x00\x00\rIHDR":
        return None
    width, height, depth, colour, compression, filtering, interlace = struct.unpack(
        ">IIBBBBB", head[16:29])
    if compression or filtering or interlace > 1:   # Pillow's refusal, in its words
        return None
    if zlib.crc32(head[12:29]) != struct.unpack(">I", head[29:33])[0]:
        return None
    depths, bands = _PNG_BANDS.get(colour, ((), 0))
    if depth not in depths or not 0 < width < 2**31 or not 0 < height < 2**31:
        return None
    return (height, width) + ((bands,) if bands > 1 else ())


def _header(path):
    suffix = Path(path).suffix.lower()
    if suffix in _PILLOW:
        shape = _png_shape(path)
        if shape is not None:
            return shape
    if suffix == ".npy":
        return _npy_header(path)[0]
    if suffix in (".tif", ".tiff"):
        import tifffile
        with tifffile.TiffFile(path) as tif:
            return _tiff_series(tif)
    if suffix in _PILLOW:
        with _pil_open(path) as image:
            return _pil_shape(image)
    raise ValueError(f"{suffix or 'no extension'!r} is not a supported image format "
                     f"({', '.join(EXTENSIONS)})")


def image_shape(path):
    """The shape of a file's image, from its header only (nothing is decoded).

    Parameters
    ----------
    path : str or path

    Returns
    -------
    shape : tuple of int
        The array :func:`read_image` decodes before its colour policy:
        ``(H, W)``, ``(H, W, C)`` for colour (C 2 to 4), ``(D, H, W)`` for a
        volume (a multi-page TIFF, a 3D ``.npy``).

    Raises
    ------
    UnreadableImageError
        With stage 'header'.

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> from featpool.io import image_shape
    >>> path = tempfile.mktemp(suffix=".npy")
    >>> np.save(path, np.zeros((20, 30, 3), dtype=np.uint8))
    >>> image_shape(path)
    (20, 30, 3)
    """
    try:
        return tuple(int(n) for n in _header(path))
    except UnreadableImageError:
        raise
    except Exception as exc:  # any reader's failure on any bytes is this file's failure
        raise UnreadableImageError(path, "header", _reason(exc)) from None


def _reason(exc):
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def split_channels(shape, ndim=None):
    """Split an image's shape (as :func:`image_shape` gives it) into spatial axes and channels.

    Parameters
    ----------
    shape : tuple of int
    ndim : {2, 3}, optional
        As in :func:`read_image`.

    Returns
    -------
    spatial : tuple of int
    channels : int or None
        None for a grey image.

    Raises
    ------
    ValueError
        For a shape that is not an image under ``ndim``.

    Examples
    --------
    >>> from featpool.io import split_channels
    >>> split_channels((20, 30, 4)), split_channels((5, 20, 30)), split_channels((20, 30, 3), 3)
    (((20, 30), 4), ((5, 20, 30), None), ((20, 30, 3), None))
    """
    if ndim == 3:
        colour = len(shape) == 4 and shape[-1] <= 4
        if len(shape) != 3 + colour:
            raise ValueError(f"a volume is asked for (ndim=3) but the image has shape {shape}")
    else:
        colour = len(shape) in (3, 4) and shape[-1] <= 4
        if len(shape) - colour == 3 and ndim == 2:
            raise ValueError(f"the file is a volume of shape {shape} but 2D images are asked "
                             f"for (ndim=2); read volumes with ndim=3")
        if len(shape) - colour not in (2, 3):
            raise ValueError(f"an image must have 2 or 3 spatial axes; the file has shape "
                             f"{shape}")
    return (shape[:-1], shape[-1]) if colour else (shape, None)


# --------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------

def _decoded_as(path, rawmode, mode=None):
    """Pillow's decoder run with another raw mode (and image mode): the PNG rows are
    unfiltered as usual, then unpacked as ``rawmode`` says."""
    with _pil_open(path) as image:
        tile = list(image.tile[0])
        tile[3] = rawmode
        image.tile = [type(image.tile[0])(*tile) if hasattr(image.tile[0], "_fields")
                      else tuple(tile)]
        if mode is not None:
            if isinstance(getattr(type(image), "mode", None), property):
                image._mode = mode   # Pillow >= 10.1
            else:
                image.mode = mode
        return np.asarray(image)


def _decode_png16(path, rawmode):
    """16-bit colour PNG, every bit: Pillow keeps only the high bytes of each sample
    ('RGB;16B'); its own decoder run a second time with the little-endian raw mode gives
    the low bytes. Grey + alpha is unpacked as one 32-bit integer per pixel."""
    if rawmode == "LA;16B":
        v = _decoded_as(path, "I;32B", "I").view(np.uint32)
        return np.stack([v >> 16, v & 0xFFFF], axis=-1).astype(np.uint16)
    high = _decoded_as(path, rawmode).astype(np.uint16)
    low = _decoded_as(path, rawmode.replace(";16B", ";16L"))
    return (high << 8) | low


def _decode_pil(path):
    with _pil_open(path) as image:
        rawmode = _png16(image)
        if rawmode:
            return _decode_png16(path, rawmode)
        if image.mode in _CONVERTED:
            image = image.convert(_pil_mode(image))
        is_png = image.format == "PNG"
        x = np.asarray(image)
    if x.dtype == np.int32 and is_png:  # Pillow's 'I' mode: PNG has at most 16 bits
        x = x.astype(np.uint16)
    return x


def _decode(path):
    suffix = Path(path).suffix.lower()
    if suffix == ".npy":
        return np.load(path, allow_pickle=False)
    if suffix in (".tif", ".tiff"):
        import tifffile
        with tifffile.TiffFile(path) as tif:
            return _tiff_decode(tif)
    return _decode_pil(path)


def _scaled(x):
    if not x.dtype.isnative:   # a big-endian .npy on a little-endian machine
        x = x.astype(x.dtype.newbyteorder("="))
    if x.dtype == np.bool_:
        return x.astype(np.float32)
    if np.issubdtype(x.dtype, np.integer):
        info = np.iinfo(x.dtype)
        out = x.astype(np.float32 if info.bits <= 16 else np.float64)
        out /= info.max
        return out
    if x.dtype == np.float16:
        return x.astype(np.float32)
    if x.dtype in (np.float32, np.float64):
        return x
    raise ValueError(f"pixels of type {x.dtype} are not real numbers")


def _apply_colour(x, channels, color, path):
    if channels is None:
        return x if color != "channels" else np.repeat(x[..., None], 3, axis=-1)
    if color == "error" and channels > 2:   # grey + alpha is grey
        raise UnreadableImageError(path, "colour", f"a colour image ({channels} channels) and "
                                   f"color='error'; use 'gray' or 'channels'")
    if channels <= 2:  # grey, or grey + alpha: alpha dropped
        return _apply_colour(x[..., 0], None, color, path)
    x = x[..., :3]  # alpha dropped
    if color == "gray":
        from skimage.color import rgb2gray
        return rgb2gray(x).astype(x.dtype, copy=False)
    return x


def _physical_memory():
    """Bytes of memory of this machine (None where the system does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def _too_big(shape, n_pixels, max_pixels, memory=None):
    gib = math.prod(shape) * 4 / 2**30   # the float32 image alone
    limit = "no limit (max_pixels=None)" if max_pixels is None else f"max_pixels={max_pixels}"
    than = (f"more than this machine's {memory / 2**30:.1f} GiB of memory" if memory
            else "more than this process could allocate")
    return (f"out of memory: {n_pixels} pixels ({'x'.join(map(str, shape))}) need at least "
            f"{gib:.1f} GiB as float32, {than}; the limit is {limit}")


def _check_options(color, ndim, max_pixels):
    check_option(color, "color", COLOR_POLICIES)
    if ndim not in (None, 2, 3) or isinstance(ndim, bool):
        raise ValueError(f"The 'ndim' parameter must be 2, 3 or None. Got {ndim!r} instead.")
    if max_pixels is None:
        return
    if isinstance(max_pixels, bool) or not isinstance(max_pixels, numbers.Integral):
        raise TypeError(f"The 'max_pixels' parameter must be a positive int or None. Got "
                        f"{max_pixels!r} instead.")
    if max_pixels < 1:
        raise ValueError(f"The 'max_pixels' parameter must be a positive int or None. Got "
                         f"{max_pixels!r} instead.")


def read_image(path, *, color="gray", ndim=None, max_pixels=MAX_PIXELS):
    """Read one image file to a float array, with the colour policy and the pixel limit.

    Parameters
    ----------
    path : str or path
        A file of one of the formats of :data:`EXTENSIONS`.
    color : {'gray', 'channels', 'error'}, default='gray'
        Colour policy (see the module's notes): luminance, three channels
        last, or an error for colour images.
    ndim : {2, 3}, optional
        Spatial axes: 2 refuses volumes, 3 reads every 3D array as a volume
        (and refuses 2D images). Default: a multi-page TIFF or a 3D ``.npy``
        (whose last axis is longer than 4) is a volume, others are images.
    max_pixels : int or None, default=MAX_PIXELS
        Refuse images with more pixels (voxels); checked on the header.

    Returns
    -------
    image : ndarray of shape (H, W), (D, H, W), or those with 3 channels last
        float32 (float64 for float64 files and 32-bit integers), scaled as
        the module's notes say, validated by
        :func:`featpool.samples.read_samples`.

    Raises
    ------
    UnreadableImageError
        For any file that cannot be read: naming the path, stage and reason.
    ValueError
        For a parameter out of its range.

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> from PIL import Image
    >>> from featpool.io import read_image
    >>> path = tempfile.mktemp(suffix=".png")
    >>> Image.fromarray(np.full((4, 6, 4), 255, dtype=np.uint8)).save(path)   # RGBA
    >>> image = read_image(path)
    >>> image.shape, image.dtype, round(float(image.max()), 4)
    ((4, 6), dtype('float32'), 1.0)
    >>> read_image(path, color="channels").shape
    (4, 6, 3)
    >>> read_image(path, max_pixels=10)
    Traceback (most recent call last):
    ...
    featpool.io.UnreadableImageError: ...: limit: 24 pixels, more than max_pixels=10
    """
    _check_options(color, ndim, max_pixels)
    shape = image_shape(path)
    try:
        spatial, channels = split_channels(shape, ndim)
    except ValueError as exc:
        raise UnreadableImageError(path, "header", str(exc)) from None
    n_pixels = math.prod(spatial)
    if max_pixels is not None and n_pixels > max_pixels:
        raise UnreadableImageError(path, "limit", f"{n_pixels} pixels, more than "
                                   f"max_pixels={max_pixels}")
    memory = _physical_memory()
    if memory and math.prod(shape) * 4 > memory:   # never decodable here, whatever the limit
        raise UnreadableImageError(path, "limit", _too_big(shape, n_pixels, max_pixels, memory))
    try:
        x = _decode(path)
        if x.shape != shape:
            raise ValueError(f"decoded shape {x.shape} differs from the header's {shape}")
        x = _scaled(x)
    except MemoryError:
        raise UnreadableImageError(path, "read", _too_big(shape, n_pixels, max_pixels)) from None
    except Exception as exc:
        raise UnreadableImageError(path, "read", _reason(exc)) from None
    x = _apply_colour(x, channels, color, path)
    try:
        read_samples([x], channel_axis=-1 if color == "channels" else None,
                     spatial_ndim=len(spatial))
    except (TypeError, ValueError) as exc:
        raise UnreadableImageError(path, "validate", str(exc).replace("X[0]", "the image"))
    return x
