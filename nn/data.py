"""Toy data sets, the 8x8 digits, splitting and standardisation: plain lists, all seeded.

Every generator returns ``(X, y)``: ``X`` a list of samples (lists of
floats), ``y`` a list of int class labels (0, 1, ...), in a seeded random
order. Names and defaults follow scikit-learn where it has the same thing.

:func:`load_digits` reads the UCI "Optical Recognition of Handwritten Digits"
data (E. Alpaydin and C. Kaynak, 1998; 1,797 8x8 images, pixel counts 0..16;
CC BY 4.0, https://archive.ics.uci.edu/dataset/80), in the copy that
scikit-learn bundles, shipped in ``nn/datasets/digits.csv.gz``.
"""

from __future__ import annotations

import csv
import gzip
import io
import math
import numbers
import random
from collections.abc import Callable, Sequence
from importlib import resources
from typing import Any

from nn.layers import Seed, check_int, make_rng

__all__ = [
    "DATASETS",
    "StandardScaler",
    "load_dataset",
    "load_digits",
    "make_blobs",
    "make_circles",
    "make_gaussian_bumps",
    "make_gaussians",
    "make_moons",
    "make_plane",
    "make_spirals",
    "make_xor",
    "train_test_split",
]

Dataset = tuple[list[list[float]], list[int]]


#: the largest noise a generator accepts (beyond it points overflow to inf)
MAX_NOISE = 1e6


def _is_real(x: Any) -> bool:
    """Whether ``x`` is a real number (an int, a float, a NumPy scalar), not a bool."""
    return not isinstance(x, bool) and isinstance(x, numbers.Real)


def _nonneg(x: Any, who: str) -> float:
    if not _is_real(x):
        raise ValueError(f"{who} must be a real number >= 0, got {x!r}")
    try:
        v = float(x)
    except OverflowError:
        v = math.inf
    if not 0.0 <= v <= MAX_NOISE:
        raise ValueError(f"{who} must be a real number in [0, {MAX_NOISE:g}], got {x!r}")
    return v


def _count_noise(who: str, n_samples: int, noise: float, minimum: int = 1) -> tuple[int, float]:
    """A generator's ``n_samples`` (at least ``minimum``) and ``noise``, checked.

    Raises:
        ValueError: naming ``who``'s argument.
    """
    return (check_int(n_samples, f"{who}: n_samples", minimum),
            _nonneg(noise, f"{who}: noise"))


def _finish(points: list[list[float]], labels: list[int], noise: float,
            rng: random.Random) -> Dataset:
    order = list(range(len(points)))
    rng.shuffle(order)
    X = [[v + rng.gauss(0.0, noise) if noise else v for v in points[i]] for i in order]
    return X, [labels[i] for i in order]


def _linspace(a: float, b: float, n: int) -> list[float]:
    if n == 1:
        return [a]
    return [a + (b - a) * i / (n - 1) for i in range(n)]


def make_moons(n_samples: int = 100, noise: float = 0.0, seed: Seed = None) -> Dataset:
    """Two interleaving half circles (scikit-learn's ``make_moons``).

    Args:
        n_samples: the number of points (>= 2): ``n // 2`` on the upper moon
            (label 0), the rest on the lower one (label 1).
        noise: the standard deviation of Gaussian noise added to each coordinate.
        seed: an int, a ``random.Random`` or None.

    Returns:
        ``(X, y)``: 2-D points and 0/1 labels, shuffled.

    Raises:
        ValueError: for ``n_samples < 2`` or negative noise.
    """
    n, noise = _count_noise("make_moons", n_samples, noise, 2)
    rng = make_rng(seed, "make_moons")
    n_out = n // 2
    n_in = n - n_out
    pts = [[math.cos(t), math.sin(t)] for t in _linspace(0.0, math.pi, n_out)]
    pts += [[1.0 - math.cos(t), 0.5 - math.sin(t)] for t in _linspace(0.0, math.pi, n_in)]
    return _finish(pts, [0] * n_out + [1] * n_in, noise, rng)


