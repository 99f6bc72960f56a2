"""Exceptions the library raises; the CLI turns them into one-line messages."""


class TraceWarehouseError(Exception):
    """Base class: anything the user can fix by changing input or options."""


class WarehouseInUse(TraceWarehouseError):
    """Another process holds the warehouse file open for writing."""


class WarehouseBeingWritten(WarehouseInUse):
    """An ingest or build has its turn at the warehouse (foundation/turns.py): readers wait for it."""

    def __init__(self, message: str, what: str) -> None:
        super().__init__(message)
        self.what = what


class SourceError(TraceWarehouseError):
    """A SOURCE argument names nothing loadable."""


class NothingLoaded(TraceWarehouseError):
    """Every row read was rejected (or nothing could be read at all)."""


class StrictModeRejection(TraceWarehouseError):
    """--strict was given and at least one row was rejected."""


class BuildFailed(TraceWarehouseError):
    """dbt build reported errors or failing tests."""


class ExportError(TraceWarehouseError):
    """An export could not be written as asked (existing files, bad path, bad option)."""


class SettingError(TraceWarehouseError):
    """A TRACES_* environment variable holds a value that cannot be used."""


class LabelError(TraceWarehouseError):
    """A label, note, view name or label file that cannot be used."""


class SearchIndexError(TraceWarehouseError):
    """The search index cannot be opened, built or queried as asked."""
