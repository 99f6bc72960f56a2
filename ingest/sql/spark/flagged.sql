-- The flags every loadable row gets from its values, and its content hash (view judged).
select
    *,
    case when reason is null then concat(
        key_flags,
        case when tools is not null and try_parse_json(tools) is null then array('invalid_tools_json') else array() end,
        case
            when exists(turns, t -> t.`from` not in {{ known_roles | sql_tuple }})
                then array('unknown_role:' || array_join(array_sort(array_distinct(
                    transform(filter(turns, t -> t.`from` not in {{ known_roles | sql_tuple }}), t -> t.`from`)
                )), ','))
            else array()
        end
    ) end as ingest_flags,
    case when reason is null then lower(lpad(hex(xxhash64(category, subcategory, task, tools, turns)), 16, '0')) end
        as content_hash
from judged
