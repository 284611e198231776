# Type stubs of the public API (the implementation is __init__.py over the native module).
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Optional, Sequence, Union

import pyarrow as pa

from ._errors import BadInput as BadInput
from ._errors import ClienteleError as ClienteleError
from ._errors import RunError as RunError

__version__: str
__all__: list[str]

PathLike = Union[str, "os.PathLike[str]"]
# A date: a datetime.date or a "YYYY-MM-DD" string.
DateLike = Any
# A table: a pyarrow.Table, a pandas or polars DataFrame, or any object with
# __arrow_c_stream__.
TableLike = Any

SOURCES: tuple[str, ...]

def read_sources(
    directory: PathLike, sources: Optional[Sequence[str]] = None
) -> dict[str, pa.Table]: ...
@dataclass(frozen=True)
class Labelled:
    labels: pa.Table
    as_of: str
    as_of_why: str
    quality: dict[str, Any]

class Bundle:
    @classmethod
    def load(cls, path: PathLike) -> Bundle: ...
    @property
    def path(self) -> Path: ...
    @property
    def version(self) -> str: ...
    @property
    def mode(self) -> str: ...
    @property
    def cutoff(self) -> str: ...
    @property
    def horizon_months(self) -> int: ...
    @property
    def feature_names(self) -> list[str]: ...
    @property
    def segments(self) -> list[dict[str, Any]]: ...
    @property
    def coefficients(self) -> list[dict[str, Any]]: ...
    @property
    def thresholds(self) -> dict[str, Any]: ...
    @property
    def metrics(self) -> dict[str, Any]: ...
    def as_dict(self) -> dict[str, Any]: ...
    def label_with_details(
        self,
        tables: Mapping[str, TableLike],
        as_of: DateLike = None,
        config: Optional[PathLike] = None,
        extract_date: DateLike = None,
        lang: Optional[str] = None,
        vocabulary: Optional[PathLike] = None,
    ) -> Labelled: ...
    def label(
        self,
        tables: Mapping[str, TableLike],
        as_of: DateLike = None,
        config: Optional[PathLike] = None,
        extract_date: DateLike = None,
        lang: Optional[str] = None,
        vocabulary: Optional[PathLike] = None,
    ) -> pa.Table: ...
    def features(
        self,
        tables: Mapping[str, TableLike],
        as_of: DateLike = None,
        config: Optional[PathLike] = None,
        extract_date: DateLike = None,
    ) -> pa.Table: ...
    def transform(self, features: TableLike) -> pa.Table: ...
    def predict_proba(self, features: TableLike) -> pa.Array: ...
    def label_flat(
        self,
        table: TableLike,
        as_of: DateLike = None,
        config: Optional[PathLike] = None,
        extract_date: DateLike = None,
    ) -> pa.Table: ...

def train(
    tables: Mapping[str, TableLike],
    config: Optional[PathLike] = None,
    models: PathLike = "models",
    out: PathLike = "notebooks-out",
    seed: Optional[int] = None,
    k: Optional[int] = None,
    horizon_months: Optional[int] = None,
    as_of: DateLike = None,
    extract_date: DateLike = None,
    charts: bool = False,
    lang: Optional[str] = None,
    vocabulary: Optional[PathLike] = None,
) -> tuple[Path, dict[str, Any]]: ...

@dataclass(frozen=True)
class Run:
    labels: pa.Table
    as_of: str
    as_of_why: str
    quality: dict[str, Any]
    summary: dict[str, Any]
    drift: dict[str, Any]
    out: Optional[Path]
    @property
    def drift_status(self) -> str: ...
    @property
    def outcomes(self) -> Optional[dict[str, Any]]: ...
    @property
    def effect(self) -> Optional[dict[str, Any]]: ...
    def effect_table(self) -> Optional[pa.Table]: ...
    def drift_table(self) -> pa.Table: ...
    def charts(self) -> dict[str, bytes]: ...

def label_run(
    bundle: Bundle,
    tables: Mapping[str, TableLike],
    out: Optional[PathLike] = None,
    previous: Union[PathLike, TableLike, None] = None,
    as_of: DateLike = None,
    config: Optional[PathLike] = None,
    extract_date: DateLike = None,
    overwrite: bool = False,
    min_report_count: Optional[int] = None,
    previous_as_of: DateLike = None,
    previous_model: Optional[str] = None,
    lang: Optional[str] = None,
    vocabulary: Optional[PathLike] = None,
) -> Run: ...
