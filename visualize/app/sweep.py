"""``chainrule sweep``: the ``train`` command over lists of settings and seeds, via ``nn.sweep``.

Every ``train`` setting takes a comma list (``--lr 0.001,0.01,0.1``), the
integer ones also ranges (``--seeds 0-9``, ``--epochs 10-12,50``), and
``--hidden`` alternatives separated by ``/`` (``--hidden 8,8/16,16``: two
models of two layers). Each combination runs once per seed on the chosen
backend (``nn.sweep``'s); DIR gets ``sweep.csv`` (one row per run) and
``sweep.svg`` (the metric against each swept setting, every seed's run as a
dot, the mean over seeds as a line). Ctrl-C stops the sweep and writes the
runs finished so far.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import nn
from nn.sweep import BACKENDS
from visualize import palette
from visualize.outputs import OutputPathError, describe_os_error, output_dir

__all__ = ["MAX_RUNS", "METRICS", "add_parser", "run_training"]

#: what each run reports; --metric picks the one the picture shows
METRICS = ("test_accuracy", "test_loss", "train_accuracy", "train_loss")
#: most runs one command starts
MAX_RUNS = 10_000

#: the swept settings, in the order of the table's columns
SETTINGS = ("data", "samples", "noise", "hidden", "activation", "optimizer", "lr", "epochs",
            "batch_size", "l2", "test_size")


def run_training(point: dict[str, Any], seed: int) -> dict[str, Any]:
    """One run of ``chainrule train`` at ``point`` (a dict of :data:`SETTINGS`) with ``seed``.

    The data set is drawn with ``point["data_seed"]`` (the same for every
    run); ``seed`` initialises the model and orders the batches.

    Returns:
        ``{"train_loss", "train_accuracy", "test_loss", "test_accuracy", "epochs_run"}``.
    """
    from visualize.app.cli import train_data

    X_train, X_test, y_train, y_test, _ = train_data(
        point["data"], point["samples"], point["noise"], point["test_size"], point["data_seed"])
    classes = max(y_train + y_test) + 1
    model = nn.MLP(len(X_train[0]), [*point["hidden"], 1 if classes == 2 else classes],
                   activation=point["activation"], seed=seed)
    history = nn.fit(model, X_train, y_train, epochs=point["epochs"],
                     batch_size=point["batch_size"], optimizer=point["optimizer"],
                     lr=point["lr"], l2=point["l2"], seed=seed, progress=False, pause_gc=True)
    train_loss, train_acc = nn.evaluate(model, X_train, y_train)
    test_loss, test_acc = nn.evaluate(model, X_test, y_test)
    return {"train_loss": train_loss, "train_accuracy": train_acc, "test_loss": test_loss,
            "test_accuracy": test_acc, "epochs_run": history.epochs_run}


# ---------------------------------------------------------------------------
# the lists of settings


def _int_list(limit: int | None, minimum: int = 1) -> Callable[[str], list[int]]:
    """An argparse type: ``1,2,5`` or ``0-9`` or both (``0-3,8``), each in minimum..limit."""

    def parse(text: str) -> list[int]:
        out: list[int] = []
        for part in (p.strip() for p in text.split(",")):
            lo, sep, hi = part.partition("-") if not part.startswith("-") else (part, "", "")
            try:
                a = int(lo)
                b = int(hi) if sep else a
            except ValueError:
                raise argparse.ArgumentTypeError(
                    f"expected integers or ranges such as 0-9 or 1,2,5, got {part[:40]!r}"
                ) from None
            if b < a:
                raise argparse.ArgumentTypeError(f"the range {part!r} runs backwards; "
                                                 f"write {b}-{a}")
            if b - a >= MAX_RUNS:
                raise argparse.ArgumentTypeError(f"the range {part!r} has over {MAX_RUNS} "
                                                 "values")
            for v in (a, b):
                if v < minimum or (limit is not None and v > limit):
                    bound = f"at least {minimum}" + (f" and at most {limit}" if limit else "")
                    raise argparse.ArgumentTypeError(f"{v} is out of range: must be {bound}")
            out.extend(range(a, b + 1))
        return _unique(out, text)

    parse.__name__ = "integer list"
    return parse


def _float_list(check: Callable[[str], float]) -> Callable[[str], list[float]]:
    """An argparse type: comma-separated numbers, each checked as ``train`` checks one."""

    def parse(text: str) -> list[float]:
        return _unique([check(t.strip()) for t in text.split(",")], text)

    parse.__name__ = "number list"
    return parse


def _choice_list(choices: Sequence[str]) -> Callable[[str], list[str]]:
    def parse(text: str) -> list[str]:
        out = [t.strip() for t in text.split(",")]
        for t in out:
            if t not in choices:
                raise argparse.ArgumentTypeError(f"unknown {t[:40]!r}; choose from "
                                                 f"{', '.join(choices)}")
        return _unique(out, text)

    parse.__name__ = "choice list"
    return parse


def _hidden_list(text: str) -> list[list[int]]:
    from visualize.app import cli

    return _unique([cli._widths(t) for t in text.split("/")], text)


def _unique(values: list[Any], text: str) -> list[Any]:
    seen: list[Any] = []
    for v in values:
        if v in seen:
            raise argparse.ArgumentTypeError(f"{v!r} is listed twice in {text[:60]!r}")
        seen.append(v)
    return seen


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Declare ``chainrule sweep`` and its arguments on the CLI's subparsers."""
    from visualize.app import cli

    p = sub.add_parser(
        "sweep",
        help="train many MLPs: lists of train settings x seeds, on local cores or a cluster",
        description="Run `chainrule train` for every combination of the listed settings and "
        "every seed (nn.sweep), with a progress bar over the runs, on this machine's cores "
        "(default), in this process, or on a Dask or Ray cluster (--backend, --address). "
        "Settings take comma lists (--lr 0.001,0.01,0.1), integer ones also ranges "
        "(--seeds 0-9); --hidden alternatives are separated by / (--hidden 8,8/16,16). "
        "The data set is drawn once (--data-seed); each run's seed initialises the model "
        "and orders the batches. DIR gets sweep.csv (one row per run) and sweep.svg "
        "(--metric against each swept setting, spread over seeds). A run that fails is a "
        "row with its error; Ctrl-C stops and writes the finished runs. Exit status 0 when "
        f"any run finished, 1 when every run failed. Limits: {MAX_RUNS} runs, and train's.",
    )
    train_limits = {"samples": cli.MAX_SAMPLES, "epochs": cli.MAX_EPOCHS}
    p.add_argument("--data", type=_choice_list(nn.data.DATASETS), default=["moons"],
                   metavar="NAMES", help="data sets, from " + ", ".join(nn.data.DATASETS)
                   + " (default: moons)")
    p.add_argument("--samples", type=_int_list(train_limits["samples"]), default=[300],
                   metavar="N,...", help="points of a generated data set (default: 300)")
    p.add_argument("--noise", type=_float_list(cli._nonnegative_float), default=[0.1],
                   metavar="X,...", help="noise of a generated data set (default: 0.1)")
    p.add_argument("--hidden", type=_hidden_list, default=[[16, 16]], metavar="W1,W2/...",
                   help="hidden layer widths; / separates models (default: 16,16)")
    p.add_argument("--activation", type=_choice_list(nn.fused.ACTIVATIONS), default=["relu"],
                   metavar="NAMES", help="hidden activations, from "
                   + ", ".join(nn.fused.ACTIVATIONS) + " (default: relu)")
    p.add_argument("--optimizer", type=_choice_list(tuple(nn.training.OPTIMIZERS)),
                   default=["adam"], metavar="NAMES",
                   help="optimizers, from " + ", ".join(nn.training.OPTIMIZERS)
                   + " (default: adam)")
    p.add_argument("--lr", type=_float_list(cli._positive_float), default=[None],
                   metavar="X,...", help="learning rates (default: 0.1 for sgd, 0.01 otherwise)")
    p.add_argument("--epochs", type=_int_list(train_limits["epochs"]), default=[50],
                   metavar="N,...", help="passes over the training data (default: 50)")
    p.add_argument("--batch-size", type=_int_list(None), default=[32], metavar="N,...",
                   help="samples per step (default: 32)")
    p.add_argument("--l2", type=_float_list(cli._nonnegative_float), default=[0.0],
                   metavar="X,...", help="L2 penalty strengths (default: 0.0)")
    p.add_argument("--test-size", type=_float_list(cli._fraction), default=[0.2],
                   metavar="X,...", help="held-out fractions (default: 0.2)")
    p.add_argument("--seeds", type=_int_list(None, minimum=0), default=list(range(5)),
                   metavar="S,...", help="the seeds every combination runs with (default: 0-4)")
    p.add_argument("--data-seed", type=int, default=0,
                   help="the seed that draws the data set (default: %(default)s)")
    p.add_argument("--metric", choices=METRICS, default="test_accuracy",
                   help="what the picture shows (default: %(default)s)")
    p.add_argument("--backend", choices=BACKENDS, default="processes",
                   help="where the runs go: serial (this process), processes (this machine's "
                        "cores), dask or ray (a cluster; extras chainrule[dask], "
                        "chainrule[ray]) (default: %(default)s)")
    p.add_argument("--address", default=None,
                   help="the cluster: a Dask scheduler (tcp://host:8786) or Ray "
                        "(ray://host:10001, auto); default: a local one")
    p.add_argument("--jobs", type=cli._positive_int, default=None, metavar="N",
                   help="worker processes on this machine (default: every core)")
    p.add_argument("-o", "--out", default="chainrule-out/sweep", metavar="DIR",
                   help="folder for sweep.csv and sweep.svg (default: %(default)s)")
    p.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    p.set_defaults(func=command, sweep_parser=p)


