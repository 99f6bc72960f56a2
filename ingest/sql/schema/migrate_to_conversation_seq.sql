-- Warehouses written before conversations were numbered in ingest order: stored order is
-- ingest order.
alter table raw.conversations_written add column conversation_seq bigint;
update raw.conversations_written set conversation_seq = rowid + 1
