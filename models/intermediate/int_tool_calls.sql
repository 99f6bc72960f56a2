-- The delete_reingested pre-hook (dbt_project.yml) reads stg_conversations.
-- depends_on: {{ ref('stg_conversations') }}
{# The columns `with_arguments` passes on unchanged (Spark has no `* exclude`). #}
{% set carried_columns = [
    'source_config', 'conversation_id', 'message_index', 'tools_hash', 'ingested_at', 'conversation_seq',
    'call_index', 'call_text', 'is_closed', 'is_valid_json', 'json_kind', 'tool_name', 'tool_call_id',
] %}

with

definitions as (
    select
        tools_hash,
        tool_name,
        required_arguments
    from {{ ref('stg_tool_definitions') }}
),

toolset_sizes as (
    select
        tools_hash,
        count(*) as n_definitions
    from definitions
    group by tools_hash
),

{{ tag_block_rows('assistant', without_think('content'), 'tool_call', 'call_index', carried=['tools_hash']) }},

validated as (
    select
        source_config,
        conversation_id,
        message_index,
        tools_hash,
        ingested_at,
        conversation_seq,
        call_index::integer as call_index,
        {{ strip('block.body') }} as call_text,
        block.is_closed
    from unnested
),

typed as (
    select
        *,
        {{ json_is_valid('call_text') }} as is_valid_json
    from validated
),

kinded as (
    select
        *,
        case when is_valid_json then {{ json_kind('call_text') }} end as json_kind
    from typed
),

named as (
    select
        *,
        case
            when json_kind = 'OBJECT' then {{ json_text_at('call_text', '$.name') }}
            else {{ name_from_broken_call('call_text') }}
        end as tool_name,
        case when json_kind = 'OBJECT' then {{ json_at('call_text', '$.arguments') }} end as raw_arguments,
        -- The id a shape with call ids gave it (ingest/shapes.py writes it into the call's JSON).
        case when json_kind = 'OBJECT' then {{ json_text_at('call_text', '$.id') }} end as tool_call_id
    from kinded
),

with_arguments as (
    select
        {{ carried_columns | join(',\n        ') }},
        -- Some harnesses double-encode arguments as a JSON string; decode them once.
        case
            when
                {{ json_kind('raw_arguments') }} = 'VARCHAR'
                and {{ json_is_valid(json_text_at('raw_arguments', '$')) }}
                then {{ json_value_of_text(json_text_at('raw_arguments', '$')) }}
            else raw_arguments
        end as arguments,
        -- A closed tag around exactly {"name": ..., "arguments": {...}}: tool_name and arguments
        -- hold all of it, and its text is not stored a second time (stg_messages has it).
        -- A case, not `and`: json_keys fails on invalid JSON, and `and` may evaluate both sides.
        coalesce(
            case
                when is_closed and json_kind = 'OBJECT' and coalesce(tool_name, '') <> ''
                    then
                        {{ json_kind('raw_arguments') }} = 'OBJECT'
                        and {{ list_size(list_keep(
                            json_keys_of('call_text'), 'call_key', "call_key not in ('name', 'arguments', 'id')"
                        )) }} = 0
                        and coalesce({{ json_kind(json_at('call_text', '$.id')) }}, 'VARCHAR') = 'VARCHAR'
            end,
            false
        ) as is_held_by_parsed_columns
    from named
),

-- Calls join only the (few) tool definitions: a join with the conversations made DuckDB hash
-- the calls, text and all, and run out of memory on real-shaped rows.
with_definitions as (
    select
        calls.*,
        coalesce(sizes.n_definitions, 0) as n_definitions,
        definitions.tool_name is not null as is_known_tool,
        coalesce(definitions.required_arguments, {{ empty_text_list() }}) as required_arguments
    from with_arguments as calls
    left join toolset_sizes as sizes
        on calls.tools_hash = sizes.tools_hash
    left join definitions
        on
            calls.tools_hash = definitions.tools_hash
            and calls.tool_name = definitions.tool_name
),

checked as (
    select
        *,
        {{ list_keep(
            'required_arguments',
            'arg',
            json_kind('arguments') ~ " <> 'OBJECT' or not " ~ list_has(json_keys_of('arguments'), 'arg')
        ) }} as missing_arguments
    from with_definitions
)

select
    source_config,
    conversation_id,
    message_index,
    call_index,
    ingested_at,
    conversation_seq,
    case when not is_held_by_parsed_columns then call_text end as call_text,
    is_closed,
    is_valid_json,
    json_kind,
    tool_name,
    arguments,
    tool_call_id,
    is_known_tool,
    missing_arguments,
    case
        when not is_closed then 'unclosed_tag'
        when not is_valid_json then 'invalid_json'
        when json_kind <> 'OBJECT' then 'not_an_object'
        when coalesce(tool_name, '') = '' then 'missing_name'
        when n_definitions > 0 and not is_known_tool then 'unknown_tool'
        when {{ list_size('missing_arguments') }} > 0 then 'missing_required_argument'
    end as parse_issue,
    md5(coalesce(tool_name, '') || chr(31) || coalesce(arguments::string, call_text)) as call_signature
from checked
