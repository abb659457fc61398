# SPDX-License-Identifier: GPL-2.0-or-later
#
# How a QEMU tree is prepared, configured and given firmware (sourced by
# scripts/build.sh and bench/build-peer.sh, after scripts/config.sh).  The
# caller sets QEMU_TREE and QEMU_BUILD and defines log and die; both builds
# share these so that they use the same compiler, flags and ccache.

# Configured as Debian configures its qemu-system-x86 (debian/rules of the
# same source package): the same paths, so that an installed binary finds
# Debian's firmware, keymaps and data, and the same features, read from
# debian/control as debian/rules reads them; with the libraries installed
# that Debian builds against, meson's automatic features come out the same.
# Ours differs where a replacement binary must: one target, no docs or
# tools, and its own module directory (QEMU_LIBDIR/qemu): Debian's modules
# are built for Debian's binary and would not load into ours.  Modules,
# as Debian has them, keep the binary's start cheap: built in, GTK, SDL,
# SPICE and the block drivers' libraries (187 in all) were loaded by every
# start, 0.15 s against 0.03 s here and seconds under TCG in the rig.
CONFIGURE_ARGS="--target-list=x86_64-softmmu --meson=meson
    --prefix=/usr --sysconfdir=/etc --libdir=$QEMU_LIBDIR
    --libexecdir=/usr/lib/qemu --localstatedir=/var
    --firmwarepath=/usr/share/qemu:/usr/share/seabios:/usr/lib/ipxe/qemu
    --disable-install-blobs --disable-strip --with-git-submodules=ignore
    --disable-user --disable-linux-user --disable-xen
    --enable-modules --enable-module-upgrades
    --disable-docs --disable-werror --disable-tools"
# What `qemu-system-x86_64 --version` says in parentheses
QEMU_PKGVERSION="Debian $QEMU_DEB_VERSION, vfio-pci replaced"

# Debian's feature options (one or more a line), minus the docs
debian_feature_args() {
    sh "$QEMU_SRC/debian/extract-config-opts" linux-amd64 \
        "$QEMU_SRC/debian/control" | grep -v -x -e '--enable-docs'
}

# QEMU's modules (GTK, SDL, SPICE, the block drivers, TCG, ...), which
# the build puts beside the binary, as ninja names them
module_targets() {
    ninja -C "$QEMU_BUILD" -t targets all | sed -n 's|^\([^/:]*\.so\): .*|\1|p'
}

# Hard links keep the copy cheap; QEMU's files are never edited in place
# (we replace, never write through, so the cache stays pristine).
copy_tree() {
    log "preparing $QEMU_TREE"
    rm -rf "$QEMU_TREE"
    mkdir -p "${QEMU_TREE%/*}"
    cp -al "$QEMU_SRC" "$QEMU_TREE" 2>/dev/null || cp -a "$QEMU_SRC" "$QEMU_TREE"
    rm "$QEMU_TREE/.vfio-pristine"
}

# ccache through Debian's masquerade directory: meson records the compiler
# it finds first on PATH.  Relative paths let every clone share the cache.
use_ccache() {
    [ -d /usr/lib/ccache ] && PATH=/usr/lib/ccache:$PATH
    CCACHE_BASEDIR=$QEMU_TREE
    CCACHE_NOHASHDIR=1
    export PATH CCACHE_BASEDIR CCACHE_NOHASHDIR
}

configure_tree() {
    # shellcheck disable=SC2046
    set -- $CONFIGURE_ARGS $(debian_feature_args) "--with-pkgversion=$QEMU_PKGVERSION"
    stamp="$* $(command -v cc)"
    if [ -f "$QEMU_BUILD/build.ninja" ] &&
       [ "$(cat "$QEMU_BUILD/.vfio-configured" 2>/dev/null)" = "$stamp" ]; then
        return 0
    fi
    log "configuring"
    rm -rf "$QEMU_BUILD"
    mkdir -p "$QEMU_BUILD"
    (cd "$QEMU_BUILD" && ../configure "$@" > configure.log 2>&1) ||
        { tail -30 "$QEMU_BUILD/configure.log"; die "configure failed"; }
    echo "$stamp" > "$QEMU_BUILD/.vfio-configured"
}

# A QEMU run from its build tree looks for firmware in qemu-bundle; the dfsg
# source has none, so use Debian's.
link_firmware() {
    fw=$QEMU_BUILD/qemu-bundle/usr/share/qemu
    mkdir -p "$fw"
    for f in /usr/share/seabios/*.bin /usr/share/qemu/*.bin \
             /usr/share/qemu/*.rom /usr/lib/ipxe/qemu/*.rom; do
        [ -e "$f" ] && ln -sf "$f" "$fw/"
    done
    # VNC's keyboard maps
    [ -d /usr/share/qemu/keymaps ] && ln -sfn /usr/share/qemu/keymaps "$fw/keymaps"
    return 0
}
