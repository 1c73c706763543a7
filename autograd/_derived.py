"""The op table's derived forms, generated from its formulas: do not edit.

Written by ``python -m autograd.codegen`` from the ``define_op`` entries of
:mod:`autograd.ops` (a test fails when this file drifts from them). For each
built-in op: the float rules ``_<op>_forward`` (unless the forward is a
helper itself) and ``_<op>_local``, the Value rule ``_<op>_value`` used by
``create_graph``, and in :data:`RULES` the formula they were rendered from,
the compile templates (``None`` for variadic ops: rendered when compiled),
the helper names the templates call and the README's texts.
:func:`autograd.ops.define_op` uses an entry only while its formula is the
one recorded here.
"""
# ruff: noqa: E501

from __future__ import annotations

import operator
from builtins import abs as _abs
from builtins import max as _max
from builtins import max as _max_of
from builtins import min as _min
from math import erf as _erf
from math import tanh as _tanh
from typing import Any

from autograd.formula import (
    _d,
    _v_cos,
    _v_div,
    _v_erf,
    _v_exp,
    _v_log,
    _v_pow,
    _v_sigmoid,
    _v_sin,
    _v_tie_share,
)
from autograd.numerics import cos as _cos
from autograd.numerics import div as _div
from autograd.numerics import exp as _exp
from autograd.numerics import fsum as _fsum
from autograd.numerics import log as _log
from autograd.numerics import logsumexp as _logsumexp
from autograd.numerics import pow as _pow
from autograd.numerics import sigmoid as _sigmoid
from autograd.numerics import sin as _sin
from autograd.numerics import softplus as _softplus
from autograd.numerics import sqrt as _sqrt
from autograd.numerics import sumprod as _sumprod
from autograd.numerics import tie_share as _tie_share

_INF = float('inf')
_INV_SQRT_2PI = 0.3989422804014327
_NAN = float('nan')
_SQRT1_2 = 0.7071067811865476
_TWO_OVER_SQRT_PI = 1.1283791670955126


def _add_local(out: float, a: float, b: float) -> tuple[float, float]:
    return (1.0, 1.0)


def _add_value(o: tuple[Any, ...], out: Any, wrt: int) -> Any:
    if wrt == 0:
        return 1.0
    return 1.0


def _sub_local(out: float, a: float, b: float) -> tuple[float, float]:
    return (1.0, -1.0)


def _sub_value(o: tuple[Any, ...], out: Any, wrt: int) -> Any:
    if wrt == 0:
        return 1.0
    return -1.0


def _mul_local(out: float, a: float, b: float) -> tuple[float, float]:
    return (b, a)


def _mul_value(o: tuple[Any, ...], out: Any, wrt: int) -> Any:
    a, b = o
    if wrt == 0:
        return b
    return a


def _addcmul_forward(a: float, b: float, c: float) -> float:
    return a + b * c


def _addcmul_local(out: float, a: float, b: float, c: float) -> tuple[float, float, float]:
    return (1.0, c, b)


def _addcmul_value(o: tuple[Any, ...], out: Any, wrt: int) -> Any:
    _a, b, c = o
    if wrt == 0:
        return 1.0
    if wrt == 1:
        return c
    return b


def _div_local(out: float, a: float, b: float) -> tuple[float, float]:
    return (_div(1.0, b), -_div(a, b * b))


def _div_value(o: tuple[Any, ...], out: Any, wrt: int) -> Any:
    a, b = o
    if wrt == 0:
        return _v_div(1.0, b)
    return -_v_div(a, b * b)


def _pow_local(out: float, a: float, b: float) -> tuple[float, float]:
    return ((0.0 if b == 0.0 and (a == 0.0 or a != a) else b * _pow(a, b - 1.0)), (0.0 if a == 0.0 and b >= 0.0 else out * _log(a)))


def _pow_value(o: tuple[Any, ...], out: Any, wrt: int) -> Any:
    a, b = o
    if wrt == 0:
        return (0.0 if _d(b) == 0.0 and (_d(a) == 0.0 or _d(a) != _d(a)) else b * _v_pow(a, b - 1.0))
    return (0.0 if _d(a) == 0.0 and _d(b) >= 0.0 else out * _v_log(a))


