"""Pictures the lessons need that :mod:`visualize.plots` lacks: digits, confusion matrices.

Plain data in (8×8 images as 64 numbers, label lists), matplotlib axes out;
no :mod:`nn` import.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from visualize import palette

__all__ = ["confusion_matrix", "draw_confusion", "draw_digit"]


def draw_digit(ax: Any, pixels: Sequence[float], title: str = "", colour: str = "black",
               vmax: float = 1.0) -> None:
    """Draw one 8×8 image (64 numbers, row by row, 0 = white) on ``ax``, no ticks."""
    rows = [list(pixels[r * 8:(r + 1) * 8]) for r in range(8)]
    ax.imshow(rows, cmap="gray_r", vmin=0.0, vmax=vmax, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=8, color=colour, pad=2)


def confusion_matrix(true: Sequence[int], predicted: Sequence[int],
                     classes: int) -> list[list[int]]:
    """Return ``m[t][p]``: how many samples of class ``t`` were predicted as ``p``."""
    m = [[0] * classes for _ in range(classes)]
    for t, p in zip(true, predicted):
        m[t][p] += 1
    return m


def draw_confusion(ax: Any, m: Sequence[Sequence[int]], title: str = "") -> None:
    """Draw a confusion matrix with counts in the cells (rows: true, columns: predicted)."""
    k = len(m)
    peak = max(max(r) for r in m) or 1
    ax.imshow(m, cmap="Greys", vmin=0, vmax=peak)
    for t in range(k):
        for p in range(k):
            if m[t][p]:
                ax.text(p, t, str(m[t][p]), ha="center", va="center", fontsize=8,
                        color="white" if m[t][p] > 0.6 * peak else
                        (palette.HIGHLIGHT if t != p else "black"))
    ax.set_xticks(range(k))
    ax.set_yticks(range(k))
    ax.set_xlabel("predicted digit")
    ax.set_ylabel("true digit")
    if title:
        ax.set_title(title)
