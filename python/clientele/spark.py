"""clientele on Spark: the monthly labeling where the client book lives.

    from clientele import spark as cs
    labels = cs.label({"clients": spark.read.parquet(...), ...}, "models/latest")
    run = cs.label_run(sources, "models/latest", out="notebooks-out/2026-10-31")

How it runs. Every record of every source is given its client's part, by the hash
``clientele-infer --partitions N`` uses, so part *i* here holds exactly the clients of the
CLI's part *i*. Each input batch is cut into one piece per part, and the pieces (Arrow
IPC bytes, in their source's order) are brought together by part in one shuffle: the JVM
moves a few compact rows per batch, not every record. Each part is labelled in an
executor by the Rust engine (``Bundle.label`` on Arrow tables, no pandas). Each part also
returns its totals: counts and sums for the summary, drift and data-quality report, and
the anonymous scores the percentiles need (12 bytes per client in force; no client id,
no record). The driver sums the totals in part order and writes ``report.html``,
``drift.json``, ``summary.json``, ``data-quality.json`` and the charts, the same files as
``clientele-infer --partitions N``.

Executors need this package installed (the same wheel as the driver); see
``docs/spark.md``.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional

import pyarrow as pa

from . import BadInput, Bundle, PathLike, RunError, _config_text, _date, _whole, _words
from ._native import DEFAULT_SEED, check_vocabulary

__all__ = ["label", "label_run", "train", "SparkRun", "CLIENTS_PER_PART", "TRAIN_SAMPLE"]

# A part is labelled in one Python worker: ~1.2 GB for 250,000 clients of the generated
# book (their Arrow records, the engine's book and the labels).
CLIENTS_PER_PART = 250_000

_PART = "__clientele_part"
_ORDER = "__clientele_order"
_REPORT = "__clientele_report"
# A part's labels as compressed Arrow IPC streams (`_labelled`).
_LABELS = "__clientele_labels"
_SOURCE = "__clientele_source"
_PIECE = "__clientele_piece"
# What a piece holds: "arrow" (an Arrow IPC stream of records Spark read), or "csv" or
# "parquet" (records of a source file cut by the engine in the executor that read it).
_FORMAT = "__clientele_format"
# The Spark partition a part's pieces are shuffled to (`_slots`).
_SLOT = "__clientele_slot"
# Last month's labels travel with the sources under this name.
_PREVIOUS = "__previous"
# An engine error crossing from an executor keeps its kind, message and facts (JSON)
# between markers.
_MARK = "[clientele:{kind}]"
_END = "[/clientele]"
_MARKED = re.compile(r"\[clientele:(BadInput|RunError)\](.*?)\[/clientele\]", re.S)


@dataclass(frozen=True)
class SparkRun:
    """A labeling run on Spark: the labels (a DataFrame, cached), the as-of date and why,
    and where the report files went with the summary and drift report they hold."""

    labels: Any
    as_of: str
    as_of_why: str
    out: Optional[Path]
    summary: Optional[dict]
    drift: Optional[dict]


def label(
    sources: Mapping[str, Any],
    model_path: PathLike,
    as_of: Any = None,
    parts: Optional[int] = None,
    config: Optional[PathLike] = None,
    extract_date: Any = None,
    previous: Any = None,
    previous_as_of: Any = None,
    previous_model: Optional[str] = None,
    lang: Optional[str] = None,
    vocabulary: Optional[PathLike] = None,
) -> Any:
    """Labels a book held as Spark DataFrames (source name -> DataFrame, the contract and
    column mapping of the CLI) with the bundle at ``model_path``; returns the labels as a
    DataFrame with the columns and values of ``labels.parquet``. Client rows never reach
    the driver. ``parts`` as ``clientele-infer --partitions`` (default: one part per
    ``CLIENTS_PER_PART`` clients, at least the cluster's parallelism); ``config`` and
    ``extract_date`` as in ``Bundle.label``; ``previous``: last month's labels (a
    DataFrame with ``client_id`` and ``segment_id``, and ``lapse_probability``,
    ``risk_band``, ``action`` for the realised outcomes), as ``--previous-run``;
    ``previous_as_of`` and ``previous_model``: that run's date and model version (its
    summary.json's ``as_of`` and ``model_version``), without which only the segment
    migration is counted. ``lang`` and ``vocabulary`` as in ``Bundle.label`` (a house
    vocabulary file must be readable where the executors run)."""
    previous = (previous, previous_as_of, previous_model)
    words = _words(lang, vocabulary)
    return _run(sources, model_path, as_of, parts, config, extract_date, previous, words=words).labels


def label_run(
    sources: Mapping[str, Any],
    model_path: PathLike,
    out: PathLike,
    as_of: Any = None,
    parts: Optional[int] = None,
    config: Optional[PathLike] = None,
    extract_date: Any = None,
    previous: Any = None,
    overwrite: bool = False,
    min_report_count: Optional[int] = None,
    previous_as_of: Any = None,
    previous_model: Optional[str] = None,
    lang: Optional[str] = None,
    vocabulary: Optional[PathLike] = None,
) -> SparkRun:
    """``label``, and the run's report files written on the driver into ``out`` (a new
    directory that appears complete or not at all; ``overwrite`` replaces an earlier run's
    output): the files ``clientele-infer`` writes beside ``labels.parquet``, from the
    parts' summed totals. ``min_report_count`` as ``--min-segment-size`` (default 10).
    Write the labels where they belong with Spark (``run.labels.write.parquet(...)``)."""
    return _run(
        sources,
        model_path,
        as_of,
        parts,
        config,
        extract_date,
        (previous, previous_as_of, previous_model),
        out,
        overwrite,
        min_report_count,
        _words(lang, vocabulary),
    )


def _run(
    sources,
    model_path,
    as_of,
    parts,
    config,
    extract,
    previous=(None, None, None),
    out=None,
    overwrite=False,
    min_report=None,
    words=(None, None),
):
    previous, previous_as_of, previous_model = previous
    # An unknown language or a bad vocabulary file stops the run before any job.
    check_vocabulary(*words)
    bundle, frames, text, origin = _checked(sources, model_path, config)
    min_report = _whole("min_report_count", min_report, 0)
    n_parts = _parts(bundle, frames, parts)
    # The CLI's extract date, fixed here so that every executor reads against the same.
    as_of = _date(as_of)
    extract = bundle._native.labeling_extract_date(text, origin, _date(extract))
    keyed = _keyed(bundle, frames, n_parts, text, origin, _previous_labels(previous))
    settings = (text, origin, extract, _date(previous_as_of), previous_model, words)
    combined = _labelled(bundle, keyed, n_parts, as_of, settings)
    run = _summed(bundle, combined)
    try:
        used, why = run.as_of()
    except BadInput:
        if as_of is not None:
            raise
        # Parts whose latest records fall in different months: the whole book's date is
        # the latest part's (the rule is monotone in the latest record), as the CLI
        # labelling the book in one piece would choose.
        combined.unpersist()
        used = run.latest_as_of()
        combined = _labelled(bundle, keyed, n_parts, used, settings)
        run = _summed(bundle, combined)
        used, _ = run.as_of()
        why = "the latest of the parts' last full month ends"
    labels = _labels_of(combined)
    if out is None:
        return SparkRun(labels, used, why, None, None, None)
    import json

    columns = {name: list(df.columns) for name, df in frames.items()}
    unused = bundle._native.unused_columns(columns, text, origin)
    path, summary, drift = run.publish(
        os.fspath(out),
        unused,
        config=text,
        config_origin=origin,
        extract_date=extract,
        overwrite=overwrite,
        min_report_count=min_report,
        with_previous=previous is not None,
        lang=words[0],
        vocabulary=words[1],
    )
    return SparkRun(labels, used, why, Path(path), json.loads(summary), json.loads(drift))


def _checked(sources, model_path, config):
    """The bundle, the sources and the config text, checked on the driver before any job."""
    from pyspark.sql import DataFrame

    if not isinstance(sources, Mapping) or not sources:
        raise BadInput("sources must map source names ('clients', 'policies', ...) to DataFrames")
    for name, df in sources.items():
        if not isinstance(df, DataFrame):
            raise BadInput(f"source {name!r} is not a Spark DataFrame (got {type(df).__name__})")
    bundle = Bundle.load(model_path)
    text, origin = _config_text(config)
    expected = _expected_sources(bundle)
    missing = [s for s in expected["required"] if s not in sources]
    if missing:
        raise BadInput(
            f"no {', '.join(missing)} DataFrame given: a {bundle.mode}-mode model labels a book "
            f"of {', '.join(expected['all'])}"
        )
    return bundle, dict(sources), text, origin


def _expected_sources(bundle: Bundle) -> dict:
    mode = bundle.mode
    if mode == "flat":
        return {"required": ["flat"], "all": ["flat"]}
    if mode == "transactions":
        return {"required": ["transactions"], "all": ["transactions", "clients"]}
    return {
        "required": ["clients"],
        "all": ["clients", "policies", "payments", "claims", "contacts"],
    }


def _parts(bundle: Bundle, frames: dict, parts: Optional[int]) -> int:
    if parts is not None:
        if not isinstance(parts, int) or isinstance(parts, bool) or parts < 1:
            raise BadInput(f"parts = {parts!r}: expected a whole number of at least 1")
        return parts
    first = next(iter(frames.values()))
    parallelism = first.sparkSession.sparkContext.defaultParallelism
    per_client = frames.get("clients", frames.get("flat"))
    if per_client is not None:
        clients = per_client.count()
    else:
        ids = bundle._native.id_columns({n: list(d.columns) for n, d in frames.items()})
        name, column = ids[0]
        clients = frames[name].select(column).distinct().count()
    return max(1, parallelism, math.ceil(clients / CLIENTS_PER_PART))


def _previous_labels(previous):
    """Last month's labels reduced to what the migration and the outcomes need, checked
    on the driver."""
    if previous is None:
        return None
    from pyspark.sql import DataFrame

    if not isinstance(previous, DataFrame):
        raise BadInput(
            "previous must be last month's labels as a Spark DataFrame "
            f"(got {type(previous).__name__})"
        )
    missing = [c for c in ("client_id", "segment_id") if c not in previous.columns]
    if missing:
        raise BadInput(
            f"previous labels have no {', '.join(missing)} column (found: {previous.columns}): "
            "expected last month's labels"
        )
    wanted = ["client_id", "segment_id", "lapse_probability", "risk_band", "action"]
    wanted += ["stage_code", "tier_code"]  # stage and tier moves since that run
    wanted += ["holdout"]  # the randomised holdouts whose effect is read out
    return previous.select(*[c for c in wanted if c in previous.columns])


def _keyed(bundle: Bundle, frames: dict, n_parts: int, text, origin, previous=None):
    """All sources as one DataFrame of pieces, partitioned by part (`_keyed_by`); the
    sources Spark reads straight from local files are read by the engine instead."""
    columns = {name: list(df.columns) for name, df in frames.items()}
    ids = dict(bundle._native.id_columns(columns, text, origin))
    return _keyed_by(frames, ids, n_parts, previous, read_files=True)


def _pieces_schema():
    from pyspark.sql.types import (
        BinaryType,
        IntegerType,
        LongType,
        StringType,
        StructField,
        StructType,
    )

    return StructType(
        [
            StructField(_PART, IntegerType(), False),
            StructField(_SOURCE, StringType(), False),
            StructField(_ORDER, LongType(), False),
            StructField(_FORMAT, StringType(), False),
            StructField(_PIECE, BinaryType(), False),
        ]
    )


def _keyed_by(
    frames: dict, ids: dict, n_parts: int, previous=None, keep_order=None, read_files=False
):
    """All sources as one DataFrame of pieces, partitioned by part: each piece is the
    records of one input batch of one source that belong to one part, as Arrow IPC bytes,
    with the source's order of its first record. The JVM then moves and sorts a few
    compact rows per batch instead of every record with every source's columns.
    ``keep_order``: a source whose every record's order (with its client id) also
    travels, as the pieces of ``_ORDER_TABLE``. ``read_files``: a source that is a
    plain scan of local CSV or Parquet files (`_local_files`) is not read by Spark: each
    file is cut into pieces of its own records by the engine in an executor
    (`_file_pieces`), as ``clientele-infer --partitions`` splits it."""
    from pyspark.sql import functions as F

    pieces = _pieces_schema()
    keyed = None
    files = {}
    for name, df in frames.items():
        if any(c.startswith("__clientele") for c in df.columns):
            raise BadInput(f"source {name!r}: column names starting '__clientele' are reserved")
        found = _local_files(df) if read_files else None
        if found is not None:
            files[name] = found
            continue
        ordered = df.withColumn(_ORDER, F.monotonically_increasing_id())
        maker = _piece_maker(name, ids[name], n_parts, with_order=name == keep_order)
        one = ordered.mapInArrow(maker, pieces)
        keyed = one if keyed is None else keyed.unionByName(one)
    spark = next(iter(frames.values())).sparkSession
    if files:
        one = _file_pieces(spark, files, ids, n_parts)
        keyed = one if keyed is None else keyed.unionByName(one)
    if previous is not None:
        ordered = previous.withColumn(_ORDER, F.monotonically_increasing_id())
        one = ordered.mapInArrow(_piece_maker(_PREVIOUS, "client_id", n_parts), pieces)
        keyed = keyed.unionByName(one)
    slots = _slots(n_parts)
    # Longs, as the candidates were hashed (an int hashes otherwise).
    slot = F.element_at(F.array(*[F.lit(s).cast("long") for s in slots]), F.col(_PART) + 1)
    return keyed.withColumn(_SLOT, slot).repartition(n_parts, _SLOT)


def _slots(n_parts: int) -> list:
    """For each part, a number that Spark's hash partitioning into ``n_parts`` sends to
    that part's own partition. Partitioned by the part number itself, parts met in one
    partition by hash (parts 0 and 1 of 2 always did) and were labelled one after the
    other by one task while the other cores idled. Found among a few candidates by
    Spark's own hash (``repartition`` is ``pmod(hash(column), n)``, `_spark_hash`),
    computed here rather than by a Spark job; a part no candidate reaches keeps its own
    number (correct, only not spread)."""
    slot: dict = {}
    for candidate in range(64 * n_parts):
        slot.setdefault(_spark_hash(candidate) % n_parts, candidate)
        if len(slot) == n_parts:
            break
    return [slot.get(p, p) for p in range(n_parts)]


def _spark_hash(value: int) -> int:
    """Spark SQL's ``hash`` of a long (Murmur3 x86 32-bit with seed 42, as
    ``org.apache.spark.unsafe.hash.Murmur3_x86_32.hashLong``), as a signed int."""
    mask = 0xFFFFFFFF

    def rotl(x: int, r: int) -> int:
        return ((x << r) | (x >> (32 - r))) & mask

    def mix(h1: int, k1: int) -> int:
        k1 = rotl((k1 * 0xCC9E2D51) & mask, 15) * 0x1B873593 & mask
        h1 = rotl(h1 ^ k1, 13)
        return (h1 * 5 + 0xE6546B64) & mask

    h1 = mix(mix(42, value & mask), (value >> 32) & mask) ^ 8
    h1 = ((h1 ^ (h1 >> 16)) * 0x85EBCA6B) & mask
    h1 = ((h1 ^ (h1 >> 13)) * 0xC2B2AE35) & mask
    h1 ^= h1 >> 16
    return h1 - (1 << 32) if h1 & 0x80000000 else h1


def _by_part(keyed):
    """The pieces grouped by part, each group in its own partition (`_slots`): grouping
    by the slot too needs no second shuffle."""
    return keyed.groupBy(_SLOT, _PART)


def _ipc_compressed(batch) -> bytes:
    """A batch as an Arrow IPC stream, its buffers compressed (LZ4)."""
    sink = pa.BufferOutputStream()
    options = pa.ipc.IpcWriteOptions(compression="lz4")
    with pa.ipc.new_stream(sink, batch.schema, options=options) as writer:
        writer.write_batch(batch)
    return sink.getvalue().to_pybytes()


def _ipc(table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_batch(table)
    return sink.getvalue().to_pybytes()


def _piece_maker(source: str, id_column: str, n_parts: int, with_order: bool = False):
    def make_pieces(batches):
        import numpy as np
        import pyarrow.compute as pc

        from clientele._native import client_parts

        for batch in batches:
            if batch.num_rows == 0:
                continue
            ids = pa.table({"id": batch.column(id_column)})
            part = pa.table(client_parts(ids, n_parts)).column(0).to_numpy()
            order = np.argsort(part, kind="stable")
            grouped = batch.take(pa.array(order))
            starts = np.flatnonzero(np.diff(part[order], prepend=-1))
            ends = list(starts[1:]) + [batch.num_rows]
            out_parts, out_sources, out_orders, out_pieces = [], [], [], []
            for start, end in zip(starts, ends):
                piece = grouped.slice(start, end - start)
                first = piece.column(_ORDER)[0].as_py()
                out_parts.append(int(part[order[start]]))
                out_sources.append(source)
                out_orders.append(first)
                out_pieces.append(_ipc(piece.drop_columns([_ORDER])))
                if with_order:
                    # Ids as the engine reads them (trimmed).
                    ids = pc.utf8_trim_whitespace(piece.column(id_column).cast(pa.string()))
                    pairs = pa.RecordBatch.from_arrays(
                        [ids, piece.column(_ORDER)], names=["id", "order"]
                    )
                    out_parts.append(out_parts[-1])
                    out_sources.append(_ORDER_TABLE)
                    out_orders.append(first)
                    out_pieces.append(_ipc(pairs))
            yield pa.RecordBatch.from_arrays(
                [
                    pa.array(out_parts, pa.int32()),
                    pa.array(out_sources, pa.string()),
                    pa.array(out_orders, pa.int64()),
                    pa.array(["arrow"] * len(out_parts), pa.string()),
                    pa.array(out_pieces, pa.binary()),
                ],
                names=[_PART, _SOURCE, _ORDER, _FORMAT, _PIECE],
            )

    return make_pieces


# Options of Spark's CSV reader that the engine's reading matches with these values (any
# other option, or another value, leaves the reading to Spark).
_CSV_OPTIONS = {
    "header": ("true",),
    "inferschema": ("false",),
    "sep": (",",),
    "delimiter": (",",),
    "encoding": ("utf-8", "utf8"),
    "charset": ("utf-8", "utf8"),
    "multiline": ("true", "false"),
}
# Spark types of Parquet columns the engine reads as Spark's Arrow export gives them.
_PARQUET_TYPES = {"string", "tinyint", "smallint", "int", "bigint", "float", "double", "date"}
# Hadoop compression codecs Spark's reader recognises by file name.
_COMPRESSED = (".gz", ".bz2", ".deflate", ".lz4", ".snappy", ".zst", ".zstd", ".xz", ".br")


def _local_files(df):
    """``(format, paths)`` when ``df`` is a plain scan of local CSV or Parquet files that
    the engine reads as ``clientele-infer`` reads files: CSV as text with a header (no
    ``inferSchema``, commas, UTF-8) whose header is the DataFrame's columns, or Parquet of
    text, whole-number, floating-point and date columns; no other option, partition
    column, selection or filter. Else ``None``: Spark reads the source (Spark Connect,
    tables of other formats, remote files, DataFrames built otherwise)."""
    try:
        plan = df._jdf.queryExecution().analyzed()
        if plan.getClass().getSimpleName() != "LogicalRelation":
            return None
        relation = plan.relation()
        if relation.getClass().getSimpleName() != "HadoopFsRelation":
            return None
        if relation.partitionSchema().length() > 0:
            return None
        kind = str(relation.fileFormat().toString()).lower()
        jvm = df.sparkSession._jvm
        options = dict(jvm.scala.jdk.javaapi.CollectionConverters.asJava(relation.options()))
        files = list(relation.location().inputFiles())
    except Exception:  # noqa: BLE001 - no JVM plan to read (Spark Connect, another reader)
        return None
    options = {str(k).lower(): str(v).lower() for k, v in options.items()}
    options.pop("path", None)
    options.pop("paths", None)
    paths = [_local_path(f) for f in sorted(files)]
    if not paths or any(p is None or p.lower().endswith(_COMPRESSED) for p in paths):
        return None
    types = [f.dataType.simpleString() for f in df.schema.fields]
    if kind == "csv":
        known = all(_CSV_OPTIONS.get(k) and v in _CSV_OPTIONS[k] for k, v in options.items())
        if not known or options.get("header") != "true" or set(types) != {"string"}:
            return None
        if any(_csv_header(p) != list(df.columns) for p in paths):
            return None
        return "csv", paths
    if kind == "parquet" and not options and set(types) <= _PARQUET_TYPES:
        # Files of other columns (Spark fills the missing with nulls) are left to Spark.
        if any(_parquet_columns(p) != set(df.columns) for p in paths):
            return None
        return "parquet", paths
    return None


def _parquet_columns(path: str) -> Optional[set]:
    """A Parquet file's column names (``None`` if its footer cannot be read)."""
    import pyarrow.parquet as pq

    try:
        return set(pq.read_schema(path).names)
    except (OSError, pa.ArrowException):
        return None


