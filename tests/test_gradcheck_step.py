"""gradcheck cannot be fooled by its step: tiny or huge fixed steps never pass a wrong derivative.

With ``eps=1e-300`` the step vanishes at the point (refused); with steps a little
above the float spacing, rounding makes the error estimate explode; with huge
steps truncation does. Either way a wrong derivative used to pass "within FD
error". Now the verdict is ``uncertain`` and the check fails unless
``allow_uncertain=True``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import autograd
from autograd import gradcheck, gradgradcheck
from autograd.custom import remove_op
from autograd.gradcheck import UNCERTAIN

few = settings(max_examples=min(settings().max_examples, 100))


@contextmanager
def square_with_derivative(factor: float) -> Iterator[object]:
    """``x*x`` whose derivative rule says ``factor * x`` (right only for factor 2)."""
    name = f"sq_{str(factor).replace('.', '_').replace('-', 'm')}"
    op = autograd.custom_op(name, forward=lambda x: x * x, derivative=lambda x: factor * x)
    try:
        yield op
    finally:
        remove_op(name)


@pytest.mark.parametrize("eps", [1e-300, 1e-200, 5e-324, 1e-17])
def test_a_step_below_the_float_spacing_is_refused(eps: float) -> None:
    with pytest.raises(ValueError, match=r"below the spacing of floats at inputs\[0\] = 0.7"):
        gradcheck(lambda x: x * x, [0.7], eps=eps)
    with pytest.raises(ValueError, match="below the spacing of floats"):
        gradgradcheck(lambda x: x * x * x, [0.7], eps=eps)


def test_a_step_beyond_the_float_range_is_refused() -> None:
    with pytest.raises(ValueError, match="beyond the float range"):
        gradcheck(lambda x: x * x, [1.0], eps=1e308)


@few
@given(exponent=st.floats(-15.7, -13.0), factor=st.sampled_from([3.0, 2.5, 1.0, 0.0, -2.0]),
       x=st.floats(0.3, 3.0))
def test_a_wrong_derivative_never_passes_with_a_tiny_step(exponent: float, factor: float,
                                                         x: float) -> None:
    eps = 10.0 ** exponent
    with square_with_derivative(factor) as op:
        try:
            result = gradcheck(lambda t: op(t), [x], eps=eps,  # type: ignore[operator]
                               raise_exception=False)
        except ValueError as e:  # refused: below the float spacing at x
            assert "below the spacing of floats" in str(e)
            return
    (entry,) = result.entries
    assert not result.passed
    assert entry.verdict in ("FAIL", UNCERTAIN)


@few
@given(eps=st.floats(1e3, 1e150), factor=st.sampled_from([3.0, 0.0, -2.0]))
def test_a_wrong_derivative_never_passes_with_a_huge_step(eps: float, factor: float) -> None:
    with square_with_derivative(factor) as op:
        result = gradcheck(lambda t: op(t).tanh(), [0.4], eps=eps,  # type: ignore[operator]
                           raise_exception=False)
    assert not result.passed


def test_an_uncertain_entry_says_so_and_fails_unless_allowed() -> None:
    result = gradcheck(lambda x: x * x, [0.7], eps=1e-16, raise_exception=False)
    (entry,) = result.entries
    assert entry.verdict == UNCERTAIN and not entry.passed and not result.passed
    assert "too small (rounding) or too large (truncation)" in str(result)
    with pytest.raises(autograd.GradcheckError, match="uncertain"):
        gradcheck(lambda x: x * x, [0.7], eps=1e-16)
    allowed = gradcheck(lambda x: x * x, [0.7], eps=1e-16, allow_uncertain=True)
    assert allowed.passed and allowed.entries[0].verdict == UNCERTAIN


def test_sensible_steps_still_pass_right_and_fail_wrong_derivatives() -> None:
    for eps in (None, 1e-8, 1e-5, 1e-3):
        with square_with_derivative(2.0) as ok:
            assert gradcheck(lambda t: ok(t), [0.7], eps=eps).passed  # type: ignore[operator]
        with square_with_derivative(2.2) as bad:
            r = gradcheck(lambda t: bad(t), [0.7], eps=eps, raise_exception=False)  # type: ignore[operator]
        assert not r.passed and r.entries[0].verdict == "FAIL"
    assert math.isfinite(gradcheck(lambda x: x.exp(), [1.0]).entries[0].error)
