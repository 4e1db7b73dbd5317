"""Staged weight-decay training, neuron/teacher structure and the dual certificate."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import normal as _normal

from featlearn import local_convergence as lc
from featlearn import metrics, models, population, targets
from featlearn import rng as _rng
from featlearn.chapters import local_convergence as lc_chapter


def test_staged_gd_matches_python_loop(x64):
    """The scanned stages are plain GD on L + lambda_s R, stage after stage."""
    W_star = jnp.eye(2, 4)
    a_star = jnp.array([1.0, -0.5])
    loss = lc.population_objective(W_star, a_star)
    p0 = {"W": 0.3 * _normal(0, (4, 4)),
          "a": 0.3 * _normal(1, (4,))}
    lams = jnp.array([1e-2, 1e-3])
    p, tr = jax.jit(lambda q: lc.staged_weight_decay(q, loss, lams, steps=6, lr=0.1, n_evals=3))(p0)
    grad = jax.jit(jax.grad(lambda z, lam: loss(z) + lam * lc.weight_decay(z)))
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
    s = lc.teacher_structure({"W": W, "a": a}, W_star, a_star, delta=0.1, alive=1e-3)
    np.testing.assert_allclose(s.teacher_mass, [1.0, -0.6], atol=1e-3)
    np.testing.assert_allclose(s.far_mass, 0.005, rtol=1e-12)
    assert float(s.max_angle_alive) == pytest.approx(np.pi / 2)
    assert float(s.frac_aligned_or_vanished) == 0.75


def test_certificate_equals_sign_at_a_stationary_point(x64):
    """At a stationary point of L + lam*R, eta(w_j) = a_j/||w_j|| = sign(a_j) for balanced neurons."""
    W_star = jnp.eye(2, 5)
    a_star = jnp.array([1.0, -0.7])
    loss = lc.population_objective(W_star, a_star)
    p0 = {"W": jnp.concatenate([W_star, 0.05 * _normal(2, (3, 5))]),
          "a": jnp.array([1.0, -0.7, 0.05, -0.05, 0.05])}
    lam = 2e-2
    run = jax.jit(lambda q: lc.staged_weight_decay(q, loss, jnp.array([lam]), steps=4000, lr=0.1, n_evals=4))
    p, tr = run(lc.balance(p0))
    assert float(tr.grad_norm[0, -1]) < 1e-7
    eta = lc.dual_certificate(p["W"], p, W_star, a_star, lam)
    alive = np.abs(np.asarray(p["a"])) > 1e-3
    np.testing.assert_allclose(eta[alive], np.sign(p["a"][alive]), atol=1e-5)
    # the definition, by Monte Carlo: -E[(f - f*) |v.x|]/lam
    v = _normal(3, (1, 5))
    x = _normal(4, (50_000, 5))
    h = jax.jit(lambda x: -(jnp.abs(x @ p["W"].T) @ p["a"] - jnp.abs(x @ W_star.T) @ a_star)
                * jnp.abs(x @ (v[0] / jnp.linalg.norm(v))) / lam)(x)
    got = lc.dual_certificate(v, p, W_star, a_star, lam)[0]
    assert abs(got - h.mean()) < 5 * h.std() / np.sqrt(x.shape[0])


def test_fit_curvature_recovers_quadratic():
    t = np.linspace(0.05, 0.3, 20)
    c = lc.fit_curvature(t, -(1.0 - 0.7 * t**2), -1.0)
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
    pb = lc.balance({"W": W, "a": 0.3 * a})
    np.testing.assert_allclose(population.population_loss(pb, W_star, a_star),
                               population.population_loss({"W": W, "a": 0.3 * a}, W_star, a_star), rtol=1e-10)
    # the early stage: one step on the empirical loss with the weight decay 1/eta that resets W (eta = 1)
    early = jax.jit(lambda p, x, y: models.first_layer_step(p, models.first_layer_gradient(lc.sample_objective(x, y),
                                                                                           p), 1.0))
    p1 = early(p0, x, y - y.mean())
    frac = lambda M: float(jnp.mean(jnp.linalg.norm(M @ W_star.T, axis=1) / jnp.linalg.norm(M, axis=1)))  # noqa: E731
    assert frac(p1["W"]) > frac(p0["W"]) + 0.2


def test_bad_input():
    loss = lc.population_objective(jnp.eye(1, 2), jnp.ones(1))
    p = {"W": jnp.ones((2, 2)), "a": jnp.ones(2)}
    with pytest.raises(ValueError, match="n_evals"):
        lc.staged_weight_decay(p, loss, jnp.ones(1), steps=10, lr=0.1, n_evals=3)
    with pytest.raises(ValueError, match="schedule"):
        lc.staged_weight_decay(p, loss, jnp.ones((1, 1)), steps=10, lr=0.1, n_evals=5)
    with pytest.raises(ValueError, match="lam"):
        lc.dual_certificate(p["W"], p, jnp.eye(1, 2), jnp.ones(1), 0.0)
    with pytest.raises(ValueError, match="delta"):
        lc.teacher_structure(p, jnp.eye(1, 2), jnp.ones(1), delta=-1.0)


def test_teacher_coordinates_and_nearest_teacher_up_to_sign():
    W_star = jnp.eye(2, 3)
    W = jnp.array([[-2.0, 0.1, 0.0], [0.0, 3.0, 0.0]])
    c = lc.teacher_coordinates(W, W_star)
    assert float(c[0, 0]) > 0.99 and float(c[1, 1]) == pytest.approx(1.0)
    ang, idx = metrics.nearest_teacher(W, W_star, up_to_sign=True)
    np.testing.assert_array_equal(idx, [0, 1])
    np.testing.assert_allclose(ang, [np.arctan(0.05), 0.0], atol=1e-6)
    ang_signed, _ = metrics.nearest_teacher(W, W_star, up_to_sign=False)
    assert float(ang_signed[0]) > 1.5


def test_teacher_is_the_abs_teacher_network(x64):
    key = jax.random.key(3)
    W_star, a_star = lc.teacher(key, 6, [1.0, 0.8, -0.6])
    t = targets.teacher_network(key, 6, 3, a=[1.0, 0.8, -0.6], activation="abs", dtype=jnp.float64)
    np.testing.assert_array_equal(W_star, t.W)
    np.testing.assert_array_equal(a_star, t.a)
    np.testing.assert_allclose(W_star @ W_star.T, np.eye(3), atol=1e-6)
    x = _normal(4, (5, 6))
    np.testing.assert_allclose(t(x), jnp.abs(x @ W_star.T) @ a_star, rtol=1e-12)


def test_halving_schedule_values_and_bad_input(x64):
    np.testing.assert_allclose(lc.halving_schedule(0.4, 4), [0.4, 0.2, 0.1, 0.05], rtol=1e-12)
    np.testing.assert_array_equal(lc.halving_schedule(0.0, 3), np.zeros(3))
    np.testing.assert_allclose(lc.certificate_schedule(0.4, 0.03, halvings=2, stages=5),
                               [0.4, 0.2, 0.03, 0.03, 0.03], rtol=1e-12)
    with pytest.raises(ValueError, match="stages"):
        lc.halving_schedule(0.1, 0)
    with pytest.raises(ValueError, match="lam0"):
        lc.halving_schedule(-0.1, 3)
    with pytest.raises(ValueError, match="stages"):
        lc.certificate_schedule(0.1, 0.01, halvings=3, stages=3)
    with pytest.raises(ValueError, match="lam"):
        lc.certificate_schedule(0.1, 0.0, halvings=1, stages=3)


def test_decreasing_weight_decay_lowers_the_loss_stage_by_stage(x64):
    """Zhou & Ge's schedule: at a fixed lambda the loss settles at a level of order lambda^2 (the penalty biases the
    weights by O(lambda)), so each halving lowers the stage's final loss by about 4; a constant lambda would not."""
    W_star, a_star = jnp.eye(2, 4), [1.0, -0.6]
    out = jax.jit(lambda k: lc.staged_run(k, 0.02, W_star=W_star, a_star=a_star, m=6, init_scale=0.3, lr=0.2,
                                             stages=4, steps=1500, n_evals=1, delta=0.1))(jax.random.key(3))
    stage_end = np.asarray(out["loss"][:, -1])
    ratios = stage_end[:-1] / stage_end[1:]
    assert np.all((ratios > 3.0) & (ratios < 5.0)), (stage_end, ratios)
    np.testing.assert_allclose(out["stage_max_angle"][-1], out["max_angle_alive"])


