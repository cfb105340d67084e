"""
Digits in a Pipeline with GridSearchCV
======================================

:class:`~featpool.FilterBankPooling` is a scikit-learn transformer: it goes
into a :class:`~sklearn.pipeline.Pipeline`, its parameters are searched by
:class:`~sklearn.model_selection.GridSearchCV` like any other step's, and
it names its features. Here: scikit-learn's 8x8 digits, given as flat
rows (they are read as 8x8 images, the row length being a square).
"""
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from featpool import FilterBankPooling

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.5, random_state=0,
                                                    stratify=y)
pipeline = Pipeline([
    ("features", FilterBankPooling()),
    ("scale", StandardScaler()),
    ("classify", LogisticRegression(C=0.1, max_iter=2000)),
])

# %%
# The search: pyramid levels and number of orientations, 3-fold
# cross-validation on the training half.
search = GridSearchCV(pipeline, {
    "features__levels": [(1,), (1, 2), (1, 2, 4)],
    "features__n_orientations": [4, 6],
}, cv=3)
search.fit(X_train, y_train)
results = pd.DataFrame(search.cv_results_)
columns = ["param_features__levels", "param_features__n_orientations", "mean_test_score",
           "mean_fit_time"]
print(results[columns].sort_values("mean_test_score", ascending=False).to_string(index=False))
print("best:", search.best_params_)
print(f"test accuracy of the best pipeline: {search.score(X_test, y_test):.3f}")

# %%
# Against raw pixels, with the same scaler and classifier.
pixels = Pipeline([("scale", StandardScaler()),
                   ("classify", LogisticRegression(C=0.1, max_iter=2000))])
print(f"raw pixels: {pixels.fit(X_train, y_train).score(X_test, y_test):.3f}")

# %%
# The features have names: ``{filter}_{op}_l{level}_c{cell}``. The pipeline
# outputs pandas when asked to.
best = search.best_estimator_
names = best.named_steps["features"].get_feature_names_out()
print(len(names), "features:", ", ".join(names[:3]), "...")
frame = best.named_steps["features"].set_output(transform="pandas").transform(X_test[:3])
print(frame.iloc[:, :4])

# %%
# The mean test score for each number of pyramid levels and orientations.
fig, ax = plt.subplots(figsize=(5, 3), layout="constrained")
for n_orientations, group in results.groupby("param_features__n_orientations"):
    ax.plot([str(level) for level in group.param_features__levels], group.mean_test_score,
            "o-", label=f"{n_orientations} orientations")
ax.set_xlabel("levels")
ax.set_ylabel("CV accuracy")
ax.legend()
plt.show()
