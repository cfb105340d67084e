"""Per-sample normalization of feature vectors."""
import numpy as np

from ._vocabulary import check_option

__all__ = ["NORMALIZATIONS", "normalize"]

NORMALIZATIONS = ("l2", "power")


def normalize(features, method, *, copy=True):
    """Normalize each row of ``features`` (n, d).

    Parameters
    ----------
    features : ndarray of shape (n, d)
        Float features; other dtypes are cast to float64.
    method : {'l2', 'power'} or None
        'l2' divides each row by its Euclidean norm; 'power' first takes the
        signed square root of each feature (it tames the heavy tails of
        pooled energies; Perronnin et al. 2010), then divides by the norm.
        None returns ``features`` unchanged. A row of zeros stays zero.
    copy : bool, default True
        False normalizes a float array in place (as
        :func:`sklearn.preprocessing.normalize`); the caller's array is never
        changed otherwise.

    Returns
    -------
    features : ndarray of shape (n, d)

    Examples
    --------
    >>> import numpy as np
    >>> from featpool.normalization import normalize
    >>> normalize(np.array([[3.0, 4.0], [0.0, 0.0]]), "l2")
    array([[0.6, 0.8],
           [0. , 0. ]])
    >>> normalize(np.array([[9.0, -16.0]]), "power")
    array([[ 0.6, -0.8]])
    """
    if method is None:
        return features
    check_option(method, "normalization", NORMALIZATIONS)
    features = np.asarray(features)
    if features.dtype.kind != "f":
        features = features.astype(np.float64)
    elif copy:
        features = features.copy()
    if features.ndim != 2:
        raise ValueError(f"normalize takes features of shape (n_samples, n_features). Got "
                         f"shape {features.shape}.")
    if method == "power":
        np.copysign(np.sqrt(np.abs(features), out=np.empty_like(features)), features,
                    out=features)
    # Divided by its largest magnitude first, a row's norm neither underflows
    # (float32 features near 1e-30) nor overflows.
    scale = np.max(np.abs(features), axis=1, keepdims=True) if features.size else 1.0
    features /= np.where(scale > 0, scale, 1.0)
    norm = np.linalg.norm(features, axis=1, keepdims=True)
    features /= np.maximum(norm, np.finfo(features.dtype).tiny)
    return features
