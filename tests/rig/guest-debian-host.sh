# SPDX-License-Identifier: GPL-2.0-or-later
# Rig guest step (sourced after guest-lib.sh and guest-libvirt.sh, after
# rig_bind_all and rig_chroot_prepare): our QEMU installed on a Debian 12
# host the way Debian ships one, and run by libvirt with Debian's
# qemu.conf, AppArmor on.
#
# The host root (the rig's read-only 9p /host) gets a tmpfs overlay and
# becomes the root of a mount namespace of its own, moved onto its / as
# switch_root does, not a chroot: libvirt builds QEMU's private /dev by
# entering QEMU's mount namespace with setns(), which puts its helper at
# the namespace's root.  Under a chroot that root is the rig's initramfs,
# so the nodes libvirt made went there and QEMU found no /dev/vfio/N.
# In that root scripts/install.sh installs ours in place of Debian's
# binary (the machine's own /usr/bin is never touched), AppArmor's
# profiles are loaded as the apparmor service loads them, and libvirtd
# runs as the system's libvirtd with Debian's qemu.conf (only the default
# network's autostart goes: the rig has no dnsmasq).  Debian's kernel has
# mdev.ko but no mdev device: the kernel's mtty sample, built against its
# headers (tests/rig/build-mtty.sh, DH_MTTY_KO), gives one.
#
#   debian_host_tests   TAP to /out/debian-host.tap; logs in /out/dh-*

DH=/run/dh               # the overlay, as the chroot sees it
DH_PID=                  # the process that holds the namespace
DH_QEMU=/usr/bin/qemu-system-x86_64
DH_PKG=qemu-system-x86-vfio
DH_MIB=256               # each domain's RAM

# dh_run CMD...: CMD in the namespace, with a clean environment
dh_run() {
    nsenter -t "$DH_PID" -m /usr/bin/env -i HOME=/root LANG=C.UTF-8 \
        PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"
}

# The namespace's side (busybox, outside the chroot): the host's API file
# systems on the overlay, then the overlay is moved onto / as switch_root
# does, so that it is what setns() into this namespace finds as its root.
# /tmp stays the overlay's: a clone of this project may live there.
dh_enter_script() {
    cat <<EOF
set -e
R=$RIG_HOST$DH/root
mount -t proc proc \$R/proc
mount -t sysfs sysfs \$R/sys
mount -t securityfs securityfs \$R/sys/kernel/security
mount -t cgroup2 cgroup2 \$R/sys/fs/cgroup
mount -t devtmpfs devtmpfs \$R/dev
mkdir -p \$R/dev/pts \$R/dev/shm \$R/dev/mqueue
mount -t devpts -o newinstance,ptmxmode=0666 devpts \$R/dev/pts
mount -t tmpfs tmpfs \$R/dev/shm
mount -t mqueue mqueue \$R/dev/mqueue
mount -t tmpfs tmpfs \$R/run
cd \$R
mount --move . /
exec chroot . /bin/sh -c 'touch /run/dh-ready && exec sleep infinity'
EOF
}

dh_prepare() {
    if [ -e /proc/modules ] && ! grep -q '^overlay ' /proc/modules; then
        insmod /mods/overlay.ko || return 1
    fi
    mkdir -p "$RIG_HOST$DH"
    rig_mount "$RIG_HOST$DH" -t tmpfs tmpfs
    mkdir -p "$RIG_HOST$DH/upper" "$RIG_HOST$DH/work" "$RIG_HOST$DH/root"
    mount -t overlay overlay -o "lowerdir=$RIG_HOST,upperdir=$RIG_HOST$DH/upper,workdir=$RIG_HOST$DH/work" \
        "$RIG_HOST$DH/root" || return 1
    dh_enter_script > /run/dh-enter.sh
    unshare -m --propagation private sh /run/dh-enter.sh > /out/dh-enter.log 2>&1 &
    DH_PID=$!
    LV_RUN=dh_run
    LV_ROOT=/proc/$DH_PID/root
    _dh_i=0
    until [ -e "$LV_ROOT/run/dh-ready" ]; do
        _dh_i=$((_dh_i + 1))
        [ $_dh_i -lt 60 ] && kill -0 "$DH_PID" 2>/dev/null || return 1
        sleep 1
    done
    # man-db's dpkg trigger indexes every manual page again after each
    # install, a minute or more under TCG: the rig's host does without
    rm -f "$LV_ROOT/var/lib/man-db/auto-update"
}