def make_circles(n_samples: int = 100, noise: float = 0.0, factor: float = 0.5,
                 seed: Seed = None) -> Dataset:
    """A large circle (label 0) around a smaller one (label 1) (scikit-learn's ``make_circles``).

    Args:
        n_samples: the number of points (>= 2).
        noise: Gaussian noise per coordinate.
        factor: the inner radius relative to the outer one, in (0, 1).
        seed: an int, a ``random.Random`` or None.

    Returns:
        ``(X, y)``, shuffled.

    Raises:
        ValueError: for a bad count, noise or factor.
    """
    n, noise = _count_noise("make_circles", n_samples, noise, 2)
    if not _is_real(factor) or not 0 < factor < 1:
        raise ValueError(f"make_circles: factor must be in (0, 1), got {factor!r}")
    rng = make_rng(seed, "make_circles")
    n_out = n // 2
    n_in = n - n_out
    pts = [[math.cos(2 * math.pi * i / n_out), math.sin(2 * math.pi * i / n_out)]
           for i in range(n_out)]
    pts += [[factor * math.cos(2 * math.pi * i / n_in), factor * math.sin(2 * math.pi * i / n_in)]
            for i in range(n_in)]
    return _finish(pts, [0] * n_out + [1] * n_in, noise, rng)


def make_spirals(n_samples: int = 100, classes: int = 2, noise: float = 0.0,
                 turns: float = 1.0, seed: Seed = None) -> Dataset:
    """Interleaved spiral arms, one per class (the CS231n toy problem).

    Point ``i`` of arm ``k`` sits at radius ``r = (i + 1) / m`` and angle
    ``2 pi (turns * r + k / classes)``.

    Args:
        n_samples: the total number of points (>= classes), split evenly.
        classes: the number of arms (>= 2).
        noise: Gaussian noise per coordinate.
        turns: how many turns each arm makes (> 0).
        seed: an int, a ``random.Random`` or None.

    Returns:
        ``(X, y)``, shuffled.

    Raises:
        ValueError: for a bad count, class number, noise or turns.
    """
    k = check_int(classes, "make_spirals: classes", 2)
    n, noise = _count_noise("make_spirals", n_samples, noise, k)
    if not _is_real(turns) or not turns > 0:
        raise ValueError(f"make_spirals: turns must be a real number > 0, got {turns!r}")
    rng = make_rng(seed, "make_spirals")
    pts: list[list[float]] = []
    labels: list[int] = []
    for c in range(k):
        m = n // k + (1 if c < n % k else 0)
        for i in range(m):
            r = (i + 1) / m
            a = 2 * math.pi * (turns * r + c / k)
            pts.append([r * math.cos(a), r * math.sin(a)])
            labels.append(c)
    return _finish(pts, labels, noise, rng)


def make_xor(n_samples: int = 100, noise: float = 0.0, seed: Seed = None) -> Dataset:
    """Points uniform in the square [-1, 1]^2, label 1 where the coordinates' signs differ.

    Args:
        n_samples: the number of points (>= 1).
        noise: Gaussian noise added after labelling.
        seed: an int, a ``random.Random`` or None.

    Returns:
        ``(X, y)``.

    Raises:
        ValueError: for a bad count or noise.
    """
    n, noise = _count_noise("make_xor", n_samples, noise)
    rng = make_rng(seed, "make_xor")
    pts = [[rng.uniform(-1.0, 1.0), rng.uniform(-1.0, 1.0)] for _ in range(n)]
    labels = [1 if (a > 0) != (b > 0) else 0 for a, b in pts]
    return _finish(pts, labels, noise, rng)


def make_blobs(n_samples: int = 100, centers: int = 3, n_features: int = 2,
               cluster_std: float = 1.0, center_box: tuple[float, float] = (-10.0, 10.0),
               seed: Seed = None) -> Dataset:
    """Gaussian blobs around random centres (scikit-learn's ``make_blobs``).

    Args:
        n_samples: the total number of points (>= centers), split evenly.
        centers: the number of blobs (classes).
        n_features: the dimension.
        cluster_std: each blob's standard deviation.
        center_box: the interval the centres are drawn from.
        seed: an int, a ``random.Random`` or None.

    Returns:
        ``(X, y)``, shuffled.

    Raises:
        ValueError: for a bad count, dimension, deviation or box.
    """
    k = check_int(centers, "make_blobs: centers")
    n = check_int(n_samples, "make_blobs: n_samples", k)
    d = check_int(n_features, "make_blobs: n_features")
    std = _nonneg(cluster_std, "make_blobs: cluster_std")
    lo, hi = center_box
    if not lo < hi:
        raise ValueError(f"make_blobs: center_box must be (low, high) with low < high, "
                         f"got {center_box!r}")
    rng = make_rng(seed, "make_blobs")
    mids = [[rng.uniform(lo, hi) for _ in range(d)] for _ in range(k)]
    pts: list[list[float]] = []
    labels: list[int] = []
    for c in range(k):
        m = n // k + (1 if c < n % k else 0)
        pts += [list(mids[c]) for _ in range(m)]
        labels += [c] * m
    return _finish(pts, labels, std, rng)