def _neg_local(out: float, x: float) -> tuple[float]:
    return (-1.0,)


def _neg_value(o: tuple[Any, ...], out: Any, wrt: int) -> Any:
    return -1.0


def _exp_local(out: float, x: float) -> tuple[float]:
    return (out,)


def _exp_value(o: tuple[Any, ...], out: Any, wrt: int) -> Any:
    return out


def _log_local(out: float, x: float) -> tuple[float]:
    return (_div(1.0, x),)


def _log_value(o: tuple[Any, ...], out: Any, wrt: int) -> Any:
    x, = o
    return _v_div(1.0, x)


def _sqrt_local(out: float, x: float) -> tuple[float]:
    return (_div(0.5, out),)


def _sqrt_value(o: tuple[Any, ...], out: Any, wrt: int) -> Any:
    return _v_div(0.5, out)


def _tanh_local(out: float, x: float) -> tuple[float]:
    return (1.0 - out * out,)


def _tanh_value(o: tuple[Any, ...], out: Any, wrt: int) -> Any:
    return 1.0 - out * out


def _sigmoid_local(out: float, x: float) -> tuple[float]:
    return (out * (1.0 - out),)


def _sigmoid_value(o: tuple[Any, ...], out: Any, wrt: int) -> Any:
    return out * (1.0 - out)


def _relu_forward(x: float) -> float:
    return (0.0 if x <= 0.0 else x)


def _relu_local(out: float, x: float) -> tuple[float]:
    return ((1.0 if out > 0.0 else 0.0),)


def _relu_value(o: tuple[Any, ...], out: Any, wrt: int) -> Any:
    return (1.0 if _d(out) > 0.0 else 0.0)


def _leaky_relu_forward(x: float, slope: float) -> float:
    return (x if x > 0.0 else x * slope)


def _leaky_relu_local(out: float, x: float, slope: float) -> tuple[float]:
    return ((1.0 if x > 0.0 else slope),)


def _leaky_relu_value(o: tuple[Any, ...], out: Any, wrt: int) -> Any:
    x, slope = o
    return (1.0 if _d(x) > 0.0 else slope)


def _gelu_forward(x: float) -> float:
    return 0.5 * x * (1.0 + _erf(x * _SQRT1_2))


def _gelu_local(out: float, x: float) -> tuple[float]:
    return (0.5 * (1.0 + _erf(x * _SQRT1_2)) + x * _INV_SQRT_2PI * _exp(-0.5 * x * x),)


def _gelu_value(o: tuple[Any, ...], out: Any, wrt: int) -> Any:
    x, = o
    return 0.5 * (1.0 + _v_erf(x * _SQRT1_2)) + x * _INV_SQRT_2PI * _v_exp(-0.5 * x * x)


def _softplus_local(out: float, x: float) -> tuple[float]:
    return (_sigmoid(x),)


def _softplus_value(o: tuple[Any, ...], out: Any, wrt: int) -> Any:
    x, = o
    return _v_sigmoid(x)


def _sin_local(out: float, x: float) -> tuple[float]:
    return (_cos(x),)


def _sin_value(o: tuple[Any, ...], out: Any, wrt: int) -> Any:
    x, = o
    return _v_cos(x)


def _cos_local(out: float, x: float) -> tuple[float]:
    return (-_sin(x),)


def _cos_value(o: tuple[Any, ...], out: Any, wrt: int) -> Any:
    x, = o
    return -_v_sin(x)


def _erf_local(out: float, x: float) -> tuple[float]:
    return (_TWO_OVER_SQRT_PI * _exp(-x * x),)


def _erf_value(o: tuple[Any, ...], out: Any, wrt: int) -> Any:
    x, = o
    return _TWO_OVER_SQRT_PI * _v_exp(-x * x)


def _abs_local(out: float, x: float) -> tuple[float]:
    return ((1.0 if x > 0.0 else -1.0 if x < 0.0 else _NAN if x != x else 0.0),)


