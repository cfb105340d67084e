"""Tests for featpool/_config.py: configuration, memory budget, thread counts, build report."""
import os
import threading
import tracemalloc

import numpy as np
import pytest

import featpool
from featpool._config import effective_n_threads
from featpool._openmp_helpers import _cpu_count

KEYS = {"featpool", "openmp", "n_threads", "cpu_count", "numpy", "python", "omp_wait_policy",
        "working_memory"}
OPENMP = featpool.show_config(print_out=False)["openmp"]


def test_show_config_keys_and_values():
    config = featpool.show_config(print_out=False)
    assert set(config) == KEYS
    assert config["featpool"] == featpool.__version__
    assert config["numpy"] == np.__version__
    assert isinstance(config["openmp"], bool)
    assert isinstance(config["n_threads"], int) and config["n_threads"] >= 1
    assert isinstance(config["cpu_count"], int) and config["cpu_count"] >= 1
    assert config["n_threads"] == effective_n_threads(None)
    assert config["working_memory"] == featpool.get_config()["working_memory"]
    if config["openmp"]:
        assert config["n_threads"] <= config["cpu_count"]
    else:
        assert config["n_threads"] == 1


def test_show_config_prints(capsys):
    config = featpool.show_config()
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(KEYS)
    for key, line in zip(config, lines):
        assert line.split(":", 1)[0].strip() == key
        assert line.split(":", 1)[1].strip() == str(config[key])
    featpool.show_config(print_out=False)
    assert capsys.readouterr().out == ""


@pytest.mark.skipif(os.environ.get("FEATPOOL_SKIP_OPENMP_TEST") == "1",
                    reason="FEATPOOL_SKIP_OPENMP_TEST=1: a build without OpenMP is expected")
def test_openmp_is_built_in():
    # A build that silently lost OpenMP would still pass every other test.
    assert featpool.show_config(print_out=False)["openmp"] is True


def test_effective_n_threads():
    default = effective_n_threads(None)
    cpus = _cpu_count()
    assert isinstance(default, int) and 1 <= default <= cpus
    if OPENMP:
        assert effective_n_threads(-1) == cpus
        assert effective_n_threads(1) == 1
        assert effective_n_threads(-2) == max(cpus - 1, 1)
        assert effective_n_threads(np.int64(-1)) == cpus
    else:
        assert effective_n_threads(3) == 1


@pytest.mark.parametrize("n_threads", [10**6, 2**62, 2**200, -(2**62), np.int64(2**62)])
def test_effective_n_threads_caps_at_the_cpus(n_threads):
    count = effective_n_threads(n_threads)
    assert 1 <= count <= _cpu_count()


@pytest.mark.parametrize("n_threads, exc", [
    (0, ValueError), (np.int32(0), ValueError), ("2", TypeError), (2.0, TypeError),
    (True, TypeError), (2.5, TypeError),
])
def test_effective_n_threads_rejects(n_threads, exc):
    with pytest.raises(exc, match="'n_threads'"):
        effective_n_threads(n_threads)


@pytest.mark.parametrize("n_threads", [10**6, 2**62])
def test_huge_n_threads_everywhere(n_threads):
    # Once these started a million OpenMP threads, crashed or overflowed.
    rng = np.random.default_rng(0)
    images = rng.random((2, 16, 16))
    expected = featpool.FilterBankPooling(levels=(1,)).fit_transform(images)
    got = featpool.FilterBankPooling(levels=(1,), n_threads=n_threads).fit_transform(images)
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(featpool.pool2d(images, 2, n_threads=n_threads),
                                  featpool.pool2d(images, 2))
    bank = featpool.gabor_bank((16, 16), n_scales=1, n_orientations=2)
    np.testing.assert_array_equal(featpool.filter_pool(images, bank, n_threads=n_threads),
                                  featpool.filter_pool(images, bank))
    maps = rng.random((2, 3, 8, 8))
    np.testing.assert_array_equal(
        featpool.SpatialPooling(n_threads=n_threads).fit_transform(maps),
        featpool.SpatialPooling().fit_transform(maps))


def test_n_threads_follows_threadpoolctl():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    if not OPENMP:
        pytest.skip("built without OpenMP")
    with threadpoolctl.threadpool_limits(limits=1, user_api="openmp"):
        assert effective_n_threads(None) == 1
        assert featpool.show_config(print_out=False)["n_threads"] == 1


def test_config_context_sets_and_restores():
    before = featpool.get_config()
    with featpool.config_context(working_memory=16, n_threads=1):
        assert featpool.get_config() == {"working_memory": 16, "n_threads": 1}
        assert effective_n_threads(None) == 1
        with featpool.config_context(working_memory=8):
            assert featpool.get_config()["working_memory"] == 8
            assert featpool.get_config()["n_threads"] == 1
        assert featpool.get_config()["working_memory"] == 16
    assert featpool.get_config() == before


def test_config_context_restores_after_an_error():
    before = featpool.get_config()
    with pytest.raises(RuntimeError):
        with featpool.config_context(working_memory=4):
            raise RuntimeError
    assert featpool.get_config() == before


def test_config_is_per_thread():
    seen = {}

    def other():
        seen["config"] = featpool.get_config()

    with featpool.config_context(working_memory=8):
        thread = threading.Thread(target=other)
        thread.start()
        thread.join()
    assert seen["config"]["working_memory"] == 256


def test_get_config_is_a_copy():
    featpool.get_config()["working_memory"] = 1
    assert featpool.get_config()["working_memory"] == 256


@pytest.mark.parametrize("kwargs, exc", [
    ({"working_memory": 0}, ValueError), ({"working_memory": -5}, ValueError),
    ({"working_memory": float("nan")}, ValueError), ({"working_memory": "64"}, ValueError),
    ({"working_memory": float("inf")}, ValueError), ({"n_threads": 0}, ValueError),
    ({"n_threads": 1.5}, TypeError),
])
def test_set_config_rejects(kwargs, exc):
    with pytest.raises(exc, match=repr(next(iter(kwargs)))[1:-1]):
        featpool.set_config(**kwargs)
    assert featpool.get_config() == {"working_memory": 256, "n_threads": None}


def _peak_mib(func):
    tracemalloc.start()
    try:
        func()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def test_peak_memory_follows_working_memory():
    # 40 images of 256x256, a 24-filter bank: the chunk sizes come from the budget.
    images = np.random.default_rng(0).random((40, 256, 256)).astype(np.float32)
    model = featpool.FilterBankPooling(levels=(1, 2), mode="reflect").fit(images[:1])
    model.transform(images[:2])  # build and cache the banks outside the measurement
    peaks = {}
    for budget in (16, 256):
        with featpool.config_context(working_memory=budget):
            peaks[budget] = _peak_mib(lambda: model.transform(images))
    # Inputs: 10 MiB; the output is small. A 16 MiB budget holds a few MiB of
    # work arrays at once, 256 MiB much more.
    assert peaks[16] < 16 + 10, peaks
    assert peaks[256] > 2 * peaks[16], peaks
    with featpool.config_context(working_memory=16):
        small = model.transform(images)
    np.testing.assert_allclose(small, model.transform(images), rtol=1e-5, atol=1e-6)
