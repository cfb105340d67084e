"""Filter banks built in the Fourier domain, with per-filter metadata.

Every builder takes the grid ``shape`` it builds the bank for and a ``dtype``
(float32 or float64), and returns a cached, read-only :class:`FilterBank`.
"""
from .._cache import clear_cache
from ._bank import FilterBank
from .classic import dog_bank, leung_malik_bank, log_bank, rfs_bank, schmid_bank
from .gabor import gabor_bank, gabor_bank_3d, morlet_bank, morlet_bank_3d
from .learned import PatchFilters, learn_patch_filters
from ._registry import BANKS

__all__ = [
    "BANKS",
    "FilterBank",
    "PatchFilters",
    "clear_cache",
    "dog_bank",
    "gabor_bank",
    "gabor_bank_3d",
    "learn_patch_filters",
    "leung_malik_bank",
    "log_bank",
    "morlet_bank",
    "morlet_bank_3d",
    "rfs_bank",
    "schmid_bank",
]
