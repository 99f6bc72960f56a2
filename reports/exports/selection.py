"""Which samples an export keeps and why not, decided inside DuckDB, and the batches it is written in.

Payloads are never materialised here: token counts and content hashes are computed batch by batch
and only the per-sample verdicts are kept in ``scratch.export_rows``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import duckdb

from foundation.errors import ExportError
from foundation.warehouse import sql_literal
from reports.exports.formats import DEFAULT_SYSTEM_PROMPT, ExportFormat
from reports.exports.templates import DEFAULT_CHAT_TEMPLATE
from reports.exports.tokens import DEFAULT_TOKENIZER


@dataclass
class ExportOptions:
    configs: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    exclude_malformed: bool = True
    exclude_loops: bool = False
    exclude_unfinished: bool = False
    # Conversations with a call the schema check flags (fct_tool_calls.schema_issue).
    drop_schema_violations: bool = False
    min_tool_calls: int | None = None
    # None, "exact" (same exported content), "near" (one conversation per trajectory cluster) or
    # "task" (at most per_task per task cluster); clusters from dim_near_duplicate_clusters.
    dedup: str | None = None
    per_task: int = 1
    max_tokens: int | None = None
    tokenizer: str | None = DEFAULT_TOKENIZER
    chat_template: str | None = DEFAULT_CHAT_TEMPLATE
    system_prompt: str = DEFAULT_SYSTEM_PROMPT
    redact: bool = False
    validation_share: float = 0.02
    # The hub repo id the hub folder will be uploaded as: its examples and card load it by that name.
    hub_name: str | None = None
    # Labels from the label file beside the warehouse (foundation/labels.py).
    labels: list[str] = field(default_factory=list)
    exclude_labels: list[str] = field(default_factory=list)
    # The saved view (`traces serve`) whose conversations are exported; its conversations are
    # passed to the export itself, this names it in the manifest.
    view: str | None = None

    def __post_init__(self) -> None:
        if self.dedup is True:  # the flag's old meaning
            self.dedup = "exact"
        if self.dedup is False:
            self.dedup = None
        if self.dedup not in DEDUP_MODES:
            raise ExportError(f"--dedup {self.dedup}: use one of {', '.join(m for m in DEDUP_MODES if m)}")
        if self.per_task < 1:
            raise ExportError(f"--per-task {self.per_task}: keep at least one conversation per task cluster")

    @property
    def selects_by_label_or_view(self) -> bool:
        return bool(self.labels or self.exclude_labels or self.view)

    @property
    def dedups_by_cluster(self) -> bool:
        return self.dedup in ("near", "task")


DEDUP_MODES = (None, "exact", "near", "task")


def _contains(values: list[str], column: str, engine: str) -> str:
    """SQL that is true when ``column`` is one of ``values``, in DuckDB's or Spark's words."""
    literals = ", ".join(sql_literal(v) for v in values)
    if engine == "spark":
        return f"array_contains(array({literals}), {column})"
    return f"list_contains([{literals}], {column})"


def selection_table(name: str, engine: str) -> str:
    """Where the export's selection tables are: DuckDB's scratch schema, Spark's session views."""
    return name if engine == "spark" else f"scratch.{name}"


def _labelled(labels: list[str], engine: str) -> str:
    literals = ", ".join(sql_literal(label) for label in labels)
    return f"select conversation_seq from {selection_table('export_labelled', engine)} where label in ({literals})"


