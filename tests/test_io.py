"""featpool.io: finding and reading image files, colour policy, scaling, limits, bad files."""
import numpy as np
import pytest
import tifffile
from PIL import Image

from featpool.io import (MAX_PIXELS, UnreadableImageError, find_images, image_shape,
                         read_image)


def _png(path, array, mode=None):
    Image.fromarray(array, mode=mode).save(path)
    return path


def make_messy_folder(folder):
    """Every kind of file a real folder holds; returns {name: expected outcome}."""
    rng = np.random.default_rng(0)
    folder.mkdir(exist_ok=True)
    _png(folder / "grey.png", (rng.random((40, 50)) * 255).astype(np.uint8))
    _png(folder / "rgb.png", (rng.random((40, 50, 3)) * 255).astype(np.uint8))
    _png(folder / "rgba.png", (rng.random((40, 50, 4)) * 255).astype(np.uint8))
    _png(folder / "grey16.png", (rng.random((40, 50)) * 65535).astype(np.uint16))
    Image.fromarray((rng.random((40, 50, 3)) * 255).astype(np.uint8)).save(folder / "photo.jpg")
    tifffile.imwrite(folder / "float.tif", rng.random((40, 50)).astype(np.float32))
    sub = folder / "sub"
    sub.mkdir(exist_ok=True)
    np.save(sub / "plain.npy", rng.random((40, 50)))
    # bad files
    (folder / "text.png").write_text("this is not an image")
    (folder / "empty.jpg").write_bytes(b"")
    good = (folder / "grey.png").read_bytes()
    (folder / "truncated.png").write_bytes(good[:len(good) // 2])
    (folder / "corrupt.png").write_bytes(good[:60] + bytes(200) + good[260:])
    tif = (folder / "float.tif").read_bytes()
    (folder / "truncated.tif").write_bytes(tif[:len(tif) // 3])
    np.save(folder / "pickled.npy", np.array([{"evil": 1}, None], dtype=object),
            allow_pickle=True)
    (folder / "notes.txt").write_text("not an image, skipped")
    return {
        "good": ["float.tif", "grey.png", "grey16.png", "photo.jpg", "rgb.png",
                 "rgba.png", "sub/plain.npy"],
        "bad": ["corrupt.png", "empty.jpg", "pickled.npy", "text.png", "truncated.png",
                "truncated.tif"],
    }


@pytest.fixture
def messy(tmp_path):
    folder = tmp_path / "messy"
    return folder, make_messy_folder(folder)


def test_find_images_folders_recursion_globs_and_files(tmp_path, messy):
    folder, expected = messy
    names = [f.name for f in find_images(folder)]
    assert names == sorted(expected["good"] + expected["bad"])
    assert "sub/plain.npy" not in [f.name for f in find_images(folder, recursive=False)]
    assert [f.name for f in find_images(str(folder / "sub" / "*.npy"))] == ["plain.npy"]
    assert [f.name for f in find_images(str(folder / "**" / "*.npy"))] == [
        "pickled.npy", "sub/plain.npy"]
    # a file given twice (directly and through its folder) is read once
    once = find_images([folder / "grey.png", folder])
    assert len(once) == len(names) and once[0].name == "grey.png"
    with pytest.raises(FileNotFoundError, match="missing"):
        find_images(tmp_path / "missing")
    with pytest.raises(FileNotFoundError, match="matches no file"):
        find_images(str(tmp_path / "*.nothing"))


def test_mixed_grey_rgb_rgba_folder_reads_to_one_kind(messy):
    folder, expected = messy
    for name in expected["good"]:
        grey = read_image(folder / name)
        assert grey.ndim == 2 and grey.dtype in (np.float32, np.float64), name
        assert 0 <= grey.min() and grey.max() <= 1, name
        assert read_image(folder / name, color="channels").shape == grey.shape + (3,)


def test_colour_policies(tmp_path):
    rgba = np.zeros((6, 8, 4), dtype=np.uint8)
    rgba[..., 0], rgba[..., 3] = 255, 0          # red, fully transparent: alpha is dropped
    path = _png(tmp_path / "rgba.png", rgba)
    channels = read_image(path, color="channels")
    np.testing.assert_allclose(channels[..., 0], 1.0, rtol=1e-6)
    np.testing.assert_array_equal(channels[..., 1:], 0)
    np.testing.assert_allclose(read_image(path), 0.2125, rtol=1e-5)   # luminance of red
    with pytest.raises(UnreadableImageError, match="colour") as info:
        read_image(path, color="error")
    assert info.value.stage == "colour" and info.value.path == str(path)
    grey = _png(tmp_path / "grey.png", np.full((6, 8), 51, dtype=np.uint8))
    assert read_image(grey, color="error").shape == (6, 8)
    np.testing.assert_allclose(read_image(grey, color="channels"), 0.2, rtol=1e-6)
    with pytest.raises(ValueError, match="'color' parameter"):
        read_image(grey, color="rgb")
    with pytest.raises(TypeError, match="'color' parameter"):   # the wrong kind of thing
        read_image(grey, color=["gray"])


def test_scaling_of_8_16_bit_float_and_bool(tmp_path):
    np.save(tmp_path / "u8.npy", np.array([[0, 255], [51, 0]], dtype=np.uint8))
    np.save(tmp_path / "u16.npy", np.array([[0, 65535], [13107, 0]], dtype=np.uint16))
    np.save(tmp_path / "f64.npy", np.array([[-3.5, 2.0], [0, 1e6]]))
    np.save(tmp_path / "b.npy", np.eye(2, dtype=bool))
    np.testing.assert_allclose(read_image(tmp_path / "u8.npy"), [[0, 1], [0.2, 0]], rtol=1e-6)
    np.testing.assert_allclose(read_image(tmp_path / "u16.npy"), [[0, 1], [0.2, 0]], rtol=1e-6)
    f = read_image(tmp_path / "f64.npy")
    assert f.dtype == np.float64 and f[1, 1] == 1e6 and f[0, 0] == -3.5    # floats as they are
    np.testing.assert_array_equal(read_image(tmp_path / "b.npy"), np.eye(2))
    png16 = _png(tmp_path / "u16.png", np.array([[0, 65535], [13107, 0]], dtype=np.uint16))
    np.testing.assert_allclose(read_image(png16), [[0, 1], [0.2, 0]], rtol=1e-6)


def test_non_finite_float_image_is_refused_by_read_samples(tmp_path):
    np.save(tmp_path / "nan.npy", np.array([[0.0, np.nan], [1, 2]]))
    with pytest.raises(UnreadableImageError, match="NaN") as info:
        read_image(tmp_path / "nan.npy")
    assert info.value.stage == "validate"


def test_volumes_multi_page_tiff_and_ndim(tmp_path):
    volume = np.random.default_rng(0).random((5, 20, 30)).astype(np.float32)
    tifffile.imwrite(tmp_path / "v.tif", volume)
    assert image_shape(tmp_path / "v.tif") == (5, 20, 30)
    np.testing.assert_array_equal(read_image(tmp_path / "v.tif"), volume)
    with pytest.raises(UnreadableImageError, match="ndim=3"):
        read_image(tmp_path / "v.tif", ndim=2)
    np.save(tmp_path / "deep3.npy", np.zeros((10, 12, 3)))   # colour by default ...
    assert read_image(tmp_path / "deep3.npy").shape == (10, 12)
    with pytest.raises(UnreadableImageError, match="np.moveaxis"):   # read_samples' rule
        read_image(tmp_path / "deep3.npy", ndim=3)
    np.save(tmp_path / "deep5.npy", np.zeros((10, 12, 5)))
    assert read_image(tmp_path / "deep5.npy").shape == (10, 12, 5)     # a volume
    with pytest.raises(UnreadableImageError, match="volume is asked"):
        read_image(_png(tmp_path / "flat.png", np.zeros((8, 8), np.uint8)), ndim=3)


def test_every_bad_file_is_a_named_error(messy):
    folder, expected = messy
    for name in expected["bad"]:
        with pytest.raises(UnreadableImageError) as info:
            read_image(folder / name)
        assert info.value.path == str(folder / name)
        assert info.value.stage in ("header", "read") and info.value.reason, name


def test_pickled_npy_is_refused_never_executed(tmp_path):
    class Boom:
        def __reduce__(self):
            return (open, (str(tmp_path / "executed"), "w"))
    np.save(tmp_path / "evil.npy", np.array([Boom()], dtype=object), allow_pickle=True)
    with pytest.raises(UnreadableImageError, match="never unpickled"):
        read_image(tmp_path / "evil.npy")
    assert not (tmp_path / "executed").exists()


def test_decompression_bomb_refused_from_the_header(tmp_path):
    # 20000 x 20000 zeros compress to a few hundred kB: refused before decoding.
    big = tmp_path / "bomb.png"
    Image.new("L", (20000, 20000)).save(big, optimize=False)
    assert image_shape(big) == (20000, 20000)
    with pytest.raises(UnreadableImageError, match="max_pixels=1000") as info:
        read_image(big, max_pixels=1000)
    assert info.value.stage == "limit"
    assert 20000 * 20000 > MAX_PIXELS
    with pytest.raises(UnreadableImageError, match="limit"):
        read_image(big)
    small = _png(tmp_path / "small.png", np.zeros((10, 10), np.uint8))
    assert read_image(small, max_pixels=100).shape == (10, 10)
    assert read_image(small, max_pixels=None).shape == (10, 10)
    with pytest.raises(ValueError, match="'max_pixels' parameter"):
        read_image(small, max_pixels=0)
    with pytest.raises(TypeError, match="'max_pixels' parameter"):
        read_image(small, max_pixels=1.5e6)


def test_error_pickles_with_its_fields():
    import pickle
    err = pickle.loads(pickle.dumps(UnreadableImageError("a.png", "read", "bad bytes")))
    assert (err.path, err.stage, err.reason) == ("a.png", "read", "bad bytes")
    assert str(err) == "a.png: read: bad bytes"


def test_palette_cmyk_and_grey_alpha_images(tmp_path):
    rng = np.random.default_rng(0)
    rgb = Image.fromarray((rng.random((20, 30, 3)) * 255).astype(np.uint8))
    rgb.convert("P").save(tmp_path / "palette.png")
    rgb.convert("CMYK").save(tmp_path / "cmyk.jpg")
    Image.fromarray((rng.random((20, 30, 2)) * 255).astype(np.uint8), "LA").save(
        tmp_path / "la.png")
    Image.fromarray(rng.random((20, 30)) > 0.5).save(tmp_path / "bits.png")
    for name in ("palette.png", "cmyk.jpg", "la.png", "bits.png"):
        assert image_shape(tmp_path / name)[:2] == (20, 30)
        assert read_image(tmp_path / name).shape == (20, 30), name
        assert read_image(tmp_path / name, color="channels").shape == (20, 30, 3), name
    la = read_image(tmp_path / "la.png", color="error")      # grey + alpha is grey
    assert la.shape == (20, 30)


def test_tiff_colour_planes_and_imagej_stacks(tmp_path):
    # Pages are read by index: colour last whatever the planar configuration.
    rgb = np.random.default_rng(0).integers(0, 255, (3, 20, 30), dtype=np.uint8)
    tifffile.imwrite(tmp_path / "planar.tif", rgb, photometric="rgb", planarconfig="separate")
    assert image_shape(tmp_path / "planar.tif") == (20, 30, 3)
    np.testing.assert_allclose(read_image(tmp_path / "planar.tif", color="channels"),
                               np.moveaxis(rgb, 0, -1) / 255)
    stack = np.random.default_rng(1).random((4, 20, 30)).astype(np.float32)
    tifffile.imwrite(tmp_path / "ij.tif", stack, imagej=True)
    np.testing.assert_array_equal(read_image(tmp_path / "ij.tif"), stack)


# --------------------------------------------------------------------------
# Every bit depth decodes to the written values
# --------------------------------------------------------------------------

def write_png(path, array):
    """A PNG written by hand (8 or 16 bits; grey, grey + alpha, RGB, RGBA), its rows
    filtered with each of PNG's five filters in turn, so a reader's unfiltering counts."""
    import struct
    import zlib
    depth = array.dtype.itemsize * 8
    channels = 1 if array.ndim == 2 else array.shape[2]
    h, w = array.shape[:2]
    raw = array.astype(">u2" if depth == 16 else "u1").reshape(h, -1).view(np.uint8)
    raw = raw.reshape(h, -1).astype(np.int16)
    bpp = channels * depth // 8
    rows, prev = [], np.zeros(raw.shape[1], np.int16)
    for r, cur in enumerate(raw):
        left = np.concatenate([np.zeros(bpp, np.int16), cur[:-bpp]])
        upleft = np.concatenate([np.zeros(bpp, np.int16), prev[:-bpp]])
        p = left + prev - upleft
        pa, pb, pc = abs(p - left), abs(p - prev), abs(p - upleft)
        paeth = np.where((pa <= pb) & (pa <= pc), left, np.where(pb <= pc, prev, upleft))
        pred = [0 * cur, left, prev, (left + prev) // 2, paeth][r % 5]
        rows.append(bytes([r % 5]) + ((cur - pred) % 256).astype(np.uint8).tobytes())
        prev = cur

    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(
            ">I", zlib.crc32(tag + data) & 0xFFFFFFFF)
    header = struct.pack(">IIBBBBB", w, h, depth, {1: 0, 2: 4, 3: 2, 4: 6}[channels], 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
                     + chunk(b"IDAT", zlib.compress(b"".join(rows))) + chunk(b"IEND", b""))
    return path


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_png_of_every_bit_depth_decodes_to_the_written_values(tmp_path, channels, dtype):
    # A 16-bit RGB PNG went through Pillow's 8-bit path (off by up to 1/255).
    shape = (13, 17) if channels == 1 else (13, 17, channels)
    top = np.iinfo(dtype).max
    x = np.random.default_rng(channels).integers(0, top, shape, endpoint=True).astype(dtype)
    path = write_png(tmp_path / "x.png", x)
    assert image_shape(path) == shape
    want = x.astype(np.float32) / top
    if channels > 1:
        want = want[..., 0] if channels == 2 else want[..., :3]   # alpha dropped
    got = read_image(path, color="channels")
    if want.ndim == 2:
        want = np.repeat(want[..., None], 3, axis=-1)
    np.testing.assert_array_equal(got, want)


def test_float_tiff_and_big_endian_npy_decode_to_the_written_values(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.random((6, 7))
    tifffile.imwrite(tmp_path / "f.tif", x.astype(np.float32))
    np.testing.assert_array_equal(read_image(tmp_path / "f.tif"), x.astype(np.float32))
    np.save(tmp_path / "be.npy", x.astype(">f8"))   # was refused as "not real numbers"
    got = read_image(tmp_path / "be.npy")
    assert got.dtype == np.float64 and got.dtype.isnative
    np.testing.assert_array_equal(got, x)
    np.save(tmp_path / "be16.npy", (x * 65535).astype(">u2"))
    np.testing.assert_array_equal(read_image(tmp_path / "be16.npy"),
                                  (x * 65535).astype(np.uint16) / np.float32(65535))


def test_bmp_gif_webp_are_read_through_pillow(tmp_path):
    x = (np.random.default_rng(0).random((12, 10, 3)) * 255).astype(np.uint8)
    for suffix in (".bmp", ".gif", ".webp"):
        Image.fromarray(x).save(tmp_path / f"x{suffix}", **({"lossless": True}
                                                             if suffix == ".webp" else {}))
    assert [f.name for f in find_images(tmp_path)] == ["x.bmp", "x.gif", "x.webp"]
    for suffix in (".bmp", ".webp"):
        np.testing.assert_array_equal(read_image(tmp_path / f"x{suffix}", color="channels"),
                                      x / np.float32(255))
    assert read_image(tmp_path / "x.gif").shape == (12, 10)   # a palette, expanded


def test_out_of_memory_names_the_size_and_the_limit(tmp_path, monkeypatch):
    import featpool.io
    path = write_png(tmp_path / "x.png", np.zeros((30, 40), np.uint8))
    # larger than the machine: refused from the header, before any decoding
    monkeypatch.setattr(featpool.io, "_physical_memory", lambda: 4000)
    with pytest.raises(UnreadableImageError, match=r"limit: out of memory: 1200 pixels "
                       r"\(30x40\) need .* GiB as float32, more than this machine's"):
        read_image(path, max_pixels=None)

    def no_memory(path):
        raise MemoryError()
    monkeypatch.setattr(featpool.io, "_physical_memory", lambda: None)
    monkeypatch.setattr(featpool.io, "_decode", no_memory)   # fits the machine, not the process
    with pytest.raises(UnreadableImageError, match=r"read: out of memory: 1200 pixels "
                       r"\(30x40\) need .* GiB.*max_pixels=None"):
        read_image(path, max_pixels=None)


# --------------------------------------------------------------------------
# Finding files: names, hidden files, links, names that are not UTF-8
# --------------------------------------------------------------------------

def test_names_are_relative_to_the_common_root_of_all_inputs(tmp_path):
    for part in ("train", "test"):
        (tmp_path / part).mkdir()
        np.save(tmp_path / part / "0001.npy", np.zeros((8, 8)))
    found = find_images([tmp_path / "train", tmp_path / "test"])
    assert [f.name for f in found] == ["train/0001.npy", "test/0001.npy"]
    files = [tmp_path / "train" / "0001.npy", str(tmp_path / "test" / "*.npy")]
    assert [f.name for f in find_images(files)] == ["train/0001.npy", "test/0001.npy"]
    # one input: relative to it, as before; the same file twice, once
    assert [f.name for f in find_images(tmp_path / "train")] == ["0001.npy"]
    twice = [tmp_path / "train", tmp_path / "train" / "0001.npy", tmp_path / "train"]
    assert [f.name for f in find_images(twice)] == ["0001.npy"]


def test_hidden_files_are_skipped_and_counted(tmp_path):
    np.save(tmp_path / "a.npy", np.zeros((8, 8)))
    (tmp_path / "._a.npy").write_bytes(b"\x00\x05\x16\x07 AppleDouble")   # macOS
    (tmp_path / ".cache").mkdir()
    np.save(tmp_path / ".cache" / "b.npy", np.zeros((8, 8)))
    (tmp_path / "notes.txt").write_text("not an image")
    skipped = {}
    assert [f.name for f in find_images(tmp_path, skipped=skipped)] == ["a.npy"]
    assert skipped == {"hidden": 2, "other": 1}
    assert [f.name for f in find_images(tmp_path, hidden=True)] == [
        "._a.npy", ".cache/b.npy", "a.npy"]


def test_symlinked_folders_are_followed_once(tmp_path):
    data = tmp_path / "data"
    (data / "real").mkdir(parents=True)
    np.save(data / "real" / "a.npy", np.zeros((8, 8)))
    other = tmp_path / "elsewhere"
    other.mkdir()
    np.save(other / "b.npy", np.zeros((8, 8)))
    (data / "linked").symlink_to(other, target_is_directory=True)
    (data / "real" / "loop").symlink_to(data, target_is_directory=True)   # a cycle
    (data / "again").symlink_to(data / "real", target_is_directory=True)  # a second way
    # each folder once, under its first name in sorted order; the cycle is not entered
    assert [f.name for f in find_images(data)] == ["again/a.npy", "linked/b.npy"]


def test_names_that_are_not_utf8_are_escaped_losslessly(tmp_path):
    import codecs
    import os
    raw = os.fsencode(tmp_path) + b"/caf\xe9 \\ x.npy"
    try:
        np.save(os.fsdecode(raw), np.zeros((8, 8)))
    except (OSError, UnicodeEncodeError):
        pytest.skip("the file system refuses names that are not UTF-8")
    (found,) = find_images(tmp_path)
    assert found.name == "caf\\xe9 \\\\ x.npy"
    found.name.encode("utf-8")   # valid text
    assert codecs.escape_decode(found.name.encode())[0] == b"caf\xe9 \\ x.npy"
    assert read_image(found.path).shape == (8, 8)


def _pillow_shape(path):
    import featpool.io
    with featpool.io._pil_open(path) as image:
        return featpool.io._pil_shape(image)


def test_png_header_from_its_first_bytes_is_the_shape_pillow_reads(tmp_path):
    # image_shape reads a PNG's IHDR itself (cheap for folders of small images): the
    # same shape as Pillow's route, for every colour type and bit depth.
    import featpool.io
    rng = np.random.default_rng(0)
    paths = [write_png(tmp_path / f"w{c}_{d.__name__}.png",
                       rng.integers(0, 200, (5, 7) + ((c,) if c > 1 else ())).astype(d))
             for c in (1, 2, 3, 4) for d in (np.uint8, np.uint16)]
    for mode in ("1", "L", "LA", "RGB", "RGBA", "P", "I;16"):
        image = Image.new(mode, (7, 5))
        paths.append(tmp_path / f"{mode.replace(';', '')}.png")
        image.save(paths[-1], **({"transparency": 0} if mode == "P" else {}))
    Image.new("P", (7, 5)).save(tmp_path / "p_opaque.png")
    Image.new("L", (7, 5)).save(tmp_path / "interlaced.png", interlace=1)
    paths += [tmp_path / "p_opaque.png", tmp_path / "interlaced.png"]
    for path in paths:
        fast = featpool.io._png_shape(path)
        assert (fast is None) == path.name.startswith(("P", "p_")), path.name  # palettes
        assert image_shape(path) == _pillow_shape(path), path.name
        if fast is not None:
            assert fast == _pillow_shape(path), path.name
    assert image_shape(tmp_path / "P.png") == (5, 7, 4)   # transparency: RGBA
    # a damaged IHDR (its CRC) or another format under a .png name: Pillow decides
    good = (tmp_path / "interlaced.png").read_bytes()
    (tmp_path / "bad_crc.png").write_bytes(good[:20] + b"\xff" + good[21:])
    assert featpool.io._png_shape(tmp_path / "bad_crc.png") is None
    with pytest.raises(UnreadableImageError) as info:
        image_shape(tmp_path / "bad_crc.png")
    assert info.value.stage == "header"
    Image.new("L", (7, 5)).save(tmp_path / "jpeg.png", format="JPEG")
    assert featpool.io._png_shape(tmp_path / "jpeg.png") is None
    assert image_shape(tmp_path / "jpeg.png") == (5, 7)
