#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The table of bench/vmem.sh: VM start with an assigned edu next to a
virtio-mem device, our QEMU and QEMU 7.2's own vfio-pci, from one boot of
the rig.

usage: report-vmem.py RIG_OUT COMMIT SECONDS > vmem.md

RIG_OUT holds results.txt ("round qemu case metric value" lines).
Ratios are taken per round (the QEMUs ran back to back) and summarized as
median and range.
"""

import os
import sys

from reportlib import load, per_round, print_peer_intro, print_peer_rows, \
    summary

ROWS = (
    ("start-edu", "ready_ms",
     "start to the edu's first config read, 256 MiB, ms"),
    ("start-vmem", "ready_ms",
     "the same next to a 1 GiB virtio-mem device, ms"),
)


def main():
    rig, commit, secs = sys.argv[1], sys.argv[2], sys.argv[3]
    data = load(os.path.join(rig, "results.txt"))
    print_peer_intro("VM start next to virtio-mem: ours and QEMU 7.2's own "
                     "vfio-pci", data, secs, commit)
    print_peer_rows(data, ROWS)
    print()
    for q, label in (("OURS", "ours"), ("PEER", "QEMU 7.2")):
        edu = data.get((q, "start-edu", "ready_ms"), {})
        vmem = data.get((q, "start-vmem", "ready_ms"), {})
        print("- %s, start with the virtio-mem device / without: %s" % (
            label, summary(per_round(vmem, edu, lambda a, b: a / b))))


if __name__ == "__main__":
    main()
