"""The job clientele does, written as a competent pandas + scikit-learn script.

This is the yardstick of benches/compare.sh, not part of the product. It reads the same
generated book, computes the same point-in-time features and lapse labels, chooses k for
k-means on a 50k sample (10 k-means++ restarts per k, silhouette on 3,000 clients) and
refines the chosen centres on every client, fits an L2 logistic model whose penalty is
chosen by 5-fold stratified CV on a 50k sample (the same five penalties, C = 1/alpha),
refits it on the whole training part with Wald confidence intervals, runs the
out-of-time check (fit a year earlier, score at the cut-off), and labels next month.

    python peer.py train BOOK WORKDIR     # prints "timing <stage> <seconds>" lines
    python peer.py label BOOK WORKDIR
"""

import json
import pickle
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss, roc_auc_score, silhouette_score
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.preprocessing import OneHotEncoder, StandardScaler

SEED = 42
HORIZON_MONTHS = 12
ALPHAS = [0.1, 1.0, 10.0, 100.0, 1000.0]
# lbfgs to the optimum: at scikit-learn's default tol (1e-4) it stopped after 25
# iterations on the 1M book's final fit, probabilities up to 0.006 from the
# newton-cholesky optimum of peer_polars.py; at 1e-8 it takes ~130 and lands within 1e-5.
LBFGS = {"max_iter": 2000, "tol": 1e-8}
CATEGORICAL = ["gender", "marital_status", "education", "occupation", "region", "city_tier", "channel"]
SEGMENT_FEATURES = ["age", "log_income", "premium_in_force", "tenure_years", "logins_6m"]
CHURN_REASONS = {"lapse", "surrender", "non_renewal"}
PROTECTION = {"whole_life", "term_life", "critical_illness", "accident"}
SAVINGS = {"annuity", "education", "universal_life"}
HEALTH = {"medical", "critical_illness"}


class Timer:
    def __init__(self, name):
        self.name = name

    def __enter__(self):
        self.start = time.perf_counter()

    def __exit__(self, *exc):
        print(f"timing {self.name:<12} {time.perf_counter() - self.start:8.2f} s", flush=True)


def read_book(book):
    def table(name, dates):
        csv, parquet = book / f"{name}.csv", book / f"{name}.parquet"
        if parquet.exists():
            df = pd.read_parquet(parquet)
        else:
            df = pd.read_csv(csv, engine="pyarrow", dtype_backend="pyarrow")
        for d in dates:
            df[d] = pd.to_datetime(df[d], errors="coerce")
        return df.drop_duplicates()

    clients = table("clients", ["birth_date", "first_known_date"])
    clients = clients.drop_duplicates("client_id").reset_index(drop=True)
    known = set(clients["client_id"])
    out = {"clients": clients}
    for name, dates in [
        ("policies", ["start_date", "end_date"]),
        ("payments", ["due_date", "paid_date"]),
        ("claims", ["claim_date"]),
        ("contacts", ["contact_date"]),
    ]:
        df = table(name, dates)
        df = df[df["client_id"].isin(known)]
        for amount in ("annual_premium", "amount", "amount_paid"):
            if amount in df:
                df[amount] = pd.to_numeric(df[amount], errors="coerce").astype("float64")
                df = df[~(df[amount] < 0)]
        for category in ("product", "end_reason", "kind"):
            if category in df:
                df[category] = norm(df[category])
        out[name] = df
    for col in CATEGORICAL:
        clients[col] = norm(clients[col])
    return out


def norm(values):
    """Category spelling as clientele reads it: trimmed, lower case, spaces as '_'."""
    return values.astype(str).str.strip().str.lower().str.replace(r"[\s-]+", "_", regex=True)


def months(date, n):
    return date + pd.DateOffset(months=n)


PER_YEAR = {"annual": 1, "semiannual": 2, "quarterly": 4, "monthly": 12, "single": 1}
CHURN = ["lapse", "surrender", "non_renewal"]


def paid_years(recent, pay, policies, f, y12):
    """Years of premium paid: each instalment 1 / instalments a year of its policy (the
    client's dues a year per policy in force when the frequency is unknown)."""
    k = recent["policy_id"].map(policies.set_index("policy_id")["payment_frequency"].map(PER_YEAR))
    dues = pay[pay["due_date"] > y12].groupby("client_id").size()
    guess = (dues / f["n_policies"].clip(lower=1)).clip(1, 12)
    k = k.fillna(recent["client_id"].map(guess)).fillna(1)
    return (12 / k).groupby(recent["client_id"]).sum() / 12


