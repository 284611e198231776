"""How large a sample of feature rows `clientele.spark.train` needs: trains on samples of a
generated book in Spark (local[2]) and scores every client in force at the cut-off with
each bundle and with the bundle trained on the whole book, against the generator's
truth (did the client lapse in the horizon). Prints the AUC of each on the same clients.

    python spark_train_sample.py BOOK FULL_MODEL EXTRACT_DATE SAMPLE [SAMPLE ...]
"""

import os
import sys
import tempfile
import time

import pyarrow.csv as pacsv

import clientele
from clientele import spark as cs


def roc_auc(p, y) -> float:
    import numpy as np

    p, y = np.asarray(p, float), np.asarray(y, bool)
    order = np.argsort(p, kind="mergesort")
    ranks = np.empty(len(p))
    sorted_p = p[order]
    i = 0
    while i < len(p):
        j = i
        while j + 1 < len(p) and sorted_p[j + 1] == sorted_p[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    pos = y.sum()
    return float((ranks[y].sum() - pos * (pos + 1) / 2) / (pos * (len(y) - pos)))


def scored(bundle_path, tables, cutoff, truth):
    bundle = clientele.Bundle.load(bundle_path)
    features = bundle.features(tables, as_of=cutoff)
    p = bundle.predict_proba(features).to_pylist()
    ids = features.column("client_id").to_pylist()
    known = {i: y for i, y in truth.items()}
    pairs = [(q, known[i]) for i, q in zip(ids, p) if i in known and q == q]
    return roc_auc([a for a, _ in pairs], [b for _, b in pairs]), len(pairs)


def main() -> None:
    book, full, extract = sys.argv[1], sys.argv[2], sys.argv[3]
    samples = [int(s) for s in sys.argv[4:]]
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master("local[2]")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.memory", "6g")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    sources = {}
    for name in ["clients", "policies", "payments", "claims", "contacts"]:
        for kind in ("parquet", "csv"):
            path = os.path.join(book, f"{name}.{kind}")
            if os.path.exists(path):
                sources[name] = (
                    spark.read.parquet(path) if kind == "parquet" else spark.read.csv(path, header=True)
                )
                break
    truth_table = pacsv.read_csv(os.path.join(book, "truth.csv"))
    truth = {
        i: y
        for i, f, y in zip(
            truth_table["client_id"].to_pylist(),
            truth_table["in_force_at_cutoff"].to_pylist(),
            truth_table["lapsed_in_horizon"].to_pylist(),
        )
        if f and y is not None
    }
    tables = clientele.read_sources(book)
    cutoff = clientele.Bundle.load(full).cutoff
    whole, n = scored(full, tables, cutoff, truth)
    print(f"whole book        AUC {whole:.4f} on {n} clients in force")
    work = tempfile.mkdtemp()
    for sample in samples:
        t = time.perf_counter()
        path, metrics = cs.train(
            sources, sample=sample, models=os.path.join(work, f"m{sample}"),
            out=os.path.join(work, "out"), extract_date=extract,
        )
        took = time.perf_counter() - t
        ours, _ = scored(path, tables, cutoff, truth)
        print(
            f"sample {sample:>8}  AUC {ours:.4f} ({ours - whole:+.4f}); held-out AUC of its "
            f"own run {metrics['test']['roc_auc']:.4f}; Spark train {took:.0f} s"
        )
    spark.stop()


if __name__ == "__main__":
    main()