# dh_install [--remove]: the README's command, in the namespace
dh_install() {
    dh_run sh "$REPO/scripts/install.sh" "$@" >> /out/dh-install.log 2>&1
}

dh_version_is_ours() { dh_run "$DH_QEMU" --version | grep -q 'vfio-pci replaced'; }

dh_installed() {
    dh_version_is_ours &&
        dh_run dpkg-divert --list "$DH_QEMU" | grep -q "by $DH_PKG" &&
        dh_run /usr/bin/qemu-system-x86_64.debian --version | grep -q Debian &&
        ! dh_run /usr/bin/qemu-system-x86_64.debian --version | grep -q 'vfio-pci replaced'
}

# Debian's own package again, as an upgrade would unpack it
dh_reinstall_debian() {
    [ -f "$LV_ROOT$DH_DEBIAN_DEB" ] ||
        { rig_log "error: no Debian qemu-system-x86 package at '$DH_DEBIAN_DEB'"; return 1; }
    dh_run dpkg -i "$DH_DEBIAN_DEB" > /out/dh-upgrade.log 2>&1
}

dh_removed() {
    ! dh_version_is_ours &&
        dh_run "$DH_QEMU" --version | grep -q Debian &&
        ! dh_run dpkg-divert --list "$DH_QEMU" | grep -q . &&
        [ ! -e "$LV_ROOT/usr/bin/qemu-system-x86_64.debian" ]
}

# Debian's qemu.conf, unedited: dpkg's md5 of the conffile
dh_stock_qemu_conf() {
    _dh_sum=$(dh_run dpkg-query -W -f='${Conffiles}\n' libvirt-daemon-system |
              awk '$1 == "/etc/libvirt/qemu.conf" { print $2 }')
    [ -n "$_dh_sum" ] &&
        [ "$(md5sum "$LV_ROOT/etc/libvirt/qemu.conf" | cut -d' ' -f1)" = "$_dh_sum" ]
}

dh_apparmor_on() {
    [ "$(cat /sys/module/apparmor/parameters/enabled 2>/dev/null)" = Y ] ||
        { rig_log "error: AppArmor is off in the rig's kernel"; return 1; }
    dh_run apparmor_parser -r -T /etc/apparmor.d/usr.sbin.libvirtd \
        /etc/apparmor.d/usr.lib.libvirt.virt-aa-helper > /out/dh-apparmor.log 2>&1
}

# dh_label PID: its AppArmor label, "unconfined" or "NAME (enforce)"
dh_label() {
    cat "/proc/$1/attr/apparmor/current" 2>/dev/null || cat "/proc/$1/attr/current"
}

# What udev's rule (50-udev-default.rules) makes of /dev/kvm on a Debian
# host: the kvm group's, libvirt-qemu's group; the rig has no udev
dh_kvm_node() {
    _dh_gid=$(awk -F: '$1 == "kvm" { print $3 }' "$LV_ROOT/etc/group")
    [ -n "$_dh_gid" ] && chgrp "$_dh_gid" /dev/kvm && chmod 0660 /dev/kvm
}

