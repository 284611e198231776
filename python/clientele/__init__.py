"""clientele from Python: the same engine as the `clientele-train` and
`clientele-infer` binaries, on Arrow tables in memory.

    import clientele, pyarrow.parquet as pq
    bundle = clientele.Bundle.load("models/latest")
    labels = bundle.label({"clients": pq.read_table("clients.parquet"), ...})

Tables cross into the engine through the Arrow C stream interface (any object with
``__arrow_c_stream__``: a pyarrow Table, a polars DataFrame...) without a pandas copy;
labels come back as a ``pyarrow.Table`` with the columns, values and Arrow types of
``labels.parquet`` (plain ``string``, ``int32``, ``double``: see docs/python.md).
Errors are ``BadInput`` (a ``ValueError``; the CLI's exit code 2: bad data, config or
arguments) or ``RunError`` (a ``RuntimeError``; anything else), both ``ClienteleError``,
with ``.file``, ``.column`` and ``.row`` where known.
"""

from __future__ import annotations

import csv as _csv
import hashlib
import json
import operator
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional, Union

import pyarrow as pa

from ._errors import BadInput, ClienteleError, RunError
from ._native import NativeBundle
from ._native import __version__
from ._native import train as _train

__all__ = [
    "Bundle",
    "Labelled",
    "Run",
    "label_run",
    "read_sources",
    "train",
    "BadInput",
    "ClienteleError",
    "RunError",
    "__version__",
]

PathLike = Union[str, "os.PathLike[str]"]


SOURCES = ("clients", "policies", "payments", "claims", "contacts", "transactions", "flat")


def read_sources(directory: PathLike, sources: Optional[list] = None) -> dict:
    """The source files of a book directory as Arrow tables, read as the CLI reads them:
    ``<source>.parquet`` typed (text as ``string``), ``<source>.csv`` with every column as text (the engine
    parses and checks the values, naming the row and column of a bad one). Sources
    without a file are left out; a directory that does not exist or holds none of them
    is ``BadInput``."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    if not Path(directory).is_dir():
        raise BadInput(f"{directory}: no such directory", file=os.fspath(directory))
    tables = {}
    for name in sources or SOURCES:
        parquet, csv = Path(directory, f"{name}.parquet"), Path(directory, f"{name}.csv")
        if parquet.exists():
            tables[name] = _plain(pq.read_table(parquet))
        elif csv.exists():
            with csv.open(encoding="utf-8-sig", newline="") as f:
                header = next(_csv.reader([f.readline()]), [])
            text = pacsv.ConvertOptions(column_types={c: pa.string() for c in header})
            tables[name] = pacsv.read_csv(csv, convert_options=text)
    if not tables:
        wanted = ", ".join(f"{n}.csv or {n}.parquet" for n in sources or SOURCES)
        raise BadInput(f"{directory}: none of the source files ({wanted})", file=os.fspath(directory))
    return tables


def _plain(table: pa.Table) -> pa.Table:
    """A table with its ``string_view`` columns (Parquet files written by polars) as
    ``string``, which every pyarrow compute function takes."""
    fields = [
        pa.field(f.name, pa.string(), f.nullable) if str(f.type) == "string_view" else f
        for f in table.schema
    ]
    return table.cast(pa.schema(fields))


def _config_text(config: Optional[PathLike]) -> tuple[Optional[str], Optional[str]]:
    """A config file's text and the path errors should name."""
    if config is None:
        return None, None
    path = Path(config)
    try:
        return path.read_text(encoding="utf-8"), str(path)
    except (OSError, UnicodeDecodeError) as e:
        raise BadInput(f"cannot read config {path}: {e}") from None


def _date(value: Any) -> Optional[str]:
    if value is None:
        return None
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _month(tables: Mapping[str, Any], as_of: Any, config: Optional[PathLike], extract_date: Any):
    """The native arguments of a call on one month's tables."""
    if not isinstance(tables, Mapping):
        raise BadInput("tables must map source names ('clients', 'policies', ...) to tables")
    text, origin = _config_text(config)
    return dict(tables), text, origin, _date(as_of), _date(extract_date)


@dataclass(frozen=True)
class Labelled:
    """A labelled batch: the labels, the as-of date used and why, and the data-quality
    report of the batch (as ``data-quality.json``)."""

    labels: pa.Table
    as_of: str
    as_of_why: str
    quality: dict


