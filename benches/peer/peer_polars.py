"""The job of peer.py written for speed: polars for reading and features, scikit-learn's
second-order solver with the penalty path warm-started fold by fold, k-means and CV folds
in joblib threads.

The second yardstick of benches/compare.sh, not part of the product. Same book, same
point-in-time features and labels as peer.py (its pandas code, ported column by column,
including its quirks), the same 50k samples drawn in the same order, the same k choice
(k = 2..10, 10 k-means++ restarts, silhouette on 3,000 clients, then refined on every
client), the same five penalties by 5-fold stratified CV on 50k clients, final fit with
Wald intervals, out-of-time check, labeling. The model steps take peer.py's own
definitions (clip/log, impute, scale, one-hot) so that only the tools differ.

    python peer_polars.py train BOOK WORKDIR     # prints "timing <stage> <seconds>" lines
    python peer_polars.py label BOOK WORKDIR
"""

import json
import pickle
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
from joblib import Parallel, delayed
from sklearn.cluster import KMeans
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss, roc_auc_score, silhouette_score
from sklearn.model_selection import StratifiedKFold

sys.path.insert(0, str(Path(__file__).resolve().parent))
from peer import (  # noqa: E402  the same definitions as the pandas script
    ALPHAS, CATEGORICAL, CHURN, CHURN_REASONS, HEALTH, HORIZON_MONTHS, PER_YEAR, PROTECTION,
    SAVINGS, SEED, SEGMENT_FEATURES, Timer, design, fit_lapse_split, fit_segments, save,
    with_intervals)

THREADS = 2


def read_book(book):
    def table(name, dates):
        csv, parquet = book / f"{name}.csv", book / f"{name}.parquet"
        df = pl.read_parquet(parquet) if parquet.exists() else pl.read_csv(csv, infer_schema=False)
        for d in dates:
            col = pl.col(d)
            df = df.with_columns(
                col.str.to_date("%Y-%m-%d", strict=False) if df.schema[d] == pl.String
                else col.cast(pl.Date))
        return df.unique(maintain_order=True)

    clients = table("clients", ["birth_date", "first_known_date"])
    clients = clients.unique("client_id", keep="first", maintain_order=True)
    known = clients["client_id"]
    out = {}
    for name, dates in [
        ("policies", ["start_date", "end_date"]),
        ("payments", ["due_date", "paid_date"]),
        ("claims", ["claim_date"]),
        ("contacts", ["contact_date"]),
    ]:
        df = table(name, dates).filter(pl.col("client_id").is_in(known.implode()))
        for amount in ("annual_premium", "amount", "amount_paid"):
            if amount in df.columns:
                df = df.with_columns(pl.col(amount).cast(pl.Float64, strict=False))
                df = df.filter(~(pl.col(amount) < 0).fill_null(False))
        for category in ("product", "end_reason", "kind"):
            if category in df.columns:
                df = df.with_columns(norm(category))
        out[name] = df
    out["clients"] = clients.with_columns(norm(c) for c in CATEGORICAL)
    return out


def norm(name):
    """Category spelling as clientele reads it (peer.py's `norm`, nulls as its "<na>")."""
    return (pl.col(name).cast(pl.String).str.strip_chars().str.to_lowercase()
            .str.replace_all(r"[\s-]+", "_").fill_null("<na>"))


def months(date, n):
    return (pd.Timestamp(date) + pd.DateOffset(months=n)).date()


def days(later, earlier):
    return (pl.lit(later) - earlier).dt.total_days().cast(pl.Float64)


def per_client(df, **aggs):
    return df.group_by("client_id").agg(**aggs)


def renewal_rate(pol, c):
    start, end_date = pl.col("start_date"), pl.col("end_date")
    end = pl.when(end_date <= c).then(end_date)
    limit = end.fill_null(c)
    md_start = start.dt.month().cast(pl.Int32) * 100 + start.dt.day().cast(pl.Int32)
    md_limit = limit.dt.month().cast(pl.Int32) * 100 + limit.dt.day().cast(pl.Int32)
    years = limit.dt.year() - start.dt.year()
    reached = years - (md_limit < md_start).cast(pl.Int32)
    ended = end.is_not_null()
    reached = (reached - ((md_limit == md_start) & ended).cast(pl.Int32)).clip(lower_bound=0)
    churned = ended & pl.col("end_reason").is_in(CHURN)
    next_year = start.dt.year() + reached + 1
    due_next = (churned & (next_year < c.year)) | (
        churned & (next_year == c.year) & (md_start <= c.month * 100 + c.day))
    g = pol.select("client_id", reached=reached, due=reached + due_next.cast(pl.Int32))
    sums = per_client(g, reached=pl.col("reached").sum(), due=pl.col("due").sum())
    return sums.select("client_id", renewal_rate=pl.when(pl.col("due") > 0)
                       .then(pl.col("reached") / pl.col("due")))