dh_start_daemons() {
    # Before libvirtd probes QEMU: the mtty domain runs on the rig's KVM
    [ "${INNER_ACCEL:-}" != kvm ] || dh_kvm_node || return 1
    # No dnsmasq or firewall in the rig: the default network stays down.
    rm -f "$LV_ROOT"/etc/libvirt/qemu/networks/autostart/*
    dh_run /usr/sbin/virtlogd > /out/dh-virtlogd.log 2>&1 &
    dh_run /usr/sbin/libvirtd > /out/dh-libvirtd.log 2>&1 &
    lv_wait_socket 90
}

dh_libvirtd_confined() {
    dh_label "$(cat "$LV_ROOT/run/libvirtd.pid")" > /run/dh-label
    rig_tap_note "libvirtd's AppArmor label: $(cat /run/dh-label)"
    grep -q '^libvirtd (enforce)' /run/dh-label
}

dh_qemu_pid() { cat "$LV_ROOT/run/libvirt/qemu/$1.pid"; }

dh_uid_of() { awk -F: -v u="$1" '$1 == u { print $3 }' "$LV_ROOT/etc/passwd"; }

# dh_group_of BDF|UUID: the group of a PCI device or of an mdev
dh_group_of() {
    _dh_d=/sys/bus/pci/devices/$1
    [ -e "$_dh_d" ] || _dh_d=/sys/bus/mdev/devices/$1
    basename "$(readlink "$_dh_d/iommu_group")"
}

# QEMU of domain $1 runs as libvirt-qemu, without any capability
dh_qemu_unprivileged() {
    _dh_p=$(dh_qemu_pid "$1") || return 1
    grep -q "^Uid:[[:space:]]*$(dh_uid_of libvirt-qemu)[[:space:]]" "/proc/$_dh_p/status" &&
        grep -q '^CapEff:[[:space:]]*0000000000000000$' "/proc/$_dh_p/status" &&
        grep -q '^CapPrm:[[:space:]]*0000000000000000$' "/proc/$_dh_p/status"
}

# dh_memlock_is DOMAIN BYTES
dh_memlock_is() {
    _dh_p=$(dh_qemu_pid "$1") || return 1
    grep '^Max locked memory' "/proc/$_dh_p/limits" > /run/dh-limit
    rig_tap_note "$(cat /run/dh-limit)"
    grep -q "^Max locked memory[[:space:]]*$2[[:space:]]*$2[[:space:]]*bytes" /run/dh-limit
}

# /dev/vfio/G of BDF or mdev $2: libvirt-qemu's in QEMU's /dev, root's in
# the host's
dh_group_node_owned() {
    _dh_p=$(dh_qemu_pid "$1") || return 1
    _dh_g=$(dh_group_of "$2")
    [ "$(stat -c %u "/proc/$_dh_p/root/dev/vfio/$_dh_g")" = "$(dh_uid_of libvirt-qemu)" ] &&
        [ "$(stat -c %u "/dev/vfio/$_dh_g")" = 0 ]
}

dh_qemu_confined() {
    _dh_p=$(dh_qemu_pid "$1") || return 1
    dh_label "$_dh_p" > /run/dh-label
    rig_tap_note "QEMU's AppArmor label: $(cat /run/dh-label)"
    grep -q '^libvirt-[0-9a-f-]* (enforce)' /run/dh-label
}

# virsh save of domain $1 fails, with the reason our blocker gives
dh_save_refused() {
    if lv_virsh save "$1" "/run/$1.save" > /run/dh-save.err 2>&1; then
        return 1
    fi
    rig_tap_note "$(cat /run/dh-save.err)"
    grep -qF "cannot migrate: its host driver (vfio-pci) does not support VFIO migration" \
        /run/dh-save.err
}

# dh_create NAME: virsh create of /run/NAME.xml (written by the caller);
# virsh's output in /run/dh-NAME.err
dh_create() {
    rig_tap_note "$(cat "$LV_ROOT/run/$1.xml")"
    lv_virsh create "/run/$1.xml" > "/run/dh-$1.err" 2>&1
}

# dh_create_fails NAME TEXT: virsh create fails, saying TEXT
dh_create_fails() {
    if dh_create "$1"; then
        dh_destroy "$1"
        return 1
    fi
    cp "$LV_ROOT/var/log/libvirt/qemu/$1.log" "/out/dh-$1.log" 2>/dev/null
    rig_tap_note "$(cat "/run/dh-$1.err")"
    grep -qF "$2" "/run/dh-$1.err"
}

# dh_write NAME XML...: the domain NAME with the devices XML
dh_write() {
    _dh_n=$1
    shift
    { lv_domain_head "$_dh_n"; printf '%s\n' "$@"; lv_domain_tail; } |
        sed '/^$/d' > "$LV_ROOT/run/$_dh_n.xml"
}

# dh_domain_adds NAME XML: XML in domain NAME's top level, before <vcpu>
dh_domain_adds() {
    awk -v x="$2" '/<vcpu>/ { print "  " x } { print }' \
        "$LV_ROOT/run/$1.xml" > /run/dh-xml && cp /run/dh-xml "$LV_ROOT/run/$1.xml"
}

# The BARs "info pci" lists for the domain's nvme (BAR6: its ROM)
dh_nvme_bars() {
    lv_virsh qemu-monitor-command --hmp "$1" 'info pci' |
        awk '/PCI device 1b36:0010/ { f = 1 } f && /BAR[0-9]:/ { print $1 }
             /id "/ { f = 0 }' > /run/dh-bars
    rig_tap_note "the nvme's BARs: $(tr '\n' ' ' < /run/dh-bars)"
    grep -q '^BAR0:' /run/dh-bars
}

dh_has_rom_bar() { dh_nvme_bars "$1" && grep -q '^BAR6:' /run/dh-bars; }

dh_no_rom_bar() { dh_nvme_bars "$1" && ! grep -q '^BAR6:' /run/dh-bars; }

# dh_device_has NAME TEXT: the first vfio-pci -device of domain NAME has TEXT
dh_device_has() { lv_device_line "$1" | grep -qF "$2"; }

# dh_device_has_all NAME TEXT...
dh_device_has_all() {
    _dh_n=$1
    shift
    for _dh_x in "$@"; do
        dh_device_has "$_dh_n" "$_dh_x" || return 1
    done
}

dh_destroy() {
    lv_virsh destroy "$1" > /dev/null
    cp "$LV_ROOT/var/log/libvirt/qemu/$1.log" "/out/dh-$1.log" 2>/dev/null
    return 0
}

DH_MEMLOCK_ONE=$(((DH_MIB + 1024) * 1024 * 1024))

# A managed nvme with a ROM file (read by QEMU as libvirt-qemu)
dh_managed() {
    _dh_t=vfio-pci/rig/debian-host/managed
    _dh_before=$(lv_driver)
    dh_write dh-nvme "$(lv_hostdev_xml "$VFIO_NVME" "      <rom bar='on' file='$LV_ROMFILE'/>")"
    rig_tap "$_dh_t: virsh create with a managed nvme and <rom file=...>" \
        dh_create dh-nvme
    rig_tap "$_dh_t: QEMU runs as libvirt-qemu with no capabilities" \
        dh_qemu_unprivileged dh-nvme
    rig_tap "$_dh_t: its memlock limit is libvirt's, RAM + 1 GiB" \
        dh_memlock_is dh-nvme "$DH_MEMLOCK_ONE"
    rig_tap "$_dh_t: /dev/vfio/G is libvirt-qemu's in QEMU's /dev, root's in the host's" \
        dh_group_node_owned dh-nvme "$VFIO_NVME"
    rig_tap "$_dh_t: QEMU is confined by its libvirt-UUID profile" \
        dh_qemu_confined dh-nvme
    rig_tap "$_dh_t: query-pci lists 1b36:0010" lv_query_pci_has_nvme dh-nvme
    rig_tap "$_dh_t: -device carries the romfile" \
        dh_device_has dh-nvme "\"romfile\":\"$LV_ROMFILE\""
    rig_tap "$_dh_t: the nvme has the file's ROM BAR" dh_has_rom_bar dh-nvme
    rig_tap "$_dh_t: virsh save is refused with our migration blocker's reason" \
        dh_save_refused dh-nvme
    rig_tap "$_dh_t: virsh reset" lv_virsh reset dh-nvme
    rig_tap "$_dh_t: virsh destroy" dh_destroy dh-nvme
    rig_tap "$_dh_t: the nvme is back on its host driver (${_dh_before:-none})" \
        lv_driver_is "$_dh_before"
}
# ... and its ROM off
dh_memlock() {
    _dh_t=vfio-pci/rig/debian-host/memlock
    dh_write dh-low "$(lv_hostdev_xml "$VFIO_NVME")"
    dh_domain_adds dh-low \
        "<memtune><hard_limit unit='MiB'>$((DH_MIB - 64))</hard_limit></memtune>"
    rig_tap "$_dh_t: a hard_limit below RAM: virsh create fails with our RLIMIT_MEMLOCK message" \
        dh_create_fails dh-low "cannot pin guest RAM for DMA (RLIMIT_MEMLOCK is $(((DH_MIB - 64) * 1024)) KiB"
    dh_write dh-locked "$(lv_hostdev_xml "$VFIO_NVME" "      <rom enabled='no'/>")"
    dh_domain_adds dh-locked "<memoryBacking><locked/></memoryBacking>"
    rig_tap "$_dh_t: <memoryBacking><locked/> starts (and <rom enabled='no'/>)" \
        dh_create dh-locked
    rig_tap "$_dh_t: locked: query-pci lists 1b36:0010" lv_query_pci_has_nvme dh-locked
    rig_tap "$_dh_t: ROM off: -device carries \"romfile\":\"\"" \
        dh_device_has dh-locked '"romfile":""'
    rig_tap "$_dh_t: ROM off: the nvme has no ROM BAR" dh_no_rom_bar dh-locked
    dh_destroy dh-locked
}
dh_hotplug() {
    _dh_t=vfio-pci/rig/debian-host/hotplug
    dh_write dh-hot
    lv_hostdev_xml "$VFIO_NVME" > "$LV_ROOT/run/dh-hostdev.xml"
    rig_tap "$_dh_t: a domain without hostdev starts" dh_create dh-hot
    rig_tap "$_dh_t: virsh attach-device --live of the nvme" \
        lv_virsh attach-device dh-hot /run/dh-hostdev.xml --live
    rig_tap "$_dh_t: libvirt raised QEMU's memlock limit to RAM + 1 GiB" \
        dh_memlock_is dh-hot "$DH_MEMLOCK_ONE"
    rig_tap "$_dh_t: query-pci lists 1b36:0010" lv_query_pci_has_nvme dh-hot
    rig_tap "$_dh_t: virsh detach-device --live" \
        lv_virsh detach-device dh-hot /run/dh-hostdev.xml --live
    dh_destroy dh-hot
}

# The two functions behind the rig's root port share a group
dh_multifunction() {
    _dh_t=vfio-pci/rig/debian-host/multifunction
    dh_write dh-mf \
        "$(lv_hostdev_xml "$VFIO_RP_NIC0" "      <address type='pci' domain='0x0000' bus='0x00' slot='0x07' function='0x0' multifunction='on'/>")" \
        "$(lv_hostdev_xml "$VFIO_RP_NVME" "      <address type='pci' domain='0x0000' bus='0x00' slot='0x07' function='0x1'/>")"
    rig_tap "$_dh_t: both functions of the group in one guest slot" dh_create dh-mf
    dh_destroy dh-mf
    # The nvme function on its host driver, only the NIC given
    rig_bind_vfio unbind "$VFIO_RP_NVME" > /dev/null 2>&1
    rig_nvme_driver
    [ -e "/sys/bus/pci/devices/$VFIO_RP_NVME/driver" ] ||
        echo "$VFIO_RP_NVME" > /sys/bus/pci/drivers/nvme/bind
    dh_write dh-mf1 "$(lv_hostdev_xml "$VFIO_RP_NIC0")"
    rig_tap "$_dh_t: one function given, the other on nvme: our 'not viable' message" \
        dh_create_fails dh-mf1 "is not viable"
    echo "$VFIO_RP_NVME" > /sys/bus/pci/drivers/nvme/unbind 2>/dev/null
    rig_bind_vfio bind "$VFIO_RP_NVME" > /dev/null 2>&1
}

# ... and its ROM BAR hidden, booting from it
dh_viommu() {
    _dh_t=vfio-pci/rig/debian-host/viommu
    for _dh_cm in on off; do
        dh_write "dh-iommu-$_dh_cm" \
            "$(lv_hostdev_xml "$VFIO_NVME" "      <rom bar='off'/><boot order='1'/>")" \
            "$(lv_hostdev_xml "$VFIO_EDU")" \
            "    <iommu model='intel'><driver caching_mode='$_dh_cm'/></iommu>"
    done
    rig_tap "$_dh_t: intel IOMMU with caching_mode='on' and two hostdevs" \
        dh_create dh-iommu-on
    rig_tap "$_dh_t: QEMU runs as libvirt-qemu with no capabilities" \
        dh_qemu_unprivileged dh-iommu-on
    rig_tap "$_dh_t: memlock as libvirt computes it: 2 x RAM + 1 GiB" \
        dh_memlock_is dh-iommu-on $(((2 * DH_MIB + 1024) * 1024 * 1024))
    rig_tap "$_dh_t: query-pci lists 1b36:0010" lv_query_pci_has_nvme dh-iommu-on
    rig_tap "$_dh_t: <rom bar='off'/><boot order='1'/>: -device carries rombar 0, bootindex 1" \
        dh_device_has_all dh-iommu-on '"rombar":0' '"bootindex":1'
    dh_destroy dh-iommu-on
    rig_tap "$_dh_t: caching_mode='off': our message" \
        dh_create_fails dh-iommu-off "must have caching-mode=on"
}
DH_MTTY_UUID=6b1f3b0e-8c2d-4f5a-9e7b-1d2c3e4f5a01
DH_MTTY_SAVE=/var/lib/libvirt/qemu/save/dh-mtty.save
DH_MTTY_CONSOLE=/var/log/libvirt/qemu/dh-mtty.console

# The kernel's mtty sample on Debian's kernel (tests/rig/build-mtty.sh
# built it against its headers: DH_MTTY_KO), and an instance of it
dh_mtty_setup() {
    [ -n "${DH_MTTY_KO:-}" ] ||
        { rig_tap_note "no mtty.ko: tests/rig/build-mtty.sh did not build it"; return 1; }
    grep -q '^mdev ' /proc/modules || insmod /mods/mdev.ko || return 1
    grep -q '^mtty ' /proc/modules || insmod "/host$DH_MTTY_KO" || return 1
    [ -d "/sys/bus/mdev/devices/$DH_MTTY_UUID" ] ||
        echo "$DH_MTTY_UUID" > /sys/class/mdev_bus/mtty/mdev_supported_types/mtty-1/create
}

# The inner guest (make-inner-initrd.sh's inner_mode=mtty: a counter sent
# through the mtty's serial port and checked as it loops back), booted
# from copies in libvirt's images directory, its console appended to a
# file that outlives a save and restore; on the rig's KVM where the inner
# guests run there
dh_mtty_xml() {
    dh_run cp -L "$BUILD/rig/inner-vmlinuz" "$BUILD/rig/inner-initrd.gz" \
        /var/lib/libvirt/images/ || return 1
    _dh_type=qemu
    [ "${INNER_ACCEL:-}" != kvm ] || _dh_type=kvm
    cat > "$LV_ROOT/run/dh-mtty.xml" <<EOF
<domain type='$_dh_type'>
  <name>dh-mtty</name>
  <memory unit='MiB'>$DH_MIB</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='q35'>hvm</type>
    <kernel>/var/lib/libvirt/images/inner-vmlinuz</kernel>
    <initrd>/var/lib/libvirt/images/inner-initrd.gz</initrd>
    <cmdline>console=ttyS0 panic=-1 no_timer_check inner_mode=mtty</cmdline>
  </os>
  <devices>
    <emulator>$LV_QEMU</emulator>
    <serial type='file'>
      <source path='$DH_MTTY_CONSOLE' append='on'/>
      <target port='0'/>
    </serial>
    <hostdev mode='subsystem' type='mdev' model='vfio-pci'>
      <source><address uuid='$DH_MTTY_UUID'/></source>
    </hostdev>
  </devices>
</domain>
EOF
}

# The last counter line of the console, 0 before the first
dh_mtty_counter() {
    sed -n 's/^INNER: mtty counter \([0-9]*\).*/\1/p' "$LV_ROOT$DH_MTTY_CONSOLE" \
        2>/dev/null | tail -n 1 | grep . || echo 0
}

