#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The test command: sets up and builds (scripts/setup.sh, scripts/build.sh),
# runs the host tests, then boots the rig twice, side by side: Debian's
# kernel for the legacy-path tests, the rig kernel (tests/rig/build-kernel.sh)
# for the iommufd, cdev and mdev ones.  Prints one TAP stream per suite and a closing
# "N passed, N failed" line; fails when any test failed or when no rig test
# ran.
set -eu

. "$(dirname "$0")/../scripts/config.sh"
. "$REPO/tests/qtest-tap.sh"

QTESTS=$(cd "$REPO/tests/qtest" && ls *.c | sed 's/\.c$//')
# These run in the rig kernel's boot, on its legacy backend: the Debian
# kernel's boot has more to do
LEGACY_ON_RIG_KERNEL="vfio-pci-faults-test vfio-pci-notifiers-test"
DEBIAN_QTESTS=$(for t in $QTESTS; do
    case " $LEGACY_ON_RIG_KERNEL " in *" $t "*) ;; *) echo "$t" ;; esac
done)
RESULTS=$BUILD/results
PASS=0
FAIL=0
RIG_RAN=0

# tally FILE: adds a TAP file's results to the totals.
tally() {
    p=$(grep -c '^ok ' "$1" || true)
    f=$(grep -c '^not ok ' "$1" || true)
    # A test that aborts ends the stream early: count what never reported.
    plan=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$1" | head -n 1)
    if [ -n "$plan" ] && [ $((p + f)) -lt "$plan" ]; then
        echo "not ok - $(basename "$1"): $((plan - p - f)) tests never reported"
        f=$((plan - p))
    fi
    PASS=$((PASS + p))
    FAIL=$((FAIL + f))
    echo "== $(basename "$1"): $p passed, $f failed"
}

# failures FILE...: each failed test again, with the notes after it, so
# that the end of a long log (all a CI page may show) says what failed
failures() {
    for f in "$@"; do
        grep -q '^not ok' "$f" || continue
        echo "== failed in $(basename "$f"):"
        awk '/^not ok/ { show = 1; n = 0 }
             /^ok / { show = 0 }
             show && n++ < 40' "$f"
    done
}

# The user documentation builds without a warning.
docs_test() {
    d=$BUILD/docs
    rm -rf "$d" && mkdir -p "$d"
    cp "$REPO/docs/vfio-pci.rst" "$d/"
    printf "project = 'vfio-pci'\nmaster_doc = 'vfio-pci'\n" > "$d/conf.py"
    if sphinx-build -q -W -b html "$d" "$d/_build" > "$d/log" 2>&1; then
        echo "ok 1 - docs/vfio-pci.rst builds with sphinx-build -W"
    else
        sed 's/^/# /' "$d/log"
        echo "not ok 1 - docs/vfio-pci.rst builds with sphinx-build -W"
    fi
}

# What builds without a QEMU tree (meson.build): the capability parser's
# unit test, and the bench programs, which must at least compile.
unit_tests() {
    m=$BUILD/meson
    if { [ -f "$m/build.ninja" ] || meson setup "$m" "$REPO"; } > "$m.log" 2>&1 &&
       meson compile -C "$m" >> "$m.log" 2>&1; then
        "$m/test-vfio-pci-caps" --tap
    else
        sed 's/^/# /' "$m.log"
        echo "not ok 1 - meson.build: setup or compile failed"
    fi
}

# host_qtest NAME ARGS...: runs qtest NAME on this machine.
host_qtest() {
    (t=$1 && shift && cd "$QEMU_BUILD" &&
        QTEST_QEMU_BINARY=./qemu-system-x86_64 \
        timeout 300 "./tests/qtest/$t" "$@")
}

host_tests() {
    docs_test > "$RESULTS/host-docs.tap"
    unit_tests > "$RESULTS/host-unit-caps.tap" 2>&1
    sh "$REPO/tests/bind-vfio-test.sh" > "$RESULTS/host-bind-vfio.tap" 2>&1 || true
    sh "$REPO/tests/qtest-tap-test.sh" > "$RESULTS/host-qtest-tap.tap" 2>&1 || true
    sh "$REPO/tests/debian-help-test.sh" > "$RESULTS/host-debian-help.tap" 2>&1 || true
    for t in $QTESTS; do
        qtest_tap "$RESULTS/host-$t.tap" host_qtest "$t"
    done
}

# Every TAP file the rig leaves in its /out is tallied, and all of its
# results count as rig tests; these ones must be there.
RIG_TAPS="$DEBIAN_QTESTS bind-vfio-rig debian-host inner-guest inner-vga
 vfio-pci-sriov"

# ... and these the boot of the rig kernel (tests/rig/guest-iommufd.sh).
IOMMUFD_TAPS="$LEGACY_ON_RIG_KERNEL
 vfio-pci-iommufd-test vfio-pci-mdev-test vfio-pci-display-test
 inner-vgpu libvirt-mdev-display iommufd-inner-guest
 vfio-pci-migration-test iommufd-vfio-pci-migration-test inner-migration
 iommufd-vfio-pci-test iommufd-vfio-pci-hotplug-test iommufd-vfio-pci-errors-test
 iommufd-vfio-pci-reset-test
 iommufd-vfio-pci-fuzz-test iommufd-vfio-pci-hardening-test
 iommufd-vfio-pci-express-test iommufd-vfio-pci-viommu-test
 iommufd-vfio-pci-memory-test inner-remove inner-hammer"

