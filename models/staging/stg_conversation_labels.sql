{#-
    The labels people gave conversations (`traces serve`, `traces labels import`), from the label
    file beside the warehouse: it is not a source table, it is never inside the warehouse, so a
    rebuild or a new warehouse keeps every label. The file also holds saved views; not read here.
-#}
with

label_file as (
    {{ read_label_file() }}
),

labels as (
    select
        source_config,
        conversation_id,
        label,
        nullif(note, '') as note,
        cast(labelled_at as timestamp) as labelled_at
    from label_file
    where kind = 'label'
)

select * from labels
