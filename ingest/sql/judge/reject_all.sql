-- Every row of relation rejected for one reason (the input's schema cannot load).
insert into staged (seq, source_uri, source_config, source_row, reject_reason, raw_text)
select $seq_base + __row, $uri, $config, __row, $reason, to_json(r)::varchar
from {{ relation }} as r
