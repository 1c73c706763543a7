"""What every lesson shares: its context (output folder, seed, figures) and its summary pages.

A lesson is a function ``run(ctx) -> None`` that trains or computes something
on chainrule's engine, records what it measured with :meth:`Context.measure`,
states its claims in numbers with :meth:`Context.claim`, and draws its pictures
with :meth:`Context.figure` / :meth:`Context.save`. :func:`run_lesson` runs one
and then writes the lesson's ``README.md`` and ``index.html`` (pictures inlined,
so the page works on its own) and returns a :class:`LessonResult`.

Figures are matplotlib ``Figure`` objects made without pyplot (no global
backend), written as SVG reproducibly (fixed hash salt, no date) and atomically.
"""

from __future__ import annotations

import io
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from visualize.escape import html_attr, html_text, shell
from visualize.outputs import OutputPathError, output_dir, write_file
from visualize.plots import PlotDependencyError

__all__ = [
    "Context",
    "Lesson",
    "LessonError",
    "LessonResult",
    "new_figure",
    "run_lesson",
    "save_figure",
    "svg_body",
]


class LessonError(RuntimeError):
    """A lesson cannot run or cannot write its files; the message says why and what to do."""


@dataclass(frozen=True)
class Lesson:
    """One lesson of the registry.

    Attributes:
        name: the command-line name (``chainrule lesson NAME``).
        title: the page title.
        summary: one line: what the lesson shows.
        idea: a paragraph: the idea from the articles, in words, before any number.
        run: ``run(ctx)``: computes, measures, claims and draws.
    """

    name: str
    title: str
    summary: str
    idea: str
    run: Callable[[Context], None]


@dataclass
class Picture:
    """A file the lesson wrote, with a caption saying what to look at."""

    path: Path
    caption: str
    kind: str = "svg"  # "svg" (inlined into the page) or "page" / "file" (linked)


@dataclass
class LessonResult:
    """What a lesson run measured and wrote.

    Attributes:
        name, title: the lesson's.
        seed: the seed of this run.
        claims: the claims, each a sentence with the numbers of this run.
        measured: name -> number (or list/dict of numbers) the claims come from.
        pictures: the pictures and pages, with captions.
        readme, index: the summary files.
        seconds: the lesson's wall-clock time (computing and drawing).
    """

    name: str
    title: str
    seed: int
    claims: list[str]
    measured: dict[str, Any]
    pictures: list[Picture]
    readme: Path
    index: Path
    seconds: float

    @property
    def files(self) -> list[Path]:
        """Every file written: the pictures and pages, then README.md and index.html."""
        return [p.path for p in self.pictures] + [self.readme, self.index]