def _abs_value(o: tuple[Any, ...], out: Any, wrt: int) -> Any:
    x, = o
    return (1.0 if _d(x) > 0.0 else -1.0 if _d(x) < 0.0 else _NAN if _d(x) != _d(x) else 0.0)


def _clamp_forward(x: float, lo: float, hi: float) -> float:
    return (x if x != x else _min(_max(x, lo), hi))


def _clamp_local(out: float, x: float, lo: float, hi: float) -> tuple[float]:
    return ((1.0 if lo <= x and x <= hi else 0.0),)


def _clamp_value(o: tuple[Any, ...], out: Any, wrt: int) -> Any:
    x, lo, hi = o
    return (1.0 if _d(lo) <= _d(x) and _d(x) <= _d(hi) else 0.0)


def _maximum_forward(a: float, b: float) -> float:
    return (_NAN if a != a or b != b else a if a >= b else b)


def _maximum_local(out: float, a: float, b: float) -> tuple[float, float]:
    return ((0.5 if a == b else 0.0 if a < b else 1.0), (0.5 if a == b else 0.0 if a > b else 1.0))


def _maximum_value(o: tuple[Any, ...], out: Any, wrt: int) -> Any:
    a, b = o
    if wrt == 0:
        return (0.5 if _d(a) == _d(b) else 0.0 if _d(a) < _d(b) else 1.0)
    return (0.5 if _d(a) == _d(b) else 0.0 if _d(a) > _d(b) else 1.0)


def _minimum_forward(a: float, b: float) -> float:
    return (_NAN if a != a or b != b else a if a <= b else b)


def _minimum_local(out: float, a: float, b: float) -> tuple[float, float]:
    return ((0.5 if a == b else 0.0 if a > b else 1.0), (0.5 if a == b else 0.0 if a < b else 1.0))


def _minimum_value(o: tuple[Any, ...], out: Any, wrt: int) -> Any:
    a, b = o
    if wrt == 0:
        return (0.5 if _d(a) == _d(b) else 0.0 if _d(a) > _d(b) else 1.0)
    return (0.5 if _d(a) == _d(b) else 0.0 if _d(a) < _d(b) else 1.0)


def _sum_forward(*ops: float) -> float:
    xs = ops
    return _fsum(xs)


def _sum_local(out: float, *ops: float) -> tuple[float, ...]:
    n = len(ops)
    return (1.0,) * n


def _sum_value(o: tuple[Any, ...], out: Any, wrt: int) -> Any:
    return 1.0


def _mean_forward(*ops: float) -> float:
    xs = ops
    n = len(ops)
    return _fsum(xs) / n


def _mean_local(out: float, *ops: float) -> tuple[float, ...]:
    n = len(ops)
    return (1.0 / n,) * n


def _mean_value(o: tuple[Any, ...], out: Any, wrt: int) -> Any:
    n = len(o)
    return 1.0 / n


def _dot_forward(*ops: float) -> float:
    n = len(ops) // 2
    xs = ops[:n]
    ys = ops[n:]
    return _sumprod(xs, ys)


def _dot_local(out: float, *ops: float) -> tuple[float, ...]:
    n = len(ops) // 2
    xs = ops[:n]
    ys = ops[n:]
    return ys + xs


def _dot_value(o: tuple[Any, ...], out: Any, wrt: int) -> Any:
    n = len(o) // 2
    xs = o[:n]
    ys = o[n:]
    if wrt < n:
        i = wrt
        return ys[i]
    i = wrt - n
    return xs[i]


def _logsumexp_forward(*ops: float) -> float:
    xs = ops
    m = _max_of(xs)
    return (m + _log(_fsum([_exp(_e - m) for _e in xs])) if m - m == 0.0 else _logsumexp(xs))


def _logsumexp_local(out: float, *ops: float) -> tuple[float, ...]:
    xs = ops
    n = len(ops)
    return (tuple([_tie_share(xs, i) for i in range(n)]) if out == _INF or out == -_INF else tuple([_exp(_e - out) for _e in xs]))


def _logsumexp_value(o: tuple[Any, ...], out: Any, wrt: int) -> Any:
    xs = o
    i = wrt
    return (_v_tie_share(xs, i) if _d(out) == _INF or _d(out) == -_INF else _v_exp(xs[i] - out))


