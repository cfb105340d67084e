# Typed signatures of the Cython kernels (featpool/_pooling.pyx). Private: call
# the functions of featpool.pooling, which validate and allocate.
import numpy as np
from numpy.typing import NDArray

def scratch_size(
    geometry: NDArray[np.intp],
    taps_d: NDArray[np.intp],
    taps_h: NDArray[np.intp],
    taps_w: NDArray[np.intp],
    counts: NDArray[np.float64],
    block_d: int,
    block_h: int,
    width: int,
) -> int: ...
def pool_kernel(
    x: NDArray[np.float32] | NDArray[np.float64],
    mask: NDArray[np.uint8],
    geometry: NDArray[np.intp],
    taps_d: NDArray[np.intp],
    taps_h: NDArray[np.intp],
    taps_w: NDArray[np.intp],
    counts_d: NDArray[np.float64],
    counts_h: NDArray[np.float64],
    counts_w: NDArray[np.float64],
    block_n: int,
    block_d: int,
    block_h: int,
    op: int,
    p: float,
    omit: bool,
    use_mask: bool,
    with_idx: bool,
    include_pad: bool,
    transform: int,
    cplx: bool,
    out: NDArray[np.float32] | NDArray[np.float64],
    indices: NDArray[np.int64],
    scratch: NDArray[np.float64],
    iscratch: NDArray[np.int64],
    n_threads: int,
) -> None: ...
