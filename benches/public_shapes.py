#!/usr/bin/env python3
"""Prototype of finer shape functions for clientele's lapse model, and of the pairs' axes,
against the same protocol as `public_pairs.py`: stratified 5-fold CV (seed 0), mean
held-out ROC AUC; inside each training part an inner stratified 5-fold CV (seed 0)
chooses the penalty (and the pairs' penalty) by out-of-fold log loss, as clientele does.

    python benches/public_shapes.py WORKDIR forms DATASET VARIANT[,VARIANT...]
    python benches/public_shapes.py WORKDIR pairs DATASET VARIANT[,VARIANT...]
    python benches/public_shapes.py WORKDIR boost DATASET gbmDEPTH_TREES_RATE | ebmINTERACTIONS

DATASET: churn, telco, caravan, cdnow (fetched by `public_pairs.py`'s loaders into WORKDIR), or
`features:PATH`, a table of features with a 0/1 `lapsed` column (`feature_ceiling.py` writes
one for a generated book): text columns are categorical, the rest numeric.
Needs scikit-learn and pandas; `ebm...` needs interpret-core.

`forms` variants (the additive model; numeric features cut by a port of clientele's
`quantile_bins`, categories one-hot):
- `linear`, `onehot5`, `onehot10`: clientele's forms (standardised bin indicators, one
  L2 penalty, penalties 0.1 ... 1000);
- `stepsB{std,const}`: B bins as thermometer steps I(x > cut_j) under one L2 penalty, i.e.
  a first-difference (smoothness) penalty on adjacent bins' weights (`std`: each step
  standardised, so a difference is weighed by its step's standard deviation; `const`:
  every step alike); `+lin` adds the standardised linear column;
- `lin+stepsBqQ`: the linear column plus B steps whose penalty is Q times the slope's.

`pairs` variants: the additive part as `cellsB` (one-hot, B bins) or `stepsB`, plus N pairs
(`_pNxA`: axes of A quantile bins) screened FAST-style on the additive fit's residuals,
encoded as one-hot cells (clientele's) or as products of the two sides' steps (a penalty
on mixed second differences); the pairs' penalty multiple is chosen by the inner CV.
"""

import itertools
import os
import sys
import time
import warnings

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss, roc_auc_score
from sklearn.model_selection import StratifiedKFold

warnings.filterwarnings("ignore")
ARGV = list(sys.argv)
sys.argv = sys.argv[:2]
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import public_pairs  # noqa: E402  (its loaders fetch the data into WORK)

DATA = {f.__name__: f for f in (public_pairs.churn, public_pairs.telco, public_pairs.caravan, public_pairs.cdnow)}


def features_table(path):
    """A `features:PATH` data set: the features of a generated book and its truth's label."""
    x = pd.read_csv(path)
    y = x.pop("lapsed").to_numpy()
    categorical = [c for c in x.columns if not pd.api.types.is_numeric_dtype(x[c])]
    for c in categorical:
        x[c] = x[c].astype(str)
    return path, x, y, [c for c in x.columns if c not in categorical], categorical


if len(ARGV) > 3 and ARGV[3].startswith("features:"):
    DATA[ARGV[3]] = lambda: features_table(ARGV[3].split(":", 1)[1])

def runs_of(s):
    runs, start = [], 0
    for i in range(1, len(s) + 1):
        if i == len(s) or s[i] != s[i - 1]:
            runs.append((start, i)); start = i
    return runs

def join_small(spans, mn):
    size = lambda r: r[1] - r[0]
    while len(spans) > 1:
        small = [(size(s), k) for k, s in enumerate(spans) if size(s) < mn]
        if not small: break
        _, k = min(small)
        left = size(spans[k-1]) if k > 0 else None
        right = size(spans[k+1]) if k + 1 < len(spans) else None
        if left is not None and right is not None and right < left: into = k + 1
        elif left is not None: into = k - 1
        else: into = k + 1
        a, b = min(k, into), max(k, into)
        spans[a] = (spans[a][0], spans[b][1]); del spans[b]

