# SPDX-License-Identifier: GPL-2.0-or-later
"""What the report scripts of bench/ share: results.txt's "round qemu case
metric value" lines (round 0, the warm-up, left out) and the median (min–max)
of a metric over the rounds."""

import os
import statistics
from collections import defaultdict


def load(path):
    data = defaultdict(dict)
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) != 5 or parts[0] == "0":
                continue
            rnd, qemu, case, metric, value = parts
            try:
                data[(qemu, case, metric)][int(rnd)] = float(value)
            except ValueError:
                pass
    return data


def num(v):
    return "%.0f" % v if abs(v) >= 100 else "%.3g" % v


def summary(values):
    if not values:
        return "–"
    med = statistics.median(values)
    if len(values) == 1:
        return num(med)
    return "%s (%s–%s)" % (num(med), num(min(values)), num(max(values)))


def per_round(a, b, op):
    """op(a, b) of each round that both dicts have (b non-zero)."""
    return [op(a[r], b[r]) for r in sorted(a) if r in b and b[r]]


def print_notes(notes_name):
    """bench/NOTES_NAME after a blank line, if it exists."""
    notes = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                         notes_name)
    if os.path.exists(notes):
        print()
        with open(notes) as f:
            print(f.read().rstrip())
