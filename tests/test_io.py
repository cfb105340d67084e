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