def test_teacher_plane_coordinates_for_any_number_of_teachers(x64):
    for k in (1, 2, 3, 8):
        W_star = jnp.eye(k, 10)
        corners = np.asarray(lc.polygon_corners(k))
        assert corners.shape == (k, 2)
        np.testing.assert_allclose(np.linalg.norm(corners, axis=1), 1.0, rtol=1e-12)
        np.testing.assert_allclose(lc.teacher_plane_coordinates(-3.0 * W_star, W_star), corners, atol=1e-12)
        off = jnp.zeros((1, 10)).at[0, 9].set(1.0)  # orthogonal to the teacher subspace: the centre
        np.testing.assert_allclose(lc.teacher_plane_coordinates(off, W_star), [[0.0, 0.0]], atol=1e-12)
    with pytest.raises(ValueError, match="k"):
        lc.polygon_corners(0)


def test_certificate_curvature_recovers_each_circle():
    t = np.linspace(1e-3, np.pi, 400)
    rho = np.array([[0.3, 0.5], [0.7, 0.9], [1.1, 1.3]])
    a_star = [1.0, -0.5, 2.0]
    eta = np.sign(a_star)[:, None, None] * (1.0 - rho[:, :, None] * t**2)
    r, p = lc.certificate_curvature(t, np.stack([eta, eta]), a_star)
    assert r.shape == p.shape == (2, 3, 2)
    np.testing.assert_allclose(r, np.stack([rho, rho]), rtol=1e-10)
    np.testing.assert_allclose(p, 2.0, rtol=1e-8)
    with pytest.raises(ValueError, match="circle_eta"):
        lc.certificate_curvature(t, eta[:2], a_star)