RegressionSet = tuple[list[list[float]], list[float]]


def make_gaussians(n_samples: int = 100, noise: float = 0.0, distance: float = 1.0,
                   seed: Seed = None) -> Dataset:
    """Two round Gaussian clusters, class 0 around ``(-d, -d)``, class 1 around ``(d, d)``.

    Unlike :func:`make_blobs` (random centres) the centres are fixed, so the
    two classes are always apart by the same amount (TensorFlow Playground's
    "Gaussian" set).

    Args:
        n_samples: the number of points (>= 2), half per class.
        noise: the clusters' extra spread: each point gets Gaussian noise of
            standard deviation ``0.25 + noise`` per coordinate.
        distance: ``d``, the centres' offset along each axis (> 0).
        seed: an int, a ``random.Random`` or None.

    Returns:
        ``(X, y)``, shuffled.

    Raises:
        ValueError: for a bad count, noise or distance.
    """
    n, noise = _count_noise("make_gaussians", n_samples, noise, 2)
    if not _is_real(distance) or not distance > 0:
        raise ValueError(f"make_gaussians: distance must be a real number > 0, got {distance!r}")
    rng = make_rng(seed, "make_gaussians")
    n0 = n // 2
    d = float(distance)
    pts = [[-d, -d] for _ in range(n0)] + [[d, d] for _ in range(n - n0)]
    return _finish(pts, [0] * n0 + [1] * (n - n0), 0.25 + noise, rng)


def _regression(name: str, n_samples: int, noise: float, seed: Seed,
                target: Callable[[float, float], float]) -> RegressionSet:
    """Points uniform in [-1, 1]^2, ``target(x1, x2)`` plus Gaussian noise; checked, seeded."""
    n, noise = _count_noise(name, n_samples, noise)
    rng = make_rng(seed, name)
    X = [[rng.uniform(-1.0, 1.0), rng.uniform(-1.0, 1.0)] for _ in range(n)]
    y = [target(a, b) + (rng.gauss(0.0, noise) if noise else 0.0) for a, b in X]
    return X, y


def make_plane(n_samples: int = 100, noise: float = 0.0, seed: Seed = None) -> RegressionSet:
    """A regression set: points uniform in [-1, 1]^2, target ``(x1 + x2) / 2`` plus noise.

    Args:
        n_samples: the number of points (>= 1).
        noise: the standard deviation of Gaussian noise added to the target.
        seed: an int, a ``random.Random`` or None.

    Returns:
        ``(X, y)``: 2-D points and float targets in about [-1, 1].

    Raises:
        ValueError: for a bad count or noise.
    """
    return _regression("make_plane", n_samples, noise, seed, lambda a, b: (a + b) / 2)


#: make_gaussian_bumps' bumps: centre x1, centre x2, sign
_BUMPS = ((-0.6, 0.6, 1.0), (0.0, 0.6, -1.0), (0.6, 0.6, 1.0), (-0.6, -0.6, -1.0),
          (0.0, -0.6, 1.0), (0.6, -0.6, -1.0))


def make_gaussian_bumps(n_samples: int = 100, noise: float = 0.0,
                        seed: Seed = None) -> RegressionSet:
    """A regression set: points uniform in [-1, 1]^2, target a sum of six signed Gaussian bumps.

    The target is ``sum(s * exp(-|x - c|^2 / (2 * 0.2^2)))`` over the bumps'
    centres ``c`` (a 3 x 2 grid) and alternating signs ``s``, plus noise
    (TensorFlow Playground's "multi Gaussian" set).

    Args:
        n_samples: the number of points (>= 1).
        noise: the standard deviation of Gaussian noise added to the target.
        seed: an int, a ``random.Random`` or None.

    Returns:
        ``(X, y)``: 2-D points and float targets in about [-1, 1].

    Raises:
        ValueError: for a bad count or noise.
    """
    return _regression("make_gaussian_bumps", n_samples, noise, seed, lambda a, b: math.fsum(
        s * math.exp(-((a - cx) ** 2 + (b - cy) ** 2) / 0.08) for cx, cy, s in _BUMPS))


