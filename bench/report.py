#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Turns one bench/run.sh rig run into results.md and results.png.

usage: report.py BENCH_DIR RESULTS_DIR

BENCH_DIR holds host.txt and rig/ (results.txt, machine.txt, mtree-*.txt,
strace-*.log) as bench/run.sh and bench/guest-bench.sh leave them.
Ratios are ours/peer per round (the two ran back to back), then the median
and range over the rounds; absolute numbers are shown but not relied on.
"""

import json
import os
import re
import shutil
import statistics
import sys
from collections import defaultdict

MAP_DMA = ("VFIO_IOMMU_MAP_DMA", "0x3b71")
UNMAP_DMA = ("VFIO_IOMMU_UNMAP_DMA", "0x3b72")


def read_results(path):
    """{(qemu, case, metric): {round: value}} from results.txt."""
    data = defaultdict(dict)
    failed = []
    with open(path) as f:
        for line in f:
            parts = line.split(None, 4)
            if len(parts) < 5:
                continue
            rnd, qemu, case, metric, value = parts
            value = value.strip()
            if metric == "failed":
                failed.append((int(rnd), qemu, case))
                continue
            try:
                data[(qemu, case, metric)][int(rnd)] = float(value)
            except ValueError:
                pass
    return data, failed


def read_kv(path):
    out = {}
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                k, _, v = line.rstrip("\n").partition(" ")
                out[k] = v
    return out


def ram_sections(path):
    """Contiguous RAM/ROM runs in the flat view of address space "memory"."""
    with open(path) as f:
        line = f.readline()
    text = json.loads(line.split(" ", 1)[1])["return"]
    view = [v for v in text.split("FlatView #") if 'AS "memory"' in v][0]
    runs = []
    pat = re.compile(r"([0-9a-f]+)-([0-9a-f]+) \(prio -?\d+, (\w+)\): "
                     r"(\S+)(?: @([0-9a-f]+))?")
    for m in pat.finditer(view):
        start, end, kind, name, off = m.groups()
        if kind not in ("ram", "rom"):
            continue
        start, end = int(start, 16), int(end, 16)
        off = int(off or "0", 16)
        last = runs[-1] if runs else None
        if (last and last["end"] + 1 == start and last["name"] == name and
                last["off"] + (start - last["start"]) == off):
            last["end"] = end
        else:
            runs.append({"start": start, "end": end, "name": name,
                         "off": off})
    return len(runs)


def strace_counts(path, quit_epoch):
    """MAP/UNMAP ioctls before and after "quit", and the time in them.

    strace names 0x3b71 "VFIO_DEVICE_PCI_HOT_RESET or VFIO_IOMMU_MAP_DMA":
    only those on the container (the fd of VFIO_SET_IOMMU) count.
    """
    c = defaultdict(float)
    pat = re.compile(r"^\d+ +(\d+\.\d+) ioctl\((\d+), ([^,]+),.*<(\d+\.\d+)>")
    container = None
    with open(path) as f:
        for line in f:
            m = pat.match(line)
            if not m:
                continue
            t, fd, names, dur = (float(m.group(1)), m.group(2),
                                 m.group(3), float(m.group(4)))
            if "VFIO_SET_IOMMU" in names:
                container = fd
            if fd != container:
                continue
            req = names.split(" or ")[-1]
            when = "start" if t < quit_epoch else "quit"
            if req in MAP_DMA:
                c["map_" + when] += 1
                c["map_ms_" + when] += dur * 1e3
            elif req in UNMAP_DMA:
                c["unmap_" + when] += 1
                c["unmap_ms_" + when] += dur * 1e3
    return c


def add_strace(data, rig):
    """Folds every round's strace log into data as case strace-SIZE."""
    for key in list(data):
        qemu, case, metric = key
        if not case.startswith("strace-") or metric != "quit_epoch":
            continue
        size = case.split("-", 1)[1]
        for rnd, epoch in data[key].items():
            log = os.path.join(rig, "strace-%s-%s-%d.log"
                               % (qemu, size, rnd))
            if not os.path.exists(log):
                continue
            for k, v in strace_counts(log, epoch).items():
                data[(qemu, case, k)][rnd] = v
            for k in ("map_start", "unmap_quit", "unmap_start"):
                data[(qemu, case, k)].setdefault(rnd, 0.0)


