"""matplotlib charts (Agg) drawn from query rows; each function writes one PNG ~800 px wide."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

WIDTH_IN, HEIGHT_IN, DPI = 8.0, 4.8, 100  # 800 x 480 px
PALETTE = ("#4C72B0", "#DD8452", "#55A868", "#C44E52", "#8172B3", "#937860", "#DA8BC3", "#8C8C8C", "#CCB974", "#64B5CD")

plt.rcParams.update(
    {
        "font.size": 10,
        "axes.titlesize": 12,
        "axes.labelsize": 10,
        "xtick.labelsize": 9,
        "ytick.labelsize": 9,
        "legend.fontsize": 8,
        "axes.spines.top": False,
        "axes.spines.right": False,
    }
)


def _finish(fig, ax, title: str, xlabel: str, ylabel: str, path: Path) -> Path:
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def grouped_bar(rows: list[dict], x: str, y: str, group: str | None, title: str, xlabel: str, ylabel: str, path: Path,
                log_y: bool = False, horizontal: bool = False) -> Path:
    xs = list(dict.fromkeys(str(r[x]) for r in rows))
    def group_of(r: dict) -> str:
        return str(r[group]) if group else "all"

    groups = list(dict.fromkeys(group_of(r) for r in rows))
    values = {(str(r[x]), group_of(r)): float(r[y] or 0) for r in rows}
    fig, ax = plt.subplots(figsize=(WIDTH_IN, HEIGHT_IN))
    width = 0.8 / max(len(groups), 1)
    for gi, g in enumerate(groups):
        positions = [i + (gi - (len(groups) - 1) / 2) * width for i in range(len(xs))]
        heights = [values.get((xv, g), 0.0) for xv in xs]
        if horizontal:
            ax.barh(positions, heights, height=width, label=g, color=PALETTE[gi % len(PALETTE)])
        else:
            ax.bar(positions, heights, width=width, label=g, color=PALETTE[gi % len(PALETTE)])
    if horizontal:
        ax.set_yticks(range(len(xs)), xs)
        ax.invert_yaxis()
        if log_y:
            ax.set_xscale("log")
    else:
        ax.set_xticks(range(len(xs)), xs, rotation=30 if max((len(v) for v in xs), default=0) > 8 else 0, ha="right" if max((len(v) for v in xs), default=0) > 8 else "center")
        if log_y:
            ax.set_yscale("log")
    if len(groups) > 1:
        ax.legend(title=group)
    return _finish(fig, ax, title, xlabel, ylabel, path)


def stacked_bar(rows: list[dict], x: str, y: str, stack: str, title: str, xlabel: str, ylabel: str, path: Path,
                top: int = 10) -> Path:
    totals: dict[str, float] = defaultdict(float)
    for r in rows:
        totals[str(r[stack])] += float(r[y] or 0)
    kept = [k for k, _ in sorted(totals.items(), key=lambda kv: -kv[1])[:top]]
    xs = list(dict.fromkeys(str(r[x]) for r in rows))
    stacks = kept + (["other"] if len(totals) > len(kept) else [])
    values: dict[tuple[str, str], float] = defaultdict(float)
    for r in rows:
        key = str(r[stack]) if str(r[stack]) in kept else "other"
        values[(str(r[x]), key)] += float(r[y] or 0)
    fig, ax = plt.subplots(figsize=(WIDTH_IN, HEIGHT_IN))
    bottoms = [0.0] * len(xs)
    for si, s in enumerate(stacks):
        heights = [values[(xv, s)] for xv in xs]
        color = "#BBBBBB" if s == "other" else PALETTE[si % len(PALETTE)]
        ax.bar(range(len(xs)), heights, bottom=bottoms, label=s, color=color)
        bottoms = [b + h for b, h in zip(bottoms, heights, strict=True)]
    ax.set_xticks(range(len(xs)), xs, rotation=30, ha="right")
    ax.legend(title=stack, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return _finish(fig, ax, title, xlabel, ylabel, path)


def weighted_histogram(rows: list[dict], value: str, weight: str, group: str, title: str, xlabel: str,
                       ylabel: str, path: Path, bins: int = 20) -> Path:
    by_group: dict[str, tuple[list[float], list[float]]] = defaultdict(lambda: ([], []))
    for r in rows:
        values, weights = by_group[str(r[group])]
        values.append(float(r[value]))
        weights.append(float(r[weight]))
    fig, ax = plt.subplots(figsize=(WIDTH_IN, HEIGHT_IN))
    all_values = [v for vs, _ in by_group.values() for v in vs]
    edges = bins if not all_values else _edges(min(all_values), max(all_values), bins)
    for gi, (g, (values, weights)) in enumerate(by_group.items()):
        ax.hist(values, bins=edges, weights=weights, alpha=0.6, label=g, color=PALETTE[gi % len(PALETTE)])
    if len(by_group) > 1:
        ax.legend(title=group)
    return _finish(fig, ax, title, xlabel, ylabel, path)


def _edges(lo: float, hi: float, bins: int) -> list[float]:
    if hi <= lo:
        return [lo - 0.5, lo + 0.5]
    step = (hi - lo) / bins
    return [lo + i * step for i in range(bins + 1)]


def heatmap(rows: list[dict], row_key: str, col_key: str, value: str, title: str, xlabel: str, ylabel: str,
            path: Path, top: int = 12) -> Path:
    totals: dict[str, float] = defaultdict(float)
    for r in rows:
        totals[str(r[row_key])] += float(r[value] or 0)
        totals[str(r[col_key])] += float(r[value] or 0)
    labels = [k for k, _ in sorted(totals.items(), key=lambda kv: -kv[1])[:top]]
    index = {label: i for i, label in enumerate(labels)}
    matrix = [[0.0] * len(labels) for _ in labels]
    for r in rows:
        a, b = str(r[row_key]), str(r[col_key])
        if a in index and b in index:
            matrix[index[a]][index[b]] += float(r[value] or 0)
    fig, ax = plt.subplots(figsize=(WIDTH_IN, WIDTH_IN * 0.8))
    image = ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    fig.colorbar(image, ax=ax, label=value.replace("_", " "))
    ax.spines[:].set_visible(False)
    return _finish(fig, ax, title, xlabel, ylabel, path)


def line(rows: list[dict], x: str, y: str, group: str, title: str, xlabel: str, ylabel: str, path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(WIDTH_IN, HEIGHT_IN))
    by_group: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for r in rows:
        by_group[str(r[group])].append((str(r[x]), float(r[y] or 0)))
    for gi, (g, points) in enumerate(by_group.items()):
        ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=g, color=PALETTE[gi % len(PALETTE)])
    if len(by_group) > 1:
        ax.legend(title=group)
    return _finish(fig, ax, title, xlabel, ylabel, path)
