"""Fuzzing the file readers and the config parser with mutated bytes (hypothesis).

Mutated PNG, TIFF and NPY files go through :func:`featpool.io.read_image`,
mutated TOML configurations through :func:`featpool.cli.load_config` (what
``--config`` runs): the only errors allowed are :class:`UnreadableImageError`
and :class:`ConfigError`; a crash or a hang fails. The budget is fixed and
the examples derandomized so CI is reproducible (about 30 s in all);
``FEATPOOL_FUZZ_EXAMPLES=20000 pytest tests/test_fuzz_files.py`` runs a
longer campaign.
"""
import io
import os

import numpy as np
import pytest
import tifffile
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from featpool.cli import ConfigError, load_config
from featpool.io import UnreadableImageError, read_image

EXAMPLES = int(os.environ.get("FEATPOOL_FUZZ_EXAMPLES", "400"))
FUZZ = settings(derandomize=True, max_examples=EXAMPLES, deadline=5000, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])


def _seed_files():
    rng = np.random.default_rng(0)
    grey = (rng.random((24, 20)) * 255).astype(np.uint8)
    files = {}
    buf = io.BytesIO()
    Image.fromarray(grey).save(buf, format="PNG")
    files["png"] = buf.getvalue()
    buf = io.BytesIO()
    Image.fromarray(np.stack([grey] * 3, axis=-1)).save(buf, format="JPEG")
    files["jpg"] = buf.getvalue()
    buf = io.BytesIO()
    tifffile.imwrite(buf, rng.random((3, 16, 12)).astype(np.float32), compression="zlib",
                     photometric="minisblack")
    files["tif"] = buf.getvalue()
    buf = io.BytesIO()
    np.save(buf, (rng.random((16, 12)) * 65535).astype(np.uint16))
    files["npy"] = buf.getvalue()
    return files


SEEDS = _seed_files()
CONFIG = (b'bank = "gabor"\nn_scales = 3\nn_orientations = 6\nlevels = [1, 2, 4]\n'
          b'pooling = ["mean", {op = "lp", levels = [1, 2], p = 3.0}]\n'
          b'normalization = "power"\nmode = "wrap"\ndtype = "float32"\n'
          b'bank_params = {bandwidth = 1.0}\n')


@st.composite
def mutated(draw, seed):
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 8))):
        kind = draw(st.sampled_from(["flip", "set", "cut", "insert", "truncate"]))
        if not data:
            break
        i = draw(st.integers(0, len(data) - 1))
        if kind == "flip":
            data[i] ^= 1 << draw(st.integers(0, 7))
        elif kind == "set":
            data[i] = draw(st.sampled_from([0, 1, 0x7F, 0x80, 0xFF]))
        elif kind == "cut":
            del data[i:i + draw(st.integers(1, 64))]
        elif kind == "insert":
            data[i:i] = draw(st.binary(min_size=1, max_size=16))
        else:
            del data[i:]
    return bytes(data)


def _read(tmp_path, suffix, data, **kwargs):
    path = tmp_path / f"fuzz.{suffix}"
    path.write_bytes(data)
    try:
        image = read_image(path, max_pixels=1_000_000, **kwargs)
    except UnreadableImageError as exc:
        assert exc.path == str(path) and exc.stage and exc.reason
        return
    assert np.isfinite(image).all() and image.dtype in (np.float32, np.float64)


@pytest.mark.parametrize("suffix", sorted(SEEDS))
def test_seeds_read(tmp_path, suffix):
    path = tmp_path / f"seed.{suffix}"
    path.write_bytes(SEEDS[suffix])
    assert read_image(path).size > 0


@FUZZ
@given(data=mutated(SEEDS["png"]))
def test_fuzz_png(tmp_path, data):
    _read(tmp_path, "png", data)


@FUZZ
@given(data=mutated(SEEDS["jpg"]))
def test_fuzz_jpeg(tmp_path, data):
    _read(tmp_path, "jpg", data, color="channels")


@FUZZ
@given(data=mutated(SEEDS["tif"]))
def test_fuzz_tiff(tmp_path, data):
    _read(tmp_path, "tif", data)


@FUZZ
@given(data=mutated(SEEDS["npy"]))
def test_fuzz_npy(tmp_path, data):
    _read(tmp_path, "npy", data)


def test_seed_config_loads(tmp_path):
    (tmp_path / "c.toml").write_bytes(CONFIG)
    assert load_config(tmp_path / "c.toml")["n_scales"] == 3


@FUZZ
@given(data=mutated(CONFIG))
def test_fuzz_config(tmp_path, data):
    path = tmp_path / "c.toml"
    path.write_bytes(data)
    try:
        params = load_config(path)
    except ConfigError as exc:
        assert str(path) in str(exc)
        return
    assert isinstance(params, dict)