@dataclass
class Context:
    """The lesson's working state: where to write, the seed, and what it found.

    Attributes:
        out: the output folder (exists).
        seed: the seed every random choice of the lesson derives from.
        echo: prints one line of progress or measurement (``print`` by default).
        backend: where :meth:`sweep` runs many runs (an ``nn.sweep`` backend).
    """

    out: Path
    seed: int
    echo: Callable[[str], None] = print
    backend: str = "serial"
    claims: list[str] = field(default_factory=list)
    measured: dict[str, Any] = field(default_factory=dict)
    pictures: list[Picture] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    live: tuple[str, str, str] | None = None  # (what to try, the command, the page's URL)

    def measure(self, **values: Any) -> None:
        """Record measurements (numbers, or lists/dicts of numbers) by name."""
        self.measured.update(values)

    def claim(self, text: str) -> None:
        """State one claim of this run, in numbers; it is printed and put on the pages."""
        self.claims.append(text)
        self.echo(f"  claim: {text}")

    def sweep(self, fn: Callable[[dict[str, Any], int], dict[str, Any]],
              grid: dict[str, list[Any]] | list[dict[str, Any]],
              seeds: Any = (0,)) -> list[dict[str, Any]]:
        """Run ``fn(point, seed)`` over ``grid`` and ``seeds`` with ``nn.sweep`` on the backend.

        Returns:
            The rows in grid order (settings, ``seed`` and ``fn``'s results).

        Raises:
            LessonError: if a run failed (its error) or the sweep was interrupted.
        """
        import nn

        rows = nn.sweep(fn, grid, seeds=seeds, backend=self.backend, progress=False)
        bad = [r for r in rows if r.get("error")]
        if bad or rows.interrupted:
            why = bad[0]["error"] if bad else "interrupted"
            raise LessonError(f"a run of the lesson's sweep failed ({why}); run again with "
                              "--backend serial to see it")
        return list(rows)

    def playground(self, what: str, **settings: Any) -> Path:
        """Write ``playground.json``: the lesson's settings for ``chainrule playground``.

        Args:
            what: what to try there (a sentence shown with the command).
            settings: :class:`visualize.app.playground.state.PlaygroundState` fields.

        Returns:
            The state file's path; the pages show the command that opens it and the
            playground URL with the settings in its fragment.
        """
        from visualize.app.playground.state import PlaygroundState, save_state, to_fragment

        state = PlaygroundState.from_dict({**PlaygroundState().to_dict(), **settings})
        path = save_state(state, self.out / "playground.json")
        command = f"chainrule playground --state {shell(str(path))}"
        self.live = (what, command, f"http://127.0.0.1:8765/#state={to_fragment(state)}")
        return path

    def note(self, text: str) -> None:
        """Add a line of explanation shown under the claims (how to read, what was run)."""
        self.notes.append(text)

    def save(self, fig: Any, name: str, caption: str) -> Path:
        """Write ``fig`` as ``name`` (an .svg file) in the output folder, with a caption."""
        path = save_figure(fig, self.out / name)
        self.pictures.append(Picture(path, caption))
        return path

    def add_file(self, path: Path, caption: str, kind: str = "page") -> None:
        """List a file the lesson wrote itself (an HTML page, a text file) on its pages."""
        self.pictures.append(Picture(Path(path), caption, kind))

    def draw_backward(self, root: Any, title: str) -> tuple[Path, Any] | str:
        """Draw ``root``'s graph (edges labelled by their partials) and its backward pass.

        Writes ``graph.svg`` and the step-by-step page in ``backward/`` (not
        listed on the pages: the lesson captions them).

        Returns:
            ``(the graph's path, visualize.render_backward's frames)``, or, when
            Graphviz is missing, the error's text.
        """
        import visualize

        try:
            graph = visualize.render(root, self.out / "graph.svg", partials=True, title=title)
            frames = visualize.render_backward(root, self.out / "backward", title=title)
        except visualize.GraphvizNotFoundError as e:
            return str(e)
        return graph, frames


def new_figure(width: float, height: float) -> Any:
    """Return a matplotlib ``Figure`` of ``width`` x ``height`` inches (no pyplot).

    Raises:
        PlotDependencyError: if matplotlib is missing.
    """
    try:
        from matplotlib.figure import Figure
    except ImportError as e:
        raise PlotDependencyError(
            "chainrule lesson: matplotlib is not installed; install the plot extra: "
            "pip install 'chainrule[plot]'"
        ) from e
    return Figure(figsize=(width, height))


def _write_atomic(path: Path, data: bytes) -> None:
    write_file(path, data, "lesson")  # the output rule: regular files, atomic, folders made


