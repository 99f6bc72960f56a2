"""Ingest and build of the same generated rows in another shape, against the Hermes shape.

`python -m bench.shapes --rows 30000 --shape openai` (from the repository root) writes the rows in
the Hermes shape and in ``--shape`` with `traces sample`, then, for each in turn (Hermes first),
times `traces ingest` and `traces build` into a fresh warehouse under the bench's sampler (wall
time, peak RSS of the process tree). It prints both, the ratio, and where the other shape's time
goes. The rows are the generator's, so their content is the same in both shapes.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer

from bench.measure import measure


def _traces() -> str:
    return str(Path(sys.executable).parent / "traces")


def _time_shape(rows: int, shape: str, workdir: Path) -> dict:
    data = workdir / f"{shape}-{rows}"
    if not data.exists():
        subprocess.run([_traces(), "sample", "--rows", str(rows), "--shape", shape, "--out", str(data)], check=True, capture_output=True)
    db = workdir / f"{shape.replace('-', '_')}_{rows}.duckdb"
    for stale in workdir.glob(db.name + "*"):
        shutil.rmtree(stale) if stale.is_dir() else stale.unlink()
    size = sum(p.stat().st_size for p in data.rglob("*.jsonl"))
    ingest = measure([_traces(), "ingest", str(data), "--db", str(db)])
    build = measure([_traces(), "build", "--db", str(db)])
    if ingest.returncode or build.returncode:
        raise RuntimeError(f"{shape}: ingest exit {ingest.returncode}, build exit {build.returncode}:\n{ingest.stdout[-2000:]}{build.stdout[-2000:]}")
    return {
        "shape": shape, "rows": rows, "input_mb": round(size / 2**20), "warehouse_mb": round(db.stat().st_size / 2**20),
        "ingest_s": round(ingest.wall_seconds, 1), "build_s": round(build.wall_seconds, 1),
        "total_s": round(ingest.wall_seconds + build.wall_seconds, 1),
        "ingest_peak_rss_mib": round(ingest.peak_rss_mb), "build_peak_rss_mib": round(build.peak_rss_mb),
    }


def main(
    rows: Annotated[int, typer.Option(help="Rows of each shape (both configs together); 30,000 is twice the real volume.")] = 30000,
    shape: Annotated[str, typer.Option(help="The shape to compare with Hermes: openai, sharegpt or anthropic.")] = "openai",
    workdir: Annotated[Path, typer.Option(help="Where inputs and warehouses go.")] = Path("bench_out/shapes"),
) -> None:
    workdir.mkdir(parents=True, exist_ok=True)
    hermes = _time_shape(rows, "hermes", workdir)
    other = _time_shape(rows, shape, workdir)
    result = {
        "hermes": hermes, shape: other,
        "ratio_total": round(other["total_s"] / hermes["total_s"], 2),
        "ratio_ingest": round(other["ingest_s"] / hermes["ingest_s"], 2),
        "ratio_build": round(other["build_s"] / hermes["build_s"], 2),
    }
    typer.echo(json.dumps(result, indent=2))


if __name__ == "__main__":
    typer.run(main)
