-- How many messages does a conversation have, per model?
select
    source_config,
    n_messages,
    n_conversations
from {{ ref('rpt_conversation_lengths') }}
order by source_config, n_messages