class Bundle:
    """A trained model bundle, loaded and checked (a damaged or foreign bundle raises
    ``BadInput`` naming the file and what is wrong)."""

    def __init__(self, native: NativeBundle):
        self._native = native
        self._data = json.loads(native.json())

    @classmethod
    def load(cls, path: PathLike) -> "Bundle":
        """Loads a version directory, ``models/latest`` or a models directory."""
        return cls(NativeBundle.load(os.fspath(path)))

    def __repr__(self) -> str:
        return f"<clientele.Bundle {self.version} ({self.mode} mode, cut-off {self.cutoff})>"

    def __reduce__(self):
        # By content, not by path: a worker on another machine needs no copy of the
        # files. The digest and the bundle's own checks run again when it is unpickled.
        text = self._native.json()
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        return (_bundle_from_content, (text, os.fspath(self.path), digest))

    @property
    def path(self) -> Path:
        return Path(self._native.dir)

    @property
    def version(self) -> str:
        return self._data["version"]

    @property
    def mode(self) -> str:
        return self._data["config"]["mode"]

    @property
    def cutoff(self) -> str:
        return self._data["cutoff"]

    @property
    def horizon_months(self) -> int:
        return self._data["horizon_months"]

    @property
    def feature_names(self) -> list[str]:
        """The columns of ``transform``, in order (numeric features, then one-hot
        levels). A binned (scorecard) lapse model expands them into bins: its own
        columns are those of ``coefficients``."""
        return list(self._native.feature_names)

    @property
    def segments(self) -> list[dict]:
        """Each segment: id, name, size, share, lapse rate, centre and profile."""
        return self._data["segments"]["segments"]

    @property
    def coefficients(self) -> list[dict]:
        """Each feature's coefficient, odds ratio and 95% interval (``low``, ``high``)."""
        return self._data["lapse"]["odds_ratios"]

    @property
    def thresholds(self) -> dict:
        """The decision threshold, its rule, and the risk-band cut points."""
        lapse = self._data["lapse"]
        return {
            "threshold": lapse["threshold"],
            "rule": lapse["threshold_rule"],
            "top10": lapse["top10_threshold"],
            "bands": lapse["bands"],
        }

    @property
    def metrics(self) -> dict:
        """Held-out and out-of-time metrics as recorded at training."""
        return self._data["metrics"]

    def as_dict(self) -> dict:
        """The whole bundle as plain Python objects (a copy)."""
        return json.loads(json.dumps(self._data))

    def label_with_details(
        self,
        tables: Mapping[str, Any],
        as_of: Any = None,
        config: Optional[PathLike] = None,
        extract_date: Any = None,
        lang: Optional[str] = None,
        vocabulary: Optional[PathLike] = None,
    ) -> Labelled:
        """``label``, also returning the as-of date used and the quality report."""
        stream, used, why, quality = self._native.label(
            *_month(tables, as_of, config, extract_date), *_words(lang, vocabulary)
        )
        return Labelled(pa.table(stream), used, why, json.loads(quality))

    def label(
        self,
        tables: Mapping[str, Any],
        as_of: Any = None,
        config: Optional[PathLike] = None,
        extract_date: Any = None,
        lang: Optional[str] = None,
        vocabulary: Optional[PathLike] = None,
    ) -> pa.Table:
        """Labels one month's tables (source name -> Arrow table, pandas or polars
        DataFrame) as ``clientele-infer`` does, with the CLI's defaults: the column
        mapping is the bundle's config unless ``config`` names a TOML file; the extract
        date is ``extract_date``, else today (never training's); the as-of date is
        ``as_of``, else the data's last full month end. ``lang`` (``"en"``, the
        default, or ``"zh-CN"``) and ``vocabulary`` (a house vocabulary file) as
        ``--lang`` and ``--vocabulary``: the display columns' words. Returns a table with
        the columns, values and types of ``labels.parquet``."""
        return self.label_with_details(tables, as_of, config, extract_date, lang, vocabulary).labels

    def features(
        self,
        tables: Mapping[str, Any],
        as_of: Any = None,
        config: Optional[PathLike] = None,
        extract_date: Any = None,
    ) -> pa.Table:
        """The point-in-time features of one month's tables, before the model's
        transform: ``client_id``, ``in_force`` (a policy in force at the as-of date: the
        labels score only those clients) and every feature the model uses (the input of
        ``transform`` and ``predict_proba``)."""
        stream, _used = self._native.features(*_month(tables, as_of, config, extract_date))
        return pa.table(stream)

    def transform(self, features: Any) -> pa.Table:
        """The model matrix of a feature table (from ``features``, or a flat table): the
        bundle's fitted imputation, caps, logs, standardisation and one-hot levels,
        columns named as ``feature_names``. Nothing is refitted on the table."""
        return pa.table(self._native.transform(features))

    def predict_proba(self, features: Any) -> pa.Array:
        """The lapse probability of each row of a feature table, as the labels'
        ``lapse_probability`` (a float64 array; unlike scikit-learn's ``predict_proba``
        only the positive class, lapse, is returned): null where the table's
        ``in_force`` is false, as in the labels (a table without that column is scored
        whole)."""
        return pa.table(self._native.predict_proba(features)).column(0).combine_chunks()

    def label_flat(self, table: Any, **kwargs: Any) -> pa.Table:
        """``label`` for a flat-mode bundle: one per-client table."""
        if self.mode != "flat":
            raise BadInput(f"label_flat needs a flat-mode bundle; this one is {self.mode} mode")
        return self.label({"flat": table}, **kwargs)


