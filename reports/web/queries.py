"""What the trace browser reads: the conversation list with its filters, and one conversation.

Every filter is a warehouse column (or a search over warehouse text) and every value reaches
DuckDB as a bound parameter; only whitelisted column names are written into the SQL.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

import duckdb

from foundation.warehouse import one_row

PAGE_SIZE = 50

SORTABLE = (
    "conversation_seq",
    "n_messages",
    "n_tool_calls",
    "n_tool_errors",
    "n_thoughts",
    "n_message_chars",
    "max_parallel_width",
    "category",
)

# URL flag -> the fct_conversations predicate it stands for.
FLAGS = {
    "has_error": "n_tool_errors > 0",
    "recovered": "recovered_after_error",
    "stuck_loop": "has_stuck_loop",
    "iteration_limit": "hit_iteration_limit",
    "malformed": "n_malformed_calls > 0",
    "no_final_answer": "not has_final_answer",
    # Not the member its trajectory cluster keeps (what `traces export --dedup near` leaves out).
    "near_duplicate": "conversation_seq in (select conversation_seq from dim_near_duplicate_clusters where not is_trajectory_kept)",
    "schema_violation": (
        "conversation_seq in (select conversation_seq from fct_tool_calls where schema_issue in "
        "('unknown_tool', 'missing_required', 'unexpected_argument', 'wrong_type', 'enum_violation'))"
    ),
}

LIST_COLUMNS = (
    "source_config, conversation_id, conversation_seq, category, subcategory, task, n_messages, n_tool_calls, "
    "n_tool_errors, n_malformed_calls, n_thoughts, max_parallel_width, n_message_chars, hit_iteration_limit, has_stuck_loop, "
    "recovered_after_error, has_final_answer, last_role"
)


class BadFilter(ValueError):
    """A query-string value that cannot be used (e.g. ``min_calls=abc``)."""


def _integer(value: str | None, name: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        number = int(value)
    except ValueError as exc:
        raise BadFilter(f"{name} must be a whole number, got {value!r}") from exc
    if number < 0:
        raise BadFilter(f"{name} must not be negative, got {number}")
    return number


@dataclass(frozen=True)
class ConversationFilters:
    config: str = ""
    category: str = ""
    subcategory: str = ""
    tool: str = ""
    q: str = ""
    label: str = ""
    signature: str = ""
    cluster: str = ""
    flags: tuple[str, ...] = ()
    min_calls: int | None = None
    max_calls: int | None = None
    sort: str = "conversation_seq"
    order: str = "asc"
    page: int = 1

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> ConversationFilters:
        sort = args.get("sort") or "conversation_seq"
        if sort not in SORTABLE:
            raise BadFilter(f"sort must be one of {', '.join(SORTABLE)}, got {sort!r}")
        order = args.get("order") or "asc"
        if order not in ("asc", "desc"):
            raise BadFilter(f"order must be asc or desc, got {order!r}")
        return cls(
            config=args.get("config", "").strip(),
            category=args.get("category", "").strip(),
            subcategory=args.get("subcategory", "").strip(),
            tool=args.get("tool", "").strip(),
            q=args.get("q", "").strip(),
            label=args.get("label", "").strip(),
            signature=args.get("signature", "").strip(),
            cluster=args.get("cluster", "").strip(),
            flags=tuple(flag for flag in FLAGS if args.get(flag) in ("1", "true", "on", "yes")),
            min_calls=_integer(args.get("min_calls"), "min_calls"),
            max_calls=_integer(args.get("max_calls"), "max_calls"),
            sort=sort,
            order=order,
            page=max(_integer(args.get("page"), "page") or 1, 1),
        )

    def as_args(self, **changes: Any) -> dict[str, str]:
        """The query string that reproduces these filters (with ``changes``), defaults left out."""
        values = {f.name: getattr(self, f.name) for f in fields(self)} | changes
        args: dict[str, str] = {}
        for name, value in values.items():
            if name == "flags":
                args.update({flag: "1" for flag in value})
            elif value not in (None, "", ()) and value != getattr(ConversationFilters, name, None):
                args[name] = str(value)
        return args


@dataclass(frozen=True)
class Lookups:
    """What filters need from outside the warehouse (reports/web/selection.py fills it in)."""

    # The conversations with the filter's label, as ``source_config || chr(31) || conversation_id``.
    labelled: tuple[str, ...] = ()
    # The conversation_seq of the conversations matching ``q`` in the search index; None: scan the text.
    text_matches: frozenset[int] | None = None


KEY = "source_config || chr(31) || conversation_id"


def conversation_key(source_config: str, conversation_id: str) -> str:
    """The list's key of a conversation, as ``KEY`` computes it in SQL."""
    return f"{source_config}\x1f{conversation_id}"


