"""clientele.spark against the CLI, on PySpark in local[2] mode: the labels, drift,
summary, data-quality counts and charts of `clientele-infer --partitions 3` on the
sample's next month; the CLI's labels with no date given; bad input as exceptions with
the CLI's messages. The model and the CLI's runs come from conftest.py; Java 17 runs
Spark.
"""

import filecmp
import json
import os
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import clientele
from clientele import spark as cs
from conftest import NEXT_MONTH, PARTED_EXTRACT, ROOT

pyspark = pytest.importorskip("pyspark")

EXTRACT = PARTED_EXTRACT
SOURCES = ["clients", "policies", "payments", "claims", "contacts"]


@pytest.fixture(scope="module")
def spark():
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    session = (
        SparkSession.builder.master("local[2]")
        .appName("clientele-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def sources(spark):
    return {name: spark.read.parquet(str(NEXT_MONTH / f"{name}.parquet")) for name in SOURCES}


def arrow(df) -> pa.Table:
    """A Spark DataFrame as an Arrow table (test sizes only), columns as the CLI types
    them for comparison: text as string, integers as int64."""
    return normalised(pa.Table.from_batches(df._collect_as_arrow(), schema=None))


def normalised(t: pa.Table) -> pa.Table:
    fields = []
    for f in t.schema:
        kind = str(f.type)
        if "string" in kind:
            fields.append(pa.field(f.name, pa.string()))
        elif pa.types.is_integer(f.type):
            fields.append(pa.field(f.name, pa.int64()))
        else:
            fields.append(f)
    return t.cast(pa.schema(fields)).sort_by("client_id")


def assert_same_labels(ours: pa.Table, cli: pa.Table):
    assert ours.column_names == cli.column_names
    assert ours.num_rows == cli.num_rows
    for name in cli.column_names:
        assert ours.column(name).to_pylist() == cli.column(name).to_pylist(), name


def test_a_parted_run_equals_the_cli_parted_run(runs, sources, tmp_path):
    run = cs.label_run(sources, runs.model, out=tmp_path / "run", parts=3, extract_date=EXTRACT)
    assert run.out == tmp_path / "run"
    assert_same_labels(arrow(run.labels), normalised(pq.read_table(runs.parted / "labels.parquet")))
    # The holdout flags drawn in the executors are the CLI's (and some are drawn).
    assert 0 < sum(arrow(run.labels).column("holdout").to_pylist()) < 20000
    for name in ["drift.json", "summary.json"]:
        assert json.loads((run.out / name).read_text()) == json.loads((runs.parted / name).read_text())
    ours, cli = (json.loads((d / "data-quality.json").read_text()) for d in (run.out, runs.parted))
    for s in ours["sources"] + cli["sources"]:
        s.pop("path")  # a file for the CLI, `<clients table>` for a DataFrame
    assert ours == cli
    charts = sorted(p.name for p in (runs.parted / "charts").iterdir())
    assert charts and charts == sorted(p.name for p in (run.out / "charts").iterdir())
    for name in charts:
        assert filecmp.cmp(run.out / "charts" / name, runs.parted / "charts" / name, shallow=False)
    report = (run.out / "report.html").read_text()
    assert "client_id" not in report and "C0000001" not in report
    assert run.summary["clients"] == 20000 and run.drift["status"] in ("ok", "watch", "retrain")


def test_migration_and_outcomes_equal_the_cli_with_previous_run(runs, spark, sources, tmp_path):
    previous = spark.read.parquet(str(runs.last_month / "labels.parquet"))
    last = json.loads((runs.last_month / "summary.json").read_text())
    run = cs.label_run(
        sources,
        runs.model,
        out=tmp_path / "run",
        parts=3,
        extract_date=EXTRACT,
        previous=previous,
        previous_as_of=last["as_of"],
        previous_model=last["model_version"],
    )
    ours = json.loads((run.out / "summary.json").read_text())
    cli = json.loads((runs.since / "summary.json").read_text())
    assert ours["migration"] and ours["outcomes"]["known"] > 10000 and ours == cli
    # The effect readout of last month's holdouts: the same counts, file and words.
    assert ours["effect"]["identified"] and ours["effect"] == cli["effect"]
    assert (run.out / "effect.csv").read_bytes() == (runs.since / "effect.csv").read_bytes()
    assert json.loads((run.out / "drift.json").read_text()) == json.loads(
        (runs.since / "drift.json").read_text()
    )
    with pytest.raises(clientele.BadInput, match="segment_id"):
        cs.label(sources, runs.model, parts=2, previous=previous.drop("segment_id"))


def test_with_no_date_given_spark_labels_equal_the_cli_labels(runs, sources, tmp_path):
    # The model carries training's extract date (test_clientele.py checks it); the
    # defaults are the CLI's on both entry points, with the default parts.
    labels = cs.label(sources, runs.model)
    assert_same_labels(arrow(labels), normalised(pq.read_table(runs.labels)))
    run = cs.label_run(sources, runs.model, out=tmp_path / "run", parts=2)
    assert run.as_of == "2026-10-31"
    assert_same_labels(arrow(run.labels), normalised(pq.read_table(runs.labels)))
    # Spark's types of the labels' plain Arrow types (docs/python.md).
    types = {f.name: f.dataType.simpleString() for f in labels.schema.fields}
    assert types["segment_id"] == "int" and types["client_id"] == "string"
    assert types["lapse_probability"] == "double"
    with pytest.raises(clientele.BadInput, match="min_report_count"):
        cs.label_run(sources, runs.model, out=tmp_path / "x", min_report_count=-1)


def test_sources_spark_reads_label_as_the_files_the_engine_reads(runs, sources):
    # Plain scans of local files are cut by the engine in the executors; any other
    # DataFrame (here a projection) is read by Spark and moved as Arrow pieces. Both give
    # the CLI's labels.
    read_by_spark = {name: df.select("*") for name, df in sources.items()}
    assert all(cs._local_files(df) is None for df in read_by_spark.values())
    assert all(cs._local_files(df)[0] == "parquet" for df in sources.values())
    cli = normalised(pq.read_table(runs.parted / "labels.parquet"))
    labels = cs.label(read_by_spark, runs.model, parts=3, extract_date=EXTRACT)
    assert_same_labels(arrow(labels), cli)


def test_csv_files_are_cut_by_the_engine_and_label_as_the_cli(runs, spark, tmp_path):
    # The sample's own month: clients, policies and claims as CSV, read as text by Spark
    # (no inferSchema) and so by the engine, in two parts; the CLI labelled it whole.
    book = read_book(spark, ROOT / "data" / "sample")
    found = {name: cs._local_files(df) for name, df in book.items()}
    assert found["clients"][0] == "csv" and found["payments"][0] == "parquet", found
    inferred = spark.read.csv(str(ROOT / "data" / "sample" / "clients.csv"), header=True, inferSchema=True)
    assert cs._local_files(inferred) is None
    labels = cs.label(book, runs.model, parts=2, extract_date="2026-09-30")
    assert_same_labels(arrow(labels), normalised(pq.read_table(runs.last_month / "labels.parquet")))
    # A value the contract refuses, in a file the engine reads: the CLI's message, the
    # table named as a DataFrame's.
    broken = tmp_path / "book"
    broken.mkdir()
    for f in (ROOT / "data" / "sample").iterdir():
        if f.suffix in (".csv", ".parquet") and f.name != "truth.csv":
            (broken / f.name).symlink_to(f)
    (broken / "clients.csv").unlink()
    lines = (ROOT / "data" / "sample" / "clients.csv").read_text().splitlines()
    header = lines[0].split(",")
    row = lines[5].split(",")
    row[header.index("annual_income")] = "lots"
    lines[5] = ",".join(row)
    (broken / "clients.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(clientele.BadInput, match=r"<clients table>.*annual_income.*lots"):
        cs.label(read_book(spark, broken), runs.model, parts=2, extract_date="2026-09-30")


def test_slots_are_found_by_the_hash_spark_partitions_with(spark):
    from pyspark.sql import functions as F

    values = [0, 1, 7, 255, 2**31, 2**32 + 5, -1, -(2**40), 2**62]
    spark_hash = spark.createDataFrame([(v,) for v in values], "v long").select(F.hash("v"))
    assert [r[0] for r in spark_hash.collect()] == [cs._spark_hash(v) for v in values]
    assert cs._slots(1) == [0] and len(set(cs._slots(7))) == 7


def test_the_driver_receives_no_client_rows(runs, sources):
    bundle = clientele.Bundle.load(runs.model)
    keyed = cs._keyed(bundle, dict(sources), 3, None, None)
    combined = cs._labelled(bundle, keyed, 3, None, (None, None, None, None, None))
    reports = list(cs._reports(combined))
    combined.unpersist()
    assert sorted(p for p, _ in reports) == [0, 1, 2]
    ids = [r[0] for r in sources["clients"].select("client_id").limit(50).collect()]
    for _, report in reports:
        text = report.decode()
        assert not any(i in text for i in ids)
        assert json.loads(text)["model_version"] == bundle.version


@pytest.mark.parametrize("n_parts", [2, 3, 7])
def test_each_part_is_shuffled_to_a_partition_of_its_own(runs, sources, n_parts):
    # Partitioned by the part number, parts 0 and 1 of 2 met in one partition and were
    # labelled one after the other by one task.
    bundle = clientele.Bundle.load(runs.model)
    keyed = cs._keyed(bundle, dict(sources), n_parts, None, None)
    from pyspark.sql import functions as F

    per_partition = keyed.select(cs._PART).withColumn("at", F.spark_partition_id()).distinct()
    placed = {(r[0], r[1]) for r in per_partition.collect()}
    assert sorted(part for part, _ in placed) == list(range(n_parts))
    assert len({at for _, at in placed}) == n_parts


def test_a_missing_source_is_named(runs, sources):
    partial = {k: v for k, v in sources.items() if k != "clients"}
    with pytest.raises(clientele.BadInput, match="no clients DataFrame given"):
        cs.label(partial, runs.model)


def test_a_source_without_its_id_column_is_named(runs, sources):
    broken = dict(sources, policies=sources["policies"].drop("client_id"))
    with pytest.raises(clientele.BadInput, match=r"<policies table>.*client_id"):
        cs.label(broken, runs.model, parts=2)


def test_a_path_that_is_not_a_bundle(sources, tmp_path):
    with pytest.raises(clientele.BadInput, match="bundle"):
        cs.label(sources, tmp_path, parts=2)


def test_an_as_of_before_the_cutoff_raises_the_cli_message_and_writes_nothing(runs, 
    sources, tmp_path
):
    bundle = clientele.Bundle.load(runs.model)
    out = tmp_path / "run"
    with pytest.raises(clientele.BadInput, match="before the model's training cut-off"):
        cs.label_run(sources, runs.model, out=out, as_of="2020-01-31", parts=2)
    assert not out.exists()
    assert bundle.cutoff > "2020-01-31"


def test_a_column_of_the_wrong_type_is_named(runs, sources):
    from pyspark.sql import functions as F

    clients = sources["clients"].withColumn("annual_income", F.array(F.col("annual_income")))
    with pytest.raises(clientele.BadInput, match="annual_income"):
        cs.label(dict(sources, clients=clients), runs.model, parts=2)


def test_sources_must_be_dataframes(runs, sources):
    with pytest.raises(clientele.BadInput, match="not a Spark DataFrame"):
        cs.label(dict(sources, clients=pa.table({"client_id": ["C1"]})), runs.model)
    with pytest.raises(clientele.BadInput, match="parts"):
        cs.label(sources, runs.model, parts=0)


def read_book(spark, directory: Path) -> dict:
    """A book directory as Spark reads it: Parquet typed, CSV as text (no inferSchema)."""
    tables = {}
    for name in SOURCES:
        if (directory / f"{name}.parquet").exists():
            tables[name] = spark.read.parquet(str(directory / f"{name}.parquet"))
        elif (directory / f"{name}.csv").exists():
            tables[name] = spark.read.csv(str(directory / f"{name}.csv"), header=True)
    return tables


def test_training_on_every_client_gives_the_cli_model(runs, spark, tmp_path):
    book = read_book(spark, ROOT / "data" / "sample")
    assert {"clients", "policies"} <= set(book)
    path, metrics = cs.train(book, models=tmp_path / "models", out=tmp_path / "out")
    ours = json.loads((path / "bundle.json").read_text())
    cli = json.loads((clientele.Bundle.load(runs.model).path / "bundle.json").read_text())
    for part in ["features", "segments", "lapse", "cleaning"]:
        assert ours[part] == cli[part], part
    assert metrics == cli["metrics"]


def test_training_on_a_stratified_sample_of_feature_rows(runs, spark, tmp_path):
    book = read_book(spark, ROOT / "data" / "sample")
    cli = clientele.Bundle.load(runs.model)
    full = json.loads((cli.path / "bundle.json").read_text())
    path, metrics = cs.train(
        book, sample=6000, parts=3, models=tmp_path / "models", out=tmp_path / "out"
    )
    ours = json.loads((path / "bundle.json").read_text())
    # The whole book's cut-off and client count; a sample of its clients in force.
    assert ours["cutoff"] == full["cutoff"]
    assert metrics["clients"] == full["metrics"]["clients"] == 20000
    in_force = full["metrics"]["active_clients"]
    # 6,000 of the clients in force at either cut-off; those in force at the cut-off
    # among them.
    assert 0.3 * in_force < metrics["active_clients"] < 6000
    # Stratified: the sample's lapse rate is the book's.
    assert abs(metrics["lapse_rate"] - full["metrics"]["lapse_rate"]) < 0.003
    # Cleaning statistics from a sample of clients: near the book's.
    for key, fit in full["cleaning"]["numeric"].items():
        assert abs(ours["cleaning"]["numeric"][key]["median"] - fit["median"]) <= 0.05 * abs(fit["median"]) + 1
    assert metrics["test"]["roc_auc"] > 0.65 and metrics["out_of_time"] is not None
    quality = json.loads((tmp_path / "out" / "train-data-quality" / "data-quality.json").read_text())
    assert quality["clients"] == 20000
    assert not (tmp_path / "out" / "train-data-quality" / "quarantine.csv").exists()
    # The same seed draws the same sample and fits the same model.
    again, _ = cs.train(book, sample=6000, parts=2, models=tmp_path / "models", out=tmp_path / "o2")
    assert json.loads((again / "bundle.json").read_text())["lapse"] == ours["lapse"]


def test_training_with_charts_counts_lifecycle_over_every_part_as_the_cli(spark, tmp_path):
    # Persistency and exits are counted over every client (not the fitted sample), in
    # three parts, with the fitted bundle's segments: the files equal a whole-book run's.
    book = read_book(spark, ROOT / "data" / "sample")
    cs.train(book, parts=3, charts=True, models=tmp_path / "m", out=tmp_path / "o")
    tables = clientele.read_sources(ROOT / "data" / "sample")
    clientele.train(tables, charts=True, models=tmp_path / "m2", out=tmp_path / "o2")
    for name in ["persistency.csv", "incidence.csv"]:
        [ours] = (tmp_path / "o").glob(f"train-*/{name}")
        [whole] = (tmp_path / "o2").glob(f"train-*/{name}")
        assert ours.read_text() == whole.read_text(), name
        assert len(ours.read_text().splitlines()) > 50, name
    charts = ours.parent
    assert (charts / "persistency.svg").exists() and (charts / "incidence.svg").exists()


def test_training_bad_input_raises_the_engine_message(spark, tmp_path):
    from pyspark.sql import functions as F

    book = read_book(spark, ROOT / "data" / "sample")
    broken = book["clients"].withColumn(
        "annual_income",
        F.when(F.col("client_id") == F.lit("C0000010"), F.lit("lots")).otherwise(F.col("annual_income")),
    )
    with pytest.raises(clientele.BadInput, match=r"annual_income") as bad:
        cs.train(dict(book, clients=broken), parts=2, models=tmp_path / "m", out=tmp_path / "o")
    assert "<clients table>" in str(bad.value) and "lots" in str(bad.value), str(bad.value)
    assert not (tmp_path / "m").exists() or not any((tmp_path / "m").iterdir())
    with pytest.raises(clientele.BadInput, match="not a Spark DataFrame"):
        cs.train(dict(book, clients=pa.table({"client_id": ["C1"]})), models=tmp_path / "m")
    with pytest.raises(clientele.BadInput, match="parts"):
        cs.train(book, parts=0, models=tmp_path / "m")


def test_training_on_a_sample_draws_it_by_seed(spark, tmp_path):
    book = read_book(spark, ROOT / "data" / "sample")
    tables = cs._sampled_tables(book, 8000, 42, None, None)
    again = cs._sampled_tables(book, 8000, 42, None, None)
    other = cs._sampled_tables(book, 8000, 7, None, None)
    ids = set(tables["clients"].column("client_id").to_pylist())
    assert 7000 < len(ids) < 9000
    assert ids == set(again["clients"].column("client_id").to_pylist())
    assert ids != set(other["clients"].column("client_id").to_pylist())
    # Every record of a sampled client (ids as the CLI hashes them: trimmed).
    every = pa.Table.from_batches(book["policies"]._collect_as_arrow())
    expected = sorted(p for p, c in zip(every["policy_id"].to_pylist(), every["client_id"].to_pylist())
                      if c is not None and c.strip() in ids)
    sampled = tables["policies"]
    got = sorted(p for p, c in zip(sampled["policy_id"].to_pylist(), sampled["client_id"].to_pylist())
                 if c is not None and c.strip() in ids)
    assert got == expected and len(got) > len(ids)
    with pytest.raises(clientele.BadInput, match="sample"):
        cs.train(book, sample=0, models=tmp_path / "m")
