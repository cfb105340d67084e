"""The batch command against a plain Python loop: images/s, speed-up with jobs, peak memory.

On a folder of generated 256x256 PNG files (two thirds grey, one third RGB):

* a plain loop: read each file with ``featpool.io.read_image`` and call a
  fitted ``FilterBankPooling`` on batches of 32, in one process;
* ``featpool extract --jobs 1``, the default ``--jobs`` (all cores), and
  ``--scheduler local`` (a Dask LocalCluster);
* the peak resident memory of the command (largest process: the parent or
  one worker) at two folder sizes, which should be flat.

Every variant runs as a fresh subprocess, so each figure includes Python's
start-up and imports; the overhead is the ratio of the command's time at
``--jobs 1`` to the plain loop's, measured in the same run. Run::

    python benchmarks/bench_batch.py                 # 1000 images; memory at 200 and 2000
    python benchmarks/bench_batch.py --quick         # 100 images; memory at 50 and 200
    python benchmarks/bench_batch.py --repeats 5     # medians of 5 interleaved rounds
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

import featpool

# Subprocesses import the featpool this script imports (built in place or installed).
ROOT = Path(featpool.__file__).resolve().parents[1]

PLAIN = """
import glob, sys, numpy as np
from featpool import FilterBankPooling
from featpool.io import read_image
files = sorted(glob.glob(sys.argv[1] + "/*.png"))
model = FilterBankPooling().fit(np.zeros((1, 256, 256)))
rows = []
for i in range(0, len(files), 32):
    rows.append(model.transform(np.stack([read_image(f) for f in files[i:i + 32]])))
assert sum(len(r) for r in rows) == len(files)
"""
COMMAND = """
import resource, sys, json
from featpool.cli import main
if __name__ == "__main__":
    status = main(["extract", sys.argv[1], "-o", sys.argv[2], "--quiet", "--overwrite",
                   *sys.argv[3:]])
    peak = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
               resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    print(json.dumps({"status": status, "peak_mib": peak / 1024}))
"""


def make_folder(folder, n, seed=0):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    base = (rng.random((256, 256, 3)) * 255).astype(np.uint8)
    for i in range(n):
        image = np.roll(base, i, axis=1)
        Image.fromarray(image if i % 3 == 0 else image[..., 0]).save(folder / f"{i:05d}.png")
    return folder


def _python(code, *args):
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    start = time.perf_counter()
    run = subprocess.run([sys.executable, "-c", code, *map(str, args)], env=env,
                         capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if run.returncode != 0:
        raise RuntimeError(run.stderr[-2000:])
    lines = run.stdout.strip().splitlines()
    return seconds, json.loads(lines[-1]) if lines else {}


def _command_script():
    # -c has no file to re-import in the workers; a script file has one.
    path = Path(tempfile.mkdtemp()) / "command.py"
    path.write_text(COMMAND)
    return path


def _run_command(script, folder, out, *flags):
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    start = time.perf_counter()
    run = subprocess.run([sys.executable, str(script), str(folder), str(out), *flags], env=env,
                         capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if run.returncode != 0:
        raise RuntimeError(run.stderr[-2000:])
    return seconds, json.loads(run.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-dask", action="store_true")
    parser.add_argument("--repeats", type=int, default=3,
                        help="rounds of every variant, interleaved; medians are reported")
    args = parser.parse_args()
    n, sizes = (100, (50, 200)) if args.quick else (1000, (200, 2000))
    work = Path(tempfile.mkdtemp(prefix="featpool-bench-"))
    folder = make_folder(work / "images", n)
    script = _command_script()
    out = work / "f.npz"
    print(f"{n} PNG files, 256x256, 2/3 grey and 1/3 RGB; {os.cpu_count()} cores")
    variants = [("plain loop (read_image + transform, batches of 32)",
                 lambda: _python(PLAIN, folder)[0]),
                ("featpool extract --jobs 1",
                 lambda: _run_command(script, folder, out, "--jobs", "1")[0]),
                ("featpool extract (default jobs)", lambda: _run_command(script, folder, out)[0])]
    if not args.no_dask:
        variants.append(("featpool extract --scheduler local",
                         lambda: _run_command(script, folder, out, "--scheduler", "local")[0]))
    times = {name: [] for name, _ in variants}
    for _ in range(args.repeats):   # interleaved, so that a busy spell hits every variant
        for name, run in variants:
            times[name].append(run())
    rows = [(name, float(np.median(t))) for name, t in times.items()]
    plain = rows[0][1]
    print(f"{'variant':<52} {'s':>7} {'img/s':>7} {'vs plain':>9}   (median of {args.repeats})")
    for name, seconds in rows:
        print(f"{name:<52} {seconds:7.1f} {n / seconds:7.1f} {seconds / plain:8.2f}x")
    ratios = [c / p for c, p in zip(times[rows[1][0]], times[rows[0][0]])]
    print(f"overhead of --jobs 1 over the plain loop: {100 * (rows[1][1] / plain - 1):+.1f} % "
          f"(per round: {', '.join(f'{100 * (r - 1):+.0f} %' for r in ratios)}); speed-up of "
          f"the default jobs over --jobs 1: {rows[1][1] / rows[2][1]:.2f}x")
    for size in sizes:
        small = make_folder(work / f"mem{size}", size)
        seconds, result = _run_command(script, small, work / f"m{size}.npz", "--jobs", "1")
        print(f"peak memory, {size} images, --jobs 1: {result['peak_mib']:.0f} MiB "
              f"({size / seconds:.1f} img/s)")


if __name__ == "__main__":
    main()