def train_test_split(X: Sequence[Any], y: Sequence[Any], test_size: float = 0.25,
                     seed: Seed = None, shuffle: bool = True
                     ) -> tuple[list[Any], list[Any], list[Any], list[Any]]:
    """Split samples and labels into train and test parts (scikit-learn's order).

    Args:
        X: the samples; y: their labels, the same length.
        test_size: a fraction in (0, 1) (the test part gets ``ceil(n * test_size)``
            samples) or an int count.
        seed: an int, a ``random.Random`` or None, for the shuffle.
        shuffle: shuffle before splitting (else the last samples are the test part).

    Returns:
        ``(X_train, X_test, y_train, y_test)``.

    Raises:
        ValueError: if the lengths differ or either part would be empty.
    """
    n = len(X)
    if len(y) != n:
        raise ValueError(
            f"train_test_split: X has {n} samples but y has {len(y)}; pass one label per sample"
        )
    if not _is_real(test_size):
        raise TypeError(f"train_test_split: test_size must be a number, got {test_size!r}")
    if isinstance(test_size, numbers.Integral):
        n_test = int(test_size)
    elif 0.0 < test_size < 1.0:
        n_test = math.ceil(n * test_size)
    else:
        raise ValueError(f"train_test_split: a fractional test_size must be in (0, 1), "
                         f"got {test_size!r}")
    if not 0 < n_test < n:
        raise ValueError(
            f"train_test_split: test_size {test_size!r} leaves {n - n_test} training and "
            f"{n_test} test samples out of {n}; both parts must be non-empty"
        )
    order = list(range(n))
    if shuffle:
        make_rng(seed, "train_test_split").shuffle(order)
    train, test = order[: n - n_test], order[n - n_test :]
    return ([X[i] for i in train], [X[i] for i in test],
            [y[i] for i in train], [y[i] for i in test])


class StandardScaler:
    """Standardise features to zero mean and unit variance (scikit-learn's ``StandardScaler``).

    Attributes (after :meth:`fit`):
        mean_: the mean of each feature.
        scale_: the population standard deviation of each feature (1.0 for a
            constant feature, so it maps to 0 instead of dividing by zero).
    """

    def __init__(self) -> None:
        self.mean_: list[float] | None = None
        self.scale_: list[float] | None = None

    def fit(self, X: Sequence[Sequence[float]]) -> StandardScaler:
        """Learn each feature's mean and standard deviation; returns self.

        Raises:
            ValueError: if ``X`` is empty, its rows differ in length, a value
                is nan or inf (named by sample and feature), or a feature's
                spread overflows a float.
        """
        try:
            rows = [list(map(float, r)) for r in X]
        except OverflowError:
            raise ValueError("StandardScaler.fit: a value is too large for a float") from None
        if not rows or not rows[0]:
            raise ValueError("StandardScaler.fit: X is empty; pass a list of samples")
        d = len(rows[0])
        for i, r in enumerate(rows):
            if len(r) != d:
                raise ValueError(f"StandardScaler.fit: sample {i} has {len(r)} features, "
                                 f"sample 0 has {d}")
            for j, v in enumerate(r):
                if not math.isfinite(v):
                    raise ValueError(f"StandardScaler.fit: X[{i}][{j}] is {v!r}; every value "
                                     "must be finite: drop or fill that sample")
        n = len(rows)
        mean = [math.fsum(col) / n for col in zip(*rows)]
        std = []
        for j, (col, m) in enumerate(zip(zip(*rows), mean)):
            try:
                s = math.sqrt(math.fsum((v - m) ** 2 for v in col) / n)
            except OverflowError:  # squares of 1e200: scale by the largest deviation
                big = max(abs(v - m) for v in col)
                s = big * math.sqrt(math.fsum(((v - m) / big) ** 2 for v in col) / n)
            if not (math.isfinite(m) and math.isfinite(s)):
                raise ValueError(f"StandardScaler.fit: feature {j}'s mean or spread overflows "
                                 "a float; rescale that feature first")
            std.append(s)
        self.mean_ = mean
        self.scale_ = [s if s > 0.0 else 1.0 for s in std]
        return self

    def _fitted(self, who: str, X: Sequence[Sequence[float]]) -> tuple[list[float], list[float]]:
        if self.mean_ is None or self.scale_ is None:
            raise RuntimeError(f"StandardScaler.{who}: call fit(X) first")
        d = len(self.mean_)
        for i, r in enumerate(X):
            if len(r) != d:
                raise ValueError(f"StandardScaler.{who}: sample {i} has {len(r)} features, "
                                 f"the scaler was fitted on {d}")
        return self.mean_, self.scale_

    def transform(self, X: Sequence[Sequence[float]]) -> list[list[float]]:
        """Return ``(x - mean_) / scale_`` for each sample (a new list).

        Raises:
            RuntimeError: before :meth:`fit`.
            ValueError: for a sample of the wrong length.
        """
        mean, scale = self._fitted("transform", X)
        return [[(v - m) / s for v, m, s in zip(r, mean, scale)] for r in X]

    def fit_transform(self, X: Sequence[Sequence[float]]) -> list[list[float]]:
        """:meth:`fit` then :meth:`transform`."""
        return self.fit(X).transform(X)

    def inverse_transform(self, X: Sequence[Sequence[float]]) -> list[list[float]]:
        """Undo :meth:`transform`.

        Raises:
            RuntimeError: before :meth:`fit`.
            ValueError: for a sample of the wrong length.
        """
        mean, scale = self._fitted("inverse_transform", X)
        return [[v * s + m for v, m, s in zip(r, mean, scale)] for r in X]