# dh_mtty_counts_to COUNT SECONDS: the console reaches COUNT, with no line
# lost or doubled (the guest says FAIL at the first).  The inner kernel's
# rare early crash under TCG in TCG (guest-inner.sh's inner_early_crash)
# reboots the domain, libvirt's default: its count starts later.
dh_mtty_counts_to() {
    _dh_end=$(($(date +%s) + $2))
    while [ "$(date +%s)" -lt "$_dh_end" ]; do
        ! grep -q '^INNER: mtty FAIL' "$LV_ROOT$DH_MTTY_CONSOLE" 2>/dev/null ||
            return 1
        [ "$(dh_mtty_counter)" -lt "$1" ] || return 0
        sleep 1
    done
    return 1
}

# The guest's boots so far (its /init's first line)
dh_mtty_boots() { grep -c '^INNER: init at' "$LV_ROOT$DH_MTTY_CONSOLE" 2>/dev/null; }

# dh_mtty_goes_on COUNT BOOTS: the count passes COUNT in the same boot
dh_mtty_goes_on() {
    dh_mtty_counts_to "$1" 300 && [ "$(dh_mtty_boots)" = "$2" ]
}

dh_mtty_save() {
    lv_virsh save dh-mtty "$DH_MTTY_SAVE" > /run/dh-save.err 2>&1 ||
        { rig_tap_note "$(cat /run/dh-save.err)"; return 1; }
}

