#!/usr/bin/env python3
"""How close any model over clientele's features can come to a generated book's truth.

    python benches/feature_ceiling.py BOOK BUNDLE [FEATURES_CSV]

BOOK is a `clientele-synth` book (with its `truth.csv`), BUNDLE a model trained on it (its
`latest` file or a version directory). The features of every client in force at the
bundle's cut-off are computed by the bundle (`Bundle.features`, the training's own
point-in-time features), labelled by the truth (lapsed within the horizon), and scored
under stratified 5-fold CV (seed 0) by scikit-learn's histogram gradient boosting (depth
unlimited and depth 2, early stopping) and by clientele's own lapse model on the same
folds (flat mode over the same features, additive and with `pairs = 8`, as
`public_pairs.py` runs it). Printed beside them: the AUC of the generator's true
probabilities on the same clients, which also see the latent traits no feature holds.
With FEATURES_CSV, the labelled features are also written there (a `lapsed` column 0/1),
for `public_shapes.py WORKDIR forms features:FEATURES_CSV ...`.

Needs the clientele Python package (`pip install` of the wheel, or PYTHONPATH=python over a
`maturin develop` build), pandas, pyarrow, scikit-learn, and the built `clientele-train`
and `clientele-infer` under $CARGO_TARGET_DIR/release.
"""

import os
import sys

import numpy as np
import pandas as pd
import pyarrow.csv as pc
import pyarrow.parquet as pq
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

import clientele

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from public_pairs import clientele as clientele_flat  # noqa: E402  (runs the CLI on a fold)

SOURCES = ("clients", "policies", "payments", "claims", "contacts")


def read(book, name):
    parquet = os.path.join(book, f"{name}.parquet")
    return pq.read_table(parquet) if os.path.exists(parquet) else pc.read_csv(os.path.join(book, f"{name}.csv"))


def main():
    book, bundle_path = sys.argv[1], sys.argv[2]
    bundle = clientele.Bundle.load(bundle_path)
    tables = {name: read(book, name) for name in SOURCES}
    features = bundle.features(tables, as_of=bundle.cutoff).to_pandas()
    truth = pd.read_csv(os.path.join(book, "truth.csv"))
    truth = truth[(truth.in_force_at_cutoff == True) & truth.lapsed_in_horizon.notna()]  # noqa: E712
    data = features.merge(truth[["client_id", "lapse_probability", "lapsed_in_horizon"]], on="client_id")
    y = data.pop("lapsed_in_horizon").astype(bool).to_numpy()
    true_p = data.pop("lapse_probability").to_numpy()
    x = data.drop(columns=["client_id"])
    for c in x.columns:
        if pd.api.types.is_bool_dtype(x[c]):
            x[c] = x[c].astype(int)
    if len(sys.argv) > 3:
        x.assign(lapsed=y.astype(int)).to_csv(sys.argv[3], index=False)
    categorical = [c for c in x.columns if not pd.api.types.is_numeric_dtype(x[c])]
    numeric = [c for c in x.columns if c not in categorical]
    texts = x.copy()
    for c in categorical:
        x[c] = x[c].astype("category")
    work = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"feature-ceiling-{os.getpid()}")
    variants = (("clientele additive", "pairs = 0\n"), ("clientele pairs", "pairs = 8\n"))
    print(f"{len(x)} clients in force at {bundle.cutoff}, {x.shape[1]} features, lapse rate {y.mean():.4f}")
    scores = {"true probabilities": [], "gradient boosting": [], "gradient boosting, depth 2": []}
    scores.update({name: [] for name, _ in variants})
    forms = []
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=0).split(x, y)
    for k, (train, test) in enumerate(folds):
        scores["true probabilities"].append(roc_auc_score(y[test], true_p[test]))
        for v, (name, lapse) in enumerate(variants):
            p, form = clientele_flat(
                texts.iloc[train], y[train], texts.iloc[test], numeric, categorical, lapse,
                os.path.join(work, f"{k}-{v}"),
            )
            scores[name].append(roc_auc_score(y[test], p))
            forms.append(form)
        for name, depth in (("gradient boosting", None), ("gradient boosting, depth 2", 2)):
            model = HistGradientBoostingClassifier(
                categorical_features="from_dtype", max_depth=depth, max_iter=500,
                learning_rate=0.05, early_stopping=True, random_state=0,
            ).fit(x.iloc[train], y[train])
            scores[name].append(roc_auc_score(y[test], model.predict_proba(x.iloc[test])[:, 1]))
    for name, s in scores.items():
        print(f"  {name:28s} {np.mean(s):.4f} (folds {' '.join(f'{v:.4f}' for v in s)})")
    print(f"  clientele's forms: {forms}")


if __name__ == "__main__":
    main()
