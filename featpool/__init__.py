"""featpool: image feature extraction with filter banks and fast 2D/3D pooling.

The path of every image: samples (``featpool.samples``) → filter bank
(``featpool.filters``) → responses and nonlinearity (``featpool.responses``)
→ pooling (``featpool.pooling``) → invariance (``featpool.invariance``) →
normalization (``featpool.normalization``), with names
(``featpool.feature_names``); ``featpool.pipeline`` composes them.
"""
import importlib
import os

# OpenMP threads that spin while idle steal the cores that scipy.fft's threads
# need between two pooling calls (measured: 2 threads ran the MNIST pipeline
# at 1,132 images/s spinning, 2,015 passive). Sleeping idle threads cost a
# few microseconds per call instead. Set before the kernels load libgomp; a
# value the user set wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

try:  # the first compiled kernel module
    importlib.import_module(__name__ + "._openmp_helpers")
except ModuleNotFoundError as exc:  # a source tree (a fresh clone) shadows the installed one
    if exc.name != __name__ + "._openmp_helpers":
        raise
    raise ImportError(
        f"featpool is imported from its source tree at {os.path.dirname(__path__[0])}, whose "
        f"kernels are not built: run `python setup.py build_ext --inplace` there, or run from "
        f"another folder to use the installed featpool.", name=__name__) from None

from ._config import config_context, get_config, set_config, show_config  # noqa: E402
from .filters import (  # noqa: E402
    BANKS,
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
from .pooling import (  # noqa: E402
    Pooling,
    adaptive_pool2d,
    adaptive_pool3d,
    global_pool,
    pool2d,
    pool3d,
    pool_output_shape,
    pyramid_pool,
)
from .responses import filter_pool, filter_responses, response_maps  # noqa: E402
from .pipeline import extract_features  # noqa: E402
from .regions import region_features  # noqa: E402
from .samples import read_samples  # noqa: E402
from .transformers import FilterBankPooling, SpatialPooling  # noqa: E402

__version__ = "0.1.0.dev0"

__all__ = [
    "BANKS",
    "FilterBank",
    "FilterBankPooling",
    "SpatialPooling",
    "PatchFilters",
    "Pooling",
    "adaptive_pool2d",
    "adaptive_pool3d",
    "clear_cache",
    "config_context",
    "dog_bank",
    "extract_features",
    "filter_pool",
    "filter_responses",
    "gabor_bank",
    "gabor_bank_3d",
    "get_config",
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
    "read_samples",
    "region_features",
    "response_maps",
    "rfs_bank",
    "schmid_bank",
    "set_config",
    "show_config",
]
