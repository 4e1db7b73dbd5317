"""A sweep sharded over two devices gives exactly the numbers of the same sweep on one device.

Each run is a fresh interpreter, because the number of (fake) CPU devices is fixed when JAX starts:
``XLA_FLAGS=--xla_force_host_platform_device_count=2`` splits the host into two XLA devices.
"""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

# A training sweep (full-batch GD on a teacher-student task) whose 3 seeds x 3 learning rates = 9 configurations
# do not divide evenly over 2 devices, so padding is exercised too.
SCRIPT = textwrap.dedent("""
    import json, sys
    import jax
    import numpy as np
    from featlearn import models, sweeps, targets, train

    def run(key, lr, *, d, n, m, steps):
        kt, kx, kp = jax.random.split(key, 3)
        teacher = targets.teacher_network(kt, d, 2)
        x, y = targets.sample(kx, teacher, n, d)
        p0 = models.init_params(kp, d, m)
        apply_fn = models.make_apply("relu", models.output_scale(m, "ntk"))
        p, tr = train.fit(p0, train.supervised_loss(apply_fn, x, y), steps=steps, lr=lr, n_evals=5)
        return {"loss": tr.loss, "W": p["W"][:2]}

    kw = dict(key=jax.random.key(7), seeds=3, vary={"lr": [0.1, 0.5, 1.0]}, fixed=dict(d=8, n=64, m=32, steps=50))
    out = sweeps.sweep(run, cache=False, **kw)
    prog = sweeps.program(run, **kw)  # the program sweep ran; not run again here
    info = {"devices": jax.local_device_count(), "sweep_devices": len(sweeps.devices()),
            "arg_devices": len(prog.args[0].sharding.device_set), "padded": int(prog.args[0].shape[0])}
    np.savez(sys.argv[1], loss=out["loss"], W=out["W"])
    print(json.dumps(info))
""")


def _env(devices: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("XLA_FLAGS", "JAX_PLATFORMS")}
    env.update(JAX_PLATFORMS="cpu", FEATLEARN_CACHE="0")
    if devices > 1:
        env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={devices}"
    return env


def _collect(procs: list[subprocess.Popen], what: str) -> list[str]:
    outs = []
    for p in procs:
        try:
            out, err = p.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            for q in procs:
                q.kill()
            pytest.fail(f"{what} did not finish in 120 s")
        if p.returncode:
            pytest.fail(f"{what} failed:\n{err[-3000:]}")
        outs.append(out.strip().splitlines()[-1])
    return outs


