"""The batch command against an in-process loop, side by side: images/s and peak memory.

Two folders of generated PNG files, at several sizes of folder:

* **one size**: 25x25 grey images (small images, where the cost per image and
  per batch of the command shows most);
* **varied sizes**: grey and RGB images, each side drawn from 40 to 600 px
  (almost every image its own shape).

For each, two variants run as fresh subprocesses (so start-up and imports
count in both):

* **in-process**: ``featpool.io.read_image`` then ``FilterBankPooling.transform``
  (fitted on the 256x256 grid) on stacks of up to 32 images of one shape, in
  one process, decode included, nothing written;
* **command**: ``featpool extract FOLDER -o OUT.csv`` with the default jobs.

Every figure is a median of interleaved rounds. The cost beyond start-up is
the slope between the two largest folders: ``(T(n2) - T(n1)) / (n2 - n1)``,
the same for both variants; the start-up is what is left at n = 0. Peak
memory is the largest process (the command's workers included). Run::

    python benchmarks/bench_batch.py                  # 200, 2,000 and 20,000 images
    python benchmarks/bench_batch.py --quick          # 20 and 60 images, one round
    python benchmarks/bench_batch.py --counts 200,2000 --repeats 3
    python benchmarks/bench_batch.py --images one     # only the folders of one size
    python benchmarks/bench_batch.py --format npz     # the command writes NPZ (default CSV)
    python benchmarks/bench_batch.py --dask           # also --scheduler local
    python benchmarks/bench_batch.py --against ../old # also another checkout's command
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

import featpool

# Subprocesses import the featpool this script imports (built in place or installed).
ROOT = Path(featpool.__file__).resolve().parents[1]

IN_PROCESS = """
import glob, json, resource, sys
import numpy as np
from featpool import FilterBankPooling
from featpool.io import read_image
model = FilterBankPooling().fit(np.zeros((1, 256, 256)))
groups = {}
for path in sorted(glob.glob(sys.argv[1] + "/*.png")):
    image = read_image(path)
    groups.setdefault(image.shape, []).append(image)
n_rows = 0
for images in groups.values():
    for i in range(0, len(images), 32):
        n_rows += len(model.transform(np.stack(images[i:i + 32])))
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"rows": n_rows, "peak_mib": peak / 1024}))
"""
COMMAND = """
import json, resource, sys
from featpool.cli import main
if __name__ == "__main__":
    status = main(["extract", sys.argv[1], "-o", sys.argv[2], "--quiet", "--overwrite",
                   *sys.argv[3:]])
    peak = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
               resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    print(json.dumps({"status": status, "peak_mib": peak / 1024}))
"""


def make_folder(folder, n, varied, seed=0):
    """``n`` PNG files: 25x25 grey, or grey and RGB of sides 40 to 600 px."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        if varied:
            shape = tuple(rng.integers(40, 601, size=2)) + ((3,) if i % 3 == 0 else ())
        else:
            shape = (25, 25)
        image = (rng.random(shape) * 255).astype(np.uint8)
        Image.fromarray(image).save(folder / f"{i:05d}.png")
    return folder


# Runs a script and reports its time and the peak memory of the largest of its processes,
# grandchildren included: the command's workers are children of multiprocessing's
# forkserver, which outlives the command by a moment; as a subreaper (Linux) this process
# adopts and reaps them, so their peaks count in RUSAGE_CHILDREN.
MEASURE = """
import ctypes, json, os, resource, subprocess, sys, time
if sys.platform.startswith("linux"):
    ctypes.CDLL(None).prctl(36, 1)    # PR_SET_CHILD_SUBREAPER
start = time.perf_counter()
run = subprocess.run([sys.executable] + sys.argv[1:], capture_output=True, text=True)
seconds = time.perf_counter() - start
while True:
    try:
        os.wait()
    except ChildProcessError:
        break
if run.returncode != 0:
    sys.exit(run.stderr[-2000:])
own = json.loads(run.stdout.strip().splitlines()[-1])["peak_mib"]
peak = max(own, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
print(json.dumps({"seconds": seconds, "peak_mib": peak}))
"""


