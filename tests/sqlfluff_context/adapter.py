"""``adapter`` for sqlfluff's Jinja templater: lint the SQL dbt compiles for DuckDB.

dbt's ``adapter.dispatch(name)`` picks ``duckdb__name`` or ``default__name``; so does this,
from the macros sqlfluff loads (``load_macros_from_path``).
"""

from jinja2 import pass_context


@pass_context
def dispatch(context, macro_name, macro_namespace=None):
    for prefix in ("duckdb__", "default__"):
        macro = context.get(prefix + macro_name)
        if macro is not None:
            return macro
    raise KeyError(f"no duckdb__ or default__ version of macro {macro_name!r}")


def quote(identifier):
    return f'"{identifier}"'
