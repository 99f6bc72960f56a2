"""The embedded sample and the ``traces sample`` writer, both from the seeded generator."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ingest.inputs import Input
from ingest.synthetic.generator import CONFIGS, SAMPLE_ROWS, SAMPLE_SEED, generate
from ingest.synthetic.shapes import SHAPES, in_shape

TURN_TYPE = pa.struct([("from", pa.string()), ("value", pa.string())])
ROW_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("conversations", pa.list_(TURN_TYPE)),
        ("tools", pa.string()),
        ("category", pa.string()),
        ("subcategory", pa.string()),
        ("task", pa.string()),
    ]
)


def rows_to_table(rows: list[dict]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=ROW_SCHEMA)


def _rows_for(config: str, rows: int, seed: int) -> list[dict]:
    return [row for row_config, row in generate(rows, seed) if row_config == config]


def sample_inputs(config: str | None = None, rows: int | None = None, seed: int = SAMPLE_SEED) -> list[Input]:
    """The embedded sample as one Arrow input per config (``--config`` relabels both)."""
    n = rows or SAMPLE_ROWS
    inputs = []
    for generated_config in CONFIGS:
        def load(c: str = generated_config) -> pa.Table:
            return rows_to_table(_rows_for(c, n, seed))

        inputs.append(
            Input(
                uri=f"sample://seed={seed}/rows={n}/{generated_config}",
                config=config or generated_config,
                kind="arrow",
                arrow=load,
            )
        )
    return inputs


def _batched(rows: int, seed: int, batch: int, random_ids: bool = False) -> Iterator[dict[str, list[dict]]]:
    pending: dict[str, list[dict]] = {c: [] for c in CONFIGS}
    for n, (config, row) in enumerate(generate(rows, seed, random_ids=random_ids), start=1):
        pending[config].append(row)
        if n % batch == 0:
            yield pending
            pending = {c: [] for c in CONFIGS}
    yield pending


def write_sample(
    rows: int, out: Path, fmt: str = "jsonl", seed: int = SAMPLE_SEED, progress=None, random_ids: bool = False,
    shape: str = "hermes",
) -> list[Path]:
    """Write ``rows`` generated rows in the hub's layout: ``out/data/<config>/train.<fmt>``, in
    ``shape`` (ingest/synthetic/shapes.py; the shapes other than Hermes as JSON lines)."""
    if fmt not in ("jsonl", "parquet"):
        raise ValueError(f"unknown format {fmt!r}: use jsonl or parquet")
    if shape not in SHAPES:
        raise ValueError(f"unknown shape {shape!r}: use {', '.join(SHAPES)}")
    if shape != "hermes" and fmt != "jsonl":
        raise ValueError(f"the {shape} shape is written as JSON lines (--format jsonl): its fields vary in type from row to row")
    paths = {c: out / "data" / c / f"train.{fmt}" for c in CONFIGS}
    for path in paths.values():
        path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "jsonl":
        handles = {c: paths[c].open("w", encoding="utf-8") for c in CONFIGS}
        writers = None
    else:
        handles = None
        writers = {c: pq.ParquetWriter(paths[c], ROW_SCHEMA, compression="zstd") for c in CONFIGS}
    written = 0
    try:
        for chunk in _batched(rows, seed, batch=1000, random_ids=random_ids):
            for config, chunk_rows in chunk.items():
                if not chunk_rows:
                    continue
                if handles is not None:
                    shaped = [in_shape(r, shape, written + n) for n, r in enumerate(chunk_rows)]
                    written += len(chunk_rows)
                    handles[config].write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in shaped))
                elif writers is not None:
                    writers[config].write_table(rows_to_table(chunk_rows))
            if progress is not None:
                progress(sum(len(v) for v in chunk.values()))
    finally:
        for h in (handles or {}).values():
            h.close()
        for w in (writers or {}).values():
            w.close()
    return [paths[c] for c in CONFIGS]