def _local_path(uri: str) -> Optional[str]:
    """A ``file:`` URI as a path this machine reads; ``None`` for other file systems."""
    from urllib.parse import unquote, urlparse

    parsed = urlparse(uri)
    if parsed.scheme != "file" or parsed.netloc not in ("", "localhost"):
        return None
    path = unquote(parsed.path)
    return path if os.path.isfile(path) else None


def _csv_header(path: str) -> Optional[list]:
    """A CSV file's column names as Spark's reader names them (``None`` if unreadable)."""
    import csv

    try:
        with open(path, encoding="utf-8", newline="") as f:
            line = f.readline()
    except (OSError, UnicodeDecodeError):
        return None
    return next(csv.reader([line.rstrip("\r\n")]), None)


# Rows of a Parquet file cut by one task (whole row groups: at least one per task).
_PARQUET_TASK_ROWS = 1 << 20


def _file_tasks(files: dict) -> list:
    """The cutting tasks of the sources read from files: ``(source, path, format, rows)``,
    ``rows`` a Parquet file's (first row, row count) in whole row groups, or ``None``
    for a whole file; in source, file and row order (the order of their pieces)."""
    import pyarrow.parquet as pq

    tasks = []
    for name, (kind, paths) in sorted(files.items()):
        for path in paths:
            if kind == "csv":
                tasks.append((name, path, kind, None))
                continue
            groups = [g.num_rows for g in _row_groups(pq.ParquetFile(path).metadata)]
            start = taken = 0
            for i, rows in enumerate(groups):
                taken += rows
                if taken >= _PARQUET_TASK_ROWS or i == len(groups) - 1:
                    tasks.append((name, path, kind, (start, taken)))
                    start, taken = start + taken, 0
            if not groups:
                tasks.append((name, path, kind, None))
    return tasks


