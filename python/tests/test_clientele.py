"""The Python package against the CLI: the same labels as `clientele-infer` on the
sample's next month with no date given (after training with an extract date), the same
plain Arrow types, the bundle's contents, training in memory, and bad input as
exceptions carrying the CLI's facts in the Python API's words. The model and the CLI's
runs come from conftest.py."""

import json
import pickle

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv  # noqa: F401 - pa.csv.write_csv
import pyarrow.parquet as pq
import pytest

import clientele
from conftest import NEXT_MONTH, ROOT, SAMPLE, TRAIN_EXTRACT

SOURCES = ["clients", "policies", "payments", "claims", "contacts"]

def documented_label_types() -> dict:
    """The labels' Arrow types as docs/python.md lists them (the one place they are
    documented): rows of its "Arrow types" table, `column` | `type` | ..."""
    import re

    text = (ROOT / "docs" / "python.md").read_text()
    section = text.split("## Arrow types", 1)[1].split("\n## ", 1)[0]
    types = {}
    for row in section.splitlines():
        cells = [c.strip() for c in row.strip().strip("|").split("|")]
        if len(cells) < 2 or not cells[0].startswith("`"):
            continue
        kind = re.match(r"`(\w+)`", cells[1]).group(1)
        for column in re.findall(r"`(\w+)`", cells[0]):
            types[column] = {"string": pa.string(), "int32": pa.int32(), "double": pa.float64(), "bool": pa.bool_()}[kind]
    return types


LABEL_TYPES = documented_label_types()


def next_month_tables() -> dict:
    tables = clientele.read_sources(NEXT_MONTH)
    assert sorted(tables) == sorted(SOURCES)
    return tables


@pytest.fixture(scope="module")
def bundle(runs) -> clientele.Bundle:
    return clientele.Bundle.load(runs.model)


def test_the_model_was_trained_with_an_extract_date(bundle):
    # What makes the default test below mean something: training's extract date is in
    # the bundle, and the next month's records are later.
    assert bundle.as_dict()["config"]["cleaning"]["extract_date"] == TRAIN_EXTRACT


def test_with_no_date_given_labels_equal_the_cli_labels(bundle, runs):
    done = bundle.label_with_details(next_month_tables())
    cli = pq.read_table(runs.labels)
    assert done.as_of == "2026-10-31" and "last full month" in done.as_of_why
    assert done.quality["extract_date"] > "2026-10-31"
    assert done.labels.schema == cli.schema
    assert done.labels.equals(cli)
    # Read against training's extract date, October's records would be future-dated.
    stale = bundle.label(next_month_tables(), extract_date=TRAIN_EXTRACT)
    assert not stale.equals(cli)


def test_labels_carry_plain_arrow_types_on_every_path(bundle, runs):
    ours = bundle.label(next_month_tables())
    cli = pq.read_table(runs.labels)
    assert len(LABEL_TYPES) > 10, "docs/python.md's table was not read"
    for table in (ours, cli):
        assert {f.name: f.type for f in table.schema} == LABEL_TYPES
    # What string_view columns refused: sorting, compute, joins, CSV, pandas, polars.
    ordered = ours.sort_by("client_id")
    assert pc.sum(pc.equal(ordered["risk_band"], "high")).as_py() > 0
    joined = ordered.join(cli.select(["client_id", "action"]), "client_id", right_suffix="_cli")
    assert joined.num_rows == ours.num_rows
    sink = pa.BufferOutputStream()
    pa.csv.write_csv(ordered.slice(0, 10), sink)
    assert ordered.slice(0, 10).to_pandas()["segment_id"].dtype == "int32"


def test_inputs_from_pandas_and_polars_give_the_same_labels(bundle):
    tables = next_month_tables()
    ours = bundle.label(tables)
    pandas_tables = {name: t.to_pandas() for name, t in tables.items()}
    assert bundle.label(pandas_tables).equals(ours)
    polars = pytest.importorskip("polars")
    polars_tables = {name: polars.from_arrow(t) for name, t in tables.items()}
    assert bundle.label(polars_tables).equals(ours)


