# Typed signatures of the Cython kernels (featpool/_spectral.pyx). Private: the
# engine (featpool/responses.py) validates and allocates. Complex arrays are
# passed as interleaved (re, im) views of their real dtype.
import numpy as np
from numpy.typing import NDArray

def multiply(
    spectra: NDArray[np.float32] | NDArray[np.float64],
    filters: NDArray[np.float32] | NDArray[np.float64],
    bins: NDArray[np.intp],
    gather: bool,
    out: NDArray[np.float32] | NDArray[np.float64],
    n_threads: int,
) -> None: ...
