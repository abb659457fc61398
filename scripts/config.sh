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

BUILD=${VFIO_BUILD:-$REPO/build}
QEMU_TREE=$BUILD/qemu
QEMU_BUILD=$QEMU_TREE/build

PACKAGES="build-essential ninja-build meson pkg-config ccache python3-venv
 libglib2.0-dev libpixman-1-dev zlib1g-dev libfdt-dev flex bison dpkg-dev
 qemu-system-x86 qemu-utils seabios ipxe-qemu
 busybox-static cpio kmod xz-utils python3-sphinx
 strace python3-matplotlib libelf-dev bc swtpm
 libvirt-daemon-system libvirt-clients libepoxy-dev libgbm-dev gdb"
