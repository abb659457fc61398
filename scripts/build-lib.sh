# SPDX-License-Identifier: GPL-2.0-or-later
#
# How a QEMU tree is prepared, configured and given firmware (sourced by
# scripts/build.sh and bench/build-peer.sh, after scripts/config.sh).  The
# caller sets QEMU_TREE and QEMU_BUILD and defines log and die; both builds
# share these so that they use the same compiler, flags and ccache.

CONFIGURE_ARGS="--target-list=x86_64-softmmu --meson=meson
    --without-default-features --enable-kvm --enable-tcg --enable-tpm
    --enable-vnc --enable-opengl
    --disable-docs --disable-werror --disable-tools"

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
    stamp="$CONFIGURE_ARGS $(command -v cc)"
    if [ -f "$QEMU_BUILD/build.ninja" ] &&
       [ "$(cat "$QEMU_BUILD/.vfio-configured" 2>/dev/null)" = "$stamp" ]; then
        return 0
    fi
    log "configuring"
    rm -rf "$QEMU_BUILD"
    mkdir -p "$QEMU_BUILD"
    # shellcheck disable=SC2086
    (cd "$QEMU_BUILD" && ../configure $CONFIGURE_ARGS > configure.log 2>&1) ||
        { tail -30 "$QEMU_BUILD/configure.log"; die "configure failed"; }
    echo "$stamp" > "$QEMU_BUILD/.vfio-configured"
}

# A QEMU run from its build tree looks for firmware in qemu-bundle; the dfsg
# source has none, so use Debian's.
link_firmware() {
    fw=$QEMU_BUILD/qemu-bundle/usr/local/share/qemu
    mkdir -p "$fw"
    for f in /usr/share/seabios/*.bin /usr/share/qemu/*.bin \
             /usr/share/qemu/*.rom /usr/lib/ipxe/qemu/*.rom; do
        [ -e "$f" ] && ln -sf "$f" "$fw/"
    done
    # VNC's keyboard maps
    [ -d /usr/share/qemu/keymaps ] && ln -sfn /usr/share/qemu/keymaps "$fw/keymaps"
    return 0
}