def _where(filters: ConversationFilters, lookups: Lookups = Lookups()) -> tuple[str, dict[str, Any]]:
    clauses: list[str] = []
    params: dict[str, Any] = {}
    if filters.label:
        clauses.append(f"{KEY} in (select unnest($labelled))")
        params["labelled"] = list(lookups.labelled)
    for name in ("config", "category", "subcategory"):
        value = getattr(filters, name)
        if value:
            column = "source_config" if name == "config" else name
            clauses.append(f"{column} = ${name}")
            params[name] = value
    clauses.extend(FLAGS[flag] for flag in filters.flags)
    if filters.min_calls is not None:
        clauses.append("n_tool_calls >= $min_calls")
        params["min_calls"] = filters.min_calls
    if filters.max_calls is not None:
        clauses.append("n_tool_calls <= $max_calls")
        params["max_calls"] = filters.max_calls
    if filters.tool:
        clauses.append("conversation_seq in (select conversation_seq from fct_tool_calls where tool_name = $tool)")
        params["tool"] = filters.tool
    if filters.signature:
        clauses.append("conversation_seq in (select conversation_seq from fct_tool_responses where error_signature = $signature)")
        params["signature"] = filters.signature
    if filters.cluster:
        clauses.append(
            "conversation_seq in (select conversation_seq from dim_near_duplicate_clusters "
            "where task_cluster_id = $cluster or trajectory_cluster_id = $cluster)"
        )
        params["cluster"] = filters.cluster
    if filters.q and lookups.text_matches is not None:
        clauses.append("conversation_seq in (select unnest($text_matches))")
        params["text_matches"] = sorted(lookups.text_matches)
    elif filters.q:
        # Without a current search index (reports/web/search.py): a scan of the text (no full-text index: DuckDB's fts extension cannot be installed
        # offline); conversation_seq keys each conversation in one integer. Smart case, as in
        # ripgrep: a query with a capital letter matches case exactly, which needs no lower()
        # of the text and scans about four times as fast.
        if filters.q != filters.q.lower():
            match, params["needle"] = "contains({column}, $needle)", filters.q
        else:
            match, params["needle"] = "contains(lower({column}), $needle)", filters.q
        clauses.append(
            "(" + match.format(column="task")
            + " or conversation_seq in (select conversation_seq from fct_thoughts where "
            + match.format(column="thought_raw") + ")"
            + " or conversation_seq in (select conversation_seq from fct_tool_responses where "
            + match.format(column="content") + "))"
        )
    return (" where " + " and ".join(clauses)) if clauses else "", params


@dataclass
class ConversationPage:
    rows: list[dict]
    total: int
    page: int
    pages: int
    seconds: float


def _dicts(cursor: duckdb.DuckDBPyConnection) -> list[dict]:
    columns = [d[0] for d in cursor.description]
    return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def list_conversations(
    con: duckdb.DuckDBPyConnection, filters: ConversationFilters, lookups: Lookups = Lookups()
) -> ConversationPage:
    started = time.perf_counter()
    where, params = _where(filters, lookups)
    # Filtered once (a text search reads every thought and tool output), then counted and paged.
    con.execute(f"create or replace temp table listed as select {LIST_COLUMNS} from fct_conversations{where}", params)
    total = one_row(con, "select count(*) from listed")[0]
    pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    page = min(filters.page, pages)
    tiebreak = "" if filters.sort == "conversation_seq" else ", conversation_seq"
    rows = _dicts(
        con.execute(
            f"select * from listed "
            f"order by {filters.sort} {filters.order}{tiebreak} limit {PAGE_SIZE} offset {(page - 1) * PAGE_SIZE}"
        )
    )
    return ConversationPage(rows, total, page, pages, time.perf_counter() - started)


