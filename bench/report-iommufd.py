#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The table of bench/iommufd.sh: our QEMU on type1 and on iommufd, and
upstream QEMU 10.0 on iommufd, from one boot of the rig kernel.

usage: report-iommufd.py RIG_OUT COMMIT SECONDS > iommufd.md

RIG_OUT holds results.txt ("round qemu case metric value" lines),
machine.txt and the strace-QEMU-SIZE-ROUND.log files.  Ratios are taken
per round (the three ran back to back) and summarized as median and range.
"""

import os
import re
import sys
from collections import defaultdict

from reportlib import load, load_machine, per_round, print_versions, summary

QEMUS = ("OURS", "OURS_IOMMUFD", "PEER10")
# type1's MAP/UNMAP_DMA, iommufd's IOAS_MAP/UNMAP, as strace names them
MAPS = ("VFIO_IOMMU_MAP_DMA", "0x3b71", "IOMMU_IOAS_MAP", "0x3b, 0x85")
UNMAPS = ("VFIO_IOMMU_UNMAP_DMA", "0x3b72", "IOMMU_IOAS_UNMAP", "0x3b, 0x86")
IOCTL = re.compile(r"^\d+ +(\d+\.\d+) ioctl\(\d+, (.*)<(\d+\.\d+)>$")


def strace_counts(path, quit_epoch):
    """DMA map and unmap ioctls before and after "quit", and their time."""
    c = defaultdict(float)
    with open(path) as f:
        for line in f:
            m = IOCTL.match(line.rstrip())
            if not m:
                continue
            t, call, dur = float(m.group(1)), m.group(2), float(m.group(3))
            when = "start" if t < quit_epoch else "quit"
            # a type1 name may come as "VFIO_DEVICE_PCI_HOT_RESET or ..."
            if any(k in call for k in UNMAPS):
                c["unmaps_" + when] += 1
            elif any(k in call for k in MAPS):
                c["maps_" + when] += 1
                c["map_ms_" + when] += dur * 1e3
    return c


def add_strace(data, rig):
    for (qemu, case, metric), rounds in list(data.items()):
        if not case.startswith("strace-") or metric != "quit_epoch":
            continue
        size = case.split("-", 1)[1]
        for rnd, epoch in rounds.items():
            log = os.path.join(rig, "strace-%s-%s-%d.log" % (qemu, size, rnd))
            if not os.path.exists(log):
                continue
            counts = strace_counts(log, epoch)
            for k in ("maps_start", "map_ms_start"):
                data[(qemu, case, k)][rnd] = counts.get(k, 0.0)


def ratio(data, key_a, key_b):
    return per_round(data.get(key_a, {}), data.get(key_b, {}),
                     lambda a, b: a / b)


def rows(sizes):
    yield ("start, no device (the floor)", "start-none", "ready_ms", "ms")
    yield ("start to first config read, edu", "start-edu", "ready_ms", "ms")
    yield ("start to first config read, edu+e1000e+nvme", "start-all",
           "ready_ms", "ms")
    yield ("start to first config read, nvme", "start-nvme", "ready_ms",
           "ms")
    yield ("device_add to first config read, edu", "add-edu", "add_ms", "ms")
    yield ("device_add to first config read, nvme", "add-nvme", "add_ms",
           "ms")
    yield ("device_add, edu+e1000e+nvme in a row", "add-all", "add_ms", "ms")
    for m in sizes:
        yield ("%s MiB: start to first config read" % m, "dma-" + m,
               "ready_ms", "ms")
        yield ("%s MiB: quit to exit" % m, "dma-" + m, "quit_ms", "ms")
        yield ("%s MiB: DMA map ioctls at start" % m, "strace-" + m,
               "maps_start", "")
        yield ("%s MiB: time in DMA map ioctls at start" % m, "strace-" + m,
               "map_ms_start", "ms")


def main():
    rig, commit, seconds = sys.argv[1:4]
    data = load(os.path.join(rig, "results.txt"))
    add_strace(data, rig)
    machine = load_machine(rig)
    sizes = sorted({c.split("-", 1)[1] for (_, c, _) in data
                    if c.startswith("dma-")}, key=int)
    rounds = sorted({r for v in data.values() for r in v})

    print("## iommufd: our QEMU on type1 and on iommufd, QEMU 10.0 on iommufd")
    print()
    print("One boot of the rig kernel (%s), %d rounds, %s s; commit %s."
          % (machine.get("rig_kernel", "?"), len(rounds), seconds, commit))
    print("Median (min–max) over the rounds; ratios per round.  Absolute")
    print("times are TCG inside TCG on a shared machine: quote the ratios.")
    print()
    print("| metric | ours, type1 | ours, iommufd | QEMU 10.0, iommufd "
          "| ours/10.0, iommufd | ours iommufd/type1 |")
    print("| --- | --- | --- | --- | --- | --- |")
    for label, case, metric, unit in rows(sizes):
        cells = [summary(list(data.get((q, case, metric), {}).values()))
                 for q in QEMUS]
        vs_peer = summary(ratio(data, ("OURS_IOMMUFD", case, metric),
                                ("PEER10", case, metric)))
        vs_type1 = summary(ratio(data, ("OURS_IOMMUFD", case, metric),
                                 ("OURS", case, metric)))
        print("| %s%s | %s | %s |" % (label, " (%s)" % unit if unit else "",
                                       " | ".join(cells), vs_peer + " | " +
                                       vs_type1))
    print()
    print_versions(data, machine, QEMUS)


if __name__ == "__main__":
    main()
