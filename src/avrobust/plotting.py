"""Plots (matplotlib, Agg backend; PNG files written atomically).

The primitives (heatmaps, lines, bars, scatter) take plain data; each result kind draws its own
figures with them (:mod:`avrobust.results`). Every function writes one PNG and returns its path.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from avrobust.io import atomic_write_bytes


def pyplot() -> Any:
    """matplotlib.pyplot on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig: Any, path: str | Path, *, tight: bool = True) -> Path:
    """Write ``fig`` as PNG atomically and close it (``tight``: tight_layout first, else a tight bbox)."""
    plt = pyplot()
    buf = io.BytesIO()
    if tight:
        fig.tight_layout()
    fig.savefig(buf, format="png", dpi=120, **({} if tight else {"bbox_inches": "tight"}))
    plt.close(fig)
    path = Path(path)
    atomic_write_bytes(path, buf.getvalue())
    return path


def heatmap_grid(panels: Mapping[str, tuple[Sequence[Sequence[float]], Sequence[tuple[int, int]]]],
                 rows: Sequence[str], cols: Sequence[str], path: str | Path, *, title: str = "",
                 xlabel: str = "victim", ylabel: str = "surrogate", label: str = "ASR %",
                 marked: str = " (red: white box)") -> Path:
    """Heatmaps of values in [0, 1] (shown as %), one panel per key; ``marks`` cells get a red outline
    (``marked`` says what they mean in the title).

    Args:
        panels: ``{name: (grid [len(rows)][len(cols)], marks [(row, col), ...])}``.
    """
    plt = pyplot()
    k = len(panels)
    ncols = min(3, k)
    nrows = math.ceil(k / ncols)
    cell = 0.45
    fig, axes = plt.subplots(nrows, ncols, squeeze=False, layout="constrained",
                             figsize=(ncols * max(3.2, 1.2 + cell * len(cols)), nrows * max(2.8, 1.6 + cell * len(rows))))
    image = None
    for ax, (name, (grid, marks)) in zip(axes.flat, panels.items()):
        image = ax.imshow([[100 * v for v in row] for row in grid], vmin=0, vmax=100, cmap="viridis", aspect="auto")
        ax.set_title(name, fontsize=9)
        ax.set_xticks(range(len(cols)), cols, rotation=45, ha="right", fontsize=7)
        ax.set_yticks(range(len(rows)), rows, fontsize=7)
        for i, row in enumerate(grid):
            for j, v in enumerate(row):
                if v == v:  # not NaN (an empty cell: a row with fewer columns)
                    ax.text(j, i, f"{100 * v:.0f}", ha="center", va="center", fontsize=6,
                            color="white" if v < 0.6 else "black")
        for i, j in marks:
            ax.add_patch(plt.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="red", linewidth=1.5))
        ax.set_xlabel(xlabel, fontsize=8)
        ax.set_ylabel(ylabel, fontsize=8)
    for ax in list(axes.flat)[k:]:
        ax.axis("off")
    if image is not None:
        fig.colorbar(image, ax=axes.ravel().tolist(), shrink=0.8, label=label)
    if title:
        fig.suptitle(title + marked, fontsize=10)
    return save_figure(fig, path, tight=False)