def quantile_cuts(values, bins, min_share=0.01):
    s = np.sort(values); n = len(s)
    runs = runs_of(s)
    if len(runs) < 3: return None
    size = lambda r: r[1] - r[0]
    target = n / max(bins, 1)
    heavy = lambda r: size(r) >= target
    hc = sum(1 for r in runs if heavy(r))
    lt = sum(size(r) for r in runs if not heavy(r))
    lb = max(bins - hc, 1)
    spans, i = [], 0
    while i < len(runs):
        if heavy(runs[i]): spans.append(runs[i]); i += 1; continue
        j = next((k for k in range(i, len(runs)) if heavy(runs[k])), len(runs))
        first, end = runs[i][0], runs[j-1][1]
        allot = max(int(round(lb * (end - first) / max(lt, 1))), 1)
        step = (end - first) / allot
        start = first
        for r in runs[i:j-1]:
            boundary = (np.floor((start - first) / step) + 1) * step
            if r[1] - first >= boundary - 1e-9:
                spans.append((start, r[1])); start = r[1]
        spans.append((start, end)); i = j
    join_small(spans, max(int(np.ceil(min_share * n)), 1))
    if len(spans) < 2: return None
    return np.array([(s[a[1]-1] + s[b[0]]) / 2 for a, b in zip(spans, spans[1:])])

class Design:
    """form: 'linear', ('onehot', B), ('steps', B, scale, linear)"""
    def __init__(self, X, numeric_idx, cat_cols, form):
        self.form, self.num, self.cat = form, numeric_idx, cat_cols
        Xn = X[:, numeric_idx]
        self.med = np.nanmedian(Xn, axis=0)
        Xn = np.where(np.isnan(Xn), self.med, Xn)
        self.mu, self.sd = Xn.mean(0), Xn.std(0) + 1e-12
        self.cuts = []
        for j in range(Xn.shape[1]):
            self.cuts.append(None if form == "linear" else quantile_cuts(Xn[:, j], form[1]))
        self.raw = self._raw(X)
        # standardisation of expanded columns from training
        self.cm = self.raw.mean(0); self.cs = self.raw.std(0); self.cs[self.cs == 0] = 1
        self.colscale = self._colscale()
    def _colscale(self):
        sc = []
        for j, c in enumerate(self.cuts):
            if c is None: sc.append(None); continue
            sc.extend([j] * (len(c) + 1 if self.form[0] == "onehot" else len(c)))
            if self.form[0] == "steps" and self.form[3]: sc.append(None)
        return sc
    def _raw(self, X):
        Xn = X[:, self.num]
        Xn = np.where(np.isnan(Xn), self.med, Xn)
        cols = []
        for j, c in enumerate(self.cuts):
            z = (Xn[:, j] - self.mu[j]) / self.sd[j]
            if c is None: cols.append(z[:, None]); continue
            x = Xn[:, j]
            if self.form[0] == "onehot":
                b = np.searchsorted(c, x, side="right")
                cols.append((b[:, None] == np.arange(len(c) + 1)[None, :]).astype(float))
            else:
                cols.append((x[:, None] > c[None, :]).astype(float))
                if self.form[3]: cols.append(z[:, None])
        cols.append(X[:, self.cat])
        return np.hstack(cols)
    def transform(self, X):
        R = self._raw(X)
        out = R - self.cm
        # categories raw 0/1 (clientele), bins/steps standardised or constant-scaled
        nb = R.shape[1] - len(self.cat)
        out[:, nb:] = R[:, nb:]
        if self.form == "linear" or self.form[0] == "onehot" or self.form[2] == "std":
            out[:, :nb] /= self.cs[:nb]
        else:  # constant scale: unit step = 1/0.5 (sd of a half share)
            lin = np.array([s is None for s in self.colscale] + [])
            sc = np.where(lin, self.cs[:nb], 0.5)
            out[:, :nb] /= sc
        if self.form != "linear" and self.form[0] == "steps" and len(self.form) > 4:
            steps = np.array([s is not None for s in self.colscale])
            out[:, :nb][:, steps] /= np.sqrt(self.form[4])
        return out

def fit(Xtr, ytr, alpha):
    m = LogisticRegression(C=1.0 / alpha, solver="newton-cholesky", tol=1e-8, max_iter=200)
    m.fit(Xtr, ytr)
    return m

def cv_form(X, y, num, cat, form, alphas, seed=0):
    """inner 5-fold oof log loss per alpha; returns best alpha, its loss"""
    sk = StratifiedKFold(5, shuffle=True, random_state=seed)
    oof = {a: np.zeros(len(y)) for a in alphas}
    for tr, te in sk.split(X, y):
        d = Design(X[tr], num, cat, form)
        A, B = d.transform(X[tr]), d.transform(X[te])
        for a in alphas:
            oof[a][te] = fit(A, y[tr], a).predict_proba(B)[:, 1]
    losses = {a: log_loss(y, oof[a]) for a in alphas}
    a = min(alphas, key=lambda a: losses[a])
    return a, losses[a], roc_auc_score(y, oof[a])

