{#- Fails for every combination of `columns` that appears more than once. -#}
{% test unique_combination(model, columns) %}

with

counts as (
    select
        {{ columns | join(', ') }},
        count(*) as n_rows
    from {{ model }}
    group by {{ columns | join(', ') }}
)

select * from counts
where n_rows > 1

{% endtest %}
