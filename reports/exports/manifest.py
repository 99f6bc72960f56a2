"""The manifest written beside each export: what went in, what came out and why, tokens, checksum."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from foundation.warehouse import one_row
from reports.exports.formats import ExportFormat
from reports.exports.selection import ExportOptions

THOUGHTS_NOTE = (
    "thoughts in the exported rows whose text appears in the rendered row; a template that drops earlier "
    "turns' thoughts (stock qwen3 keeps them only after the last user turn) loses the rest from training"
)
EXAMPLES = 20
# A trainer's max_length comes in these steps; TRL's SFTConfig defaults to the first.
MAX_LENGTH_STEP = 1024
COMMON_MAX_LENGTHS = (1024, 2048)


def recommended_max_length(longest_row: int | None) -> int | None:
    """The smallest multiple of 1,024 tokens that holds the longest row whole: nothing truncated
    and, with assistant-only loss, no row whose first trained token falls past the end (such a row
    is fully masked, and TRL drops it without a word). Shorter training: export with --max-tokens."""
    if not longest_row:
        return None
    return -(-longest_row // MAX_LENGTH_STEP) * MAX_LENGTH_STEP


def _token_stats(con: duckdb.DuckDBPyConnection, fmt: ExportFormat, options: ExportOptions) -> dict:
    if not options.tokenizer:
        return {"tokenizer": None, "chat_template": None}
    row = one_row(
        con,
        """
        select
            count(*), sum(total_tokens), avg(total_tokens), quantile_disc(total_tokens, 0.5),
            quantile_disc(total_tokens, 0.95), max(total_tokens), sum(trainable_tokens), avg(trainable_tokens),
            count(trainable_tokens), sum(thoughts), sum(thoughts_kept)
        from scratch.export_rows
        where exclusion_reason is null
        """,
    )
    # Shares over every row measured, including those --max-tokens then left out.
    measured = one_row(
        con,
        f"""
        select
            count(*), count(*) filter (where total_tokens > 8192), count(*) filter (where total_tokens > 32768),
            count(*) filter (where total_tokens > 131072), count(*) filter (where total_tokens > {int(options.max_tokens or 0)})
        from scratch.export_rows
        where total_tokens is not null and (exclusion_reason is null or exclusion_reason = 'over_max_tokens')
        """,
    )
    errors = con.execute(
        f"select sample_id, render_error from scratch.export_rows where render_error is not null order by sample_id limit {EXAMPLES}"
    ).fetchall()
    n_errors = one_row(con, "select count(*) from scratch.export_rows where render_error is not null")[0]
    templated = options.chat_template is not None and fmt.chat != "text"

    def share(n: int) -> float:
        return round(n / measured[0], 4) if measured[0] else 0.0

    stats = {
        "tokenizer": options.tokenizer,
        "chat_template": options.chat_template if templated else None,
        "counted_on": "the row rendered with the chat template" if templated else (
            "the prompt and response text" if fmt.chat == "text" else "the JSON line"
        ),
        "samples": row[0],
        "total_tokens": int(row[1] or 0),
        "mean_total_tokens": round(float(row[2] or 0), 1),
        "p50_total_tokens": row[3],
        "p95_total_tokens": row[4],
        "max_total_tokens": row[5],
        "recommended_max_length": recommended_max_length(row[5]),
        # Null where the template marks no assistant output ({% generation %}): nothing says what is trained.
        "trainable_tokens": int(row[6] or 0) if row[8] else None,
        "mean_trainable_tokens": round(float(row[7] or 0), 1) if row[8] else None,
        "share_over_8k_tokens": share(measured[1]),
        "share_over_32k_tokens": share(measured[2]),
        "share_over_128k_tokens": share(measured[3]),
        "thoughts": {
            "in_rows": int(row[9] or 0),
            "kept_by_template": int(row[10] or 0),
            "share_kept": round(int(row[10] or 0) / int(row[9]), 4) if row[9] else None,
            "note": THOUGHTS_NOTE,
        },
        "template_errors": {"rows": n_errors, "examples": [{"id": i, "error": e} for i, e in errors]},
    }
    if options.max_tokens:
        stats["max_tokens"] = options.max_tokens
        stats["over_max_tokens"] = measured[4]
        stats["share_over_max_tokens"] = share(measured[4])
    return stats


def _system_prompt_summary(con: duckdb.DuckDBPyConnection, options: ExportOptions) -> dict:
    """How the exported rows' system prompts were written, by the rule of --system-prompt."""
    counts = one_row(
        con,
        """
        select
            count(*) filter (where system_prompt_rewritten),
            count(*) filter (where system_prompt_rewritten and system_prompt_form = 'hermes_block_and_instructions'),
            count(*) filter (where system_prompt_form = 'not_recognised'),
            count(*) filter (where system_prompt_form = 'no_system_prompt'),
            count(*) filter (where has_unparsable_tools)
        from scratch.export_rows
        where exclusion_reason is null
        """,
    )
    unparsable = [
        i for (i,) in con.execute(
            "select sample_id from scratch.export_rows where exclusion_reason is null and has_unparsable_tools order by sample_id"
        ).fetchall()
    ]
    summary = {
        "mode": options.system_prompt,
        "rule": (
            "the Hermes tool-use block (preamble, <tools> list, FunctionCall schema, example call) is taken out of "
            "the system text and the definitions go in `tools`; other system text is kept; a prompt not recognised, "
            "or whose tools value does not parse, stays verbatim"
            if options.system_prompt == "structured"
            else "system text as in the source; no `tools`"
        ),
        "not_recognised": counts[2],
        "no_system_prompt": counts[3],
        "unparsable_tools": counts[4],
        "unparsable_tools_ids": unparsable,
    }
    if options.system_prompt == "structured":
        summary = {"mode": summary["mode"], "rule": summary["rule"], "rewritten": counts[0],
                   "rewritten_with_other_text_kept": counts[1], **{k: v for k, v in summary.items() if k not in ("mode", "rule")}}
    return summary


