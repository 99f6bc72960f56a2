-- The turns as given of the conversations whose conversation_seq is in seqs (a subquery).
{% from "_expressions.sql" import turns_as_given -%}
{{ turns_as_given(seqs) }}
