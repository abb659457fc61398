#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Builds the inner guest's initramfs, $BUILD/rig/inner-initrd.gz, and links
# the kernel it boots as $BUILD/rig/inner-vmlinuz.  The inner guest is the
# Linux that our QEMU runs inside the rig with the rig's nvme assigned
# (tests/rig/guest-inner.sh).  It gets static busybox, the nvme driver and
# its dependencies (from modules.dep of the same Debian kernel as the rig),
# and an /init that writes a pattern to the disk, drops caches, reads it
# back, checks the nvme interrupts and prints INNER: markers on the serial
# console before it powers off.  Does nothing when the initrd is newer than
# this script.
set -eu

REPO=$(cd "$(dirname "$0")/../.." && pwd)
. "$REPO/scripts/config.sh"
. "$REPO/tests/rig/initrd-lib.sh"

OUT=$BUILD/rig/inner-initrd.gz
# What the inner guest needs to load; their dependencies come first: for
# the nvme (/mods/order), and for the std VGA of the display tests
# (/mods/order-vga: bochs-drm).
WANTED="kernel/drivers/nvme/host/nvme-core.ko.xz
 kernel/drivers/nvme/host/nvme.ko.xz"
WANTED_VGA="kernel/drivers/gpu/drm/tiny/bochs.ko.xz"
WANTED_VMEM="kernel/drivers/virtio/virtio_mem.ko.xz"

log() { echo "make-inner-initrd: $*"; }
die() { echo "make-inner-initrd: error: $*" >&2; exit 1; }