ALPHAS = [0.1, 1, 10, 100, 1000]
FINE = [0.1, 0.3, 1, 3, 10, 30, 100, 300, 1000, 3000]

def main_forms(name, forms):
    data = DATA[name]()
    _, df, y, numeric, categorical = data
    import pandas as pd
    dd = pd.get_dummies(df, columns=categorical, dtype=float)
    cols = list(dd.columns)
    X = dd.to_numpy(float)
    num = [cols.index(c) for c in numeric]
    cat = [i for i in range(len(cols)) if i not in num]
    outer = StratifiedKFold(5, shuffle=True, random_state=0)
    res = {f[0]: [] for f in forms}; chosen = []; chosen_auc = []; chosen_plain = []; chosen_plain_auc = []
    for k, (tr, te) in enumerate(outer.split(X, y)):
        inner = {}
        for label, form, alphas in forms:
            a, l, cvauc = cv_form(X[tr], y[tr], num, cat, form, alphas)
            d = Design(X[tr], num, cat, form)
            p = fit(d.transform(X[tr]), y[tr], a).predict_proba(d.transform(X[te]))[:, 1]
            auc = roc_auc_score(y[te], p)
            res[label].append(auc); inner[label] = (l, auc, a)
            print(f"  fold {k} {label:22s} alpha {a:7g} oof-ll {l:.5f} cvauc {cvauc:.4f} test auc {auc:.4f}", flush=True)
        best = min(inner, key=lambda f: inner[f][0]); chosen.append(best); chosen_auc.append(inner[best][1])
        plain = [f for f in inner if f in ("linear", "onehot5", "onehot10")]
        bp = min(plain, key=lambda f: inner[f][0]); chosen_plain.append(bp); chosen_plain_auc.append(inner[bp][1])
    print(f"== {name}")
    for label, s in res.items():
        print(f"  {label:22s} {np.mean(s):.4f}  ({' '.join(f'{v:.4f}' for v in s)})")
    print(f"  chosen(plain forms)      {np.mean(chosen_plain_auc):.4f} {chosen_plain}")
    print(f"  chosen(all)              {np.mean(chosen_auc):.4f} {chosen}")


class Model:
    """additive part: numeric -> bins (onehot or steps), categorical -> onehot codes.
    pairs: list of (f, g); pair columns per enc: 'cells' (one-hot cells) or 'steps' (products of side step/onehot bases)"""
    def __init__(self, F, cat, y, bins, enc, pairs, pbins, pen):
        self.cat, self.bins, self.enc, self.pairs, self.pbins, self.pen = cat, bins, enc, pairs, pbins, pen
        self.cuts = {}
        for j in range(F.shape[1]):
            if not cat[j]:
                self.cuts[j] = quantile_cuts(F[:, j], bins)
        self.pcuts = {}
        for f, g in pairs:
            for j in (f, g):
                if not cat[j] and j not in self.pcuts:
                    self.pcuts[j] = quantile_cuts(F[:, j], pbins)
        R, self.kinds = self.raw(F)
        self.m = R.mean(0); self.s = R.std(0); self.s[self.s == 0] = 1
    def basis(self, x, j, cuts, enc):
        if self.cat[j]:
            levels = self.levels[j]
            return (x[:, None] == levels[None, :]).astype(float)
        if cuts is None:
            return x[:, None].astype(float)
        if enc == "steps":
            return (x[:, None] > cuts[None, :]).astype(float)
        b = np.searchsorted(cuts, x, side="right")
        return (b[:, None] == np.arange(len(cuts) + 1)[None, :]).astype(float)
    def raw(self, F):
        if not hasattr(self, "levels"):
            self.levels = {j: np.unique(F[:, j]) for j in range(F.shape[1]) if self.cat[j]}
        cols, kinds = [], []
        for j in range(F.shape[1]):
            B = self.basis(F[:, j], j, self.cuts.get(j), self.enc)
            cols.append(B); kinds += ["main"] * B.shape[1]
        for f, g in self.pairs:
            if self.enc == "steps":
                A = self.basis(F[:, f], f, self.pcuts.get(f), "steps")
                B = self.basis(F[:, g], g, self.pcuts.get(g), "steps")
                P = (A[:, :, None] * B[:, None, :]).reshape(len(F), -1)
            else:
                A = self.basis(F[:, f], f, self.pcuts.get(f), "onehot")
                B = self.basis(F[:, g], g, self.pcuts.get(g), "onehot")
                P = (A[:, :, None] * B[:, None, :]).reshape(len(F), -1)
            cols.append(P); kinds += ["pair"] * P.shape[1]
        return np.hstack(cols), np.array(kinds)
    def X(self, F):
        R, _ = self.raw(F)
        Z = (R - self.m) / self.s
        if self.enc == "cells":
            sd = np.maximum(self.s, np.sqrt(0.01 * 0.99))
            Z = (R - self.m) / np.where(self.kinds == "pair", sd, self.s)
        Z[:, self.kinds == "pair"] /= np.sqrt(self.pen)
        return Z

