"""The playground's state: validation of every field, and round trips (dict, file, URL fragment)."""

from __future__ import annotations

import json

import pytest

from visualize.app.playground import state as S
from visualize.app.playground.session import Session
from visualize.app.playground.state import PlaygroundState, StateError


def test_defaults_round_trip_through_dict_file_and_fragment(tmp_path):
    st = Session(PlaygroundState(dataset="spiral", hidden=[3], seed=5)).state
    assert st.weights is not None and len(st.train) + len(st.test) == st.n_points
    again = PlaygroundState.from_dict(json.loads(json.dumps(st.to_dict())))
    assert again == st
    assert S.load_state(S.save_state(st, tmp_path / "s.json")) == st
    assert S.from_fragment("#state=" + S.to_fragment(st)) == st


@pytest.mark.parametrize(("change", "field", "allowed"), [
    ({"lr": 0}, "lr", "(0, 10]"),
    ({"lr": float("nan")}, "lr", "(0, 10]"),
    ({"lr": "0.1"}, "lr", "(0, 10]"),
    ({"hidden": [9]}, "hidden[0]", "[1, 8]"),
    ({"hidden": [1] * 7}, "hidden", "at most 6"),
    ({"hidden": [True]}, "hidden[0]", "integer"),
    ({"n_points": 10**9}, "n_points", "[10, 1000]"),
    ({"noise": -1}, "noise", "[0, 0.5]"),
    ({"dataset": "mnist"}, "dataset", "circles"),
    ({"activation": "gelu"}, "activation", "tanh"),
    ({"optimizer": "lbfgs"}, "optimizer", "adam"),
    ({"features": []}, "features", "at least one"),
    ({"features": ["x1", "x1"]}, "features", "twice"),
    ({"features": ["__import__('os')"]}, "features[0]", "x1"),
    ({"batch_size": 0}, "batch_size", "[1, 1000]"),
    ({"train": [[7, 0, 1]]}, "train[0][0] (x1)", "[-6, 6]"),
    ({"train": [[0, 0, 2]]}, "train[0][2] (label)", "0 or 1"),
    ({"train": [[0, 0]]}, "train[0]", "[x1, x2, label]"),
    ({"train": [[0, 0, 1]] * 2001}, "train", "at most 2000"),
    ({"hidden_controls": ["everything"]}, "hidden_controls[0]", "dataset"),
    ({"weights": [[[1.0]]]}, "weights", "layers"),
    ({"show_test": 1}, "show_test", "true or false"),
    ({"evil": 1}, "unknown state field", "the fields are"),
    ({"version": 99}, "version", "1"),
])
def test_every_bad_field_is_named_with_what_it_allows(change, field, allowed):
    with pytest.raises(StateError) as e:
        PlaygroundState.from_dict(change)
    assert field in str(e.value) and allowed in str(e.value)


def test_weights_must_fit_the_network():
    st = Session(PlaygroundState(hidden=[2])).state
    d = st.to_dict()
    d["hidden"] = [3]
    with pytest.raises(StateError, match=r"weights\[0\] must be 3 neurons of 3 numbers"):
        PlaygroundState.from_dict(d)
    d = st.to_dict()
    d["weights"][1][0][0] = float("inf")
    with pytest.raises(StateError, match=r"weights\[1\]\[0\]\[0\]"):
        PlaygroundState.from_dict(d)


def test_regression_targets_are_numbers_and_classes_are_0_or_1():
    ok = PlaygroundState.from_dict({"dataset": "plane", "train": [[0, 0, -0.7]]})
    assert ok.train == [[0.0, 0.0, -0.7]] and ok.regression
    with pytest.raises(StateError, match="0 or 1"):
        PlaygroundState.from_dict({"dataset": "moons", "train": [[0, 0, -0.7]]})


def test_bad_files_and_fragments_say_what_they_are(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(StateError, match="not a playground state file"):
        S.load_state(bad)
    with pytest.raises(StateError, match="not a playground state"):
        S.from_fragment("#state=%%%")
    with pytest.raises(StateError, match="a JSON object"):
        S.from_fragment(S.to_fragment(PlaygroundState())[:0] + "WzFd")  # "[1]"


def test_generated_data_is_seeded_and_in_the_square():
    for name in S.DATASETS:
        a = Session(PlaygroundState(dataset=name, n_points=60, noise=0.5, data_seed=3)).state
        b = Session(PlaygroundState(dataset=name, n_points=60, noise=0.5, data_seed=3)).state
        assert a.train == b.train and a.test == b.test
        pts = a.train + a.test
        assert len(pts) == 60
        assert all(abs(p[0]) <= S.DOMAIN and abs(p[1]) <= S.DOMAIN for p in pts)
        labels = {p[2] for p in pts}
        assert (labels <= {0.0, 1.0}) != (name in S.REGRESSION)