# ---------------------------------------------------------------------------
# running it


def _grid(args: argparse.Namespace) -> dict[str, list[Any]]:
    grid = {name: list(getattr(args, name)) for name in SETTINGS}
    grid["data_seed"] = [args.data_seed]
    return grid


def _check(args: argparse.Namespace, grid: dict[str, list[Any]]) -> str | None:
    """Why the sweep is refused before any run (too many runs, a model over train's limit)."""
    from visualize.app import cli

    n = math.prod(len(v) for v in grid.values()) * len(args.seeds)
    if n > MAX_RUNS:
        return (f"{n} runs are over the limit of {MAX_RUNS}; list fewer settings or seeds")
    for widths in grid["hidden"]:
        for data in grid["data"]:
            nin, nout = (64, 10) if data == "digits" else (2, 3 if data in ("spirals",
                                                                              "blobs") else 1)
            size = cli._model_size(nin, [*widths, nout])
            if size > cli.MAX_TRAIN_PARAMETERS:
                return (f"--hidden {','.join(map(str, widths))} on {data}: {size} parameters "
                        f"are over the limit of {cli.MAX_TRAIN_PARAMETERS}; use narrower or "
                        "fewer layers")
    return None


def _fail(message: str, status: int = 1) -> int:
    print(f"chainrule sweep: error: {message}", file=sys.stderr)
    return status


