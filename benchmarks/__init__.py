"""featlearn's benchmarks (issue 8): ``python -m benchmarks`` runs them all, ``python -m benchmarks.<name>`` one.

1. :mod:`benchmarks.sweep_vs_loop` — a figure's sweep against per-configuration loops in JAX and PyTorch;
2. :mod:`benchmarks.machine_limit` — the training step's floating-point rate against the machine's matmul rate;
3. :mod:`benchmarks.kernel_scale` — closed-form NTK ridge regression: time and memory against n, dense against
   blocked and iterative solvers;
4. :mod:`benchmarks.compile_time` — the chapters' sweeps compile in a time independent of steps and seeds.

Each prints its table and writes ``benchmarks/<name>.json`` (``$BENCH_OUT`` selects another folder); the
numbers are recorded in ``benchmarks/RESULTS.md``. Sizes follow the ``quick``/``paper`` profile
(``FEATLEARN_PROFILE``).

The sweeps run on the devices JAX sees. On a CPU that is one device whose matrix products use every core
(XLA's own threads). ``BENCH_HOST_DEVICES=k`` splits the host into ``k`` XLA devices instead
(``--xla_force_host_platform_device_count``, set here before JAX starts unless ``XLA_FLAGS`` already sets it), so
that a sweep's configurations are sharded over them. It is not the default: on 2 cores the split gained about
10% on the GD sweep when measured. (With jax 0.10.2, batched LAPACK calls could deadlock forced host devices;
the library now runs its eigendecompositions one matrix at a time, see ``book/reproducibility.md``.)
"""

import os

_FLAG = "--xla_force_host_platform_device_count"
_n = int(os.environ.get("BENCH_HOST_DEVICES", "1"))
if _n > 1 and _FLAG not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {_FLAG}={_n}".strip()
