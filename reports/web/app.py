"""``traces serve``: a read-only web app over the warehouse (report, conversation list, trace view).

Each request opens the warehouse read-only and closes it before answering, so the app never
holds the file between requests: a build can take it, and the next request sees its data.
While a build holds it, pages answer 503 and reload themselves.
"""

from __future__ import annotations

import hashlib
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
from flask import Flask, abort, render_template, request, send_file, url_for
from markupsafe import Markup

from reports.pages import PAGES
from reports.web import queries, report
from trace_warehouse import warehouse
from trace_warehouse.errors import WarehouseInUse

RETRY_SECONDS = 5
# Trace text is untrusted: no script runs on any page, and nothing loads from elsewhere.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; img-src 'self'; style-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)


class WarehouseNotBuilt(Exception):
    """The warehouse file is missing, or dbt has not built the marts yet."""


def create_app(db: Path, charts_dir: Path | None = None) -> Flask:
    app = Flask(__name__)
    app.config["DB"] = Path(db)
    app.config["CHARTS_DIR"] = charts_dir or Path(tempfile.mkdtemp(prefix="traces-serve-charts-"))
    app.jinja_env.globals["report_pages"] = PAGES

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

    @app.after_request
    def secure(response):
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        return response

    @app.errorhandler(WarehouseInUse)
    def busy(exc: WarehouseInUse):
        body = render_template("message.html", title="The warehouse is busy", message=str(exc), retry=RETRY_SECONDS)
        return body, 503, {"Retry-After": str(RETRY_SECONDS)}

    @app.errorhandler(WarehouseNotBuilt)
    def not_built(exc: WarehouseNotBuilt):
        return render_template("message.html", title="Nothing to show yet", message=str(exc), retry=None), 503

    @app.errorhandler(queries.BadFilter)
    def bad_filter(exc: queries.BadFilter):
        return render_template("message.html", title="Bad filter", message=str(exc), retry=None), 400

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
        with reading() as con:
            sections = [report.render_section(con, page, section) for section in page.sections]
            counts = dict(con.execute("select source_config, count(*) from fct_conversations group by 1 order by 1").fetchall())
        return render_template("report.html", page=page, sections=sections, counts=counts, version=warehouse_version())

    @app.get("/report/<slug>/charts/<name>.png")
    def report_chart(slug: str, name: str):
        page = report.page_by_slug(slug)
        if page is None:
            abort(404)
        with reading() as con:
            path = report.draw_chart(con, page, name, app.config["CHARTS_DIR"] / warehouse_version())
        if path is None:
            abort(404, description=f"No chart {name!r} on page {slug!r}.")
        return send_file(path, mimetype="image/png", max_age=0)

    @app.get("/conversations")
    def conversation_list():
        filters = queries.ConversationFilters.from_args(request.args)
        with reading() as con:
            listed = queries.list_conversations(con, filters)
            choices = queries.filter_choices(con)
        return render_template("conversations.html", filters=filters, listed=listed, choices=choices,
                               flags=queries.FLAGS, sortable=queries.SORTABLE)

    @app.get("/conversations/<source_config>/<path:conversation_id>")
    def conversation(source_config: str, conversation_id: str):
        started = time.perf_counter()
        with reading() as con:
            found = queries.load_conversation(con, source_config, conversation_id)
        if found is None:
            abort(404, description=f"No conversation {conversation_id!r} in config {source_config!r}.")
        return render_template("conversation.html", c=found, seconds=time.perf_counter() - started)

    @app.template_filter("yesno")
    def yesno(value: object) -> Markup:
        return Markup("yes") if value else Markup("no")

    return app


def serve(db: Path, host: str, port: int) -> None:
    """Serve until interrupted (waitress: a production WSGI server, several requests at once)."""
    from waitress import serve as waitress_serve

    waitress_serve(create_app(db), host=host, port=port, threads=4, ident="traces-serve")