def renewal_rate(pol, c):
    """Policy anniversaries reached / due by the cut-off (a churn ending misses the next)."""
    end = pol["end_date"].where(pol["end_date"] <= c)
    limit = end.fillna(c)
    years = limit.dt.year - pol["start_date"].dt.year
    reached = years - ((limit.dt.month * 100 + limit.dt.day) < (pol["start_date"].dt.month * 100 + pol["start_date"].dt.day)).astype(int)
    same_day = (limit.dt.month == pol["start_date"].dt.month) & (limit.dt.day == pol["start_date"].dt.day)
    reached = (reached - (same_day & end.notna()).astype(int)).clip(lower=0)
    churned = end.notna() & pol["end_reason"].isin(CHURN)
    next_year = pol["start_date"].dt.year + reached + 1
    due_next = churned & (next_year < c.year) | (churned & (next_year == c.year)
                                                  & ((pol["start_date"].dt.month * 100 + pol["start_date"].dt.day) <= c.month * 100 + c.day))
    g = pd.DataFrame({"client_id": pol["client_id"], "reached": reached, "due": reached + due_next.astype(int)})
    sums = g.groupby("client_id")[["reached", "due"]].sum()
    return (sums["reached"] / sums["due"]).where(sums["due"] > 0)


def features(book, cutoff):
    """Point-in-time features: only records dated on or before the cut-off."""
    c = pd.Timestamp(cutoff)
    clients = book["clients"]
    f = pd.DataFrame(index=pd.Index(clients["client_id"], name="client_id"))
    f["age"] = ((c - clients["birth_date"]).dt.days / 365.25).to_numpy()
    f["dependents"] = pd.to_numeric(clients["dependents"], errors="coerce").to_numpy(float)
    income = pd.to_numeric(clients["annual_income"], errors="coerce").to_numpy(float)
    f["log_income"] = np.log1p(np.clip(income, 0, None))
    for col in CATEGORICAL:
        f[col] = clients[col].to_numpy()

    pol = book["policies"]
    pol = pol[pol["start_date"] <= c]
    in_force = pol[pol["end_date"].isna() | (pol["end_date"] > c)]
    g = in_force.groupby("client_id")
    f["premium_in_force"] = g["annual_premium"].sum()
    f["n_policies"] = g.size()
    f["n_products"] = g["product"].nunique()
    for flag, group in [("has_protection", PROTECTION), ("has_savings", SAVINGS), ("has_health", HEALTH)]:
        f[flag] = in_force[in_force["product"].isin(group)].groupby("client_id").size().gt(0)
    f["tenure_years"] = (c - pol.groupby("client_id")["start_date"].min()).dt.days / 365.25
    f["renewal_rate"] = renewal_rate(pol, c)

    y12, m6, y36 = months(c, -12), months(c, -6), months(c, -36)
    pay = book["payments"]
    pay = pay[pay["due_date"] <= c]
    paid = pay["paid_date"].notna() & (pay["paid_date"] <= c)
    done = pay[paid]
    g = done.groupby("client_id")
    premiums_paid = g["amount"].sum()
    f["days_since_payment"] = (c - g["paid_date"].max()).dt.days
    f["paid_years_36m"] = paid_years(done[done["paid_date"] > y36], pay, book["policies"], f, y12)
    f["paid_12m"] = done[done["paid_date"] > y12].groupby("client_id")["amount"].sum()
    recent = pay[pay["due_date"] > y12]
    missed = recent[~paid.loc[recent.index]]
    dues = recent.groupby("client_id").size()
    f["missed_12m"] = missed.groupby("client_id").size()
    f["missed_6m"] = missed[missed["due_date"] > m6].groupby("client_id").size()
    f["collection_rate_12m"] = 1 - f["missed_12m"].fillna(0) / dues

    cl = book["claims"]
    cl = cl[cl["claim_date"] <= c]
    f["claims_12m"] = cl[cl["claim_date"] > y12].groupby("client_id").size()
    f["claims_ratio"] = cl.groupby("client_id")["amount_paid"].sum() / premiums_paid[premiums_paid > 0]

    co = book["contacts"]
    co = co[co["contact_date"] <= c]
    f["days_since_contact"] = (c - co.groupby("client_id")["contact_date"].max()).dt.days
    co6 = co[co["contact_date"] > m6]
    kinds = co6.groupby(["client_id", "kind"]).size().unstack(fill_value=0)
    f["complaints_6m"] = kinds.get("complaint")
    f["logins_6m"] = kinds.get("app_login")
    f["service_contacts_6m"] = kinds.drop(columns=["complaint", "app_login"], errors="ignore").sum(axis=1)

    counts = ["premium_in_force", "n_policies", "n_products", "has_protection", "has_savings",
              "has_health", "paid_years_36m", "paid_12m", "missed_12m", "missed_6m", "claims_12m",
              "complaints_6m", "logins_6m", "service_contacts_6m"]
    f[counts] = f[counts].astype(float).fillna(0.0)
    f["premium_burden"] = f["premium_in_force"] / np.maximum(np.expm1(f["log_income"]), 1.0)
    f["active"] = f.index.isin(in_force["client_id"])
    return f