# modules_dep VERSION DIR: writes modules.dep of the unpacked kernel to
# DIR/modules.dep.  The package ships none, and depmod must not write into
# the cache, so it runs on a tree of links.
modules_dep() {
    t=$2/depmod/lib/modules/$1
    mkdir -p "$t"
    for f in "$KERNEL_DIR/lib/modules/$1"/*; do
        ln -s "$f" "$t/"
    done
    depmod -b "$2/depmod" "$1" || die "depmod failed"
    cp "$t/modules.dep" "$2/modules.dep"
    rm -rf "$2/depmod"
}

# load_order DEPFILE MODULES: the modules to insmod, dependencies first,
# each once.  modules.dep lists a module's dependencies nearest first, so
# reverse them.
load_order() {
    for w in $2; do
        deps=$(sed -n "s|^$w: *||p" "$1")
        for d in $deps; do echo "$d"; done | sed -n '1!G;h;$p'
        echo "$w"
    done | awk '!seen[$0]++'
}

write_init() {
    cat <<'EOF'
#!/bin/busybox sh
# The inner guest's /init: exercises the nvme that our vfio-pci assigned.
# inner_irq=msix|intx (kernel command line) says which interrupts to expect.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
echo "INNER: init at $(cut -d' ' -f1 /proc/uptime)s, expecting ${inner_irq:-?} interrupts"
DISK=/dev/nvme0n1
BLOCKS="0 1 2 3 100 1000 4097 16383"
SEED=$(cut -c1-8 /proc/sys/kernel/random/uuid)

# A lost interrupt costs an admin or I/O timeout each: 10 s, not 60 s.
# load_modules [ORDER]: the nvme's, or those of /mods/ORDER
load_modules() {
    for m in $(cat "/mods/${1:-order}"); do
        p=
        [ "$m" = nvme-core.ko ] && p="admin_timeout=10 io_timeout=10"
        insmod "/mods/$m" $p || echo "INNER: insmod $m failed"
    done
}

# The driver polls a command's completion only when it timed out: the
# device completed it, but its interrupt never arrived.
lost_irqs() { dmesg | grep 'nvme.*timeout'; }

# Waits for the disk while the driver probes; gives up at the first lost
# interrupt rather than after the driver's many retries.
wait_disk() {
    load_modules &
    wait_probe
}

wait_probe() {
    i=0
    while [ ! -b $DISK ] && [ $i -lt 120 ]; do
        if lost_irqs > /dev/null; then
            echo "INNER: FAIL: an nvme interrupt was lost while probing:"
            lost_irqs | sed 's/^/INNER: /'
            return 1
        fi
        sleep 1
        i=$((i + 1))
    done
    [ -b $DISK ] || echo "INNER: FAIL: no $DISK after 120 s"
    [ -b $DISK ]
}

# pattern B: 4096 bytes naming block B and this boot's seed.
pattern() {
    i=0
    while [ $i -lt 128 ]; do
        printf '%-31.31s\n' "vfio-pci blk $1 seed $SEED"
        i=$((i + 1))
    done
}

# nvme interrupts so far (one CPU: the count is the second field).
irq_count() { awk '/nvme/ { n += $2 } END { print n + 0 }' /proc/interrupts; }

# sectors_read: field 3 of the disk's stat.
sectors_read() { awk '{ print $3 }' /sys/block/nvme0n1/stat; }

io_test() {
    for b in $BLOCKS; do
        pattern $b > /tmp/pat
        dd if=/tmp/pat of=$DISK bs=4096 seek=$b count=1 conv=fsync 2>/dev/null ||
            { echo "INNER: io FAIL: writing block $b"; return 1; }
    done
    sync
    echo 3 > /proc/sys/vm/drop_caches
    before=$(sectors_read)
    for b in $BLOCKS; do
        pattern $b > /tmp/pat
        dd if=$DISK of=/tmp/got bs=4096 skip=$b count=1 2>/dev/null ||
            { echo "INNER: io FAIL: reading block $b"; return 1; }
        cmp -s /tmp/pat /tmp/got ||
            { echo "INNER: io FAIL: block $b differs: $(head -n 1 /tmp/got)"; return 1; }
    done
    read=$(( $(sectors_read) - before ))
    if [ $read -lt 64 ]; then
        echo "INNER: io FAIL: only $read sectors read from the disk (cache?)"
        return 1
    fi
    set -- $BLOCKS
    echo "INNER: io ok: $# blocks written, caches dropped," \
         "$read sectors read back, all equal (seed $SEED)"
}

irq_test() {
    grep nvme /proc/interrupts | sed 's/^/INNER: irq: /'
    case ${inner_irq:-} in
    msix) want=PCI-MSIX ;;
    intx) want=IO-APIC ;;
    *) echo "INNER: irq FAIL: inner_irq not set"; return 1 ;;
    esac
    if ! grep nvme /proc/interrupts | grep -q "$want"; then
        echo "INNER: irq FAIL: no nvme interrupt on $want"
        return 1
    fi
    if grep nvme /proc/interrupts | grep -q MSI && [ $want = IO-APIC ]; then
        echo "INNER: irq FAIL: nvme uses MSI although MSI is off for it"
        return 1
    fi
    if lost_irqs > /dev/null; then
        echo "INNER: irq FAIL: the driver polled a completion whose interrupt was lost"
        return 1
    fi
    if [ "$2" -le "$1" ]; then
        echo "INNER: irq FAIL: the I/O raised no nvme interrupt ($1 before, $2 after)"
        return 1
    fi
    echo "INNER: irq ok: $want, $1 interrupts before the I/O, $2 after"
}

model() {
    m=/sys/class/nvme/nvme0/model
    [ -r $m ] && echo "INNER: model=$(sed 's/ *$//' $m)"
    return 0
}

# On q35's pcie.0 the assigned nvme is a PCI Express device: 4 KiB of
# config space, extended space included, as the outer rig's kernel has it.
config_test() {
    c=/sys/class/nvme/nvme0/device/config
    size=$(wc -c < $c)
    if [ "$size" != 4096 ]; then
        echo "INNER: config FAIL: $size bytes of config space, not 4096"
        return 1
    fi
    echo "INNER: config ok: $size bytes of config space"
}

# The probed nvme's checks: its model, config space, I/O and interrupts
nvme_checks() {
    model
    config_test || return 1
    n0=$(irq_count)
    io_test || return 1
    irq_test "$n0" "$(irq_count)"
}

# inner_then=intx: after the MSI-X checks the driver lets the nvme go,
# MSI is refused to the device's next driver (msi_bus), and the driver
# takes it again on INTx: our QEMU takes MSI-X down and INTx up under a
# running guest, as a driver reloaded without MSI would have it.  The
# checks after "phase intx" are the intx variant's (guest-inner.sh).
intx_again() {
    d=$(readlink -f /sys/class/nvme/nvme0/device)
    d=${d##*/}
    echo "INNER: phase intx: $d bound again with MSI off"
    echo "$d" > /sys/bus/pci/drivers/nvme/unbind || return 1
    i=0
    # Its disk and its controller's name gone: the rebound one is nvme0 again
    while { [ -b $DISK ] || [ -e /sys/class/nvme/nvme0 ]; } && [ $i -lt 30 ]; do
        sleep 1
        i=$((i + 1))
    done
    echo 0 > "/sys/bus/pci/devices/$d/msi_bus" || return 1
    inner_irq=intx
    echo "$d" > /sys/bus/pci/drivers/nvme/bind || return 1
    wait_probe || { model; return 1; }
    nvme_checks
}