def _softmax_out_forward(x: float, lse: float) -> float:
    return _exp(x - lse)


def _softmax_out_local(out: float, x: float, lse: float) -> tuple[float, float]:
    return (out, -out)


def _softmax_out_value(o: tuple[Any, ...], out: Any, wrt: int) -> Any:
    if wrt == 0:
        return out
    return -out


#: op name -> (formula sources, forward, local, value, forward template,
#: local templates, helpers used, forward text, derivative text)
RULES: dict[str, tuple[Any, ...]] = {
    'add': (
        (('a', 'b'), 'a + b', ('1.0', '1.0'), 0),
        operator.add, _add_local, _add_value,
        '{0} + {1}', ('1.0', '1.0'),
        (),
        'a + b', '1, 1',
    ),
    'sub': (
        (('a', 'b'), 'a - b', ('1.0', '-1.0'), 0),
        operator.sub, _sub_local, _sub_value,
        '{0} - {1}', ('1.0', '-1.0'),
        (),
        'a - b', '1, -1',
    ),
    'mul': (
        (('a', 'b'), 'a * b', ('b', 'a'), 0),
        operator.mul, _mul_local, _mul_value,
        '{0} * {1}', ('{1}', '{0}'),
        (),
        'a * b', 'b, a',
    ),
    'addcmul': (
        (('a', 'b', 'c'), 'a + b * c', ('1.0', 'c', 'b'), 0),
        _addcmul_forward, _addcmul_local, _addcmul_value,
        '{0} + {1} * {2}', ('1.0', '{2}', '{1}'),
        (),
        'a + b * c', '1, c, b',
    ),
    'div': (
        (('a', 'b'), 'div(a, b)', ('div(1.0, b)', '-div(a, b * b)'), 0),
        _div, _div_local, _div_value,
        '_div({0}, {1})', ('_div(1.0, {1})', '-_div({0}, {1} * {1})'),
        ('div',),
        'a / b', '1 / b, -(a / b^2)',
    ),
    'pow': (
        (('a', 'b'), 'pow(a, b)', ('where(b == 0.0 and (a == 0.0 or a != a), 0.0, b * pow(a, b - 1.0))', 'where(a == 0.0 and b >= 0.0, 0.0, out * log(a))'), 0),
        _pow, _pow_local, _pow_value,
        '_pow({0}, {1})', ('(0.0 if {1} == 0.0 and ({0} == 0.0 or {0} != {0}) else {1} * _pow({0}, {1} - 1.0))', '(0.0 if {0} == 0.0 and {1} >= 0.0 else {out} * _log({0}))'),
        ('log', 'pow'),
        'a ** b', '0 if b == 0 and (a == 0 or a != a) else b * a^(b - 1), 0 if a == 0 and b >= 0 else a^b * log(a)',
    ),
    'neg': (
        (('x',), '-x', ('-1.0',), 0),
        operator.neg, _neg_local, _neg_value,
        '-{0}', ('-1.0',),
        (),
        '-x', '-1',
    ),
    'exp': (
        (('x',), 'exp(x)', ('out',), 0),
        _exp, _exp_local, _exp_value,
        '_exp({0})', ('{out}',),
        ('exp',),
        'exp(x)', 'exp(x)',
    ),
    'log': (
        (('x',), 'log(x)', ('div(1.0, x)',), 0),
        _log, _log_local, _log_value,
        '_log({0})', ('_div(1.0, {0})',),
        ('div', 'log'),
        'log(x)', '1 / x',
    ),
    'sqrt': (
        (('x',), 'sqrt(x)', ('div(0.5, out)',), 0),
        _sqrt, _sqrt_local, _sqrt_value,
        '_sqrt({0})', ('_div(0.5, {out})',),
        ('div', 'sqrt'),
        'sqrt(x)', '0.5 / sqrt(x)',
    ),
    'tanh': (
        (('x',), 'tanh(x)', ('1.0 - out * out',), 0),
        _tanh, _tanh_local, _tanh_value,
        '_tanh({0})', ('1.0 - {out} * {out}',),
        ('tanh',),
        'tanh(x)', '1 - tanh(x)^2',
    ),
    'sigmoid': (
        (('x',), 'sigmoid(x)', ('out * (1.0 - out)',), 0),
        _sigmoid, _sigmoid_local, _sigmoid_value,
        '_sigmoid({0})', ('{out} * (1.0 - {out})',),
        ('sigmoid',),
        'sigmoid(x)', 'sigmoid(x) * (1 - sigmoid(x))',
    ),
    'relu': (
        (('x',), 'where(x <= 0.0, 0.0, x)', ('where(out > 0.0, 1.0, 0.0)',), 0),
        _relu_forward, _relu_local, _relu_value,
        '(0.0 if {0} <= 0.0 else {0})', ('(1.0 if {out} > 0.0 else 0.0)',),
        (),
        '0 if x <= 0 else x', '1 if out > 0 else 0',
    ),
    'leaky_relu': (
        (('x', 'slope'), 'where(x > 0.0, x, x * slope)', ('where(x > 0.0, 1.0, slope)',), 1),
        _leaky_relu_forward, _leaky_relu_local, _leaky_relu_value,
        '({0} if {0} > 0.0 else {0} * {1})', ('(1.0 if {0} > 0.0 else {1})',),
        (),
        'x if x > 0 else x * slope', '1 if x > 0 else slope',
    ),
    'gelu': (
        (('x',), '0.5 * x * (1.0 + erf(x * SQRT1_2))', ('0.5 * (1.0 + erf(x * SQRT1_2)) + x * INV_SQRT_2PI * exp(-0.5 * x * x)',), 0),
        _gelu_forward, _gelu_local, _gelu_value,
        '0.5 * {0} * (1.0 + _erf({0} * _SQRT1_2))', ('0.5 * (1.0 + _erf({0} * _SQRT1_2)) + {0} * _INV_SQRT_2PI * _exp(-0.5 * {0} * {0})',),
        ('INV_SQRT_2PI', 'SQRT1_2', 'erf', 'exp'),
        '0.5 * x * (1 + erf(x * SQRT1_2))', '0.5 * (1 + erf(x * SQRT1_2)) + x * INV_SQRT_2PI * exp(-0.5 * x * x)',
    ),
    'softplus': (
        (('x',), 'softplus(x)', ('sigmoid(x)',), 0),
        _softplus, _softplus_local, _softplus_value,
        '_softplus({0})', ('_sigmoid({0})',),
        ('sigmoid', 'softplus'),
        'softplus(x)', 'sigmoid(x)',
    ),
    'sin': (
        (('x',), 'sin(x)', ('cos(x)',), 0),
        _sin, _sin_local, _sin_value,
        '_sin({0})', ('_cos({0})',),
        ('cos', 'sin'),
        'sin(x)', 'cos(x)',
    ),
    'cos': (
        (('x',), 'cos(x)', ('-sin(x)',), 0),
        _cos, _cos_local, _cos_value,
        '_cos({0})', ('-_sin({0})',),
        ('cos', 'sin'),
        'cos(x)', '-sin(x)',
    ),
    'erf': (
        (('x',), 'erf(x)', ('TWO_OVER_SQRT_PI * exp(-x * x)',), 0),
        _erf, _erf_local, _erf_value,
        '_erf({0})', ('_TWO_OVER_SQRT_PI * _exp(-{0} * {0})',),
        ('TWO_OVER_SQRT_PI', 'erf', 'exp'),
        'erf(x)', 'TWO_OVER_SQRT_PI * exp(-x * x)',
    ),
    'abs': (
        (('x',), 'abs(x)', ('where(x > 0.0, 1.0, where(x < 0.0, -1.0, where(x != x, NAN, 0.0)))',), 0),
        _abs, _abs_local, _abs_value,
        '_abs({0})', ('(1.0 if {0} > 0.0 else -1.0 if {0} < 0.0 else _NAN if {0} != {0} else 0.0)',),
        ('NAN', 'abs'),
        'abs(x)', '1 if x > 0 else -1 if x < 0 else NAN if x != x else 0',
    ),
    'clamp': (
        (('x', 'lo', 'hi'), 'where(x != x, x, min(max(x, lo), hi))', ('where(lo <= x and x <= hi, 1.0, 0.0)',), 2),
        _clamp_forward, _clamp_local, _clamp_value,
        '({0} if {0} != {0} else _min(_max({0}, {1}), {2}))', ('(1.0 if {1} <= {0} and {0} <= {2} else 0.0)',),
        ('max', 'min'),
        'x if x != x else min(max(x, lo), hi)', '1 if lo <= x and x <= hi else 0',
    ),
    'maximum': (
        (('a', 'b'), 'where(a != a or b != b, NAN, where(a >= b, a, b))', ('where(a == b, 0.5, where(a < b, 0.0, 1.0))', 'where(a == b, 0.5, where(a > b, 0.0, 1.0))'), 0),
        _maximum_forward, _maximum_local, _maximum_value,
        '(_NAN if {0} != {0} or {1} != {1} else {0} if {0} >= {1} else {1})', ('(0.5 if {0} == {1} else 0.0 if {0} < {1} else 1.0)', '(0.5 if {0} == {1} else 0.0 if {0} > {1} else 1.0)'),
        ('NAN',),
        'NAN if a != a or b != b else a if a >= b else b', '0.5 if a == b else 0 if a < b else 1, 0.5 if a == b else 0 if a > b else 1',
    ),
    'minimum': (
        (('a', 'b'), 'where(a != a or b != b, NAN, where(a <= b, a, b))', ('where(a == b, 0.5, where(a > b, 0.0, 1.0))', 'where(a == b, 0.5, where(a < b, 0.0, 1.0))'), 0),
        _minimum_forward, _minimum_local, _minimum_value,
        '(_NAN if {0} != {0} or {1} != {1} else {0} if {0} <= {1} else {1})', ('(0.5 if {0} == {1} else 0.0 if {0} > {1} else 1.0)', '(0.5 if {0} == {1} else 0.0 if {0} < {1} else 1.0)'),
        ('NAN',),
        'NAN if a != a or b != b else a if a <= b else b', '0.5 if a == b else 0 if a > b else 1, 0.5 if a == b else 0 if a < b else 1',
    ),
    'sum': (
        (('*xs',), 'fsum(xs)', ('1.0',), 0),
        _sum_forward, _sum_local, _sum_value,
        None, None,
        ('fsum',),
        'fsum(xs)', 'd/dxs[i] = 1',
    ),
    'mean': (
        (('*xs',), 'fsum(xs) / n', ('1.0 / n',), 0),
        _mean_forward, _mean_local, _mean_value,
        None, None,
        ('fsum',),
        'fsum(xs) / n', 'd/dxs[i] = 1 / n',
    ),
    'dot': (
        (('*xs', '*ys'), 'sumprod(xs, ys)', ('ys[i]', 'xs[i]'), 0),
        _dot_forward, _dot_local, _dot_value,
        None, None,
        ('sumprod',),
        'sumprod(xs, ys)', 'd/dxs[i] = ys[i]; d/dys[i] = xs[i]',
    ),
    'logsumexp': (
        (('*xs',), 'where(m - m == 0.0, m + log(fsum(exp(xs[i] - m))), logsumexp(xs))', ('where(out == INF or out == -INF, tie_share(xs, i), exp(xs[i] - out))',), 0, (('m', 'max_of(xs)'),)),
        _logsumexp_forward, _logsumexp_local, _logsumexp_value,
        None, None,
        ('INF', 'exp', 'fsum', 'log', 'logsumexp', 'max_of', 'tie_share'),
        'm + log(fsum(exp(xs[i] - m))) if m - m == 0 else logsumexp(xs), m = max_of(xs)', 'd/dxs[i] = tie_share(xs, i) if out == INF or out == -INF else exp(xs[i] - out)',
    ),
    'softmax_out': (
        (('x', 'lse'), 'exp(x - lse)', ('out', '-out'), 0),
        _softmax_out_forward, _softmax_out_local, _softmax_out_value,
        '_exp({0} - {1})', ('{out}', '-{out}'),
        ('exp',),
        'exp(x - lse)', 'exp(x - lse), -exp(x - lse)',
    ),
}