def paid_years(recent, pay, policies, n_policies, y12):
    per_year = pl.col("payment_frequency").replace_strict(PER_YEAR, default=None,
                                                          return_dtype=pl.Float64)
    k = policies.select("policy_id", k=per_year).unique("policy_id", keep="first")
    dues = per_client(pay.filter(pl.col("due_date") > y12), dues=pl.len())
    guess = dues.join(n_policies, on="client_id", how="left").select(
        "client_id", guess=(pl.col("dues") / pl.col("n_policies").clip(lower_bound=1)).clip(1, 12))
    r = (recent.select("client_id", "policy_id").join(k, on="policy_id", how="left")
         .join(guess, on="client_id", how="left")
         .with_columns(k=pl.col("k").fill_null(pl.col("guess")).fill_null(1.0)))
    return per_client(r, paid_years_36m=(12 / pl.col("k")).sum() / 12)


def features(book, cutoff):
    """Point-in-time features: only records dated on or before the cut-off."""
    c = cutoff
    clients = book["clients"]
    income = pl.col("annual_income").cast(pl.Float64, strict=False)
    f = clients.select(
        "client_id",
        age=days(c, pl.col("birth_date")) / 365.25,
        dependents=pl.col("dependents").cast(pl.Float64, strict=False),
        log_income=income.clip(lower_bound=0).log1p(),
        *CATEGORICAL)
    parts = []
    pol = book["policies"].filter(pl.col("start_date") <= c)
    in_force = pol.filter(pl.col("end_date").is_null() | (pl.col("end_date") > c))
    product = pl.col("product")
    parts.append(per_client(
        in_force, premium_in_force=pl.col("annual_premium").sum(), n_policies=pl.len(),
        n_products=product.drop_nulls().n_unique(),
        has_protection=product.is_in(PROTECTION).any(),
        has_savings=product.is_in(SAVINGS).any(), has_health=product.is_in(HEALTH).any()))
    parts.append(per_client(pol, tenure_years=days(c, pl.col("start_date").min()) / 365.25))
    parts.append(renewal_rate(pol, c))

    y12, m6, y36 = months(c, -12), months(c, -6), months(c, -36)
    pay = book["payments"].filter(pl.col("due_date") <= c)
    paid = pl.col("paid_date").is_not_null() & (pl.col("paid_date") <= c)
    done = pay.filter(paid)
    premiums = per_client(done, premiums_paid=pl.col("amount").sum(),
                          days_since_payment=days(c, pl.col("paid_date").max()))
    parts.append(premiums.drop("premiums_paid"))
    n_policies = parts[0].select("client_id", "n_policies")
    parts.append(paid_years(done.filter(pl.col("paid_date") > y36), pay, book["policies"],
                            n_policies, y12))
    parts.append(per_client(done.filter(pl.col("paid_date") > y12),
                            paid_12m=pl.col("amount").sum()))
    recent = pay.filter(pl.col("due_date") > y12)
    missed = recent.filter(~paid)
    dues = per_client(recent, dues_12m=pl.len())
    parts.append(per_client(missed, missed_12m=pl.len(),
                            missed_6m=(pl.col("due_date") > m6).sum().cast(pl.UInt32)))

    cl = book["claims"].filter(pl.col("claim_date") <= c)
    parts.append(per_client(cl, claims_12m=(pl.col("claim_date") > y12).sum().cast(pl.UInt32),
                            claims_paid=pl.col("amount_paid").sum()))

    co = book["contacts"].filter(pl.col("contact_date") <= c)
    parts.append(per_client(co, days_since_contact=days(c, pl.col("contact_date").max())))
    kind = pl.col("kind")
    parts.append(per_client(
        co.filter(pl.col("contact_date") > m6), complaints_6m=(kind == "complaint").sum(),
        logins_6m=(kind == "app_login").sum(),
        service_contacts_6m=(~kind.is_in(["complaint", "app_login"])).sum()))
    for part in parts + [dues, premiums.select("client_id", "premiums_paid")]:
        f = f.join(part, on="client_id", how="left", maintain_order="left")

    counts = ["premium_in_force", "n_policies", "n_products", "has_protection", "has_savings",
              "has_health", "paid_years_36m", "paid_12m", "missed_12m", "missed_6m", "claims_12m",
              "complaints_6m", "logins_6m", "service_contacts_6m"]
    # The flags of peer.py are counts > 0: false where the client has none in force.
    f = f.with_columns(
        collection_rate_12m=1 - pl.col("missed_12m").fill_null(0) / pl.col("dues_12m"),
        claims_ratio=pl.col("claims_paid") / pl.when(pl.col("premiums_paid") > 0)
        .then(pl.col("premiums_paid")),
    ).with_columns(pl.col(counts).cast(pl.Float64).fill_null(0.0).fill_nan(0.0))
    income = pl.col("log_income").exp() - 1
    f = f.with_columns(
        premium_burden=pl.col("premium_in_force")
        / pl.when(income.is_null()).then(None).when(income > 1).then(income).otherwise(1.0),
        active=pl.col("client_id").is_in(in_force["client_id"].implode()))
    order = ["client_id", "age", "dependents", "log_income", *CATEGORICAL, "premium_in_force",
             "n_policies", "n_products", "has_protection", "has_savings", "has_health",
             "tenure_years", "renewal_rate", "days_since_payment", "paid_years_36m", "paid_12m",
             "missed_12m", "missed_6m", "collection_rate_12m", "claims_12m", "claims_ratio",
             "days_since_contact", "complaints_6m", "logins_6m", "service_contacts_6m",
             "premium_burden", "active"]
    return f.select(order)


