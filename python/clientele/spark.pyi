# Type stubs of clientele.spark (Spark DataFrames are typed Any: pyspark is optional).
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional

from . import DateLike, PathLike

CLIENTS_PER_PART: int
TRAIN_SAMPLE: int

@dataclass(frozen=True)
class SparkRun:
    labels: Any
    as_of: str
    as_of_why: str
    out: Optional[Path]
    summary: Optional[dict[str, Any]]
    drift: Optional[dict[str, Any]]

def label(
    sources: Mapping[str, Any],
    model_path: PathLike,
    as_of: DateLike = None,
    parts: Optional[int] = None,
    config: Optional[PathLike] = None,
    extract_date: DateLike = None,
    previous: Any = None,
    previous_as_of: DateLike = None,
    previous_model: Optional[str] = None,
    lang: Optional[str] = None,
    vocabulary: Optional[PathLike] = None,
) -> Any: ...
def label_run(
    sources: Mapping[str, Any],
    model_path: PathLike,
    out: PathLike,
    as_of: DateLike = None,
    parts: Optional[int] = None,
    config: Optional[PathLike] = None,
    extract_date: DateLike = None,
    previous: Any = None,
    overwrite: bool = False,
    min_report_count: Optional[int] = None,
    previous_as_of: DateLike = None,
    previous_model: Optional[str] = None,
    lang: Optional[str] = None,
    vocabulary: Optional[PathLike] = None,
) -> SparkRun: ...
def train(
    sources: Mapping[str, Any],
    sample: Optional[int] = ...,
    config: Optional[PathLike] = None,
    models: PathLike = "models",
    out: PathLike = "notebooks-out",
    seed: Optional[int] = None,
    k: Optional[int] = None,
    horizon_months: Optional[int] = None,
    as_of: DateLike = None,
    extract_date: DateLike = None,
    charts: bool = False,
    parts: Optional[int] = None,
    lang: Optional[str] = None,
    vocabulary: Optional[PathLike] = None,
) -> tuple[Path, dict[str, Any]]: ...
