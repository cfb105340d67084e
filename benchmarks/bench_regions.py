"""Features per object, side by side with their peers in one process.

Every figure is a ratio measured in the same run (medians over repeats), as
the machines this runs on are shared and noisy; each peer's result is
checked against featpool's before it is timed.

* **Statistics per label** on the same maps (``--maps`` float32 maps, a label
  image of about ``--labels`` objects): :func:`featpool.regions.region_pool`
  (mean, max and std in one pass) against ``scipy.ndimage.mean``,
  ``maximum`` and ``standard_deviation`` with ``index=``, map by map, and
  against ``skimage.measure.regionprops_table`` with the maps as a
  multichannel ``intensity_image``.
* **The pipeline per object**: :func:`featpool.region_features` with the
  default bank (mean per object) against the same bank written by hand:
  ``scipy.fft`` of the image, times each filter's spectrum, inverse FFT,
  modulus, then ``regionprops_table``. Peak memory of both (tracemalloc).
* **A volume**: about 1,000 objects in a 256^3 volume, default 3D bank.

Run::

    python benchmarks/bench_regions.py            # the sizes of the issue
    python benchmarks/bench_regions.py --quick    # small sizes, a smoke test
"""
import argparse

import numpy as np
import scipy.fft
from scipy import ndimage
from skimage.measure import regionprops_table

import featpool
from featpool.pipeline import build_banks
from featpool.regions import region_pool

from _common import median_time, traced