def labels(book, cutoff, horizon_end, ids):
    """1 lapsed, 0 stayed, NaN excluded, in the order of `ids`."""
    c, e = cutoff, horizon_end
    start, end = pl.col("start_date"), pl.col("end_date")
    alive = lambda d: ((start <= d) & (end.is_null() | (end > d))).fill_null(False)
    ended = ((end > c) & (end <= e) & pl.col("end_reason").is_in(CHURN_REASONS)).fill_null(False)
    g = per_client(book["policies"].select("client_id", a=alive(c), b=alive(e), churn=ended),
                   a=pl.col("a").any(), b=pl.col("b").any(), churn=pl.col("churn").any())
    y = g.select("client_id", y=pl.when(pl.col("a") & pl.col("b")).then(0.0)
                 .when(pl.col("a") & ~pl.col("b") & pl.col("churn")).then(1.0))
    return ids.to_frame().join(y, on="client_id", how="left", maintain_order="left")["y"]


def to_pandas(f):
    return f.drop("client_id").to_pandas().set_index(pd.Index(f["client_id"].to_list(),
                                                              name="client_id"))


def numeric_columns(f):
    return [c for c in f.columns if c not in CATEGORICAL and c not in ("active", "client_id")]


def choose_segments(x, rng):
    sample = x[rng.choice(len(x), min(50_000, len(x)), replace=False)]

    def score(k):
        km = KMeans(n_clusters=k, n_init=10, random_state=SEED).fit(sample)
        sizes = np.bincount(km.labels_, minlength=k) / len(sample)
        sil = silhouette_score(sample, km.labels_, sample_size=3000, random_state=SEED)
        return sil, sizes.min(), km

    best = None
    for sil, smallest, km in Parallel(n_jobs=THREADS, prefer="threads")(
            delayed(score)(k) for k in range(2, 11)):
        if smallest >= 0.02 and (best is None or sil > best[0] + 0.01):
            best = (sil, km)
    return KMeans(n_clusters=best[1].n_clusters, init=best[1].cluster_centers_, n_init=1).fit(x)


def newton(alpha):
    return LogisticRegression(C=1 / alpha, solver="newton-cholesky", max_iter=300,
                              warm_start=True)


