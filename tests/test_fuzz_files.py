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


# Found by a longer campaign: a 2.7 kB mutated TIFF on which tifffile's header
# parsing (image_shape) runs for more than 20 s. Known, not yet fixed: the fix
# is a per-image time limit in the workers (see the command's docs).
STUCK_TIFF = (
    "SUkqAAgAAAAPAAABBAABAAAADAAAAAEBBAABAAAAEAAAAAIBAwABAAAAIAAAAAMBAwABAAAACAAAAAYBAwABAAAAAQAA"
    "AA4BAgAXAAAAwgAAABEBBAABAAAAEAEAABUBAwABAAAAAQAAABYBBAABAAAAEAAAABcBBAABAAAA5AIAABoBBQABAAAA"
    "6AAAABsBBQABAAAA8AAAACgBAwABAAAAAQAAADEBAgAMAAAA+AAAAFMBAwABAAAAAwAAAPQDAAB7InNoYXABAAAAAQAA"
    "AHRpZmZmaWxlLnB5AAAAAAAAAAAAAAAAAHicBcELLNQBAAfg5hwlFU5OunaVJoQ0Cd39f7/KchU96KWHV5wihzakhl7X"
    "Y42JDZdeY0n0WLXIrSdKTaVaIXpIFi2Pi1svTfo+vqqB7zUJfeTmXPe9CmIPR9qPujG8dyIPBzbAvkbOwSNSDuAqXIVT"
    "8Koez8Q6GZeHyRgqeojcFivGbsngWKd3ePliI8flXBB+TIzkRckuWkiOwHRpgLIz6Bf67BV4fSedeS/UnDmQyvlFDszp"
    "FHHUbT1Dx8xmz+EsRLgncfn0TjwxD2C6MIZ3axXQHypCoaWEjkk2qLWNUv5z+ogtcn/G+U2j9mcZHM74cKXNb4R07KOo"
    "MoD+59dR16XFAuNUrLULQnPwB8yXiXhZpUJapYoHgsO542kJ9lmZ0OBsz8f9vhSLpFjflIvsSQpOSLVm27ZYXl/5Bblz"
    "X0I7cBqGvgSc0zmxT3sU0ntbqck/jqAoN2pTrHnl83SOW6hmirUHGDcFHeV/BKvs00JY/VhqqlyQW7qKNX56Zcaz+2hU"
    "DUGnD8NGv2okO8agIfAEElQamuiaIT3xCAOpMnqJXfnZ3IWywitC3i9bZqqVDK8MpEelHYduimG5/5IQuL0MWSka9g8P"
    "4rGgpnZzLxJWL2bRtt84pPFmiLoUC5qi2WVxDKOxjYqQs740ervzhqszE4fnMm6yHSOkfYJhzRwm+r5VuCoUiMxsRam+"
    "FibnjIJncTuiyuTsWlILv0hvtqYlwBAgQfct8uG8Odzb8g56S0u497jQYYQs+DQbtmmetLKrhs/SeH6NWcQsp2xkzUxm"
    "/80m5cElAuKrdqM4TkHjDTOeqevHk45ovClfzIxmg2CqykSJZhWvG7oxYxx4Ur6CZd1Ec08JznY8wFXzEXj1DGJWTgjf"
    "h87D3+FNPK6Lpr6iWLBun6Ks6SrATo/niEhK52XkC+dEy9gdb0TeiCk6E2/joLgeNjv3oK26EMWjLajfkMYGwzf8B/dC"
    "O9INAAABBAABAAAADAAAAAEBBAABAAAAEAAAAAIBAwABAAAAIAAAAAMBAwABAAAACAAAAAYBAwABAAAAAQAAABEBBAAB"
    "AAAAsAQAABUBAwABAAAAAQAAABYBBAABAAAAEAAAABcBBAABAAAA5AIAABoBBQABAAAAlgQAABsBBQABAAAAngQAACgB"
    "AwABAAAAAQAAAFMBAwABAAAAAwAAAJQHAAABAAAAAQAAAAEAAAABAAAAAAAAAAAAAAAAAHicDdDtT8wBAAfwRDWU0ikZ"
    "nZLy0EinpXa/3/dbjhxdS2W5K5qorqTISQ93RYlWehHLaZUXNlGaDJGxTOfhxXmspVHkyAvESbFZVPr8CR9HQcdU6ZjQ"
    "lVIuBgwMChr9SraWJSOiWkLPc5EsG2zGh9N6JLeF0tI0ipNmD2S53xBt2wX+U+zgI+seBp6uWiiDPiNOksDtOj/2p1RB"
    "djycM0YGkGnU06u0H0dj42kfli1o3q1jkt1T+BVPYqI2Enm/snhvvwq+D53ZOOTBUVMih6xWdOq20V1qT033ITbo1vHu"
    "kQxWIofTdkWxt35M3NczIdqZPFnXX4mrskeYbiPDVU8Fd95P4PC4AyKjZ3AJzTiILSyQWBHlLmfANxfmZxfSjIsn5ml4"
    "YUUZgkOKEGDeyMKP4WyuVrPEOhsvksnOqmEE9l1ExF85VYlq1ixoxLcTUji9L+LMrZl0TqtBbtFWul1rFxsaMtgQHUGD"
    "cTNiU85CediDA7630F0g0KNxPmMn4+CzZhHnqdOEWW8/ic0SX9DtJly8FULmnGz2hufC51QlArfdR3jPAV72bsPBjrcY"
    "eVUL2VABTz2/gxa3FrEiZzn3Td3tMt5DQq4a6RVdqHpmwZ8nxcyceh4clTLrdAT8F66hKWo9M1LrRGeVCbXqSzA7uPLI"
    "6mW83RGKoLxhtE8UMfVdiWAZ6cA0/xbUNL2A/lgSj2dYkDZ3N2viJSzWvsH7VSXY8TqWcV+X0hyjwdpAO7jm2ODn7XTG"
    "VzzHtckY6oJT2fdAC+NeO9H+cgh+fNjIqnKD8HuvC/f3K2BRbODdA79RUu3I+lAjmh5+gY8oF1uFaL6JSWfplTAGmQEA"
    "AAAMAAAAAQEEAAEAAAAQAAAAAgEDAAEAAAAgAAAAAwEDAAEAAAAIAAAABgEDAAEAAAABAAAAEQEEAAEAAABQCAAAFQED"
    "AAEAAAABAAAAFgEEAAEAAAAQAAAAFwEEAAEAAADoAgAAGgEFAAEAAACWBAAAGwEFAAEAAACeBAAAKAEDAAEAAAABAAAA"
    "UwEDAAEAAAADAAAAAAAAAAEAAAABAAAAAQAAAAEAAAAAAAAAAAAAAAAAeJwFwQ0s1HEcB+AYeeeEUUyaykX7R0ndut/3"
    "QzotOuTY5eidUimn5m2zXjix3jjkLS8tmUVESiVaqeyWUllTk7xU1/WyrhcuFOp5ogd2wuHDDiiazNHa6Q13Jw3FeIhR"
    "lhKBiSp/6E+l0uxylTAgk4+teb20XhuDCedo/Kk2RrTvfUo/4QO/0pWwr+Mw77IUbt02OOBoAPtwA7DCXejpukNPsqVI"
    "9NWDZ1cjmxhW0zX7c5TmagTFIRm8HqyiS6GjNOhsh19zRBh8L0f1mDmWfN+PpE1XKLnOH5mZ/qhysUC9zovy2x9RyJdC"
    "ispKwR/DRbjeGge/i8VkXPmGQmGN75U3KKztM3nGz8X0TY2w7W8D8VLjBEutxklb4whV4l1WokmhuF4xmp2kmFR00bg8"
    "FOHqM5TxwBvm1WaoDx+hMnM+CmOihAXSxWQkLyKZgENftzekARzOZqyD9utFtmHgNQuakEHe0kqqY9bIVc+CLt4FrKiC"
    "TfJEiG6bYrkHOeSrn9ItkymaP+YBm7EOeqwUMmVfMtx6DOE1zfBD3xizXm1C00kedHv+smnJQmjfedK//jBYyjiIi+WQ"
    "my0AX7mblBcsMZgvQij5QOF3lRweuaH7QAJaQ5ZBa9lOSW57wQ1JIPkmQ+2zfqbQFNILUSCULafJdbSIZX3hoCvfCHXg"
    "QgTnNlGw2ArlgU3CElMewqRR2N5fxRLXPiSTXj7F5nWSq3OEUPRJgjKbGar1HKLVVvNw+HwkXFzO0dR4DsnbAllybA7Z"
    "lmWzNQJ3du+oBXwgpATbEvaiYR9axA5U49PJoo6kIvKuOwy6BXDleEjn57F1WVJ8NOqjUz9VlHHWlF4OadjnZkNwpdYo"
    "UBmgQ+cEatiOfBs91MzvpKNbMknPsYIslFY4URGEyv4R2v17MSuo96WR2ttsur6OQlYsg53AHsuPL0HzvU9U+XKYDTQW"
    "U3CPPuJOz9C2jDQaD5AAb97S84TN+A9QFUK2"
)


def test_mutated_tiff_header_is_read_within_seconds(tmp_path):
    import base64
    import subprocess
    import sys
    path = tmp_path / "stuck.tif"
    path.write_bytes(base64.b64decode(STUCK_TIFF))
    # A circular chain of pages kept tifffile's series busy for minutes.
    code = ("import sys; from featpool.io import image_shape, read_image; "
            "print(image_shape(sys.argv[1])); print(read_image(sys.argv[1]).shape)")
    try:
        from test_cli import _env
        run = subprocess.run([sys.executable, "-c", code, str(path)], timeout=20,
                             capture_output=True, text=True, env=_env(), cwd=tmp_path)
    except subprocess.TimeoutExpired:
        pytest.fail("reading the file ran for more than 20 s")
    # Its header is read; its pixels are not (a corrupt deflate stream): a named error.
    assert run.stdout.splitlines()[0] == "(16, 12)", run.stderr
    assert "UnreadableImageError" in run.stderr and "stuck.tif: read:" in run.stderr
