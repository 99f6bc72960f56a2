-- Per input, what the final statements decided: rows kept (loaded, of which unchanged) and rows
-- superseded by a later one, of the same input or of another.
select
    source_uri,
    count(*) filter (where dup_rank = 1) as loaded,
    count(*) filter (where dup_rank = 1 and unchanged) as unchanged,
    count(*) filter (where dup_rank > 1 and source_uri = kept_uri) as duplicates_in_input,
    count(*) filter (where dup_rank > 1 and source_uri <> kept_uri) as superseded
from (
    select r.*, coalesce(k.unchanged, false) as unchanged
    from ranked as r
    left join kept as k on r.seq = k.seq
)
group by source_uri