run() {
    wait_disk || { model; return 1; }
    nvme_checks || return 1
    [ "${inner_then:-}" != intx ] || intx_again || return 1
    [ "${inner_vmem:-}" != 1 ] || vmem_steps
}

# inner_mode=mtty: the mtty sample's serial port (8250_pci takes it by its
# 16550 class) loops back what is sent; a counter goes through it line by
# line, each line checked, until QEMU is stopped.  guest-migration.sh
# migrates the guest meanwhile: a line lost or doubled is a FAIL.
mtty_tty() {
    for d in /sys/bus/pci/devices/*; do
        [ "$(cat "$d/vendor")" = 0x4348 ] || continue
        for t in /sys/class/tty/ttyS*; do
            case $(readlink -f "$t") in
            */${d##*/}/*) echo "/dev/${t##*/}"; return 0 ;;
            esac
        done
    done
    return 1
}

mtty_counter() {
    if ! tty=$(mtty_tty); then
        echo "INNER: mtty FAIL: no mtty serial port"
        for d in /sys/bus/pci/devices/*; do
            echo "INNER: ${d##*/} $(cat "$d/vendor" "$d/device" "$d/class")" \
                "$(readlink "$d/driver")"
        done
        ls -l /sys/class/tty/ | grep ttyS
        dmesg | grep -i 'serial\|ttyS\|0000:00:0'
        return 1
    fi
    stty -F "$tty" raw -echo || return 1
    exec 3<>"$tty"
    echo "INNER: mtty port $tty"
    i=1
    while :; do
        echo "$i" >&3
        read -r got <&3 || { echo "INNER: mtty FAIL: no line $i"; return 1; }
        if [ "$got" != "$i" ]; then
            echo "INNER: mtty FAIL: sent $i, got $got"
            return 1
        fi
        [ $((i % 20)) != 0 ] || echo "INNER: mtty counter $i"
        i=$((i + 1))
    done
}

# inner_mode=iorate: the rate of 4 KiB direct reads, then writes (from
# block 8192, past what io_test uses), inner_count of each: bench/viommu.sh
io_rate() {
    wait_disk || return 1
    n=${inner_count:-1024}
    for op in read write; do
        t0=$(cut -d' ' -f1 /proc/uptime)
        if [ $op = read ]; then
            dd if=$DISK of=/dev/null bs=4096 count=$n iflag=direct 2>/dev/null
        else
            dd if=/dev/zero of=$DISK bs=4096 seek=8192 count=$n oflag=direct \
                2>/dev/null
        fi || { echo "INNER: iorate FAIL: $op"; return 1; }
        t1=$(cut -d' ' -f1 /proc/uptime)
        echo "INNER: iorate $op $n x 4 KiB in $(awk "BEGIN { print $t1 - $t0 }") s"
    done
}

