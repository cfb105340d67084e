"""Whole-pipeline speed: featpool's filter_pool beside a plain scipy.fft bank and Kymatio.

Every figure is measured side by side in one process and one run, medians over
repeats, as the machines this runs on are shared and noisy:

* ``featpool``: :func:`featpool.filter_pool` with a default float32 Gabor
  bank and the default :class:`featpool.Pooling` (a (1, 2, 4) pyramid of
  means of the modulus, 'reflect' borders, multi-resolution);
* ``plain fft``: the same bank computed the way one writes it by hand with
  ``scipy.fft``: pad (``np.pad``), ``fft2``, multiply by every filter,
  ``ifft2`` at full resolution (``rfft2``/``irfft2`` for banks of real
  kernels), NumPy modulus, pyramid of means by reshape-mean; batches of
  images within a 256 MiB budget, as featpool;
* ``fp wrap``: featpool with ``mode='wrap'`` (circular borders, no padding),
  the default of the transformers;
* ``fp finest``, ``fp full-res``: featpool on the bank's finest scale only,
  and on the filters it keeps at full resolution only (their bands span too
  much of the frequency plane for a coarser grid to save a third of the
  points): floors under the whole bank's time;
* ``kymatio``: Kymatio 0.3's NumPy ``Scattering2D`` (J=3, L=8 on 128x128
  images; J=2, L=8 on 28x28 digits), its FFTs given the same threads with
  ``scipy.fft.set_workers``.

Inputs: 64 tiles of 128x128 cut from scikit-image's grey sample images, 512
MNIST test digits (the folder given by ``--mnist`` or ``$FEATPOOL_MNIST``;
skipped without it), then one 4096x4096 image, for
featpool's time and peak memory (tracemalloc: the arrays NumPy allocates,
which is what grows with the input). Before timing, featpool and the plain
pipeline must agree: to float32 precision at full resolution, to 1e-3 with
multi-resolution.

Run::

    python benchmarks/bench_pipeline.py --mnist DIR   # the sizes of the issue (a few minutes)
    python benchmarks/bench_pipeline.py --quick    # small sizes, a smoke test
    python benchmarks/bench_pipeline.py --classic  # also the classic real-kernel banks
    python benchmarks/bench_pipeline.py --volumes  # also 3D volumes
    python benchmarks/bench_pipeline.py --varied   # images of varied sizes vs one size
"""
import argparse
import os
import time

import numpy as np
import scipy.fft

import featpool
from featpool import FilterBankPooling
from _peers import import_kymatio_scattering2d
from featpool._engine import make_plans as _plan
from _common import find_mnist, load_mnist, median_time, peak_memory, traced

LEVELS = (1, 2, 4)  # featpool's default Pooling
WORK_BYTES = 256 * 2**20
GOALS = {"plain fft": 3.0, "kymatio": 10.0}  # featpool at least this many times faster
MEMORY_GOAL_GIB = 1.0


# --------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------

def sample_tiles(n, size):
    """``n`` grey tiles of ``size x size`` cut from scikit-image's sample images."""
    from skimage import data

    tiles = []
    for name in ("camera", "brick", "grass", "gravel", "moon", "astronaut", "coffee"):
        image = getattr(data, name)()
        if image.ndim == 3:
            image = image.mean(axis=2)
        rows, cols = image.shape[0] // size, image.shape[1] // size
        blocks = image[: rows * size, : cols * size].reshape(rows, size, cols, size)
        tiles.extend(blocks.transpose(0, 2, 1, 3).reshape(-1, size, size))
    if len(tiles) < n:
        raise ValueError(f"only {len(tiles)} tiles of {size}x{size} in the sample images")
    return (np.stack(tiles[:n]) / 255.0).astype(np.float32)


def mnist_digits(n, folder):
    images, _ = load_mnist(folder)
    return (images[:n] / 255.0).astype(np.float32)


# --------------------------------------------------------------------------
# The plain pipeline: what one writes without featpool
# --------------------------------------------------------------------------

