"""Pooling speed, side by side with its peers in one process.

Every figure is a ratio measured in the same run (medians over repeats), as
the machines this runs on are shared and noisy:

* ``copy``: the time ``np.copyto`` takes to copy the input once (the memory
  roofline: a pooling pass must at least read the input);
* PyTorch CPU ``max_pool*d`` / ``avg_pool*d`` (if torch is installed);
* NumPy: reshape-reduce for non-overlapping windows, ``sliding_window_view``
  otherwise;
* ``skimage.measure.block_reduce`` (non-overlapping windows only);
* ``scipy.ndimage.maximum_filter`` / ``uniform_filter`` then subsampling.

Run::

    python benchmarks/bench_pooling.py            # the sizes of the issue
    python benchmarks/bench_pooling.py --quick    # small sizes, a smoke test
"""
import argparse
import time

import numpy as np
from scipy import ndimage
from skimage.measure import block_reduce

import featpool

from _common import median_time, peak_memory
from _peers import import_torch

torch, F = import_torch()  # torch is a bench extra, not a dependency


def numpy_pool(x, nd, k, s, op):
    """The plain NumPy way: reshape-reduce, or a sliding window view."""
    reduce = np.max if op == "max" else np.mean
    axes = tuple(range(-nd, 0))
    if k == s:
        spatial = x.shape[-nd:]
        trimmed = x[(...,) + tuple(slice(0, n - n % k) for n in spatial)]
        shape = x.shape[:-nd] + sum(((n // k, k) for n in spatial), ())
        return reduce(trimmed.reshape(shape), axis=tuple(range(-2 * nd + 1, 0, 2)))
    view = np.lib.stride_tricks.sliding_window_view(x, (k,) * nd, axis=axes)
    view = view[(...,) + (slice(None, None, s),) * nd + (slice(None),) * nd]
    return reduce(view, axis=tuple(range(-nd, 0)))


def ndimage_pool(x, nd, k, s, op):
    """scipy.ndimage filter over the window, then keep every s-th window."""
    filt = ndimage.maximum_filter if op == "max" else ndimage.uniform_filter
    y = filt(x, size=(1,) * (x.ndim - nd) + (k,) * nd)
    # A size-k filter centred at c covers c - k//2 .. c - k//2 + k - 1.
    n_out = [(n - k) // s + 1 for n in x.shape[-nd:]]
    return y[(...,) + tuple(slice(k // 2, k // 2 + m * s, s) for m in n_out)]


def torch_pool(tx, nd, k, s, op):
    if op == "max":
        return (F.max_pool2d if nd == 2 else F.max_pool3d)(tx, k, s)
    return (F.avg_pool2d if nd == 2 else F.avg_pool3d)(tx, k, s)


def interleaved(funcs, repeats):
    """Seconds of each function in ``repeats`` rounds that call them in turn (after
    one warm-up call each), so that a busy spell of a shared machine hits all."""
    for func in funcs.values():
        func()
    times = {name: [] for name in funcs}
    for _ in range(repeats):
        for name, func in funcs.items():
            start = time.perf_counter()
            func()
            times[name].append(time.perf_counter() - start)
    return {name: np.array(t) for name, t in times.items()}


def run_case(x, nd, op, k, s, repeats, n_threads, peers):
    """Times of featpool and its peers; featpool's ratios to the copy and to torch
    are medians of the ratios within each round."""
    pool = featpool.pool2d if nd == 2 else featpool.pool3d
    ours = pool(x, k, s, op=op, n_threads=n_threads)
    buf = np.empty_like(x)
    funcs = {"featpool": lambda: pool(x, k, s, op=op, n_threads=n_threads),
             "copy": lambda: np.copyto(buf, x)}
    if torch is not None:
        tx = torch.from_numpy(x).unsqueeze(0)
        ref = torch_pool(tx, nd, k, s, op).numpy()[0]
        assert np.allclose(ref, ours, rtol=1e-5), "featpool and torch disagree"
        funcs["torch"] = lambda: torch_pool(tx, nd, k, s, op)
    times = interleaved(funcs, repeats)
    row = {name: float(np.median(t)) for name, t in times.items()}
    row["case"] = f"{nd}D {op} {k}/{s}"
    row["peak_MiB"] = peak_memory(funcs["featpool"]) / 2**20
    row["x copy"] = float(np.median(times["featpool"] / times["copy"]))
    if torch is not None:
        row["÷ torch"] = float(np.median(times["torch"] / times["featpool"]))
    if "numpy" in peers:
        ref = numpy_pool(x, nd, k, s, op)
        assert np.allclose(ref, ours, rtol=1e-5), "featpool and numpy disagree"
        row["numpy"] = median_time(lambda: numpy_pool(x, nd, k, s, op), max(1, repeats // 3))
    if k == s and "block_reduce" in peers:
        func = np.max if op == "max" else np.mean
        block = (1,) * (x.ndim - nd) + (k,) * nd
        row["block_reduce"] = median_time(lambda: block_reduce(x, block, func), max(1, repeats // 3))
    if "ndimage" in peers:
        ref = ndimage_pool(x, nd, k, s, op)
        assert np.allclose(ref, ours, rtol=1e-4), "featpool and ndimage disagree"
        row["ndimage"] = median_time(lambda: ndimage_pool(x, nd, k, s, op), max(1, repeats // 3))
    return row


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small inputs (smoke test)")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--n-threads", type=int, default=None,
                        help="featpool and torch threads (default: all allowed cores)")
    parser.add_argument("--peers", default="numpy,block_reduce,ndimage",
                        help="comma-separated peers besides torch and copy")
    args = parser.parse_args(argv)
    peers = set(args.peers.split(",")) if args.peers else set()

    rng = np.random.default_rng(0)
    if args.quick:
        shape2, shape3, repeats = (2, 64, 64), (2, 16, 16, 16), args.repeats or 3
    else:
        shape2, shape3, repeats = (16, 1024, 1024), (4, 128, 128, 128), args.repeats or 9
    x2 = rng.random(shape2, dtype=np.float32)
    x3 = rng.random(shape3, dtype=np.float32)
    n_threads = featpool.show_config(print_out=False)["n_threads"]
    if args.n_threads is not None:
        n_threads = args.n_threads
    if torch is not None:
        torch.set_num_threads(n_threads)

    cases = [(x2, 2, "max", 2, 2), (x2, 2, "mean", 2, 2), (x2, 2, "max", 3, 2),
             (x2, 2, "max", 8, 8), (x3, 3, "max", 2, 2), (x3, 3, "mean", 2, 2),
             (x3, 3, "max", 3, 2)]
    print(f"featpool {featpool.__version__}, OpenMP {featpool.show_config(False)['openmp']}, "
          f"threads: featpool {n_threads}"
          + (f", torch {torch.get_num_threads()} (torch {torch.__version__})" if torch else
             ", torch not installed"))
    print(f"inputs: 2D {shape2} and 3D {shape3} float32; medians of {repeats} rounds\n")
    columns = ["torch", "numpy", "block_reduce", "ndimage"]
    header = (f"{'case':<16}{'featpool ms':>12}{'x copy':>8}{'peak MiB':>9}"
              + "".join(f"{'÷ ' + c:>15}" for c in columns))
    print(header)
    print("-" * len(header))
    for x, nd, op, k, s in cases:
        row = run_case(x, nd, op, k, s, repeats, n_threads, peers)
        ratios = "".join(
            f"{row.get('÷ ' + c, row.get(c, 0) / row['featpool']):>15.2f}" if c in row
            else f"{'-':>15}" for c in columns
        )
        print(f"{row['case']:<16}{row['featpool'] * 1e3:>12.2f}"
              f"{row['x copy']:>8.2f}{row['peak_MiB']:>9.1f}{ratios}")
    print("\nx copy: featpool time / np.copyto time of the same input (the memory roofline).")
    print("÷ peer: peer time / featpool time (above 1: featpool is faster).")
    print("featpool, copy and torch run in turn in each round; their ratios are medians of the")
    print("ratios within each round.")


if __name__ == "__main__":
    main()