def block_labels(shape, n_labels, seed=0):
    """About ``n_labels`` blocky objects (a coarse random grid, upsampled), 10% background."""
    rng = np.random.default_rng(seed)
    per_axis = max(1, round((n_labels / 0.9) ** (1 / len(shape))))
    coarse = rng.permutation(per_axis ** len(shape)).reshape((per_axis,) * len(shape)) + 1
    coarse[rng.random(coarse.shape) < 0.1] = 0
    index = np.ix_(*[np.arange(n) * per_axis // n for n in shape])
    return coarse[index].astype(np.int32)


def statistics(args, shape):
    rng = np.random.default_rng(1)
    maps = rng.random((args.maps,) + shape, dtype=np.float32)
    labels = block_labels(shape, args.labels)
    index = np.unique(labels)[1:]
    nd = len(shape)

    def ours():
        return region_pool(maps, labels, op=("mean", "max", "std"), ndim=nd)

    def ours_one_thread():
        return region_pool(maps, labels, op=("mean", "max", "std"), ndim=nd, n_threads=1)

    def scipy_stats():
        return [(ndimage.mean(m, labels, index), ndimage.maximum(m, labels, index),
                 ndimage.standard_deviation(m, labels, index)) for m in maps]

    def skimage_stats():
        return regionprops_table(labels, intensity_image=np.moveaxis(maps, 0, -1),
                                 properties=("intensity_mean", "intensity_max",
                                             "intensity_std"))

    mine, theirs = ours(), scipy_stats()
    for k, op in enumerate(("mean", "max", "std")):
        got = mine[op][..., 0]
        np.testing.assert_allclose(got, np.stack([t[k] for t in theirs]), rtol=1e-4,
                                   atol=1e-6)
    table = skimage_stats()
    np.testing.assert_allclose(mine["mean"][..., 0].T,
                               np.stack([table[f"intensity_mean-{i}"]
                                         for i in range(args.maps)], axis=1), rtol=1e-4)
    def read_once():  # what any one pass over the maps must do: the memory bound
        return maps.sum()

    times = {ours: [], ours_one_thread: [], scipy_stats: [], skimage_stats: [], read_once: []}
    for _ in range(args.repeats):  # interleaved: a busy moment hits every method
        for func in times:
            times[func].append(median_time(func, 1, warmup=False))
    t_ours, t_one, t_scipy, t_skimage, t_read = (float(np.median(t)) for t in times.values())
    print(f"\n## Statistics per label: {args.maps} maps of {shape}, {len(index)} labels, "
          f"mean + max + std ({featpool.get_config()['n_threads'] or 'all'} threads, "
          f"medians of {args.repeats} interleaved repeats)")
    print("| method | seconds | featpool faster by | featpool (1 thread) faster by |")
    print("|---|---|---|---|")
    print(f"| featpool region_pool (one pass) | {t_ours:.3f} | 1.0x | {t_one / t_ours:.2f}x |")
    print(f"| featpool region_pool, n_threads=1 | {t_one:.3f} | {t_ours / t_one:.2f}x | "
          f"1.0x |")
    for name, t in (("scipy.ndimage mean, maximum, standard_deviation", t_scipy),
                    ("skimage regionprops_table (multichannel)", t_skimage)):
        print(f"| {name} | {t:.3f} | {t / t_ours:.1f}x | {t / t_one:.1f}x |")
    print(f"reading the maps once (numpy sum, {maps.nbytes / 2**20:.0f} MiB): {t_read:.4f} s, "
          f"regionprops_table / that = {t_skimage / t_read:.0f}x; featpool (whole call) "
          f"{t_one / maps.size * 1e9:.2f} ns per value on one thread")


def by_hand(image, labels, bank):
    """The bank written by hand: FFT, product, inverse FFT, modulus, regionprops_table."""
    spectrum = scipy.fft.fft2(image.astype(np.float32), workers=-1)
    maps = np.empty(image.shape + (len(bank),), dtype=np.float32)
    for f, filt in enumerate(np.asarray(bank.spectra)):
        maps[..., f] = np.abs(scipy.fft.ifft2(spectrum * filt, workers=-1))
    return regionprops_table(labels, intensity_image=maps, properties=("intensity_mean",))


def pipeline(args, shape):
    rng = np.random.default_rng(2)
    image = ndimage.gaussian_filter(rng.random(shape), 2).astype(np.float32)
    labels = block_labels(shape, args.labels)
    params = dict(mode="wrap", normalization=None)  # wrap: what a plain FFT computes

    def ours():
        return featpool.region_features(image, labels, **params)

    table = ours()
    names = [n for n in table if n.endswith("_mean_l1_c0")]
    bank, _, _ = build_banks(shape)
    theirs = by_hand(image, labels, bank)
    np.testing.assert_allclose(np.stack([table[n] for n in names], axis=1),
                               np.stack([theirs[f"intensity_mean-{f}"]
                                         for f in range(len(bank))], axis=1), rtol=2e-3,
                               atol=1e-5)
    t_ours, peak_ours = traced(ours)
    t_hand, peak_hand = traced(lambda: by_hand(image, labels, bank))
    output = sum(v.nbytes for v in table.values())
    budget = featpool.get_config()["working_memory"]
    print(f"\n## The pipeline per object: {shape} image, {len(table['label'])} labels, "
          f"default bank ({len(bank)} filters), mean per object")
    print("| method | seconds | featpool faster by | peak memory (MiB) |")
    print("|---|---|---|---|")
    print(f"| featpool region_features | {t_ours:.2f} | 1.0x | {peak_ours / 2**20:.0f} |")
    print(f"| scipy.fft by hand + regionprops_table | {t_hand:.2f} | {t_hand / t_ours:.1f}x | "
          f"{peak_hand / 2**20:.0f} |")
    print(f"working memory {budget} MiB, output {output / 2**20:.1f} MiB")


def volume(args, shape):
    rng = np.random.default_rng(3)
    image = ndimage.gaussian_filter(rng.random(shape, dtype=np.float32), 1)
    labels = block_labels(shape, args.volume_labels)
    result = {}

    def ours():
        result["table"] = featpool.region_features(image, labels)

    seconds, peak = traced(ours)
    table = result["table"]
    output = sum(v.nbytes for v in table.values())
    print(f"\n## A volume: {shape}, {len(table['label'])} labels, default 3D bank, "
          f"{len(table) - 11} features per object")
    print(f"region_features: {seconds:.1f} s, peak memory {peak / 2**20:.0f} MiB "
          f"(working memory {featpool.get_config()['working_memory']} MiB, output "
          f"{output / 2**20:.1f} MiB)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, a smoke test")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--only", choices=("statistics", "pipeline", "volume"),
                        help="run one part")
    parser.add_argument("--maps", type=int, default=8, help="maps of the statistics part")
    args = parser.parse_args()
    side, args.labels = (256, 300) if args.quick else (2048, 10_000)
    args.volume_labels = 64 if args.quick else 1000
    if args.only in (None, "statistics"):
        statistics(args, (side, side))
    if args.only in (None, "pipeline"):
        pipeline(args, (side, side))
    if args.only in (None, "volume"):
        volume(args, (48,) * 3 if args.quick else (256,) * 3)


if __name__ == "__main__":
    main()