# An mdev hostdev, confined, non-root; saved mid-count and restored
dh_mdev() {
    _dh_t=vfio-pci/rig/debian-host/mdev
    rig_tap "$_dh_t: an mtty instance on Debian's kernel (the sample built against its headers)" \
        dh_mtty_setup
    dh_mtty_xml
    rig_tap "$_dh_t: virsh create with an mtty <hostdev type='mdev'>" \
        dh_create dh-mtty
    rig_tap "$_dh_t: QEMU runs as libvirt-qemu with no capabilities" \
        dh_qemu_unprivileged dh-mtty
    rig_tap "$_dh_t: QEMU is confined by its libvirt-UUID profile" \
        dh_qemu_confined dh-mtty
    rig_tap "$_dh_t: the mdev's /dev/vfio/G is libvirt-qemu's in QEMU's /dev, root's in the host's" \
        dh_group_node_owned dh-mtty "$DH_MTTY_UUID"
    rig_tap "$_dh_t: the guest counts through the mtty's serial port" \
        dh_mtty_counts_to 100 "$INNER_TIMEOUT"
    rig_tap "$_dh_t: virsh save mid-count (at $(dh_mtty_counter))" dh_mtty_save
    _dh_last=$(dh_mtty_counter)
    _dh_boots=$(dh_mtty_boots)
    rig_tap "$_dh_t: virsh restore" lv_virsh restore "$DH_MTTY_SAVE"
    rig_tap "$_dh_t: the counter goes on past $_dh_last, no line lost or doubled" \
        dh_mtty_goes_on $((_dh_last + 100)) "$_dh_boots"
    rig_tap_note "$(grep '^INNER: ' "$LV_ROOT$DH_MTTY_CONSOLE" 2>/dev/null | tail -n 5)"
    rig_tap "$_dh_t: virsh destroy" dh_destroy dh-mtty
    cp "$LV_ROOT$DH_MTTY_CONSOLE" /out/dh-mtty.console 2>/dev/null
    rm -f "$LV_ROOT$DH_MTTY_SAVE"
}

# Our own message when the node is missing from a private /dev
dh_missing_node() {
    rig_in_chroot unshare -m sh -c 'mount -t tmpfs tmpfs /dev/vfio &&
        exec "$0" -M q35 -accel tcg -nodefaults -display none \
            -device vfio-pci,host="$1"' "$LV_QEMU" "$VFIO_EDU" \
        > /run/dh-missing.err 2>&1
    rig_tap_note "$(cat /run/dh-missing.err)"
    grep -qF "$VFIO_EDU is bound to vfio-pci, but /dev/vfio/" /run/dh-missing.err &&
        grep -qF "is not in this process's /dev" /run/dh-missing.err
}

# Every denial is kept in the log; QEMU's (its libvirt-UUID profile) fail
dh_no_denials() {
    dmesg | grep 'apparmor="DENIED"' > /out/dh-denied.log
    grep 'profile="libvirt-' /out/dh-denied.log > /run/dh-denied
    rig_tap_note "$(head -n 20 /out/dh-denied.log)"
    [ ! -s /run/dh-denied ]
}

dh_stop_daemons() {
    kill "$(cat "$LV_ROOT/run/libvirtd.pid")" "$(cat "$LV_ROOT/run/virtlogd.pid")" \
        2>/dev/null
    sleep 1
}