def matching_conversations(
    con: duckdb.DuckDBPyConnection, filters: ConversationFilters, lookups: Lookups = Lookups()
) -> list[tuple[str, str]]:
    """Every conversation the list shows for these filters, in list order, as (config, id)."""
    where, params = _where(filters, lookups)
    tiebreak = "" if filters.sort == "conversation_seq" else ", conversation_seq"
    rows = con.execute(
        f"select source_config, conversation_id from fct_conversations{where} order by {filters.sort} {filters.order}{tiebreak}",
        params,
    ).fetchall()
    return [(config, conversation_id) for config, conversation_id in rows]


@dataclass
class ReviewPosition:
    next_conversation: tuple[str, str] | None
    reviewed: int
    total: int


def review_position(
    con: duckdb.DuckDBPyConnection, filters: ConversationFilters, lookups: Lookups, labelled: set[str]
) -> ReviewPosition:
    """The first conversation (in list order) the filters select that has no label yet, and how many have one."""
    matching = matching_conversations(con, filters, lookups)
    reviewed = sum(1 for key in matching if conversation_key(*key) in labelled)
    upcoming = next((key for key in matching if conversation_key(*key) not in labelled), None)
    return ReviewPosition(upcoming, reviewed, len(matching))


def filter_choices(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    """The values the list's drop-downs offer."""
    def values(sql: str) -> list[str]:
        return [r[0] for r in con.execute(sql).fetchall() if r[0] is not None]

    return {
        "config": values("select distinct source_config from fct_conversations order by 1"),
        "category": values("select distinct category from fct_conversations order by 1"),
        "tool": values("select tool_name from dim_tools where n_calls > 0 group by 1 order by sum(n_calls) desc, 1"),
    }


# Display only: the text of an assistant turn outside its <think> and <tool_call> blocks, an
# unclosed block running to the end (the parsing itself is SQL, in macros/parsing.sql).
_BLOCKS = re.compile(r"<(think|tool_call)>.*?(?:</\1>|\Z)", re.DOTALL)


def text_outside_blocks(content: str | None) -> str:
    return _BLOCKS.sub("", content or "").strip()


def pretty_json(text: str | None) -> str:
    if text is None:
        return ""
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except (ValueError, TypeError):
        return text


@dataclass
class Turn:
    message_index: int
    role: str
    raw_role: str
    content: str | None
    text: str = ""
    thoughts: list[dict] = field(default_factory=list)
    calls: list[dict] = field(default_factory=list)
    orphans: list[dict] = field(default_factory=list)
    responses: list[dict] = field(default_factory=list)


@dataclass
class Conversation:
    summary: dict
    system_prompt: str | None
    tools_json: str | None
    turns: list[Turn]


NEAR_DUPLICATES_SHOWN = 10


def near_duplicates(con: duckdb.DuckDBPyConnection, conversation_seq: int) -> list[dict]:
    """The conversation's near-duplicate clusters with two members or more (task, trajectory): the
    cluster, its size, whether this one is the member kept, and up to NEAR_DUPLICATES_SHOWN other
    members, most similar first (estimated Jaccard: the share of equal signature values)."""
    try:
        clusters = _dicts(
            con.execute(
                "select 'task' as text_kind, task_cluster_id as cluster_id, task_cluster_size as cluster_size, "
                "is_task_kept as is_kept from dim_near_duplicate_clusters where conversation_seq = $seq "
                "union all select 'trajectory', trajectory_cluster_id, trajectory_cluster_size, is_trajectory_kept "
                "from dim_near_duplicate_clusters where conversation_seq = $seq",
                {"seq": conversation_seq},
            )
        )
    except duckdb.CatalogException:  # a warehouse built before near-duplicates, or not on DuckDB
        return []
    shown = []
    for cluster in clusters:
        if cluster["cluster_id"] is None or cluster["cluster_size"] < 2:
            continue
        kind = cluster["text_kind"]
        cluster["members"] = _dicts(
            con.execute(
                f"""
                with this_text as (
                    select signature from intermediate.int_near_duplicate_signatures
                    where conversation_seq = $seq and text_kind = $kind
                ),
                members as (
                    select conversation_seq, source_config, conversation_id, {kind}_keep_rank as keep_rank
                    from dim_near_duplicate_clusters
                    where {kind}_cluster_id = $cluster and conversation_seq <> $seq
                )
                select
                    members.source_config,
                    members.conversation_id,
                    members.keep_rank = 1 as is_kept,
                    round(len(list_filter(list_zip(this_text.signature, other.signature), lambda p: p[1] = p[2]))
                        / len(this_text.signature), 2) as similarity
                from members
                inner join intermediate.int_near_duplicate_signatures as other
                    on other.conversation_seq = members.conversation_seq and other.text_kind = $kind
                cross join this_text
                order by similarity desc, members.keep_rank
                limit {NEAR_DUPLICATES_SHOWN}
                """,
                {"seq": conversation_seq, "kind": kind, "cluster": cluster["cluster_id"]},
            )
        )
        shown.append(cluster)
    return shown


def conversation_exists(con: duckdb.DuckDBPyConnection, source_config: str, conversation_id: str) -> bool:
    return con.execute(
        "select count(*) from fct_conversations where source_config = $config and conversation_id = $id",
        {"config": source_config, "id": conversation_id},
    ).fetchone() != (0,)


def load_conversation(con: duckdb.DuckDBPyConnection, source_config: str, conversation_id: str) -> Conversation | None:
    found = _dicts(
        con.execute(
            "select * from fct_conversations where source_config = $config and conversation_id = $id",
            {"config": source_config, "id": conversation_id},
        )
    )
    if not found:
        return None
    summary = found[0]
    # conversation_seq keeps every table in ingest order, so this key prunes row groups.
    key = {"seq": summary["conversation_seq"]}
    messages = _dicts(
        con.execute(
            "select message_index, role, raw_role, content from staging.stg_messages "
            "where conversation_seq = $seq order by message_index",
            key,
        )
    )
    thoughts = _dicts(
        con.execute(
            "select message_index, thought_index, thought, n_chars, is_empty, is_unclosed, position "
            "from fct_thoughts where conversation_seq = $seq order by message_index, thought_index",
            key,
        )
    )
    calls = _dicts(
        con.execute(
            "select message_index, call_index, tool_name, arguments, call_text, is_valid_json, is_closed, parse_issue, "
            "missing_arguments, tool_call_id, has_response, response_message_index, is_error, error_type, "
            "is_name_mismatch, schema_issue, schema_issue_argument from fct_tool_calls where conversation_seq = $seq order by message_index, call_index",
            key,
        )
    )
    responses = _dicts(
        con.execute(
            "select message_index, response_index, tool_call_id, tool_name, is_error, error_type, error_signature, budget_warning, "
            "content, call_message_index, call_index, is_orphan, is_name_mismatch "
            "from fct_tool_responses where conversation_seq = $seq order by message_index, response_index",
            key,
        )
    )
    system_prompt = con.execute(
        "select system_prompt from staging.stg_system_prompts where system_prompt_hash = $hash",
        {"hash": summary["system_prompt_hash"]},
    ).fetchone()
    tools = con.execute(
        "select tools_json from staging.stg_toolsets where tools_hash = $hash", {"hash": summary["tools_hash"]}
    ).fetchone()

    turns = {m["message_index"]: Turn(**m) for m in messages}
    paired = {(r["call_message_index"], r["call_index"]): r for r in responses if not r["is_orphan"]}
    for thought in thoughts:
        turns[thought["message_index"]].thoughts.append(thought)
    for call in calls:
        call["pretty_arguments"] = pretty_json(call["arguments"]) if call["is_valid_json"] else call["call_text"]
        call["response"] = paired.get((call["message_index"], call["call_index"]))
        if call["response"] is not None:
            call["response"]["pretty_content"] = pretty_json(call["response"]["content"])
        turns[call["message_index"]].calls.append(call)
    for response in responses:
        turns[response["message_index"]].responses.append(response)
        if response["is_orphan"]:
            response["pretty_content"] = pretty_json(response["content"])
            turns[response["message_index"]].orphans.append(response)
    for turn in turns.values():
        if turn.role == "assistant":
            turn.text = text_outside_blocks(turn.content)
    return Conversation(
        summary, system_prompt[0] if system_prompt else None, pretty_json(tools[0]) if tools else None,
        [turns[i] for i in sorted(turns)],
    )
