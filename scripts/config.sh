# SPDX-License-Identifier: GPL-2.0-or-later
# Shared settings for the build, rig and benchmark scripts (sourced).

# Scripts outside scripts/ (e.g. tests/rig/*) set REPO before sourcing this.
REPO=${REPO:-$(cd "$(dirname "$0")/.." && pwd)}

# The QEMU we build against: Debian 12's 7.2, pinned.
QEMU_DEB_VERSION=${QEMU_DEB_VERSION:-1:7.2+dfsg-7+deb12u18}
# The rig guest's kernel (unpacked, never installed).
KERNEL_PKG=${KERNEL_PKG:-linux-image-6.12.117+deb12-amd64}
# The source of the rig kernel that has IOMMUFD, vfio cdevs and mtty
# (tests/rig/build-kernel.sh).
LINUX_SRC_PKG=${LINUX_SRC_PKG:-linux-source-6.12=6.12.118-1~deb12u1}

# Downloads live outside the clone so that reruns are fast; nothing
# relies on them being there.
VFIO_CACHE=${VFIO_CACHE:-/var/cache/vfio-pci-ci}
QEMU_SRC=$VFIO_CACHE/qemu-src
KERNEL_DIR=$VFIO_CACHE/kernel
# Its headers (unpacked, never installed), for the out-of-tree mtty.ko
# (tests/rig/build-mtty.sh)
KERNEL_HEADERS_DIR=$VFIO_CACHE/kernel-headers

# The package of Debian's qemu-system-x86 that scripts/setup.sh fetched
debian_qemu_deb() {
    ls "$VFIO_CACHE"/debian-deb/qemu-system-x86_*.deb 2>/dev/null | head -n 1
}

# Our QEMU's library directory, for its modules (QEMU_LIBDIR/qemu): not
# Debian's /usr/lib/x86_64-linux-gnu, whose qemu/ holds Debian's modules
QEMU_LIBDIR=/usr/lib/x86_64-linux-gnu/qemu-system-x86-vfio
QEMU_MODDIR=$QEMU_LIBDIR/qemu

BUILD=${VFIO_BUILD:-$REPO/build}
QEMU_TREE=$BUILD/qemu
QEMU_BUILD=$QEMU_TREE/build

# What Debian builds its QEMU 7.2 against (the Build-Depends of its
# debian/control for amd64, without the cross compilers of the firmware
# and Xen, which Debian's x86 binary does not use): meson enables a
# feature when its library is there, so these make our features Debian's.
DEBIAN_QEMU_BUILD_DEPS="libcapstone-dev libaio-dev libjack-dev libpulse-dev
 libasound2-dev libbpf-dev libbrlapi-dev libcap-ng-dev libcurl4-gnutls-dev
 libfuse3-dev libgtk-3-dev libvte-2.91-dev libiscsi-dev libvirglrenderer-dev
 libva-dev libdrm-dev libnfs-dev libnuma-dev libcacard-dev librbd-dev
 libglusterfs-dev libsasl2-dev libsdl2-dev libseccomp-dev libslirp-dev
 libspice-server-dev librdmacm-dev libibverbs-dev libibumad-dev liburing-dev
 libusb-1.0-0-dev libusbredirparser-dev libssh-dev libzstd-dev libvdeplug-dev
 libgnutls28-dev libncurses-dev nettle-dev uuid-dev libudev-dev libjpeg-dev
 libpng-dev libpmem-dev"

# pahole: the kbuild of Debian's kernel headers runs it on every module it
# builds (tests/rig/build-mtty.sh), as linux-kbuild's Depends say.
PACKAGES="build-essential ninja-build meson pkg-config ccache python3-venv
 libglib2.0-dev libpixman-1-dev zlib1g-dev libfdt-dev flex bison dpkg-dev
 qemu-system-x86 qemu-utils seabios ipxe-qemu
 busybox-static cpio kmod xz-utils python3-sphinx
 strace python3-matplotlib libelf-dev bc swtpm
 libvirt-daemon-system libvirt-clients libepoxy-dev libgbm-dev gdb
 apparmor qemu-system-gui pahole $DEBIAN_QEMU_BUILD_DEPS"
