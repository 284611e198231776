"""clientele's exceptions. Both kinds carry the facts the message states, where known:
``file`` (a path, or ``<clients table>`` for a table in memory), ``column`` and ``row``
(1-based data row). They pickle (``multiprocessing``, ``joblib``) with those facts."""

from __future__ import annotations

from typing import Optional


class ClienteleError(Exception):
    """Any clientele error: ``BadInput`` or ``RunError``."""

    def __init__(
        self,
        message: str,
        *,
        file: Optional[str] = None,
        column: Optional[str] = None,
        row: Optional[int] = None,
    ) -> None:
        super().__init__(message)
        self.file = file
        self.column = column
        self.row = row

    def __reduce__(self):  # type: ignore[override]
        facts = {"file": self.file, "column": self.column, "row": self.row}
        return (_rebuild, (type(self), str(self), facts))


class BadInput(ClienteleError, ValueError):
    """Bad data, config or arguments (the CLI's exit code 2): the message names the
    table or file, the column and the row, and what was expected."""


class RunError(ClienteleError, RuntimeError):
    """A run that failed for another reason than its input (the CLI's exit code 1): a
    file that cannot be written, a bug."""


def _rebuild(kind: type, message: str, facts: dict) -> ClienteleError:
    return kind(message, **facts)


# Pickles and tracebacks name the public path.
for _kind in (ClienteleError, BadInput, RunError):
    _kind.__module__ = "clientele"
