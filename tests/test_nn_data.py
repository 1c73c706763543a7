"""nn.data: generators, splitting, standardisation and the shipped digits; what they refuse."""

from __future__ import annotations

import math
import statistics
from collections import Counter
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from nn import data


@pytest.mark.parametrize("make", [data.make_moons, data.make_circles, data.make_spirals,
                                  data.make_xor, data.make_blobs])
def test_generators_are_seeded_and_well_formed(make):
    X, y = make(60, seed=3)
    assert len(X) == len(y) == 60
    assert all(len(row) == 2 and all(isinstance(v, float) for v in row) for row in X)
    assert (X, y) == make(60, seed=3)
    assert make(60, seed=4)[0] != X
    assert set(y) <= set(range(3)) and len(set(y)) >= 2


def test_moons_geometry_without_noise():
    X, y = data.make_moons(50, seed=0)
    counts = Counter(y)
    assert counts == {0: 25, 1: 25}
    for (a, b), label in zip(X, y):
        if label == 0:  # upper moon: the unit half circle
            assert math.isclose(math.hypot(a, b), 1.0) and b >= -1e-12
        else:  # lower moon: centred at (1, 0.5)
            assert math.isclose(math.hypot(a - 1.0, b - 0.5), 1.0) and b <= 0.5 + 1e-12


def test_noise_has_its_standard_deviation():
    clean, _ = data.make_circles(2000, seed=1)
    noisy, _ = data.make_circles(2000, noise=0.2, seed=1)
    # same seed, same shuffle: the differences are the noise
    diffs = [a - b for r1, r2 in zip(noisy, clean) for a, b in zip(r1, r2)]
    assert abs(statistics.fmean(diffs)) < 0.01
    assert abs(statistics.pstdev(diffs) - 0.2) < 0.01


def test_circles_and_spirals_structure():
    X, y = data.make_circles(40, factor=0.3, seed=0)
    for row, label in zip(X, y):
        assert math.isclose(math.hypot(*row), 1.0 if label == 0 else 0.3)
    X, y = data.make_spirals(90, classes=3, seed=0)
    assert Counter(y) == {0: 30, 1: 30, 2: 30}
    assert max(math.hypot(*r) for r in X) <= 1.0 + 1e-12


def test_xor_labels_follow_the_quadrants():
    X, y = data.make_xor(200, seed=2)
    for (a, b), label in zip(X, y):
        assert label == (1 if (a > 0) != (b > 0) else 0)


def test_blobs_cluster_around_centres():
    X, y = data.make_blobs(300, centers=3, n_features=4, cluster_std=0.5, seed=5)
    assert all(len(r) == 4 for r in X)
    for c in range(3):
        pts = [r for r, label in zip(X, y) if label == c]
        spread = statistics.pstdev([v - statistics.fmean(col) for col in zip(*pts) for v in col])
        assert 0.35 < spread < 0.65


@given(st.integers(2, 60), st.floats(0.05, 0.95), st.integers(0, 100))
def test_train_test_split_partitions(n, frac, seed):
    X = [[float(i)] for i in range(n)]
    y = list(range(n))
    n_test = math.ceil(n * frac)
    if not 0 < n_test < n:
        with pytest.raises(ValueError, match="both parts must be non-empty"):
            data.train_test_split(X, y, test_size=frac, seed=seed)
        return
    Xtr, Xte, ytr, yte = data.train_test_split(X, y, test_size=frac, seed=seed)
    assert len(Xte) == n_test and len(Xtr) == n - n_test
    assert sorted(ytr + yte) == y
    assert [r[0] for r in Xtr] == [float(v) for v in ytr]  # rows stay with their labels
    assert (Xtr, Xte, ytr, yte) == data.train_test_split(X, y, test_size=frac, seed=seed)


def test_train_test_split_errors_and_int_size():
    X, y = [[1.0]] * 10, [0] * 10
    assert len(data.train_test_split(X, y, test_size=3, seed=0)[1]) == 3
    with pytest.raises(ValueError, match="one label per sample"):
        data.train_test_split(X, y[:5])
    with pytest.raises(ValueError, match="in \\(0, 1\\)"):
        data.train_test_split(X, y, test_size=1.5)