def _row_groups(metadata):
    return [metadata.row_group(i) for i in range(metadata.num_row_groups)]


def _file_pieces(spark, files: dict, ids: dict, n_parts: int):
    """The pieces of sources read from files: one Spark task per whole CSV file or run of
    Parquet row groups (`_file_tasks`), in which the engine cuts the records by client
    part (``clientele-infer --partitions``' split, in memory)."""
    tasks = _file_tasks(files)
    cutter = _file_cutter(tasks, ids, n_parts)
    return spark.range(0, len(tasks), 1, len(tasks)).mapInArrow(cutter, _pieces_schema())


def _file_cutter(tasks: list, ids: dict, n_parts: int):
    def cut(batches):
        from clientele._native import cut_source

        for batch in batches:
            for task in batch.column(0).to_pylist():
                name, path, kind, rows = tasks[task]
                cut = _engine_call(cut_source, path, kind, ids[name], n_parts, rows)
                # A task's pieces follow the pieces of the tasks before it.
                order = task << 32
                for piece in pa.table(cut).to_batches():
                    n = piece.num_rows
                    yield pa.RecordBatch.from_arrays(
                        [
                            piece.column(0),
                            pa.array([name] * n, pa.string()),
                            pa.array(range(order, order + n), pa.int64()),
                            pa.array([kind] * n, pa.string()),
                            piece.column(1),
                        ],
                        names=[_PART, _SOURCE, _ORDER, _FORMAT, _PIECE],
                    )
                    order += n

    return cut


