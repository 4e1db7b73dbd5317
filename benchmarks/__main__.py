"""``python -m benchmarks [name ...]``: run every benchmark (or the named ones), print the tables and write the JSON
files; a summary of the targets comes last."""

from __future__ import annotations

import importlib
import sys
import time

from ._common import machine

ORDER = ("sweep_vs_loop", "machine_limit", "kernel_scale", "compile_time", "model_step")


def main(argv: list[str]) -> int:
    names = argv or list(ORDER)
    unknown = sorted(set(names) - set(ORDER))
    if unknown:
        print(f"unknown benchmark(s) {unknown}; choose from {ORDER}", file=sys.stderr)
        return 2
    info = machine()
    print(f"featlearn benchmarks on {info['nproc']} x {info['cpu_model']}, backend {info['backend']}, "
          f"devices {info['devices']}, profile {info['profile']}, {info['date_utc']} UTC", flush=True)
    summary, t0 = {}, time.perf_counter()
    for name in names:
        t = time.perf_counter()
        summary[name] = importlib.import_module(f"benchmarks.{name}").run()
        print(f"[{name}: {time.perf_counter() - t:.1f} s]", flush=True)
    print("\n### Targets")
    for name, targets in summary.items():
        for what, rec in (targets or {}).items():
            print(f"- {name} / {what}: {rec}")
    print(f"\nall benchmarks: {time.perf_counter() - t0:.1f} s wall", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
