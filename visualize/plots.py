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
from dataclasses import dataclass
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


def _points_2d(points: Sequence[Sequence[float]], what: str, name: str) -> list[list[float]]:
    """``points`` as lists of two floats; raise if one is not a pair of numbers."""
    pts = [_series(p, what, f"{name}[{i}]") for i, p in enumerate(points)]
    for i, p in enumerate(pts):
        if len(p) != 2:
            raise ValueError(f"{what}: {name}[{i}] has {len(p)} coordinates; pass 2-D points")
    return pts


def _labelled_points(points: Sequence[Sequence[float]], labels: Sequence[float], what: str,
                     test: bool) -> tuple[list[list[float]], list[float]]:
    """The training (or, with ``test``, held-out) points and their labels, checked.

    Raises:
        TypeError: if a point or label is not made of numbers.
        ValueError: if a point is not 2-D, there are no training points, or the
            numbers of points and labels differ.
    """
    pts = _points_2d(points, what, "test_points" if test else "points")
    if not pts and not test:
        raise ValueError(f"{what}: points is empty; pass the data set's 2-D inputs")
    ys = _series(labels, what, "test_labels" if test else "labels")
    if len(ys) != len(pts):
        kind = "test " if test else ""
        raise ValueError(f"{what}: {len(pts)} {kind}points but {len(ys)} {kind}labels; pass "
                         f"one label per {kind}point")
    return pts, ys


def _check_grid_options(score_margin: float | None, resolution: int, what: str) -> None:
    """Raise ValueError for a non-positive ``score_margin`` or a ``resolution`` out of 5..400."""
    if score_margin is not None and (isinstance(score_margin, bool) or not isinstance(
            score_margin, (int, float)) or not 0 < score_margin < math.inf):
        raise ValueError(f"{what}: score_margin must be a positive number, got "
                         f"{score_margin!r}")
    if isinstance(resolution, bool) or not isinstance(resolution, int) or not (
            5 <= resolution <= 400):
        raise ValueError(f"{what}: resolution must be an int from 5 to 400, got {resolution!r}")


@dataclass(frozen=True)
class _Grid:
    """The evaluation grid of a decision-boundary plot: its axes and the scores on it."""

    lo0: float
    hi0: float
    lo1: float
    hi1: float
    gx: list[float]
    gy: list[float]
    scores: list[list[float]]


def _score_grid(predict: Callable[[float, float], float], pts: Sequence[Sequence[float]],
                resolution: int, margin: float, what: str) -> _Grid:
    """Evaluate ``predict`` on a ``resolution``² grid covering ``pts`` plus ``margin``.

    Raises:
        TypeError: if ``predict`` returns something that is not a real number.
    """
    all0 = [p[0] for p in pts]
    all1 = [p[1] for p in pts]
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
    return _Grid(lo0, hi0, lo1, hi1, gx, gy, grid)


def _shade_scores(fig: Any, ax: Any, grid: _Grid, classes: Sequence[float], threshold: float,
                  score_margin: float | None) -> dict[float, str]:
    """Shade a binary classifier's confidence, draw its boundary and margin lines.

    Returns:
        The colour of each class's points (blue, red; red for a single class).
    """
    gx, gy, scores = grid.gx, grid.gy, grid.scores
    finite = [s - threshold for row in scores for s in row if math.isfinite(s)]
    # confidence: shade by the score's distance from the threshold, clipped at
    # twice the margin (or the largest distance seen), light at the boundary
    reach = 2.0 * score_margin if score_margin else max((abs(v) for v in finite),
                                                        default=1.0)
    reach = reach or 1.0
    clipped = [[min(reach, max(-reach, s - threshold)) if math.isfinite(s) else 0.0
                for s in row] for row in scores]
    levels = [-reach + 2 * reach * k / 16 for k in range(17)]
    shade = ax.contourf(gx, gy, clipped, levels=levels, cmap=_signed_cmap(), alpha=0.55)
    bar = fig.colorbar(shade, ax=ax, fraction=0.046, pad=0.04)
    what_score = "score" if threshold == 0 else f"score − {threshold:g}"
    bar.set_label(f"{what_score} (clipped at ±{reach:g}): the model's confidence; "
                  "red > 0, blue < 0", fontsize=8)
    bar.ax.tick_params(labelsize=7)
    if finite and min(finite) < 0 < max(finite):
        ax.contour(gx, gy, scores, levels=[threshold], colors="black", linewidths=1.6)
    if score_margin and finite:
        lv = [lvl for lvl in (threshold - score_margin, threshold + score_margin)
              if min(finite) < lvl - threshold < max(finite)]
        if lv:
            ax.contour(gx, gy, scores, levels=lv, colors="black", linewidths=0.9,
                       linestyles="dashed")
    return {c: (palette.NEGATIVE, palette.POSITIVE)[k] if len(classes) == 2
            else palette.POSITIVE for k, c in enumerate(classes)}


