{#-
    Each tool call checked against the definition of its tool in its own conversation's `tools`
    (JSON Schema): the first issue, in this order, and the argument it is about.
    - no_tool_definitions: the conversation's tools did not parse (or list none);
    - unknown_tool: no tool of that name is defined;
    - missing_required: a required argument is absent;
    - unexpected_argument: an argument the schema does not list (unless additionalProperties is true);
    - wrong_type: a value whose JSON type the schema's `type` (one type, or a list of them) does not allow
      (an integer is a number);
    - enum_violation: a string value outside the schema's `enum` of strings.
    A call that did not parse (parse_issue other than the two above) is not checked. Incremental.
-#}
-- The delete_reingested pre-hook (dbt_project.yml) reads stg_conversations.
-- depends_on: {{ ref('stg_conversations') }}

with

calls as (
    select
        source_config,
        conversation_id,
        conversation_seq,
        message_index,
        call_index,
        tool_name,
        arguments,
        parse_issue,
        missing_arguments
    from {{ ref('int_tool_calls') }}
    {{ where_new_conversations() }}
),

conversations as (
    select
        conversation_seq,
        tools_hash
    from {{ ref('stg_conversations') }}
    {{ where_new_conversations() }}
),

toolsets as (
    select
        tools_hash,
        tools_shape
    from {{ ref('stg_toolsets') }}
),

definitions as (
    select
        tools_hash,
        tool_name,
        {{ json_at('parameters', '$.properties') }} as properties,
        {{ json_text_at('parameters', '$.additionalProperties') }} as additional_properties
    from {{ ref('stg_tool_definitions') }}
),

toolset_sizes as (
    select
        tools_hash,
        count(*) as n_definitions
    from definitions
    group by 1
),

described as (
    select
        calls.*,
        coalesce(toolsets.tools_shape in ('wrapped', 'flat') and toolset_sizes.n_definitions > 0, false)
            as has_definitions,
        definitions.tool_name is not null as is_defined,
        definitions.properties,
        coalesce(definitions.additional_properties = 'true', false) as allows_other_arguments
    from calls
    left join conversations
        on calls.conversation_seq = conversations.conversation_seq
    left join toolsets
        on conversations.tools_hash = toolsets.tools_hash
    left join toolset_sizes
        on conversations.tools_hash = toolset_sizes.tools_hash
    left join definitions
        on
            conversations.tools_hash = definitions.tools_hash
            and calls.tool_name = definitions.tool_name
),

-- One row per argument of a defined tool's well-formed call.
arguments as (
    select
        source_config,
        conversation_id,
        conversation_seq,
        message_index,
        call_index,
        properties,
        allows_other_arguments,
        {{ unnest_json_members('arguments', 'member') }}
    from described
    where is_defined and {{ json_kind('arguments') }} = 'OBJECT'
),

argument_values as (
    select
        source_config,
        conversation_id,
        conversation_seq,
        message_index,
        call_index,
        allows_other_arguments,
        coalesce({{ json_kind('properties') }} = 'OBJECT', false) as properties_declared,
        member.key as argument_name,
        {{ member_value_json('member') }} as argument_value,
        {{ json_member('properties', 'member.key') }} as property
    from arguments
),

argument_checks as (
    select
        *,
        {{ json_schema_type('argument_value') }} as value_type,
        {{ json_kind(json_at('property', '$.type')) }} as declared_type_kind,
        {{ json_text_at('property', '$.type') }} as declared_type,
        {{ json_text_list(json_at('property', '$.type')) }} as declared_types,
        case
            when {{ json_kind(json_at('property', '$.enum')) }} = 'ARRAY'
                then {{ json_text_list(json_at('property', '$.enum')) }}
        end as allowed_values
    from argument_values
),

argument_issues as (
    select
        source_config,
        conversation_id,
        conversation_seq,
        message_index,
        call_index,
        argument_name,
        case
            when property is null and properties_declared and not allows_other_arguments then 'unexpected_argument'
            when
                declared_type_kind = 'VARCHAR'
                and not (declared_type = value_type or (declared_type = 'number' and value_type = 'integer'))
                then 'wrong_type'
            when
                declared_type_kind = 'ARRAY'
                and not {{ list_has('declared_types', 'value_type') }}
                and not (value_type = 'integer' and {{ list_has('declared_types', "'number'") }})
                then 'wrong_type'
            when
                allowed_values is not null
                and value_type = 'string'
                and not {{ list_has('allowed_values', json_text_at('argument_value', '$')) }}
                then 'enum_violation'
        end as issue
    from argument_checks
),

ranked_issues as (
    select
        *,
        row_number() over (
            partition by conversation_seq, message_index, call_index
            order by
                case issue when 'unexpected_argument' then 1 when 'wrong_type' then 2 else 3 end,
                argument_name
        ) as issue_rank
    from argument_issues
    where issue is not null
),

-- Each call's first argument issue, in the order of the issues above, then by argument name.
first_argument_issues as (
    select
        conversation_seq,
        message_index,
        call_index,
        issue,
        argument_name
    from ranked_issues
    where issue_rank = 1
),

checked as (
    select
        described.source_config,
        described.conversation_id,
        described.conversation_seq,
        described.message_index,
        described.call_index,
        case
            when not described.has_definitions then 'no_tool_definitions'
            when coalesce(described.parse_issue, 'unknown_tool') not in ('unknown_tool', 'missing_required_argument')
                then null
            when not described.is_defined then 'unknown_tool'
            when {{ list_size('described.missing_arguments') }} > 0 then 'missing_required'
            else first_argument_issues.issue
        end as schema_issue,
        case
            when not described.has_definitions or not described.is_defined then null
            when coalesce(described.parse_issue, 'unknown_tool') not in ('unknown_tool', 'missing_required_argument')
                then null
            when {{ list_size('described.missing_arguments') }} > 0 then {{ first_of('described.missing_arguments') }}
            else first_argument_issues.argument_name
        end as schema_issue_argument
    from described
    left join first_argument_issues
        on
            described.conversation_seq = first_argument_issues.conversation_seq
            and described.message_index = first_argument_issues.message_index
            and described.call_index = first_argument_issues.call_index
)

select * from checked