def labels(book, cutoff, horizon_end):
    """1 lapsed, 0 stayed, NaN excluded (not in force at the cut-off, or ended otherwise)."""
    c, e = pd.Timestamp(cutoff), pd.Timestamp(horizon_end)
    pol = book["policies"]
    alive = lambda d: (pol["start_date"] <= d) & (pol["end_date"].isna() | (pol["end_date"] > d))
    ended = pol["end_date"].gt(c) & pol["end_date"].le(e) & pol["end_reason"].isin(CHURN_REASONS)
    by = pd.DataFrame({"client_id": pol["client_id"], "at_cutoff": alive(c), "at_end": alive(e), "churn": ended})
    g = by.groupby("client_id")[["at_cutoff", "at_end", "churn"]].any()
    y = pd.Series(np.nan, index=g.index)
    y[g["at_cutoff"] & g["at_end"]] = 0.0
    y[g["at_cutoff"] & ~g["at_end"] & g["churn"]] = 1.0
    return y


class ClipLog(BaseEstimator, TransformerMixin):
    """Clip to the training 0.5/99.5% quantiles; log1p where non-negative and skewed."""

    def fit(self, x, y=None):
        x = np.asarray(x, dtype=float)
        self.lower_, self.upper_ = np.nanquantile(x, 0.005, axis=0), np.nanquantile(x, 0.995, axis=0)
        c = np.clip(x, self.lower_, self.upper_)
        mean, sd = np.nanmean(c, axis=0), np.nanstd(c, axis=0)
        skew = np.nanmean(((c - mean) / np.where(sd > 0, sd, 1)) ** 3, axis=0)
        self.log_ = (self.lower_ >= 0) & (skew > 2)
        return self

    def transform(self, x):
        c = np.clip(np.asarray(x, dtype=float), self.lower_, self.upper_)
        c[:, self.log_] = np.log1p(np.maximum(c[:, self.log_], 0))
        return c


def numeric_pipeline():
    return make_pipeline(ClipLog(), SimpleImputer(strategy="median"), StandardScaler())


def design(numeric):
    return ColumnTransformer([
        ("num", numeric_pipeline(), numeric),
        ("cat", OneHotEncoder(min_frequency=0.01, handle_unknown="infrequent_if_exist", sparse_output=False), CATEGORICAL),
    ])


def numeric_columns(f):
    return [c for c in f.columns if c not in CATEGORICAL and c != "active"]


def choose_segments(x, rng):
    sample = x[rng.choice(len(x), min(50_000, len(x)), replace=False)]
    best = None
    for k in range(2, 11):
        km = KMeans(n_clusters=k, n_init=10, random_state=SEED).fit(sample)
        sizes = np.bincount(km.labels_, minlength=k) / len(sample)
        sil = silhouette_score(sample, km.labels_, sample_size=3000, random_state=SEED)
        if sizes.min() >= 0.02 and (best is None or sil > best[0] + 0.01):
            best = (sil, km)
    return KMeans(n_clusters=best[1].n_clusters, init=best[1].cluster_centers_, n_init=1).fit(x)


def fit_lapse(x, y, rng):
    idx = rng.choice(len(y), min(50_000, len(y)), replace=False)
    xs, ys = x[idx], y[idx]
    folds = list(StratifiedKFold(5, shuffle=True, random_state=SEED).split(xs, ys))
    losses = []
    for alpha in ALPHAS:
        oof = np.empty(len(ys))
        for tr, te in folds:
            m = LogisticRegression(C=1 / alpha, **LBFGS).fit(xs[tr], ys[tr])
            oof[te] = m.predict_proba(xs[te])[:, 1]
        losses.append(log_loss(ys, oof))
    alpha = ALPHAS[int(np.argmin(losses))]
    model = LogisticRegression(C=1 / alpha, **LBFGS).fit(x, y)
    return with_intervals(model, x, alpha), alpha


