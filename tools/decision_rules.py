#!/usr/bin/env python3
"""Compares utterance decision rules on frame log-posteriors dumped by
`cargo run --release --example frame_posteriors -- MODEL DATA SPEAKER DIR`.

Usage: python3 tools/decision_rules.py DIR [DIR...]   (one DIR per speaker)

Labels come from FSDD-style names (`{digit}_{speaker}_{take}.wav`). For
each DIR it prints the utterance accuracy (%) of each rule, pooled over the
warps found in DIR (averaged, or one warp chosen per utterance or per
speaker by the decision's confidence). Needs numpy only.
"""
import os
import sys

import numpy as np


def pooled(lp, utt, n, rule):
    """(n, classes) utterance scores from frame log-posteriors."""
    out = np.zeros((n, lp.shape[1]))
    for u in range(n):
        f = lp[utt == u]
        if rule == "mean log-posterior":
            out[u] = f.mean(0)
        elif rule == "mean posterior":
            out[u] = np.log(np.exp(f).mean(0) + 1e-30)
        elif rule == "frame vote":
            out[u] = np.bincount(f.argmax(1), minlength=lp.shape[1])
        elif rule == "log-posterior floored at -5":
            out[u] = np.maximum(f, -5.0).mean(0)
        elif rule == "confidence-weighted frames":
            ent = -(np.exp(f) * f).sum(1)
            w = np.exp(-ent)
            out[u] = (f * w[:, None]).sum(0) / w.sum()
    return out


def normalised(s):
    """Rows of scores as log-probabilities."""
    m = s.max(-1, keepdims=True)
    return s - m - np.log(np.exp(s - m).sum(-1, keepdims=True))


RULES = ["mean log-posterior", "mean posterior", "frame vote",
         "log-posterior floored at -5", "confidence-weighted frames"]


def main(dirs):
    for d in dirs:
        items = open(os.path.join(d, "items.txt")).read().split("\n")
        y = np.array([int(os.path.basename(i).split("_")[0]) for i in items])
        n = len(y)
        warps = sorted(f[3:-4] for f in os.listdir(d) if f.startswith("lp_"))
        data = {w: (np.load(os.path.join(d, f"lp_{w}.npy")),
                    np.load(os.path.join(d, f"utt_{w}.npy"))) for w in warps}
        print(f"{d}: {n} utterances, warps {', '.join(warps)}")
        for rule in RULES:
            s = sum(pooled(*data[w], n, rule) for w in warps)
            print(f"  {rule:32s} {100 * (s.argmax(1) == y).mean():5.1f}")
        p = np.stack([normalised(pooled(*data[w], n, RULES[0])) for w in warps])
        conf = p.max(-1)
        per_utt = p[conf.argmax(0), np.arange(n)]
        print(f"  {'most confident warp per utterance':32s} {100 * (per_utt.argmax(1) == y).mean():5.1f}")
        k = conf.mean(1).argmax()
        print(f"  {'most confident warp per speaker':32s} {100 * (p[k].argmax(1) == y).mean():5.1f} (warp {warps[k]})")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