# inner_mode=hammer: bar-hammer on the assigned edu (vendor 1234, device
# 11e8): one vCPU hammers its BAR0, the other toggles Memory Space Enable
# inner_count times or for inner_seconds (guest-inner.sh's hammer test;
# -smp 2).
bar_hammer() {
    for d in /sys/bus/pci/devices/*; do
        if [ "$(cat "$d/vendor"):$(cat "$d/device")" = 0x1234:0x11e8 ]; then
            bar-hammer "$d" "${inner_count:-10000}" "${inner_seconds:-60}"
            return
        fi
    done
    echo "INNER: hammer FAIL: no edu device"
    return 1
}

# inner_mode=remove: reads the disk until it leaves (the rig's host
# removes the device; the guest's hot-plug driver lets it go).
remove_io() {
    wait_disk || return 1
    echo "INNER: remove: I/O running"
    i=0
    while [ -b $DISK ]; do
        dd if=$DISK of=/dev/null bs=4096 count=64 iflag=direct 2>/dev/null
        i=$((i + 1))
    done
    echo "INNER: remove: the disk left after $i reads"
    # The rig looks at QEMU's fds meanwhile
    sleep 10
}

# inner_vmem=1: after the nvme's checks the rig's host resizes the
# virtio-mem device (guest-inner.sh); the guest's virtio_mem driver plugs
# and unplugs blocks, the new memory online and movable
# (memhp_default_state).  After each change of MemTotal has settled the
# nvme's I/O passes, a direct read landing in the plugged memory where
# there is some; the guest is done when all has gone again.
mem_total_mib() { awk '/^MemTotal/ { print int($2 / 1024) }' /proc/meminfo; }

# vmem_settle MIB: waits (300 s) until MemTotal has left MIB and stayed put
# for 3 s, dropping the caches meanwhile (what the driver unplugs must be
# free); prints the new MemTotal
vmem_settle() {
    i=0
    last=$1
    still=0
    while [ $i -lt 300 ]; do
        echo 3 > /proc/sys/vm/drop_caches
        now=$(mem_total_mib)
        if [ "$now" != "$1" ] && [ "$now" = "$last" ]; then
            still=$((still + 1))
            [ $still -lt 3 ] || { echo "$now"; return 0; }
        else
            still=0
        fi
        last=$now
        sleep 1
        i=$((i + 1))
    done
    return 1
}

# A read of the nvme DMA'd into a fresh buffer (dma-into), which lands in
# the plugged memory where there is some: what it read is what the page
# cache reads (run's io_test wrote and read back before)
vmem_io() {
    echo 3 > /proc/sys/vm/drop_caches
    dd if=$DISK of=/tmp/want bs=4096 count=256 2>/dev/null &&
        dma-into $DISK 1048576 > /tmp/got 2> /tmp/where &&
        cmp -s /tmp/want /tmp/got || {
        echo "INNER: vmem FAIL: the direct read at $1 MiB: $(cat /tmp/where)"
        return 1
    }
    echo "INNER: vmem: at $1 MiB: io ok, direct read: $(cat /tmp/where)"
}

# Direct reads of the nvme, one a second (more would starve the guest's
# one vCPU) until /tmp/stop: their buffers land in memory being plugged
# and unplugged meanwhile.  Counts in /tmp/reads: "reads failures".
vmem_reader() {
    n=0
    f=0
    while [ ! -e /tmp/stop ]; do
        dd if=$DISK of=/dev/null bs=65536 count=4 iflag=direct 2>/dev/null ||
            f=$((f + 1))
        n=$((n + 1))
        echo "$n $f" > /tmp/reads
        sleep 1
    done
}

# The rig's last resize, to nothing, came after its 192 MiB one (the
# driver says each size it is asked for)
vmem_done() {
    dmesg | grep -q 'requested size: 0xc000000' &&
        [ "$(dmesg | sed -n 's/.*requested size: //p' | tail -n 1)" = 0x0 ]
}

# After run (inner_vmem=1 on the command line): waits for the rig's
# resizes until the plugged memory has come and gone again, the reader
# running all along
vmem_steps() {
    load_modules order-vmem
    # Quiet: the kernel says no more of the caches dropped
    echo 4 > /proc/sys/vm/drop_caches
    base=$(mem_total_mib)
    total=$base
    vmem_reader &
    echo "INNER: vmem: ready, MemTotal $base MiB"
    until [ "$total" -le "$base" ] && vmem_done; do
        if vmem_done && [ "$(mem_total_mib)" -le "$base" ]; then
            # The last resizes came and went while the last round's I/O
            # ran: waiting for MemTotal to leave what it was would hang
            total=$(mem_total_mib)
        else
            total=$(vmem_settle "$total") || {
                echo "INNER: vmem FAIL: MemTotal stayed $(mem_total_mib) MiB"
                return 1
            }
        fi
        vmem_io "$total" || return 1
    done
    touch /tmp/stop
    wait
    read -r n f < /tmp/reads
    echo "INNER: vmem: $n reads beside it all, $f failed"
    # The rig reads QEMU's state meanwhile
    sleep 5
    [ "$f" = 0 ]
}

# inner_mode=soak: write, drop caches, read back and compare, round after
# round, for inner_count seconds (tests/soak.sh plugs a second device in
# and out meanwhile).
soak_io() {
    wait_disk || return 1
    end=$(( $(cut -d. -f1 /proc/uptime) + ${inner_count:-1800} ))
    n=0
    echo "INNER: soak: I/O running"
    while [ "$(cut -d. -f1 /proc/uptime)" -lt $end ]; do
        io_test > /tmp/io.log || { cat /tmp/io.log; return 1; }
        n=$((n + 1))
    done
    echo "INNER: soak: $n rounds, every block read back equal"
}

# fb_named NAME: the framebuffer device whose driver calls it NAME*
fb_named() {
    for f in /sys/class/graphics/fb*; do
        case $(cat "$f/name" 2>/dev/null) in
        "$1"*) echo "/dev/${f##*/}"; return 0 ;;
        esac
    done
    return 1
}