def _shade_classes(ax: Any, grid: _Grid, classes: Sequence[float]) -> dict[float, str]:
    """Fill each class's region (a class-label ``predict``) in its series colour.

    Returns:
        The colour of each class's points.
    """
    from matplotlib.colors import ListedColormap

    series = palette.SERIES
    mids = [(a + b) / 2 for a, b in itertools.pairwise(classes)]
    levels = [classes[0] - 0.5, *mids, classes[-1] + 0.5]
    cmap = ListedColormap([series[k % len(series)] for k in range(len(classes))])
    ax.contourf(grid.gx, grid.gy, grid.scores, levels=levels, cmap=cmap, alpha=0.25)
    return {c: series[k % len(series)] for k, c in enumerate(classes)}


def _scatter_points(ax: Any, classes: Sequence[float], colours: Mapping[float, str],
                    pts: Sequence[Sequence[float]], ys: Sequence[float],
                    tpts: Sequence[Sequence[float]], tys: Sequence[float]) -> None:
    """Draw the training points as filled circles and the test points as hollow squares."""
    split = bool(tpts)
    for c in classes:
        sel = [i for i, y in enumerate(ys) if y == c]
        if sel:
            ax.scatter([pts[i][0] for i in sel], [pts[i][1] for i in sel], s=20, c=colours[c],
                       edgecolors="black", linewidths=0.5,
                       label=f"train, label {c:g}" if split else f"label {c:g}")
        tsel = [i for i, y in enumerate(tys) if y == c]
        if tsel:
            ax.scatter([tpts[i][0] for i in tsel], [tpts[i][1] for i in tsel], s=34,
                       marker="s", facecolors="white", edgecolors=colours[c], linewidths=1.6,
                       label=f"test, label {c:g}")


def _boundary_legend(ax: Any, classes: Sequence[float], threshold: float,
                     score_margin: float | None) -> None:
    """The legend: the points' labels and, for a binary plot, the boundary and margin lines."""
    if len(classes) > 2:
        ax.legend(loc="best", fontsize=8)
        return
    from matplotlib.lines import Line2D

    extra = [Line2D([], [], color="black", linewidth=1.6, label="decision boundary")]
    if score_margin:
        extra.append(Line2D([], [], color="black", linewidth=0.9, linestyle="dashed",
                            label=f"margin: score = {threshold:g} ± {score_margin:g}"))
    handles, _ = ax.get_legend_handles_labels()
    ax.legend(handles=handles + extra, loc="best", fontsize=7, framealpha=0.85,
              title=f"red = label {classes[-1]:g}, blue = label {classes[0]:g}"
              if len(classes) == 2 else None, title_fontsize=7)


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
    pts, ys = _labelled_points(points, labels, what, test=False)
    tpts, tys = _labelled_points(test_points, test_labels, what, test=True)
    _check_grid_options(score_margin, resolution, what)
    out, suffix = _out_path(path, what)
    classes = sorted(set(ys) | set(tys))
    grid = _score_grid(predict, pts + tpts, resolution, margin, what)
    fig = _figure(what, figsize=(6.5, 5.2))
    ax = fig.add_subplot(1, 1, 1)
    if len(classes) <= 2:
        colours = _shade_scores(fig, ax, grid, classes, threshold, score_margin)
    else:
        colours = _shade_classes(ax, grid, classes)
    _scatter_points(ax, classes, colours, pts, ys, tpts, tys)
    _boundary_legend(ax, classes, threshold, score_margin)
    ax.set_xlim(grid.lo0, grid.hi0)
    ax.set_ylim(grid.lo1, grid.hi1)
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    ax.set_title(title or "decision boundary")
    return _save(fig, out, suffix)


