{#-
    One row per tool response that is an error: the words that say what went wrong (the `error`
    field when it holds text, else the output's), the line of them that names the error, and its
    signature (macros/errors.sql). Incremental with the parsing models: only new conversations.
-#}
-- The delete_reingested pre-hook (dbt_project.yml) reads stg_conversations.
-- depends_on: {{ ref('stg_conversations') }}

with

responses as (
    select
        source_config,
        conversation_id,
        conversation_seq,
        message_index,
        response_index,
        response_name,
        error_type,
        content
    from {{ ref('int_tool_responses') }}
    where error_type is not null {{ only_new_rows('conversation_seq') }}
),

links as (
    select * from {{ ref('int_tool_call_links') }}
    where response_index is not null {{ only_new_rows('conversation_seq') }}
),

probed as (
    select
        *,
        case
            when {{ starts_with('content::string', "'{'") }}
                then {{ json_fields('content', ['error', 'output', 'stderr']) }}
        end as probe
    from responses
),

error_texts as (
    select
        source_config,
        conversation_id,
        conversation_seq,
        message_index,
        response_index,
        response_name,
        error_type,
        case
            when {{ json_kind('probe.error') }} = 'VARCHAR' and {{ strip(json_text_at('probe.error', '$')) }} <> ''
                then {{ json_text_at('probe.error', '$') }}
            when {{ json_kind('probe.error') }} in ('OBJECT', 'ARRAY') then probe.error::string
            when {{ json_kind('probe.stderr') }} = 'VARCHAR' and {{ strip(json_text_at('probe.stderr', '$')) }} <> ''
                then {{ json_text_at('probe.stderr', '$') }}
            when {{ json_kind('probe.output') }} = 'VARCHAR' then {{ json_text_at('probe.output', '$') }}
            when {{ json_kind('content') }} = 'VARCHAR' then {{ json_text_at('content', '$') }}
            else content::string
        end as error_text
    from probed
),

signed as (
    select
        error_texts.source_config,
        error_texts.conversation_id,
        error_texts.conversation_seq,
        error_texts.message_index,
        error_texts.response_index,
        links.call_message_index,
        links.call_index,
        coalesce(error_texts.response_name, links.call_name) as tool_name,
        error_texts.error_type,
        left({{ error_line('error_texts.error_text') }}, 500) as error_line,
        {{ error_signature(error_line('error_texts.error_text')) }} as signature
    from error_texts
    left join links
        on
            {{ same_response('error_texts', 'links') }}
)

select * from signed
