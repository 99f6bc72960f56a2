-- The delete_reingested pre-hook (dbt_project.yml) reads stg_conversations.
-- depends_on: {{ ref('stg_conversations') }}
with

tool_messages as (
    select
        source_config,
        conversation_id,
        message_index,
        content,
        ingested_at,
        conversation_seq
    from {{ ref('stg_messages') }}
    where role = 'tool' {{ only_new_rows() }}
),

blocks as (
    select
        source_config,
        conversation_id,
        message_index,
        ingested_at,
        conversation_seq,
        {{ tag_blocks('content', 'tool_response') }} as response_blocks
    from tool_messages
),

unnested as (
    select
        source_config,
        conversation_id,
        message_index,
        ingested_at,
        conversation_seq,
        unnest(response_blocks) as block,
        generate_subscripts(response_blocks, 1) - 1 as response_index
    from blocks
),

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
        json_valid(block.body) as is_valid_json
    from unnested
),

envelopes as (
    select
        *,
        -- One parse of the envelope yields every field we need; valid JSON opening with a
        -- brace is an object.
        case
            when is_valid_json and regexp_matches(response_text, '^\s*[{]')
                then json_transform(response_text, '{"tool_call_id": "JSON", "name": "JSON", "content": "JSON"}')
        end as envelope
    from validated
),

unwrapped as (
    select
        * exclude (envelope),
        envelope.tool_call_id ->> '$' as tool_call_id,
        envelope.name ->> '$' as response_name,
        case
            when envelope is null then to_json({{ strip('response_text') }})
            when envelope.content is not null then envelope.content
            -- json_transform reads "content": null as SQL null; keep it apart from a missing key.
            when regexp_matches(response_text, '"content"\s*:\s*null') then 'null'::json
            else json(response_text)
        end as raw_content
    from envelopes
),

decoded as (
    select
        * exclude (raw_content),
        -- Content that is a JSON object encoded as a string is read as that object. Serialised
        -- JSON is compact, so its first character tells its type without another parse.
        case
            when
                starts_with(raw_content::varchar, '"')
                and starts_with(ltrim(raw_content ->> '$'), '{')
                and json_valid(raw_content ->> '$')
                then json(raw_content ->> '$')
            else raw_content
        end as content
    from unwrapped
),

probed as (
    select
        *,
        case
            when starts_with(content::varchar, '{')
                then json_transform(
                    content, '{"success": "JSON", "error": "JSON", "exit_code": "JSON", "_budget_warning": "JSON"}'
                )
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
    starts_with(content::varchar, '"') as is_text_content,
    {{ error_type('probe.success', 'probe.error', 'probe.exit_code', 'content::varchar') }} as error_type,
    case
        when json_type(probe._budget_warning) = 'VARCHAR' then probe._budget_warning ->> '$'
        else probe._budget_warning::varchar
    end as budget_warning
from probed
