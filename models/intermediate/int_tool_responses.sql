-- The delete_reingested pre-hook (dbt_project.yml) reads stg_conversations.
-- depends_on: {{ ref('stg_conversations') }}
{# The columns each step from `validated` to `decoded` passes on unchanged (Spark has no `* exclude`). #}
{% set carried_columns = [
    'source_config', 'conversation_id', 'message_index', 'ingested_at', 'conversation_seq',
    'response_index', 'response_text', 'is_closed', 'is_valid_json', 'given_is_error',
] %}

with

{{ tag_block_rows('tool', 'content', 'tool_response', 'response_index') }},

validated as (
    select
        source_config,
        conversation_id,
        message_index,
        ingested_at,
        conversation_seq,
        response_index::integer as response_index,
        -- Not stripped: JSON ignores surrounding whitespace, and stripping copies every output.
        block.body as response_text,
        block.is_closed,
        {{ json_is_valid('block.body') }} as is_valid_json
    from unnested
),

envelopes as (
    select
        *,
        -- One parse of the envelope yields every field we need; valid JSON opening with a
        -- brace is an object.
        case
            when is_valid_json and {{ regex_matches('response_text', regex('^\s*[{]')) }}
                then {{ json_fields('response_text', ['tool_call_id', 'name', 'content', 'is_error']) }}
        end as envelope
    from validated
),

flagged as (
    select
        *,
        -- A shape with a per-call error flag (Anthropic's is_error, ingest/shapes.py) says it itself.
        case
            when {{ json_kind('envelope.is_error') }} = 'BOOLEAN' then (envelope.is_error)::boolean
        end as given_is_error
    from envelopes
),

unwrapped as (
    select
        {{ carried_columns | join(',\n        ') }},
        {{ json_text_at('envelope.tool_call_id', '$') }} as tool_call_id,
        {{ json_text_at('envelope.name', '$') }} as response_name,
        case
            when envelope is null then {{ json_quote(strip('response_text')) }}
            when envelope.content is not null then envelope.content
            -- json_transform reads "content": null as SQL null; keep it apart from a missing key.
            when {{ regex_matches('response_text', regex('"content"\s*:\s*null')) }} then {{ json_literal('null') }}
            else {{ as_json('response_text') }}
        end as raw_content
    from flagged
),

decoded as (
    select
        {{ carried_columns | join(',\n        ') }},
        tool_call_id,
        response_name,
        -- Content that is a JSON object encoded as a string is read as that object. Serialised
        -- JSON is compact, so its first character tells its type without another parse.
        case
            when
                {{ starts_with('raw_content::string', "'\"'") }}
                and {{ starts_with("ltrim(" ~ json_text_at('raw_content', '$') ~ ")", "'{'") }}
                and {{ json_is_valid(json_text_at('raw_content', '$')) }}
                then {{ as_json(json_text_at('raw_content', '$')) }}
            else raw_content
        end as content
    from unwrapped
),

probed as (
    select
        *,
        case
            when {{ starts_with('content::string', "'{'") }}
                then {{ json_fields('content', ['success', 'error', 'exit_code', '_budget_warning']) }}
        end as probe
    from decoded
)

select
    source_config,
    conversation_id,
    message_index,
    response_index,
    ingested_at,
    conversation_seq,
    is_closed,
    is_valid_json,
    tool_call_id,
    response_name,
    content,
    {{ starts_with('content::string', "'\"'") }} as is_text_content,
    case
        when given_is_error then 'tool_failure'
        when not given_is_error then null
        else {{ error_type('probe.success', 'probe.error', 'probe.exit_code', 'content::string') }}
    end as error_type,
    case
        when {{ json_kind('probe._budget_warning') }} = 'VARCHAR' then {{ json_text_at('probe._budget_warning', '$') }}
        else probe._budget_warning::string
    end as budget_warning
from probed
