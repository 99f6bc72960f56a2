{#-
    Fails for every null or repeated key: unique and not_null in one pass (for views, where
    each pass recomputes the view). The key is the column the test is attached to, or the
    model-level `columns` list, where a null in any of them fails.
-#}
{% test primary_key(model, column_name=none, columns=none) %}

with

counts as (
    select
        {{ (columns or [column_name]) | join(', ') }},
        count(*) as n_rows
    from {{ model }}
    group by {{ (columns or [column_name]) | join(', ') }}
)

select * from counts
where n_rows > 1 or {{ (columns or [column_name]) | join(' is null or ') }} is null

{% endtest %}