def test_two_device_sweep_equals_one_device_sweep(tmp_path):
    paths = {n: tmp_path / f"out{n}.npz" for n in (1, 2)}
    procs = [subprocess.Popen([sys.executable, "-c", SCRIPT, str(paths[n])], env=_env(n), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for n in (1, 2)]
    info1, info2 = (json.loads(line) for line in _collect(procs, "sweep on one and on two devices"))
    one, two = (dict(np.load(paths[n])) for n in (1, 2))
    assert info1 == {"devices": 1, "sweep_devices": 1, "arg_devices": 1, "padded": 9}
    # On two devices the 9 configurations are padded to 10 and split between the devices.
    assert info2 == {"devices": 2, "sweep_devices": 2, "arg_devices": 2, "padded": 10}
    assert one["loss"].shape == (3, 3, 6) and one["W"].shape == (3, 3, 2, 8)
    assert np.all(np.isfinite(one["loss"])) and np.all(one["loss"][..., -1] < one["loss"][..., 0])
    for k in one:
        np.testing.assert_array_equal(two[k], one[k], err_msg=f"{k} differs between one and two devices")


WORKER = textwrap.dedent("""
    import json, sys
    import jax
    jax.distributed.initialize(coordinator_address=f"localhost:{sys.argv[2]}", num_processes=2,
                               process_id=int(sys.argv[1]))
    import jax.numpy as jnp
    from featlearn import sweeps

    def toy(key, lr, *, n):
        x = jax.random.normal(key, (n,))
        return {"loss": jnp.mean((x * lr) ** 2), "x": x[:2]}

    out = sweeps.sweep(toy, key=jax.random.key(0), seeds=3, vary={"lr": [0.5, 1.0, 2.0]}, fixed={"n": 10},
                       cache=False)
    print(json.dumps({"processes": jax.process_count(), "devices": len(sweeps.devices()),
                      "loss": out["loss"].tolist(), "x": out["x"].tolist()}))
""")


def test_sweep_across_two_processes_with_jax_distributed(key):
    """Two processes joined by ``jax.distributed`` (one CPU device each) split the configurations and both
    get the whole result, equal to the single-process sweep."""
    import socket

    import jax
    import jax.numpy as jnp

    from featlearn import sweeps

    with socket.socket() as s:
        s.bind(("localhost", 0))
        port = s.getsockname()[1]
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, str(i), str(port)], env=_env(1), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for i in range(2)]
    results = [json.loads(line) for line in _collect(procs, "jax.distributed workers")]

    def toy(k, lr, *, n):
        x = jax.random.normal(k, (n,))
        return {"loss": jnp.mean((x * lr) ** 2), "x": x[:2]}

    ref = sweeps.sweep(toy, key=jax.random.key(0), seeds=3, vary={"lr": [0.5, 1.0, 2.0]}, fixed={"n": 10},
                       cache=False)
    for r in results:
        assert r["processes"] == 2 and r["devices"] == 2
        np.testing.assert_array_equal(np.asarray(r["loss"], np.float32), ref["loss"])
        np.testing.assert_array_equal(np.asarray(r["x"], np.float32), ref["x"])


# Ridge regression on 512 features inside a sharded sweep: with jaxlib 0.10.2, batched eigendecompositions of
# this size deadlocked XLA's CPU thread pool on two forced host devices (the program never returned); the library
# runs them one matrix at a time under vmap (featlearn._linalg.eigh).
RIDGE_SCRIPT = textwrap.dedent("""
    import sys
    import jax
    import numpy as np
    from featlearn import ridge, sweeps

    def run(key, scale, *, d, n, m):
        kx, kw, kv = jax.random.split(key, 3)
        x, xv = jax.random.normal(kx, (n, d)), jax.random.normal(kv, (n, d))
        W = scale * jax.random.normal(kw, (m, d)) / d**0.5
        y, yv = x[:, 0] * x[:, 1], xv[:, 0] * xv[:, 1]
        fit = ridge.ridge(jax.nn.relu(x @ W.T), y, jax.nn.relu(xv @ W.T), yv)
        return {"val_mse": fit.val_mse, "lam": fit.lam}

    out = sweeps.sweep(run, key=jax.random.key(3), seeds=8, vary={"scale": [0.5, 1.0, 2.0, 4.0]},
                       fixed=dict(d=16, n=1024, m=512), cache=False)
    np.savez(sys.argv[1], **out)
    print("ok")
""")


@pytest.mark.slow
def test_sharded_ridge_sweep_does_not_deadlock(tmp_path):
    paths = {n: tmp_path / f"ridge{n}.npz" for n in (1, 2)}
    outs = []
    for n in (1, 2):  # one after the other: two processes at once would share the two cores
        proc = subprocess.Popen([sys.executable, "-c", RIDGE_SCRIPT, str(paths[n])], env=_env(n),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        outs += _collect([proc], f"ridge sweep on {n} device(s)")
    one, two = (dict(np.load(paths[n])) for n in (1, 2))
    assert one["val_mse"].shape == (8, 4, 15) and np.all(np.isfinite(one["val_mse"]))
    for k in one:
        np.testing.assert_allclose(two[k], one[k], rtol=1e-5, err_msg=f"{k} differs between one and two devices")