# One row of the table: what it shows and how it is judged.
class Row:
    def __init__(self, label, case, metric, unit, lower_is_better,
                 raw=None, goal=None, scale=1.0, derived=None):
        self.label = label
        self.case = case
        self.metric = metric
        self.unit = unit
        self.lower = lower_is_better
        self.raw = raw              # (case, metric) of the raw program
        self.goal = goal            # ("peer", 0.8) or ("raw", 1.1) or ...
        self.scale = scale
        self.derived = derived      # fn(data, qemu) -> {round: value}


def series(data, qemu, row):
    if row.derived:
        return row.derived(data, qemu)
    return data.get((qemu, row.case, row.metric), {})


def net_realize(case):
    def fn(data, qemu):
        with_dev = data.get((qemu, case, "ready_ms"), {})
        none = data.get((qemu, "start-none", "ready_ms"), {})
        return {r: v - none[r] for r, v in with_dev.items() if r in none}
    return fn


def net_cost(case, metric):
    """ns per access beyond the loop itself (1/rate - 1/RAM load rate)."""
    def fn(data, qemu):
        acc = data.get((qemu, case, metric), {})
        ram = data.get((qemu, case, "ram_load_per_s"), {})
        return {r: (1 / v - 1 / ram[r]) * 1e9 for r, v in acc.items()
                if r in ram and v and ram[r]}
    return fn


def add_raw_net(data):
    """The raw program's net costs, the same way."""
    ram = data.get(("raw", "bar", "ram_load_per_s"), {})
    for op in ("load", "store"):
        acc = data.get(("raw", "bar", "mmap_%s_per_s" % op), {})
        for r, v in acc.items():
            if r in ram and v and ram[r]:
                data[("raw", "bar", "net_mmap_%s_ns" % op)][r] = \
                    (1 / v - 1 / ram[r]) * 1e9