@dataclass(frozen=True)
class Run:
    """A labeling run of one month's tables, as ``clientele-infer`` makes it: the labels,
    the as-of date used and why, the data-quality report, the run's summary and drift
    report (as ``summary.json`` and ``drift.json``), and where the report files went
    (``None`` when no ``out`` was given)."""

    labels: pa.Table
    as_of: str
    as_of_why: str
    quality: dict
    summary: dict
    drift: dict
    out: Optional[Path]

    @property
    def drift_status(self) -> str:
        """``ok``, ``watch`` or ``retrain`` (``--fail-on-drift`` exits 3 on ``retrain``)."""
        return str(self.drift["status"])

    @property
    def outcomes(self) -> Optional[dict]:
        """How last month's predictions and actions turned out (with ``previous``)."""
        return self.summary.get("outcomes")

    @property
    def effect(self) -> Optional[dict]:
        """The effect of last month's actions, treated against the randomised holdout
        (with ``previous``): ``identified``, ``notes``, ``rows`` (as ``effect.csv``) and
        ``targeting``."""
        return self.summary.get("effect")

    def effect_table(self) -> Optional[pa.Table]:
        """The effect readout's rows as a table (the columns of ``effect.csv``), or None
        without ``previous``."""
        effect = self.effect
        return None if effect is None else pa.Table.from_pylist(effect["rows"])

    def drift_table(self) -> pa.Table:
        """One row per drift item: its name, PSI and status, worst first."""
        items = sorted(self.drift["items"], key=lambda i: -i["psi"])
        return pa.Table.from_pylist(items)

    def charts(self) -> dict:
        """The run's charts as PNG bytes by file name (a notebook shows one with
        ``IPython.display.Image(run.charts()["segment_sizes.png"])``); empty without
        ``out``."""
        if self.out is None:
            return {}
        return {p.name: p.read_bytes() for p in sorted((self.out / "charts").glob("*.png"))}