def exclusion_case(fmt: ExportFormat, options: ExportOptions, engine: str = "duckdb") -> str:
    """The first reason a row is left out, or null; order is the order the manifest reports."""
    rules: list[tuple[str, str]] = []
    if fmt.level == "conversation":
        rules.append(("not sft.has_messages", "no_messages"))
        rules.append(("not sft.has_assistant_turn", "no_assistant_turn"))
    if options.configs:
        rules.append((f"not {_contains(options.configs, 'sft.source_config', engine)}", "config_not_selected"))
    if options.categories:
        rules.append((f"not {_contains(options.categories, 'sft.category', engine)}", "category_not_selected"))
    if options.view:
        chosen = selection_table("export_chosen", engine)
        rules.append((f"sft.conversation_seq not in (select conversation_seq from {chosen})", "not_in_view"))
    if options.labels:
        rules.append((f"sft.conversation_seq not in ({_labelled(options.labels, engine)})", "label_not_selected"))
    if options.exclude_labels:
        rules.append((f"sft.conversation_seq in ({_labelled(options.exclude_labels, engine)})", "excluded_label"))
    if options.exclude_malformed:
        rules.append(("sft.has_malformed_call", "malformed_call"))
    if fmt.structured:
        rules.append(("sft.has_unpaired_call", "unpaired_tool_call"))
    if fmt.name == "openai":
        rules.append(("sft.has_reasoning_only_turn", "reasoning_only_turn"))
    if fmt.name == "sharegpt":
        rules.append(("sft.breaks_alternation", "breaks_llamafactory_alternation"))
    if options.exclude_loops:
        rules.append(("sft.has_stuck_loop", "stuck_loop"))
    if options.exclude_unfinished:
        rules.append(("sft.is_unfinished", "unfinished"))
    if options.drop_schema_violations:
        rules.append(("sft.has_schema_violation", "schema_violation"))
    if options.min_tool_calls:
        rules.append((f"sft.n_tool_calls < {int(options.min_tool_calls)}", "too_few_tool_calls"))
    if not rules:
        return "cast(null as string)" if engine == "spark" else "null::varchar"
    whens = "\n".join(f"        when {condition} then '{reason}'" for condition, reason in rules)
    return f"case\n{whens}\n    end"


# A batch is a range of conversations whose text, as the format renders it, fits a budget:
# aggregating whole conversations holds them in memory, and real conversations run from 20 KB
# to 350 KB; a turn-level row repeats the conversation so far, so a turn-level batch of 100
# real-shaped conversations (70 MB of prompts) ran out of memory at 1 GB. Every pass over an
# sft_ view runs on one such range (the filter reaches the table scans).
BATCH_CHARS = 24_000_000
# ... and at most this many conversations: each is a group in the batch's aggregates.
BATCH_CONVERSATIONS = 500


def rendered_chars(fmt: ExportFormat) -> str:
    """A conversation's text as ``fmt`` writes it, in characters, estimated from the mart: a
    turn-level format repeats the system prompt and, on average, half the conversation per turn."""
    if fmt.level == "conversation":
        return "c.n_message_chars + coalesce(length(p.system_prompt), 0)"
    return "c.n_message_chars + c.n_assistant_turns * (coalesce(length(p.system_prompt), 0) + c.n_message_chars // 2)"


def kept(alias: str = "sft") -> str:
    return f"{alias}.sample_id in (select sample_id from scratch.export_rows where exclusion_reason is null)"


def batches(con: duckdb.DuckDBPyConnection, fmt: ExportFormat) -> list[str]:
    """Filters selecting consecutive ranges of the rows still kept, in output (ingest) order,
    each within BATCH_CHARS of rendered text and BATCH_CONVERSATIONS conversations.

    Ranges of conversation_seq, not of ids: every table keeps ingest order, so a range is a few
    row groups of each, whatever the ids look like. Ranges of random ids read every row group of
    raw for each batch (60,000 rows: export 112 s instead of 33 s).
    """
    sizes = con.execute(
        f"""
        with kept as (
            select distinct conversation_seq from scratch.export_rows where exclusion_reason is null
        )
        select kept.conversation_seq, {rendered_chars(fmt)}
        from kept
        inner join fct_conversations as c on kept.conversation_seq = c.conversation_seq
        left join staging.stg_system_prompts as p on c.system_prompt_hash = p.system_prompt_hash
        order by kept.conversation_seq
        """
    ).fetchall()
    ranges: list[tuple[int, int]] = []
    chars = count = 0
    for seq, size in sizes:
        if count and (chars + size > BATCH_CHARS or count >= BATCH_CONVERSATIONS):
            chars = count = 0
        if count == 0:
            ranges.append((seq, seq))
        ranges[-1] = (ranges[-1][0], seq)
        chars += size
        count += 1
    return [f"sft.conversation_seq between {lo} and {hi}" for lo, hi in ranges]