def fit_lapse(x, y, rng):
    idx = rng.choice(len(y), min(50_000, len(y)), replace=False)
    xs, ys = x[idx], y[idx]
    folds = list(StratifiedKFold(5, shuffle=True, random_state=SEED).split(xs, ys))
    path = sorted(ALPHAS, reverse=True)

    def fold_path(tr, te):
        # One model per fold, refitted from its previous optimum at each weaker penalty.
        m, out = newton(path[0]), []
        for alpha in path:
            m.set_params(C=1 / alpha).fit(xs[tr], ys[tr])
            out.append((m.predict_proba(xs[te])[:, 1], m.coef_.copy(), m.intercept_.copy()))
        return out

    fits = Parallel(n_jobs=THREADS, prefer="threads")(delayed(fold_path)(tr, te)
                                                     for tr, te in folds)
    losses = []
    for a in range(len(path)):
        oof = np.empty(len(ys))
        for (_, te), fold in zip(folds, fits):
            oof[te] = fold[a][0]
        losses.append(log_loss(ys, oof))
    best = int(np.argmin(losses))
    alpha = path[best]
    model = newton(alpha)
    # The final fit starts from the mean of the chosen penalty's fold fits.
    model.coef_ = np.mean([fold[best][1] for fold in fits], axis=0)
    model.intercept_ = np.mean([fold[best][2] for fold in fits], axis=0)
    model.fit(x, y)
    return with_intervals(model, x, alpha), alpha


def cutoffs(book_dir):
    manifest = json.loads((book_dir / "manifest.json").read_text())
    extract = pd.Timestamp(manifest["export_date"])
    cutoff = extract + pd.offsets.MonthEnd(-HORIZON_MONTHS)
    early = cutoff + pd.offsets.MonthEnd(-HORIZON_MONTHS)
    return extract.date(), cutoff.date(), early.date()


def train(book_dir, work):
    rng = np.random.default_rng(SEED)
    extract, cutoff, early = cutoffs(book_dir)
    with Timer("load"):
        book = read_book(book_dir)
    with Timer("features"):
        fp = features(book, cutoff)
        y = labels(book, cutoff, extract, fp["client_id"]).to_numpy()
        f = to_pandas(fp)
    numeric = numeric_columns(fp)
    with Timer("segments"):
        seg_scaler, segments = fit_segments(f[f["active"]], choose_segments, rng)
    with Timer("lapse"):
        known = ~np.isnan(y)
        lab, yl = f[known], y[known].astype(int)
        prep, model, alpha, auc = fit_lapse_split(lab, yl, numeric, fit_lapse, rng)
    with Timer("out-of-time"):
        fe = features(book, early)
        ye = labels(book, early, cutoff, fe["client_id"]).to_numpy()
        fe = to_pandas(fe)[~np.isnan(ye)]
        prep_e = design(numeric).fit(fe)
        m = newton(alpha).fit(prep_e.transform(fe), ye[~np.isnan(ye)].astype(int))
        oot_auc = roc_auc_score(yl, m.predict_proba(prep_e.transform(lab))[:, 1])
    fitted = {"prep": prep, "model": model, "seg_scaler": seg_scaler, "segments": segments}
    save(work / "peer-polars-model.pkl", fitted, segments.n_clusters, alpha, auc, oot_auc)


def label(book_dir, work):
    extract = cutoffs(book_dir)[0]
    with open(work / "peer-polars-model.pkl", "rb") as saved:
        m = pickle.load(saved)
    with Timer("load"):
        book = read_book(book_dir)
    with Timer("label"):
        fp = features(book, extract).filter(pl.col("active"))
        f = to_pandas(fp)
        p = m["model"].predict_proba(m["prep"].transform(f))[:, 1]
        seg = m["segments"].predict(m["seg_scaler"].transform(f[SEGMENT_FEATURES]))
        band = np.where(p > 0.2, "high", np.where(p > 0.1, "medium", "low"))
        out = pl.DataFrame({"client_id": fp["client_id"], "segment_id": seg,
                            "lapse_probability": p, "risk_band": band})
        out.write_parquet(work / "peer-polars-labels.parquet")
    print(f"peer labelled {len(out)} clients")


if __name__ == "__main__":
    command, book_dir, work = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    {"train": train, "label": label}[command](book_dir, work)
