"""Ten copies of a generated book, ids renamed per copy (C0->Ck, P0->Pk, K0->Kk) as
benches/label_10m.sh builds its all-CSV book, but CSV sources stay CSV and Parquet sources
stay Parquet (the generator's mixed layout: ~3.3 GB for ten copies of the 1M book).
Needs pyarrow. Usage: ten_copies.py BOOK OUT"""
import json, re, shutil, subprocess, sys
from pathlib import Path
import pyarrow as pa, pyarrow.compute as pc, pyarrow.parquet as pq
one, ten = Path(sys.argv[1]), Path(sys.argv[2])
ten.mkdir(exist_ok=True)
for f in ["clients", "policies", "claims"]:
    src = one / f"{f}.csv"
    with open(ten / f"{f}.csv", "wb") as out:
        with open(src, "rb") as i:
            out.write(i.readline())
        out.flush()
        for k in range(10):
            subprocess.run(f"tail -n +2 {src} | sed -e 's/\\bC0/C{k}/g; s/\\bP0/P{k}/g; s/\\bK0/K{k}/g'",
                           shell=True, check=True, stdout=out)
for f in ["payments", "contacts"]:
    t = pq.read_table(one / f"{f}.parquet")
    w = None
    for k in range(10):
        cols = []
        for c in t.columns:
            if str(c.type) in ("string", "large_string", "string_view"):
                c = c.cast(pa.string())
                for a in "CPK":
                    c = pc.replace_substring_regex(c, f"^{a}0", f"{a}{k}")
            cols.append(c)
        part = pa.table(cols, names=t.column_names)
        if w is None:
            w = pq.ParquetWriter(ten / f"{f}.parquet", part.schema, compression="zstd")
        w.write_table(part)
    w.close()
m = json.loads((one / "manifest.json").read_text())
m["clients"] = m["clients"] * 10
(ten / "manifest.json").write_text(json.dumps(m, indent=2))
