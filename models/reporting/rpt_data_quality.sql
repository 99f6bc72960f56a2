{#- Everything odd in the data, one row per (source_config, issue). -#}
with

calls as (
    select * from {{ ref('fct_tool_calls') }}
),

conversations as (
    select * from {{ ref('fct_conversations') }}
),

rejected as (
    select * from {{ ref('stg_rejected_rows') }}
),

ingest_flags as (
    select
        source_config,
        {{ unnest_list('ingest_flags') }} as ingest_flag
    from conversations
),

issues as (
    select
        source_config,
        'malformed call: ' || parse_issue as issue,
        count(*) as n
    from calls
    where parse_issue is not null
    group by all
    union all
    select
        source_config,
        'call name differs from its response' as issue,
        count(*) as n
    from calls
    where is_name_mismatch
    group by all
    union all
    select
        source_config,
        'unanswered call' as issue,
        sum(n_unanswered_calls) as n
    from conversations
    group by all
    union all
    select
        source_config,
        'orphan response' as issue,
        sum(n_orphan_responses) as n
    from conversations
    group by all
    union all
    select
        source_config,
        'conversation with a stuck loop' as issue,
        count(*) filter (where has_stuck_loop) as n
    from conversations
    group by all
    union all
    select
        source_config,
        'unclosed think block' as issue,
        sum(n_unclosed_thoughts) as n
    from conversations
    group by all
    union all
    select
        source_config,
        'ingest flag: ' || ingest_flag as issue,
        count(*) as n
    from ingest_flags
    group by all
    union all
    select
        coalesce(source_config, '(unknown)') as source_config,
        'rejected row: ' || reason as issue,
        count(*) as n
    from rejected
    group by all
)

select
    source_config,
    issue,
    sum(n)::bigint as n
from issues
group by all
having sum(n) > 0
