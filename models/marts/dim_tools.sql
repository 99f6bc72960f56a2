{{ config(contract=mart_contract()) }}

with

conversations as (
    select
        source_config,
        conversation_id,
        tools_hash
    from {{ ref('stg_conversations') }}
),

definitions as (
    select * from {{ ref('stg_tool_definitions') }}
),

calls as (
    select * from {{ ref('fct_tool_calls') }}
),

defined as (
    select
        conversations.source_config,
        definitions.tool_name,
        any_value(definitions.description) as description,
        count(distinct conversations.conversation_id) as n_conversations_offered
    from conversations
    inner join definitions
        on conversations.tools_hash = definitions.tools_hash
    group by all
),

called as (
    select
        source_config,
        tool_name,
        count(*) as n_calls,
        count(*) filter (where is_error) as n_errors,
        count(*) filter (where parse_issue is not null) as n_malformed_calls,
        count(distinct conversation_id) as n_conversations_using
    from calls
    where tool_name is not null
    group by all
),

config_sizes as (
    select
        source_config,
        count(*) as n_conversations
    from conversations
    group by all
),

tools as (
    select
        coalesce(defined.source_config, called.source_config) as source_config,
        coalesce(defined.tool_name, called.tool_name) as tool_name,
        defined.description,
        defined.tool_name is not null as is_defined,
        coalesce(defined.n_conversations_offered, 0) as n_conversations_offered,
        coalesce(called.n_calls, 0) as n_calls,
        coalesce(called.n_errors, 0) as n_errors,
        coalesce(called.n_malformed_calls, 0) as n_malformed_calls,
        coalesce(called.n_conversations_using, 0) as n_conversations_using
    from defined
    full outer join called
        on
            defined.source_config = called.source_config
            and defined.tool_name = called.tool_name
)

select
    {{ slash_key(['tools.source_config', 'tools.tool_name']) }} as tool_key,
    tools.*,
    case when tools.n_calls > 0 then tools.n_errors / tools.n_calls end as error_rate,
    tools.n_conversations_using / config_sizes.n_conversations as share_of_conversations
from tools
inner join config_sizes
    on tools.source_config = config_sizes.source_config
