# SPDX-License-Identifier: GPL-2.0-or-later
# Rig guest script of bench/migration.sh (ROUNDS, OURS and PEER10 come
# first): each round migrates the mtty-counting inner guest once with each
# QEMU, the first alternating; "round qemu metric value" lines go to
# /out/results.txt.
set -eu
. "/host$REPO/tests/rig/guest-lib.sh"
. "/host$REPO/tests/rig/guest-inner.sh"
. "/host$REPO/tests/rig/guest-migration.sh"

rig_bind_all
rig_chroot_prepare
T=/sys/class/mdev_bus/mtty/mdev_supported_types
VFIO_MIG_SRC=3f0f5a6e-6c1d-4c55-9a7e-2b1c0d9e8f01
VFIO_MIG_DST=3f0f5a6e-6c1d-4c55-9a7e-2b1c0d9e8f02
# Fresh instances each round: mtty keeps its migration state across
# users (a source leaves it in STOP), which QEMU 10.0 does not recover
bench_mdevs() {
    for u in $VFIO_MIG_SRC $VFIO_MIG_DST; do
        [ ! -d "/sys/bus/mdev/devices/$u" ] ||
            echo 1 > "/sys/bus/mdev/devices/$u/remove"
        echo "$u" > "$T/mtty-1/create"
    done
}
uname -r > /out/machine.txt
for q in OURS PEER10; do
    eval "rig_in_chroot \$$q --version | head -n 1" | sed "s/^/$q: /" >> /out/machine.txt
done

# bench_json FILE KEY...: a number from query-migrate's reply, -1 if none
bench_json() {
    _b_f=$1
    shift
    [ -s "$_b_f" ] || { echo -1; return 0; }
    rig_in_chroot python3 -c 'import json, sys
try:
    d = json.load(sys.stdin)
except ValueError:
    d = {}
for k in sys.argv[1:]:
    d = d.get(k, {}) if isinstance(d, dict) else {}
print(d if isinstance(d, (int, float)) else -1)' "$@" < "$_b_f"
}

bench_round() {
    _b_r=$1
    _b_q=$2
    eval "INNER_QEMU=\$$_b_q"
    bench_mdevs
    rm -f /out/inner-mig-info.json
    rig_tap_plan "bench-$_b_q-$_b_r.tap" 4
    inner_mig_run || true
    _b_i=/out/inner-mig-info.json
    for _b_m in total-time downtime setup-time; do
        echo "$_b_r $_b_q $_b_m $(bench_json $_b_i $_b_m)" >> /out/results.txt
    done
    echo "$_b_r $_b_q ram-bytes $(bench_json $_b_i ram transferred)" >> /out/results.txt
    echo "$_b_r $_b_q vfio-bytes $(bench_json $_b_i vfio transferred)" >> /out/results.txt
    sed -n 's/.*vfio_save_complete.* sent \([0-9]*\) bytes in pre-copy, \([0-9]*\) in stop-copy/\1 \2/p' \
        /out/inner-mig-src.trace | tail -n 1 | while read -r _b_pre _b_stop; do
        echo "$_b_r $_b_q device-precopy-bytes $_b_pre"
        echo "$_b_r $_b_q device-stopcopy-bytes $_b_stop"
    done >> /out/results.txt
    echo "$_b_r $_b_q passed $(grep -c '^ok' "/out/bench-$_b_q-$_b_r.tap")" >> /out/results.txt
    for _b_f in src.console dst.console src.trace dst.trace; do
        mv "/out/inner-mig-$_b_f" "/out/bench-$_b_q-$_b_r-$_b_f" 2>/dev/null || true
    done
}

: > /out/results.txt
for r in $(seq "$ROUNDS"); do
    if [ $((r % 2)) = 1 ]; then order="OURS PEER10"; else order="PEER10 OURS"; fi
    for q in $order; do
        echo "bench: round $r, $q"
        bench_round "$r" "$q"
    done
done
cat /out/results.txt
