"""Shared pytest configuration: Hypothesis profiles.

``default`` is fast (for a developer's loop) and random; ``ci`` is thorough and
reproducible (derandomized), and is chosen when the ``CI`` environment variable
is set, or with ``--hypothesis-profile=ci``.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "default",
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "ci",
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
    # the same examples on every CI run, so that a red CI is reproducible; the
    # default profile keeps exploring new examples on every developer run
    derandomize=True,
)
settings.load_profile("ci" if os.environ.get("CI") else "default")
