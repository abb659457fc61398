# SPDX-License-Identifier: GPL-2.0-or-later
# Rig guest script of bench/run.sh (run through tests/rig/run.sh, which
# puts REPO and BUILD in front; bench/run.sh adds ROUNDS, BENCH_BIN, OURS,
# PEER, DMA_SIZES, HUGE_SIZES, LOOP_SECS and COUNT).  Binds the rig's
# devices and runs every measurement with our QEMU and the peer
# alternately, ROUNDS times, appending "round qemu case metric value" lines
# to /out/results.txt.  With BENCH_SET=iommufd (bench/iommufd.sh, in a boot
# of the rig kernel) it runs the realize and DMA cases only, for each QEMU
# of QEMUS: ARGS_<name> adds that QEMU's arguments (its iommufd object).
# With BENCH_SET=viommu (bench/viommu.sh) it runs the guest IOMMU cases,
# with BENCH_SET=vmem (bench/vmem.sh) the virtio-mem ones, with
# BENCH_SET=scale (bench/scale.sh) the many-vector and many-VF ones,
# with BENCH_SET=pin (bench/pin.sh) the guest RAM pinning ones.
set -eu
. "/host$REPO/tests/rig/guest-lib.sh"
. "/host$REPO/tests/rig/guest-inner.sh"

RESULTS=/out/results.txt
QTEST="-nodefaults -accel qtest"

# bench QEMU CASE MODE [KEY=VALUE...] -- QEMU-ARGS: one vfio-bench run.
bench() {
    _q=$1 _case=$2
    shift 2
    # shellcheck disable=SC2154
    if ! rig_in_chroot timeout 900 "$BENCH_BIN/vfio-bench" "$@" \
            > /run/bench.out 2> /run/bench.err; then
        rig_log "$_q $_case failed: $(tail -n 5 /run/bench.err)"
        echo "$ROUND $_q $_case failed 1" >> "$RESULTS"
        return 0
    fi
    sed "s/^/$ROUND $_q $_case /" /run/bench.out >> "$RESULTS"
}

# raw CASE ARGS...: one raw-vfio run, as the "raw" QEMU.
raw() {
    _case=$1
    shift
    if ! rig_in_chroot "$BENCH_BIN/raw-vfio" "$@" \
            > /run/raw.out 2> /run/raw.err; then
        rig_log "raw $_case failed: $(tail -n 5 /run/raw.err)"
        echo "$ROUND raw $_case failed 1" >> "$RESULTS"
        return 0
    fi
    sed "s/^/$ROUND raw $_case /" /run/raw.out >> "$RESULTS"
}

vfio() { echo "-device vfio-pci,host=$1,addr=$2.0${3:+,$3}"; }

# qemu_set Q: b is QEMU Q's binary, QT its qtest arguments and ARGS_Q.
qemu_set() {
    eval "b=\$$1; QT=\"\$QTEST \${ARGS_$1:-}\""
}

# keep_ioctls LOG: keeps the container's (or iommufd's) set-up and DMA
# ioctls in /out: type1's MAP/UNMAP_DMA are 0x3b71/0x3b72, iommufd's
# IOAS_MAP/UNMAP 0x3b85/0x3b86; and any call's unfinished/resumed halves
# (strace -f splits calls that overlap another thread's).
keep_ioctls() {
    grep -e MAP_DMA -e 0x3b7 -e SET_IOMMU -e IOMMU_IOAS -e '0x3b, 0x8' \
        -e unfinished -e resumed \
        "/host/run/$1" > "/out/$1" || true
    rm -f "/host/run/$1"
}

