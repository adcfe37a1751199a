"""NumPy (float64) oracles of the Keras 3 update rules, written from their formulas.

t counts updates from 1, eta is the learning rate, eps the stability constant (Keras: 1e-7).

    SGD:      v <- mu v - eta g;  theta <- theta + v;  nesterov: theta <- theta + mu v - eta g
    Adam:     m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2   (Kingma & Ba 2014)
              theta <- theta - eta_t m / (sqrt(v) + eps_hat),  eta_t = eta sqrt(1 - b2^t) / (1 - b1^t)
              AMSGrad (Reddi et al. 2018): v_hat <- max(v_hat, v) in the denominator
    RMSprop:  v <- rho v + (1 - rho) g^2;  d = eta g / sqrt(v + eps)   (Hinton 2012)
              centered: g_bar <- rho g_bar + (1 - rho) g,  d = eta g / sqrt(v - g_bar^2 + eps)
              momentum: s <- mu s + d,  theta <- theta - s;  otherwise theta <- theta - d
    Adagrad:  a <- a + g^2 (a_0 = initial_accumulator_value);  theta <- theta - eta g / sqrt(a + eps)
              (Duchi et al. 2011)

The test problems return ``(loss, gradient)`` with the gradient derived by hand.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

State = dict[str, Any]
Problem = Callable[[np.ndarray], tuple[float, np.ndarray]]


class NumpyOptimizer(NamedTuple):
    """An update rule: ``init(params) -> state``, ``update(params, grad, state, t) -> (params, state)``."""

    init: Callable[[np.ndarray], State]
    update: Callable[[np.ndarray, np.ndarray, State, int], tuple[np.ndarray, State]]


def sgd(learning_rate: float, momentum: float = 0.0, nesterov: bool = False) -> NumpyOptimizer:
    def init(params):
        return {"v": np.zeros_like(params)}

    def update(params, grad, state, t):
        if momentum == 0.0:
            return params - learning_rate * grad, state
        v = momentum * state["v"] - learning_rate * grad
        step = momentum * v - learning_rate * grad if nesterov else v
        return params + step, {"v": v}

    return NumpyOptimizer(init, update)


def adam(
    learning_rate: float,
    beta_1: float = 0.9,
    beta_2: float = 0.999,
    epsilon: float = 1e-7,
    amsgrad: bool = False,
) -> NumpyOptimizer:
    def init(params):
        zeros = np.zeros_like(params)
        return {"m": zeros, "v": zeros, "v_hat": zeros}

    def update(params, grad, state, t):
        m = beta_1 * state["m"] + (1 - beta_1) * grad
        v = beta_2 * state["v"] + (1 - beta_2) * grad**2
        v_hat = np.maximum(state["v_hat"], v) if amsgrad else v
        step_size = learning_rate * np.sqrt(1 - beta_2**t) / (1 - beta_1**t)
        new_params = params - step_size * m / (np.sqrt(v_hat) + epsilon)
        return new_params, {"m": m, "v": v, "v_hat": v_hat}

    return NumpyOptimizer(init, update)


def rmsprop(
    learning_rate: float,
    rho: float = 0.9,
    momentum: float = 0.0,
    epsilon: float = 1e-7,
    centered: bool = False,
) -> NumpyOptimizer:
    def init(params):
        zeros = np.zeros_like(params)
        return {"v": zeros, "g_bar": zeros, "s": zeros}

    def update(params, grad, state, t):
        v = rho * state["v"] + (1 - rho) * grad**2
        g_bar = rho * state["g_bar"] + (1 - rho) * grad
        second_moment = v - g_bar**2 if centered else v
        increment = learning_rate * grad / np.sqrt(second_moment + epsilon)
        s = momentum * state["s"] + increment
        step = s if momentum > 0 else increment
        return params - step, {"v": v, "g_bar": g_bar, "s": s}

    return NumpyOptimizer(init, update)


def adagrad(
    learning_rate: float, initial_accumulator_value: float = 0.1, epsilon: float = 1e-7
) -> NumpyOptimizer:
    def init(params):
        return {"a": np.full_like(params, initial_accumulator_value)}

    def update(params, grad, state, t):
        a = state["a"] + grad**2
        return params - learning_rate * grad / np.sqrt(a + epsilon), {"a": a}

    return NumpyOptimizer(init, update)


def quadratic(x: np.ndarray) -> tuple[float, np.ndarray]:
    """``sum((x - 2)^2)`` and its gradient ``2 (x - 2)``."""
    return float(np.sum((x - 2.0) ** 2)), 2.0 * (x - 2.0)


def ill_conditioned_quadratic(condition_number: float) -> Problem:
    """``sum_i h_i (x_i - 2)^2``, ``h_i = condition_number^(i/(n-1))``; gradient ``2 h (x - 2)``."""

    def problem(x):
        n = x.shape[-1]
        h = condition_number ** (np.arange(n) / max(n - 1, 1))
        return float(np.sum(h * (x - 2.0) ** 2)), 2.0 * h * (x - 2.0)

    return problem


def rosenbrock(x: np.ndarray, a: float = 1.0, b: float = 100.0) -> tuple[float, np.ndarray]:
    """``sum_i b (x_{i+1} - x_i^2)^2 + (a - x_i)^2`` and its gradient."""
    head, tail = x[:-1], x[1:]
    residual = tail - head**2
    grad = np.zeros_like(x)
    grad[:-1] += -4.0 * b * head * residual - 2.0 * (a - head)
    grad[1:] += 2.0 * b * residual
    return float(np.sum(b * residual**2 + (a - head) ** 2)), grad


def run(
    optimizer: NumpyOptimizer,
    problem: Problem,
    initial: np.ndarray,
    steps: int,
    *,
    storage: type = np.float64,
) -> tuple[np.ndarray, np.ndarray]:
    """``(losses, params)`` of shapes ``(steps,)`` and ``(steps + 1, dim)``; ``losses[t] = f(params[t])``.

    ``storage=np.float32`` rounds the parameters and the optimizer state after every update (as
    float32 variables hold them) and evaluates the gradient in float32: the distance between
    that run and the float64 one measures how much the trajectory amplifies float32 rounding.
    """

    def store(value):
        return np.asarray(value, dtype=storage).astype(np.float64)

    params = store(initial)
    state = {key: store(value) for key, value in optimizer.init(params).items()}
    losses, trajectory = [], [params]
    for t in range(1, steps + 1):
        loss, grad = problem(params.astype(storage))
        params, state = optimizer.update(params, store(grad), state, t)
        params, state = store(params), {key: store(value) for key, value in state.items()}
        losses.append(loss)
        trajectory.append(params)
    return np.array(losses, dtype=np.float64), np.array(trajectory)
