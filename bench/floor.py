"""What the machine can do with the same input, measured in the same run as the main job.

The floor of the ingest: Arrow's JSON parser over every row, the turns flattened to one row
each, written as zstd parquet (the least any ingest must do: read, reshape, store compressed).
Run as ``python -m bench.floor OUT FILE...`` so that it is timed as its own process.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json
import pyarrow.parquet as pq

# Arrow's reader needs a block to hold whole rows; real rows reach a few MB.
BLOCK_BYTES = 64 * 1024 * 1024


def messages_of(batch: pa.RecordBatch, config: str) -> pa.Table:
    """One row per turn: the conversation's id, the turn's position, role and text."""
    conversations = batch.column("conversations")
    turns = pc.list_flatten(conversations)
    parents = pc.list_parent_indices(conversations)
    # Positions in the flattened turns are counted from the list array's first offset.
    starts = pc.subtract(pc.take(conversations.offsets, parents), conversations.offsets[0])
    return pa.table(
        {
            "source_config": pa.array([config] * len(turns), pa.string()),
            "conversation_id": pc.take(batch.column("id"), parents),
            "message_index": pc.subtract(pa.array(range(len(turns)), pa.int32()), starts.cast(pa.int32())),
            "from": pc.struct_field(turns, "from"),
            "value": pc.struct_field(turns, "value"),
        }
    )


def parse_to_parquet(files: list[Path], out: Path) -> int:
    """Parse every JSONL file and write its turns as zstd parquet under ``out``; return bytes written."""
    out.mkdir(parents=True, exist_ok=True)
    written = 0
    for number, path in enumerate(files):
        target = out / f"messages-{number}.parquet"
        reader = pa_json.open_json(path, read_options=pa_json.ReadOptions(block_size=BLOCK_BYTES))
        writer = None
        for batch in reader:
            table = messages_of(batch, path.parent.name)
            if writer is None:
                writer = pq.ParquetWriter(target, table.schema, compression="zstd")
            writer.write_table(table)
        if writer is not None:
            writer.close()
            written += target.stat().st_size
    return written


if __name__ == "__main__":
    total = parse_to_parquet([Path(p) for p in sys.argv[2:]], Path(sys.argv[1]))
    print(f"parquet bytes: {total}")
