"""OpenMP availability and thread limits: the primitives of featpool._config."""
import os


def _openmp_enabled():
    """True if featpool's kernels were compiled with OpenMP."""
    return bool(FEATPOOL_OPENMP_ENABLED)


def _cpu_count():
    """CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _omp_max_threads():
    """Threads an OpenMP region may use now (OMP_NUM_THREADS, threadpoolctl); 1 without OpenMP."""
    if not FEATPOOL_OPENMP_ENABLED:
        return 1
    return max(int(omp_get_max_threads()), 1)
