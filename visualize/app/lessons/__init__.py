"""The lessons: each idea of backpropagation, seen happening on chainrule's engine.

``chainrule lesson NAME`` runs one lesson (:data:`LESSONS`, in teaching order):
it trains or computes on :mod:`autograd` and :mod:`nn`, prints what it
measured, and writes its pictures (SVG), a ``README.md`` and an ``index.html``
into a folder. ``chainrule lesson all`` runs them all and writes an index page
linking them. Every lesson is deterministic for a seed and states its claims
with the numbers of the run (:class:`LessonResult`), which the tests check.

One module per lesson; :mod:`visualize.app.lessons._base` holds the shared
context and page writing, :mod:`visualize.app.lessons._draw` the digit and
confusion-matrix drawings, :mod:`visualize.app.lessons._player` the page that
animates optimisation paths (``player.js``), and
:mod:`visualize.app.lessons.playground` the training replay page
(``playground.js``; also written by ``chainrule demo``). Lessons use only the public
APIs of :mod:`autograd`, :mod:`nn` and :mod:`visualize`; this package is
imported by the CLI only, never by :mod:`visualize` itself.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

from visualize.app.lessons import (
    autoencoder,
    chain_rule,
    digits,
    learning_rate,
    local_minima,
    loss_functions,
    optimizers,
    overfitting,
    playground,
    training_step,
    vanishing_gradients,
)
from visualize.app.lessons._base import (
    Context,
    Lesson,
    LessonError,
    LessonResult,
    make_out_dir,
    page,
    run_lesson,
    write_text,
)
from visualize.escape import html_text

__all__ = [
    "LESSONS",
    "Context",
    "Lesson",
    "LessonError",
    "LessonResult",
    "command",
    "get_lesson",
    "run",
    "run_all",
]

#: Every lesson by name, in teaching order.
LESSONS: dict[str, Lesson] = {
    m.LESSON.name: m.LESSON
    for m in (chain_rule, training_step, learning_rate, loss_functions, local_minima,
              vanishing_gradients, optimizers, overfitting, autoencoder, digits, playground)
}


def get_lesson(name: str) -> Lesson:
    """Return the lesson called ``name``.

    Raises:
        LessonError: for an unknown name, listing the known ones.
    """
    try:
        return LESSONS[name]
    except KeyError:
        raise LessonError(f"unknown lesson {name!r}; choose one of {', '.join(LESSONS)} "
                          "or all (chainrule lesson --list)") from None


def run(name: str, out: str | os.PathLike[str], seed: int = 0,
        echo: Callable[[str], None] = print, backend: str = "serial") -> LessonResult:
    """Run the lesson ``name`` into the folder ``out``; see :func:`run_lesson`.

    ``backend`` is where lessons that train many runs run them (``nn.sweep``'s backends).

    Raises:
        LessonError: for an unknown name or a folder that cannot be written.
    """
    return run_lesson(get_lesson(name), out, seed, echo, backend)


def run_all(out: str | os.PathLike[str], seed: int = 0, names: Sequence[str] | None = None,
            echo: Callable[[str], None] = print,
            backend: str = "serial") -> tuple[list[LessonResult], Path]:
    """Run every lesson (or ``names``) into ``out/NAME/`` and write ``out/index.html``.

    Returns:
        The results and the index page's path.

    Raises:
        LessonError: for an unknown name or a folder that cannot be written.
    """
    lessons = [get_lesson(n) for n in (names if names is not None else LESSONS)]
    root = make_out_dir(out)
    results = [run_lesson(lesson, root / lesson.name, seed, echo, backend) for lesson in lessons]
    index = write_index(root, results)
    echo(f"wrote {index}")
    return results, index


def write_index(root: Path, results: Sequence[LessonResult]) -> Path:
    """Write ``root/index.html``: one entry per lesson with its claims and a link."""
    e = html_text
    items = []
    for r in results:
        claims = "".join(f"<li>{e(c)}</li>" for c in r.claims)
        items.append(f'<section class="lesson"><h2><a href="{e(r.name)}/index.html">'
                     f"{e(r.title)}</a></h2><p><code>chainrule lesson {e(r.name)}</code> "
                     f"({r.seconds:.1f} s)</p><ul class=\"claims\">{claims}</ul></section>")
    total = sum(r.seconds for r in results)
    body = ("<h1>chainrule lessons: backpropagation, seen happening</h1>"
            "<p>Each lesson ran on chainrule's engine; the numbers below were measured in "
            f"this run (seed {results[0].seed if results else 0}, {total:.0f} s in all).</p>"
            + "\n".join(items))
    try:
        return write_text(root / "index.html", page("chainrule lessons", body))
    except OSError as e:
        raise LessonError(f"cannot write {str(root / 'index.html')!r}: "
                          f"{e.strerror or e}") from None


def listing() -> str:
    """Return ``chainrule lesson --list``'s text: one line per lesson, name first."""
    width = max(len(n) for n in LESSONS)
    return "\n".join(f"{n:<{width}}  {lesson.summary}" for n, lesson in LESSONS.items())


def command(name: str | None, out: str | None, seed: int, list_only: bool,
            backend: str = "serial") -> int:
    """Run ``chainrule lesson``; returns the exit status.

    Args:
        name: a lesson name, ``"all"`` or None (with ``list_only``).
        out: the output folder; default ``chainrule-out/lessons/NAME`` for one
            lesson, ``chainrule-out/lessons`` for all.
        seed: the seed.
        list_only: print the list of lessons and stop.
        backend: the ``nn.sweep`` backend for lessons that train many runs.

    Raises:
        LessonError: for an unknown name or a folder that cannot be written
            (the CLI prints it as one line).
    """
    if list_only or name is None:
        print(listing())
        return 0
    if name == "all":
        run_all("chainrule-out/lessons" if out is None else out, seed, backend=backend)
        return 0
    lesson = get_lesson(name)
    run_lesson(lesson, f"chainrule-out/lessons/{lesson.name}" if out is None else out, seed,
               backend=backend)
    return 0