def command(args: argparse.Namespace) -> int:
    """Run ``chainrule sweep``; returns the exit status."""
    try:  # the output folder is checked (or created) before any run
        out_dir = output_dir(args.out, "--out")
    except OutputPathError as exc:
        return _fail(str(exc), 2)
    if args.address is not None and args.backend not in ("dask", "ray"):
        return _fail(f"--address names a Dask or Ray cluster; add --backend dask or "
                     f"--backend ray (got --backend {args.backend})", 2)
    grid = _grid(args)
    refused = _check(args, grid)
    if refused is not None:
        return _fail(refused, 2)
    swept = [k for k in SETTINGS if len(grid[k]) > 1]
    n = math.prod(len(v) for v in grid.values()) * len(args.seeds)
    print(f"sweep: {n} runs ({' x '.join(f'{len(grid[k])} {k}' for k in swept) or '1 setting'}"
          f" x {len(args.seeds)} seeds) on {args.backend}")
    try:
        table = nn.sweep(run_training, grid, seeds=args.seeds, backend=args.backend,
                         n_jobs=args.jobs, progress=not args.no_progress, address=args.address)
    except (nn.SweepError, ImportError) as exc:
        return _fail(str(exc), 2)
    except OSError as exc:  # a cluster address that does not answer
        return _fail(f"--address {args.address!r}: {describe_os_error(exc)}", 2)
    _summary(table, swept, args.metric)
    written = _write(table, out_dir, swept, args.metric)
    if table.interrupted:
        print(f"chainrule sweep: interrupted (Ctrl-C) after {len(table)} of {table.total} "
              f"runs; the finished ones are in {written or 'no file (none had finished)'}",
              file=sys.stderr)
        return 130
    return 0 if len(table.errors) < len(table) else 1


def _label(key: str, value: Any) -> str:
    if isinstance(value, list):
        return ",".join(map(str, value))
    return "default" if value is None else f"{value:g}" if isinstance(value, float) \
        else str(value)


def _summary(table: nn.SweepResult, swept: list[str], metric: str) -> None:
    """Print the metric's mean and spread over seeds for each combination, and the failures."""
    groups: dict[tuple[str, ...], list[float]] = {}
    for row in table:
        key = tuple(f"{k}={_label(k, row[k])}" for k in swept)
        groups.setdefault(key, [])
        if row["error"] is None:
            groups[key].append(float(row[metric]))
    for key, values in groups.items():
        name = ", ".join(key) or "all runs"
        if values:
            spread = statistics.pstdev(values) if len(values) > 1 else 0.0
            print(f"  {name}: {metric} {statistics.fmean(values):.4f} ± {spread:.4f} "
                  f"(min {min(values):.4f}, max {max(values):.4f}, {len(values)} runs)")
        else:
            print(f"  {name}: no run finished")
    for row in table.errors[:3]:
        print(f"chainrule sweep: run {', '.join(f'{k}={_label(k, row[k])}' for k in swept)}"
              f"{', ' if swept else ''}seed={row['seed']} failed: {row['error']}",
              file=sys.stderr)
    if len(table.errors) > 3:
        print(f"chainrule sweep: {len(table.errors)} runs failed in all (see sweep.csv)",
              file=sys.stderr)


