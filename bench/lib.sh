# SPDX-License-Identifier: GPL-2.0-or-later
# What the bench scripts share; sourced after scripts/config.sh.

# bench_client DIR: the client, bench/vfio-bench.c, built into DIR
bench_client() {
    mkdir -p "$1"
    gcc -O2 -Wall -Wextra -Wno-unused-parameter -Werror \
        -o "$1/vfio-bench" "$REPO/bench/vfio-bench.c"
}

# bench_against_72 DIR: ours and the QEMU 7.2 peer set up and built, and
# the client into DIR
bench_against_72() {
    "$REPO/scripts/setup.sh"
    "$REPO/scripts/build.sh"
    "$REPO/bench/build-peer.sh"
    bench_client "$1"
}

# bench_rig NAME [OUT]: boots the rig (tests/rig/run.sh, with the RIG_*
# variables the caller exported) on $BENCH/guest.sh; bench/report-NAME.py
# writes $RESULTS/OUT.md from it (OUT is NAME unless given), and the raw
# lines go to OUT-raw.txt
bench_rig() {
    _bench_start=$(date +%s)
    _bench_out=${2:-$1}
    "$REPO/tests/rig/run.sh" "$BENCH/guest.sh" "$BENCH/rig" ||
        die "the rig run failed (see $BENCH/rig)"
    _bench_commit=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null ||
                    echo unknown)
    python3 "$REPO/bench/report-$1.py" "$BENCH/rig" "$_bench_commit" \
        "$(($(date +%s) - _bench_start))" > "$RESULTS/$_bench_out.md"
    cp "$BENCH/rig/results.txt" "$RESULTS/$_bench_out-raw.txt"
    log "wrote $RESULTS/$_bench_out.md"
}
