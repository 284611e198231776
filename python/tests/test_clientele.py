"""The Python package against the CLI: the same labels as `clientele-infer` on the
sample's next month, the bundle's contents, training in memory, and bad input as
exceptions carrying the CLI's messages.

Needs (set by .ci/run): CLIENTELE_MODEL, a bundle trained by `clientele-train` on the
sample; CLIENTELE_LABELS, the `labels.parquet` `clientele-infer` wrote with it for
data/sample/next-month.
"""

import json
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import clientele

ROOT = Path(__file__).resolve().parents[2]
NEXT_MONTH = ROOT / "data" / "sample" / "next-month"
MODEL = Path(os.environ.get("CLIENTELE_MODEL", ROOT / "models" / "latest"))
LABELS = Path(os.environ.get("CLIENTELE_LABELS", ROOT / "notebooks-out" / "labels.parquet"))
SOURCES = ["clients", "policies", "payments", "claims", "contacts"]


def next_month_tables() -> dict:
    tables = clientele.read_sources(NEXT_MONTH)
    assert sorted(tables) == sorted(SOURCES)
    return tables


@pytest.fixture(scope="module")
def bundle() -> clientele.Bundle:
    if not MODEL.exists():
        pytest.fail(f"no model at {MODEL}: run clientele-train first (see README)")
    return clientele.Bundle.load(MODEL)


def test_labels_equal_the_cli_labels(bundle):
    ours = bundle.label(next_month_tables())
    cli = pq.read_table(LABELS)
    assert ours.column_names == cli.column_names
    assert ours.num_rows == cli.num_rows
    for name in cli.column_names:
        assert ours.column(name).to_pylist() == cli.column(name).to_pylist(), name


def test_the_bundle_reads_as_plain_python(bundle):
    data = json.loads((bundle.path / "bundle.json").read_text())
    assert bundle.version == data["version"] and bundle.cutoff == data["cutoff"]
    assert bundle.mode == "relational"
    assert len(bundle.segments) == data["metrics"]["k"]
    assert [c["feature"] for c in bundle.coefficients] == data["lapse"]["columns"]
    assert all(c["low"] <= c["odds_ratio"] <= c["high"] for c in bundle.coefficients)
    assert 0 < bundle.thresholds["threshold"] < 1
    assert bundle.metrics["test"]["roc_auc"] > 0.5


def test_details_carry_the_as_of_and_the_quality_report(bundle):
    done = bundle.label_with_details(next_month_tables())
    assert done.as_of == "2026-10-31" and "last full month" in done.as_of_why
    assert {s["source"] for s in done.quality["sources"]} == set(SOURCES)


def test_features_transform_and_probabilities_agree_with_the_labels(bundle):
    tables = next_month_tables()
    features = bundle.features(tables)
    labels = bundle.label(tables)
    assert features.column("client_id").to_pylist() == labels.column("client_id").to_pylist()
    matrix = bundle.transform(features)
    assert matrix.column_names == bundle.feature_names
    assert matrix.num_rows == features.num_rows
    p = bundle.predict_proba(features).to_pylist()
    scored = [(q, l) for q, l in zip(p, labels.column("lapse_probability").to_pylist()) if l is not None]
    assert len(scored) > 1000
    assert max(abs(q - l) for q, l in scored) < 1e-12
    with pytest.raises(clientele.BadInput, match="no column"):
        bundle.predict_proba(features.drop([bundle.as_dict()["features"]["numeric"][0]["name"]]))


def test_training_in_memory_gives_the_cli_model(tmp_path, bundle):
    tables = clientele.read_sources(ROOT / "data" / "sample")
    path, metrics = clientele.train(
        tables, models=tmp_path / "models", out=tmp_path / "out"
    )
    ours = json.loads((path / "bundle.json").read_text())
    cli = json.loads((bundle.path / "bundle.json").read_text())
    for part in ["features", "segments", "lapse", "cleaning"]:
        assert ours[part] == cli[part], part
    assert metrics == cli["metrics"]
    assert (path.parent / "latest").read_text().strip() == path.name


@pytest.mark.parametrize(
    "change, error, words",
    [
        (lambda t: t.pop("clients"), clientele.BadInput, ["clients"]),
        (
            lambda t: t.__setitem__("policies", t["policies"].drop(["client_id"])),
            clientele.BadInput,
            ["<policies table>", "client_id"],
        ),
        (
            lambda t: t.__setitem__("invoices", t["clients"]),
            clientele.BadInput,
            ["invoices", "not a source"],
        ),
        (lambda t: t.__setitem__("clients", [1, 2, 3]), clientele.BadInput, ["not an Arrow table"]),
        (
            lambda t: t.__setitem__("clients", pa.table({"client_id": pa.array([[1], [2]])})),
            clientele.BadInput,
            ["<clients table>", "client_id"],
        ),
    ],
)
def test_bad_tables_raise_the_cli_message(bundle, change, error, words):
    tables = next_month_tables()
    change(tables)
    with pytest.raises(error) as caught:
        bundle.label(tables)
    for w in words:
        assert w in str(caught.value)


def test_a_bad_value_names_table_row_and_column(bundle):
    tables = next_month_tables()
    premiums = [None if v is None else str(v) for v in tables["policies"].column("annual_premium").to_pylist()]
    premiums[4] = "lots"
    tables["policies"] = tables["policies"].set_column(
        tables["policies"].schema.get_field_index("annual_premium"),
        "annual_premium",
        pa.array(premiums, pa.string()),
    )
    with pytest.raises(clientele.BadInput, match=r"<policies table>, row 5, column 'annual_premium'"):
        bundle.label(tables)


def test_dates_and_bundles_that_cannot_be_used(bundle, tmp_path):
    with pytest.raises(clientele.BadInput, match="before the model's training cut-off"):
        bundle.label(next_month_tables(), as_of="2020-01-31")
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
