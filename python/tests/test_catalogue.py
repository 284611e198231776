"""The bad-input catalogue's table cases through the Python package: each must raise
``BadInput`` naming what the CLI's message names (the table instead of the file).

The cases come from ``cargo test --test catalogue`` run with
``CLIENTELE_CATALOGUE_EXPORT=DIR`` (as .ci/run does); this suite reads ``DIR`` from
``CLIENTELE_CATALOGUE`` and is skipped without it."""

import os
from pathlib import Path

import pyarrow as pa
import pytest

import clientele

CATALOGUE = os.environ.get("CLIENTELE_CATALOGUE")

pytestmark = pytest.mark.skipif(not CATALOGUE, reason="CLIENTELE_CATALOGUE not set")


def cases():
    return sorted(p for p in Path(CATALOGUE).iterdir() if p.is_dir()) if CATALOGUE else []


def test_every_table_case_raises_bad_input_naming_what_the_cli_names(tmp_path):
    ran, failures = [], []
    for case in cases():
        # A flat-mode case's book keeps the relational files beside flat.csv; the package
        # refuses tables a mode does not use, so only the flat one is passed.
        flat = (case / "data" / "flat.csv").exists()
        try:
            tables = clientele.read_sources(case / "data", ["flat"] if flat else None)
        except pa.ArrowInvalid:
            continue  # pyarrow cannot read it as a table: a file-level case here
        config = case / "config.txt"
        config = case / config.read_text().strip() if config.exists() else None
        needles = [n for n in (case / "needles.txt").read_text().splitlines() if n]
        try:
            clientele.train(
                tables, config=config, models=tmp_path / case.name / "models",
                out=tmp_path / case.name / "out",
            )
        except clientele.BadInput as e:
            missing = [n for n in needles if n not in str(e)]
            if missing:
                failures.append(f"{case.name}: {missing} not in {e}")
        except Exception as e:  # noqa: BLE001 - any other outcome is the failure reported
            failures.append(f"{case.name}: {type(e).__name__} instead of BadInput: {e}")
        else:
            failures.append(f"{case.name}: accepted")
        ran.append(case.name)
    assert not failures, "\n".join(failures)
    assert len(ran) >= 25, f"only {len(ran)} cases ran: {ran}"
