#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# usage: scripts/install.sh            install ours in place of Debian's
#        scripts/install.sh --remove   take it out again
#
# Installs this project's qemu-system-x86_64 on a Debian 12 host as the
# package qemu-system-x86-vfio (scripts/package.sh; built first with
# scripts/setup.sh and scripts/build.sh when there is no build yet).
# Debian's binary is diverted to /usr/bin/qemu-system-x86_64.debian and
# comes back with --remove.  libvirt, its AppArmor profiles and anything
# else that runs /usr/bin/qemu-system-x86_64 then run ours.
set -eu

. "$(dirname "$0")/config.sh"

PKG=qemu-system-x86-vfio

die() { echo "install: error: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root (it installs a Debian package)"
case ${1:-} in
--remove)
    dpkg -r "$PKG"
    exit 0 ;;
'') ;;
*) die "usage: scripts/install.sh [--remove]" ;;
esac

if [ ! -x "$QEMU_BUILD/qemu-system-x86_64" ]; then
    "$REPO/scripts/setup.sh"
    "$REPO/scripts/build.sh"
fi
deb=$("$REPO/scripts/package.sh")
# apt, not dpkg: a library ours links that this host lacks comes along
DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$deb"
echo "install: /usr/bin/qemu-system-x86_64 is ours;" \
    "Debian's is /usr/bin/qemu-system-x86_64.debian"
