"""Evidence's own chart components for the chart kinds of reports/pages.yml.

Each function takes a section's query name and the chart's declared arguments (the same ones
reports/charts.py draws with matplotlib) and returns the page text: a derived query where the
chart shows less or other than the section's rows (the top N of a stack, a histogram's bins),
then the component bound to it. Derived queries read the section's query as ``${name}``, as
Evidence chains queries, so the numbers come from the warehouse when Evidence runs, not from
when the page was written.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

HISTOGRAM_BINS = 20


def _attribute(name: str, value: object) -> str:
    if isinstance(value, bool):
        return f"{name}={{{str(value).lower()}}}"
    text = str(value).replace("&", "&amp;").replace('"', "&quot;").replace("{", "&#123;").replace("}", "&#125;")
    return f'{name}="{text}"'


def component(tag: str, data: str, **attributes: object) -> str:
    """``<Tag data={query} a="..."/>``; attributes that are None are left out."""
    parts = [f"<{tag}", f"    data={{{data}}}"]
    parts += [f"    {_attribute(name, value)}" for name, value in attributes.items() if value is not None]
    return "\n".join(parts) + "\n/>\n"


def derived_query(name: str, source: str, steps: str) -> str:
    """A query ``name`` over the rows of the query ``source`` (``rows_in``), then ``steps``: more
    CTEs and the final select."""
    return f"```sql {name}\nwith\nrows_in as (select * from ${{{source}}}),\n{steps.strip()}\n```\n"


def _labels(title: str, xlabel: str, ylabel: str) -> dict[str, object]:
    return {"title": title, "xAxisTitle": xlabel, "yAxisTitle": ylabel}


def grouped_bar(query: str, *, x: str, y: str, group: str | None, title: str, xlabel: str, ylabel: str,
                log_y: bool = False, horizontal: bool = False) -> str:
    # sort=false keeps the query's order (Evidence sorts categorical bars by value otherwise).
    # A horizontal bar chart swaps the axes, and with them which title goes where.
    labels = _labels(title, ylabel, xlabel) if horizontal else _labels(title, xlabel, ylabel)
    return component(
        "BarChart", query, x=x, y=y, series=group, type="grouped" if group else None, sort=False,
        swapXY=True if horizontal else None, yLog=True if log_y else None, **labels,
    )


def stacked_bar(query: str, *, x: str, y: str, stack: str, title: str, xlabel: str, ylabel: str,
                top: int = 10) -> str:
    chart_query = f"{query}_top_{stack}"
    steps = f"""
stack_totals as (
    select {stack}, sum({y}) as total from rows_in group by {stack}
),
kept as (
    select {stack} from stack_totals order by total desc, {stack} asc limit {top}
)
select
    rows_in.{x},
    coalesce(kept.{stack}, 'other') as {stack},
    sum(rows_in.{y}) as {y}
from rows_in
left join kept on rows_in.{stack} = kept.{stack}
group by all
order by rows_in.{x}, {y} desc
"""
    return derived_query(chart_query, query, steps) + "\n" + component(
        "BarChart", chart_query, x=x, y=y, series=stack, type="stacked", sort=False, **_labels(title, xlabel, ylabel)
    )


def weighted_histogram(query: str, *, value: str, weight: str, group: str, title: str, xlabel: str, ylabel: str,
                       bins: int = HISTOGRAM_BINS) -> str:
    # Evidence's <Histogram> counts raw rows; these rows are already counted (a weight per value),
    # so the bins are summed here and drawn as bars, bins as matplotlib's histogram makes them.
    chart_query = f"{query}_bins"
    steps = f"""
bounds as (
    select min({value}) as lo, greatest((max({value}) - min({value})) / {bins}.0, 1e-9) as step from rows_in
),
binned as (
    select
        rows_in.{group},
        least(floor((rows_in.{value} - bounds.lo) / bounds.step), {bins - 1}) as bin_index,
        bounds.lo,
        bounds.step,
        rows_in.{weight}
    from rows_in cross join bounds
)
select
    {group},
    round(lo + bin_index * step, 1) as {value},
    sum({weight}) as {weight}
from binned
group by all
order by {value}, {group}
"""
    return derived_query(chart_query, query, steps) + "\n" + component(
        "BarChart", chart_query, x=value, y=weight, series=group, type="grouped", sort=False,
        **_labels(title, xlabel, ylabel),
    )


def heatmap(query: str, *, row_key: str, col_key: str, value: str, title: str, xlabel: str, ylabel: str,
            top: int = 12) -> str:
    chart_query = f"{query}_top"
    steps = f"""
label_totals as (
    select label, sum(total) as total
    from (
        select {row_key} as label, {value} as total from rows_in
        union all
        select {col_key} as label, {value} as total from rows_in
    )
    group by label
),
kept as (
    select label from label_totals order by total desc, label asc limit {top}
)
select rows_in.{row_key}, rows_in.{col_key}, sum(rows_in.{value}) as {value}
from rows_in
where rows_in.{row_key} in (select label from kept) and rows_in.{col_key} in (select label from kept)
group by all
order by {value} desc
"""
    return derived_query(chart_query, query, steps) + "\n" + component(
        "Heatmap", chart_query, x=col_key, y=row_key, value=value, title=f"{title} ({ylabel} by {xlabel})",
    )


def line(query: str, *, x: str, y: str, group: str, title: str, xlabel: str, ylabel: str) -> str:
    return component("LineChart", query, x=x, y=y, series=group, sort=False, **_labels(title, xlabel, ylabel))


EVIDENCE_CHARTS: dict[str, Callable[..., str]] = {
    "grouped_bar": grouped_bar,
    "stacked_bar": stacked_bar,
    "weighted_histogram": weighted_histogram,
    "heatmap": heatmap,
    "line": line,
}


def chart_markup(query: str, spec: dict[str, Any]) -> str:
    """The page text that draws ``spec`` (a pages.yml chart) from the rows of ``query``."""
    arguments = dict(spec)
    kind = arguments.pop("kind")
    draw = EVIDENCE_CHARTS.get(kind)
    if draw is None:
        raise ValueError(f"no Evidence component for chart kind {kind!r}")
    return draw(query, **arguments)
