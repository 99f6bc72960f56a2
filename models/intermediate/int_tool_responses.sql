-- The delete_reingested pre-hook (dbt_project.yml) reads stg_conversations.
-- depends_on: {{ ref('stg_conversations') }}
with

tool_messages as (
    select
        source_config,
        conversation_id,
        message_index,
        content,
        ingested_at
    from {{ ref('stg_messages') }}
    where role = 'tool' {{ only_new_rows() }}
),

blocks as (
    select
        source_config,
        conversation_id,
        message_index,
        ingested_at,
        {{ tag_blocks('content', 'tool_response') }} as response_blocks
    from tool_messages
),

unnested as (
    select
        source_config,
        conversation_id,
        message_index,
        ingested_at,
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
        response_index::integer as response_index,
        {{ strip('block.body') }} as response_text,
        block.is_closed,
        json_valid({{ strip('block.body') }}) as is_valid_json
    from unnested
),

envelopes as (
    select
        *,
        -- One parse of the envelope yields every field we need.
        case
            when is_valid_json and json_type(response_text) = 'OBJECT'
                then json_extract(response_text, ['$.tool_call_id', '$.name', '$.content'])
        end as envelope
    from validated
),

unwrapped as (
    select
        * exclude (envelope),
        envelope[1] ->> '$' as tool_call_id,
        envelope[2] ->> '$' as response_name,
        case
            when envelope is null then to_json(response_text)
            when envelope[3] is null then response_text::json
            else envelope[3]
        end as raw_content
    from envelopes
),

decoded as (
    select
        * exclude (raw_content),
        -- Content that is a JSON object encoded as a string is read as that object.
        case
            when
                json_type(raw_content) = 'VARCHAR'
                and json_valid(raw_content ->> '$')
                and json_type(raw_content ->> '$') = 'OBJECT'
                then (raw_content ->> '$')::json
            else raw_content
        end as content
    from unwrapped
),

probed as (
    select
        *,
        case
            when json_type(content) = 'OBJECT'
                then json_extract(content, ['$.success', '$.error', '$.exit_code', '$._budget_warning'])
            else [null, null, null, null]::json[]
        end as probe
    from decoded
)

select
    source_config,
    conversation_id,
    message_index,
    response_index,
    ingested_at,
    is_closed,
    is_valid_json,
    tool_call_id,
    response_name,
    content,
    json_type(content) = 'VARCHAR' as is_text_content,
    {{ error_type('probe[1]', 'probe[2]', 'probe[3]', 'content::varchar') }} as error_type,
    case
        when json_type(probe[4]) = 'VARCHAR' then probe[4] ->> '$'
        else probe[4]::varchar
    end as budget_warning
from probed