def _write(table: nn.SweepResult, out_dir: Path, swept: list[str], metric: str) -> str:
    """Write sweep.csv and sweep.svg (when any run finished); return what was written."""
    if not table:
        return ""
    written = []
    try:
        table.to_csv(out_dir / "sweep.csv")
        written.append(str(out_dir / "sweep.csv"))
        if len(table.errors) < len(table):
            written.append(str(_picture(table, out_dir / "sweep.svg", swept, metric)))
    except OSError as exc:
        print(f"chainrule sweep: error: cannot write to {str(out_dir)!r}: "
              f"{describe_os_error(exc)}", file=sys.stderr)
    except ImportError as exc:
        print(f"chainrule sweep: note: no picture: {exc}", file=sys.stderr)
    if written:
        print("wrote " + " and ".join(written))
    return " and ".join(written)


def _picture(table: nn.SweepResult, path: Path, swept: list[str], metric: str) -> Path:
    """The metric against each swept setting: one panel per setting, one line per
    combination of the others (mean over seeds), every run a dot, min..max shaded.

    Raises:
        ImportError: without matplotlib (the ``plot`` extra).
    """
    try:
        from matplotlib.figure import Figure
    except ImportError as e:
        raise ImportError("matplotlib is not installed; install the plot extra: pip install "
                          "'chainrule[plot]' (sweep.csv holds every run)") from e
    from visualize.app.lessons._base import save_figure

    done = [r for r in table if r["error"] is None]
    panels = swept or ["seed"]
    fig = Figure(figsize=(4.6 * len(panels), 3.8))
    for n, key in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), n + 1)
        _panel(ax, done, key, [k for k in swept if k != key], metric)
        if n:
            ax.set_ylabel("")
    seeds = sorted({r["seed"] for r in table})
    failed = f"; {len(table.errors)} failed runs left out (sweep.csv)" if table.errors else ""
    fig.suptitle(f"{metric.replace('_', ' ')} over {len(seeds)} seeds: a dot per run, the "
                 f"line their mean, shaded min..max{failed}", fontsize=10)
    return save_figure(fig, path)


def _panel(ax: Any, rows: list[dict[str, Any]], key: str, others: list[str],
           metric: str) -> None:
    xs = list(dict.fromkeys(_label(key, r[key]) for r in rows))
    lines: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        name = ", ".join(f"{k}={_label(k, r[k])}" for k in others)
        lines.setdefault(name, []).append(r)
    if len(lines) > len(palette.SERIES):  # too many to tell apart: one line over them all
        lines = {f"mean over the {len(lines)} combinations of " + ", ".join(others): rows}
    width = min(0.1, 0.3 / max(1, len(lines)))  # lines side by side, near their tick
    for j, (name, group) in enumerate(lines.items()):
        colour = palette.SERIES[j % len(palette.SERIES)]
        shift = (j - (len(lines) - 1) / 2) * width
        at: dict[str, list[float]] = {}
        for r in group:
            at.setdefault(_label(key, r[key]), []).append(float(r[metric]))
        pos = [xs.index(x) + shift for x in at]
        if key != "seed":
            ax.plot(pos, [statistics.fmean(v) for v in at.values()], "-o", color=colour,
                    markersize=4, label=name or "mean over seeds", zorder=3)
            ax.fill_between(pos, [min(v) for v in at.values()], [max(v) for v in at.values()],
                            color=colour, alpha=0.15, linewidth=0)
        for p, values in zip(pos, at.values()):
            ax.scatter([p] * len(values), values, s=10, color=colour, alpha=0.6,
                       edgecolors="none", zorder=2)
    ax.set_xticks(range(len(xs)))
    ax.set_xlim(-0.5, len(xs) - 0.5)
    ax.set_xticklabels(xs, rotation=30 if max(map(len, xs)) > 6 else 0)
    ax.set_xlabel(key.replace("_", " "))
    ax.set_ylabel(metric.replace("_", " "))
    values = [float(r[metric]) for r in rows]
    if "accuracy" in metric:
        ax.set_ylim(-0.02, 1.02)
    elif min(values) > 0 and max(values) / min(values) > 100:
        ax.set_yscale("log")
    ax.grid(True, alpha=0.3)
    if any(lines) and key != "seed":
        ax.legend(fontsize=7)
