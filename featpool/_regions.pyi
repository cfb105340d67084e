# Typed signatures of the Cython kernels (featpool/_regions.pyx). Private: call
# the functions of featpool.regions, which validate and allocate.
import numpy as np
from numpy.typing import NDArray

def accumulate(
    x: NDArray[np.float32] | NDArray[np.float64],
    source: NDArray[np.intp],
    transform: NDArray[np.intc],
    target: NDArray[np.intp],
    cplx: bool,
    labels: NDArray[np.int32],
    lut: NDArray[np.int32],
    shape: NDArray[np.intp],
    origin: NDArray[np.intp],
    box: NDArray[np.intp],
    levels: NDArray[np.intp],
    powers: NDArray[np.float64],
    omit: bool,
    extremes: bool,
    moments: bool,
    acc: NDArray[np.float64],
    n_threads: int,
) -> None: ...
def geometry(
    labels: NDArray[np.int32],
    shape: NDArray[np.intp],
    area: NDArray[np.int64],
    box: NDArray[np.intp],
    centroid: NDArray[np.float64],
) -> None: ...