def test_a_run_in_memory_equals_the_cli_run(bundle, runs, tmp_path):
    cli = runs.labels.parent
    run = clientele.label_run(bundle, next_month_tables(), out=tmp_path / "run")
    assert run.as_of == "2026-10-31" and run.out == tmp_path / "run"
    assert run.labels.equals(pq.read_table(runs.labels))
    for name in ["drift.json", "summary.json"]:
        assert json.loads((run.out / name).read_text()) == json.loads((cli / name).read_text())
    ours, theirs = (json.loads((d / "data-quality.json").read_text()) for d in (run.out, cli))
    for s in ours["sources"] + theirs["sources"]:
        s.pop("path")  # a file for the CLI, `<clients table>` for a table
    assert ours == theirs
    charts = run.charts()
    assert charts and sorted(charts) == sorted(p.name for p in (cli / "charts").glob("*.png"))
    assert all(png == (cli / "charts" / name).read_bytes() for name, png in charts.items())
    assert run.drift_status in ("ok", "watch", "retrain")
    table = run.drift_table()
    assert table.num_rows == len(run.drift["items"]) and {"name", "psi", "status"} <= set(table.column_names)
    assert table["psi"].to_pylist() == sorted(table["psi"].to_pylist(), reverse=True)
    # Without out: the same numbers, nothing written.
    quiet = clientele.label_run(bundle, next_month_tables())
    assert quiet.out is None and quiet.charts() == {}
    assert (quiet.summary, quiet.drift) == (run.summary, run.drift)
    with pytest.raises(clientele.BadInput, match="already exists"):
        clientele.label_run(bundle, next_month_tables(), out=tmp_path / "run")


def test_a_run_with_last_months_labels_equals_the_cli_run(bundle, runs):
    cli = json.loads((runs.since_whole / "summary.json").read_text())
    by_dir = clientele.label_run(bundle, next_month_tables(), previous=runs.last_month)
    assert by_dir.summary == cli and by_dir.outcomes["known"] > 10000
    # The effect of last month's holdouts, as the CLI's effect.csv.
    assert by_dir.effect is not None and by_dir.effect["identified"]
    table = by_dir.effect_table()
    assert table is not None and table.num_rows == len(by_dir.effect["rows"]) > 0
    with open(runs.since_whole / "effect.csv") as f:
        assert sum(1 for _ in f) == table.num_rows + 1
    last = json.loads((runs.last_month / "summary.json").read_text())
    by_table = clientele.label_run(
        bundle,
        next_month_tables(),
        previous=pq.read_table(runs.last_month / "labels.parquet"),
        previous_as_of=last["as_of"],
        previous_model=last["model_version"],
    )
    assert by_table.summary == cli


def test_the_bundle_reads_as_plain_python(bundle):
    data = json.loads((bundle.path / "bundle.json").read_text())
    assert bundle.version == data["version"] and bundle.cutoff == data["cutoff"]
    assert bundle.mode == "relational"
    assert len(bundle.segments) == data["metrics"]["k"]
    assert [c["feature"] for c in bundle.coefficients] == data["lapse"]["columns"]
    assert all(c["low"] <= c["odds_ratio"] <= c["high"] for c in bundle.coefficients)
    assert 0 < bundle.thresholds["threshold"] < 1
    assert bundle.metrics["test"]["roc_auc"] > 0.5


def test_details_carry_the_quality_report(bundle):
    done = bundle.label_with_details(next_month_tables())
    assert {s["source"] for s in done.quality["sources"]} == set(SOURCES)


def test_features_transform_and_probabilities_agree_with_the_labels(bundle):
    tables = next_month_tables()
    features = bundle.features(tables)
    labels = bundle.label(tables)
    assert features.column("client_id").to_pylist() == labels.column("client_id").to_pylist()
    assert features.schema.field("client_id").type == pa.string()
    matrix = bundle.transform(features)
    assert matrix.column_names == bundle.feature_names
    assert matrix.num_rows == features.num_rows
    p = bundle.predict_proba(features).to_pylist()
    ours = labels.column("lapse_probability").to_pylist()
    # Only clients in force are scored, as in the labels.
    assert [q is None for q in p] == [l is None for l in ours] == [not f for f in features["in_force"].to_pylist()]
    scored = [(q, l) for q, l in zip(p, ours) if l is not None]
    assert len(scored) > 1000
    assert max(abs(q - l) for q, l in scored) < 1e-12
    # A feature table without the flag is scored whole.
    assert None not in bundle.predict_proba(features.drop(["in_force"])).to_pylist()
    with pytest.raises(clientele.BadInput, match="no column"):
        bundle.predict_proba(features.drop([bundle.as_dict()["features"]["numeric"][0]["name"]]))


