"""Pictures of training, with matplotlib: curves, decision boundaries, gradient flow.

This module owns the training plots:

* :func:`plot_history`: loss and accuracy per epoch, from plain lists
  (``{"loss": [...], "val_loss": [...], "accuracy": [...]}``);
* :func:`plot_decision_boundary`: the regions a 2-D classifier assigns, with
  its data on top;
* :func:`plot_grad_flow`: the mean absolute gradient of each layer across
  training, on a log scale: the picture that shows vanishing gradients
  (a deep sigmoid MLP's first layers get orders of magnitude less than its
  last). Pass several runs to compare them side by side.

matplotlib is an optional dependency (the ``plot`` extra). It is imported only
when a plot is drawn, never through pyplot (no global backend is touched), and
its absence raises :class:`PlotDependencyError` naming the extra. Figures are
written as SVG (or PNG/PDF, by suffix), reproducibly and atomically.

Inputs are plain Python data: this module knows neither :mod:`nn` nor
``Value``.
"""

from __future__ import annotations

import io
import itertools
import math
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, cast

from visualize import palette
from visualize.graph import _write_atomic

__all__ = [
    "PlotDependencyError",
    "plot_decision_boundary",
    "plot_grad_flow",
    "plot_history",
]

_PLOT_FORMATS = ("svg", "png", "pdf")


class PlotDependencyError(ImportError):
    """matplotlib is not installed; the message says how to get the ``plot`` extra."""


def _figure(what: str, **kwargs: Any) -> Any:
    """Return a new ``matplotlib.figure.Figure`` (no pyplot, no global state)."""
    try:
        from matplotlib.figure import Figure
    except ImportError as e:
        raise PlotDependencyError(
            f"{what}: matplotlib is not installed; install the plot extra: "
            "pip install 'chainrule[plot]' (or pip install matplotlib). "
            "Graph rendering (to_dot, render) does not need it."
        ) from e
    return Figure(**kwargs)


def _out_path(path: str | os.PathLike[str], what: str) -> tuple[Path, str]:
    out = Path(path)
    suffix = out.suffix.lower().lstrip(".")
    if suffix not in _PLOT_FORMATS:
        raise ValueError(
            f"{what}: cannot tell the format of {str(out)!r} from its suffix; use .svg, "
            ".png or .pdf"
        )
    return out, suffix


def _save(fig: Any, out: Path, suffix: str) -> Path:
    from matplotlib import rc_context

    buf = io.BytesIO()
    metadata = {"Date": None} if suffix == "svg" else ({"CreationDate": None}
                                                       if suffix == "pdf" else None)
    with rc_context({"svg.hashsalt": "chainrule", "svg.fonttype": "none"}):
        fig.savefig(buf, format=suffix, metadata=metadata, bbox_inches="tight")
    _write_atomic(out, buf.getvalue())
    return out


def _series(values: Any, what: str, name: str) -> list[float]:
    if isinstance(values, (str, bytes, Mapping)) or not isinstance(values, Sequence):
        raise TypeError(
            f"{what}: {name!r} must be a sequence of numbers (one per epoch), got "
            f"{type(values).__name__}"
        )
    out = []
    for i, v in enumerate(values):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            try:
                v = float(v)
            except (TypeError, ValueError):
                raise TypeError(
                    f"{what}: {name}[{i}] must be a real number, got {type(v).__name__}"
                ) from None
        out.append(float(v))
    return out


def _check_mapping(data: Any, what: str, arg: str) -> None:
    if not isinstance(data, Mapping):
        raise TypeError(
            f"{what}: {arg} must be a mapping of names to per-epoch lists, got "
            f"{type(data).__name__}"
        )
    if not data:
        raise ValueError(f"{what}: {arg} is empty; pass at least one series")


def _is_accuracy(name: str) -> bool:
    return "acc" in name.lower()


