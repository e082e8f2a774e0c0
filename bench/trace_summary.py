#!/usr/bin/env python3
"""Summarises a libtorch profiler trace (TrainStepBench --profile FILE): self and total time per op.

Usage: python3 trace_summary.py FILE [--steps N] [--top K] [--shapes]
Self time is an op's duration minus that of the ops it called; the time between top-level ops is what the caller
spent outside libtorch (Java, JNI, the allocator outside ops), reported as 'outside ops'.
"""
import argparse
import collections
import json


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("trace")
    ap.add_argument("--steps", type=int, default=1, help="steps in the trace, to report per-step times")
    ap.add_argument("--top", type=int, default=30)
    ap.add_argument("--shapes", action="store_true", help="one row per op and input shapes")
    a = ap.parse_args()
    with open(a.trace) as f:
        events = [e for e in json.load(f) if e.get("ph") == "X"]
    by_tid = collections.defaultdict(list)
    for e in events:
        by_tid[e["tid"]].append(e)
    self_us = collections.Counter()
    total_us = collections.Counter()
    calls = collections.Counter()
    top_level = 0.0
    span = 0.0
    for evs in by_tid.values():
        evs.sort(key=lambda e: (e["ts"], -e["dur"]))
        stack = []
        for e in evs:
            end = e["ts"] + e["dur"]
            while stack and stack[-1][1] <= e["ts"]:
                stack.pop()
            if stack:
                self_us[stack[-1][0]] -= e["dur"]
            else:
                top_level += e["dur"]
            name = e["name"] + (" " + str(e.get("shape", "")) if a.shapes else "")
            self_us[name] += e["dur"]
            total_us[name] += e["dur"]
            calls[name] += 1
            stack.append((name, end))
        span = max(span, evs[-1]["ts"] + evs[-1]["dur"] - evs[0]["ts"])
    n = a.steps
    print(f"trace span {span / 1000 / n:.1f} ms/step, in top-level ops {top_level / 1000 / n:.1f} ms/step, "
          f"outside ops {(span - top_level) / 1000 / n:.1f} ms/step (threads: {len(by_tid)})")
    print(f"{'op':45s} {'self ms/step':>12s} {'total ms/step':>13s} {'calls/step':>10s}")
    for name, us in self_us.most_common(a.top):
        print(f"{name[:45] if not a.shapes else name:45s} {us / 1000 / n:12.2f} {total_us[name] / 1000 / n:13.2f} {calls[name] / n:10.0f}")


if __name__ == "__main__":
    main()
