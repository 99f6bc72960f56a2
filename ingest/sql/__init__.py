"""The ingest's SQL, kept in ``.sql`` files beside this module and loaded by name.

Files are Jinja templates: shared expressions are macros in ``_expressions.sql``, and the only
template variables are SQL structure (a relation, which columns an input has). Values (uris,
configs, ids, counts) are always DuckDB parameters (``$name``), bound when a statement runs.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from pathlib import Path

import jinja2

SQL_DIR = Path(__file__).resolve().parent


def _sql_tuple(values: Iterable[str]) -> str:
    """Constant strings as a SQL list for ``in (...)``."""
    return "(" + ", ".join("'" + value.replace("'", "''") + "'" for value in values) + ")"


@cache
def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(SQL_DIR),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
    )
    environment.filters["sql_tuple"] = _sql_tuple
    return environment


@cache
def sql(name: str, **structure: str | tuple[str, ...] | bool) -> str:
    """The statement(s) of ``<name>.sql``, rendered for ``structure`` (hashable: rendered once each)."""
    return _environment().get_template(f"{name}.sql").render(**structure)
