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


def load_machine(rig):
    """machine.txt of a rig's output: "key value" lines, as a dict."""
    machine = {}
    with open(os.path.join(rig, "machine.txt")) as f:
        for line in f:
            k, _, v = line.rstrip("\n").partition(" ")
            machine[k] = v
    return machine


def print_versions(data, machine, qemus):
    """The footer: each QEMU's version line, and the runs that failed."""
    for q in qemus:
        print("- %s: %s" % (q, machine.get("version_" + q, "?")))
    failed = [k for k in data if k[2] == "failed"]
    if failed:
        print("- failed runs: %s" % ", ".join("%s %s" % k[:2] for k in failed))


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


def print_peer_intro(title, data, secs, commit):
    """The heading and opening paragraph of a report of ours against the
    QEMU 7.2 peer, alternating in one boot of the rig."""
    rounds = sorted({r for d in data.values() for r in d})
    print("## %s\n" % title)
    print("One boot of the rig (Debian's kernel, type1), %d rounds, %s s; "
          "commit %s.  Ours and the peer alternate, the first changing "
          "each round.  Median (min–max) over the rounds; ratios per "
          "round.  Quote the ratios.\n" % (len(rounds), secs, commit))


def print_peer_rows(data, rows):
    """The table of ours against the 7.2 peer: one row per (case, metric,
    name) of rows."""
    print("| metric | ours | QEMU 7.2 | ours/7.2 |")
    print("| --- | --- | --- | --- |")
    for case, metric, name in rows:
        ours = data.get(("OURS", case, metric), {})
        peer = data.get(("PEER", case, metric), {})
        print("| %s | %s | %s | %s |" % (
            name, summary(list(ours.values())), summary(list(peer.values())),
            summary(per_round(ours, peer, lambda a, b: a / b))))
