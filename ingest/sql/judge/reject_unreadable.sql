-- An input that cannot be read at all: one rejection for the file.
insert into staged (seq, source_uri, source_config, source_row, reject_reason, raw_text)
values ($seq_base, $uri, $config, null, $reason, null)
