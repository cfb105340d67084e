"""Build and runtime configuration report."""
import os
import platform
import sys

from ._openmp_helpers import _cpu_count, _effective_n_threads, _openmp_enabled


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
        that ``n_threads=None`` means now), ``cpu_count``, ``omp_wait_policy``
        (featpool sets PASSIVE unless you set it), and versions.

    Examples
    --------
    >>> import featpool
    >>> sorted(featpool.show_config(print_out=False))
    ['cpu_count', 'featpool', 'n_threads', 'numpy', 'omp_wait_policy', 'openmp', 'python']
    """
    import numpy as np

    from . import __version__

    config = {
        "featpool": __version__,
        "openmp": _openmp_enabled(),
        "n_threads": _effective_n_threads(None),
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", ""),
        "cpu_count": _cpu_count(),
        "numpy": np.__version__,
        "python": f"{platform.python_implementation()} {sys.version.split()[0]}",
    }
    if print_out:
        for key, value in config.items():
            print(f"{key:>10}: {value}")
    return config
