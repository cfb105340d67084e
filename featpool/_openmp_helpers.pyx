"""OpenMP availability and the effective number of threads."""
import os


def _openmp_enabled():
    """True if featpool's kernels were compiled with OpenMP."""
    return bool(FEATPOOL_OPENMP_ENABLED)


def _cpu_count():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _effective_n_threads(n_threads=None):
    """Resolve a user's ``n_threads`` to a positive thread count.

    ``None`` means every thread that OpenMP allows (itself limited by
    ``OMP_NUM_THREADS`` and ``threadpoolctl``), capped at the usable CPUs.
    A negative value counts back from that number (``-1`` is all of them,
    ``-2`` all but one), as in joblib and scikit-learn.
    """
    if n_threads is not None and (
        isinstance(n_threads, bool) or not isinstance(n_threads, int)
        and not hasattr(n_threads, "__index__")
    ):
        raise TypeError(
            f"The 'n_threads' parameter must be an int or None. "
            f"Got {n_threads!r} of type {type(n_threads).__name__} instead."
        )
    if n_threads is not None:
        n_threads = int(n_threads)
    if n_threads == 0:
        raise ValueError(
            "The 'n_threads' parameter must be a positive or negative int, or None. "
            "Got 0 instead."
        )
    if not FEATPOOL_OPENMP_ENABLED:
        return 1
    max_threads = min(omp_get_max_threads(), _cpu_count())
    if n_threads is None:
        return max(max_threads, 1)
    if n_threads < 0:
        return max(max_threads + 1 + n_threads, 1)
    return n_threads
