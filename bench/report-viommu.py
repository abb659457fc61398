#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The table of bench/viommu.sh: our QEMU and QEMU 7.2's own vfio-pci
behind a guest intel-iommu, from one boot of the rig.

usage: report-viommu.py RIG_OUT COMMIT SECONDS > viommu.md

RIG_OUT holds results.txt ("round qemu case metric value" lines) and
machine.txt.  Ratios are taken per round (the QEMUs ran back to back) and
summarized as median and range.
"""

import os
import sys

from reportlib import (load, per_round, print_notes, print_peer_intro,
                       print_peer_rows, summary)

ROWS = (
    ("viommu", "viommu_map_unmap_per_s",
     "guest IOMMU map + unmap round trips per s (qtest)"),
    ("inner-msix", "read_per_s", "inner nvme 4 KiB reads per s, no vIOMMU"),
    ("inner-viommu", "read_per_s", "inner nvme 4 KiB reads per s, vIOMMU"),
    ("inner-msix", "write_per_s", "inner nvme 4 KiB writes per s, no vIOMMU"),
    ("inner-viommu", "write_per_s", "inner nvme 4 KiB writes per s, vIOMMU"),
)


def main():
    rig, commit, secs = sys.argv[1], sys.argv[2], sys.argv[3]
    data = load(os.path.join(rig, "results.txt"))
    print_peer_intro("Guest IOMMU: ours and QEMU 7.2's own vfio-pci", data,
                     secs, commit)
    print_peer_rows(data, ROWS)
    floor = data.get(("OURS", "viommu-floor", "viommu_map_unmap_per_s"), {})
    print("| the same loop, no device behind the guest IOMMU (floor) | %s "
          "| | |" % summary(list(floor.values())))
    for q, label in (("OURS", "ours"), ("PEER", "QEMU 7.2")):
        rt = data.get((q, "viommu", "viommu_map_unmap_per_s"), {})
        net = per_round(rt, floor, lambda a, b: 1e6 / a - 1e6 / b)
        print("| %s: µs per map + unmap, net of the floor | %s | | |" %
              (label, summary(net)))
    print()
    for q, label in (("OURS", "ours"), ("PEER", "QEMU 7.2")):
        for metric in ("read_per_s", "write_per_s"):
            off = data.get((q, "inner-msix", metric), {})
            on = data.get((q, "inner-viommu", metric), {})
            print("- %s, inner %s with/without the vIOMMU: %s" % (
                label, metric.split("_")[0] + "s",
                summary(per_round(on, off, lambda a, b: a / b))))
    failed = sorted({(k[0], k[1]) for k in data if k[2] == "failed"})
    if failed:
        print("- failed runs: %s" % ", ".join("%s %s" % f for f in failed))
    print()
    with open(os.path.join(rig, "machine.txt")) as f:
        for line in f:
            if line.strip():
                print("- %s" % line.strip())
    print_notes("results-viommu-notes.md")


if __name__ == "__main__":
    main()
