#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The table of bench/pin.sh: guest RAM pinning at VM start, our QEMU
against QEMU 7.2 (type1) and QEMU 10.0 (type1 and iommufd), from one boot
of the rig kernel.

usage: report-pin.py RIG_OUT COMMIT SECONDS > pin-smpN.md

RIG_OUT holds results.txt ("round qemu case metric value" lines),
machine.txt and the strace-QEMU-SIZE-ROUND.log files (strace -f -ttt -T
of the ioctls).  Ratios are taken per round and summarized as
median and range.
"""

import os
import re
import sys

from reportlib import load, load_machine, per_round, print_versions, summary

QEMUS = ("OURS", "OURS_IOMMUFD", "PEER", "PEER10", "PEER10_IOMMUFD")
NAMES = ("ours, type1", "ours, iommufd", "7.2, type1", "10.0, type1",
         "10.0, iommufd")
RATIOS = (("ours/7.2, type1", "OURS", "PEER"),
          ("ours/10.0, type1", "OURS", "PEER10"),
          ("ours/10.0, iommufd", "OURS_IOMMUFD", "PEER10_IOMMUFD"))
# type1's MAP_DMA, iommufd's IOAS_MAP and IOAS_MAP_FILE, as strace names
# them
MAPS = ("VFIO_IOMMU_MAP_DMA", "0x3b71", "IOMMU_IOAS_MAP", "0x3b, 0x85",
        "0x3b, 0x8f")
LINE = re.compile(r"^(\d+) +(\d+\.\d+) (.*)$")
DURATION = re.compile(r"<(\d+\.\d+)>$")


def map_calls(path):
    """(start, end) of each map ioctl; strace -f splits a call that
    overlaps another thread's into an "unfinished" line and a "resumed"
    one."""
    pending = {}
    with open(path) as f:
        for line in f:
            m = LINE.match(line.rstrip())
            if not m:
                continue
            pid, t, rest = m.group(1), float(m.group(2)), m.group(3)
            if rest.endswith("<unfinished ...>"):
                pending[pid] = (t, rest)
                continue
            d = DURATION.search(rest)
            if rest.startswith("<..."):
                t, rest = pending.pop(pid, (t, rest))
            if d and any(k in rest for k in MAPS):
                yield t, t + float(d.group(1))


def add_strace(data, rig):
    for (qemu, case, metric), rounds in list(data.items()):
        if not case.startswith("strace-") or metric != "dma_ms":
            continue
        size = case.split("-", 1)[1]
        for rnd in rounds:
            log = os.path.join(rig, "strace-%s-%s-%d.log" % (qemu, size, rnd))
            if not os.path.exists(log):
                continue
            calls = list(map_calls(log))
            if not calls:
                continue
            data[(qemu, case, "span_ms")][rnd] = \
                (max(c[1] for c in calls) - min(c[0] for c in calls)) * 1e3
            data[(qemu, case, "ioctl_ms")][rnd] = \
                sum(c[1] - c[0] for c in calls) * 1e3


def rows(data, mb):
    yield ("start, no device (the floor)", "start-none", "ready_ms")
    yield ("%s MiB: start to first config read" % mb, "ready-" + mb,
           "ready_ms")
    for ram in ("", "memfd-"):
        what = "%s MiB%s" % (mb, " in a memfd" if ram else "")
        if not any(c == "dma-" + ram + mb for (_, c, _) in data):
            continue
        yield ("%s: start to first DMA into guest RAM" % what,
               "dma-" + ram + mb, "dma_ms")
        yield ("%s: the maps' span, first map to last (strace)" % what,
               "strace-" + ram + mb, "span_ms")
        yield ("%s: time inside map ioctls, all threads (strace)" % what,
               "strace-" + ram + mb, "ioctl_ms")


def main():
    rig, commit, seconds = sys.argv[1:4]
    data = load(os.path.join(rig, "results.txt"))
    add_strace(data, rig)
    machine = load_machine(rig)
    mb = sorted({c.split("-", 1)[1] for (_, c, _) in data
                 if c.startswith("ready-")}, key=int)[0]
    rounds = sorted({r for v in data.values() for r in v})
    cpus = machine.get("rig_cpus", "?")

    print("## Pinning guest RAM at start: %s vCPU(s), -M %s"
          % (cpus, os.environ.get("BENCH_PIN_MACHINE", "pc")))
    print()
    print("One boot of the rig kernel (%s, %s vCPUs), %d rounds, %s s; "
          "commit %s." % (machine.get("rig_kernel", "?"), cpus, len(rounds),
                          seconds, commit))
    print("Each QEMU in turn, the first rotating; milliseconds, median "
          "(min–max) over the rounds; ratios per round.  Absolute times "
          "are TCG inside TCG on a shared machine: quote the ratios.")
    print()
    ran = {q for (q, _, _) in data}
    qemus = [(q, n) for q, n in zip(QEMUS, NAMES) if q in ran]
    ratios_ran = [r for r in RATIOS if r[1] in ran and r[2] in ran]
    print("| metric | %s | %s |" % (" | ".join(n for _, n in qemus),
                                     " | ".join(r[0] for r in ratios_ran)))
    print("|%s" % (" --- |" * (1 + len(qemus) + len(ratios_ran))))
    for label, case, metric in rows(data, mb):
        cells = [summary(list(data.get((q, case, metric), {}).values()))
                 for q, _ in qemus]
        ratios = [summary(per_round(data.get((a, case, metric), {}),
                                    data.get((b, case, metric), {}),
                                    lambda x, y: x / y))
                  for _, a, b in ratios_ran]
        print("| %s | %s | %s |" % (label, " | ".join(cells),
                                    " | ".join(ratios)))
    print()
    print_versions(data, machine, [q for q, _ in qemus])


if __name__ == "__main__":
    main()
