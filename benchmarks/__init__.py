"""featlearn's benchmarks (issue 8): ``python -m benchmarks`` runs them all, ``python -m benchmarks.<name>`` one.

1. :mod:`benchmarks.sweep_vs_loop` — a figure's sweep against per-configuration loops in JAX and PyTorch;
2. :mod:`benchmarks.machine_limit` — the training step's floating-point rate against the machine's matmul rate;
3. :mod:`benchmarks.kernel_scale` — closed-form NTK ridge regression: time and memory against n, dense against
   blocked and iterative solvers;
4. :mod:`benchmarks.compile_time` — the chapters' sweeps compile in a time independent of steps and seeds.

Each prints its table and writes ``benchmarks/<name>.json`` (``$BENCH_OUT`` selects another folder); the
numbers are recorded in ``benchmarks/RESULTS.md``. Sizes follow the ``quick``/``paper`` profile
(``FEATLEARN_PROFILE``).

On a CPU, the host is split into one XLA device per core (``--xla_force_host_platform_device_count``, set here
before JAX starts unless ``XLA_FLAGS`` already sets it or ``BENCH_HOST_DEVICES`` gives another count), so that a
sweep's configurations run on every core, as ``book/reproducibility.md`` recommends.
"""

import os

_FLAG = "--xla_force_host_platform_device_count"
if _FLAG not in os.environ.get("XLA_FLAGS", ""):
    _n = int(os.environ.get("BENCH_HOST_DEVICES", os.cpu_count() or 1))
    if _n > 1:
        os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {_FLAG}={_n}".strip()
