"""What each report page shows (reports/pages.yml): sections of (a saved analysis, chart, table, words).

A section's query is a file of analyses/, the same one `dbt compile` compiles for ad hoc use
(as Evidence pages keep their queries in sources/*.sql). The parsing lives in the dbt models;
an analysis only selects from an rpt_ model, orders and limits, and is printed under its chart
exactly as it ran.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache, partial
from pathlib import Path
from typing import Any, Protocol

import jinja2
import yaml

from foundation.paths import PROJECT_DIR
from reports import charts

ANALYSES_DIR = PROJECT_DIR / "analyses"


class ChartFn(Protocol):
    """Draws a section's rows into the image file ``path``; returns the path written."""

    def __call__(self, rows: list[dict], *, path: Path) -> Path: ...


@cache
def _analysis_template(name: str) -> jinja2.Template:
    path = ANALYSES_DIR / f"{name}.sql"
    return jinja2.Environment(undefined=jinja2.StrictUndefined).from_string(path.read_text(encoding="utf-8"))


@cache
def analysis_sql(name: str, schema: str | None = None) -> str:
    """``analyses/<name>.sql`` as the report runs it on the warehouse: ``ref('model')`` is the model's table,
    qualified by ``schema`` when one is given (Evidence names a table ``<source>.<table>``).
    The report's queries always run in DuckDB (on Spark, over the rpt_ tables copied out; in Evidence,
    in its DuckDB-WASM), so ``target.type`` is duckdb; dbt compiles the same file for the real target."""
    return _analysis_template(name).render(
        ref=lambda model: f"{schema}.{model}" if schema else model, target={"type": "duckdb"}
    ).strip()


@cache
def analysis_models(name: str) -> tuple[str, ...]:
    """The models ``analyses/<name>.sql`` reads, in the order it names them."""
    models: list[str] = []

    def ref(model: str) -> str:
        models.append(model)
        return model

    _analysis_template(name).render(ref=ref, target={"type": "duckdb"})
    return tuple(dict.fromkeys(models))


@dataclass(frozen=True)
class Section:
    query_name: str  # names the chart and the query block
    analysis: str  # the query: analyses/<analysis>.sql
    title: str
    text: str = ""
    chart: ChartFn | None = None
    # The chart as declared in pages.yml (kind and arguments): the Evidence page draws it from this.
    chart_spec: dict[str, Any] | None = field(default=None, compare=False)

    @property
    def sql(self) -> str:
        return analysis_sql(self.analysis)

    @property
    def models(self) -> tuple[str, ...]:
        return analysis_models(self.analysis)


@dataclass(frozen=True)
class Page:
    slug: str
    title: str
    intro: str
    sections: tuple[Section, ...] = field(default_factory=tuple)


def _chart(spec: dict[str, Any] | None) -> ChartFn | None:
    if spec is None:
        return None
    arguments = dict(spec)
    kind = arguments.pop("kind")
    draw = getattr(charts, kind, None)
    if draw is None:
        raise ValueError(f"{PAGES_FILE}: unknown chart kind {kind!r}")
    return partial(draw, **arguments)


def load_pages(path: Path) -> tuple[Page, ...]:
    """The pages declared in ``path`` (reports/pages.yml)."""
    return tuple(
        Page(
            page["slug"], page["title"], page["intro"],
            tuple(
                Section(
                    section["name"], section["analysis"], section["title"], section.get("text", ""),
                    _chart(section.get("chart")), section.get("chart"),
                )
                for section in page["sections"]
            ),
        )
        for page in yaml.safe_load(path.read_text(encoding="utf-8"))
    )


PAGES_FILE = Path(__file__).resolve().parent / "pages.yml"
PAGES: tuple[Page, ...] = load_pages(PAGES_FILE)