def plot_history(
    history: Mapping[str, Sequence[float]],
    path: str | os.PathLike[str],
    *,
    title: str = "",
    loss_label: str = "loss",
) -> Path:
    """Draw loss and accuracy curves per epoch.

    Series whose name contains ``acc`` (``accuracy``, ``val_accuracy``) go to
    an accuracy panel; the others (``loss``, ``val_loss``) to a loss panel
    (log scale when positive and spanning more than two decades). Series whose
    name starts with ``val`` or ``test`` are dashed. Empty series are skipped;
    NaN values leave gaps. Plot comparable quantities: a training loss that
    includes an L2 penalty next to a test loss without it makes training look
    worse than testing.

    Args:
        history: series name -> one number per epoch.
        path: the output file (.svg, .png or .pdf).
        title: a title above the figure.
        loss_label: the loss panel's title and axis label, naming the loss
            (``"hinge + L2"``).

    Returns:
        The path written.

    Raises:
        TypeError: if ``history`` is not a mapping of sequences of numbers.
        ValueError: if it is empty or every series is empty, or the suffix is unknown.
        PlotDependencyError: if matplotlib is missing.
    """
    what = "plot_history"
    _check_mapping(history, what, "history")
    series = {str(k): _series(v, what, str(k)) for k, v in history.items()}
    series = {k: v for k, v in series.items() if v}
    if not series:
        raise ValueError(f"{what}: every series is empty; train for at least one epoch")
    out, suffix = _out_path(path, what)
    panels = [("loss", {k: v for k, v in series.items() if not _is_accuracy(k)}),
              ("accuracy", {k: v for k, v in series.items() if _is_accuracy(k)})]
    panels = [(n, s) for n, s in panels if s]
    fig = _figure(what, figsize=(5.5 * len(panels), 4.0))
    from matplotlib.ticker import MaxNLocator

    for k, (name, group) in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), k + 1)
        for i, (label, ys) in enumerate(group.items()):
            xs = list(range(1, len(ys) + 1))
            style = "--" if label.startswith(("val", "test")) else "-"
            ax.plot(xs, ys, style, marker="o" if len(ys) <= 30 else None, markersize=3,
                    label=label, color=palette.SERIES[i % len(palette.SERIES)])
        finite = [y for ys in group.values() for y in ys if math.isfinite(y)]
        if name == "loss" and finite and min(finite) > 0 and max(finite) / min(finite) > 100:
            ax.set_yscale("log")
        if name == "accuracy":
            ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        shown = loss_label if name == "loss" else name
        ax.set_ylabel(shown)
        ax.set_title(shown)
        ax.grid(True, alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    return _save(fig, out, suffix)


def _signed_cmap() -> Any:
    """The palette's diverging ramp as a colormap: dark blue (< 0), white (0), dark red (> 0)."""
    from matplotlib.colors import LinearSegmentedColormap

    def rgb(c: str) -> tuple[float, float, float]:
        return (int(c[1:3], 16) / 255, int(c[3:5], 16) / 255, int(c[5:7], 16) / 255)

    neg, pos = palette.NEGATIVE_RAMP, palette.POSITIVE_RAMP
    stops = [palette.mix(neg, 1.0), palette.mix(neg, 0.0), palette.ZERO,
             palette.mix(pos, 0.0), palette.mix(pos, 1.0)]
    return LinearSegmentedColormap.from_list("chainrule-signed", [rgb(c) for c in stops])


def plot_decision_boundary(
    predict: Callable[[float, float], float],
    points: Sequence[Sequence[float]],
    labels: Sequence[float],
    path: str | os.PathLike[str],
    *,
    threshold: float = 0.0,
    resolution: int = 60,
    margin: float = 0.5,
    title: str = "",
    test_points: Sequence[Sequence[float]] = (),
    test_labels: Sequence[float] = (),
    score_margin: float | None = None,
) -> Path:
    """Draw the regions a 2-D classifier assigns, with the data points on top.

    Binary labels (two distinct values, such as ±1 or 0/1): the regions are
    ``predict(x, y) > threshold`` and the boundary is the ``threshold`` level
    line of the score, and the shading shows the confidence: the deeper the
    colour, the farther the score from ``threshold`` (light near the
    boundary). ``score_margin`` draws the margin lines ``threshold ±
    score_margin`` dashed (1 for the hinge loss: points between them still
    have a loss). More classes: ``predict`` returns the class label and each
    class gets a region. Training points are filled circles, test points
    (``test_points``) hollow squares.

    Args:
        predict: ``(x, y) -> score`` (binary) or class label (multi-class);
            called ``resolution ** 2`` times.
        points: the 2-D inputs.
        labels: one label per point.
        path: the output file (.svg, .png or .pdf).
        threshold: the score that separates the two classes (0 for ±1 labels
            and raw scores, 0.5 for probabilities).
        resolution: grid points per axis (5 to 400).
        margin: how far the grid extends beyond the data.
        title: the figure's title.
        test_points, test_labels: held-out points, drawn apart from the
            training ``points``.
        score_margin: if given (> 0), the dashed margin lines at
            ``threshold ± score_margin`` (binary labels only).

    Returns:
        The path written.

    Raises:
        TypeError: if a point is not a pair of numbers, or ``predict`` returns
            something that is not a real number.
        ValueError: if there are no points, ``points`` and ``labels`` differ in
            length, ``resolution`` is out of range, or the suffix is unknown.
        PlotDependencyError: if matplotlib is missing.
    """
    what = "plot_decision_boundary"
    if not callable(predict):
        raise TypeError(f"{what}: predict must be callable as predict(x, y)")
    pts = [_series(p, what, f"points[{i}]") for i, p in enumerate(points)]
    if not pts:
        raise ValueError(f"{what}: points is empty; pass the data set's 2-D inputs")
    for i, p in enumerate(pts):
        if len(p) != 2:
            raise ValueError(f"{what}: points[{i}] has {len(p)} coordinates; pass 2-D points")
    ys = _series(labels, what, "labels")
    if len(ys) != len(pts):
        raise ValueError(
            f"{what}: {len(pts)} points but {len(ys)} labels; pass one label per point"
        )
    tpts = [_series(p, what, f"test_points[{i}]") for i, p in enumerate(test_points)]
    for i, p in enumerate(tpts):
        if len(p) != 2:
            raise ValueError(f"{what}: test_points[{i}] has {len(p)} coordinates; pass 2-D "
                             "points")
    tys = _series(test_labels, what, "test_labels")
    if len(tys) != len(tpts):
        raise ValueError(f"{what}: {len(tpts)} test points but {len(tys)} test labels; pass "
                         "one label per test point")
    if score_margin is not None and (isinstance(score_margin, bool) or not isinstance(
            score_margin, (int, float)) or not 0 < score_margin < math.inf):
        raise ValueError(f"{what}: score_margin must be a positive number, got "
                         f"{score_margin!r}")
    if isinstance(resolution, bool) or not isinstance(resolution, int) or not (
            5 <= resolution <= 400):
        raise ValueError(f"{what}: resolution must be an int from 5 to 400, got {resolution!r}")
    out, suffix = _out_path(path, what)
    classes = sorted(set(ys) | set(tys))
    xs0 = [p[0] for p in pts]
    xs1 = [p[1] for p in pts]
    all0 = xs0 + [p[0] for p in tpts]
    all1 = xs1 + [p[1] for p in tpts]
    lo0, hi0 = min(all0) - margin, max(all0) + margin
    lo1, hi1 = min(all1) - margin, max(all1) + margin
    gx = [lo0 + (hi0 - lo0) * i / (resolution - 1) for i in range(resolution)]
    gy = [lo1 + (hi1 - lo1) * j / (resolution - 1) for j in range(resolution)]
    grid: list[list[float]] = []
    for y in gy:
        row = []
        for x in gx:
            s = predict(x, y)
            try:
                row.append(float(s))
            except (TypeError, ValueError):
                raise TypeError(
                    f"{what}: predict({x:.3g}, {y:.3g}) returned {type(s).__name__}; it must "
                    "return a real number (a score or a class label)"
                ) from None
        grid.append(row)
    fig = _figure(what, figsize=(6.5, 5.2))
    ax = fig.add_subplot(1, 1, 1)
    from matplotlib.colors import ListedColormap

    series = palette.SERIES
    if len(classes) <= 2:
        finite = [s - threshold for row in grid for s in row if math.isfinite(s)]
        # confidence: shade by the score's distance from the threshold, clipped at
        # twice the margin (or the largest distance seen), light at the boundary
        reach = 2.0 * score_margin if score_margin else max((abs(v) for v in finite),
                                                            default=1.0)
        reach = reach or 1.0
        clipped = [[min(reach, max(-reach, s - threshold)) if math.isfinite(s) else 0.0
                    for s in row] for row in grid]
        levels = [-reach + 2 * reach * k / 16 for k in range(17)]
        shade = ax.contourf(gx, gy, clipped, levels=levels, cmap=_signed_cmap(), alpha=0.55)
        bar = fig.colorbar(shade, ax=ax, fraction=0.046, pad=0.04)
        what_score = "score" if threshold == 0 else f"score − {threshold:g}"
        bar.set_label(f"{what_score} (clipped at ±{reach:g}): the model's confidence; "
                      "red > 0, blue < 0", fontsize=8)
        bar.ax.tick_params(labelsize=7)
        if finite and min(finite) < 0 < max(finite):
            ax.contour(gx, gy, grid, levels=[threshold], colors="black", linewidths=1.6)
        if score_margin and finite:
            lv = [lvl for lvl in (threshold - score_margin, threshold + score_margin)
                  if min(finite) < lvl - threshold < max(finite)]
            if lv:
                ax.contour(gx, gy, grid, levels=lv, colors="black", linewidths=0.9,
                           linestyles="dashed")
        colours = {c: (palette.NEGATIVE, palette.POSITIVE)[k] if len(classes) == 2
                   else palette.POSITIVE for k, c in enumerate(classes)}
    else:
        mids = [(a + b) / 2 for a, b in itertools.pairwise(classes)]
        levels = [classes[0] - 0.5, *mids, classes[-1] + 0.5]
        cmap = ListedColormap([series[k % len(series)] for k in range(len(classes))])
        ax.contourf(gx, gy, grid, levels=levels, cmap=cmap, alpha=0.25)
        colours = {c: series[k % len(series)] for k, c in enumerate(classes)}
    split = bool(tpts)
    for c in classes:
        sel = [i for i, y in enumerate(ys) if y == c]
        if sel:
            ax.scatter([xs0[i] for i in sel], [xs1[i] for i in sel], s=20, c=colours[c],
                       edgecolors="black", linewidths=0.5,
                       label=f"train, label {c:g}" if split else f"label {c:g}")
        tsel = [i for i, y in enumerate(tys) if y == c]
        if tsel:
            ax.scatter([tpts[i][0] for i in tsel], [tpts[i][1] for i in tsel], s=34,
                       marker="s", facecolors="white", edgecolors=colours[c], linewidths=1.6,
                       label=f"test, label {c:g}")
    if len(classes) <= 2:
        from matplotlib.lines import Line2D

        extra = [Line2D([], [], color="black", linewidth=1.6, label="decision boundary")]
        if score_margin:
            extra.append(Line2D([], [], color="black", linewidth=0.9, linestyle="dashed",
                                label=f"margin: score = {threshold:g} ± {score_margin:g}"))
        handles, _ = ax.get_legend_handles_labels()
        ax.legend(handles=handles + extra, loc="best", fontsize=7, framealpha=0.85,
                  title=f"red = label {classes[-1]:g}, blue = label {classes[0]:g}"
                  if len(classes) == 2 else None, title_fontsize=7)
    else:
        ax.legend(loc="best", fontsize=8)
    ax.set_xlim(lo0, hi0)
    ax.set_ylim(lo1, hi1)
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    ax.set_title(title or "decision boundary")
    return _save(fig, out, suffix)


def plot_grad_flow(
    grad_flow: Mapping[str, Sequence[float]] | Mapping[str, Mapping[str, Sequence[float]]],
    path: str | os.PathLike[str],
    *,
    title: str = "",
) -> Path:
    """Draw the mean absolute gradient of each layer across training (log scale).

    Left: one line per layer over the epochs. Right: each layer's mean over
    the epochs, layers in the order given (input side first): a vanishing
    gradient shows as bars falling towards the input. Zeros (dead units)
    cannot sit on a log scale and are drawn as a marker on the bottom edge.

    Args:
        grad_flow: layer name -> mean |grad| per epoch (nn's
            ``History.grad_flow``), or run name -> such a mapping to compare
            runs (e.g. ``{"sigmoid": ..., "relu": ...}``), one row per run on
            a shared scale.
        path: the output file (.svg, .png or .pdf).
        title: the figure's title.

    Returns:
        The path written.

    Raises:
        TypeError: if the data is not such a mapping of number sequences.
        ValueError: if it is empty, or the suffix is unknown.
        PlotDependencyError: if matplotlib is missing.
    """
    what = "plot_grad_flow"
    _check_mapping(grad_flow, what, "grad_flow")
    nested = [isinstance(v, Mapping) for v in grad_flow.values()]
    runs: dict[str, dict[str, list[float]]]
    if all(nested):
        runs = {}
        for run, flow in grad_flow.items():
            _check_mapping(flow, what, f"grad_flow[{run!r}]")
            layers = cast(Mapping[str, Sequence[float]], flow)
            runs[str(run)] = {str(k): _series(v, what, f"{run}/{k}") for k, v in layers.items()}
    elif not any(nested):
        runs = {"": {str(k): _series(v, what, str(k)) for k, v in grad_flow.items()}}
    else:
        raise TypeError(
            f"{what}: mix of runs and layers; pass either layer -> list, or run -> "
            "(layer -> list)"
        )
    out, suffix = _out_path(path, what)
    positives = [y for flow in runs.values() for ys in flow.values() for y in ys
                 if math.isfinite(y) and y > 0]
    floor = min(positives) / 3 if positives else 1e-12
    top = max(positives) * 3 if positives else 1.0
    fig = _figure(what, figsize=(11.0, 3.8 * len(runs)))
    from matplotlib.ticker import MaxNLocator

    for r, (run, flow) in enumerate(runs.items()):
        left = fig.add_subplot(len(runs), 2, 2 * r + 1)
        right = fig.add_subplot(len(runs), 2, 2 * r + 2)
        means: list[float] = []
        for layer, ys in flow.items():
            xs = list(range(1, len(ys) + 1))
            shown = [y if (math.isfinite(y) and y > 0) else math.nan for y in ys]
            (line,) = left.plot(xs, shown, marker="o" if len(ys) <= 30 else None,
                                markersize=3, label=layer,
                                color=palette.SERIES[len(means) % len(palette.SERIES)])
            zeros = [x for x, y in zip(xs, ys) if y == 0.0]
            if zeros:
                left.plot(zeros, [floor] * len(zeros), "v", color=line.get_color())
            finite = [abs(y) for y in ys if math.isfinite(y)]
            means.append(sum(finite) / len(finite) if finite else math.nan)
        heads = f"{run}: " if run else ""
        left.set_yscale("log")
        left.set_ylim(floor, top)
        left.set_xlabel("epoch")
        left.xaxis.set_major_locator(MaxNLocator(integer=True))
        left.set_ylabel("mean |grad|")
        left.set_title(f"{heads}mean |grad| per layer over training")
        left.grid(True, which="both", alpha=0.25)
        left.legend(fontsize=8)
        names = list(flow)
        heights = [m if (math.isfinite(m) and m > 0) else floor for m in means]
        right.bar(range(len(names)), heights, color=palette.MUTED, edgecolor="black")
        right.set_xticks(range(len(names)))
        right.set_xticklabels(names, rotation=30, ha="right", fontsize=8)
        right.set_yscale("log")
        right.set_ylim(floor, top)
        right.set_ylabel("mean |grad| over epochs")
        right.set_title(f"{heads}input side → output side")
        right.grid(True, axis="y", which="both", alpha=0.25)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, out, suffix)
