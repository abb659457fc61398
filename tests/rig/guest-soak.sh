# SPDX-License-Identifier: GPL-2.0-or-later
# Rig guest script of tests/soak.sh: the inner guest does nvme I/O for
# SOAK_MINUTES while the rig's edu, assigned to it behind a root port, is
# unplugged and plugged back every minute.  Each minute QEMU's RSS, open
# fds and VmLck go to /out/soak.csv; /out/soak.tap says whether they
# stayed flat after the first minutes and whether the I/O held.
set -eu
. "/host$REPO/tests/rig/guest-lib.sh"
. "/host$REPO/tests/rig/guest-inner.sh"

SOAK_MINUTES=${SOAK_MINUTES:-30}
SOAK_WARMUP=${SOAK_WARMUP:-3}           # minutes before the baseline
RSS_SLACK_KIB=${RSS_SLACK_KIB:-4096}
INNER_SOAK_S=$((SOAK_MINUTES * 60 + 60))
INNER_TIMEOUT=$((INNER_SOAK_S + 600))

qmp() { rig_in_chroot python3 "$REPO/tests/rig/qmp.py" /run/soak.qmp "$@"; }

edu_present() { qmp query-pci | grep -q '"qdev_id": "edu"'; }

# Unplugs the edu (the inner guest's ACPI hot-plug ejects it), plugs it back
soak_cycle() {
    qmp device_del '{"id": "edu"}' > /dev/null || return 1
    _s_i=0
    while edu_present; do
        [ $_s_i -lt 120 ] || return 1
        sleep 1
        _s_i=$((_s_i + 1))
    done
    qmp device_add "{\"driver\": \"vfio-pci\", \"host\": \"$VFIO_EDU\",
                     \"id\": \"edu\", \"bus\": \"rp1\"}" > /dev/null
}

soak_sample() {
    echo "$1,$(awk '/^VmRSS/ { print $2 }' "/proc/$2/status"),$(ls "/proc/$2/fd" | wc -l),$(awk '/^VmLck/ { print $2 }' "/proc/$2/status"),$3"
}

# soak_flat FIELD SLACK: FIELD (2 RSS, 3 fds, 4 VmLck) of the last sample
# is within SLACK of the one after the warm-up
soak_flat() {
    awk -F, -v f="$1" -v slack="$2" -v w="$SOAK_WARMUP" '
        NR == w + 2 { base = $f }
        { last = $f }
        END { d = last - base; exit !(base != "" && d <= slack && -d <= slack) }' \
        /out/soak.csv
}

rig_bind_all
rig_chroot_prepare
rig_tap_plan soak.tap 6
inner_boot_retried soak &
soak_bg=$!
if ! inner_wait_for soak '^INNER: soak: I/O running' "$soak_bg"; then
    rig_log "error: the inner guest's I/O never started"
    cp "$RIG_HOST/run/inner-soak.console" /out/ || true
    kill "$(inner_qemu_pid)" || true
    wait "$soak_bg" || true
    exit 1
fi
soak_qemu=$(inner_qemu_pid || true)
echo "minute,rss_kib,fds,vmlck_kib,cycles" > /out/soak.csv
cycles=0
m=0
while [ $m -lt "$SOAK_MINUTES" ] && kill -0 "$soak_qemu" 2>/dev/null; do
    t0=$(date +%s)
    soak_cycle && cycles=$((cycles + 1))
    sleep $((60 - ($(date +%s) - t0) % 60))
    m=$((m + 1))
    soak_sample "$m" "$soak_qemu" "$cycles" | tee -a /out/soak.csv
    cp "$RIG_HOST/run/inner-soak.console" /out/ 2>/dev/null || true
done
wait "$soak_bg" || true
grep '^INNER: ' /out/inner-soak.console || true
rig_tap "soak: $SOAK_MINUTES minutes ran, QEMU up to the guest's poweroff" \
    inner_finished soak
rig_tap "soak: every round of nvme I/O read back equal" \
    inner_seen soak '^INNER: PASS'
rig_tap "soak: the edu was unplugged and plugged back every minute" \
    [ "$cycles" = "$SOAK_MINUTES" ]
rig_tap "soak: open fds flat after minute $SOAK_WARMUP" soak_flat 3 0
rig_tap "soak: VmLck flat after minute $SOAK_WARMUP" soak_flat 4 0
rig_tap "soak: RSS within $RSS_SLACK_KIB KiB after minute $SOAK_WARMUP" \
    soak_flat 2 "$RSS_SLACK_KIB"
