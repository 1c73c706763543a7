"""The playground's "export as a script": a short Python file that reproduces a run with ``nn.fit``.

:func:`script` writes the current segment of a run (see
:mod:`visualize.app.playground.session`) as plain Python: the data points,
the features, the model with the segment's first weights, the optimizer with
its state, and one ``nn.fit`` call with the same batch size, loss,
regularisation and shuffling seed. Every number is written with ``repr``, so
the script starts from exactly the playground's numbers.
"""

from __future__ import annotations

import json
from typing import Any

from visualize.app.playground.state import PlaygroundState

__all__ = ["script"]

_FEATURE_CODE = {
    "x1": "x1", "x2": "x2", "x1^2": "x1 * x1", "x2^2": "x2 * x2", "x1*x2": "x1 * x2",
    "sin(x1)": "math.sin(x1)", "sin(x2)": "math.sin(x2)",
}

_OPTIMIZER_CODE = {
    "sgd": "nn.optim.SGD(model.parameters(), lr={lr!r})",
    "momentum": "nn.optim.SGD(model.parameters(), lr={lr!r}, momentum=0.9)",
    "rmsprop": "nn.optim.RMSprop(model.parameters(), lr={lr!r})",
    "adam": "nn.optim.Adam(model.parameters(), lr={lr!r})",
}


def _rows(rows: list[Any], indent: str = "    ") -> str:
    body = "".join(f"{indent}{json.dumps(r)},\n" for r in rows)
    return "[\n" + body + "]"


def script(state: PlaygroundState, segment: dict[str, Any]) -> str:
    """Return the text of a script reproducing ``segment`` of the run in ``state``.

    Args:
        state: the playground's state now (its epoch ends the segment).
        segment: ``{"epoch", "weights", "optimizer", "shuffle_seed"}`` at the
            segment's start.

    Returns:
        Python source that prints the trained weights as a JSON list.
    """
    epochs = state.epoch - int(segment["epoch"])
    task = "regression" if state.regression else "classification"
    feats = ", ".join(_FEATURE_CODE[f] for f in state.features)
    labels = "t" if state.regression else "int(t)"
    base = "nn.mse_loss(outs, ts)" if state.regression else \
        "nn.binary_cross_entropy_with_logits(outs, ts)"
    loss_name = "mse" if state.regression else "bce"
    reg_lines = ""
    loss_arg, l2_arg = repr(loss_name), ""
    if state.regularization == "l2" and state.reg_rate:
        l2_arg = f", l2={state.reg_rate!r}"
    elif state.regularization == "l1" and state.reg_rate:
        reg_lines = (
            "\n\ndef loss(outs, ts):\n"
            f"    \"\"\"The data loss plus the L1 penalty {state.reg_rate!r} * sum(|p|).\"\"\"\n"
            f"    return {base} + {state.reg_rate!r} * autograd.sum("
            "[abs(p) for p in model.parameters()])\n")
        loss_arg = "loss"
    opt = _OPTIMIZER_CODE[state.optimizer].format(lr=state.lr)
    fit = (f"if EPOCHS:\n"
           f"    nn.fit(model, X, y, epochs=EPOCHS, batch_size={state.batch_size}, "
           f"optimizer=optimizer,\n"
           f"           loss={loss_arg}{l2_arg}, seed={int(segment['shuffle_seed'])}, "
           "progress=False, compile=True)\n")
    return f'''"""Reproduce a chainrule playground run with nn.fit (from `chainrule playground`).

Data: {state.dataset} ({task}), {len(state.train)} training points; features
{", ".join(state.features)}; model MLP({len(state.features)}, {[*state.hidden, 1]}, activation=
{state.activation!r}); optimizer {state.optimizer}, lr {state.lr!r}, batch size
{state.batch_size}, regularisation {state.regularization} {state.reg_rate!r}. Trains epochs
{segment["epoch"]} to {state.epoch} from the weights the playground had at epoch
{segment["epoch"]} and prints the trained weights as JSON.
"""

import json
import math

import autograd
import nn

EPOCHS = {epochs}
# the training points: [x1, x2, label]
TRAIN = {_rows(state.train)}
# per layer, per neuron [w1, ..., wn, b] at epoch {segment["epoch"]}
START_WEIGHTS = {_rows(segment["weights"])}
OPTIMIZER_STATE = json.loads({json.dumps(json.dumps(segment["optimizer"]))})


def features(x1, x2):
    """The inputs the network sees: {", ".join(state.features)}."""
    return [{feats}]


X = [features(x1, x2) for x1, x2, _ in TRAIN]
y = [{labels} for _, _, t in TRAIN]
model = nn.MLP({len(state.features)}, {[*state.hidden, 1]}, activation={state.activation!r})
for p, w in zip(model.parameters(), [w for layer in START_WEIGHTS for n in layer for w in n]):
    p.data = w
optimizer = {opt}
optimizer.load_state_dict(OPTIMIZER_STATE){reg_lines}
{fit}print(json.dumps([p.data for p in model.parameters()]))
'''