# fb_draw NAME SEED: the pattern on NAME's framebuffer, once it is there
fb_draw() {
    i=0
    while ! fb=$(fb_named "$1"); do
        i=$((i + 1))
        [ $i -lt 60 ] || { echo "INNER: display FAIL: no $1 framebuffer"; return 1; }
        sleep 1
    done
    size=$(fb-pattern draw "$fb" "$2") ||
        { echo "INNER: display FAIL: drawing on $fb"; return 1; }
    # fbdev emulation copies a shadow buffer to the device a moment later
    sleep 2
    echo "INNER: fb drawn $1 $size seed $2 on $fb"
}

# inner_mode=vga: the assigned std VGA: bochs-drm takes the device, fbcon
# lets go of it, and a pattern is drawn for the rig to screendump.
vga_mode() {
    # Debian's kernel has it as a module, the rig kernel built in
    [ -d /sys/bus/pci/drivers/bochs-drm ] || load_modules order-vga
    for c in /sys/class/vtconsole/vtcon*; do
        grep -q 'frame buffer' "$c/name" 2>/dev/null && echo 0 > "$c/bind"
    done
    fb_draw bochs 5 || return 1
    sleep 600
}

# inner_mode=display (the rig kernel, drivers built in): mdpy-fb draws on
# the mdpy vGPU, bochs-drm on the mbochs one, in the mode its EDID prefers.
display_mode() {
    for m in /sys/class/drm/card*-*/modes; do
        m=${m%/modes}
        echo "INNER: ${m#/sys/class/drm/}: $(head -n 1 "$m/modes")"
    done
    fb_draw mdpy 11 && fb_draw bochs 12 || return 1
    sleep 600
}

# verdict CMD: runs CMD, then says PASS or FAIL
verdict() {
    if "$@"; then
        echo "INNER: PASS at $(cut -d' ' -f1 /proc/uptime)s"
    else
        echo "INNER: FAIL at $(cut -d' ' -f1 /proc/uptime)s"
    fi
}

case ${inner_mode:-} in
mtty) mtty_counter ;;
iorate) io_rate ;;
hammer) verdict bar_hammer ;;
vga) vga_mode ;;
display) display_mode ;;
remove) verdict remove_io ;;
soak) verdict soak_io ;;
*) verdict run ;;
esac
poweroff -f
EOF
}

# add_modules VERSION DIR MODULES ORDER: MODULES and their dependencies into
# the initramfs, and the order to load them in into /mods/ORDER
add_modules() {
    for m in $(load_order "$2/modules.dep" "$3"); do
        x=${m##*/}
        [ -f "$2/root/mods/${x%.xz}" ] ||
            xz -dc "$KERNEL_DIR/lib/modules/$1/$m" > "$2/root/mods/${x%.xz}" ||
            die "missing module $m"
        echo "${x%.xz}" >> "$2/root/mods/$4"
    done
}

build() {
    v=$(kernel_version)
    d=$(mktemp -d)
    trap 'rm -rf "$d"' EXIT
    initrd_root "$d/root"
    modules_dep "$v" "$d"
    add_modules "$v" "$d" "$WANTED" order
    add_modules "$v" "$d" "$WANTED_VGA" order-vga
    add_modules "$v" "$d" "$WANTED_VMEM" order-vmem
    write_init > "$d/root"/init
    for t in bar-hammer fb-pattern dma-into; do
        cc -static -O2 -o "$d/root/bin/$t" "$REPO/tests/rig/$t.c" ||
            die "$t does not build"
    done
    # The rig checks screendumps with it
    cp "$d/root/bin/fb-pattern" "${OUT%/*}/fb-pattern"
    initrd_pack "$d/root" "$OUT"
    ln -sf "$KERNEL_DIR/boot/vmlinuz-$v" "${OUT%/*}/inner-vmlinuz"
    log "built $OUT (kernel $v; modules: $(echo $(cat "$d/root/mods/order" "$d/root/mods/order-vga" "$d/root/mods/order-vmem")))"
}

# bar-hammer.c, fb-pattern.c and dma-into.c are in it too
{ initrd_fresh "$OUT" && [ "$OUT" -nt "$REPO/tests/rig/bar-hammer.c" ] &&
  [ "$OUT" -nt "$REPO/tests/rig/fb-pattern.c" ] &&
  [ "$OUT" -nt "$REPO/tests/rig/dma-into.c" ]; } || build
