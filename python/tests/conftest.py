"""What the tests compare against, built here when not given.

- The model: ``CLIENTELE_MODEL``, else trained on the sample with ``--extract-date
  2026-09-30`` by ``clientele-train`` when the binaries are found, else by
  ``clientele.train`` (the same bundle: test_training_in_memory_gives_the_cli_model).
- The CLI's runs of the sample's next month (``CLIENTELE_LABELS``,
  ``CLIENTELE_PARTED_RUN``, ``CLIENTELE_LAST_MONTH``, ``CLIENTELE_PREVIOUS_RUN``): made
  by ``clientele-infer`` when not given; tests comparing with the CLI are skipped when
  neither the runs nor the binaries are there (a wheel installed without the Rust
  build). The binaries are looked for in ``CLIENTELE_BIN_DIR``, then the ``release``
  directory of ``CARGO_TARGET_DIR``, ``~/.cache/clientele-target`` and ``target``.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Optional

import pytest

import clientele

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "sample"
NEXT_MONTH = SAMPLE / "next-month"
TRAIN_EXTRACT = "2026-09-30"
# The extract date the Spark parity runs are made with.
PARTED_EXTRACT = "2026-11-30"


def _binary(name: str) -> Optional[Path]:
    places = [os.environ.get("CLIENTELE_BIN_DIR")]
    target = os.environ.get("CARGO_TARGET_DIR")
    places += [str(Path(target) / "release")] if target else []
    places += [str(Path.home() / ".cache" / "clientele-target" / "release")]
    places += [str(ROOT / "target" / "release")]
    for place in places:
        if place and (Path(place) / name).is_file():
            return Path(place) / name
    return None


def _run(binary: Path, *args: str) -> None:
    done = subprocess.run([str(binary), *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise AssertionError(f"{binary.name} {' '.join(args)} failed:\n{done.stderr}")


class Runs:
    """The model and the CLI's runs, each made once on first use."""

    def __init__(self, work: Path):
        self.work = work
        self._made: dict = {}

    def _given_or(self, variable: str, make) -> Path:
        if variable not in self._made:
            given = os.environ.get(variable)
            self._made[variable] = Path(given) if given else make()
        return self._made[variable]

    @property
    def model(self) -> Path:
        return self._given_or("CLIENTELE_MODEL", self._train)

    def _train(self) -> Path:
        models, out = self.work / "models", self.work / "out"
        train = _binary("clientele-train")
        if train is None:
            tables = clientele.read_sources(SAMPLE)
            path, _ = clientele.train(tables, models=models, out=out, extract_date=TRAIN_EXTRACT)
            return path
        _run(train, "--data", str(SAMPLE), "--extract-date", TRAIN_EXTRACT,
             "--models", str(models), "--out", str(out), "--no-charts")
        return models / "latest"

    def _infer(self, name: str, *args: str) -> Path:
        infer = _binary("clientele-infer")
        if infer is None:
            pytest.skip("no clientele-infer binary to compare with (build it with cargo, or "
                        "set the CLIENTELE_* runs: see conftest.py)")
        out = self.work / name
        data = () if "--data" in args else ("--data", str(NEXT_MONTH))
        _run(infer, "--model", str(self.model), "--out", str(out), *data, *args)
        return out

    @property
    def labels(self) -> Path:
        """The CLI's labels of the next month, no date given."""
        return self._given_or("CLIENTELE_LABELS", lambda: self._infer("run") / "labels.parquet")

    @property
    def parted(self) -> Path:
        return self._given_or(
            "CLIENTELE_PARTED_RUN",
            lambda: self._infer("run3", "--partitions", "3", "--extract-date", PARTED_EXTRACT),
        )

    @property
    def last_month(self) -> Path:
        return self._given_or(
            "CLIENTELE_LAST_MONTH",
            lambda: self._infer("september", "--data", str(SAMPLE), "--extract-date", TRAIN_EXTRACT),
        )

    @property
    def since(self) -> Path:
        return self._given_or(
            "CLIENTELE_PREVIOUS_RUN",
            lambda: self._infer("since", "--partitions", "3", "--extract-date", PARTED_EXTRACT,
                                "--previous-run", str(self.last_month)),
        )


    @property
    def since_whole(self) -> Path:
        """The next month in one piece, no date given, with last month's run."""
        if "since_whole" not in self._made:
            self._made["since_whole"] = self._infer("since1", "--previous-run", str(self.last_month))
        return self._made["since_whole"]


@pytest.fixture(scope="session")
def runs(tmp_path_factory) -> Runs:
    return Runs(tmp_path_factory.mktemp("clientele-runs"))
