"""Record the features of a fixed set of inputs for every pipeline option.

Run once before a refactor of the pipeline (``python tests/_make_pipeline_fixture.py``);
``tests/test_pipeline_fixture.py`` checks that the features stay the same.
"""
import pathlib

import numpy as np

FIXTURE = pathlib.Path(__file__).parent / "data" / "pipeline_features.npz"

# (name, FilterBankPooling parameters, input name)
CASES = [
    ("default", {}, "gray"),
    ("morlet", {"bank": "morlet"}, "gray"),
    ("leung_malik", {"bank": "leung_malik"}, "gray"),
    ("schmid", {"bank": "schmid"}, "gray"),
    ("rfs", {"bank": "rfs"}, "gray"),
    ("log", {"bank": "log", "n_scales": 3}, "gray"),
    ("dog", {"bank": "dog"}, "gray"),
    ("learned", {"bank": "learned", "bank_params": {"n_filters": 6, "n_patches": 500},
                 "random_state": 0}, "gray"),
    ("real", {"nonlinearity": "real"}, "gray"),
    ("abs", {"nonlinearity": "abs"}, "gray"),
    ("relu_split", {"nonlinearity": "relu_split"}, "gray"),
    ("square", {"nonlinearity": "square"}, "gray"),
    ("ops", {"pooling": ("max", "min", "sum", "lp", "var", "std"), "levels": (1, 2)}, "gray"),
    ("rotation_max", {"rotation": "max"}, "gray"),
    ("rotation_fourier", {"rotation": "fourier", "levels": (1,)}, "gray"),
    ("scale_pooling", {"scale_pooling": 2}, "gray"),
    ("scale_rotation", {"scale_pooling": 2, "rotation": "fourier"}, "gray"),
    ("second_layer", {"second_layer": True, "n_scales": 3}, "gray"),
    ("l2", {"normalization": "l2"}, "gray"),
    ("none", {"normalization": None}, "gray"),
    ("reflect", {"mode": "reflect"}, "gray"),
    ("float64", {"dtype": np.float64}, "gray"),
    ("channels", {"channel_axis": -1}, "rgb"),
    ("volumes", {"n_orientations": 4}, "volume"),
    ("volumes_rotation", {"n_orientations": 4, "rotation": "max", "levels": (1, 2)}, "volume"),
    ("ragged", {}, "ragged"),
]


def inputs():
    rng = np.random.default_rng(0)
    return {
        "gray": rng.random((3, 24, 20)),
        "rgb": rng.random((2, 20, 20, 3)),
        "volume": rng.random((2, 10, 12, 11)),
        "ragged": [rng.random((18, 22)), rng.random((24, 20)), rng.random((30, 16))],
    }


def compute(params, X):
    from featpool import FilterBankPooling

    model = FilterBankPooling(**params).fit(X)
    return model.transform(X), np.asarray(model.get_feature_names_out(), dtype=str)


def main():
    X = inputs()
    out = {}
    for name, params, source in CASES:
        features, names = compute(params, X[source])
        out[name] = features
        out[name + "__names"] = names
    np.savez_compressed(FIXTURE, **out)
    print(f"wrote {FIXTURE} ({len(CASES)} cases)")


if __name__ == "__main__":
    main()
