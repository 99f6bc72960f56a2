"""The loadable rows' text, spooled as zstd parquet beside the warehouse until the ingest commits.

Each batch's rows go to two files: one row per turn (``messages``) and one per conversation
(``conversations``: what its turns repeat). A thread compresses and writes them while the
reader parses the next batch (pyarrow releases the interpreter as it compresses). At the end
the loader moves them into raw in one set-based statement per table (merge/write_kept.sql),
which costs a fraction of inserting batch by batch. A killed ingest leaves its spool; the next
one removes it (``Spool.clear``).
"""

from __future__ import annotations

import queue
import shutil
import threading
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from foundation.errors import TraceWarehouseError

MESSAGES = pa.schema(
    [("seq", pa.int64()), ("message_index", pa.int32()), ("from", pa.string()), ("value", pa.string())]
)
CONVERSATIONS = pa.schema(
    [
        ("seq", pa.int64()),
        ("n_messages", pa.int32()),
        ("tools_hash", pa.string()),
        ("tools", pa.string()),
        ("system_prompt_hash", pa.string()),
        ("system_prompt", pa.string()),
    ]
)
# zstd's fastest level compresses this text as well as its default (0.32 of it), faster. The
# long texts get neither dictionaries nor min/max statistics: nothing reads them by value.
WRITER_OPTIONS = {
    "compression": "zstd",
    "compression_level": 1,
    "use_dictionary": ["from", "tools_hash", "system_prompt_hash"],
    "write_statistics": ["seq"],
}
# Batches handed over but not yet written: bounds the spool's memory to a few batches.
QUEUE_BATCHES = 2
_DONE = None


def messages_of(batch: pa.Table) -> pa.Table:
    """One row per turn: the conversation's seq, the turn's position, role and text."""
    conversations = batch.column("conversations").combine_chunks()
    turns = pc.list_flatten(conversations)
    parents = pc.list_parent_indices(conversations)
    # Positions in the flattened turns count from the list array's first offset.
    starts = pc.subtract(pc.take(conversations.offsets, parents), conversations.offsets[0])
    return pa.table(
        {
            "seq": pc.take(batch.column("seq"), parents),
            "message_index": pc.subtract(pa.array(range(len(turns)), pa.int64()), starts).cast(pa.int32()),
            "from": pc.struct_field(turns, "from"),
            "value": pc.struct_field(turns, "value"),
        },
        schema=MESSAGES,
    )


class SpoolError(TraceWarehouseError):
    """Writing the spool failed (the disk beside the warehouse is full, say)."""


class Spool:
    """Two parquet files written by a thread of their own; ``close`` waits for it and says what failed."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.messages = folder / "messages.parquet"
        self.conversations = folder / "conversations.parquet"
        self.rows = 0
        self._queue: queue.Queue[pa.Table | None] = queue.Queue(maxsize=QUEUE_BATCHES)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._write_all, name="ingest-spool", daemon=True)
        self._thread.start()

    @staticmethod
    def root(db: Path) -> Path:
        return db.with_name(db.name + ".spool")

    @staticmethod
    def clear(root: Path) -> None:
        shutil.rmtree(root, ignore_errors=True)

    def put(self, batch: pa.Table) -> None:
        """Hand over a batch of (seq, n_messages, tools_hash, tools, system_prompt_hash, system_prompt, conversations)."""
        if self._error is not None:
            self.close()
        self.rows += batch.num_rows
        self._queue.put(batch)

    def close(self) -> None:
        """Wait until every batch handed over is written; raise SpoolError if one could not be."""
        if self._thread.is_alive():
            self._queue.put(_DONE)
            self._thread.join()
        if self._error is not None:
            raise SpoolError(f"could not write the ingest's spool in {self.folder}: {self._error}") from self._error

    def _write_all(self) -> None:
        writers: list[pq.ParquetWriter] = []
        try:
            messages = pq.ParquetWriter(self.messages, MESSAGES, **WRITER_OPTIONS)
            writers.append(messages)
            conversations = pq.ParquetWriter(self.conversations, CONVERSATIONS, **WRITER_OPTIONS)
            writers.append(conversations)
            while (batch := self._queue.get()) is not _DONE:
                messages.write_table(messages_of(batch))
                conversations.write_table(batch.select(CONVERSATIONS.names).cast(CONVERSATIONS))
        except BaseException as exc:  # kept for close(), which the loader calls
            self._error = exc
            while self._queue.get() is not _DONE:  # let put() go on until close()
                pass
        finally:
            for writer in writers:
                writer.close()
