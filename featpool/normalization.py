"""Per-sample normalization of feature vectors."""
import numpy as np

from ._vocabulary import check_option

__all__ = ["NORMALIZATIONS", "normalize"]

NORMALIZATIONS = ("l2", "power")


def normalize(features, method):
    """Normalize each row of ``features`` (n, d), in place where the dtype allows.

    Parameters
    ----------
    features : ndarray of shape (n, d)
        Float features; other dtypes are cast to float64 (a copy).
    method : {'l2', 'power'} or None
        'l2' divides each row by its Euclidean norm; 'power' first takes the
        signed square root of each feature (it tames the heavy tails of
        pooled energies; Perronnin et al. 2010), then divides by the norm.
        None returns ``features`` unchanged. A row of zeros stays zero.

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
    if features.ndim != 2:
        raise ValueError(f"normalize takes features of shape (n_samples, n_features). Got "
                         f"shape {features.shape}.")
    if method == "power":
        features = np.sign(features) * np.sqrt(np.abs(features))
    norm = np.linalg.norm(features, axis=1, keepdims=True)
    features /= np.maximum(norm, np.finfo(features.dtype).tiny)
    return features
