"""Tests for featpool/_config.py and the thread-count helper it reports."""
import os

import numpy as np
import pytest

import featpool
from featpool._openmp_helpers import _effective_n_threads

KEYS = {"featpool", "openmp", "n_threads", "cpu_count", "numpy", "python", "omp_wait_policy"}


def test_show_config_keys_and_values():
    config = featpool.show_config(print_out=False)
    assert set(config) == KEYS
    assert config["featpool"] == featpool.__version__
    assert config["numpy"] == np.__version__
    assert isinstance(config["openmp"], bool)
    assert isinstance(config["n_threads"], int) and config["n_threads"] >= 1
    assert isinstance(config["cpu_count"], int) and config["cpu_count"] >= 1
    assert config["n_threads"] == _effective_n_threads(None)
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
    default = _effective_n_threads(None)
    assert isinstance(default, int) and default >= 1
    assert _effective_n_threads(-1) == default
    assert _effective_n_threads(-10_000) == 1
    assert _effective_n_threads(np.int64(-1)) == default
    if featpool.show_config(print_out=False)["openmp"]:
        assert _effective_n_threads(3) == 3
        assert _effective_n_threads(-2) == max(default - 1, 1)
    else:
        assert _effective_n_threads(3) == 1


@pytest.mark.parametrize("n_threads, exc", [
    (0, ValueError), (np.int32(0), ValueError), ("2", TypeError), (2.0, TypeError),
    (True, TypeError),
])
def test_effective_n_threads_rejects(n_threads, exc):
    with pytest.raises(exc, match="'n_threads'"):
        _effective_n_threads(n_threads)


def test_n_threads_follows_threadpoolctl():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    if not featpool.show_config(print_out=False)["openmp"]:
        pytest.skip("built without OpenMP")
    with threadpoolctl.threadpool_limits(limits=1, user_api="openmp"):
        assert _effective_n_threads(None) == 1
        assert featpool.show_config(print_out=False)["n_threads"] == 1
