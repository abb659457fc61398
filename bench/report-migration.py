#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The table of bench/migration.sh: the mtty-counting inner guest migrated
by our QEMU and by upstream QEMU 10.0, in one boot of the rig kernel.

usage: report-migration.py RIG_OUT COMMIT SECONDS > migration.md

RIG_OUT holds results.txt ("round qemu metric value" lines) and
machine.txt.  Ratios are taken per round and summarized as median and
range; -1 is a value that QEMU does not report.
"""

import os
import statistics
import sys
from collections import defaultdict

from reportlib import print_notes

QEMUS = ("OURS", "PEER10")
ROWS = (
    ("total-time", "total time (ms)"),
    ("downtime", "downtime (ms)"),
    ("setup-time", "setup time (ms)"),
    ("ram-bytes", "RAM sent (bytes)"),
    ("vfio-bytes", "device state, query-migrate vfio (bytes)"),
    ("device-precopy-bytes", "device state sent in pre-copy (bytes)"),
    ("device-stopcopy-bytes", "device state sent in stop-copy (bytes)"),
    ("passed", "test checks passed (of 4)"),
)


def load(path):
    data = defaultdict(dict)
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) != 4:
                continue
            rnd, qemu, metric, value = parts
            try:
                v = float(value)
            except ValueError:
                continue
            if v >= 0:
                data[(qemu, metric)][int(rnd)] = v
    return data


def summary(values):
    if not values:
        return "n/a"
    med = statistics.median(values)
    fmt = "%.3g" if min(values) < 100 else "%d"
    if min(values) == max(values):
        return fmt % med
    return "%s (%s–%s)" % (fmt % med, fmt % min(values), fmt % max(values))


def main():
    rig, commit, secs = sys.argv[1], sys.argv[2], sys.argv[3]
    data = load(os.path.join(rig, "results.txt"))
    rounds = sorted({r for d in data.values() for r in d})
    print("## Migration: the mtty-counting inner guest, ours and QEMU 10.0\n")
    print("One boot of the rig kernel, %d rounds, %s s; commit %s.  Each round "
          "migrates the inner guest (256 MiB, TCG inside TCG) mid-stream once "
          "with each QEMU, source and destination of the same kind, the "
          "first alternating.  Median (min–max) over the rounds; ratios per "
          "round.  Quote the ratios.\n" % (len(rounds), secs, commit))
    print("| metric | ours | QEMU 10.0 | ours/10.0 |")
    print("| --- | --- | --- | --- |")
    for key, name in ROWS:
        ours = data.get(("OURS", key), {})
        peer = data.get(("PEER10", key), {})
        ratios = [ours[r] / peer[r] for r in rounds
                  if r in ours and r in peer and peer[r]]
        print("| %s | %s | %s | %s |" % (name, summary(list(ours.values())),
                                       summary(list(peer.values())),
                                       summary(ratios)))
    print()
    with open(os.path.join(rig, "machine.txt")) as f:
        lines = f.read().split("\n")
    print("- rig kernel: %s" % lines[0])
    for line in lines[1:]:
        if line:
            print("- %s" % line)
    print_notes("results-migration-notes.md")


if __name__ == "__main__":
    main()