def test_pipeline_run_trains_the_local_phase_on_the_sample(x64):
    """``local_loss="empirical"``: the local phase minimises the loss of the local samples (drawn from the sixth
    key of the split), not the population loss."""
    kw = dict(d=4, m=8, a_star=[1.0, -0.6], n_factor=4, local_n_factor=2, init_scale=0.1, lr=0.1, lam0=1e-2,
              stages=2, steps=50, n_evals=5, delta=0.1)
    key = jax.random.key(5)
    emp = jax.jit(lambda k: lc.pipeline_run(k, 0, local_loss="empirical", **kw))(key)
    k_t, *_, k_l = jax.random.split(key, 6)
    W_star, a_star = lc.teacher(k_t, 4, kw["a_star"])
    x_loc = _rng.normal(k_l, (32, 4), jnp.float64)
    emp_loss = lc.sample_objective(x_loc, jnp.abs(x_loc @ W_star.T) @ a_star)
    np.testing.assert_allclose(emp["final_train_loss"], emp_loss(emp["final"]), rtol=1e-10)
    np.testing.assert_allclose(emp["loss"][-1, -1], emp["final_train_loss"], rtol=1e-10)
    np.testing.assert_allclose(emp["final_pop_loss"], population.population_loss(emp["final"], W_star, a_star),
                               rtol=1e-10)
    assert float(emp["start_loss"]) < 0.5 * float(emp["zero_loss"])  # the early stage fitted something
    with pytest.raises(ValueError, match="local_loss"):
        lc.pipeline_run(key, 0, local_loss="test", **kw)


