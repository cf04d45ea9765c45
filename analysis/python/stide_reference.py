#!/usr/bin/env python3
"""Plain-Python stide over the raw ADFA-LD folders, as a researcher would write it: the set of
length-k windows of the training traces is the profile, each validation (normal) and attack
trace is scored by its coverage (share of its windows in the profile), and 1 - coverage is
ranked by ROC AUC. Standard library only; traces shorter than k have no coverage and are left
out, as `tracer-analyze eval` does.

It is the baseline of `cargo xtask bench eval` (timed whole-process) and the independent
implementation `analysis/tests/stide_agreement.rs` checks the Rust evaluation against.

Usage: stide_reference.py ADFA_ROOT [--k 6] [--json]
Prints the AUC (or, with --json, one object with the profile size, the AUC and every trace's
coverage keyed by its path below ADFA_ROOT without .txt).
"""

import argparse
import json
import os


def traces(folder):
    for dirpath, _, files in sorted(os.walk(folder)):
        for name in sorted(files):
            if name.endswith(".txt"):
                path = os.path.join(dirpath, name)
                with open(path) as f:
                    yield path, f.read().split()


def windows(calls, k):
    return [tuple(calls[i:i + k]) for i in range(len(calls) - k + 1)]


def roc_auc(normal, attack):
    """Mann-Whitney U / (n_normal * n_attack); tied scores count one half (average ranks)."""
    scored = sorted([(s, 0) for s in normal] + [(s, 1) for s in attack])
    rank_sum, i = 0.0, 0
    while i < len(scored):
        j = i
        while j < len(scored) and scored[j][0] == scored[i][0]:
            j += 1
        rank_sum += (i + 1 + j) / 2 * sum(label for _, label in scored[i:j])
        i = j
    n_a = len(attack)
    return (rank_sum - n_a * (n_a + 1) / 2) / (n_a * len(normal))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("root")
    ap.add_argument("--k", type=int, default=6)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    profile = set()
    for _, calls in traces(os.path.join(a.root, "Training_Data_Master")):
        profile.update(windows(calls, a.k))
    coverage, scores = {}, {"normal": [], "attack": []}
    for label, folder in [("normal", "Validation_Data_Master"), ("attack", "Attack_Data_Master")]:
        for path, calls in traces(os.path.join(a.root, folder)):
            w = windows(calls, a.k)
            if w:
                c = sum(x in profile for x in w) / len(w)
                coverage[os.path.relpath(path, a.root)[:-len(".txt")]] = c
                scores[label].append(1 - c)
    auc = roc_auc(scores["normal"], scores["attack"])
    if a.json:
        print(json.dumps({"k": a.k, "profile_distinct_windows": len(profile), "auc": auc,
                          "coverage": coverage}))
    else:
        print(f"stide k={a.k}: {len(profile)} distinct training windows, "
              f"{len(scores['normal'])} normal and {len(scores['attack'])} attack traces, "
              f"ROC AUC (1 - coverage) {auc:.4f}")


if __name__ == "__main__":
    main()
