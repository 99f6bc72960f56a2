"""The ``traces`` command: ingest, build, report, export, run, sample, bench."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from trace_warehouse.errors import TraceWarehouseError
from trace_warehouse.paths import default_exports_dir, default_reports_dir, warehouse_path

app = typer.Typer(
    help="A SQL-first warehouse for agent reasoning traces (dbt + DuckDB).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

DbOption = Annotated[
    Optional[Path], typer.Option("--db", help="Warehouse file (default: $TRACES_DB, else warehouse.duckdb in the repo).")
]
OutOption = Annotated[Optional[Path], typer.Option("--out", help="Output directory.")]


def _fail(exc: Exception) -> None:
    typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=1)


def _print(message: str) -> None:
    typer.echo(message)


def _ingest(sources: list[str], config: str | None, limit: int | None, db: Path, strict: bool) -> None:
    from ingest.loader import ingest as run_ingest
    from trace_warehouse.progress import byte_progress

    with byte_progress("ingest", None) as progress:
        def on_input(item) -> None:
            if progress is not None:
                progress.update(progress.task_ids[0], description=f"ingest {item.uri}")

        def on_bytes(n: int) -> None:
            if progress is not None:
                progress.advance(progress.task_ids[0], n)

        result = run_ingest(db, sources, config=config, limit=limit, strict=strict, on_input=on_input, on_bytes=on_bytes)
    for item in result.inputs:
        line = f"  {item.uri} [{item.config}]: read {item.read}, loaded {item.loaded}, rejected {item.rejected}"
        if item.unchanged:
            line += f" ({item.unchanged} unchanged)"
        _print(line)
        for reason, n in list(item.reasons.items())[:5]:
            _print(f"      rejected {n} × {reason}")
    _print(f"{result.summary()} → {db}")


@app.command()
def ingest(
    sources: Annotated[list[str], typer.Argument(help="sample | hf:NAME | file.parquet/.jsonl/.json(.gz) | glob | directory")],
    config: Annotated[Optional[str], typer.Option(help="Config name stored on every row (wins over the path's).")] = None,
    limit: Annotated[Optional[int], typer.Option(help="Read at most N rows from each input.")] = None,
    strict: Annotated[bool, typer.Option(help="Fail, loading nothing, if any row is rejected.")] = False,
    db: DbOption = None,
) -> None:
    """Load traces into raw.conversations; unrepresentable rows go to raw.rejected_rows."""
    try:
        _ingest(sources, config, limit, warehouse_path(db), strict)
    except TraceWarehouseError as exc:
        _fail(exc)


@app.command()
def build(
    db: DbOption = None,
    select: Annotated[Optional[str], typer.Option(help="dbt node selection, e.g. marts or +fct_tool_calls.")] = None,
) -> None:
    """Run `dbt build` (models and tests) on the warehouse."""
    from trace_warehouse.build import build as run_build

    try:
        run_build(warehouse_path(db), echo=True, select=select)
    except TraceWarehouseError as exc:
        _fail(exc)


@app.command()
def sample(
    rows: Annotated[int, typer.Option(help="Number of rows (both configs together).")] = 300,
    out: Annotated[Path, typer.Option(help="Directory to write data/<config>/train.<format> into.")] = Path("sample_data"),
    format: Annotated[str, typer.Option(help="jsonl or parquet.")] = "jsonl",
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same rows.")] = 7,
) -> None:
    """Write synthetic rows in the dataset's schema, in the hub's layout."""
    from ingest.sample import write_sample

    try:
        paths = write_sample(rows, out, fmt=format, seed=seed)
    except ValueError as exc:
        _fail(exc)
    for path in paths:
        _print(f"wrote {path}")


def main() -> None:  # pragma: no cover - console entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