def _part_adder(id_column: str, n_parts: int):
    """Appends each record's part (for sampling by client hash)."""

    def add_part(batches):
        from clientele._native import client_parts

        for batch in batches:
            ids = pa.table({"id": batch.column(id_column)})
            part = pa.table(client_parts(ids, n_parts)).column(0).combine_chunks()
            yield pa.RecordBatch.from_arrays(
                list(batch.columns) + [part], names=batch.schema.names + [_PART]
            )

    return add_part


def _labels_schema():
    """The Arrow schema of the labels as Spark carries them (Spark has no unsigned or
    view types)."""
    from ._native import NativeBundle

    native = pa.table(NativeBundle.labels_schema()).schema
    fields = []
    for f in native:
        t = f.type
        if pa.types.is_string(t) or pa.types.is_large_string(t) or _is_string_view(t):
            t = pa.string()
        elif pa.types.is_unsigned_integer(t):
            t = pa.int64()
        fields.append(pa.field(f.name, t, True))
    return pa.schema(fields)


# The schema of what each part gives back (`_labelled`): its labels, a stream of at
# most `_LABEL_ROWS` rows per row, and one row with its report.
_PER_PART = pa.schema(
    [
        pa.field(_PART, pa.int32(), False),
        pa.field(_REPORT, pa.binary(), True),
        pa.field(_LABELS, pa.binary(), True),
    ]
)
_LABEL_ROWS = 1 << 16