def line_plot(x: Sequence[float], series: Mapping[str, Sequence[float | None]], path: str | Path, *,
              xlabel: str, ylabel: str, title: str = "", logx: bool = False, percent: bool = True,
              styles: Mapping[str, str] | None = None, colors: Mapping[str, int] | None = None,
              errors: Mapping[str, Sequence[float | None]] | None = None) -> Path:
    """One line per series over ``x``; values in [0, 1] are shown as % when ``percent``.

    ``styles`` maps a series to a matplotlib format (default ``-o``); ``colors`` to a colour index
    (series of one attack share a colour); ``errors`` to error bars (std, same units as the values).
    """
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.0, 4.0))
    scale = 100 if percent else 1
    for k, (name, ys) in enumerate(series.items()):
        pts = [(a, scale * b) for a, b in zip(x, ys) if b is not None]
        color = f"C{(colors or {}).get(name, k) % 10}"
        ax.plot([p[0] for p in pts], [p[1] for p in pts], (styles or {}).get(name, "-o"), label=name,
                markersize=4, color=color)
        err = (errors or {}).get(name)
        if err is not None:
            bars = [(a, scale * b, scale * (e or 0.0)) for a, b, e in zip(x, ys, err) if b is not None]
            ax.errorbar([b[0] for b in bars], [b[1] for b in bars], yerr=[b[2] for b in bars], fmt="none",
                        ecolor=color, capsize=3, linewidth=1)
    if logx:
        ax.set_xscale("log")
        ax.minorticks_off()
    ax.set_xticks(list(x), [f"{v:.3g}" for v in x])
    if percent:
        ax.set_ylim(bottom=0)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best", ncol=2 if len(series) > 5 else 1)
    if title:
        ax.set_title(title, fontsize=10)
    return save_figure(fig, path)


def bar_plot(groups: Sequence[str], series: Mapping[str, Sequence[float]], path: str | Path, *,
             ylabel: str, title: str = "", percent: bool = True) -> Path:
    """Grouped bars: one group per entry of ``groups``, one bar per series."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(max(5.0, 1.2 * len(groups)), 3.8))
    width = 0.8 / max(len(series), 1)
    scale = 100 if percent else 1
    for k, (name, ys) in enumerate(series.items()):
        ax.bar([i + k * width for i in range(len(groups))], [scale * y for y in ys], width, label=name)
    ax.set_xticks([i + width * (len(series) - 1) / 2 for i in range(len(groups))], groups, fontsize=8)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=7)
    if title:
        ax.set_title(title, fontsize=10)
    return save_figure(fig, path)


MARKERS = "osD^vPX*"


def scatter_plot(points: Mapping[str, tuple[float, float]], path: str | Path, *, xlabel: str, ylabel: str,
                 title: str = "", errors: Mapping[str, tuple[float, float]] | None = None,
                 xscale: float = 100.0, yscale: float = 100.0, legend: bool = False,
                 front: Sequence[tuple[float, float]] = ()) -> Path:
    """Labelled points ``{name: (x, y)}``, drawn as ``(xscale x, yscale y)`` (default: values in [0, 1]
    shown as %), with optional error bars ``{name: (x_err, y_err)}`` in the same units as the points;
    names go beside the points or, with ``legend`` (many close points), into a legend. ``front``: points
    joined by a dashed staircase (a Pareto front, sorted by x)."""
    plt = pyplot()
    outside = legend and len(points) > 8  # a long legend goes beside the axes, where it hides no point
    fig, ax = plt.subplots(figsize=(7.6 if outside else 5.0, 3.8))
    if front:
        ax.step([xscale * x for x, _ in front], [yscale * y for _, y in front], where="post", color="grey",
                linestyle="--", linewidth=1, label="Pareto front")
    for i, (name, (x, y)) in enumerate(points.items()):
        xerr, yerr = (errors or {}).get(name, (0.0, 0.0))
        # colour and marker cycle with different periods (10, 8): up to 40 points stay distinct
        ax.errorbar([xscale * x], [yscale * y], xerr=[xscale * xerr], yerr=[yscale * yerr], fmt=MARKERS[i % len(MARKERS)],
                    color=f"C{i % 10}", ms=5, capsize=3, label=name)
        if not legend:
            ax.annotate(name, (xscale * x, yscale * y), textcoords="offset points", xytext=(4, 4), fontsize=8)
    if outside:
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0), ncol=1 + len(points) // 14)
    elif legend:
        ax.legend(fontsize=7, loc="best", ncol=2)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    if title:
        ax.set_title(title, fontsize=9, wrap=True)
    return save_figure(fig, path, tight=not outside)
