#!/usr/bin/env bash
# Spark labeling (PySpark local[2]) of one generated book against clientele-infer with the
# same number of parts, in one run: wall time and peak memory of each.
#
#   bash benches/spark_label.sh [N clients, default 1000000] [PARTS, default 4] [WORKDIR]
#
# Installs PySpark into WORKDIR/venv (or $CLIENTELE_VENV); needs Java 17.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$(pwd)"
n="${1:-1000000}"
parts="${2:-4}"
work="${3:-$(mktemp -d)}"
mkdir -p "$work"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/clientele-target}"
source benches/book.sh
python_package "$work" "pyspark>=4.0,<5" "pandas>=2.2,<3"
generated_book "$n" "$work"
trained_model "$work"
rm -rf "$work/run" "$work/spark-run" "$work/spark-run-labels"
peak() { grep -E "User time|System time|Elapsed|Maximum resident" "$1" | sed 's/^\s*//'; }
/usr/bin/time -v "$bin/clientele-infer" --model "$work/models/latest" --data "$book" \
  --extract-date "$extract" --partitions "$parts" --out "$work/run" > "$work/cli.log" 2> "$work/cli.time"
# The Python workers (where parts are labelled) are the JVM's children: sample their
# resident memory while the run lasts.
( peak=0; while sleep 0.5; do
    for kb in $(ps -C python,python3 -o rss=,args= | awk '/pyspark.(daemon|worker)/ {print $1}'); do
      [ "$kb" -gt "$peak" ] && peak=$kb && echo "$peak" > "$work/worker.peak"
    done
  done ) &
sampler=$!
trap 'kill "$sampler" 2> /dev/null || true' EXIT
PYSPARK_PYTHON="$venv/bin/python" /usr/bin/time -v "$venv/bin/python" "$repo/benches/spark_label.py" \
  "$work/models/latest" "$book" "$extract" "$parts" "$work/spark-run" > "$work/spark.log" 2> "$work/spark.time"
kill "$sampler" 2> /dev/null || true
echo "clientele-infer --partitions $parts (reads, labels, writes CSV + Parquet, drift, charts, report):"
peak "$work/cli.time"
echo "Spark local[2] (label_run: report files on the driver; labels written by Spark):"
cat "$work/spark.log"
echo "driver Python process (time -v):"
peak "$work/spark.time"
echo "largest Python worker (sampled every 0.5 s): $(( $(cat "$work/worker.peak" 2> /dev/null || echo 0) / 1024 )) MB"
# The report files agree with the CLI's parted run.
for f in drift.json summary.json; do
  cmp -s "$work/run/$f" "$work/spark-run/$f" && echo "$f: identical to the CLI's" \
    || echo "$f: DIFFERS from the CLI's"
done
# ...and so do the labels, client by client.
"$venv/bin/python" - "$work/run/labels.parquet" "$work/spark-run-labels" <<'EOF'
import sys
import pyarrow.parquet as pq
cli, spark = (pq.read_table(p).sort_by("client_id") for p in sys.argv[1:3])
same = cli.num_rows == spark.num_rows and all(
    cli.column(c).to_pylist() == spark.column(c).to_pylist() for c in cli.column_names
)
print(f"labels ({cli.num_rows} clients): " + ("identical to the CLI's" if same else "DIFFER from the CLI's"))
EOF