def _labels_of(combined):
    """The labels of the parts (`_labelled`) as a DataFrame of the labels' columns: the
    cached streams read back in a Python worker whenever Spark computes it."""
    from pyspark.sql.pandas.types import from_arrow_schema

    schema = _labels_schema()

    def read(batches):
        for batch in batches:
            for stream in batch.column(0):
                yield from pa.ipc.open_stream(stream.as_buffer())

    streams = combined.where(combined[_LABELS].isNotNull()).select(_LABELS)
    return streams.mapInArrow(read, from_arrow_schema(schema))


def _is_string_view(t) -> bool:
    return str(t) == "string_view"


def _labelled(bundle: Bundle, keyed, n_parts: int, as_of, settings):
    """Labels every part in the executors; returns the labels-and-reports DataFrame,
    cached and computed (an executor's engine error is raised here as the engine's).
    Each part's pieces are in a partition of their own (`_slots`): a task takes its
    partition's pieces as they come, with no sort by part (a partition holding two parts
    labels them one after the other). The labels are kept as compressed Arrow streams
    (`_labels_of` reads them): Spark caches a few large values per part where caching the
    label rows column by column cost more than a third of the labelling's time."""
    from pyspark.sql.pandas.types import from_arrow_schema

    # Executors may not see the driver's files: the bundle travels as its JSON text.
    model = (bundle._native.json(), os.fspath(bundle.path))
    labeller = _part_labeller(model, n_parts, as_of, settings, _labels_schema())
    return _computed(keyed.mapInArrow(labeller, from_arrow_schema(_PER_PART)))


# The bundles parsed in this Python worker (Spark reuses its workers from task to task),
# by the digest of their JSON text.
_BUNDLES: dict = {}


def _bundle_of(model: tuple):
    """The native bundle of ``model`` (its JSON text and directory), parsed once per
    worker."""
    import hashlib

    from clientele._native import NativeBundle

    text, path = model
    key = (hashlib.sha256(text.encode()).hexdigest(), path)
    if key not in _BUNDLES:
        _BUNDLES.clear()
        _BUNDLES[key] = _engine_call(NativeBundle.parse, text, path)
    return _BUNDLES[key]


def _computed(per_part):
    """Rows and reports of every part, cached and computed (an executor's engine error is
    raised here as the engine's)."""
    from pyspark import StorageLevel

    per_part = per_part.persist(StorageLevel.MEMORY_AND_DISK)
    try:
        per_part.where(per_part[_REPORT].isNotNull()).count()
    except Exception as e:  # noqa: BLE001 - an executor's error, translated below
        per_part.unpersist()
        raise _translated(e) from None
    return per_part


def _reports(combined):
    """Each part's (part, report bytes), one part at a time from the cache: the driver
    never holds more than one part's report."""
    rows = combined.where(combined[_REPORT].isNotNull()).select(_PART, _REPORT)
    for row in rows.toLocalIterator():
        yield row[0], bytes(row[1])


def _summed(bundle: Bundle, combined):
    """The parts' reports added up on the driver (in part order, whatever order they
    arrive in)."""
    run = bundle._native.run()
    for _, report in _reports(combined):
        run.add(report)
    return run