def test_training_in_memory_gives_the_cli_model(tmp_path, bundle):
    tables = clientele.read_sources(SAMPLE)
    path, metrics = clientele.train(
        tables, models=tmp_path / "models", out=tmp_path / "out", extract_date=TRAIN_EXTRACT
    )
    ours = json.loads((path / "bundle.json").read_text())
    cli = json.loads((bundle.path / "bundle.json").read_text())
    for part in ["features", "segments", "lapse", "cleaning", "config"]:
        assert ours[part] == cli[part], part
    assert metrics == cli["metrics"]
    assert (path.parent / "latest").read_text().strip() == path.name
    # The sources trained on are recorded (by table name), so labeling requires them.
    sources = lambda b: sorted(f["source"] for f in b["data"]["files"])  # noqa: E731
    assert sources(ours) == sources(cli) == sorted(SOURCES)
    month = next_month_tables()
    month.pop("contacts")
    with pytest.raises(clientele.BadInput, match=r"trained with source\(s\) \["):
        clientele.Bundle.load(path).label(month)


def test_a_bundle_pickles_by_content_and_is_checked_again(bundle, tmp_path):
    tables = next_month_tables()
    copy = pickle.loads(pickle.dumps(bundle))
    assert copy.version == bundle.version and copy.as_dict() == bundle.as_dict()
    assert copy.label(tables).equals(bundle.label(tables))
    # Tampered with: the content no longer matches its digest.
    data = pickle.dumps(bundle)
    cutoff = bundle.cutoff.encode()
    tampered = data.replace(cutoff, b"2001-01-31", 1)
    assert tampered != data
    with pytest.raises(clientele.BadInput, match="altered") as caught:
        pickle.loads(tampered)
    assert caught.value.file == str(bundle.path)


def label_in_worker(job: tuple) -> pa.Table:
    bundle, tables = job
    return bundle.label(tables)


def test_a_pickled_bundle_labels_client_parts_in_worker_processes(bundle):
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from clientele._native import client_parts

    tables = next_month_tables()
    # Each record goes to its client's part by the CLI's hash (clientele-infer --partitions).
    part_of = {
        name: pa.table(client_parts(pa.table({"id": t["client_id"]}), 4)).column(0)
        for name, t in tables.items()
    }
    parts = [
        {name: t.filter(pc.equal(part_of[name], p)) for name, t in tables.items()}
        for p in range(4)
    ]
    whole = bundle.label(tables).sort_by("client_id")
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=2, mp_context=spawn) as pool:
        labelled = list(pool.map(label_in_worker, [(bundle, part) for part in parts]))
    assert pa.concat_tables(labelled).sort_by("client_id").equals(whole)
    # The same fan-out as a notebook writes it, with joblib (its loky workers pickle the
    # Bundle and the tables).
    joblib = pytest.importorskip("joblib")
    labelled = joblib.Parallel(n_jobs=2)(
        joblib.delayed(label_in_worker)((bundle, part)) for part in parts
    )
    assert pa.concat_tables(labelled).sort_by("client_id").equals(whole)


def test_errors_pickle_with_their_facts(bundle):
    tables = next_month_tables()
    tables["policies"] = with_text(tables["policies"], "annual_premium", {4: "lots"})
    with pytest.raises(clientele.BadInput) as caught:
        bundle.label(tables)
    e = caught.value
    assert isinstance(e, ValueError) and isinstance(e, clientele.ClienteleError)
    assert (e.file, e.column, e.row) == ("<policies table>", "annual_premium", 5)
    again = pickle.loads(pickle.dumps(e))
    assert type(again) is clientele.BadInput and str(again) == str(e)
    assert (again.file, again.column, again.row) == (e.file, e.column, e.row)
    run = pickle.loads(pickle.dumps(clientele.RunError("disk full", file="x.csv")))
    assert isinstance(run, RuntimeError) and run.file == "x.csv"