# Start to first config read, per device and with all three.
realize_cases() {
    q=$1
    qemu_set "$q"
    QTEST=$QT
    # shellcheck disable=SC2086
    {
    bench "$q" start-none start slots=0 -- "$b" -M pc $QTEST
    bench "$q" start-edu start slots=4 -- "$b" -M pc $QTEST \
        $(vfio "$VFIO_EDU" 04)
    bench "$q" start-e1000e start slots=4 -- "$b" -M pc $QTEST \
        $(vfio "$VFIO_E1000E" 04)
    bench "$q" start-nvme start slots=4 -- "$b" -M pc $QTEST \
        $(vfio "$VFIO_NVME" 04)
    bench "$q" start-all start slots=4,5,6 -- "$b" -M pc $QTEST \
        $(vfio "$VFIO_EDU" 04) $(vfio "$VFIO_E1000E" 05) $(vfio "$VFIO_NVME" 06)
    bench "$q" add-edu hotplug hosts="$VFIO_EDU" slots=4 -- "$b" -M pc $QTEST
    bench "$q" add-e1000e hotplug hosts="$VFIO_E1000E" slots=4 -- \
        "$b" -M pc $QTEST
    bench "$q" add-nvme hotplug hosts="$VFIO_NVME" slots=4 -- "$b" -M pc $QTEST
    bench "$q" add-all hotplug hosts="$VFIO_EDU,$VFIO_E1000E,$VFIO_NVME" \
        slots=4,5,6 -- "$b" -M pc $QTEST
    }
    QTEST="-nodefaults -accel qtest"
}

# Guest RAM of each size: start and quit times without strace, then the
# MAP/UNMAP_DMA ioctls (count, time inside) of a run under strace.
dma_cases() {
    q=$1
    qemu_set "$q"
    for m in $DMA_SIZES; do
        log=strace-$q-$m-$ROUND.log
        # shellcheck disable=SC2086
        {
        bench "$q" "dma-$m" start slots=4 -- "$b" -M pc -m "${m}M" $QT \
            $(vfio "$VFIO_EDU" 04)
        bench "$q" "strace-$m" -s "/run/$log" start slots=4 -- \
            "$b" -M pc -m "${m}M" $QT $(vfio "$VFIO_EDU" 04)
        }
        keep_ioctls "$log"
    done
}

# The same with guest RAM on hugetlbfs (2 MiB pages), where the rig allows.
huge_cases() {
    q=$1
    eval "b=\$$q"
    [ -n "$HUGE_SIZES" ] || return 0
    for m in $HUGE_SIZES; do
        log=strace-$q-${m}h-$ROUND.log
        mem="-M pc,memory-backend=ram0 -m ${m}M -object
             memory-backend-file,id=ram0,size=${m}M,mem-path=/run/hugepages"
        # shellcheck disable=SC2086
        {
        bench "$q" "dma-${m}h" start slots=4 -- "$b" $mem $QTEST \
            $(vfio "$VFIO_EDU" 04)
        bench "$q" "strace-${m}h" -s "/run/$log" start slots=4 -- \
            "$b" $mem $QTEST $(vfio "$VFIO_EDU" 04)
        }
        keep_ioctls "$log"
    done
}

# A hugetlbfs at /run/hugepages (in the chroot) with room for the largest
# of HUGE_SIZES; clears HUGE_SIZES when the rig's kernel cannot.
huge_setup() {
    _max=0
    for m in $HUGE_SIZES; do
        [ "$m" -gt "$_max" ] && _max=$m
    done
    [ "$_max" -gt 0 ] || return 0
    echo $((_max / 2 + 8)) > /proc/sys/vm/nr_hugepages 2>/dev/null || true
    mkdir -p "$RIG_HOST/run/hugepages"
    if ! grep -q hugetlbfs /proc/filesystems ||
       [ "$(cat /proc/sys/vm/nr_hugepages)" -lt $((_max / 2 + 8)) ] ||
       ! mount -t hugetlbfs hugetlbfs "$RIG_HOST/run/hugepages"; then
        rig_log "no hugetlbfs with $_max MiB: skipping the hugepage cases"
        HUGE_SIZES=
    fi
}

