"""Per-op profile of the reference side of a benchmark workload (issue 15).

Runs one workload of the project's ``ref_bench.py`` (the original sgm code on torch 1.13) with its
warm-up runs unprofiled, then one run under torch's legacy autograd profiler (the same profiler
DJL's ``JniUtils.startProfile`` drives in libtorch 2.7), and writes the Chrome-trace JSON.

Usage: /usr/bin/python3 ref_profile.py BENCH_DIR WORKLOAD OUT.json [--threads 2]
  BENCH_DIR: a prepared copy of shared/bench (ref_bench.py) beside golden-tools with the sources.
``op_table.py`` turns the trace into the per-op table of docs/benchmarks.md.
"""
import argparse
import os
import sys
import time

ap = argparse.ArgumentParser()
ap.add_argument("bench_dir")
ap.add_argument("workload")
ap.add_argument("out")
ap.add_argument("--threads", type=int, default=2)
a = ap.parse_args()
sys.path.insert(0, os.path.abspath(a.bench_dir))
sys.argv = [sys.argv[0]]
import ref_bench  # noqa: E402  (sets the reference environment up)
import torch  # noqa: E402

torch.set_num_threads(a.threads)
torch.manual_seed(0)


def profiled(fn, warmup, runs):
    for _ in range(warmup):
        fn()
    t0 = time.perf_counter()
    with torch.autograd.profiler.profile(record_shapes=True, use_kineto=False) as prof:
        fn()
    wall = (time.perf_counter() - t0) * 1000
    prof.export_chrome_trace(a.out)
    print(f"{a.workload}: 1 profiled run, {wall:.1f} ms wall; trace {a.out}", file=sys.stderr)
    return wall, wall, 1


ref_bench.timeit = profiled
ref_bench.WORKLOADS[a.workload]()
