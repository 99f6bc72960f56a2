-- Which calls break their tool's schema, per model and tool? Tools with a violation, most violations first.
select
    source_config,
    tool_name,
    n_calls,
    n_violations,
    round(violation_rate, 3) as violation_rate,
    n_unknown_tool,
    n_missing_required,
    n_unexpected_argument,
    n_wrong_type,
    n_enum_violation
from {{ ref('rpt_schema_issues') }}
where n_violations > 0
order by n_violations desc, source_config asc, tool_name asc