def test_standard_scaler():
    X = [[1.0, 5.0], [3.0, 5.0], [5.0, 5.0]]
    s = data.StandardScaler().fit(X)
    assert s.mean_ == [3.0, 5.0]
    assert math.isclose(s.scale_[0], math.sqrt(8 / 3)) and s.scale_[1] == 1.0
    Z = s.transform(X)
    assert math.isclose(statistics.fmean(r[0] for r in Z), 0.0, abs_tol=1e-12)
    assert math.isclose(statistics.pstdev(r[0] for r in Z), 1.0)
    assert all(r[1] == 0.0 for r in Z)
    back = s.inverse_transform(Z)
    assert all(math.isclose(a, b) for r1, r2 in zip(back, X) for a, b in zip(r1, r2))
    with pytest.raises(RuntimeError, match="call fit"):
        data.StandardScaler().transform(X)
    with pytest.raises(ValueError, match="sample 0 has 3 features"):
        s.transform([[1.0, 2.0, 3.0]])


def test_load_digits():
    X, y = data.load_digits()
    assert len(X) == len(y) == 1797
    assert all(len(r) == 64 for r in X)
    assert min(min(r) for r in X) == 0.0 and max(max(r) for r in X) == 16.0
    counts = Counter(y)
    assert sorted(counts) == list(range(10))
    assert counts[0] == 178 and counts[8] == 174
    # the first image is a zero: a ring of ink with an empty middle
    first = X[0]
    assert y[0] == 0
    assert first[3 * 8 + 3] == 0.0 and first[3 * 8 + 1] > 0.0 and first[3 * 8 + 5] > 0.0


def test_load_dataset_by_name():
    for name in data.DATASETS:
        X, y = data.load_dataset(name, 30, 0.1, seed=0)
        assert len(X) == len(y) and len(X) in (30, 1797)
    with pytest.raises(ValueError, match="unknown data set 'mnist'"):
        data.load_dataset("mnist")


def test_bad_generator_arguments():
    with pytest.raises(ValueError, match="make_moons: n_samples"):
        data.make_moons(1)
    with pytest.raises(ValueError, match="make_moons: noise"):
        data.make_moons(10, noise=-1)
    with pytest.raises(ValueError, match="factor"):
        data.make_circles(10, factor=1.5)
    with pytest.raises(ValueError, match="classes"):
        data.make_spirals(10, classes=1)
    with pytest.raises(ValueError, match="center_box"):
        data.make_blobs(10, center_box=(1.0, -1.0))


def test_damaged_digits_file_raises(monkeypatch, tmp_path):
    import gzip

    (tmp_path / "datasets").mkdir()
    monkeypatch.setattr(data.resources, "files", lambda pkg: tmp_path)
    (tmp_path / "datasets" / "digits.csv.gz").write_bytes(b"not gzip")
    with pytest.raises(RuntimeError, match=r"cannot read nn/datasets/digits\.csv\.gz"):
        data.load_digits()
    (tmp_path / "datasets" / "digits.csv.gz").write_bytes(gzip.compress(b"0,1,2\n"))
    with pytest.raises(RuntimeError, match=r"row 0 .* is damaged"):
        data.load_digits()
    row = ",".join(["0"] * 64 + ["3"]) + "\n"
    (tmp_path / "datasets" / "digits.csv.gz").write_bytes(gzip.compress(row.encode() * 5))
    with pytest.raises(RuntimeError, match="has 5 rows, expected 1797"):
        data.load_digits()


# ---------------------------------------------------------------------------
# what the scaler and the generators refuse


def test_standard_scaler_refuses_non_finite_columns_and_survives_huge_spreads() -> None:
    with pytest.raises(ValueError, match=r"StandardScaler.fit: X\[1\]\[0\] is inf"):
        data.StandardScaler().fit([[1.0, 2.0], [math.inf, 3.0]])
    with pytest.raises(ValueError, match="too large for a float"):
        data.StandardScaler().fit([[10**400], [1]])
    s = data.StandardScaler().fit([[1e300], [-1e300]])
    assert s.scale_ == [1e300]
    assert s.transform([[1e300]]) == [[1.0]]


@pytest.mark.parametrize("maker", [data.make_moons, data.make_xor])
def test_generator_noise_that_would_overflow_is_refused(maker: Any) -> None:
    with pytest.raises(ValueError, match=r"noise must be a real number in \[0, 1e\+06\]"):
        maker(10, noise=1e308, seed=0)
    with pytest.raises(ValueError, match="noise"):
        maker(10, noise=10**400, seed=0)