# BAR and config accesses made by the vCPU (bench/bar-loop.S), then
# interrupt round trips through qtest.
access_cases() {
    q=$1
    eval "b=\$$q"
    loop="-nodefaults -accel tcg -S -bios $BENCH_BIN/bar-loop.bin"
    # shellcheck disable=SC2086
    {
    bench "$q" bar-fast loop slot=4 secs="$LOOP_SECS" -- "$b" -M pc $loop \
        $(vfio "$VFIO_EDU" 04)
    bench "$q" bar-slow loop slot=4 secs="$LOOP_SECS" -- "$b" -M pc $loop \
        $(vfio "$VFIO_EDU" 04 x-no-mmap=on)
    bench "$q" msi msi slot=4 count="$COUNT" -- "$b" -M pc $QTEST \
        $(vfio "$VFIO_EDU" 04)
    bench "$q" msix msix slot=4 count="$COUNT" -- "$b" -M pc $QTEST \
        $(vfio "$VFIO_NVME" 04)
    bench "$q" msix-bringup msix-bringup slot=4 -- "$b" -M pc $QTEST \
        $(vfio "$VFIO_NVME" 04)
    bench "$q" intx intx slot=4 count="$COUNT" -- "$b" -M q35 $QTEST \
        $(vfio "$VFIO_EDU" 04)
    }
}

raw_cases() {
    raw bar "$VFIO_EDU" bar "$LOOP_SECS"
    raw msi "$VFIO_EDU" msi "$COUNT"
    for m in $DMA_SIZES; do
        raw "dma-$m" "$VFIO_EDU" dma "$m"
    done
}

# The flat memory map each RAM size gives (for counting RAM sections).
memory_maps() {
    for m in $DMA_SIZES; do
        # shellcheck disable=SC2086
        rig_in_chroot "$BENCH_BIN/vfio-bench" mtree -- "$OURS" -M pc \
            -m "${m}M" $QTEST > "/out/mtree-$m.txt" 2>&1 || true
    done
}