def rows(sizes, sections):
    out = [
        Row("start, no device: QEMU start to config read", "start-none",
            "ready_ms", "ms", True),
    ]
    for dev in ("edu", "e1000e", "nvme", "all"):
        out.append(Row("realize %s: QEMU start to its config read" % dev,
                       "start-" + dev, "ready_ms", "ms", True,
                       goal=("peer", 0.8)))
    for dev in ("edu", "e1000e", "nvme", "all"):
        out.append(Row("realize %s, net of the no-device start" % dev,
                       "start-" + dev, "ready_ms", "ms", True,
                       derived=net_realize("start-" + dev)))
    for dev in ("edu", "e1000e", "nvme", "all"):
        out.append(Row("device_add %s to its config read" % dev,
                       "add-" + dev, "add_ms", "ms", True,
                       goal=("peer", 0.8)))
    for m in sizes:
        c = "strace-%s" % m
        n = sections.get(m.rstrip("h"))
        if m.endswith("h"):
            m_label = "%s MiB hugetlbfs" % m[:-1]
        else:
            m_label = m + " MiB"
        out += [
            Row("%s RAM: QEMU start to config read" % m_label, "dma-" + m,
                "ready_ms", "ms", True),
            Row("%s RAM: time in MAP_DMA at start" % m_label, c,
                "map_ms_start", "ms", True, raw=("dma-" + m, "map_ms"),
                goal=("peer", 0.8)),
            Row("%s RAM: MAP_DMA ioctls at start" % m_label, c, "map_start",
                "", True, goal=("count", n)),
            Row("%s RAM: UNMAP_DMA ioctls at start" % m_label, c,
                "unmap_start", "", True),
            Row("%s RAM: quit to exit" % m_label, "dma-" + m, "quit_ms",
                "ms", True),
            Row("%s RAM: time in UNMAP_DMA at shutdown" % m_label, c,
                "unmap_ms_quit", "ms", True, raw=("dma-" + m, "unmap_ms")),
            Row("%s RAM: UNMAP_DMA ioctls at shutdown" % m_label, c,
                "unmap_quit", "", True),
        ]
    out += [
        Row("BAR0 load, fast path (vCPU)", "bar-fast", "bar_load_per_s",
            "M/s", False, raw=("bar", "mmap_load_per_s"), goal=("raw", 1.1),
            scale=1e-6),
        Row("BAR0 store, fast path (vCPU)", "bar-fast", "bar_store_per_s",
            "M/s", False, raw=("bar", "mmap_store_per_s"),
            goal=("raw", 1.1), scale=1e-6),
        Row("BAR0 load, x-no-mmap=on (vCPU)", "bar-slow", "bar_load_per_s",
            "k/s", False, raw=("bar", "pread_load_per_s"),
            goal=("peer", 1.0), scale=1e-3),
        Row("BAR0 store, x-no-mmap=on (vCPU)", "bar-slow",
            "bar_store_per_s", "k/s", False,
            raw=("bar", "pwrite_store_per_s"), goal=("peer", 1.0),
            scale=1e-3),
        Row("config dword reads (vCPU, 0xcf8/0xcfc)", "bar-fast",
            "config_read_per_s", "k/s", False,
            raw=("bar", "config_read_per_s"), goal=("peer", 1.0),
            scale=1e-3),
        Row("RAM load (vCPU; the loop's own ceiling)", "bar-fast",
            "ram_load_per_s", "M/s", False, raw=("bar", "ram_load_per_s"),
            scale=1e-6),
        Row("BAR0 load, fast path, net of the loop", "bar-fast", None, "ns",
            True, raw=("bar", "net_mmap_load_ns"), goal=("raw-time", 1.1),
            derived=net_cost("bar-fast", "bar_load_per_s")),
        Row("BAR0 store, fast path, net of the loop", "bar-fast", None, "ns",
            True, raw=("bar", "net_mmap_store_ns"), goal=("raw-time", 1.1),
            derived=net_cost("bar-fast", "bar_store_per_s")),
        Row("edu MSI round trips (qtest)", "msi", "msi_per_s", "/s", False,
            raw=("msi", "msi_per_s"), goal=("peer", 1.0)),
        Row("nvme MSI-X round trips (qtest)", "msix", "msix_per_s", "/s",
            False, goal=("peer", 1.0)),
        Row("nvme MSI-X bring-up, 65 vectors unmasked one by one (qtest)",
            "msix-bringup", "msix_bringup_ms", "ms", True,
            goal=("peer", 1.0)),
        Row("edu INTx round trips (qtest, q35)", "intx", "intx_per_s", "/s",
            False),
    ]
    return out


def stats(values):
    v = sorted(values)
    if not v:
        return None
    return v[0], statistics.median(v), v[-1]


def fmt_num(x):
    if x is None:
        return "-"
    if x == int(x) and abs(x) < 1e6:
        return "%d" % x
    if abs(x) >= 100:
        return "%.0f" % x
    if abs(x) >= 10:
        return "%.1f" % x
    return "%.2f" % x


def fmt_stats(s, scale=1.0):
    if s is None:
        return "-"
    lo, med, hi = (x * scale for x in s)
    if lo == hi:
        return fmt_num(med)
    return "%s (%s–%s)" % (fmt_num(med), fmt_num(lo), fmt_num(hi))


def ratios(ours, peer):
    return [ours[r] / peer[r] for r in ours if r in peer and peer[r]]


def peer_state(row, ratio_s):
    """'meets', 'noise' (the rounds' range spans the goal) or 'misses'."""
    target = row.goal[1]
    lo, med, hi = ratio_s
    ok = (lambda r: r <= target) if row.lower else (lambda r: r >= target)
    if ok(med):
        return "meets"
    return "noise" if ok(lo) or ok(hi) else "misses"


VERDICT = {"meets": "meets", "noise": "*within noise*",
           "misses": "**MISSES**"}


