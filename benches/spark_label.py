"""Spark labeling of a generated book in local[2] mode: wall time and CPU seconds of
each step (the driver, the JVM and its Python workers), the driver's peak memory (the
Python driver and the JVM, which in local mode also runs the tasks) and what the driver
received from the executors. The first Python task of a session (Spark starts its
Python workers and compiles its Arrow paths) is timed on its own, before `label_run`.
Called by spark_label.sh.

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
jvm_pid = spark.sparkContext._gateway.proc.pid if spark.sparkContext._gateway.proc else None
tick = os.sysconf("SC_CLK_TCK")


def cpu() -> float:
    """CPU seconds of this process, the JVM and the JVM's descendants (Python workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    seconds = own.ru_utime + own.ru_stime
    if jvm_pid is None:
        return seconds
    parents, used = {}, {}
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        parents[int(entry)] = int(fields[1])
        used[int(entry)] = sum(int(x) for x in fields[11:15]) / tick
    tree = [jvm_pid]
    for pid in tree:
        tree += [child for child, parent in parents.items() if parent == pid]
    return seconds + sum(used.get(pid, 0) for pid in tree)


t, c = time.perf_counter(), cpu()
spark.range(0, 2, 1, 2).mapInArrow(lambda batches: batches, "id long").collect()
warm = (time.perf_counter() - t, cpu() - c)


def read(name):
    for kind in ("parquet", "csv"):
        path = os.path.join(book, f"{name}.{kind}")
        if os.path.exists(path):
            # CSV as text, as the CLI reads it: the engine parses and checks the values.
            return spark.read.parquet(path) if kind == "parquet" else spark.read.csv(path, header=True)
    return None


sources = {n: read(n) for n in ["clients", "policies", "payments", "claims", "contacts"]}
sources = {n: df for n, df in sources.items() if df is not None}
t, c, load = time.perf_counter(), cpu(), os.getloadavg()[0]
run = cs.label_run(sources, model, out=out, parts=parts, extract_date=extract)
labelled = (time.perf_counter() - t, cpu() - c)
t, c = time.perf_counter(), cpu()
run.labels.write.mode("overwrite").parquet(os.path.join(out + "-labels"))
written = (time.perf_counter() - t, cpu() - c)
jvm_peak = None
if jvm_pid:
    with open(f"/proc/{jvm_pid}/status") as f:
        jvm_peak = next((l.split()[1] for l in f if l.startswith("VmHWM")), None)
spark.stop()
mb = 1024
print(f"session start      {session:6.1f} s")
print(f"first Python task  {warm[0]:6.1f} s  {warm[1]:6.1f} s CPU  (Spark starts its Python workers)")
print(
    f"label + report     {labelled[0]:6.1f} s  {labelled[1]:6.1f} s CPU  "
    f"({run.summary['clients']} clients, {parts} parts; load average {load:.2f})"
)
print(f"write labels       {written[0]:6.1f} s  {written[1]:6.1f} s CPU  (Spark Parquet, from the cache)")
print(f"whole run          {time.perf_counter() - started:6.1f} s")
print(f"driver Python peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / mb:6.0f} MB")
if jvm_peak:
    print(f"driver JVM peak    {int(jvm_peak) / mb:6.0f} MB (local mode: also runs the tasks)")