# The QEMUs of QEMUS, the first one rotating with the round
qemus_rotated() {
    set -- $QEMUS
    _n=$(( (ROUND - 1) % $# ))
    while [ "$_n" -gt 0 ]; do
        _first=$1
        shift
        set -- "$@" "$_first"
        _n=$((_n - 1))
    done
    echo "$@"
}

# The iommufd set: each QEMU of QEMUS in turn, the first one rotating.
iommufd_round() {
    _qs=$(qemus_rotated)
    for q in $_qs; do
        realize_cases "$q"
    done
    for q in $_qs; do
        dma_cases "$q"
    done
}

# The scale set (bench/scale.sh, whose rig adds SCALE_MSIX, an nvme with
# 2048 MSI-X vectors, and SCALE_PF, an nvme with 16 SR-IOV VFs).  The PF
# goes to the nvme driver, as a host's does, its VFs to vfio-pci; QEMU
# may open an eventfd per vector, more than 1024 fds.
scale_setup() {
    ulimit -n 8192
    rig_bind_vfio bind "$SCALE_MSIX"
    _sc_pf=/sys/bus/pci/devices/$SCALE_PF
    rig_nvme_driver
    [ -e "$_sc_pf/driver" ] ||
        echo "$SCALE_PF" > /sys/bus/pci/drivers/nvme/bind
    echo 0 > "$_sc_pf/sriov_drivers_autoprobe"
    echo 16 > "$_sc_pf/sriov_numvfs"
    SCALE_VFS=$(for _sc_i in $(seq 0 15); do
        basename "$(readlink "$_sc_pf/virtfn$_sc_i")"
    done)
    for _sc_vf in $SCALE_VFS; do
        rig_bind_vfio bind "$_sc_vf"
    done
}

# scale_slots N: the qtest slots of N devices; scale_vfs N: the first N
# VFs at those slots
scale_slots() { seq -s, 4 $((3 + $1)); }
scale_vfs() {
    _sc_s=4
    for _sc_vf in $(echo $SCALE_VFS | cut -d' ' -f1-"$1"); do
        vfio "$_sc_vf" "$(printf %x $_sc_s)"
        _sc_s=$((_sc_s + 1))
    done
}

# The 2048 MSI-X entries unmasked one by one (for at most 600 s); VM start
# with 1 to 16 VFs; device_add of the 16 VFs in a row.
scale_round() {
    for q in $(qemus_rotated); do
        qemu_set "$q"
        # shellcheck disable=SC2086
        {
        bench "$q" msix-2048 msix-bringup slot=4 secs=600 -- "$b" -M pc $QT \
            $(vfio "$SCALE_MSIX" 04)
        for _sc_n in 1 2 4 8 16; do
            bench "$q" "start-vf-$_sc_n" start slots="$(scale_slots $_sc_n)" \
                -- "$b" -M pc $QT $(scale_vfs $_sc_n)
        done
        bench "$q" add-vf-16 hotplug hosts="$(echo $SCALE_VFS | tr ' ' ,)" \
            slots="$(scale_slots 16)" -- "$b" -M pc $QT
        }
    done
}

# inner_rate Q VARIANT: the inner guest's 4 KiB nvme read and write rates,
# with QEMU Q (VARIANT viommu: behind its intel-iommu, strict unmaps)
inner_rate() {
    eval "INNER_QEMU=\$$1"
    # The rare early crash of a kernel under TCG in TCG: boot again
    for _try in 1 2; do
        INNER_APPEND="inner_mode=iorate inner_count=$INNER_COUNT" \
            INNER_NO_TRACE=1 inner_boot "$2"
        inner_early_crash "$2" || break
        mv "/out/inner-$2.console" "/out/bench-$1-$2-$ROUND.crash.console"
    done
    sed -n 's/^INNER: iorate \([a-z]*\) \([0-9]*\) x 4 KiB in \([0-9.]*\) s.*/\1 \2 \3/p' \
        "/out/inner-$2.console" | while read -r _op _n _t; do
        echo "$ROUND $1 inner-$2 ${_op}_per_s $(awk "BEGIN { print $_n / $_t }")"
    done >> "$RESULTS"
    grep -q '^INNER: iorate write' "/out/inner-$2.console" ||
        echo "$ROUND $1 inner-$2 failed 1" >> "$RESULTS"
    mv "/out/inner-$2.console" "/out/bench-$1-$2-$ROUND.console"
}

# The guest IOMMU set: map+unmap round trips through the guest intel-iommu
# (and the same with no device behind it: the qtest protocol's floor),
# then the inner guest's nvme rates with and without the guest IOMMU.
viommu_round() {
    _viommu="-M q35 -device intel-iommu,caching-mode=on"
    for q in $order; do
        qemu_set "$q"
        # shellcheck disable=SC2086
        bench "$q" viommu viommu slot=4 count="$COUNT" -- "$b" $_viommu $QT \
            $(vfio "$VFIO_EDU" 04)
    done
    # shellcheck disable=SC2086
    bench OURS viommu-floor viommu slot=4 count="$COUNT" -- "$OURS" \
        $_viommu $QTEST
    for q in $order; do
        inner_rate "$q" msix
        inner_rate "$q" viommu
    done
}

# The virtio-mem set: QEMU start to the edu's first config read next to a
# 1 GiB virtio-mem device (nothing of it plugged until a guest plugs, so
# nothing of it pinned), and the same start without it.
vmem_round() {
    _vmem="-m 256M,slots=1,maxmem=2G
           -object memory-backend-ram,id=vmem0,size=1G
           -device virtio-mem-pci,memdev=vmem0,block-size=2M"
    for q in $order; do
        qemu_set "$q"
        # shellcheck disable=SC2086
        {
        bench "$q" start-edu start slots=4 -- "$b" -M pc -m 256M $QT \
            $(vfio "$VFIO_EDU" 04)
        bench "$q" start-vmem start slots=4 -- "$b" -M pc $_vmem $QT \
            $(vfio "$VFIO_EDU" 04)
        }
    done
}

# The pinning set (bench/pin.sh): with PIN_MB of guest RAM, QEMU start
# to the edu's first config read and to its first DMA into guest RAM, and
# under strace the maps' span (from the first map ioctl to the end
# of the last), each QEMU of QEMUS in turn, the first one rotating.
pin_round() {
    for q in $(qemus_rotated); do
        qemu_set "$q"
        log=strace-$q-$PIN_MB-$ROUND.log
        # shellcheck disable=SC2086
        {
        bench "$q" start-none start slots=0 -- "$b" -M "$PIN_MACHINE" $QT
        bench "$q" "ready-$PIN_MB" start slots=4 -- "$b" -M "$PIN_MACHINE" \
            -m "${PIN_MB}M" $QT $(vfio "$VFIO_EDU" 04)
        bench "$q" "dma-$PIN_MB" dma slot=4 -- "$b" -M "$PIN_MACHINE" \
            -m "${PIN_MB}M" $QT $(vfio "$VFIO_EDU" 04)
        bench "$q" "strace-$PIN_MB" -s "/run/$log" dma slot=4 -- "$b" \
            -M "$PIN_MACHINE" -m "${PIN_MB}M" $QT $(vfio "$VFIO_EDU" 04)
        }
        keep_ioctls "$log"
        [ -z "${PIN_MEMFD:-}" ] || pin_memfd_cases "$q"
    done
}

# With PIN_MEMFD, the same with guest RAM in a shared memfd
pin_memfd_cases() {
    log=strace-$1-memfd-$PIN_MB-$ROUND.log
    _memfd="-M $PIN_MACHINE,memory-backend=ram0 -m ${PIN_MB}M -object
            memory-backend-memfd,id=ram0,size=${PIN_MB}M,share=on"
    # shellcheck disable=SC2086
    {
    bench "$1" "dma-memfd-$PIN_MB" dma slot=4 -- "$b" $_memfd $QT \
        $(vfio "$VFIO_EDU" 04)
    bench "$1" "strace-memfd-$PIN_MB" -s "/run/$log" dma slot=4 -- "$b" \
        $_memfd $QT $(vfio "$VFIO_EDU" 04)
    }
    keep_ioctls "$log"
}

one_round() {
    if [ "${BENCH_SET:-}" = pin ]; then
        pin_round
        return
    fi
    if [ "${BENCH_SET:-}" = iommufd ]; then
        iommufd_round
        return
    fi
    if [ $((ROUND % 2)) = 1 ]; then
        order="OURS PEER"
    else
        order="PEER OURS"
    fi
    if [ "${BENCH_SET:-}" = viommu ]; then
        viommu_round
        return
    fi
    if [ "${BENCH_SET:-}" = vmem ]; then
        vmem_round
        return
    fi
    if [ "${BENCH_SET:-}" = scale ]; then
        scale_round
        return
    fi
    for q in $order; do
        realize_cases "$q"
    done
    for q in $order; do
        dma_cases "$q"
        huge_cases "$q"
    done
    for q in $order; do
        access_cases "$q"
    done
    raw_cases
}

rig_bind_all
rig_chroot_prepare
case ${BENCH_SET:-} in
viommu|vmem) ;;
scale) scale_setup ;;
*) huge_setup ;;
esac
{
    echo "rig_kernel $(uname -r)"
    echo "rig_cpus $(nproc)"
    echo "rig_cpu $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1)"
    echo "rig_mem_kib $(sed -n 's/^MemTotal: *\([0-9]*\).*/\1/p' /proc/meminfo)"
    echo "rig_thp $(cat /sys/kernel/mm/transparent_hugepage/enabled)"
    echo "rig_hugetlbfs_mib ${HUGE_SIZES:-none}"
    for q in ${QEMUS:-OURS PEER}; do
        qemu_set "$q"
        echo "version_$q $(rig_in_chroot "$b" --version | head -n 1)"
    done
} > /out/machine.txt
: > "$RESULTS"
memory_maps
# Round 0 warms the page cache with every binary; the report skips it.
ROUND=0
for q in ${QEMUS:-OURS PEER}; do
    qemu_set "$q"
    # shellcheck disable=SC2086
    bench "$q" warm-up start slots=0 -- "$b" -M pc $QT
done
ROUND=1
while [ "$ROUND" -le "$ROUNDS" ]; do
    rig_log "round $ROUND of $ROUNDS ($(cut -d' ' -f1 /proc/uptime)s)"
    one_round
    ROUND=$((ROUND + 1))
done
rig_log "done ($(cut -d' ' -f1 /proc/uptime)s)"
if grep -q " failed 1$" "$RESULTS"; then
    rig_log "some runs failed:"
    grep " failed 1$" "$RESULTS"
    exit 1
fi