def fast_screen(F, cat, y, logit, top, pbins=8):
    p = 1 / (1 + np.exp(-logit)); g = y - p; h = p * (1 - p)
    codes = []
    for j in range(F.shape[1]):
        if cat[j]: codes.append(np.unique(F[:, j], return_inverse=True)[1])
        else:
            c = quantile_cuts(F[:, j], pbins)
            codes.append(np.zeros(len(F), int) if c is None else np.searchsorted(c, F[:, j], side="right"))
    scores = []
    for f, gg in itertools.combinations(range(F.shape[1]), 2):
        a, b = codes[f], codes[gg]
        k = a * (b.max() + 1) + b
        G = np.bincount(k, g); H = np.bincount(k, h)
        Gr = np.bincount(a, g); Hr = np.bincount(a, h); Gc = np.bincount(b, g); Hc = np.bincount(b, h)
        lam = 1.0
        gain = (G**2 / (H + lam)).sum() - (Gr**2 / (Hr + lam)).sum() - (Gc**2 / (Hc + lam)).sum()
        dof = (a.max()) * (b.max())
        scores.append(((2 * gain - dof) / np.sqrt(2 * max(dof, 1)), (f, gg)))
    scores.sort(reverse=True)
    return [s[1] for s in scores[:top]]

def chosen_pairs(F, cat, y, cfg):
    """The pairs of a variant: given by column (`force`), or screened on the additive fit."""
    if "force" in cfg:
        return cfg["force"]
    if not cfg["npairs"]:
        return []
    base = Model(F, cat, y, cfg["bins"], cfg["enc"], [], 4, 1)
    m0 = fit(base.X(F), y, cfg["a0"])
    return fast_screen(F, cat, y, m0.decision_function(base.X(F)), cfg["npairs"])


def cv_pairs(F, cat, y, cfg, alphas, pens, seed=0):
    sk = StratifiedKFold(5, shuffle=True, random_state=seed)
    keys = [(a, q) for a in alphas for q in pens]
    oof = {k: np.zeros(len(y)) for k in keys}
    for tr, te in sk.split(F, y):
        pairs = chosen_pairs(F[tr], cat, y[tr], cfg)
        for q in pens:
            m = Model(F[tr], cat, y[tr], cfg["bins"], cfg["enc"], pairs, cfg["pbins"], q)
            A, B = m.X(F[tr]), m.X(F[te])
            for a in alphas:
                oof[(a, q)][te] = fit(A, y[tr], a).predict_proba(B)[:, 1]
    ll = {k: log_loss(y, oof[k]) for k in keys}
    best = min(keys, key=ll.get)
    return best, ll[best]

def main_pairs(name, cfgs):
    _, df, y, numeric, categorical = DATA[name]()
    F = np.column_stack([df[c].fillna(df[c].median()).to_numpy(float) if c in numeric else pd.factorize(df[c])[0].astype(float) for c in df.columns])
    cat = [c not in numeric for c in df.columns]
    names = list(df.columns)
    res = {c["label"]: [] for c in cfgs}
    for k, (tr, te) in enumerate(StratifiedKFold(5, shuffle=True, random_state=0).split(F, y)):
        for c in cfgs:
            (a, q), ll = cv_pairs(F[tr], cat, y[tr], c, c["alphas"], c["pens"])
            pairs = chosen_pairs(F[tr], cat, y[tr], c)
            m = Model(F[tr], cat, y[tr], c["bins"], c["enc"], pairs, c["pbins"], q)
            p = fit(m.X(F[tr]), y[tr], a).predict_proba(m.X(F[te]))[:, 1]
            auc = roc_auc_score(y[te], p); res[c["label"]].append(auc)
            print(f"  fold {k} {c['label']:28s} a {a:g} pen {q:g} oof-ll {ll:.5f} auc {auc:.4f} pairs {[(names[f], names[g]) for f, g in pairs][:4]}", flush=True)
    print(f"== {name}")
    for l, s in res.items():
        print(f"  {l:28s} {np.mean(s):.4f} ({' '.join(f'{v:.4f}' for v in s)})")



