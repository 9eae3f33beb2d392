"""Per-op tables from libtorch/torch legacy-profiler Chrome traces (issue 15).

Usage: python3 op_table.py TRACE.json [TRACE2.json] [--top N] [--labels A,B]
For each trace: the number of top-level ops (dispatcher calls made by the caller: JNI for sgm4j,
Python for the reference), all recorded ops including nested ones, the summed self time of all
ops, the wall span of the profiled region and the part of it outside any op (caller overhead:
Java/JNI or the Python interpreter). Then one Markdown table by op name: calls (all levels),
top-level calls, self time (ms) and its share of the summed self time. With two traces the
columns sit side by side.
"""
import argparse
import json
from collections import defaultdict


def load(path):
    with open(path) as fh:
        events = [e for e in json.load(fh) if e.get("ph") == "X" and "dur" in e]
    by_tid = defaultdict(list)
    for e in events:
        by_tid[e.get("tid")].append(e)
    stats = defaultdict(lambda: [0, 0, 0.0])  # calls, top-level calls, self us
    top = 0
    top_dur = 0.0
    lo, hi = float("inf"), 0.0
    for evs in by_tid.values():
        evs.sort(key=lambda e: (float(e["ts"]), -float(e["dur"])))
        stack = []  # [end, event, child time]
        for e in evs:
            ts, dur = float(e["ts"]), float(e["dur"])
            lo, hi = min(lo, ts), max(hi, ts + dur)
            while stack and stack[-1][0] <= ts:
                end, done, child = stack.pop()
                stats[done["name"]][2] += float(done["dur"]) - child
            if stack:
                stack[-1][2] += dur
            else:
                top += 1
                top_dur += dur
                stats[e["name"]][1] += 1
            stats[e["name"]][0] += 1
            stack.append([ts + dur, e, 0.0])
        while stack:
            end, done, child = stack.pop()
            stats[done["name"]][2] += float(done["dur"]) - child
    span = hi - lo
    return {"stats": stats, "top": top, "events": len(events), "top_ms": top_dur / 1e3, "span_ms": span / 1e3}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("traces", nargs="+")
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--labels", default="")
    a = ap.parse_args()
    labels = a.labels.split(",") if a.labels else [f"trace {i + 1}" for i in range(len(a.traces))]
    data = [load(t) for t in a.traces]
    for lab, d in zip(labels, data):
        total = sum(s[2] for s in d["stats"].values()) / 1e3
        print(f"- {lab}: {d['top']} top-level ops, {d['events']} ops in all; self time {total:.1f} ms; "
              f"profiled span {d['span_ms']:.1f} ms, of which outside any op {d['span_ms'] - d['top_ms']:.1f} ms "
              f"({100 * (d['span_ms'] - d['top_ms']) / d['span_ms']:.1f} %)")
    totals = [sum(s[2] for s in d["stats"].values()) for d in data]
    names = sorted(set().union(*[d["stats"].keys() for d in data]),
                   key=lambda n: -max(d["stats"][n][2] / t if n in d["stats"] else 0 for d, t in zip(data, totals)))
    head = "| op |" + "".join(f" {lab}: calls (top-level) | self ms | share |" for lab in labels)
    print()
    print(head)
    print("|---|" + "---|---|---|" * len(data))
    for n in names[: a.top]:
        row = f"| `{n}` |"
        for d, t in zip(data, totals):
            s = d["stats"].get(n)
            row += f" {s[0]} ({s[1]}) | {s[2] / 1e3:.1f} | {100 * s[2] / t:.1f} % |" if s else " - | - | - |"
        print(row)


if __name__ == "__main__":
    main()