def test_the_package_is_versioned_and_typed():
    from importlib import resources

    assert clientele.__version__.count(".") == 2
    assert resources.files("clientele").joinpath("py.typed").is_file()
    assert resources.files("clientele").joinpath("__init__.pyi").is_file()


def with_text(table: pa.Table, column: str, changes: dict) -> pa.Table:
    values = [None if v is None else str(v) for v in table.column(column).to_pylist()]
    for i, v in changes.items():
        values[i] = v
    at = table.schema.get_field_index(column)
    return table.set_column(at, column, pa.array(values, pa.string()))


def with_column(table: pa.Table, column: str, values: pa.Array) -> pa.Table:
    return table.set_column(table.schema.get_field_index(column), column, values)


@pytest.mark.parametrize(
    "change, words",
    [
        (lambda t: t.pop("clients"), ["clients"]),
        (
            lambda t: t.__setitem__("policies", t["policies"].drop(["client_id"])),
            ["<policies table>", "client_id"],
        ),
        (lambda t: t.__setitem__("invoices", t["clients"]), ["invoices", "not a source"]),
        (lambda t: t.__setitem__("clients", [1, 2, 3]), ["not an Arrow table"]),
        (
            lambda t: t.__setitem__("clients", pa.table({"client_id": pa.array([[1], [2]])})),
            ["clients", "client_id", "list"],
        ),
        (
            lambda t: t.__setitem__("clients", t["clients"].slice(0, 0)),
            ["clients"],
        ),
    ],
)
def test_bad_tables_raise_bad_input_naming_what_is_wrong(bundle, change, words):
    tables = next_month_tables()
    change(tables)
    with pytest.raises(clientele.BadInput) as caught:
        bundle.label(tables)
    for w in words:
        assert w in str(caught.value)


def test_a_bad_value_names_table_row_and_column(bundle):
    tables = next_month_tables()
    tables["policies"] = with_text(tables["policies"], "annual_premium", {4: "lots"})
    with pytest.raises(clientele.BadInput, match=r"<policies table>, row 5, column 'annual_premium'"):
        bundle.label(tables)


def test_decimal_columns_are_read_as_numbers(bundle):
    # A decimal is read as the nearest double to its value: as Python's float(Decimal).
    tables = next_month_tables()
    premiums = pc.round(tables["policies"].column("annual_premium"), 2)
    as_decimal = pc.cast(premiums, pa.decimal128(14, 2))
    nearest = pa.array([None if d is None else float(d) for d in as_decimal.to_pylist()], pa.float64())
    decimal = with_column(tables["policies"], "annual_premium", as_decimal)
    expected = bundle.label(dict(tables, policies=with_column(tables["policies"], "annual_premium", nearest)))
    assert bundle.label(dict(tables, policies=decimal)).equals(expected)


def test_boolean_and_unreadable_columns_are_refused_by_name(bundle):
    tables = next_month_tables()
    n = tables["clients"].num_rows
    flags = pa.array([i % 2 == 0 for i in range(n)])
    tables["clients"] = with_column(tables["clients"], "annual_income", flags)
    with pytest.raises(clientele.BadInput, match="bool columns are not accepted") as caught:
        bundle.label(tables)
    assert caught.value.column == "annual_income" and caught.value.file == "<clients table>"
    assert "annual_income" in str(caught.value)


@pytest.mark.parametrize(
    "source, column, make, words",
    [
        ("policies", "start_date", lambda c: pc.cast(pc.cast(c, pa.int32()), pa.int64()), ["expected dates"]),
        ("policies", "annual_premium", lambda c: pa.nulls(len(c), pa.date32()), ["expected a number"]),
        ("clients", "region", lambda c: pa.array([{"a": 1}] * len(c)), ["struct is not accepted"]),
        ("clients", "annual_income", lambda c: pa.array([b"x"] * len(c)), ["binary is not accepted"]),
    ],
)
def test_a_column_of_the_wrong_kind_is_refused_by_name(bundle, source, column, make, words):
    tables = next_month_tables()
    tables[source] = with_column(tables[source], column, make(tables[source][column]))
    with pytest.raises(clientele.BadInput) as caught:
        bundle.label(tables)
    for w in words + [column, f"<{source} table>"]:
        assert w in str(caught.value) or w == caught.value.file, (w, str(caught.value))