_DIGITS_ROWS = 1797


def load_digits() -> Dataset:
    """Load the 8x8 handwritten digits: 1,797 images, 10 classes.

    The UCI "Optical Recognition of Handwritten Digits" data set (E. Alpaydin
    and C. Kaynak, 1998), licensed CC BY 4.0
    (https://archive.ics.uci.edu/dataset/80), in the copy bundled with
    scikit-learn, shipped as ``nn/datasets/digits.csv.gz``. No third-party
    package is needed.

    Returns:
        ``(X, y)``: 64 pixel counts (floats 0..16, row by row) per image and
        the digit (0..9), in the file's order.

    Raises:
        RuntimeError: if the shipped file is missing or damaged.
    """
    try:
        raw = resources.files("nn").joinpath("datasets/digits.csv.gz").read_bytes()
        text = gzip.decompress(raw).decode("ascii")
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise RuntimeError(
            f"load_digits: cannot read nn/datasets/digits.csv.gz ({exc}); reinstall chainrule"
        ) from exc
    X: list[list[float]] = []
    y: list[int] = []
    for i, row in enumerate(csv.reader(io.StringIO(text))):
        try:
            vals = [int(v) for v in row]
        except ValueError:
            vals = []
        if len(vals) != 65 or not all(0 <= v <= 16 for v in vals) or vals[64] > 9:
            raise RuntimeError(
                f"load_digits: row {i} of nn/datasets/digits.csv.gz is damaged; reinstall chainrule"
            )
        X.append([float(v) for v in vals[:64]])
        y.append(vals[64])
    if len(X) != _DIGITS_ROWS:
        raise RuntimeError(
            f"load_digits: nn/datasets/digits.csv.gz has {len(X)} rows, expected "
            f"{_DIGITS_ROWS}; reinstall chainrule"
        )
    return X, y


#: The data sets :func:`load_dataset` knows, by name.
DATASETS: tuple[str, ...] = ("moons", "circles", "spirals", "xor", "blobs", "digits")


def load_dataset(name: str, n_samples: int = 200, noise: float = 0.1,
                 seed: Seed = None) -> Dataset:
    """Return a data set by name (what ``chainrule train --data NAME`` uses).

    Args:
        name: one of :data:`DATASETS`.
        n_samples: the number of points of a generated set (ignored for digits).
        noise: the generators' noise (ignored for blobs, whose clusters have
            standard deviation 1, and for digits).
        seed: an int, a ``random.Random`` or None.

    Returns:
        ``(X, y)`` with class labels 0..k-1 (moons, circles and xor have 2,
        spirals 3, blobs 3, digits 10).

    Raises:
        ValueError: for an unknown name or a bad size or noise.
    """
    if name == "moons":
        return make_moons(n_samples, noise, seed=seed)
    if name == "circles":
        return make_circles(n_samples, noise, seed=seed)
    if name == "spirals":
        return make_spirals(n_samples, classes=3, noise=noise, seed=seed)
    if name == "xor":
        return make_xor(n_samples, noise, seed=seed)
    if name == "blobs":
        return make_blobs(n_samples, centers=3, cluster_std=1.0, seed=seed)
    if name == "digits":
        return load_digits()
    raise ValueError(f"load_dataset: unknown data set {name!r}; choose one of "
                     f"{', '.join(DATASETS)}")