def verdict(row, ours_s, ratio_s, raw_s):
    """Against the goal, on medians; '' where there is no goal."""
    if not row.goal or ours_s is None:
        return ""
    kind, target = row.goal
    if kind == "peer" and ratio_s:
        want = ("≤ %.1f× peer" if row.lower else "≥ %.1f× peer") % target
        return VERDICT[peer_state(row, ratio_s)] + ", " + want
    elif kind == "raw" and raw_s:
        r = raw_s[1] / ours_s[1]
        ok = r <= target
        want = "raw/ours %.2f (goal ≤ %.1f)" % (r, target)
    elif kind == "raw-time" and raw_s:
        r = ours_s[1] / raw_s[1]
        ok = r <= target
        want = "ours/raw %.2f (goal ≤ %.1f)" % (r, target)
    elif kind == "count" and target:
        ok = ours_s[2] <= target
        want = "≤ %d RAM sections" % target
    else:
        return ""
    return ("meets" if ok else "**MISSES**") + ", " + want


def table(data, all_rows):
    lines = ["| metric | ours | peer | ratio ours/peer | raw limit | goal |",
             "| --- | --- | --- | --- | --- | --- |"]
    chart = []
    for row in all_rows:
        ours, peer = series(data, "OURS", row), series(data, "PEER", row)
        if not ours and not peer:
            continue
        raw = data.get(("raw",) + row.raw, {}) if row.raw else {}
        o, p, rw = stats(ours.values()), stats(peer.values()), \
            stats(raw.values())
        rs = stats(ratios(ours, peer))
        unit = " (%s)" % row.unit if row.unit else ""
        lines.append("| %s%s | %s | %s | %s | %s | %s |" % (
            row.label, unit, fmt_stats(o, row.scale), fmt_stats(p, row.scale),
            fmt_stats(rs), fmt_stats(rw, row.scale),
            verdict(row, o, rs, rw)))
        if row.goal and rs and row.goal[0] == "peer":
            chart.append((row, rs))
    return lines, chart