def write_text(path: Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically and return the path."""
    _write_atomic(path, text.encode("utf-8"))
    return path


def save_figure(fig: Any, path: Path) -> Path:
    """Write a matplotlib figure as SVG: reproducible bytes, written atomically."""
    from matplotlib import rc_context

    buf = io.BytesIO()
    with rc_context({"svg.hashsalt": "chainrule-lessons", "svg.fonttype": "none"}):
        fig.savefig(buf, format="svg", metadata={"Date": None}, bbox_inches="tight")
    _write_atomic(path, buf.getvalue())
    return path


_PROLOG = re.compile(r"\A(?:<\?xml[^>]*\?>\s*)?(?:<!DOCTYPE[^>]*>\s*)?(?:<!--.*?-->\s*)*",
                     re.DOTALL)


def svg_body(path: Path) -> str:
    """Return an SVG file's markup without its XML prolog, ready to inline in HTML."""
    return _PROLOG.sub("", path.read_text(encoding="utf-8"))


def make_out_dir(out: str | os.PathLike[str]) -> Path:
    """Create the output folder with its parents (the rule of :mod:`visualize.outputs`).

    Raises:
        LessonError: if it cannot be created or written (one line: the folder and the reason).
    """
    try:
        return output_dir(out, "-o")
    except OutputPathError as e:
        raise LessonError(str(e)) from None


STYLE = """
body { font-family: Helvetica, Arial, sans-serif; margin: 1.5em auto; max-width: 70em;
       color: #222; line-height: 1.45; padding: 0 1em; }
h1 { margin-bottom: 0.2em; }
.claims li { margin: 0.3em 0; }
.claims { background: #f3f7fb; border-left: 4px solid #4575b4; padding: 0.6em 1.2em 0.6em 2em; }
figure { margin: 1.2em 0; overflow-x: auto; }
figure svg { max-width: 100%; height: auto; }
figcaption { color: #444; font-size: 0.95em; margin-top: 0.3em; }
.meta { color: #666; font-size: 0.9em; }
code { background: #f4f4f4; padding: 0 0.2em; }
"""


def _rel(path: Path, out: Path) -> str:
    return Path(os.path.relpath(path, out)).as_posix()


def _md_page(lesson: Lesson, ctx: Context, seconds: float) -> str:
    lines = [f"# {lesson.title}", "", lesson.idea, "",
             f"`chainrule lesson {lesson.name} --seed {ctx.seed}` measured, in this run:", ""]
    lines += [f"- {c}" for c in ctx.claims]
    if ctx.notes:
        lines += ["", *ctx.notes]
    lines.append("")
    for pic in ctx.pictures:
        rel = _rel(pic.path, ctx.out)
        if pic.kind == "svg":
            lines += [f"![{pic.caption}]({rel})", "", f"*{pic.caption}*", ""]
        else:
            lines += [f"- [{rel}]({rel}): {pic.caption}", ""]
    if ctx.live:
        what, command, url = ctx.live
        lines += [f"Try it live: {what} `{command}` (or, with the playground already running, "
                  f"[open these settings]({url})).", ""]
    lines.append(f"Runtime: {seconds:.1f} s. Open `index.html` for the page with every picture.")
    return "\n".join(lines) + "\n"


def _html_page(lesson: Lesson, ctx: Context, seconds: float) -> str:
    e = html_text
    parts = [f"<h1>{e(lesson.title)}</h1>", f"<p>{e(lesson.idea)}</p>",
             f"<p>Measured in this run (<code>chainrule lesson {e(lesson.name)} --seed "
             f"{ctx.seed}</code>):</p>",
             '<ul class="claims">' + "".join(f"<li>{e(c)}</li>" for c in ctx.claims) + "</ul>"]
    parts += [f"<p>{e(n)}</p>" for n in ctx.notes]
    for pic in ctx.pictures:
        name = e(_rel(pic.path, ctx.out))
        if pic.kind == "svg":
            parts.append(f'<figure id="{e(pic.path.stem)}">{svg_body(pic.path)}'
                         f"<figcaption>{e(pic.caption)}</figcaption></figure>")
        else:
            parts.append(f'<p class="link"><a href="{name}">{name}</a>: {e(pic.caption)}</p>')
    if ctx.live:
        what, command, url = ctx.live
        parts.append(f'<p class="live">Try it live: {e(what)} <code>{e(command)}</code> (or, '
                     f'with the playground already running, <a href="{html_attr(url)}">open '
                     "these settings</a>).</p>")
    parts.append(f'<p class="meta">Runtime {seconds:.1f} s, seed {ctx.seed}. '
                 '<a href="../index.html">All lessons</a> (when run with '
                 "<code>chainrule lesson all</code>).</p>")
    return page(lesson.title, "\n".join(parts))


def page(title: str, body: str, *, style: str = "", script: str = "") -> str:
    """Return a self-contained HTML page (no network: styles and scripts inline)."""
    js = f"<script>\n{script}\n</script>\n" if script else ""
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f"<title>{html_text(title)}</title>\n<style>{STYLE}{style}</style>\n</head>\n"
            f"<body>\n{body}\n{js}</body>\n</html>\n")


def run_lesson(lesson: Lesson, out: str | os.PathLike[str], seed: int = 0,
               echo: Callable[[str], None] = print, backend: str = "serial") -> LessonResult:
    """Run ``lesson`` into ``out`` (created with its parents) and write its summary.

    Returns:
        The :class:`LessonResult`: claims, measurements, files, runtime.

    Raises:
        LessonError: if the folder cannot be created or written.
        PlotDependencyError: if matplotlib is missing.
    """
    path = make_out_dir(out)
    ctx = Context(path, int(seed), echo, backend)
    echo(f"lesson {lesson.name}: {lesson.summary}")
    started = time.perf_counter()
    try:
        lesson.run(ctx)
        seconds = time.perf_counter() - started
        readme = write_text(path / "README.md", _md_page(lesson, ctx, seconds))
        index = write_text(path / "index.html", _html_page(lesson, ctx, seconds))
    except OSError as e:
        where = f" {e.filename!r}" if getattr(e, "filename", None) else f" {str(path)!r}"
        raise LessonError(f"cannot write{where}: {e.strerror or e}") from None
    echo(f"  wrote {len(ctx.pictures)} pictures/pages, README.md and index.html to {path} "
         f"in {seconds:.1f} s")
    return LessonResult(lesson.name, lesson.title, ctx.seed, list(ctx.claims),
                        dict(ctx.measured), list(ctx.pictures), readme, index, seconds)
