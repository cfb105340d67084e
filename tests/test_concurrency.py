"""Threads and processes: the kernels release the GIL, one fitted estimator
serves concurrent ``transform`` calls, and a process forked after OpenMP ran
does not deadlock. No absolute timings: progress is measured as ratios.
"""
import subprocess
import sys
import textwrap
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from numpy.testing import assert_array_equal

import featpool


def _iterations_while(busy):
    """Iterations of a pure-Python loop while ``busy()`` runs in another thread,
    and the same loop's iterations in as much time alone."""
    running = threading.Event()
    done = threading.Event()

    def work():
        running.set()
        busy()
        done.set()

    thread = threading.Thread(target=work)
    thread.start()
    running.wait()
    start, during = time.perf_counter(), 0
    while not done.is_set():
        during += 1
    elapsed = time.perf_counter() - start
    thread.join()
    start, alone = time.perf_counter(), 0
    while time.perf_counter() - start < elapsed:
        alone += 1
    return during, alone


def test_kernel_releases_the_gil():
    """A Python thread keeps running while another is inside the pooling kernel.

    Holding the GIL, the kernel would stop it for the whole call (it gets
    the GIL back only between calls): a ratio near 0. Released, the loop runs
    at a good fraction of its speed alone (less only as far as the machine's
    cores are shared).
    """
    x = np.random.default_rng(0).random((4, 768, 768))

    def busy():
        for _ in range(3):
            featpool.pool2d(x, 7, stride=1, op="std", n_threads=1)

    during, alone = _iterations_while(busy)
    assert during > 0.1 * alone, (during, alone)


def test_concurrent_transform_equals_sequential():
    rng = np.random.default_rng(1)
    train = rng.random((4, 24, 24))
    batches = [rng.random((3, 24, 24)) for _ in range(6)]
    model = featpool.FilterBankPooling(n_scales=2, n_orientations=4, pooling="mean",
                                       levels=(1, 2)).fit(train)
    sequential = [model.transform(b) for b in batches]
    with ThreadPoolExecutor(max_workers=4) as pool:
        concurrent = list(pool.map(model.transform, batches))
    for a, b in zip(sequential, concurrent):
        assert_array_equal(a, b)


@pytest.mark.parametrize("start_method", ["fork"])
def test_fork_after_openmp_does_not_deadlock(start_method, tmp_path):
    """GNU OpenMP's threads do not survive fork(): a child forked after the
    parent ran a parallel kernel must still finish (it runs on one thread)."""
    if sys.platform == "win32":
        pytest.skip("no fork on Windows")
    script = textwrap.dedent(f"""
        import multiprocessing
        import numpy as np
        import featpool

        def work(seed):
            x = np.random.default_rng(seed).random((4, 256, 256))
            return float(featpool.pool2d(x, 3, stride=1, op="mean", n_threads=2).sum())

        if __name__ == "__main__":
            x = np.random.default_rng(0).random((8, 512, 512))
            featpool.pool2d(x, 3, stride=1, op="max", n_threads=2)  # OpenMP threads exist now
            with multiprocessing.get_context("{start_method}").Pool(2) as pool:
                got = pool.map(work, range(4))
            assert got == [work(s) for s in range(4)], got
            print("ok")
    """)
    path = tmp_path / "fork_after_openmp.py"   # a file: forkserver children import it
    path.write_text(script)
    result = subprocess.run([sys.executable, str(path)], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr
