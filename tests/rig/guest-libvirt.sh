# SPDX-License-Identifier: GPL-2.0-or-later
# Rig guest step (sourced after guest-lib.sh and rig_bind_all,
# rig_chroot_prepare): Debian's libvirtd, run in the chroot with its state
# on tmpfs and a qemu.conf of its own (QEMU as root), uses our
# qemu-system-x86_64 as a domain's emulator; and the helpers that write
# domains and read back what libvirt made of them, which
# guest-debian-host.sh uses with Debian's own qemu.conf.
#
#   libvirt_mdev_display_tests  TAP to /out/libvirt-mdev-display.tap: an
#                   mbochs vGPU with display and ramfb (the rig kernel's boot)

LV_QEMU=$BUILD/qemu/build/qemu-system-x86_64
LV_ROMFILE=/usr/lib/ipxe/qemu/pxe-e1000e.rom

# How libvirt's commands run and where their root is, as the rig sees it:
# the rig's chroot here; guest-debian-host.sh points both at its own root.
LV_RUN=rig_in_chroot
LV_ROOT=$RIG_HOST

# A virsh that hangs (libvirtd, or a QEMU that never answers it) fails its
# test after LV_TIMEOUT seconds, not the whole boot at the rig's timeout.
LV_TIMEOUT=300
lv_virsh() { $LV_RUN timeout "$LV_TIMEOUT" virsh -c qemu:///system "$@"; }

# lv_tmpfs DIR: an empty (or, with "copy", a copied) writable DIR in the chroot.
lv_tmpfs() {
    if [ "${2:-}" = copy ]; then
        rm -rf "/run/lv-copy" && cp -a "$RIG_HOST$1" /run/lv-copy
    fi
    rig_mount "$RIG_HOST$1" -t tmpfs tmpfs
    if [ "${2:-}" = copy ]; then
        cp -a /run/lv-copy/. "$RIG_HOST$1/" && rm -rf /run/lv-copy
    fi
}

# No cgroups, namespaces, security labels or QEMU user in the rig.
lv_write_qemu_conf() {
    cat > "$RIG_HOST/etc/libvirt/qemu.conf" <<'EOF'
cgroup_controllers = [ ]
namespaces = [ ]
security_driver = "none"
user = "root"
group = "root"
remember_owner = 0
stdio_handler = "file"
EOF
}

lv_start_daemon() {
    lv_tmpfs /etc/libvirt copy
    lv_tmpfs /var/lib/libvirt
    lv_tmpfs /var/log/libvirt
    lv_tmpfs /var/cache/libvirt
    mkdir -p "$RIG_HOST/var/log/libvirt/qemu"
    # No dnsmasq in the rig: don't autostart the default network.
    rm -f "$RIG_HOST"/etc/libvirt/qemu/networks/autostart/*
    lv_write_qemu_conf
    rig_in_chroot libvirtd --pid-file /run/libvirtd.pid \
        > /out/libvirt-libvirtd.log 2>&1 &
    lv_wait_socket 60
}

# lv_wait_socket SECONDS: until libvirtd (under LV_ROOT) takes connections
lv_wait_socket() {
    _lv_i=0
    until [ -S "$LV_ROOT/run/libvirt/libvirt-sock" ]; do
        _lv_i=$((_lv_i + 1))
        [ $_lv_i -lt "$1" ] || return 1
        sleep 1
    done
}

lv_stop_daemon() {
    [ -f "$RIG_HOST/run/libvirtd.pid" ] && kill "$(cat "$RIG_HOST/run/libvirtd.pid")"
    return 0
}

# Prints the <hostdev> section of domcapabilities: it must offer PCI
# subsystem devices with the vfio backend.
lv_domcaps_hostdev() {
    lv_virsh domcapabilities --emulatorbin "$LV_QEMU" --virttype qemu \
        --machine q35 > /out/libvirt-domcaps.xml || return 1
    sed -n "/<hostdev supported='yes'>/,/<\/hostdev>/p" /out/libvirt-domcaps.xml |
        tr -d ' \n' > /run/lv-hostdev
    grep -q "<enumname='subsysType'>.*<value>pci</value>" /run/lv-hostdev &&
        grep -q "<enumname='pciBackend'>.*<value>vfio</value>" /run/lv-hostdev
}

# lv_domain_head NAME: a domain's XML up to its first device
lv_domain_head() {
    cat <<EOF
<domain type='qemu'>
  <name>$1</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='q35'>hvm</type></os>
  <devices>
    <emulator>$LV_QEMU</emulator>
EOF
}

# lv_hostdev_xml BDF [XML]: a managed PCI <hostdev> of the host's BDF,
# with XML (e.g. <rom/>, <address/>) inside it
lv_hostdev_xml() {
    _lv_bdf=${1#*:}     # BB:DD.F
    _lv_slot=${_lv_bdf#*:}
    cat <<EOF
    <hostdev mode='subsystem' type='pci' managed='yes'>
      <source>
        <address domain='0x0000' bus='0x${_lv_bdf%%:*}'
                 slot='0x${_lv_slot%.*}' function='0x${_lv_bdf##*.}'/>
      </source>
${2:-}
    </hostdev>
EOF
}

lv_domain_tail() { printf '  </devices>\n</domain>\n'; }

lv_driver() {
    _lv_d=/sys/bus/pci/devices/$VFIO_NVME/driver
    [ -e "$_lv_d" ] && basename "$(readlink "$_lv_d")"
    return 0
}

lv_driver_is() { [ "$(lv_driver)" = "$1" ]; }

# lv_device_line NAME: the vfio-pci -device argument libvirt gave QEMU.
lv_device_line() {
    grep -o "\-device '{\"driver\":\"vfio-pci\"[^']*}'" \
        "$LV_ROOT/var/log/libvirt/qemu/$1.log" 2>/dev/null | head -n 1
}

# query-pci has a device whose id is 1b36:0010 (6966:16).
lv_query_pci_lists_nvme() {
    lv_virsh qemu-monitor-command "$1" '{"execute":"query-pci"}' > "$2" &&
        tr -d ' \n' < "$2" | grep -o '"id":{[^}]*}' |
        grep '"vendor":6966[,}]' | grep -q '"device":16[,}]'
}

# query-pci lists a device behind a root port only once the guest's
# firmware has numbered the port's secondary bus, which under TCG in TCG
# can take a while after start: ask for up to 60 s.
lv_query_pci_has_nvme() {
    _lv_json=/out/libvirt-$1.query-pci.json
    _lv_i=0
    until lv_query_pci_lists_nvme "$1" "$_lv_json"; do
        _lv_i=$((_lv_i + 1))
        [ "$_lv_i" -lt 60 ] || return 1
        sleep 1
    done
}

# An mdev vGPU with a screen, as libvirt 9.0 writes it: the mbochs mdev of
# the rig kernel's boot (VFIO_MBOCHS) with display and ramfb, and VNC for
# the screen.  libvirt must take our binary's vfio-pci-nohotplug, and our
# screendump of the domain shows the ramfb's boot screen.
lv_mdev_xml() {
    lv_domain_head "$1"
    cat <<EOF2
    <graphics type='vnc' socket='/run/lv-vnc.sock'/>
    <video><model type='none'/></video>
    <hostdev mode='subsystem' type='mdev' model='vfio-pci' display='on' ramfb='on'>
      <source><address uuid='$VFIO_MBOCHS'/></source>
    </hostdev>
  </devices>
</domain>
EOF2
}

lv_mdev_device_has() {
    grep -o "\-device '{\"driver\":\"vfio-pci-nohotplug\"[^']*}'" \
        "$RIG_HOST/var/log/libvirt/qemu/$1.log" > /run/lv-device &&
        grep -qF '"display":"on"' /run/lv-device &&
        grep -qF '"ramfb":true' /run/lv-device
}

# The domain's screen (our console: QMP screendump through virsh) is not
# all one colour
lv_screen_drawn() {
    _lv_i=0
    while [ $_lv_i -lt 60 ]; do
        lv_virsh qemu-monitor-command "$1" '{"execute": "screendump",
            "arguments": {"filename": "/run/lv-screen.ppm"}}' \
            > /out/libvirt-screenshot.log 2>&1 &&
            "$DISPLAY_FBP" info "$RIG_HOST/run/lv-screen.ppm" > /out/libvirt-screen.txt &&
            grep -q 'more colours' /out/libvirt-screen.txt &&
            ! grep -q '^640x480 ' /out/libvirt-screen.txt && return 0
        sleep 2
        _lv_i=$((_lv_i + 1))
    done
    return 1
}

libvirt_mdev_display_tests() {
    rig_tap_plan libvirt-mdev-display.tap 5
    _lv_t="vfio-pci/rig/libvirt/mdev-display"
    rig_tap "$_lv_t: libvirtd starts in the rig kernel's boot" lv_start_daemon
    lv_mdev_xml vgpu | sed '/^$/d' > "$RIG_HOST/run/vgpu.xml"
    rig_tap_note "domain XML:"
    rig_tap_note "$(cat "$RIG_HOST/run/vgpu.xml")"
    rig_tap "$_lv_t: virsh create starts the domain with display='on' ramfb='on'" \
        lv_virsh create /run/vgpu.xml
    rig_tap_note "libvirt generated: $(grep -o "\-device '{\"driver\":\"vfio-pci-nohotplug\"[^']*}'" \
        "$RIG_HOST/var/log/libvirt/qemu/vgpu.log" 2>/dev/null)"
    rig_tap "$_lv_t: -device vfio-pci-nohotplug with display on and ramfb" \
        lv_mdev_device_has vgpu
    rig_tap "$_lv_t: the domain's screen shows its firmware (ramfb)" \
        lv_screen_drawn vgpu
    rig_tap_note "$(cat /out/libvirt-screen.txt /out/libvirt-screenshot.log 2>/dev/null)"
    rig_tap "$_lv_t: virsh destroy stops the domain" lv_virsh destroy vgpu
    cp "$RIG_HOST/var/log/libvirt/qemu/vgpu.log" /out/libvirt-vgpu.log || true
    cp /out/libvirt-libvirtd.log /out/libvirt-mdev-libvirtd.log 2>/dev/null || true
    lv_stop_daemon
}