def plot(chart, data, all_rows, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fast = [r for r in all_rows if r.goal and r.goal[0] in ("raw", "raw-time")]
    fig, (a1, a2) = plt.subplots(
        2, 1, figsize=(9, 0.32 * len(chart) + 3.5),
        gridspec_kw={"height_ratios": [len(chart), max(2, len(fast) * 2)]})
    labels, med, lo, hi, colors = [], [], [], [], []
    for row, (rmin, rmed, rmax) in chart:
        # Shown as "how much better than the peer": >1 is better.
        inv = (lambda x: 1 / x) if row.lower else (lambda x: x)
        vals = sorted([inv(rmin), inv(rmed), inv(rmax)])
        labels.append(row.label)
        med.append(inv(rmed))
        lo.append(inv(rmed) - vals[0])
        hi.append(vals[2] - inv(rmed))
        colors.append({"meets": "tab:green", "noise": "tab:orange",
                       "misses": "tab:red"}[peer_state(row, (rmin, rmed,
                                                             rmax))])
    y = range(len(labels))
    a1.barh(y, med, xerr=[lo, hi], color=colors, capsize=2)
    a1.axvline(1.0, color="black", lw=0.8)
    a1.axvline(1.25, color="gray", ls="--", lw=0.8)
    a1.set_yticks(list(y))
    a1.set_yticklabels(labels, fontsize=7)
    a1.invert_yaxis()
    a1.set_xlabel("ours vs peer: speed-up (peer time / ours time, or ours"
                  " rate / peer rate); bar: median, whiskers: min–max over"
                  " the rounds\ndashed: 1.25, the goal for times (≤ 0.8× the"
                  " peer); solid: 1.0, the goal for rates", fontsize=7)
    a1.set_title("Ours against QEMU 7.2's vfio-pci (green: goal met, "
                 "orange: within noise, red: missed)", fontsize=9)
    names, vals = [], []
    for row in fast:
        raw = stats(data.get(("raw",) + row.raw, {}).values())
        for q in ("OURS", "PEER"):
            s = stats(series(data, q, row).values())
            if s and raw:
                names.append("%s, %s" % (row.label, q.lower()))
                # rates: ours/raw; times (net costs): raw/ours
                vals.append(raw[1] / s[1] if row.lower else s[1] / raw[1])
    a2.barh(range(len(names)), vals, color="tab:blue")
    a2.axvline(1 / 1.1, color="gray", ls="--", lw=0.8)
    a2.set_yticks(list(range(len(names))))
    a2.set_yticklabels(names, fontsize=7)
    a2.invert_yaxis()
    a2.set_xlabel("fraction of the raw VFIO mmap limit (rate, or raw net cost"
                  " / net cost); dashed: 1/1.1, the goal", fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def header(host, machine, rounds, failed):
    out = [
        "# vfio-pci benchmark: ours against QEMU 7.2's own",
        "",
        "Written by `bench/run.sh` (see bench/README.md).  One rig boot; ours "
        "and the peer ran alternately in each of **%d rounds** on the same "
        "devices.  Cells: median (min–max) over the rounds; the ratio is "
        "taken per round (ours/peer, back to back) and then summarized.  "
        "Absolute numbers are TCG-in-TCG and noisy: quote the ratios." % rounds,
        "",
        "| | |",
        "| --- | --- |",
        "| host CPU | %s (%s cores) |" % (host.get("host_cpu", "?"),
                                        host.get("host_cores", "?")),
        "| host kernel | %s |" % host.get("host_kernel", "?"),
        "| rig | %s, %s, TCG, intel-iommu |" % (
            host.get("rig_qemu", "?"), host.get("rig_mem", "?")),
        "| rig guest kernel | %s; THP %s; hugetlbfs for %s MiB |" % (
            machine.get("rig_kernel", "?"), machine.get("rig_thp", "?"),
            machine.get("rig_hugetlbfs_mib", "?")),
        "| ours | %s, commit %s |" % (machine.get("version_OURS", "?"),
                                     host.get("commit", "?")),
        "| peer | %s, QEMU's own hw/vfio, same configure and compiler |"
        % machine.get("version_PEER", "?"),
        "| compiler | %s |" % host.get("gcc", "?"),
        "",
    ]
    if failed:
        out += ["Runs that failed: " + ", ".join(
            "round %d %s %s" % f for f in failed), ""]
    return out


def main():
    bench, results = sys.argv[1], sys.argv[2]
    rig = os.path.join(bench, "rig")
    data, failed = read_results(os.path.join(rig, "results.txt"))
    data = {k: v for k, v in data.items()}
    data = defaultdict(dict, {k: {r: x for r, x in v.items() if r > 0}
                              for k, v in data.items()})
    add_strace(data, rig)
    add_raw_net(data)
    host = read_kv(os.path.join(bench, "host.txt"))
    machine = read_kv(os.path.join(rig, "machine.txt"))
    sizes = sorted({c.split("-")[1] for (_, c, _) in data
                    if c.startswith("dma-")},
                   key=lambda m: (m.endswith("h"), int(m.rstrip("h"))))
    sections = {}
    for m in sizes:
        if m.endswith("h"):
            continue
        try:
            sections[m] = ram_sections(os.path.join(rig, "mtree-%s.txt" % m))
        except (OSError, ValueError, IndexError, KeyError):
            pass
    rounds = max((r for v in data.values() for r in v), default=0)
    all_rows = rows(sizes, sections)
    lines, chart = table(data, all_rows)
    md = header(host, machine, rounds, failed)
    md += ["Contiguous RAM sections (flat view of `memory`, -M pc): " +
           ", ".join("%s MiB: %d" % (m, n) for m, n in sections.items()), ""]
    md += lines
    os.makedirs(results, exist_ok=True)
    notes = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                         "results-notes.md")
    if os.path.exists(notes):
        with open(notes) as f:
            md += ["", f.read().rstrip()]
    with open(os.path.join(results, "results.md"), "w") as f:
        f.write("\n".join(md) + "\n")
    shutil.copy(os.path.join(rig, "results.txt"),
                os.path.join(results, "raw-results.txt"))
    plot(chart, data, all_rows, os.path.join(results, "results.png"))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
