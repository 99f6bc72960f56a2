{#- Calls checked against their tools' schemas, per model and tool: how many, and how many broke each rule. -#}
with

calls as (
    select
        source_config,
        coalesce(tool_name, '?') as tool_name,
        schema_issue
    from {{ ref('fct_tool_calls') }}
),

rates as (
    select
        source_config,
        tool_name,
        count(*) as n_calls,
        sum(case when schema_issue is not null and schema_issue <> 'no_tool_definitions' then 1 else 0 end)
            as n_violations,
        sum(case when schema_issue = 'unknown_tool' then 1 else 0 end) as n_unknown_tool,
        sum(case when schema_issue = 'missing_required' then 1 else 0 end) as n_missing_required,
        sum(case when schema_issue = 'unexpected_argument' then 1 else 0 end) as n_unexpected_argument,
        sum(case when schema_issue = 'wrong_type' then 1 else 0 end) as n_wrong_type,
        sum(case when schema_issue = 'enum_violation' then 1 else 0 end) as n_enum_violation,
        sum(case when schema_issue = 'no_tool_definitions' then 1 else 0 end) as n_no_tool_definitions
    from calls
    group by 1, 2
)

select
    *,
    cast(n_violations as double) / n_calls as violation_rate
from rates
