"""Optional peers for the benchmarks, imported defensively.

Kymatio 0.3 imports ``scipy.special.sph_harm``, removed in SciPy 1.17; the
shim maps it onto its replacement ``sph_harm_y`` (different argument order:
``sph_harm(m, n, azimuth, polar) == sph_harm_y(n, m, polar, azimuth)``) before
Kymatio is imported. Only the 3D scattering uses it; featpool never does.
"""
import scipy.special


def import_kymatio_scattering2d():
    """Return kymatio.numpy.Scattering2D, or None if Kymatio is not installed."""
    if not hasattr(scipy.special, "sph_harm") and hasattr(scipy.special, "sph_harm_y"):
        def sph_harm(m, n, theta, phi):
            return scipy.special.sph_harm_y(n, m, phi, theta)

        scipy.special.sph_harm = sph_harm
    try:
        from kymatio.numpy import Scattering2D
    except ImportError:
        return None
    return Scattering2D


def import_torch():
    """Return (torch, torch.nn.functional), or (None, None) if not installed."""
    try:
        import torch
        import torch.nn.functional as F
    except ImportError:
        return None, None
    return torch, F