def _run(script, *args, root=ROOT):
    env = {**os.environ, "PYTHONPATH": str(root) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    run = subprocess.run([sys.executable, "-c", MEASURE, str(script), *map(str, args)],
                         env=env, capture_output=True, text=True)
    if run.returncode != 0:
        raise RuntimeError(run.stderr[-2000:])
    result = json.loads(run.stdout.strip().splitlines()[-1])
    return result["seconds"], result["peak_mib"]


def _scripts(work):
    # Script files, not -c: the command's workers re-import their parent's main module.
    scripts = {}
    for name, code in (("in_process", IN_PROCESS), ("command", COMMAND)):
        scripts[name] = work / f"{name}.py"
        scripts[name].write_text(code)
    return scripts


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 and 60 images, one round")
    parser.add_argument("--counts", help="folder sizes, e.g. 200,2000,20000 (the default)")
    parser.add_argument("--repeats", type=int, default=1,
                        help="rounds of every variant, interleaved; medians are reported")
    parser.add_argument("--images", choices=("one", "varied", "both"), default="both",
                        help="the folders: one size, varied sizes, or both (the default)")
    parser.add_argument("--format", choices=("csv", "parquet", "npz"), default="csv",
                        help="the command's output (default csv)")
    parser.add_argument("--dask", action="store_true", help="also --scheduler local")
    parser.add_argument("--against", metavar="TREE", help="also the command of the featpool "
                        "in TREE (another checkout, built in place), in the same rounds")
    args = parser.parse_args()
    counts = [int(c) for c in (args.counts or ("20,60" if args.quick else "200,2000,20000"))
              .split(",")]
    work = Path(tempfile.mkdtemp(prefix="featpool-bench-"))
    scripts = _scripts(work)
    variants = {"in-process": lambda f: _run(scripts["in_process"], f),
                "command": lambda f: _run(scripts["command"], f, work / f"out.{args.format}")}
    if args.dask:
        variants["command --scheduler local"] = lambda f: _run(
            scripts["command"], f, work / f"out.{args.format}", "--scheduler", "local")
    if args.against:
        variants["command (against)"] = lambda f: _run(
            scripts["command"], f, work / f"out.{args.format}", root=Path(args.against))
    print(f"{os.cpu_count()} cores; default parameters, 256x256 grid; {args.format} output; "
          f"medians of {args.repeats} interleaved round(s)")
    print(f"{'images':<14} {'n':>6} {'variant':<27} {'s':>7} {'img/s':>7} {'peak MiB':>9}")
    for label, varied in (("one size", False), ("varied sizes", True)):
        if args.images != "both" and varied != (args.images == "varied"):
            continue
        times = {}
        for n in counts:
            folder = make_folder(work / f"{label[0]}{n}", n, varied)
            runs = {name: [] for name in variants}
            for _ in range(args.repeats):
                for name, run in variants.items():
                    runs[name].append(run(folder))
            for name, results in runs.items():
                seconds = float(np.median([s for s, _ in results]))
                peak = max(p for _, p in results)
                times[name, n] = seconds
                print(f"{label:<14} {n:>6} {name:<27} {seconds:7.1f} {n / seconds:7.1f} "
                      f"{peak:9.0f}")
        if len(counts) > 1:
            n1, n2 = counts[-2:]
            slope = {name: (times[name, n2] - times[name, n1]) / (n2 - n1) for name in variants}
            start = {name: times[name, n2] - n2 * slope[name] for name in variants}
            for name in list(variants)[1:]:
                print(f"{label}: {name} beyond start-up: "
                      f"{slope['in-process'] / slope[name]:.2f}x the in-process throughput "
                      f"({1 / slope[name]:.0f} vs {1 / slope['in-process']:.0f} img/s between "
                      f"{n1} and {n2}); start-up {start[name]:.1f} s vs "
                      f"{start['in-process']:.1f} s")


if __name__ == "__main__":
    main()