def test_categoricals_and_large_strings_read_as_text(bundle):
    tables = next_month_tables()
    ours = bundle.label(tables)
    region = tables["clients"]["region"]
    for other in (pc.dictionary_encode(region), pc.cast(region, pa.large_string())):
        changed = dict(tables, clients=with_column(tables["clients"], "region", other))
        assert bundle.label(changed).equals(ours)


def test_timestamps_are_read_as_their_day(bundle):
    tables = next_month_tables()
    ours = bundle.label(tables)
    dates = tables["policies"].column("start_date")
    stamped = with_column(tables["policies"], "start_date", pc.cast(pc.cast(dates, pa.date32()), pa.timestamp("ns")))
    assert bundle.label(dict(tables, policies=stamped)).equals(ours)


def test_arguments_are_checked_and_named_in_python_words(bundle, tmp_path):
    tables = clientele.read_sources(SAMPLE)
    for k in (-3, 0, 2.5, True):
        with pytest.raises(clientele.BadInput, match="k") as caught:
            clientele.train(tables, k=k, models=tmp_path / "m", out=tmp_path / "o")
        assert "--" not in str(caught.value)
    with pytest.raises(clientele.BadInput, match="k must be between 1 and 50, got 99"):
        clientele.train(tables, k=99, models=tmp_path / "m", out=tmp_path / "o")
    with pytest.raises(clientele.BadInput, match="seed"):
        clientele.train(tables, seed=-1, models=tmp_path / "m", out=tmp_path / "o")
    with pytest.raises(clientele.BadInput, match="horizon_months must be between 1 and 60"):
        clientele.train(tables, horizon_months=0, models=tmp_path / "m", out=tmp_path / "o")
    with pytest.raises(clientele.BadInput, match=r"as_of=2020-01-31 is before the model's training cut-off"):
        bundle.label(next_month_tables(), as_of="2020-01-31")


def test_dates_and_bundles_that_cannot_be_used(bundle, tmp_path):
    with pytest.raises(clientele.BadInput, match="expected a date"):
        bundle.label(next_month_tables(), as_of="31/01/2026")
    with pytest.raises(clientele.BadInput, match="no model here"):
        clientele.Bundle.load(tmp_path)
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    (damaged / "bundle.json").write_text((bundle.path / "bundle.json").read_text()[:500])
    with pytest.raises(clientele.BadInput, match="damaged"):
        clientele.Bundle.load(damaged)
    with pytest.raises(clientele.BadInput, match="flat-mode bundle"):
        bundle.label_flat(pa.table({"id": ["a"]}))


def test_a_missing_or_empty_directory_is_an_error(tmp_path):
    with pytest.raises(clientele.BadInput, match="no such directory") as caught:
        clientele.read_sources(tmp_path / "nonexistent")
    assert caught.value.file == str(tmp_path / "nonexistent")
    with pytest.raises(clientele.BadInput, match="none of the source files"):
        clientele.read_sources(tmp_path)


def flat_book(n: int = 600) -> pa.Table:
    return pa.table({
        "id": [f"C{i}" for i in range(n)],
        "missed": [float(i % 5) for i in range(n)],
        "tenure": [float((i * 7) % 23) for i in range(n)],
        "lapsed": ["1" if (i % 5) * 3 + (i % 7) > 9 else "0" for i in range(n)],
    })


def test_a_flat_table_in_memory_needs_no_file_path(tmp_path):
    config = tmp_path / "flat.toml"
    config.write_text('mode = "flat"\n[flat]\nid = "id"\nlabel = "lapsed"\nnumeric = ["missed", "tenure"]\n')
    path, metrics = clientele.train(
        {"flat": flat_book()}, config=config, models=tmp_path / "m", out=tmp_path / "o",
        extract_date="2026-09-30",
    )
    bundle = clientele.Bundle.load(path)
    assert bundle.mode == "flat" and metrics["clients"] == 600
    labels = bundle.label_flat(flat_book().drop(["lapsed"]))
    assert labels.num_rows == 600 and labels["lapse_probability"].null_count == 0