# collect DIR PREFIX TAPS: the TAP files of a rig boot, and a failure for
# each expected one that is missing; the first says where the boot was
# last (the end of a long log, all a CI page may show, has it then).
collect() {
    for f in "$1"/*.tap; do
        [ -f "$f" ] || continue
        cp "$f" "$RESULTS/$2-${f##*/}"
        RIG_RAN=$((RIG_RAN + $(grep -c '^\(not \)\?ok ' "$f" || true)))
    done
    _where=yes
    for t in $3; do
        [ -f "$1/$t.tap" ] && continue
        {
            echo "not ok - $2: $t did not run"
            if [ -n "$_where" ]; then
                echo "# the boot's last lines ($1/guest.log):"
                tail -n 15 "$1/guest.log" 2>/dev/null | sed 's/^/#   /'
            fi
        } > "$RESULTS/$2-$t.tap"
        _where=
    done
}

rig_tests() {
    {
        printf 'RIG_QTESTS="%s"\n' "$(echo $DEBIAN_QTESTS)"
        printf "RIG_KERNEL_DIR='%s'\n" "$KERNEL_DIR"
        # Debian's own qemu-system-x86, unpacked over ours as an upgrade would
        printf "DH_DEBIAN_DEB='%s'\n" "$(debian_qemu_deb)"
        # The mtty sample as a module of Debian's kernel (its AppArmor tests)
        printf "DH_MTTY_KO='%s'\n" "$DH_MTTY_KO"
        # Inner guests that need no driver of Debian's boot faster on it
        printf "INNER_FAST_KERNEL='%s'\n" \
            "$("$REPO/tests/rig/build-kernel.sh" --cached)"
        cat "$REPO/tests/rig/guest-qtests.sh"
    } > "$RESULTS/guest.sh"
    "$REPO/tests/rig/run.sh" "$RESULTS/guest.sh" "$RESULTS/rig" || true
    collect "$RESULTS/rig" rig "$RIG_TAPS"
}

# The rig kernel's build, on a cold run, goes on beside QEMU's (two
# builds of some 20 CPU-minutes each on two cores): started after it, it
# held the rig kernel's boot back until the Debian boot had ended, and one
# core idle.  mtty.ko comes first: it fetches the same source.
kernel_build_start() {
    DH_MTTY_KO=$("$REPO/tests/rig/build-mtty.sh") || DH_MTTY_KO=
    mkdir -p "$BUILD"
    rm -f "$BUILD/rig-kernel.done"
    {
        "$REPO/tests/rig/build-kernel.sh" > "$BUILD/rig-kernel.log" 2>&1 || true
        touch "$BUILD/rig-kernel.done"
    } &
}

# The iommufd, cdev and mdev tests need a kernel that Debian does not ship.
iommufd_rig_boot() {
    while [ ! -f "$BUILD/rig-kernel.done" ]; do
        sleep 5
    done
    cat "$BUILD/rig-kernel.log"
    kernel=$("$REPO/tests/rig/build-kernel.sh") || return 0
    {
        printf 'LEGACY_QTESTS="%s"\n' "$LEGACY_ON_RIG_KERNEL"
        cat "$REPO/tests/rig/guest-iommufd.sh"
    } > "$RESULTS/guest-iommufd.sh"
    RIG_KERNEL=$kernel RIG_NVME_IMG=$BUILD/rig/nvme-iommufd.img \
        "$REPO/tests/rig/run.sh" "$RESULTS/guest-iommufd.sh" \
        "$RESULTS/rig-iommufd" || true
}

# The two boots run side by side: each rig is one TCG vCPU, and there are
# two cores.  The initramfs builds come first, so that the two never race
# on them.
both_rigs() {
    sh "$REPO/tests/rig/make-initrd.sh"
    sh "$REPO/tests/rig/make-inner-initrd.sh"
    iommufd_rig_boot > "$RESULTS/rig-iommufd.log" 2>&1 &
    iommufd_pid=$!
    rig_tests
    wait "$iommufd_pid" || true
    cat "$RESULTS/rig-iommufd.log"
    collect "$RESULTS/rig-iommufd" rig-iommufd "$IOMMUFD_TAPS"
}

"$REPO/scripts/setup.sh"
kernel_build_start
"$REPO/scripts/build.sh"
"$REPO/scripts/package.sh" > /dev/null
rm -rf "$RESULTS"
mkdir -p "$RESULTS"
host_tests
both_rigs

for f in "$RESULTS"/*.tap; do
    cat "$f"
done
failures "$RESULTS"/*.tap
for f in "$RESULTS"/*.tap; do
    tally "$f"
done
echo "rig tests run: $RIG_RAN"
if [ "$RIG_RAN" = 0 ]; then
    echo "not ok - no rig test ran: the rig did not work"
    FAIL=$((FAIL + 1))
fi
echo "$PASS passed, $FAIL failed"
[ "$FAIL" = 0 ]