def stage_rows(
    con: duckdb.DuckDBPyConnection, fmt: ExportFormat, options: ExportOptions, measure: Callable[[], None] | None = None
) -> None:
    """Decide, per sample, whether it is exported and why not; payloads are never materialised.

    Conversation-sized strings held in a DuckDB table cost far more memory than their length,
    so payloads are only computed batch by batch while streaming into the file, hashes or token counts.
    ``measure``: fills ``scratch.export_measures`` for the rows kept by the rules (spool.py renders
    and counts each line as it writes it); a row the chat template cannot render is then left out
    as ``template_error``, one over --max-tokens as ``over_max_tokens``.
    """
    con.execute(
        f"""
        create or replace table scratch.export_rows as
        select
            sft.sample_id,
            sft.conversation_seq,
            {exclusion_case(fmt, options)} as exclusion_reason,
            {"sft.n_trailing_turns" if fmt.level == "conversation" else "0"} as n_trailing_turns,
            sft.system_prompt_form,
            sft.system_prompt_rewritten,
            sft.has_unparsable_tools,
            null::bigint as total_tokens,
            null::bigint as trainable_tokens,
            null::integer as thoughts,
            null::integer as thoughts_kept,
            null::varchar as render_error
        from {fmt.model} as sft
        """
    )
    if measure is not None:
        measure()
        apply_measures(con, options)
    if options.dedups_by_cluster:
        mark_near_duplicates(con, options)
    if options.dedup == "exact":
        payload = " || chr(31) || ".join(
            f"coalesce(({sql})::varchar, '')" for field, sql in fmt.fields_in(options.system_prompt) if field.key != "id"
        )
        con.execute("create or replace table scratch.export_hashes (sample_id varchar, content_hash varchar)")
        for batch in batches(con, fmt):
            con.execute(
                f"""
                insert into scratch.export_hashes
                select sft.sample_id, md5({payload}) from {fmt.model} as sft where {batch} and {kept()}
                """
            )
        mark_duplicates(con)


def apply_measures(con: duckdb.DuckDBPyConnection, options: ExportOptions) -> None:
    """Copy each measured row's figures (``scratch.export_measures``) onto its verdict: a row the
    template cannot render is left out as ``template_error``, one over --max-tokens as ``over_max_tokens``."""
    con.execute(
        """
        update scratch.export_rows as r
        set total_tokens = m.total_tokens, trainable_tokens = m.trainable_tokens, thoughts = m.thoughts,
            thoughts_kept = m.thoughts_kept, render_error = m.render_error,
            exclusion_reason = case when m.render_error is not null then 'template_error' else r.exclusion_reason end
        from scratch.export_measures as m
        where r.sample_id = m.sample_id
        """
    )
    if options.max_tokens:
        con.execute(
            f"""
            update scratch.export_rows set exclusion_reason = 'over_max_tokens'
            where exclusion_reason is null and total_tokens > {int(options.max_tokens)}
            """
        )


def mark_duplicates(con: duckdb.DuckDBPyConnection) -> None:
    """Of the kept rows with the same content (``scratch.export_hashes``), all but the first id are duplicates."""
    con.execute(
        """
        update scratch.export_rows set exclusion_reason = 'duplicate'
        where sample_id in (
            select sample_id from (
                select
                    sample_id,
                    row_number() over (partition by content_hash order by sample_id) as copy_number
                from scratch.export_hashes
            )
            where copy_number > 1
        )
        """
    )


def mark_near_duplicates(con: duckdb.DuckDBPyConnection, options: ExportOptions) -> None:
    """Of the conversations still kept, each trajectory cluster keeps its first (``near``), each
    task cluster its first ``per_task`` (``task``), in the cluster's keep order
    (dim_near_duplicate_clusters: no tool error, a final answer, fewest messages, key). A
    conversation without a cluster (no words) is kept. Chosen among the rows still kept, so a
    member another filter left out does not take its cluster with it."""
    kind, allowed, reason = ("trajectory", 1, "near_duplicate") if options.dedup == "near" else ("task", options.per_task, "over_per_task")
    con.execute(
        f"""
        update scratch.export_rows set exclusion_reason = '{reason}'
        where exclusion_reason is null and conversation_seq in (
            select conversation_seq from (
                select
                    kept.conversation_seq,
                    row_number() over (
                        partition by coalesce(clusters.{kind}_cluster_id, kept.conversation_seq::varchar)
                        order by clusters.{kind}_keep_rank, kept.conversation_seq
                    ) as place
                from (select distinct conversation_seq from scratch.export_rows where exclusion_reason is null) as kept
                inner join dim_near_duplicate_clusters as clusters on kept.conversation_seq = clusters.conversation_seq
            )
            where place > {int(allowed)}
        )
        """
    )
