"""Staged weight-decay training, neuron/teacher structure and the dual certificate."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import normal as _normal

from featlearn import local, population


def test_staged_gd_matches_python_loop(x64):
    """The scanned stages are plain GD on L + lambda_s R, stage after stage."""
    W_star = jnp.eye(2, 4)
    a_star = jnp.array([1.0, -0.5])
    loss = local.population_objective(W_star, a_star)
    p0 = {"W": 0.3 * _normal(0, (4, 4)),
          "a": 0.3 * _normal(1, (4,))}
    lams = jnp.array([1e-2, 1e-3])
    p, tr = jax.jit(lambda q: local.staged_weight_decay(q, loss, lams, steps=6, lr=0.1, n_evals=3))(p0)
    grad = jax.jit(jax.grad(lambda z, lam: loss(z) + lam * local.weight_decay(z)))
    q = p0
    for lam in lams:
        for _ in range(6):
            g = grad(q, lam)
            q = jax.tree_util.tree_map(lambda v, gv: v - 0.1 * gv, q, g)
    for k in ("W", "a"):
        np.testing.assert_allclose(p[k], q[k], rtol=1e-10)
    assert tr.loss.shape == (2, 3) and tr.snapshots["W"].shape == (2, 4, 4)
    np.testing.assert_allclose(tr.loss[-1, -1], loss(q), rtol=1e-10)
    np.testing.assert_array_equal(tr.step[:, -1], [6, 12])


def test_teacher_structure_on_a_constructed_network(x64):
    W_star = jnp.eye(2, 3)
    a_star = jnp.array([1.0, -0.6])
    # two neurons splitting teacher 0 (one flipped in sign: |z| is even), one on teacher 1, one far and small
    W = jnp.array([[0.6, 0.01, 0.0], [-0.4, 0.0, 0.0], [0.0, 0.5, 0.0], [0.0, 0.0, 0.1]])
    a = jnp.array([1.0, 1.0, -1.2, 0.05])
    s = local.teacher_structure({"W": W, "a": a}, W_star, a_star, delta=0.1, alive=1e-3)
    np.testing.assert_allclose(s.teacher_mass, [1.0, -0.6], atol=1e-3)
    np.testing.assert_allclose(s.far_mass, 0.005, rtol=1e-12)
    assert float(s.max_angle_alive) == pytest.approx(np.pi / 2)
    assert float(s.frac_aligned_or_vanished) == 0.75


def test_certificate_equals_sign_at_a_stationary_point(x64):
    """At a stationary point of L + lam*R, eta(w_j) = a_j/||w_j|| = sign(a_j) for balanced neurons."""
    W_star = jnp.eye(2, 5)
    a_star = jnp.array([1.0, -0.7])
    loss = local.population_objective(W_star, a_star)
    p0 = {"W": jnp.concatenate([W_star, 0.05 * _normal(2, (3, 5))]),
          "a": jnp.array([1.0, -0.7, 0.05, -0.05, 0.05])}
    lam = 2e-2
    run = jax.jit(lambda q: local.staged_weight_decay(q, loss, jnp.array([lam]), steps=4000, lr=0.1, n_evals=4))
    p, tr = run(local.balance(p0))
    assert float(tr.grad_norm[0, -1]) < 1e-7
    eta = local.dual_certificate(p["W"], p, W_star, a_star, lam)
    alive = np.abs(np.asarray(p["a"])) > 1e-3
    np.testing.assert_allclose(eta[alive], np.sign(p["a"][alive]), atol=1e-5)
    # the definition, by Monte Carlo: -E[(f - f*) |v.x|]/lam
    v = _normal(3, (1, 5))
    x = _normal(4, (50_000, 5))
    h = jax.jit(lambda x: -(jnp.abs(x @ p["W"].T) @ p["a"] - jnp.abs(x @ W_star.T) @ a_star)
                * jnp.abs(x @ (v[0] / jnp.linalg.norm(v))) / lam)(x)
    got = local.dual_certificate(v, p, W_star, a_star, lam)[0]
    assert abs(got - h.mean()) < 5 * h.std() / np.sqrt(x.shape[0])


def test_fit_curvature_recovers_quadratic():
    t = np.linspace(0.05, 0.3, 20)
    c = local.fit_curvature(t, -(1.0 - 0.7 * t**2), -1.0)
    assert c.rho == pytest.approx(0.7) and c.exponent == pytest.approx(2.0) and c.r2 == pytest.approx(1.0)


def test_balance_keeps_function_and_one_step_lands_in_teacher_subspace(x64):
    d, n = 8, 2000
    W_star = jnp.eye(2, d)
    a_star = jnp.array([1.0, 1.0])
    x = _normal(5, (n, d))
    y = jnp.abs(x @ W_star.T) @ a_star
    W = _normal(6, (10, d)) / np.sqrt(d)
    a = jnp.sign(_normal(7, (10,)))
    p0 = {"W": jnp.concatenate([W, W]), "a": jnp.concatenate([a, -a])}
    pb = local.balance({"W": W, "a": 0.3 * a})
    np.testing.assert_allclose(population.population_loss(pb, W_star, a_star),
                               population.population_loss({"W": W, "a": 0.3 * a}, W_star, a_star), rtol=1e-10)
    p1 = jax.jit(lambda p, x, y: local.one_step_features(p, x, y, lr=1.0))(p0, x, y - y.mean())
    frac = lambda M: float(jnp.mean(jnp.linalg.norm(M @ W_star.T, axis=1) / jnp.linalg.norm(M, axis=1)))  # noqa: E731
    assert frac(p1["W"]) > frac(p0["W"]) + 0.2


def test_bad_input():
    loss = local.population_objective(jnp.eye(1, 2), jnp.ones(1))
    p = {"W": jnp.ones((2, 2)), "a": jnp.ones(2)}
    with pytest.raises(ValueError, match="n_evals"):
        local.staged_weight_decay(p, loss, jnp.ones(1), steps=10, lr=0.1, n_evals=3)
    with pytest.raises(ValueError, match="lambdas"):
        local.staged_weight_decay(p, loss, jnp.ones((1, 1)), steps=10, lr=0.1, n_evals=5)
    with pytest.raises(ValueError, match="lam"):
        local.dual_certificate(p["W"], p, jnp.eye(1, 2), jnp.ones(1), 0.0)
    with pytest.raises(ValueError, match="delta"):
        local.teacher_structure(p, jnp.eye(1, 2), jnp.ones(1), delta=-1.0)


def test_teacher_coordinates_and_nearest_teacher_up_to_sign():
    W_star = jnp.eye(2, 3)
    W = jnp.array([[-2.0, 0.1, 0.0], [0.0, 3.0, 0.0]])
    c = local.teacher_coordinates(W, W_star)
    assert float(c[0, 0]) > 0.99 and float(c[1, 1]) == pytest.approx(1.0)
    ang, idx = local.nearest_teacher(W, W_star, up_to_sign=True)
    np.testing.assert_array_equal(idx, [0, 1])
    np.testing.assert_allclose(ang, [np.arctan(0.05), 0.0], atol=1e-6)
    ang_signed, _ = local.nearest_teacher(W, W_star, up_to_sign=False)
    assert float(ang_signed[0]) > 1.5