def _part_labeller(model: tuple, n_parts: int, as_of, settings, schema):
    text, origin, extract, previous_as_of, previous_model, *words = settings
    lang, vocabulary = words[0] if words else (None, None)

    def label_part(part: int, table: pa.Table) -> list:
        import pyarrow.compute as pc

        from clientele.spark import _bundle_of

        files = pc.not_equal(table.column(_FORMAT), "arrow")
        pieces = table.filter(files).select([_SOURCE, _ORDER, _FORMAT, _PIECE])
        pieces = pieces.rename_columns(["source", "order", "format", "piece"])
        _, tables = _part_tables(table.filter(pc.invert(files)), part)
        # A part none of whose clients was labelled last month has no such table.
        previous = tables.pop(_PREVIOUS, None)
        labels, report = _engine_call(
            _bundle_of(model).label_part,
            tables,
            part,
            n_parts,
            text,
            origin,
            as_of,
            extract,
            previous,
            previous_as_of,
            previous_model,
            lang,
            vocabulary,
            pieces,
        )
        labels = pa.table(labels)
        columns = [labels.column(f.name).cast(f.type) for f in schema]
        labels = pa.Table.from_arrays(columns, schema=schema)
        streams = [_ipc_compressed(b) for b in labels.to_batches(max_chunksize=_LABEL_ROWS)]
        n = len(streams)
        return [
            pa.RecordBatch.from_arrays(
                [
                    pa.array([part] * (n + 1), pa.int32()),
                    pa.array([None] * n + [report], pa.binary()),
                    pa.array(streams + [None], pa.binary()),
                ],
                schema=_PER_PART,
            )
        ]

    def label_parts(batches):
        import pyarrow.compute as pc

        batches = list(batches)
        if not batches:
            return
        table = pa.Table.from_batches(batches)
        for part in sorted(set(table.column(_PART).to_pylist())):
            yield from label_part(part, table.filter(pc.equal(table.column(_PART), part)))

    return label_parts


def _translated(e: Exception) -> Exception:
    """An executor's engine error as the exception the engine raised, with its message
    and facts."""
    import json

    found = _MARKED.search(str(e))
    if found is None:
        return e
    kind, payload = found.groups()
    error = json.loads(payload)
    return (BadInput if kind == "BadInput" else RunError)(error["message"], **error["facts"])



# Feature rows (clients in force at the cut-off or the out-of-time cut-off) fitted on the
# driver by default. On the 1,000,000-client generated book, models fitted on 250,000
# and 100,000 rows scored every client in force within 0.0001 and 0.0006 AUC of the model
# trained on all (benches/spark_train_sample.py, docs/spark.md).
TRAIN_SAMPLE = 250_000


def train(
    sources: Mapping[str, Any],
    sample: Optional[int] = TRAIN_SAMPLE,
    config: Optional[PathLike] = None,
    models: PathLike = "models",
    out: PathLike = "notebooks-out",
    seed: Optional[int] = None,
    k: Optional[int] = None,
    horizon_months: Optional[int] = None,
    as_of: Any = None,
    extract_date: Any = None,
    charts: bool = False,
    parts: Optional[int] = None,
    lang: Optional[str] = None,
    vocabulary: Optional[PathLike] = None,
) -> tuple:
    """Trains on a book held as Spark DataFrames, as ``clientele-train`` trains on files.

    Relational and transactions books: the executors load their clients' records twice
    (one part per ``CLIENTS_PER_PART`` clients, or ``parts``), three times with
    ``charts``. The first pass gives the
    book's dates (for the cut-off) and the values the cleaning statistics are fitted on
    (of ``sample`` clients by the seeded hash); the second computes every client's
    point-in-time features and labels at the cut-off and at the out-of-time cut-off. A
    sample of ``sample`` of those rows, stratified by the label at the cut-off (lapsed,
    stayed, unlabelled, in force only earlier), comes to the driver and is fitted by the
    CLI's code: no record reaches the driver. Flat books: ``sample`` rows of the table,
    by the seeded client hash. ``sample=None`` (or a book no larger) fits every client,
    and the bundle is the CLI's on the same records. With ``charts``, a third pass counts
    persistency and exits over every client with the fitted bundle's segments, and
    ``persistency.csv`` and ``incidence.csv`` go beside the charts as the CLI writes them.

    Returns the published bundle's directory and its metrics; the data-quality report of
    the whole book goes to ``out/train-data-quality`` (without the quarantined rows,
    which stay in the executors). ``lang`` and ``vocabulary``: the charts' words."""
    from . import train as train_tables

    words = _words(lang, vocabulary)
    check_vocabulary(*words)
    if not isinstance(sources, Mapping) or not sources:
        raise BadInput("sources must map source names ('clients', 'policies', ...) to DataFrames")
    if sample is not None and (not isinstance(sample, int) or isinstance(sample, bool) or sample < 1):
        raise BadInput(f"sample = {sample!r}: expected a whole number of clients, at least 1")
    if parts is not None and (not isinstance(parts, int) or isinstance(parts, bool) or parts < 1):
        raise BadInput(f"parts = {parts!r}: expected a whole number of at least 1")
    seed = _whole("seed", seed, 0, 2**64 - 1)
    seed = DEFAULT_SEED if seed is None else seed
    k = _whole("k", k, 1)
    horizon_months = _whole("horizon_months", horizon_months, -(2**31), 2**31 - 1)
    frames = _spark_frames(sources)
    text, origin = _config_text(config)
    as_of, extract_date = _date(as_of), _date(extract_date)
    if "flat" in frames:
        tables = _sampled_tables(frames, sample, seed, text, origin)
        return train_tables(
            tables,
            config=config,
            models=models,
            out=out,
            seed=seed,
            k=k,
            horizon_months=horizon_months,
            as_of=as_of,
            extract_date=extract_date,
            charts=charts,
            lang=words[0],
            vocabulary=words[1],
        )
    from ._native import train_plan, train_sampled

    settings = (text, origin, extract_date)
    ids = dict(_id_columns(frames, text, origin))
    clients = _client_count(frames, ids)
    if parts is None:
        parallelism = next(iter(frames.values())).sparkSession.sparkContext.defaultParallelism
        parts = max(1, parallelism, math.ceil(clients / CLIENTS_PER_PART))
    from pyspark import StorageLevel

    keyed = _keyed_by(frames, ids, parts, keep_order="clients").persist(StorageLevel.MEMORY_AND_DISK)
    try:
        facts = _part_facts(keyed, sample, clients, seed, settings)
        plan, _, _ = train_plan(facts, text, origin, extract_date, as_of, horizon_months)
        rows = _part_rows(keyed, plan, seed, settings, ordered="clients" in frames)
        try:
            quality = list(_reports(rows))
            kept = _stratified(rows.where(rows[_REPORT].isNull()), sample)
            table = _collected(kept, "clients" in frames)
        finally:
            rows.unpersist()
        fitted = train_sampled(
            table,
            plan,
            [report for _, report in quality],
            text,
            origin,
            os.fspath(models),
            os.fspath(out),
            seed,
            k,
            extract_date,
            charts,
            *words,
        )
        # The lifecycle outputs go beside the charts: counted over every client of
        # every part, with the fitted bundle's segments.
        lifecycle = _part_lifecycles(keyed, plan, fitted.bundle_json(), settings) if charts else []
    finally:
        keyed.unpersist()
    path, bundle_json = fitted.publish(lifecycle)
    import json

    return Path(path), json.loads(bundle_json)["metrics"]


