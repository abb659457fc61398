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
