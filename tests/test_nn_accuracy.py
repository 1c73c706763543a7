"""nn reaches its accuracy bars: micrograd's demo and the digits, as seeded tests."""

from __future__ import annotations

import nn
from nn import data


def test_micrograd_demo_reaches_full_training_accuracy():
    # micrograd's demo.ipynb, rewritten: MLP(2, [16, 16, 1]), 100 moons points with noise
    # 0.1, max-margin loss + 1e-4 L2, 100 SGD steps with lr 1.0 - 0.9 * k / 100.
    X, y = data.make_moons(100, noise=0.1, seed=0)
    y = [2 * t - 1 for t in y]
    model = nn.MLP(2, [16, 16, 1], init="micrograd", seed=0)
    params = model.parameters()
    for k in range(100):
        scores = [model(x) for x in X]
        loss = nn.hinge_loss(scores, y) + nn.l2_penalty(params, 1e-4)
        model.zero_grad()
        loss.backward()
        lr = 1.0 - 0.9 * k / 100
        for p in params:
            p.data -= lr * p.grad
    accuracy = sum((s > 0) == (t > 0) for s, t in zip(model.predict(X), y)) / len(y)
    assert accuracy == 1.0
    assert loss.data < 0.05


def test_micrograd_demo_through_fit():
    X, y = data.make_moons(100, noise=0.1, seed=1)
    model = nn.MLP(2, [16, 16, 1], init="micrograd", seed=1)
    opt = nn.optim.SGD(model.parameters(), lr=1.0)
    h = nn.fit(model, X, [2 * t - 1 for t in y], epochs=100, optimizer=opt, loss="hinge",
               l2=1e-4, scheduler=nn.optim.LinearLR(opt, 1.0, 0.1, 100), progress=False)
    assert h.accuracy[-1] == 1.0
    assert nn.evaluate(model, X, y)[1] == 1.0


def test_digits_subset_held_out_accuracy():
    # The full run (all 1,797 images, MLP(64, [32, 10]), 10 epochs) reaches about 97% on a
    # held-out 20%; this cheaper check trains on a subset.
    X, y = data.load_digits()
    X, y = X[:700], y[:700]
    X_train, X_test, y_train, y_test = data.train_test_split(X, y, test_size=0.2, seed=0)
    scaler = data.StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    model = nn.MLP(64, [16, 10], seed=0)
    h = nn.fit(model, X_train, y_train, epochs=6, batch_size=32, lr=0.01,
               validation_data=(X_test, y_test), seed=0, progress=False, pause_gc=True)
    assert h.val_accuracy[-1] >= 0.9
