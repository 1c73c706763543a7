"""The front-end files both hosts load: ``playground.js`` and ``playground.css`` with the palette.

The stylesheet is the palette's CSS variables (:mod:`visualize.palette`: the
one colour language, red > 0 and blue < 0) followed by ``playground.css``;
the script reads its colours from those variables, so no colour is written
twice.
"""

from __future__ import annotations

from pathlib import Path

from visualize import palette

__all__ = ["css", "esm"]

HERE = Path(__file__).parent


def css() -> str:
    """The playground's stylesheet, the palette's variables first."""
    pos_lo, pos_hi = palette.POSITIVE_RAMP
    neg_lo, neg_hi = palette.NEGATIVE_RAMP
    ramps = {"pos-pale": pos_lo, "pos-dark": pos_hi, "neg-pale": neg_lo, "neg-dark": neg_hi}
    extra = " ".join(f"--{k}: {palette.mix((v, v), 0)};" for k, v in ramps.items())
    series = " ".join(f"--series-{i}: {c};" for i, c in enumerate(palette.SERIES))
    return (palette.css_variables() + f"\n:root {{ {extra} {series} }}\n"
            + (HERE / "playground.css").read_text(encoding="utf-8"))


def esm() -> str:
    """The front-end ES module (the server page's script and the widget's ``_esm``)."""
    return (HERE / "playground.js").read_text(encoding="utf-8")
