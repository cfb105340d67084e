"""featpool: image feature extraction with filter banks and fast 2D/3D pooling.

The path of every image: filter bank (``featpool.filters``) → responses and
nonlinearity (``featpool.responses``) → pooling (``featpool.pooling``).
"""
from ._config import show_config
from .filters import (
    FilterBank,
    PatchFilters,
    clear_cache,
    dog_bank,
    gabor_bank,
    gabor_bank_3d,
    learn_patch_filters,
    leung_malik_bank,
    log_bank,
    morlet_bank,
    morlet_bank_3d,
    rfs_bank,
    schmid_bank,
)
from .pooling import (
    Pooling,
    adaptive_pool2d,
    adaptive_pool3d,
    global_pool,
    pool2d,
    pool3d,
    pool_output_shape,
    pyramid_pool,
)
from .responses import filter_pool, filter_responses, response_maps

__version__ = "0.1.0.dev0"

__all__ = [
    "FilterBank",
    "PatchFilters",
    "Pooling",
    "adaptive_pool2d",
    "adaptive_pool3d",
    "clear_cache",
    "dog_bank",
    "filter_pool",
    "filter_responses",
    "gabor_bank",
    "gabor_bank_3d",
    "global_pool",
    "learn_patch_filters",
    "leung_malik_bank",
    "log_bank",
    "morlet_bank",
    "morlet_bank_3d",
    "pool2d",
    "pool3d",
    "pool_output_shape",
    "pyramid_pool",
    "response_maps",
    "rfs_bank",
    "schmid_bank",
    "show_config",
]