def _spark_frames(sources: Mapping[str, Any]) -> dict:
    from pyspark.sql import DataFrame

    for name, df in sources.items():
        if not isinstance(df, DataFrame):
            raise BadInput(f"source {name!r} is not a Spark DataFrame (got {type(df).__name__})")
        if any(c.startswith("__clientele") for c in df.columns):
            raise BadInput(f"source {name!r}: column names starting '__clientele' are reserved")
    return dict(sources)


def _client_count(frames: dict, ids: dict) -> int:
    per_client = frames.get("clients", frames.get("flat"))
    if per_client is not None:
        return per_client.count()
    name = next(iter(frames))
    return frames[name].select(ids[name]).distinct().count()


def _part_facts(keyed, sample, clients: int, seed: int, settings) -> list:
    """Pass 1: every part's facts (a few numbers, and the cleaning values of its sampled
    clients), in part order."""
    text, origin, extract = settings
    return _per_part(keyed, "train_part_facts", sample, clients, seed, text, origin, extract)


def _part_lifecycles(keyed, plan: bytes, bundle: str, settings) -> list:
    """Pass 3: every part's persistency and exit counts with the fitted bundle's
    segments (JSON bytes, in part order; none for a book without policies)."""
    text, origin, extract = settings
    return _per_part(keyed, "train_part_lifecycle", plan, bundle, text, origin, extract)


def _per_part(keyed, native: str, *args) -> list:
    """The bytes the engine's ``native`` function gives for each part's sources (called
    as ``native(tables, *args)`` in the executors), in part order; parts it gives none
    for are left out."""
    from pyspark.sql.types import BinaryType, IntegerType, StructField, StructType

    schema = StructType(
        [StructField(_PART, IntegerType(), False), StructField(_REPORT, BinaryType(), True)]
    )

    def of_part(table: pa.Table) -> pa.Table:
        from clientele import _native

        part, tables = _part_tables(table)
        tables.pop(_ORDER_TABLE, None)
        answer = _engine_call(getattr(_native, native), tables, *args)
        return pa.table(
            {_PART: pa.array([part], pa.int32()), _REPORT: pa.array([answer], pa.binary())}
        )

    answers = _by_part(keyed).applyInArrow(of_part, schema)
    try:
        rows = answers.collect()
    except Exception as e:  # noqa: BLE001 - an executor's error, translated below
        raise _translated(e) from None
    return [bytes(r[1]) for r in sorted(rows, key=lambda r: r[0]) if r[1] is not None]


# Each client's first row in the clients DataFrame travels from the pieces to the rows
# under this name (the book's client order, which the fit's split follows).
_ORDER_TABLE = "__order"


def _part_rows(keyed, plan: bytes, seed: int, settings, ordered: bool):
    """Pass 2: every part's feature rows (with each client's order when the book has a
    clients table) and its data-quality report, cached and computed."""
    import pyarrow.compute as pc
    from pyspark.sql.pandas.types import from_arrow_schema

    from ._native import train_rows_schema

    text, origin, extract = settings
    native = pa.table(train_rows_schema(plan)).schema
    fields = [pa.field(f.name, _spark_type(f.type), True) for f in native]
    fields += [
        pa.field(_ORDER, pa.int64(), True),
        pa.field(_PART, pa.int32(), True),
        pa.field(_REPORT, pa.binary(), True),
    ]
    schema = pa.schema(fields)

    def rows_of(table: pa.Table) -> pa.Table:
        from clientele._native import train_part_rows

        part, tables = _part_tables(table)
        order = tables.pop(_ORDER_TABLE, None)
        rows, quality = _engine_call(train_part_rows, tables, plan, seed, text, origin, extract)
        rows = pa.table(rows)
        n = rows.num_rows
        columns = [rows.column(f.name).cast(f.type) for f in schema if not f.name.startswith("__clientele")]
        if order is not None and n:
            # The client's first row in the clients table, by id.
            first = order.group_by("id").aggregate([("order", "min")])
            ids = rows.column("client_id").cast(pa.string())
            at = pc.index_in(ids, value_set=first.column("id"))
            columns.append(pc.take(first.column("order_min"), at))
        else:
            columns.append(pa.nulls(n, pa.int64()))
        columns += [pa.array([part] * n, pa.int32()), pa.nulls(n, pa.binary())]
        out = pa.Table.from_arrays(columns, schema=schema)
        report = [pa.nulls(1, f.type) for f in schema][:-2]
        report += [pa.array([part], pa.int32()), pa.array([quality], pa.binary())]
        return pa.concat_tables([out, pa.Table.from_arrays(report, schema=schema)])

    return _computed(_by_part(keyed).applyInArrow(rows_of, from_arrow_schema(schema)))