def with_intervals(model, x, alpha):
    """Wald 95% intervals of the odds ratios, from the penalised Hessian."""
    p = model.predict_proba(x)[:, 1]
    xi = np.hstack([x, np.ones((len(x), 1))])
    h = (xi * (p * (1 - p))[:, None]).T @ xi + alpha * np.diag([1.0] * x.shape[1] + [0.0])
    se = np.sqrt(np.diag(np.linalg.pinv(h)))[:-1]
    coef = model.coef_[0]
    model.odds_ratio_ci_ = np.exp(np.stack([coef - 1.96 * se, coef + 1.96 * se]))
    return model


def fit_segments(active, choose, rng):
    """The segments' scaler and k-means model, k chosen by `choose`."""
    seg_scaler = numeric_pipeline().fit(active[SEGMENT_FEATURES])
    return seg_scaler, choose(seg_scaler.transform(active[SEGMENT_FEATURES]), rng)


def fit_lapse_split(lab, yl, numeric, fit, rng):
    """The 80/20 split, the design fitted on the 80%, the model fitted by `fit` and its
    held-out AUC."""
    tr, te = train_test_split(np.arange(len(yl)), test_size=0.2, stratify=yl, random_state=SEED)
    prep = design(numeric).fit(lab.iloc[tr])
    x = prep.transform(lab)
    model, alpha = fit(x[tr], yl[tr], rng)
    auc = roc_auc_score(yl[te], model.predict_proba(x[te])[:, 1])
    return prep, model, alpha, auc


def save(path, fitted, k, alpha, auc, oot_auc):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as out:
        pickle.dump(fitted, out)
    print(f"peer k = {k}, alpha = {alpha}, test AUC {auc:.4f}, out-of-time AUC {oot_auc:.4f}")


def train(book_dir, work):
    rng = np.random.default_rng(SEED)
    manifest = json.loads((book_dir / "manifest.json").read_text())
    extract = pd.Timestamp(manifest["export_date"])
    cutoff = extract + pd.offsets.MonthEnd(-HORIZON_MONTHS)
    with Timer("load"):
        book = read_book(book_dir)
    with Timer("features"):
        f = features(book, cutoff)
        y = labels(book, cutoff, extract).reindex(f.index)
    numeric = numeric_columns(f)
    with Timer("segments"):
        seg_scaler, segments = fit_segments(f[f["active"]], choose_segments, rng)
    with Timer("lapse"):
        lab = f[y.notna()]
        yl = y[y.notna()].to_numpy(int)
        prep, model, alpha, auc = fit_lapse_split(lab, yl, numeric, fit_lapse, rng)
    with Timer("out-of-time"):
        early = cutoff + pd.offsets.MonthEnd(-HORIZON_MONTHS)
        fe = features(book, early)
        ye = labels(book, early, cutoff).reindex(fe.index)
        prep_e = design(numeric).fit(fe[ye.notna()])
        m = LogisticRegression(C=1 / alpha, **LBFGS).fit(prep_e.transform(fe[ye.notna()]), ye.dropna().to_numpy(int))
        oot_auc = roc_auc_score(yl, m.predict_proba(prep_e.transform(lab))[:, 1])
    fitted = {"prep": prep, "model": model, "seg_scaler": seg_scaler, "segments": segments}
    save(work / "peer-model.pkl", fitted, segments.n_clusters, alpha, auc, oot_auc)


def label(book_dir, work):
    manifest = json.loads((book_dir / "manifest.json").read_text())
    extract = pd.Timestamp(manifest["export_date"])
    with open(work / "peer-model.pkl", "rb") as saved:
        m = pickle.load(saved)
    with Timer("load"):
        book = read_book(book_dir)
    with Timer("label"):
        f = features(book, extract)
        f = f[f["active"]]
        p = m["model"].predict_proba(m["prep"].transform(f))[:, 1]
        seg = m["segments"].predict(m["seg_scaler"].transform(f[SEGMENT_FEATURES]))
        out = pd.DataFrame({"client_id": f.index, "segment_id": seg, "lapse_probability": p})
        out["risk_band"] = pd.cut(p, [-1, 0.1, 0.2, 2], labels=["low", "medium", "high"]).astype(str)
        out.to_parquet(work / "peer-labels.parquet")
    print(f"peer labelled {len(out)} clients")


if __name__ == "__main__":
    command, book_dir, work = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    {"train": train, "label": label}[command](book_dir, work)
