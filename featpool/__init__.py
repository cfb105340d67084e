"""featpool: image feature extraction with filter banks and fast 2D/3D pooling."""
from ._config import show_config
from .pooling import (
    adaptive_pool2d,
    adaptive_pool3d,
    global_pool,
    pool2d,
    pool3d,
    pool_output_shape,
    pyramid_pool,
)

__version__ = "0.1.0.dev0"

__all__ = [
    "adaptive_pool2d",
    "adaptive_pool3d",
    "global_pool",
    "pool2d",
    "pool3d",
    "pool_output_shape",
    "pyramid_pool",
    "show_config",
]
