{#-
    Fails for every null or repeated value of `column_name`: unique and not_null in one pass,
    for views where each pass recomputes the view.
-#}
{% test primary_key(model, column_name) %}

with

counts as (
    select
        {{ column_name }} as key_value,
        count(*) as n_rows
    from {{ model }}
    group by {{ column_name }}
)

select * from counts
where key_value is null or n_rows > 1

{% endtest %}
