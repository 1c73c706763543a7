"""Lesson placeholder being written."""
from visualize.lessons._base import Context, Lesson


def run(ctx: Context) -> None:
    raise NotImplementedError


LESSON = Lesson(name="playground", title="playground", summary="(in progress)", idea="", run=run)
