"""Global configuration (memory budget, threads) and the build report.

In scikit-learn's shape: :func:`set_config`, :func:`get_config` and the
:func:`config_context` context manager. The configuration is per thread, so
that two threads can run with different budgets.
"""
import contextlib
import numbers
import os
import platform
import sys
import threading

from ._openmp_helpers import _cpu_count, _omp_max_threads, _openmp_enabled

__all__ = ["available_memory_bytes", "config_context", "cpu_count", "effective_n_threads",
           "get_config", "set_config", "show_config", "working_memory_bytes"]

_DEFAULTS = {
    # MiB that featpool's chunkers may hold at once (scikit-learn's name and
    # unit). Every chunk size is derived from it; at 256 MiB, the engine holds
    # 32 MiB of responses per chunk, the transformers cast 64 MiB of pixels at
    # a time, and a bank whose spectra would take more than 512 MiB on a
    # padded image is applied tile by tile.
    "working_memory": 256,
    # Threads when a function's n_threads is None: None means all that OpenMP
    # and threadpoolctl allow.
    "n_threads": None,
}
_local = threading.local()

# GNU libgomp's thread pool does not survive fork(): a child process that
# starts a parallel region after its parent ran one deadlocks. So once this
# process has asked for more than one OpenMP thread, a forked child runs its
# kernels on one thread (plain `multiprocessing` with the fork start method).
_fork_state = {"parent_used_openmp": False, "child_after_openmp": False}


def _after_fork_in_child():
    _fork_state["child_after_openmp"] = _fork_state["parent_used_openmp"]


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _current():
    if not hasattr(_local, "config"):
        _local.config = dict(_DEFAULTS)
    return _local.config


def get_config():
    """The current configuration: a dict you may read but not change in place.

    Returns
    -------
    config : dict
        ``working_memory`` (MiB) and ``n_threads``; see :func:`set_config`.

    Examples
    --------
    >>> import featpool
    >>> featpool.get_config()
    {'working_memory': 256, 'n_threads': None}
    """
    return dict(_current())


def _check_working_memory(value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not (
            value > 0 and value < float("inf")):
        raise ValueError(f"The 'working_memory' parameter of set_config must be a positive "
                         f"number of MiB. Got {value!r} instead.")
    return value


def set_config(working_memory=None, n_threads=None):
    """Set featpool's global configuration (for the calling thread).

    Parameters
    ----------
    working_memory : float, optional
        The memory, in MiB, that featpool may hold in work arrays at once
        (default 256): every chunk size (images filtered at once, responses
        held per chunk of filters, the switch to tiles for large images) is
        derived from it. Peak memory follows it; the output and the filter
        banks themselves come on top.
    n_threads : int, optional
        The threads that functions whose ``n_threads`` is None use: a
        positive count (capped at the CPUs), a negative one counting back
        (-1 all, -2 all but one). Left unchanged when not given; reset with
        ``config_context`` or ``set_config(n_threads=-1)``.

    Examples
    --------
    >>> import featpool
    >>> featpool.set_config(working_memory=64)
    >>> featpool.get_config()["working_memory"]
    64
    >>> featpool.set_config(working_memory=256)
    """
    config = _current()
    if working_memory is not None:
        config["working_memory"] = _check_working_memory(working_memory)
    if n_threads is not None:
        _check_n_threads(n_threads)
        config["n_threads"] = n_threads


@contextlib.contextmanager
def config_context(*, working_memory=None, n_threads=None):
    """Set the configuration within a ``with`` block, then restore it.

    Parameters
    ----------
    working_memory, n_threads
        As in :func:`set_config`.

    Examples
    --------
    >>> import numpy as np
    >>> import featpool
    >>> with featpool.config_context(working_memory=32, n_threads=1):
    ...     featpool.get_config()
    {'working_memory': 32, 'n_threads': 1}
    >>> featpool.get_config()["working_memory"]
    256
    """
    old = get_config()
    set_config(working_memory=working_memory, n_threads=n_threads)
    try:
        yield
    finally:
        _current().update(old)


def available_memory_bytes():
    """Memory the system could give this process now (Linux: MemAvailable), or None."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def working_memory_bytes(fraction=1.0):
    """``fraction`` of the configured working memory, in bytes."""
    return int(_current()["working_memory"] * 2**20 * fraction)


def _check_n_threads(n_threads):
    if isinstance(n_threads, bool) or not isinstance(n_threads, numbers.Integral):
        raise TypeError(
            f"The 'n_threads' parameter must be an int or None. "
            f"Got {n_threads!r} of type {type(n_threads).__name__} instead."
        )
    if n_threads == 0:
        raise ValueError(
            "The 'n_threads' parameter must be a positive or negative int, or None. "
            "Got 0 instead."
        )
    return int(n_threads)


def cpu_count():
    """CPUs this process may run on (its affinity mask on Linux)."""
    return _cpu_count()


def effective_n_threads(n_threads=None):
    """Resolve a user's ``n_threads`` to the thread count to run with.

    ``None`` means the configured count (:func:`set_config`), by default
    every thread that OpenMP allows (itself limited by ``OMP_NUM_THREADS`` and
    threadpoolctl), capped at the usable CPUs. A positive count is capped at
    the CPUs; a negative one counts back from them (-1 all, -2 all but one),
    as in joblib and scikit-learn, and is at least 1. 0 and non-integers are
    errors. Without OpenMP, always 1; in a process forked after OpenMP ran
    (GNU OpenMP cannot start threads there), 1.
    """
    if n_threads is None:
        n_threads = _current()["n_threads"]
    cpus = _cpu_count()
    if n_threads is None:
        count = min(_omp_max_threads(), cpus)
    else:
        n_threads = _check_n_threads(n_threads)
        count = n_threads if n_threads > 0 else cpus + 1 + n_threads
        count = min(max(count, 1), cpus)
    if not _openmp_enabled() or _fork_state["child_after_openmp"]:
        return 1
    if count > 1:
        _fork_state["parent_used_openmp"] = True
    return count


def show_config(print_out=True):
    """Report how featpool was built and how many threads it will use.

    Parameters
    ----------
    print_out : bool, default True
        Print the report; otherwise only return it.

    Returns
    -------
    config : dict
        ``openmp`` (bool, kernels built with OpenMP), ``n_threads`` (threads
        that ``n_threads=None`` means now), ``cpu_count``, ``working_memory``
        (MiB, see :func:`set_config`), ``omp_wait_policy`` (featpool sets
        PASSIVE unless you set it), and versions.

    Examples
    --------
    >>> import featpool
    >>> sorted(featpool.show_config(print_out=False))  # doctest: +NORMALIZE_WHITESPACE
    ['cpu_count', 'featpool', 'n_threads', 'numpy', 'omp_wait_policy', 'openmp', 'python',
     'working_memory']
    """
    import numpy as np

    from . import __version__

    config = {
        "featpool": __version__,
        "openmp": _openmp_enabled(),
        "n_threads": effective_n_threads(None),
        "working_memory": _current()["working_memory"],
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", ""),
        "cpu_count": _cpu_count(),
        "numpy": np.__version__,
        "python": f"{platform.python_implementation()} {sys.version.split()[0]}",
    }
    if print_out:
        for key, value in config.items():
            print(f"{key:>14}: {value}")
    return config
