"""The report's charts: matplotlib (Agg, no display) to inline SVG text, viewable offline.

Text stays text in the SVG (``svg.fonttype = none``), so the browser draws labels with its own fonts
(Thai included) and the numbers on the bars can be found in the page. Each chart is one ``<svg>`` element,
its XML prolog and DOCTYPE removed, so it can be pasted into HTML as is. Each figure is closed after it is
drawn: the demo makes a dozen and pyplot keeps every open one alive.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any, Final

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt

#: one palette for every chart (colour-blind safe, Okabe–Ito)
PALETTE: Final = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7", "#F0E442", "#000000")
#: colour per delivery outcome, so "sent" is the same green everywhere
OUTCOME_COLOURS: Final = {
    "sent": "#009E73",
    "skipped_consent": "#E69F00",
    "suppressed": "#CC79A7",
    "skipped_no_contact": "#56B4E9",
    "failed": "#D55E00",
}
#: Any: matplotlib types rc keys as a Literal of every known name
STYLE: Final[Any] = {
    "svg.fonttype": "none",
    "font.family": "sans-serif",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
}


def _svg(figure: Any) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight")
    plt.close(figure)
    text = buffer.getvalue()
    return text[text.index("<svg") :].strip()


def _figure(rows: int = 0) -> tuple[Any, Any]:
    height = 2.6 if rows == 0 else max(1.6, 0.9 + 0.28 * rows)
    with plt.rc_context(STYLE):
        return plt.subplots(figsize=(6.4, height))


def bar_chart(
    title: str, values: Mapping[str, int | float], *, horizontal: bool = False, xlabel: str = ""
) -> str:
    """One bar per label, each with its value printed on it."""
    labels = list(values)
    numbers = [values[label] for label in labels]
    with plt.rc_context(STYLE):
        figure, axes = _figure(len(labels) if horizontal else 0)
        if horizontal:
            bars = axes.barh(labels[::-1], numbers[::-1], color=PALETTE[0])
            axes.set_xlabel(xlabel)
        else:
            bars = axes.bar(labels, numbers, color=PALETTE[0])
            axes.set_ylabel(xlabel)
            if max((len(label) for label in labels), default=0) > 8:
                axes.tick_params(axis="x", labelrotation=30)
                for tick in axes.get_xticklabels():
                    tick.set_horizontalalignment("right")
        axes.bar_label(bars, labels=[f"{n:,}" for n in (numbers[::-1] if horizontal else numbers)], padding=2)
        axes.set_title(title, loc="left")
        axes.margins(x=0.08 if horizontal else 0.02, y=0.02 if horizontal else 0.12)
        return _svg(figure)


def stacked_bar_chart(
    title: str,
    categories: Sequence[str],
    series: Mapping[str, Sequence[int]],
    *,
    colours: Mapping[str, str] | None = None,
    xlabel: str = "",
) -> str:
    """Horizontal bars of ``categories``, each split into ``series`` (a legend names them)."""
    with plt.rc_context(STYLE):
        figure, axes = _figure(len(categories) + 1)
        left = [0] * len(categories)
        order = list(categories)[::-1]
        for index, (name, counts) in enumerate(series.items()):
            ordered = list(counts)[::-1]
            colour = (colours or {}).get(name, PALETTE[index % len(PALETTE)])
            bars = axes.barh(order, ordered, left=left[::-1], label=name, color=colour)
            axes.bar_label(
                bars, labels=[f"{n:,}" if n else "" for n in ordered], label_type="center", fontsize=8
            )
            left = [a + b for a, b in zip(left, counts, strict=True)]
        axes.set_title(title, loc="left")
        axes.set_xlabel(xlabel)
        axes.legend(loc="lower right", fontsize=8, frameon=False)
        return _svg(figure)


def grouped_bar_chart(
    title: str, categories: Sequence[str], series: Mapping[str, Sequence[int]], *, ylabel: str = ""
) -> str:
    """Bars side by side per category, one colour per series, values on the bars."""
    count = max(1, len(series))
    width = 0.8 / count
    with plt.rc_context(STYLE):
        figure, axes = _figure()
        positions = list(range(len(categories)))
        for index, (name, values) in enumerate(series.items()):
            offset = (index - (count - 1) / 2) * width
            bars = axes.bar(
                [p + offset for p in positions],
                list(values),
                width,
                label=name,
                color=PALETTE[index % len(PALETTE)],
            )
            axes.bar_label(bars, labels=[f"{v:,}" for v in values], padding=1, fontsize=7)
        axes.set_xticks(positions, list(categories), rotation=25, ha="right")
        axes.set_ylabel(ylabel)
        axes.set_title(title, loc="left")
        axes.legend(fontsize=8, frameon=False)
        axes.margins(y=0.15)
        return _svg(figure)


def histogram_chart(title: str, bins: Sequence[tuple[float, float, int]], *, xlabel: str, ylabel: str) -> str:
    """Bins given as (low, high, count): drawn as touching bars, counts on top."""
    with plt.rc_context(STYLE):
        figure, axes = _figure()
        bars = axes.bar(
            [low for low, _, _ in bins],
            [count for _, _, count in bins],
            width=[high - low for low, high, _ in bins],
            align="edge",
            color=PALETTE[2],
            edgecolor="white",
        )
        axes.bar_label(
            bars, labels=[f"{count:,}" if count else "" for _, _, count in bins], padding=1, fontsize=8
        )
        axes.set_xlabel(xlabel)
        axes.set_ylabel(ylabel)
        axes.set_title(title, loc="left")
        axes.margins(y=0.12)
        return _svg(figure)