def label_run(
    bundle: Bundle,
    tables: Mapping[str, Any],
    out: Optional[PathLike] = None,
    previous: Any = None,
    as_of: Any = None,
    config: Optional[PathLike] = None,
    extract_date: Any = None,
    overwrite: bool = False,
    min_report_count: Optional[int] = None,
    previous_as_of: Any = None,
    previous_model: Optional[str] = None,
    lang: Optional[str] = None,
    vocabulary: Optional[PathLike] = None,
) -> Run:
    """Labels one month's tables and sums the run as ``clientele-infer`` does, with its
    defaults (see ``Bundle.label``): the same summary, drift and, with ``previous``,
    segment migration and realised outcomes. ``out``: a new directory for the report
    files (``data-quality.json``, ``drift.json``, ``summary.json``, ``charts/``,
    ``report.html``; ``overwrite`` replaces an earlier run's). ``previous``: last
    month's run directory (as ``--previous-run``) or its labels as a table (then
    ``previous_as_of`` and ``previous_model`` are that run's date and model version).
    ``min_report_count`` as ``--min-segment-size`` (default 10); ``lang`` and
    ``vocabulary`` as ``--lang`` and ``--vocabulary`` (labels, charts and report)."""
    if not isinstance(bundle, Bundle):
        raise BadInput(f"bundle must be a clientele.Bundle (got {type(bundle).__name__})")
    min_report_count = _whole("min_report_count", min_report_count, 0)
    tables, text, origin, as_of, extract_date = _month(tables, as_of, config, extract_date)
    previous_dir = table = None
    if isinstance(previous, (str, os.PathLike)):
        previous_dir = os.fspath(previous)
    elif previous is not None:
        table = previous
    stream, texts, path = bundle._native.label_run(
        tables,
        text,
        origin,
        as_of,
        extract_date,
        None if out is None else os.fspath(out),
        overwrite,
        min_report_count,
        previous_dir,
        table,
        _date(previous_as_of),
        previous_model,
        *_words(lang, vocabulary),
    )
    used, why, quality, summary, drift = texts
    return Run(
        pa.table(stream),
        used,
        why,
        json.loads(quality),
        json.loads(summary),
        json.loads(drift),
        None if path is None else Path(path),
    )


def _bundle_from_content(text: str, directory: str, digest: str) -> Bundle:
    if hashlib.sha256(text.encode("utf-8")).hexdigest() != digest:
        raise BadInput(
            f"model bundle {directory}: the pickled bundle was altered (its content does "
            "not match its digest)",
            file=directory,
        )
    return Bundle(NativeBundle.parse(text, directory))


def _words(lang: Any, vocabulary: Any) -> tuple[Optional[str], Optional[str]]:
    """``lang`` and ``vocabulary`` checked for type (their contents are checked by the
    engine: an unknown language or a bad file raises ``BadInput`` naming it)."""
    if lang is not None and not isinstance(lang, str):
        raise BadInput(f"lang = {lang!r}: expected a language code such as 'en' or 'zh-CN'")
    if vocabulary is not None and not isinstance(vocabulary, (str, os.PathLike)):
        raise BadInput(f"vocabulary = {vocabulary!r}: expected the path of a vocabulary file")
    return lang, None if vocabulary is None else os.fspath(vocabulary)


def _whole(name: str, value: Any, low: int, high: int = 2**31 - 1) -> Optional[int]:
    """A whole-number argument checked, or None; else ``BadInput`` naming it."""
    if value is None:
        return None
    try:
        number = operator.index(value) if not isinstance(value, bool) else None
    except TypeError:
        number = None
    if number is None:
        raise BadInput(f"{name} = {value!r}: expected a whole number")
    if not low <= number <= high:
        raise BadInput(f"{name} = {number}: expected a whole number from {low} to {high}")
    return number


def train(
    tables: Mapping[str, Any],
    config: Optional[PathLike] = None,
    models: PathLike = "models",
    out: PathLike = "notebooks-out",
    seed: Optional[int] = None,
    k: Optional[int] = None,
    horizon_months: Optional[int] = None,
    as_of: Any = None,
    extract_date: Any = None,
    charts: bool = False,
    lang: Optional[str] = None,
    vocabulary: Optional[PathLike] = None,
) -> tuple[Path, dict]:
    """Trains on tables in memory as ``clientele-train`` trains on files, publishes a new
    bundle version under ``models`` (never overwriting one) and returns its directory
    and its metrics. The quality report goes to ``out/train-data-quality``. ``seed``
    (default 42), ``k`` (default: chosen), ``horizon_months`` (default 12), ``as_of``
    and ``extract_date`` (default: today), ``lang`` and ``vocabulary`` (the charts'
    words) as the CLI's flags."""
    seed = _whole("seed", seed, 0, 2**64 - 1)
    k = _whole("k", k, 1)
    horizon_months = _whole("horizon_months", horizon_months, -(2**31), 2**31 - 1)
    tables, text, origin, as_of, extract_date = _month(tables, as_of, config, extract_date)
    path, bundle_json = _train(
        tables,
        text,
        origin,
        os.fspath(models),
        os.fspath(out),
        seed,
        k,
        horizon_months,
        as_of,
        extract_date,
        charts,
        *_words(lang, vocabulary),
    )
    return Path(path), json.loads(bundle_json)["metrics"]
