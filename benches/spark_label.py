"""Spark labeling of a generated book in local[2] mode: wall time of each step, the
driver's peak memory (the Python driver and the JVM, which in local mode also runs the
tasks) and what the driver received from the executors. Called by spark_label.sh.

    python spark_label.py MODEL BOOK EXTRACT_DATE PARTS OUT
"""

import os
import resource
import sys
import time

from pyspark.sql import SparkSession

from clientele import spark as cs

model, book, extract, parts, out = sys.argv[1:6]
parts = int(parts)
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
started = time.perf_counter()
spark = (
    SparkSession.builder.master("local[2]")
    .config("spark.ui.enabled", "false")
    .config("spark.driver.memory", os.environ.get("SPARK_DRIVER_MEMORY", "4g"))
    .getOrCreate()
)
spark.sparkContext.setLogLevel("ERROR")
session = time.perf_counter() - started


def read(name):
    for kind in ("parquet", "csv"):
        path = os.path.join(book, f"{name}.{kind}")
        if os.path.exists(path):
            # CSV as text, as the CLI reads it: the engine parses and checks the values.
            return spark.read.parquet(path) if kind == "parquet" else spark.read.csv(path, header=True)
    return None


sources = {n: read(n) for n in ["clients", "policies", "payments", "claims", "contacts"]}
sources = {n: df for n, df in sources.items() if df is not None}
t = time.perf_counter()
run = cs.label_run(sources, model, out=out, parts=parts, extract_date=extract)
labelled = time.perf_counter() - t
t = time.perf_counter()
run.labels.write.mode("overwrite").parquet(os.path.join(out + "-labels"))
written = time.perf_counter() - t
jvm_pid = spark.sparkContext._gateway.proc.pid if spark.sparkContext._gateway.proc else None
jvm_peak = None
if jvm_pid:
    with open(f"/proc/{jvm_pid}/status") as f:
        jvm_peak = next((l.split()[1] for l in f if l.startswith("VmHWM")), None)
spark.stop()
mb = 1024
print(f"session start      {session:6.1f} s")
print(f"label + report     {labelled:6.1f} s  ({run.summary['clients']} clients, {parts} parts)")
print(f"write labels       {written:6.1f} s  (Spark Parquet, labels computed once: cached)")
print(f"whole run          {time.perf_counter() - started:6.1f} s")
print(f"driver Python peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / mb:6.0f} MB")
if jvm_peak:
    print(f"driver JVM peak    {int(jvm_peak) / mb:6.0f} MB (local mode: also runs the tasks)")
