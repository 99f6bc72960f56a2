"""Where things live: the project directory, the warehouse file, output folders."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
DB_ENV_VAR = "TRACES_DB"


def warehouse_path(db: Path | None = None) -> Path:
    """``--db`` wins, then ``$TRACES_DB``, then ``warehouse.duckdb`` in the project root."""
    if db is not None:
        return Path(db).resolve()
    from_env = os.environ.get(DB_ENV_VAR)
    if from_env:
        return Path(from_env).resolve()
    return PROJECT_DIR / "warehouse.duckdb"


def default_reports_dir() -> Path:
    return PROJECT_DIR / "reports" / "build"


def default_exports_dir() -> Path:
    return PROJECT_DIR / "exports"


def labels_path(db: Path) -> Path:
    """The labels and saved views of a warehouse: a file beside it, never inside it, so a rebuild,
    ``--full-refresh`` or a deleted warehouse loses none."""
    return db.with_name(db.name + ".labels.jsonl")


def search_index_path(db: Path) -> Path:
    """The full-text index of a warehouse's text: a folder beside it (``traces index``)."""
    return db.with_name(db.name + ".search")