def plain_setup(bank, shape):
    """Padding and the bank's spectra on the padded grid (computed once, not timed).

    For a bank of real kernels, only the half spectrum that real FFTs use.
    """
    pad = bank.spatial_support
    padded = tuple(scipy.fft.next_fast_len(n + 2 * pad) for n in shape)
    spectra = np.asarray(bank.for_shape(padded).spectra)
    if bank.is_real:
        spectra = np.ascontiguousarray(spectra[..., : padded[-1] // 2 + 1])
    return pad, spectra


def plain_features(images, pad, spectra, workers):
    """Full-resolution responses, modulus, pyramid of means: (n, n_filters, n_cells).

    2D or 3D (``images`` is (n, *spatial)).
    """
    n, spatial = len(images), images.shape[1:]
    nd = len(spatial)
    grid = tuple(scipy.fft.next_fast_len(s + 2 * pad) for s in spatial)
    real = spectra.shape[-1] != grid[-1]  # half spectra: real kernels
    n_filters = len(spectra)
    axes = tuple(range(1, nd + 1))
    assert all(s % g == 0 for s in spatial for g in LEVELS), "reshape-mean needs equal cells"
    out = np.empty((n, n_filters, sum(g ** nd for g in LEVELS)), dtype=np.float32)
    batch = max(1, WORK_BYTES // (n_filters * int(np.prod(grid)) * 8))
    crop = (Ellipsis,) + tuple(slice(pad, pad + s) for s in spatial)
    for start in range(0, n, batch):
        x = images[start:start + batch]
        x = np.pad(x, [(0, 0)] + [(pad, q - s - pad) for s, q in zip(spatial, grid)],
                   mode="symmetric")
        if real:  # real kernels: real FFTs, as one would write them
            spectrum = scipy.fft.rfftn(x, axes=axes, workers=workers)
            responses = scipy.fft.irfftn(spectrum[:, None] * spectra, s=grid,
                                         axes=tuple(a + 1 for a in axes), workers=workers)
        else:
            spectrum = scipy.fft.fftn(x, axes=axes, workers=workers)
            responses = scipy.fft.ifftn(spectrum[:, None] * spectra,
                                        axes=tuple(a + 1 for a in axes), workers=workers,
                                        overwrite_x=True)
        maps = np.abs(responses[crop])
        cells = []
        for g in LEVELS:
            blocks = maps.reshape((len(x), n_filters) + sum(((g, s // g) for s in spatial), ()))
            cells.append(blocks.mean(axis=tuple(range(3, 3 + 2 * nd, 2))).reshape(
                len(x), n_filters, -1))
        out[start:start + batch] = np.concatenate(cells, axis=-1)
    return out


def check_agreement(images, bank, pad, spectra, n_threads):
    """featpool must compute what the plain pipeline computes, before any timing."""
    plain = plain_features(images, pad, spectra, n_threads)

    def worst(features):
        diff = np.linalg.norm((features - plain).reshape(len(plain), -1), axis=1)
        return float((diff / np.linalg.norm(plain.reshape(len(plain), -1), axis=1)).max())

    full = worst(featpool.filter_pool(images, bank, multiresolution=False, n_threads=n_threads))
    multi = worst(featpool.filter_pool(images, bank, n_threads=n_threads))
    # The plain pipeline pads every filter by the widest filter's support;
    # featpool pads each group of filters by its own (where the kernel falls
    # below 1e-3 of its peak), so the filters' faint tails differ at ~1e-5.
    if full > 1e-4 or multi > 1e-3:
        raise SystemExit(f"featpool and the plain pipeline disagree: relative error "
                         f"{full:.1e} at full resolution, {multi:.1e} with multi-resolution")
    return full, multi


# --------------------------------------------------------------------------
# Measurements
# --------------------------------------------------------------------------

def measure(name, func, n_images, repeats, threads):
    features = func()  # also the warm-up
    seconds = median_time(func, repeats, warmup=False)
    return {
        "method": name,
        "images/s": n_images / seconds,
        "dim": int(np.prod(features.shape[1:])),
        "peak MiB": peak_memory(func) / 2**20,
        "threads": threads,
    }


def compare(title, images, scattering_j, repeats, n_threads, Scattering2D):
    shape = images.shape[1:]
    bank = featpool.gabor_bank(shape, dtype=np.float32)
    scales = [m["scale"] for m in bank.metadata]
    finest = bank.subset([i for i, s in enumerate(scales) if s == min(scales)])
    plans = _plan(bank, shape, "reflect", (featpool.Pooling(),), True)
    kept = bank.subset(np.sort(np.concatenate([p.index for p in plans if p.full_resolution])))
    pad, spectra = plain_setup(bank, shape)
    full, multi = check_agreement(images, bank, pad, spectra, n_threads)
    rows = [
        measure("featpool", lambda: featpool.filter_pool(images, bank, n_threads=n_threads),
                len(images), repeats, n_threads),
        measure("plain fft", lambda: plain_features(images, pad, spectra, n_threads),
                len(images), repeats, n_threads),
        measure("fp wrap", lambda: featpool.filter_pool(images, bank, mode="wrap",
                                                        n_threads=n_threads),
                len(images), repeats, n_threads),
        measure("fp finest", lambda: featpool.filter_pool(images, finest, n_threads=n_threads),
                len(images), repeats, n_threads),
        measure("fp full-res", lambda: featpool.filter_pool(images, kept, n_threads=n_threads),
                len(images), repeats, n_threads),
    ]
    if Scattering2D is not None:
        scattering = Scattering2D(J=scattering_j, shape=shape, L=8)

        def kymatio():
            with scipy.fft.set_workers(n_threads):
                return scattering(images)

        rows.append(measure("kymatio", kymatio, len(images), max(1, repeats // 2), n_threads))
        rows[-1]["note"] = f"Scattering2D(J={scattering_j}, L=8)"
    rows[0]["note"] = f"gabor_bank {len(bank)} filters, Pooling() {LEVELS}"
    rows[1]["note"] = "same bank, full resolution"
    rows[2]["note"] = "featpool, mode='wrap' (no padding; the transformers' default)"
    rows[3]["note"] = f"featpool, the {len(finest)} filters of the finest scale only"
    rows[4]["note"] = (f"featpool, the {len(kept)} filters it keeps at full resolution "
                       f"only")
    print(f"\n{title}: {len(images)} images of {shape[0]}x{shape[1]}, float32; featpool vs "
          f"plain: rel. error {full:.1e} (full resolution), {multi:.1e} (multi-resolution)")
    print_table(rows)
    return rows


def print_table(rows):
    header = (f"{'method':<11}{'images/s':>10}{'featpool x':>18}{'goal':>8}{'dim':>8}"
              f"{'peak MiB':>10}{'threads':>9}  note")
    print(header)
    print("-" * (len(header) + 36))
    ours, wrap = rows[0]["images/s"], rows[2]["images/s"]
    for row in rows:
        ratio = ours / row["images/s"]
        goal = GOALS.get(row["method"])
        verdict = "" if goal is None else (f">={goal:g} " + ("ok" if ratio >= goal else "NO"))
        text = f"{ratio:.2f}"
        if row["method"] == "kymatio":  # and what the wrap borders give
            text += f" ({wrap / row['images/s']:.1f} wrap)"
        print(f"{row['method']:<11}{row['images/s']:>10.1f}{text:>18}{verdict:>8}"
              f"{row['dim']:>8}{row['peak MiB']:>10.1f}{row['threads']:>9}  {row.get('note', '')}")


def large_image(size, n_threads):
    bank = featpool.gabor_bank((size, size), dtype=np.float32)
    image = np.random.default_rng(0).random((size, size), dtype=np.float32)
    # bank.spectra is not touched: on this grid it would take the GiB below.
    whole = len(bank) * size * size * 8 / 2**30
    print(f"\nOne {size}x{size} float32 image, gabor_bank(({size}, {size}), float32): "
          f"{len(bank)} filters ({whole:.2f} GiB of spectra on the whole image)")
    header = f"{'call':<44}{'seconds':>9}{'peak GiB':>10}{'goal':>14}"
    print(header)
    print("-" * len(header))
    cases = [
        ("first call, pyramid (builds the bank's grid)", featpool.Pooling()),
        ("second call, pyramid", featpool.Pooling()),
        ("second call, global mean", featpool.Pooling(levels=(1,))),
    ]
    for label, pooling in cases:
        seconds, peak = traced(lambda: featpool.filter_pool(image, bank, pooling,
                                                            n_threads=n_threads))
        verdict = f"<{MEMORY_GOAL_GIB:g} GiB " + ("ok" if peak < MEMORY_GOAL_GIB * 2**30 else "NO")
        print(f"{label:<44}{seconds:>9.2f}{peak / 2**30:>10.3f}{verdict:>14}")


def classic_banks(images, repeats, n_threads):
    """featpool beside the plain pipeline on the classic (real-kernel) banks."""
    shape = images.shape[1:]
    print(f"\nClassic banks: {len(images)} images of {shape[0]}x{shape[1]}, float32, "
          f"Pooling() (1, 2, 4)")
    header = f"{'bank':<18}{'filters':>8}{'featpool img/s':>16}{'plain img/s':>13}{'featpool x':>12}"
    print(header)
    print("-" * len(header))
    for name in ("leung_malik_bank", "schmid_bank", "rfs_bank", "log_bank", "dog_bank"):
        bank = getattr(featpool, name)(shape, dtype=np.float32)
        pad, spectra = plain_setup(bank, shape)
        check_agreement(images, bank, pad, spectra, n_threads)  # warms both up
        ours = median_time(lambda: featpool.filter_pool(images, bank, n_threads=n_threads),
                           repeats, warmup=False)
        plain = median_time(lambda: plain_features(images, pad, spectra, n_threads), repeats,
                            warmup=False)
        print(f"{name:<18}{len(bank):>8}{len(images) / ours:>16.1f}{len(images) / plain:>13.1f}"
              f"{plain / ours:>12.2f}")


def volumes(n_volumes, size, repeats, n_threads):
    """featpool beside the plain pipeline on 3D volumes (default 3D Gabor bank)."""
    shape = (size,) * 3
    rng = np.random.default_rng(0)
    # Smoothed noise: a volume with structure at every scale.
    from scipy import ndimage
    images = np.stack([ndimage.gaussian_filter(rng.random(shape), 1.5) for _ in range(n_volumes)])
    images = images.astype(np.float32)
    bank = featpool.gabor_bank_3d(shape, dtype=np.float32)
    pad, spectra = plain_setup(bank, shape)
    full, multi = check_agreement(images, bank, pad, spectra, n_threads)
    ours = median_time(lambda: featpool.filter_pool(images, bank, n_threads=n_threads), repeats,
                       warmup=False)  # check_agreement warmed both up
    plain = median_time(lambda: plain_features(images, pad, spectra, n_threads), repeats,
                        warmup=False)
    print(f"\nVolumes: {n_volumes} of {size}^3, float32, gabor_bank_3d {len(bank)} filters, "
          f"Pooling() (1, 2, 4); rel. error {full:.1e} (full resolution), {multi:.1e} (multi)")
    print(f"featpool {n_volumes / ours:.1f} volumes/s, plain {n_volumes / plain:.1f} "
          f"volumes/s: featpool x {plain / ours:.2f}")


# --------------------------------------------------------------------------
# Images of varied sizes
# --------------------------------------------------------------------------

# (ndim, images, smallest side, largest side): real folders mix sizes.
VARIED = [(2, 300, 40, 120), (2, 300, 28, 64), (2, 40, 200, 600), (3, 20, 24, 64)]
VARIED_GOAL = 0.7   # varied throughput over one-size throughput, at least


def _varied_inputs(nd, n, lo, hi, seed=0):
    rng = np.random.default_rng(seed)
    sides = rng.integers(lo, hi + 1, size=(n, nd))
    varied = [rng.random(tuple(int(v) for v in s), dtype=np.float32) for s in sides]
    mean = int(round(sides.mean()))
    return varied, rng.random((n,) + (mean,) * nd, dtype=np.float32), mean


def _interleaved(funcs, repeats):
    """Median seconds of each function, run in turns, every call from a cold cache
    (a folder's sizes are new to the process)."""
    times = {name: [] for name in funcs}
    for _ in range(repeats):
        for name, func in funcs.items():
            featpool.clear_cache()
            start = time.perf_counter()
            func()
            times[name].append(time.perf_counter() - start)
    return {name: float(np.median(t)) for name, t in times.items()}


def varied_sizes(quick, repeats, n_threads):
    """One-size and varied-size throughput side by side: FilterBankPooling.transform
    (defaults, 'wrap' and 'reflect'), extract_features, per-image calls with joblib."""
    from joblib import Parallel, delayed

    print(f"\n## Images of varied sizes vs the same number at their mean size "
          f"(float32 grey, FilterBankPooling defaults, {n_threads} threads, cold caches, "
          f"medians of {repeats} interleaved runs; goal: ratio >= {VARIED_GOAL})")
    print(f"{'images':<34} {'mode':<8} {'one size img/s':>15} {'varied img/s':>13} "
          f"{'ratio':>6}")
    for nd, n, lo, hi in VARIED:
        if quick:
            n = max(4, n // 10)
        varied, one, mean = _varied_inputs(nd, n, lo, hi)
        for mode in ("wrap", "reflect"):
            model = FilterBankPooling(mode=mode, n_threads=n_threads).fit(one[:2])
            t = _interleaved({"one": lambda: model.transform(one),
                              "varied": lambda: model.transform(varied)}, repeats)
            label = f"{n} {nd}D, sides {lo}-{hi} (mean {mean})"
            print(f"{label:<34} {mode:<8} {n / t['one']:>15.1f} {n / t['varied']:>13.1f} "
                  f"{t['one'] / t['varied']:>6.2f}")
    varied, one, mean = _varied_inputs(*VARIED[0])
    n = len(varied) // (10 if quick else 1)
    varied, one = varied[:n], one[:n]
    t = _interleaved({"one": lambda: featpool.extract_features(one, n_threads=n_threads),
                      "varied": lambda: featpool.extract_features(varied,
                                                                  n_threads=n_threads)},
                     repeats)
    print(f"{'extract_features, ' + str(n) + ' 2D 40-120':<34} {'wrap':<8} "
          f"{n / t['one']:>15.1f} {n / t['varied']:>13.1f} {t['one'] / t['varied']:>6.2f}")
    # Per-image calls, as with joblib over a list of files: each run on sizes new
    # to every process (the workers keep their caches between runs), the
    # worker pool started before.
    model = FilterBankPooling(n_threads=1).fit(one[:2])
    Parallel(n_jobs=2)(delayed(model.transform)(x[None]) for x in varied[:4])
    lists = [_varied_inputs(2, n, 40, 120, seed=1 + r)[0] for r in range(2 * repeats)]
    serial, parallel = [], []
    for r in range(repeats):
        start = time.perf_counter()
        [model.transform(x[None]) for x in lists[2 * r]]
        serial.append(time.perf_counter() - start)
        start = time.perf_counter()
        Parallel(n_jobs=2)(delayed(model.transform)(x[None]) for x in lists[2 * r + 1])
        parallel.append(time.perf_counter() - start)
    serial, parallel = np.median(serial), np.median(parallel)
    print(f"\nPer-image transform calls ({n} images 2D 40-120, n_threads=1): serial loop "
          f"{n / serial:.1f} img/s, joblib.Parallel(n_jobs=2) {n / parallel:.1f} img/s "
          f"({serial / parallel:.2f}x the loop)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small inputs (smoke test)")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--n-threads", type=int, default=None,
                        help="threads for every method (default: all allowed cores)")
    parser.add_argument("--no-kymatio", action="store_true", help="skip Kymatio")
    parser.add_argument("--classic", action="store_true",
                        help="also the classic banks (Leung-Malik, Schmid, RFS, LoG, DoG)")
    parser.add_argument("--volumes", action="store_true", help="also 3D volumes")
    parser.add_argument("--varied", action="store_true",
                        help="only the table of images of varied sizes vs one size")
    parser.add_argument("--mnist", help="folder holding the MNIST test set "
                        "(t10k-images-idx3-ubyte.gz); default $FEATPOOL_MNIST")
    args = parser.parse_args(argv)

    config = featpool.show_config(print_out=False)
    n_threads = args.n_threads or config["n_threads"]
    if args.quick:
        n_tiles, tile, n_digits, large, repeats = 4, 64, 32, 512, args.repeats or 1
    else:
        n_tiles, tile, n_digits, large, repeats = 64, 128, 512, 4096, args.repeats or 5
    if args.varied:
        print(f"featpool {featpool.__version__}, OpenMP {config['openmp']}, {n_threads} "
              f"threads ({os.cpu_count()} CPUs)")
        varied_sizes(args.quick, args.repeats or (1 if args.quick else 3), n_threads)
        return
    Scattering2D = None if args.no_kymatio else import_kymatio_scattering2d()
    print(f"featpool {featpool.__version__}, OpenMP {config['openmp']}, {n_threads} threads "
          f"for every method ({os.cpu_count()} CPUs); scipy {scipy.__version__}; Kymatio "
          + ("not installed" if Scattering2D is None else "0.3 NumPy frontend")
          + f"; medians of {repeats} runs (Kymatio: {max(1, repeats // 2)})")
    compare("Natural-image tiles", sample_tiles(n_tiles, tile), 3, repeats, n_threads,
            Scattering2D)
    mnist = find_mnist(args.mnist)
    if mnist is None:
        print("\n## MNIST digits: skipped (no data; pass --mnist FOLDER)")
    else:
        compare("MNIST digits", mnist_digits(n_digits, mnist), 2, repeats, n_threads,
                Scattering2D)
    if args.classic:
        classic_banks(sample_tiles(n_tiles, tile), repeats, n_threads)
    if args.volumes:
        volumes(4 if args.quick else 16, 32 if args.quick else 48, repeats, n_threads)
    large_image(large, n_threads)
    print("\nfeatpool x: how many times faster featpool is (images/s ratio); goal: the "
          "issue's target.\npeak MiB: tracemalloc peak of one call (NumPy arrays; bank "
          "spectra cached before).")


if __name__ == "__main__":
    main()
