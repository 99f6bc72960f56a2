"""The explorer's web app over the warehouse (report, conversation list, trace view, search,
compare, labels, review queue, saved views); ``traces serve`` starts it (cli/serve.py).

Each request opens the warehouse read-only and closes it before answering, so the app never
holds the file between requests: a build can take it, and the next request sees its data. While
an ingest or build has its turn (foundation/turns.py) no request opens the file, so the writer
waits only for the requests under way. Meanwhile search (its own index), the report pages (as
last read) and label writes (their own file) keep answering; pages that must read the warehouse
answer 503 with Retry-After and reload themselves. The app writes only the label file beside the
warehouse (labels and saved views) and the search index; never the warehouse.

Writes are POSTs carrying a token only this server's pages hold (CSRF), and every request must
name this server in its Host (no DNS rebinding) and, when a browser sends one, in its Origin.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import shutil
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import duckdb
from flask import Flask, Response, abort, redirect, render_template, request, send_file, url_for
from markupsafe import Markup

from foundation import warehouse
from foundation.errors import ExportError, LabelError, SearchIndexError, WarehouseBeingWritten, WarehouseInUse
from reports.pages import PAGES
from reports.web import compare as comparing
from reports.web import queries, report
from reports.web.indexing import BackgroundIndexer
from reports.web.search import FIELDS as SEARCH_FIELDS
from reports.web.selection import Explorer, filters_from_query

RETRY_SECONDS = 5
# warehouse_version(): what a chart's URL may name as the version it was drawn for.
VERSION = re.compile(r"[0-9a-f]{12}")
# Trace text is untrusted: no script runs on any page, and nothing loads from elsewhere.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; img-src 'self'; style-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)


# The names this server answers to unless told more (`traces serve --allowed-host`).
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
SEARCH_PAGE_SIZE = 20


class WarehouseNotBuilt(Exception):
    """The warehouse file is missing, or dbt has not built the marts yet."""


class Refused(Exception):
    """A request this server does not serve: a foreign Host or Origin, or a write without its token."""


def hostname(host: str) -> str:
    """``localhost:8000`` -> ``localhost``; ``[::1]:8000`` -> ``::1``."""
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def create_app(
    db: Path, charts_dir: Path | None = None, allowed_hosts: Iterable[str] = (), index_in_background: bool = False,
) -> Flask:
    """The app over ``db``. ``allowed_hosts``: names besides the local ones that requests may use in
    Host. ``index_in_background``: keep the search index current in a thread (``traces serve``)."""
    app = Flask(__name__)
    app.config["DB"] = Path(db)
    app.config["CHARTS_DIR"] = charts_dir or Path(tempfile.mkdtemp(prefix="traces-serve-charts-"))
    app.config["ALLOWED_HOSTS"] = LOCAL_HOSTS | {hostname(h) for h in allowed_hosts}
    # Bound to this running server: a page from an earlier run, or from anywhere else, cannot write.
    app.config["CSRF_TOKEN"] = secrets.token_urlsafe(32)
    explorer = Explorer(app.config["DB"])
    indexer = BackgroundIndexer(explorer.index) if index_in_background else None
    app.extensions["explorer"] = explorer
    app.extensions["indexer"] = indexer
    app.jinja_env.globals["report_pages"] = PAGES
    app.jinja_env.globals["csrf_token"] = app.config["CSRF_TOKEN"]
    tokenizers: dict[str, Any] = {}
    choices_cache: dict[str, dict[str, list[str]]] = {}
    # Each report page as last read: shown while a writer has the warehouse.
    report_cache: dict[str, dict[str, Any]] = {}

    @contextmanager
    def reading() -> Iterator[duckdb.DuckDBPyConnection]:
        path: Path = app.config["DB"]
        if not path.exists():
            raise WarehouseNotBuilt(f"{path} does not exist: run `traces run` (or ingest and build) first")
        con = warehouse.connect(path, read_only=True)
        try:
            yield con
        except duckdb.CatalogException as exc:
            raise WarehouseNotBuilt(f"the warehouse is not built yet: run `traces build` ({exc})") from exc
        finally:
            con.close()

    def warehouse_version() -> str:
        """Changes whenever a build or ingest writes the file: the chart cache is keyed on it."""
        stat = app.config["DB"].stat()
        return hashlib.md5(f"{stat.st_mtime_ns}-{stat.st_size}".encode()).hexdigest()[:12]

    @app.template_filter("query")
    def query_string(filters: queries.ConversationFilters, **changes: object) -> str:
        args: dict[str, Any] = filters.as_args(**changes)
        return url_for("conversation_list", **args)

    @app.template_global()
    def list_url(args: dict) -> str:
        return url_for("conversation_list", **args)

    @app.before_request
    def only_our_own():
        if hostname(request.host) not in app.config["ALLOWED_HOSTS"]:
            raise Refused(f"this server does not answer to the host {request.host!r}")
        if request.method == "POST":
            origin = request.headers.get("Origin")
            if origin is not None and origin != f"{request.scheme}://{request.host}":
                raise Refused(f"a write from another site ({origin}) is not accepted")
            if request.headers.get("Sec-Fetch-Site") in ("cross-site", "same-site"):
                raise Refused("a write from another site is not accepted")
            token = request.form.get("csrf_token", "")
            if not hmac.compare_digest(token.encode(), app.config["CSRF_TOKEN"].encode()):
                raise Refused("the form's token is missing or out of date: reload the page and try again")

    @app.after_request
    def secure(response):
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        response.headers["X-Content-Type-Options"] = "nosniff"
        # same-origin, not no-referrer: with no-referrer a browser sends `Origin: null` on our own forms.
        response.headers["Referrer-Policy"] = "same-origin"
        return response

    @app.errorhandler(WarehouseInUse)
    def busy(exc: WarehouseInUse):
        title = "The warehouse is busy"
        if isinstance(exc, WarehouseBeingWritten):
            title = {"ingest": "An ingest is running", "build": "A build is running"}.get(exc.what, "The warehouse is being written")
        body = render_template("message.html", title=title, message=str(exc), retry=RETRY_SECONDS)
        return body, 503, {"Retry-After": str(RETRY_SECONDS)}

    @app.errorhandler(WarehouseNotBuilt)
    def not_built(exc: WarehouseNotBuilt):
        return render_template("message.html", title="Nothing to show yet", message=str(exc), retry=None), 503

    @app.errorhandler(queries.BadFilter)
    def bad_filter(exc: queries.BadFilter):
        return render_template("message.html", title="Bad filter", message=str(exc), retry=None), 400

    @app.errorhandler(ExportError)
    def export_failed(exc: ExportError):
        return render_template("message.html", title="No download", message=str(exc), retry=None), 400

    @app.errorhandler(Refused)
    def refused(exc: Refused):
        return render_template("message.html", title="Refused", message=str(exc), retry=None), 403

    @app.errorhandler(LabelError)
    def bad_label(exc: LabelError):
        return render_template("message.html", title="Not saved", message=str(exc), retry=None), 400

    @app.errorhandler(404)
    def not_found(exc):
        message = getattr(exc, "description", "") or "No such page."
        return render_template("message.html", title="Not found", message=message, retry=None), 404

    @app.get("/")
    def index():
        return report_page(PAGES[0].slug)

    @app.get("/report/<slug>")
    def report_page(slug: str):
        page = report.page_by_slug(slug)
        if page is None:
            abort(404, description=f"No report page {slug!r}.")
        try:
            with reading() as con:
                version = warehouse_version()
                sections = [report.render_section(con, page, section) for section in page.sections]
                counts = dict(con.execute("select source_config, count(*) from fct_conversations group by 1 order by 1").fetchall())
        except WarehouseInUse as exc:
            if slug not in report_cache:
                raise
            return render_template("report.html", page=page, **report_cache[slug], stale=str(exc), retry=RETRY_SECONDS)
        report_cache[slug] = {"sections": sections, "counts": counts, "version": version}
        return render_template("report.html", page=page, sections=sections, counts=counts, version=version, stale=None, retry=None)

    @app.get("/report/<slug>/charts/<name>.png")
    def report_chart(slug: str, name: str):
        page = report.page_by_slug(slug)
        if page is None:
            abort(404)
        version = request.args.get("v", "")
        drawn = app.config["CHARTS_DIR"] / version / f"{page.slug}-{name}.png"
        if VERSION.fullmatch(version) and drawn.is_file():  # as drawn for the page that links it (also while a writer has the file)
            return send_file(drawn, mimetype="image/png", max_age=0)
        with reading() as con:
            path = report.draw_chart(con, page, name, app.config["CHARTS_DIR"] / warehouse_version())
        if path is None:
            abort(404, description=f"No chart {name!r} on page {slug!r}.")
        return send_file(path, mimetype="image/png", max_age=0)

    def filter_choices() -> dict[str, list[str]]:
        """The drop-downs' values, read once per version of the warehouse file (they scan two tables)."""
        version = warehouse_version()
        if version not in choices_cache:
            try:
                with reading() as con:
                    choices = queries.filter_choices(con)
            except WarehouseInUse:
                # As last read while a writer has the file (none yet: empty drop-downs, search still answers).
                return dict(next(iter(choices_cache.values()), {"config": [], "category": [], "tool": []}))
            choices_cache.clear()
            choices_cache[version] = choices
        return dict(choices_cache[version])

    def index_status():
        if indexer is not None:
            indexer.ensure_current()  # after a build or ingest, the index catches up in the background
            return indexer.status()
        from reports.web.indexing import IndexStatus

        return IndexStatus(explorer.index.is_current(), False, 0, 0, None)

    @app.get("/conversations")
    def conversation_list():
        if request.args.get("view"):
            view = explorer.labels.view(request.args["view"])
            return redirect(url_for("conversation_list") + "?" + view.query)
        filters = queries.ConversationFilters.from_args(request.args)
        status = index_status() if filters.q else None
        with reading() as con:
            listed = queries.list_conversations(con, filters, explorer.lookups(filters))
        choices = filter_choices()
        choices["label"] = sorted({lb.label for lb in explorer.labels.labels()})
        return render_template(
            "conversations.html", filters=filters, listed=listed, choices=choices, flags=queries.FLAGS,
            sortable=queries.SORTABLE, views=explorer.labels.views(), query=urlencode(filters.as_args(page=1)),
            used_index=bool(filters.q) and status is not None and status.ready,
        )

    @app.get("/conversations/<source_config>/<path:conversation_id>")
    def conversation(source_config: str, conversation_id: str):
        started = time.perf_counter()
        with reading() as con:
            found = queries.load_conversation(con, source_config, conversation_id)
            other = comparing.counterpart(con, found.summary) if found is not None else None
            similar = queries.near_duplicates(con, found.summary["conversation_seq"]) if found is not None else []
        if found is None:
            abort(404, description=f"No conversation {conversation_id!r} in config {source_config!r}.")
        return render_template(
            "conversation.html", c=found, seconds=time.perf_counter() - started, counterpart=other, near_duplicates=similar,
            labels=explorer.labels.labels_of(source_config, conversation_id), next_url=None,
        )

    def local_url(target: str | None, fallback: str) -> str:
        """Where to go after a write: a path on this server only (never `//elsewhere`)."""
        if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
            return target
        return fallback

    @app.post("/conversations/<source_config>/<path:conversation_id>/labels")
    def label_conversation(source_config: str, conversation_id: str):
        page = url_for("conversation", source_config=source_config, conversation_id=conversation_id)
        try:
            with reading() as con:
                known = queries.conversation_exists(con, source_config, conversation_id)
        except WarehouseInUse:
            known = True  # a build holds the warehouse: the label is keyed by (config, id) and waits for nothing
        if not known:
            abort(404, description=f"No conversation {conversation_id!r} in config {source_config!r}.")
        label = request.form.get("label", "").strip()
        if request.form.get("action") == "remove":
            explorer.labels.remove(source_config, conversation_id, label)
        else:
            explorer.labels.add(source_config, conversation_id, label, request.form.get("note", "").strip())
        return redirect(local_url(request.form.get("next"), page + "#labels"), code=303)

    @app.post("/views")
    def save_view():
        query = request.form.get("query", "")
        filters_from_query(query)  # a query the list cannot read is refused before it is saved
        view = explorer.labels.save_view(request.form.get("name", "").strip(), query)
        return redirect(url_for("conversation_list") + "?" + view.query, code=303)

    @app.get("/conversations/export.jsonl")
    def download():
        """The trl-messages export of what the list shows for these filters, streamed."""
        from reports.exports import DEFAULT_FORMAT, ExportOptions, export

        filters = queries.ConversationFilters.from_args(request.args)
        with reading() as con:
            chosen = explorer.conversations_of(filters, con)
        folder = Path(tempfile.mkdtemp(prefix="traces-download-"))
        try:
            options = ExportOptions(view="download", tokenizer=None)
            result = export(app.config["DB"], folder, [DEFAULT_FORMAT], options, conversations=chosen)[0]
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise

        def lines() -> Iterator[bytes]:
            try:
                with open(result.path, "rb") as data:
                    while chunk := data.read(1 << 20):
                        yield chunk
            finally:
                shutil.rmtree(folder, ignore_errors=True)

        headers = {
            "Content-Disposition": f'attachment; filename="conversations.{DEFAULT_FORMAT}.jsonl"',
            "X-Rows": str(result.manifest["rows_out"]), "X-Rows-Excluded": str(result.manifest["rows_in"] - result.manifest["rows_out"]),
        }
        return Response(lines(), mimetype="application/x-ndjson", headers=headers)

    @app.get("/review")
    def review():
        view_name = request.args.get("view", "")
        filters = explorer.view_filters(view_name) if view_name else queries.ConversationFilters.from_args(request.args)
        here = request.full_path.rstrip("?")
        with reading() as con:
            position = queries.review_position(con, filters, explorer.lookups(filters), explorer.labelled_keys())
            found = queries.load_conversation(con, *position.next_conversation) if position.next_conversation else None
        labels = explorer.labels.labels_of(*position.next_conversation) if position.next_conversation else []
        return render_template(
            "review.html", position=position, c=found, labels=labels, next_url=here, filters=filters,
            view_name=view_name, seconds=0.0, counterpart=None, near_duplicates=[],
        )

    @app.get("/search")
    def search():
        text = request.args.get("q", "").strip()
        fields = [f for value in request.args.getlist("in") for f in value.split(",") if f]
        config = request.args.get("config", "").strip()
        tool = request.args.get("tool", "").strip()
        page = max(queries._integer(request.args.get("page"), "page") or 1, 1)
        status = index_status()
        results, error = None, None
        if text and explorer.index.exists():
            try:
                results = explorer.index.search(
                    text, fields or SEARCH_FIELDS, config, tool, SEARCH_PAGE_SIZE, (page - 1) * SEARCH_PAGE_SIZE,
                )
            except SearchIndexError as exc:
                error = str(exc)
        return render_template(
            "search.html", choices=filter_choices(), text=text, fields=fields, config=config, tool=tool, page=page, results=results, error=error,
            status=status, all_fields=SEARCH_FIELDS, page_size=SEARCH_PAGE_SIZE,
        )

    def conversation_ref(value: str, name: str) -> tuple[str, str]:
        config, _, conversation_id = value.partition("/")
        if not config or not conversation_id:
            raise queries.BadFilter(f"{name} must be <config>/<conversation id>, got {value!r}")
        return config, conversation_id

    @app.get("/compare")
    def compare():
        picked = request.args.getlist("pick")
        if picked:
            if len(picked) != 2:
                raise queries.BadFilter(f"choose two conversations to compare, not {len(picked)}")
            return redirect(url_for("compare", a=picked[0], b=picked[1]))
        a = conversation_ref(request.args.get("a", ""), "a")
        b = conversation_ref(request.args.get("b", ""), "b")
        started = time.perf_counter()
        if "qwen3" not in tokenizers:
            from reports.exports.tokens import DEFAULT_TOKENIZER, load_tokenizer

            tokenizers["qwen3"] = load_tokenizer(DEFAULT_TOKENIZER)
        with reading() as con:
            found = comparing.compare(con, a, b, tokenizers["qwen3"])
        if isinstance(found, str):
            abort(404, description=found)
        return render_template(
            "compare.html", cmp=found, figures=comparing.FIGURES, seconds=time.perf_counter() - started,
        )

    @app.template_filter("yesno")
    def yesno(value: object) -> Markup:
        return Markup("yes") if value else Markup("no")

    return app