def _spark_type(t):
    """An Arrow type as Spark carries it (no unsigned or view types)."""
    if pa.types.is_string(t) or pa.types.is_large_string(t) or _is_string_view(t):
        return pa.string()
    if pa.types.is_unsigned_integer(t):
        return pa.int64()
    return t


# Strata of the rows (`__stratum`): lapsed, stayed, unlabelled in force, in force only
# at the out-of-time cut-off. Slots are counted in buckets of this many.
_BUCKET_BITS = 4


def _stratified(rows, sample: Optional[int]):
    """The rows of a sample of ``sample`` rows, in proportion within each stratum: per
    stratum, the clients of the lowest seeded-hash slots, up to the bucket of slots that
    brings the count nearest the stratum's share (within 1/65,536 of the stratum)."""
    from pyspark.sql import functions as F

    if sample is None:
        return rows
    bucket = F.shiftright(F.col("__slot"), _BUCKET_BITS)
    counts = rows.groupBy("__stratum", bucket.alias("b")).count().collect()
    total = sum(r["count"] for r in counts)
    if total <= sample:
        return rows
    share = sample / total
    by_stratum: dict = {}
    for r in counts:
        by_stratum.setdefault(r["__stratum"], []).append((r["b"], r["count"]))
    keep = None
    for stratum, buckets in sorted(by_stratum.items()):
        buckets.sort()
        quota = share * sum(c for _, c in buckets)
        seen, limit, best = 0, 0, quota
        for b, c in buckets:
            if abs(seen + c - quota) < best:
                best, limit = abs(seen + c - quota), b + 1
            seen += c
        this = (F.col("__stratum") == stratum) & (bucket < limit)
        keep = this if keep is None else keep | this
    return rows.where(keep)


def _collected(kept, ordered: bool) -> pa.Table:
    """The sampled rows on the driver, in the book's client order (the clients table's,
    else the ids', as the CLI orders clients)."""
    import pyarrow.compute as pc

    batches = kept.drop(_PART, _REPORT)._collect_as_arrow()
    if not batches:
        raise BadInput("no client is in force at the cut-off or the out-of-time cut-off")
    table = pa.Table.from_batches(batches)
    key = _ORDER if ordered else "client_id"
    table = table.take(pc.sort_indices(table.column(key)))
    return table.drop_columns([_ORDER])


def _part_tables(table: pa.Table, part: Optional[int] = None):
    """A part's sources from its Arrow pieces (each source's pieces in their order)."""
    if part is None:
        part = table.column(_PART)[0].as_py()
    tables = {}
    ordered = table.sort_by([(_SOURCE, "ascending"), (_ORDER, "ascending")])
    sources = ordered.column(_SOURCE).to_pylist()
    pieces = ordered.column(_PIECE)
    for name in sorted(set(sources)):
        batches = [
            batch
            for i, s in enumerate(sources)
            if s == name
            for batch in pa.ipc.open_stream(pieces[i].as_buffer())
        ]
        tables[name] = pa.Table.from_batches(batches)
    return part, tables


def _engine_call(function, *args):
    """Calls the engine in an executor; its error crosses to the driver with its kind."""
    import json

    from clientele import BadInput, ClienteleError

    try:
        return function(*args)
    except ClienteleError as e:
        kind = "BadInput" if isinstance(e, BadInput) else "RunError"
        facts = {"file": e.file, "column": e.column, "row": e.row}
        payload = json.dumps({"message": str(e), "facts": facts})
        raise RuntimeError(f"{_MARK.format(kind=kind)}{payload}{_END}") from None

# Clients are sampled by their hash modulo this many slots (finer than any sample share).
_SAMPLE_SLOTS = 1 << 20


def _sampled_tables(frames: dict, sample, seed: int, text, origin) -> dict:
    """The records of the sampled clients as Arrow tables on the driver, each source in
    its own row order."""
    import pyarrow.compute as pc
    from pyspark.sql import DataFrame
    from pyspark.sql import functions as F
    from pyspark.sql.types import IntegerType, StructField, StructType

    for name, df in frames.items():
        if not isinstance(df, DataFrame):
            raise BadInput(f"source {name!r} is not a Spark DataFrame (got {type(df).__name__})")
    ids = dict(_id_columns(frames, text, origin))
    keep = _SAMPLE_SLOTS
    if sample is not None:
        per_client = frames.get("clients", frames.get("flat"))
        if per_client is None:
            name = next(iter(frames))
            clients = frames[name].select(ids[name]).distinct().count()
        else:
            clients = per_client.count()
        keep = min(_SAMPLE_SLOTS, math.ceil(_SAMPLE_SLOTS * sample / max(clients, 1)))
    # The seed shifts which slots are kept, so another seed draws another sample.
    offset = (seed * 0x9E3779B1) % _SAMPLE_SLOTS
    tables = {}
    for name, df in frames.items():
        ordered = df.withColumn(_ORDER, F.monotonically_increasing_id())
        schema = StructType(ordered.schema.fields + [StructField(_PART, IntegerType(), False)])
        tagged = ordered.mapInArrow(_part_adder(ids[name], _SAMPLE_SLOTS), schema)
        slot = (F.col(_PART) + F.lit(offset)) % F.lit(_SAMPLE_SLOTS)
        kept = tagged.where(slot < F.lit(keep)).drop(_PART)
        batches = kept._collect_as_arrow()
        if not batches:  # the sample holds no record of this source
            continue
        table = pa.Table.from_batches(batches)
        table = table.take(pc.sort_indices(table.column(_ORDER)))
        tables[name] = table.drop_columns([_ORDER])
    return tables


def _id_columns(frames: dict, text, origin):
    """Each DataFrame's client id column, checked against the contract (a config is needed
    to know the mode: the given one, else the default relational contract)."""
    from ._native import id_columns_of

    columns = {name: list(df.columns) for name, df in frames.items()}
    return id_columns_of(columns, text, origin)