@pytest.mark.parametrize("profile", ["cpu_large", "paper"])
def test_paper_profile_shapes(x64, profile):
    """Every sweep of the chapter, at the ``paper`` sizes (and the intermediate ``cpu_large`` ones), under abstract
    evaluation (no compute): catches shape bugs that only appear at a larger m* (e.g. a figure projection written
    for three teachers)."""
    from featlearn import profiles, sweeps

    S = profiles.sizes(**lc_chapter.SIZES, profile=profile)
    k = len(S.a_star)
    assert k != 3  # the bug class this test is for needs m* different from the quick profile's
    W_star, _ = lc.teacher(jax.random.key(0), S.d, S.a_star)
    key = jax.random.key(1)

    def shapes(fn, vary=None, **fixed):
        prog = sweeps.program(fn, key=key, seeds=2, vary=vary, fixed=fixed)
        return jax.eval_shape(prog.fn, *prog.args)

    common = dict(W_star=W_star, a_star=S.a_star, m=S.m, n_evals=S.n_evals)
    run = shapes(lc.staged_run, vary=dict(lam0=[S.lam0, 0.0]), init_scale=S.init_scale, lr=S.lr,
                 stages=S.stages, steps=S.steps, delta=S.delta, alive=S.alive, **common)
    assert run["final"]["W"].shape == (4, S.m, S.d) and run["loss"].shape == (4, S.stages, S.n_evals)
    assert run["snapshots"]["W"].shape == (4, S.stages, S.m, S.d) and run["mass_error"].shape == (4, k)
    lazy = shapes(lc.lazy_run, alpha=S.lazy_alpha, lr=S.lazy_lr, stages=S.stages, steps=S.steps,
                  delta=S.delta, alive=S.alive, **common)
    assert lazy["final"]["a"].shape == (2, S.m)
    cert = shapes(lc.certificate_run, init_scale=S.init_scale, lr=S.lr, lam0=S.lam0, lam=S.cert_lam,
                  halvings=S.cert_halvings, stages=S.cert_stages, steps=S.steps, n_random=S.n_random,
                  n_circle=S.n_circle, alive=S.alive, **common)
    assert cert["circle_eta"].shape == (2, k, 2, S.n_circle) and cert["eta_teacher"].shape == (2, k)
    t = np.linspace(1e-3, np.pi, S.n_circle)
    rho, _ = lc.certificate_curvature(t, np.broadcast_to(np.cos(t), (1, k, 2, S.n_circle)), S.a_star)
    assert rho.shape == (1, k, 2)
    pipe_kw = dict(d=S.d_pipe, m=S.m_pipe, a_star=S.a_star, n_factor=S.n_factor, local_n_factor=S.local_n_factor,
                   init_scale=S.init_scale, lr=S.lr, lam0=S.lam0, stages=S.pipe_stages, steps=S.pipe_steps,
                   n_evals=S.n_evals, delta=S.delta, alive=S.alive)
    pipe = shapes(lc.pipeline_run, vary=dict(start=[0, 1]), **pipe_kw)
    emp = shapes(lc.pipeline_run, local_loss="empirical", **pipe_kw)
    for out in (pipe, emp):
        assert out["final"]["W"].shape[-2:] == (S.m_pipe, S.d_pipe) and out["stage_pop_loss"].shape[-1] == S.pipe_stages
    # the neuron picture, for every panel the chapter draws
    for W in (run["final"]["W"], run["snapshots"]["W"], lazy["final"]["W"]):
        xy = jax.eval_shape(jax.vmap(lambda w: lc.teacher_plane_coordinates(w, W_star)),
                            jax.ShapeDtypeStruct((W.shape[0] * int(np.prod(W.shape[1:-2])), S.m, S.d), W.dtype))
        assert xy.shape[-2:] == (S.m, 2)


@pytest.mark.slow
def test_sections_run_at_toy_sizes_and_can_be_stored(x64):
    """The chapter's experiments (lc_chapter.SECTIONS) end to end at toy sizes: what each returns is what `featlearn
    reproduce` can store, and the pieces agree with each other (the figure data with the runs they come from)."""
    from featlearn import profiles, results

    S = profiles.sizes(**lc_chapter.SIZES, profile="toy")
    key = jax.random.key(lc_chapter.SEED)
    assert list(lc_chapter.SECTIONS) == ["staged_convergence", "teacher_concentration", "certificate", "pipeline"]
    st = lc_chapter.staged_convergence(S, key)
    out = {"staged_convergence": st, "teacher_concentration": lc_chapter.teacher_concentration(S, key, st),
           "certificate": lc_chapter.certificate(S, key), "pipeline": lc_chapter.pipeline(S, key)}
    for name, o in out.items():
        results.encode(name, o)  # raises if an entry is not an array, a scalar, a record or a table
    co, pi = out["teacher_concentration"], out["pipeline"]
    assert st["loss"].shape == (2, 3 * 2) and st["stage_end"].shape == (2, 3)
    np.testing.assert_allclose(st["stage_end"][:, -1], st["staged"]["final_loss"])
    assert co["far"] == np.max(st["staged"]["far_mass"]) and co["late_angles"].shape == (2, 2)
    first = co["neurons"]["panel"] == 0  # the first seed's initialisation, in the teacher plane
    np.testing.assert_allclose(co["neurons"]["mass"][first],
                               np.abs(st["panel_a"][0]) * np.linalg.norm(st["panel_W"][0], axis=1))
    assert np.bincount(co["neurons"]["panel"]).tolist() == [6] * 6
    c = pi["curves"]
    assert [(c["curve"] == i).sum() for i in range(3)] == [2 * (1 + 2 * 2)] * 2 + [2 * (1 + 2)]
    np.testing.assert_allclose(c["loss"][(c["curve"] == 0) & (c["step"] == 0)], pi["pop"]["start_loss"])
    assert pi["far_pipe"] == max(np.max(pi["pop"]["far_mass"]), np.max(pi["emp"]["far_mass"]))