def _grad_flow_runs(grad_flow: Any, what: str) -> dict[str, dict[str, list[float]]]:
    """``grad_flow`` as run -> layer -> floats (one run named "" when it is not nested).

    Raises:
        TypeError: if it is not a mapping of number sequences (or of such
            mappings), or mixes runs and layers.
        ValueError: if it or one of its runs is empty.
    """
    _check_mapping(grad_flow, what, "grad_flow")
    nested = [isinstance(v, Mapping) for v in grad_flow.values()]
    if not any(nested):
        return {"": {str(k): _series(v, what, str(k)) for k, v in grad_flow.items()}}
    if not all(nested):
        raise TypeError(
            f"{what}: mix of runs and layers; pass either layer -> list, or run -> "
            "(layer -> list)"
        )
    runs: dict[str, dict[str, list[float]]] = {}
    for run, flow in grad_flow.items():
        _check_mapping(flow, what, f"grad_flow[{run!r}]")
        layers = cast(Mapping[str, Sequence[float]], flow)
        runs[str(run)] = {str(k): _series(v, what, f"{run}/{k}") for k, v in layers.items()}
    return runs


def _flow_lines(ax: Any, flow: Mapping[str, Sequence[float]], floor: float, top: float,
                heads: str) -> list[float]:
    """Draw one line per layer over the epochs (zeros as markers on the floor).

    Returns:
        Each layer's mean |grad| over its finite epochs (NaN when none is).
    """
    from matplotlib.ticker import MaxNLocator

    means: list[float] = []
    for layer, ys in flow.items():
        xs = list(range(1, len(ys) + 1))
        shown = [y if (math.isfinite(y) and y > 0) else math.nan for y in ys]
        (line,) = ax.plot(xs, shown, marker="o" if len(ys) <= 30 else None,
                          markersize=3, label=layer,
                          color=palette.SERIES[len(means) % len(palette.SERIES)])
        zeros = [x for x, y in zip(xs, ys) if y == 0.0]
        if zeros:
            ax.plot(zeros, [floor] * len(zeros), "v", color=line.get_color())
        finite = [abs(y) for y in ys if math.isfinite(y)]
        means.append(sum(finite) / len(finite) if finite else math.nan)
    ax.set_yscale("log")
    ax.set_ylim(floor, top)
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("mean |grad|")
    ax.set_title(f"{heads}mean |grad| per layer over training")
    ax.grid(True, which="both", alpha=0.25)
    ax.legend(fontsize=8)
    return means


def _flow_bars(ax: Any, names: Sequence[str], means: Sequence[float], floor: float,
               top: float, heads: str) -> None:
    """Draw each layer's mean |grad| as a bar, input side first (non-positive ones at the floor)."""
    heights = [m if (math.isfinite(m) and m > 0) else floor for m in means]
    ax.bar(range(len(names)), heights, color=palette.MUTED, edgecolor="black")
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels(names, rotation=30, ha="right", fontsize=8)
    ax.set_yscale("log")
    ax.set_ylim(floor, top)
    ax.set_ylabel("mean |grad| over epochs")
    ax.set_title(f"{heads}input side → output side")
    ax.grid(True, axis="y", which="both", alpha=0.25)


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
    runs = _grad_flow_runs(grad_flow, what)
    out, suffix = _out_path(path, what)
    positives = [y for flow in runs.values() for ys in flow.values() for y in ys
                 if math.isfinite(y) and y > 0]
    floor = min(positives) / 3 if positives else 1e-12
    top = max(positives) * 3 if positives else 1.0
    fig = _figure(what, figsize=(11.0, 3.8 * len(runs)))
    for r, (run, flow) in enumerate(runs.items()):
        left = fig.add_subplot(len(runs), 2, 2 * r + 1)
        right = fig.add_subplot(len(runs), 2, 2 * r + 2)
        heads = f"{run}: " if run else ""
        means = _flow_lines(left, flow, floor, top, heads)
        _flow_bars(right, list(flow), means, floor, top, heads)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return _save(fig, out, suffix)
