{#- Each tool's error signatures ranked by how often they happen, per model, with their share of the tool's errors. -#}
with

signatures as (
    select * from {{ ref('fct_error_signatures') }}
),

tool_totals as (
    select
        source_config,
        tool_name,
        cast(sum(n_errors) as bigint) as tool_errors
    from signatures
    group by 1, 2
),

ranked as (
    select
        signatures.source_config,
        signatures.tool_name,
        signatures.signature,
        signatures.n_errors,
        signatures.n_conversations,
        signatures.recovered_share,
        signatures.example_tool_call_key,
        tool_totals.tool_errors,
        cast(signatures.n_errors as double) / tool_totals.tool_errors as share_of_tool_errors,
        row_number() over (
            partition by signatures.source_config, signatures.tool_name
            order by signatures.n_errors desc, signatures.signature asc
        ) as signature_rank
    from signatures
    inner join tool_totals
        on
            signatures.source_config = tool_totals.source_config
            and signatures.tool_name = tool_totals.tool_name
)

select * from ranked
