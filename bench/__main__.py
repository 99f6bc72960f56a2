"""`python -m bench` (from the repository root): the benchmark, kept out of the installed package."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from bench.run import bench as run_bench
from bench.run import render_table


def main(
    rows: Annotated[
        list[int] | None,
        typer.Option(help="Rows to generate (both configs together); repeat for several volumes (default 15000, about the real dataset)."),
    ] = None,
    workdir: Annotated[Path, typer.Option(help="Where inputs, warehouses and results go.")] = Path("bench_out"),
    repeats: Annotated[int, typer.Option(help="Baseline/project alternations.")] = 2,
    incremental: Annotated[bool, typer.Option(help="Also time adding 10% new rows.")] = True,
    parquet: Annotated[bool, typer.Option(help="Also time the hub's parquet layout.")] = True,
    exports: Annotated[bool, typer.Option(help="Also time `traces export` per format (default settings, tokens counted).")] = False,
    random_ids: Annotated[
        bool, typer.Option(help="Generate ids that do not sort in input order (as uuids or hashes do).")
    ] = False,
) -> None:
    """Benchmark the main job against the tutorial-style plain-Python baseline (ratios, stages, peak RSS)."""
    for volume in rows or [15000]:
        results = run_bench(
            volume, workdir / f"rows-{volume}", repeats=repeats, incremental=incremental, parquet=parquet,
            random_ids=random_ids, exports=exports,
        )
        typer.echo(render_table(results) + "\n")


if __name__ == "__main__":
    typer.run(main)