def _trailing_turns(con: duckdb.DuckDBPyConnection) -> dict:
    row = one_row(
        con,
        "select count(*) filter (where n_trailing_turns > 0), coalesce(sum(n_trailing_turns), 0) "
        "from scratch.export_rows where exclusion_reason is null",
    )
    return {
        "rule": "a training row ends on its last assistant turn; the turns after it are dropped",
        "rows_trimmed": row[0],
        "turns_dropped": int(row[1]),
    }


def warnings_of(manifest: dict) -> list[str]:
    """What a user should hear about before training on the file."""
    found = []
    prompts = manifest.get("system_prompt", {})
    if prompts.get("not_recognised"):
        found.append(
            f"{prompts['not_recognised']} rows have a system prompt without the Hermes tool-use block; "
            "they keep it verbatim (no `tools` where it lists tools itself)"
        )
    if prompts.get("unparsable_tools"):
        found.append(f"{prompts['unparsable_tools']} rows have a tools value that does not parse; they keep their system prompt verbatim")
    tokens = manifest.get("tokens", {})
    if tokens.get("template_errors", {}).get("rows"):
        found.append(f"{tokens['template_errors']['rows']} rows could not be rendered with {tokens['chat_template']} and were left out")
    thoughts = tokens.get("thoughts", {})
    if thoughts.get("share_kept") is not None and thoughts["share_kept"] < 1:
        found.append(
            f"{tokens['chat_template']} keeps {thoughts['share_kept']:.0%} of the rows' thoughts in what it renders"
        )
    if tokens.get("chat_template") and tokens.get("trainable_tokens") is None:
        found.append(f"{tokens['chat_template']} marks no assistant output ({{% generation %}}); trainable tokens are not counted")
    if (tokens.get("p50_total_tokens") or 0) > COMMON_MAX_LENGTHS[0]:
        found.append(
            f"half the rows are over {tokens['p50_total_tokens']:,} tokens, longer than a max_length of "
            f"{' or '.join(f'{n:,}' for n in COMMON_MAX_LENGTHS)} (TRL's default is {COMMON_MAX_LENGTHS[0]:,}): the trainer cuts them, "
            f"and with assistant-only loss drops a row whose first trained token falls past the cut; set max_length "
            f"to {tokens['recommended_max_length']:,} (the longest row) or export with --max-tokens N"
        )
    return found


def _source_summary(con: duckdb.DuckDBPyConnection, db: Path) -> dict:
    rows = con.execute(
        "select source_config, count(*) from raw.conversations group by 1 order by 1"
    ).fetchall()
    return {"warehouse": str(db), "rows_by_config": dict(rows)}


def compose_manifest(
    con: duckdb.DuckDBPyConnection,
    db: Path,
    fmt: ExportFormat,
    options: ExportOptions,
    file_name: str,
    sha256: str | None,
    redactions: dict[str, int],
    ids_file: str | None = None,
    source: dict | None = None,
) -> dict:
    """The manifest of one export from its verdicts (``scratch.export_rows``); ``source``
    describes the warehouse when ``con`` does not hold it (an export on Spark)."""
    counts = one_row(
        con, "select count(*), count(*) filter (where exclusion_reason is null) from scratch.export_rows"
    )
    excluded = dict(
        con.execute(
            "select exclusion_reason, count(*) from scratch.export_rows where exclusion_reason is not null group by 1 order by 1"
        ).fetchall()
    )
    manifest = {
        "format": fmt.name,
        "file": file_name,
        "ids_file": ids_file,
        "unit": fmt.level,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "filters": asdict(options),
        "source": source or _source_summary(con, db),
        "rows_in": counts[0],
        "rows_out": counts[1],
        "excluded": excluded,
        "redactions": redactions,
        "system_prompt": _system_prompt_summary(con, options) if fmt.chat != "text" else {
            "mode": "verbatim", "rule": "prompt-response is plain text with role markers: system text as in the source"
        },
        "trailing_turns": _trailing_turns(con),
        "tokens": _token_stats(con, fmt, options),
        "malformed_calls": (
            "conversations or turns with a malformed call are excluded"
            if options.exclude_malformed
            else "malformed calls and their responses are left out of structured tool_calls; "
            "such assistant turns get weight 0 (openai) or are not used as completions"
        ),
        "sha256": sha256,
    }
    manifest["warnings"] = warnings_of(manifest)
    return manifest


def manifest_text(manifest: dict) -> str:
    return json.dumps(manifest, indent=2) + "\n"


def write_manifest(
    con: duckdb.DuckDBPyConnection,
    db: Path,
    fmt: ExportFormat,
    options: ExportOptions,
    data_path: Path,
    manifest_path: Path,
    sha256: str,
    redactions: dict[str, int],
    ids_path: Path | None = None,
    source: dict | None = None,
) -> dict:
    """Write the manifest of one export (see ``compose_manifest``) beside its file."""
    manifest = compose_manifest(
        con, db, fmt, options, data_path.name, sha256, redactions, ids_path.name if ids_path else None, source
    )
    manifest_path.write_text(manifest_text(manifest), encoding="utf-8")
    return manifest
