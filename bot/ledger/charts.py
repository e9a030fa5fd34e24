"""Charts as PNG images and PDF pages (matplotlib, Agg backend, a CJK-capable font).

The font file is located explicitly and registered with `font_manager.addfont`, so Chinese
labels render as glyphs, never as boxes; without the font we fail clearly (`FontMissing`).
Figures are built with the object API (`matplotlib.figure.Figure`), never pyplot's global
state, so charts can be drawn in worker threads.
"""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
)
FONT_ENV = "LIAISON_CJK_FONT"
A4_INCHES = (8.27, 11.69)
_lock = threading.Lock()
_family: str | None = None


class FontMissing(RuntimeError):
    """No CJK-capable font file was found (install Debian's fonts-wqy-microhei)."""


def font_path() -> Path:
    configured = os.environ.get(FONT_ENV)
    for candidate in ((configured,) if configured else ()) + FONT_CANDIDATES:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    raise FontMissing(
        "no CJK font found: install fonts-wqy-microhei (apt-get install fonts-wqy-microhei)"
        f" or set {FONT_ENV} to a .ttf/.ttc file"
    )


def font_family() -> str:
    """Register the CJK font once and return its family name."""
    global _family
    with _lock:
        if _family is None:
            path = font_path()
            font_manager.fontManager.addfont(str(path))
            _family = font_manager.FontProperties(fname=str(path)).get_name()
            matplotlib.rcParams["font.family"] = [_family, "DejaVu Sans"]
            matplotlib.rcParams["axes.unicode_minus"] = False
            matplotlib.rcParams["pdf.fonttype"] = 42  # embed TrueType glyphs (text stays text)
        return _family


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float]


def new_figure(size: tuple[float, float] = (8.0, 4.8)) -> Figure:
    font_family()
    fig = Figure(figsize=size, dpi=110)
    FigureCanvasAgg(fig)
    return fig


PALETTE = ("#1f5f99", "#e08a2c", "#4a9d5b", "#b8483f", "#7a5ea8", "#8c6d4f", "#c46aa8", "#6b7b8c")
STATUS_COLOURS = {  # the same colour for a status in every chart titled "by status"
    "new": "#b8483f", "assigned": "#e08a2c", "in_progress": "#d9b73b", "answered": "#4a9d5b", "closed": "#6b7b8c",
}


def draw_bars(
    ax: Any,
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    horizontal: bool = False,
    stacked: bool = False,
    percent: bool = False,
    colours: Sequence[str] | None = None,
) -> None:
    """Grouped (or stacked) bars on `ax`: integer axis for counts, labels only on non-zero bars."""
    from matplotlib.ticker import MaxNLocator

    positions = list(range(len(labels)))
    count = max(1, len(series))
    width = 0.8 if stacked else 0.8 / count
    base = [0.0] * len(labels)
    palette = list(colours or PALETTE)
    for index, item in enumerate(series):
        values = [float(v) for v in item.values]
        offset = 0.0 if stacked else (index - (count - 1) / 2) * width
        where = [p + offset for p in positions]
        colour = palette[index % len(palette)]
        if horizontal:
            bars = ax.barh(where, values, height=width, left=base if stacked else None, label=item.name, color=colour)
        else:
            bars = ax.bar(where, values, width=width, bottom=base if stacked else None, label=item.name, color=colour)
        shown = ["" if v == 0 else (f"{v:.0f}%" if percent else f"{v:g}") for v in values]
        ax.bar_label(bars, labels=shown, fontsize=8, padding=2, label_type="center" if stacked else "edge",
                     color="white" if stacked else "#333333")
        if stacked:
            base = [b + v for b, v in zip(base, values, strict=True)]
    value_axis = ax.xaxis if horizontal else ax.yaxis
    if not percent:
        value_axis.set_major_locator(MaxNLocator(integer=True))
    top = max([*base, *(float(v) for s in series for v in s.values), 0.0])
    (ax.set_xlim if horizontal else ax.set_ylim)(0, 105 if percent else max(1.0, top * 1.15))
    if horizontal:
        ax.set_yticks(positions, labels=list(labels), fontsize=9)
        ax.invert_yaxis()
    else:
        ax.set_xticks(positions, labels=list(labels), fontsize=9, rotation=20 if len(labels) > 4 else 0,
                      ha="right" if len(labels) > 4 else "center")
    ax.set_title(title, fontsize=11, loc="left", pad=22 if len(series) > 1 else 8)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    if len(series) > 1:
        ax.legend(fontsize=8, frameon=False, loc="lower right", bbox_to_anchor=(1.0, 1.0), ncol=len(series),
                  borderaxespad=0.2)
    ax.grid(axis="x" if horizontal else "y", alpha=0.3)
    ax.set_axisbelow(True)


def has_data(series: Sequence[Series]) -> bool:
    return any(float(v) != 0 for s in series for v in s.values)


def bar_chart(
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    horizontal: bool = False,
    stacked: bool = False,
    percent: bool = False,
    size: tuple[float, float] | None = None,
    colours: Sequence[str] | None = None,
) -> Figure:
    """Grouped (or stacked) bars; horizontal for long label lists such as group names."""
    height = max(3.5, 0.35 * len(labels) + 1.5) if horizontal else 4.8
    fig = new_figure(size or (8.0, min(height, 20.0)))
    ax = fig.add_subplot(1, 1, 1)
    draw_bars(ax, title, labels, series, horizontal=horizontal, stacked=stacked, percent=percent, colours=colours)
    fig.tight_layout()
    return fig


def line_chart(title: str, labels: Sequence[str], series: Sequence[Series]) -> Figure:
    fig = new_figure()
    ax = fig.add_subplot(1, 1, 1)
    for item in series:
        ax.plot(list(labels), [float(v) for v in item.values], marker="o", label=item.name)
    ax.set_title(title, fontsize=13)
    ax.grid(alpha=0.3)
    ax.set_ylim(bottom=0)
    if series:
        ax.legend(fontsize=9)
    for label in ax.get_xticklabels():
        label.set_fontsize(8)
    fig.tight_layout()
    return fig


def text_page(title: str, lines: Sequence[str]) -> Figure:
    """An A4 page of text (for the period summary document)."""
    fig = new_figure(A4_INCHES)
    fig.text(0.08, 0.95, title, fontsize=16, va="top")
    y = 0.91
    for line in lines:
        fig.text(0.08, y, line, fontsize=10, va="top", wrap=True)
        y -= 0.024
    return fig


def png(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()