debian_host_tests() {
    rig_tap_plan debian-host.tap 54
    _dh_top=vfio-pci/rig/debian-host
    _dh_start=$(cut -d. -f1 /proc/uptime)
    rig_tap "$_dh_top: a private /dev without the group's node: our message says so" \
        dh_missing_node
    rig_bind_vfio unbind "$VFIO_NVME"
    rig_tap "$_dh_top: Debian's root, writable, as the root of its own mount namespace" \
        dh_prepare || return 0
    rig_tap "$_dh_top: scripts/install.sh installs ours" dh_install
    rig_tap "$_dh_top: /usr/bin/qemu-system-x86_64 is ours, Debian's diverted beside it" \
        dh_installed
    rig_tap "$_dh_top: Debian's qemu-system-x86 unpacked again (an upgrade)" \
        dh_reinstall_debian
    rig_tap "$_dh_top: after it, ours is still in place" dh_installed
    rig_tap "$_dh_top: /etc/libvirt/qemu.conf is Debian's, unedited" dh_stock_qemu_conf
    rig_tap "$_dh_top: AppArmor loads Debian's libvirtd and virt-aa-helper profiles" \
        dh_apparmor_on
    rig_tap "$_dh_top: libvirtd starts" dh_start_daemons
    rig_tap "$_dh_top: libvirtd is confined by its profile" dh_libvirtd_confined
    LV_QEMU=$DH_QEMU
    rig_tap "$_dh_top: domcapabilities of /usr/bin/qemu-system-x86_64 offer hostdev pci/vfio" \
        lv_domcaps_hostdev
    dh_managed
    dh_memlock
    dh_hotplug
    dh_viommu
    dh_mdev
    rig_tap "$_dh_top: the kernel logged no apparmor=\"DENIED\" for QEMU" dh_no_denials
    # Last: the refusal's message looks for the group's devices in sysfs,
    # which the domain's profile denies (the message says so)
    dh_multifunction
    dh_stop_daemons
    rig_tap "$_dh_top: scripts/install.sh --remove" dh_install --remove
    rig_tap "$_dh_top: Debian's binary is back, no diversion left" dh_removed
    kill "$DH_PID"
    rig_tap_note "the Debian host's tests took $(($(cut -d. -f1 /proc/uptime) - _dh_start)) s"
    LV_QEMU=$BUILD/qemu/build/qemu-system-x86_64
    LV_RUN=rig_in_chroot
    LV_ROOT=$RIG_HOST
    rig_bind_vfio bind "$VFIO_NVME"
}
