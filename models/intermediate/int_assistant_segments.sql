-- The delete_reingested pre-hook (dbt_project.yml) reads stg_conversations.
-- depends_on: {{ ref('stg_conversations') }}
{#
    Each assistant message split once into its segments: its think blocks and one text segment,
    what it wrote outside think and call blocks. Thoughts and assistant turns are derived from
    these rows (int_thoughts, fct_assistant_turns), so their text is cut once per build, not once
    per model. The call blocks are cut here too (a thought's position needs them) but not stored:
    stored beside the thoughts they took the warehouse past half its input (190 MB at 2x, the call
    text being in int_tool_calls' arguments already), so int_tool_calls cuts them itself.
-#}
{#- The message's key and watermarks, which every step passes on (Spark has no `* exclude`). -#}
{% set message_columns = ['source_config', 'conversation_id', 'message_index', 'ingested_at', 'conversation_seq'] %}

with

assistant_messages as (
    select
        source_config,
        conversation_id,
        message_index,
        content,
        ingested_at,
        conversation_seq
    from {{ ref('stg_messages') }}
    where role = 'assistant' {{ only_new_rows() }}
),

split_on_think as (
    select
        {{ message_columns | join(',\n        ') }},
        -- Before the first <tool_call> tag anywhere, as the thought's position has always been read.
        {{ count_opening_tags("split_part(content, '<tool_call>', 1)", 'think') }} as n_thoughts_before_first_call,
        {{ split_on('content', '<think>') }} as think_pieces
    from assistant_messages
),

thoughts_and_the_rest as (
    select
        {{ message_columns | join(',\n        ') }},
        n_thoughts_before_first_call,
        {{ blocks_of_pieces('think_pieces', 'think') }} as thought_blocks,
        {{ text_outside_pieces('think_pieces', 'think') }} as outside_think
    from split_on_think
),

split_on_call as (
    select
        {{ message_columns | join(',\n        ') }},
        n_thoughts_before_first_call,
        thought_blocks,
        {{ split_on('outside_think', '<tool_call>') }} as call_pieces
    from thoughts_and_the_rest
),

segmented as (
    select
        {{ message_columns | join(',\n        ') }},
        n_thoughts_before_first_call,
        {{ list_size('call_pieces') }} - 1 as n_calls,
        {{ list_concat([
            list_map('thought_blocks', 'block', make_struct([
                ('kind', "'think'"), ('body', 'block.body'), ('is_closed', 'block.is_closed'),
            ])),
            list_of([make_struct([
                ('kind', "'text'"), ('body', strip(text_outside_pieces('call_pieces', 'tool_call'))), ('is_closed', 'true'),
            ])]),
        ]) }} as segments
    from split_on_call
),

unnested as (
    select
        {{ message_columns | join(',\n        ') }},
        n_thoughts_before_first_call,
        n_calls,
        {{ unnest_with_index('segments', 'segment', 'segment_position') }}
    from segmented
),

indexed as (
    select
        {{ message_columns | join(',\n        ') }},
        n_thoughts_before_first_call,
        n_calls,
        segment.kind as segment_kind,
        -- Thoughts come first in the list, then the text.
        cast(case when segment.kind = 'think' then segment_position else 0 end as integer) as segment_index,
        segment.body,
        segment.is_closed
    from unnested
)

select
    source_config,
    conversation_id,
    message_index,
    segment_kind,
    segment_index,
    body,
    is_closed,
    -- The thought's length without surrounding white space; the text's (stripped already).
    case
        when segment_kind = 'think' then length({{ strip('body') }})
        when segment_kind = 'text' then length(body)
    end as n_chars,
    case
        when segment_kind <> 'think' then null
        when n_calls = 0 then 'no_calls'
        when segment_index < n_thoughts_before_first_call then 'before_calls'
        else 'after_calls'
    end as thought_position,
    ingested_at,
    conversation_seq
from indexed
