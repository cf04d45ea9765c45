#!/usr/bin/env python3
"""Plain-Python reference of the analysis metrics (windows, coverage, mismatch, locality frame
count), written the way a researcher would without the Rust crate: tuples of syscall names,
a dict as the profile, a set of distinct windows. Standard library only.

It exists for two reasons: as an independent implementation the Rust results are checked
against, and as the baseline of the speed ratio printed by
`cargo run --release -p analysis --example bench_analysis`.

Input files are CSV with a header `pid,tid,syscall`, one row per call in `seq` order, one run
per file. Only the metric computation is timed (not reading the files).

Usage: reference_metrics.py --baseline TRAIN.csv --trace TEST.csv [--k 6] [--view thread]
                            [--frame 20]
Prints one JSON object.
"""

import argparse
import collections
import csv
import json
import time


def read_rows(path):
    with open(path, newline="") as f:
        reader = csv.reader(f)
        next(reader)
        return [(int(pid), int(tid), name) for pid, tid, name in reader]


def windows(rows, view, k):
    """Yields the windows of `rows` in the order they complete; never across sequences."""
    open_sequences = {}
    for pid, tid, name in rows:
        key = tid if view == "thread" else pid if view == "process" else 0
        last = open_sequences.get(key)
        if last is None:
            last = open_sequences[key] = collections.deque(maxlen=k)
        last.append(name)
        if len(last) == k:
            yield tuple(last)


def build_profile(rows, view, k):
    return collections.Counter(windows(rows, view, k))


def score(rows, profile, view, k, frame):
    total = known = 0
    distinct = set()
    recent = collections.deque(maxlen=frame)
    in_frame = lfc = 0
    for w in windows(rows, view, k):
        total += 1
        is_known = w in profile
        known += is_known
        distinct.add(w)
        if len(recent) == frame:
            in_frame -= recent[0]
        recent.append(not is_known)
        in_frame += not is_known
        lfc = max(lfc, in_frame)
    unknown = len([w for w in distinct if w not in profile])
    return {
        "windows": total,
        "known_windows": known,
        "distinct_windows": len(distinct),
        "unknown_distinct_windows": unknown,
        "coverage": known / total if total else None,
        "mismatch": unknown / len(distinct) if distinct else None,
        "locality_frame_count": lfc,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--baseline", required=True)
    ap.add_argument("--trace", required=True)
    ap.add_argument("--k", type=int, default=6)
    ap.add_argument("--view", default="thread", choices=["thread", "process", "interleaved"])
    ap.add_argument("--frame", type=int, default=20)
    a = ap.parse_args()
    train, test = read_rows(a.baseline), read_rows(a.trace)
    t0 = time.perf_counter()
    profile = build_profile(train, a.view, a.k)
    t1 = time.perf_counter()
    result = score(test, profile, a.view, a.k, a.frame)
    t2 = time.perf_counter()
    result.update(
        profile_distinct_windows=len(profile),
        baseline_calls=len(train),
        trace_calls=len(test),
        profile_seconds=t1 - t0,
        score_seconds=t2 - t1,
        score_syscalls_per_second=len(test) / (t2 - t1) if t2 > t1 else None,
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
