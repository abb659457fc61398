#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The table of bench/scale.sh: MSI-X bring-up of 2048 vectors, VM start
with 1 to 16 SR-IOV VFs and device_add of 16, for our QEMU, QEMU 7.2's own
vfio-pci and QEMU 10.0's, from one boot of the rig.

usage: report-scale.py RIG_OUT COMMIT SECONDS > scale.md

RIG_OUT holds results.txt ("round qemu case metric value" lines) and
machine.txt.  Ratios are taken per round (the three ran back to back) and
summarized as median and range.
"""

import os
import sys

from reportlib import load, load_machine, per_round, summary

QEMUS = ("OURS", "PEER", "PEER10")


def rows(data):
    for n in (64, 256, 1024, 2048):
        yield ("MSI-X: %d entries unmasked, ms" % n, "msix-2048",
               "msix_bringup_ms_%d" % n)
    yield ("MSI-X: entries unmasked in the time given", "msix-2048",
           "msix_bringup_vectors")
    for n in (1, 2, 4, 8, 16):
        yield ("start to the last VF's config read, %d VF%s, ms"
               % (n, "s" if n > 1 else ""), "start-vf-%d" % n, "ready_ms")
    yield ("device_add of the 1st VF, ms", "add-vf-16", "add_ms_4")
    yield ("device_add of the 16th VF, ms", "add-vf-16", "add_ms_19")
    yield ("device_add of 16 VFs in a row, ms", "add-vf-16", "add_ms")


def ratio(data, q, case, metric):
    return summary(per_round(data.get((q, case, metric), {}),
                             data.get(("OURS", case, metric), {}),
                             lambda a, b: b / a))


def main():
    rig, commit, seconds = sys.argv[1:4]
    data = load(os.path.join(rig, "results.txt"))
    machine = load_machine(rig)
    rounds = sorted({r for v in data.values() for r in v})

    print("## Scale: 2048 MSI-X vectors, 16 SR-IOV VFs")
    print()
    print("One boot of the rig (%s, type1, 12 vCPUs), %d rounds, %s s; "
          "commit %s.  The three QEMUs take turns, the first changing each "
          "round.  Median (min–max) over the rounds; ratios per round.  "
          "Absolute times are TCG on a shared machine: quote the ratios."
          % (machine.get("rig_kernel", "?"), len(rounds), seconds, commit))
    print()
    print("| metric | ours | QEMU 7.2 | QEMU 10.0 | ours/7.2 | ours/10.0 |")
    print("| --- | --- | --- | --- | --- | --- |")
    for label, case, metric in rows(data):
        cells = [summary(list(data.get((q, case, metric), {}).values()))
                 for q in QEMUS]
        print("| %s | %s | %s | %s |" % (
            label, " | ".join(cells), ratio(data, "PEER", case, metric),
            ratio(data, "PEER10", case, metric)))
    print()
    for q in QEMUS:
        print("- %s: %s" % (q, machine.get("version_" + q, "?")))
    failed = sorted({"%s %s" % k[:2] for k in data if k[2] == "failed"})
    if failed:
        print("- failed runs: %s" % ", ".join(failed))


if __name__ == "__main__":
    main()
