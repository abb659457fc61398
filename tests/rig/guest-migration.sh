# SPDX-License-Identifier: GPL-2.0-or-later
# Rig guest step for the rig kernel's boot (sourced after guest-inner.sh,
# with VFIO_MIG_SRC and VFIO_MIG_DST naming two mtty instances): the inner
# guest, given an mtty serial port by our QEMU, keeps sending a counter
# through it, line by line, each line checked as the port loops it back;
# meanwhile our QEMU migrates it to a second of our QEMUs with the other
# mtty.  On the destination the counter must go on, no line lost or
# doubled.  TAP to /out/inner-migration.tap, consoles and traces in /out.

MIG_QMP="$REPO/tests/rig/qmp.py"
MIG_URI=unix:/run/inner-mig.sock

# inner_mig_qemu NAME MDEV [ARGS...]: the inner guest on our QEMU in the
# background, its console, QMP socket and trace in /run/inner-mig-NAME.*
inner_mig_qemu() {
    _im_n=$1
    _im_u=$2
    shift 2
    # An earlier run's console and socket would pass for this one's
    rm -f "$RIG_HOST/run/inner-mig-$_im_n.console" \
        "$RIG_HOST/run/inner-mig-$_im_n.qmp"
    rig_in_chroot timeout "$INNER_TIMEOUT" "$INNER_QEMU" \
        -nodefaults -machine q35 -accel "${INNER_ACCEL:-tcg}" -smp 1 -m 256 \
        -display none -no-reboot -msg timestamp=on \
        -serial "file:/run/inner-mig-$_im_n.console" \
        -kernel "$BUILD/rig/inner-vmlinuz" -initrd "$BUILD/rig/inner-initrd.gz" \
        -append "console=ttyS0 panic=-1 no_timer_check inner_mode=mtty" \
        -device "vfio-pci,sysfsdev=/sys/bus/mdev/devices/$_im_u" \
        -qmp "unix:/run/inner-mig-$_im_n.qmp,server=on,wait=off" \
        -trace 'vfio_mig*' -trace 'vfio_save*' -trace 'vfio_load*' \
        -trace vfio_irq_restore -trace vfio_dirty_tracking \
        -D "/run/inner-mig-$_im_n.trace" "$@" \
        > "/out/inner-mig-$_im_n.log" 2>&1 &
}

inner_mig_qmp() {
    _im_n=$1
    shift
    rig_in_chroot python3 "$MIG_QMP" "/run/inner-mig-$_im_n.qmp" "$@"
}

inner_mig_console() { cat "$RIG_HOST/run/inner-mig-$1.console" 2>/dev/null; }

# The last counter line that NAME's console shows, 0 before the first
inner_mig_counter() {
    inner_mig_console "$1" | sed -n 's/^INNER: mtty counter \([0-9]*\).*/\1/p' |
        tail -n 1 | grep . || echo 0
}

# inner_mig_wait NAME COUNT SECONDS: NAME's console reaches COUNT, no FAIL
# and no panic
inner_mig_wait() {
    _im_end=$(($(date +%s) + $3))
    while [ "$(date +%s)" -lt "$_im_end" ]; do
        ! inner_mig_console "$1" | grep -q '^INNER: mtty FAIL\|Kernel panic' ||
            return 1
        [ "$(inner_mig_counter "$1")" -lt "$2" ] || return 0
        sleep 1
    done
    return 1
}

# QEMU answers on its QMP socket: its main loop runs, -incoming listens
inner_mig_ready() {
    for _im_i in $(seq 30); do
        [ -S "$RIG_HOST/run/inner-mig-$1.qmp" ] &&
            inner_mig_qmp "$1" query-status >/dev/null 2>&1 && return 0
        sleep 1
    done
    return 1
}

inner_mig_migrate() {
    inner_mig_qmp src migrate "{\"uri\": \"$MIG_URI\"}" >/dev/null &&
        inner_mig_qmp src wait-migration completed 300 \
            > /out/inner-mig-info.json
}

inner_mig_no_fail() {
    ! inner_mig_console src | grep -q '^INNER: mtty FAIL' &&
        ! inner_mig_console dst | grep -q '^INNER: mtty FAIL'
}

# NAME's inner kernel died before its /init: the rare early crash of a
# kernel under TCG in TCG (guest-inner.sh's inner_early_crash), before
# anything of the migration ran
inner_mig_early_crash() {
    ! inner_mig_console "$1" | grep -q '^INNER: init at' &&
        inner_mig_console "$1" | grep -q 'Kernel panic\|double fault'
}

inner_mig_run() {
    _im_t=vfio-pci/rig/inner/migration
    inner_mig_qemu src "$VFIO_MIG_SRC"
    _im_src_pid=$!
    if ! inner_mig_wait src 100 "$INNER_TIMEOUT" &&
       inner_mig_early_crash src; then
        echo "inner: migration: the source's kernel died before its /init; booting again"
        wait "$_im_src_pid" || true
        inner_mig_qemu src "$VFIO_MIG_SRC"
        _im_src_pid=$!
    fi
    rig_tap "$_im_t: the guest's counter runs through the source's mtty" \
        inner_mig_wait src 100 "$INNER_TIMEOUT"
    if [ "$RIG_TAP_FAILED" = 1 ]; then
        inner_mig_qmp src quit >/dev/null 2>&1 || true
        wait "$_im_src_pid" || true
        cp "$RIG_HOST/run/inner-mig-src.console" /out/ 2>/dev/null || true
        return 1
    fi
    inner_mig_qemu dst "$VFIO_MIG_DST" -incoming "$MIG_URI"
    _im_dst_pid=$!
    inner_mig_ready dst
    _im_before=$(inner_mig_counter src)
    rig_tap "$_im_t: migrated mid-stream from counter $_im_before" \
        inner_mig_migrate
    _im_last=$(inner_mig_counter src)
    rig_tap_note "query-migrate: $(cat /out/inner-mig-info.json 2>/dev/null)"
    rig_tap "$_im_t: on the destination the counter goes on past $_im_last" \
        inner_mig_wait dst $((_im_last + 100)) 300
    rig_tap "$_im_t: no line lost or doubled on either side" inner_mig_no_fail
    inner_mig_qmp dst quit >/dev/null || true
    inner_mig_qmp src quit >/dev/null || true
    wait "$_im_src_pid" "$_im_dst_pid" || true
    for _im_n in src dst; do
        cp "$RIG_HOST/run/inner-mig-$_im_n.console" \
            "$RIG_HOST/run/inner-mig-$_im_n.trace" /out/ 2>/dev/null || true
    done
}

inner_migration_tests() {
    rig_tap_plan inner-migration.tap 4
    inner_mig_run || true
    if [ "$RIG_TAP_FAILED" = 1 ]; then
        for _im_n in src dst; do
            rig_tap_note "last 20 lines of the $_im_n console:"
            rig_tap_note "$(inner_mig_console $_im_n | tail -n 20)"
            rig_tap_note "$(tail -n 5 "/out/inner-mig-$_im_n.log")"
        done
    fi
}