FORMS = {
    "linear": ("linear", ALPHAS),
    "onehot5": (("onehot", 5), ALPHAS),
    "onehot10": (("onehot", 10), ALPHAS),
    "steps16std": (("steps", 16, "std", False), FINE),
    "steps32std": (("steps", 32, "std", False), FINE),
    "steps32const": (("steps", 32, "const", False), FINE),
    "steps32std+lin": (("steps", 32, "std", True), FINE),
    "lin+steps16q3": (("steps", 16, "std", True, 3), [10, 30, 100, 300, 1000]),
    "lin+steps16q10": (("steps", 16, "std", True, 10), [10, 30, 100, 300, 1000]),
    "lin+steps16q100": (("steps", 16, "std", True, 100), [10, 30, 100, 300, 1000]),
}

PAIRS = {
    "cells10_p8x4": dict(enc="cells", bins=10, npairs=8, pbins=4, a0=10, alphas=[10], pens=[1, 10, 100]),
    "cells10_p8x8": dict(enc="cells", bins=10, npairs=8, pbins=8, a0=10, alphas=[10], pens=[1, 10, 100]),
    "steps16_p8x8": dict(enc="steps", bins=16, npairs=8, pbins=8, a0=30, alphas=[10, 30, 100], pens=[1, 3, 10]),
    "steps16_p8x16": dict(enc="steps", bins=16, npairs=8, pbins=16, a0=30, alphas=[10, 30, 100], pens=[1, 3, 10]),
    # telecom's columns 4, 17, 18: tenure, monthly charges, total charges (EBM's strongest pairs)
    "steps16_t3x16": dict(enc="steps", bins=16, npairs=3, force=[(4, 18), (17, 18), (4, 17)], pbins=16, a0=30,
                          alphas=[30, 100], pens=[1, 3, 10]),
    "steps16_t3x32": dict(enc="steps", bins=16, npairs=3, force=[(4, 18), (17, 18), (4, 17)], pbins=32, a0=30,
                          alphas=[30, 100], pens=[1, 3, 10]),
    "cells10_t3x16": dict(enc="cells", bins=10, npairs=3, force=[(4, 18), (17, 18), (4, 17)], pbins=16, a0=10,
                          alphas=[10], pens=[1, 10, 100]),
    "steps16_p20x8": dict(enc="steps", bins=16, npairs=20, pbins=8, a0=30, alphas=[10, 30, 100], pens=[1, 3, 10]),
}


def boost(name, what):
    """Reference models under the same outer folds: scikit-learn's gradient boosting of
    trees of depth D (`gbmD_TREES_RATE`; depth 1 is additive) or explainable boosting
    with I pairs (`ebmI`; 0 is additive)."""
    from sklearn.ensemble import GradientBoostingClassifier

    _, df, y, numeric, categorical = DATA[name]()
    dd = pd.get_dummies(df, columns=categorical, dtype=float).fillna(-1)
    scores = []
    for tr, te in StratifiedKFold(5, shuffle=True, random_state=0).split(dd, y):
        if what.startswith("gbm"):
            depth, trees, rate = what[3:].split("_")
            m = GradientBoostingClassifier(max_depth=int(depth), n_estimators=int(trees), learning_rate=float(rate),
                                           random_state=0).fit(dd.iloc[tr], y[tr])
            p = m.predict_proba(dd.iloc[te])[:, 1]
        else:
            from interpret.glassbox import ExplainableBoostingClassifier

            m = ExplainableBoostingClassifier(random_state=0, interactions=int(what[3:])).fit(df.iloc[tr], y[tr])
            p = m.predict_proba(df.iloc[te])[:, 1]
        scores.append(roc_auc_score(y[te], p))
    print(f"== {name} {what} {np.mean(scores):.4f} ({' '.join(f'{v:.4f}' for v in scores)})")


def main():
    kind, name, variants = ARGV[2], ARGV[3], ARGV[4].split(",")
    start = time.time()
    if kind == "forms":
        main_forms(name, [(v, *FORMS[v]) for v in variants])
    elif kind == "pairs":
        main_pairs(name, [dict(label=v, **PAIRS[v]) for v in variants])
    else:
        for v in variants:
            boost(name, v)
    print(f"{time.time() - start:.0f} s")


if __name__ == "__main__":
    main()
