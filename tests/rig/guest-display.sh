# SPDX-License-Identifier: GPL-2.0-or-later
# Rig guest step (sourced after guest-lib.sh, guest-inner.sh, rig_bind_all
# and rig_chroot_prepare): the inner guest's real display drivers on what
# our QEMU assigns, read back from screendumps.
#
#   display_vga_tests   the rig's std VGA given to the inner guest, with
#                       x-vga and -vga none: the inner SeaBIOS runs the
#                       VGA BIOS (romfile=: the host's ROM of its boot VGA
#                       is the shadow copy) and its text shows on the rig's
#                       own screen (the rig's QEMU's screendump), then the
#                       inner bochs-drm draws a pattern that shows there
#                       pixel for pixel; again without x-vga, where
#                       bochs-drm still draws (inner-vga.tap; Debian's
#                       boot; the inner kernel is the rig kernel where it
#                       is built, else Debian's)
#   display_vgpu_tests  the rig kernel's mdpy and mbochs vGPUs in one inner
#                       guest (that kernel too), our QEMU on egl-headless
#                       (vgem and Mesa's kms_swrast) for mbochs's
#                       dma-bufs: ramfb shows the inner firmware until
#                       bochs-drm sets the mbochs mode its EDID prefers
#                       (xres/yres: 1024x768, whole pages, which vgem
#                       needs to import a dma-buf); mdpy-fb and bochs-drm
#                       draw, and our QEMU's screendumps of both consoles
#                       are their patterns (inner-vgpu.tap; the rig
#                       kernel's boot)

# Why the dma-buf cases skip unless VFIO_EGL_DMABUF=1: measured in the rig
# kernel's boot, Mesa 22.3 on vgem (its kms_swrast: vgem has no driver of
# its own) brings egl-headless up, then crashes QEMU (SIGSEGV inside Mesa,
# llvmpipe's JIT code or softpipe alike) at the first draw of an imported
# mbochs dma-buf.  mbochs's dma-bufs are read-only, and mmap refuses them,
# so without OpenGL they cannot be shown either.
DISPLAY_NO_EGL="egl-headless on vgem crashes QEMU inside Mesa 22.3 (kms_swrast) at the first draw of an mbochs dma-buf; VFIO_EGL_DMABUF=1 runs it"

# Static: it runs outside the chroot, on the files in /out
DISPLAY_FBP=$RIG_HOST$BUILD/rig/fb-pattern
# The VGA BIOS the rig's QEMU gave its std VGA.  The kernel reads the boot
# VGA's ROM from the copy at 0xc0000 that the rig's firmware ran and
# shrank, which cannot run again: the inner guest gets the pristine one.
DISPLAY_VGABIOS=/usr/share/seabios/vgabios-stdvga.bin

# display_text_save FILE: the rig's own VGA text memory (4000 bytes at
# 0xb8000, block 23 of 32 KiB) to FILE; display_text_load FILE writes it
display_text_save() {
    dd if=/dev/mem bs=32768 skip=23 count=1 2>/dev/null | head -c 4000 > "$1"
}

display_text_load() {
    dd if="$1" of=/dev/mem bs=1 seek=$((23 * 32768)) count=4000 \
        conv=notrunc 2>/dev/null
}

# display_fb_check VARIANT DUMP SEED: the inner guest's framebuffer pattern
# SEED (its "fb drawn" line gives the size) is the screendump DUMP
display_fb_check() {
    cp "$RIG_HOST/run/inner-$1.console" /out/ 2>/dev/null
    _dp_size=$(sed -n "s/.*INNER: fb drawn [a-z]* \([0-9]*x[0-9]*\) seed $3 .*/\1/p" \
               "/out/inner-$1.console" | head -n 1)
    [ -n "$_dp_size" ] || return 1
    "$DISPLAY_FBP" check "$2" "${_dp_size%x*}" "${_dp_size#*x}" "$3"
}

# display_fb_shown VARIANT SEED DUMPER NAME: DUMPER NAME screendumps to
# /out/NAME.ppm until it shows the pattern (a framebuffer reaches the
# screen a moment after the guest drew it: fbdev's deferred I/O), 20 s
display_fb_shown() {
    _dp_try=0
    until "$3" "$4" && display_fb_check "$1" "/out/$4.ppm" "$2"; do
        _dp_try=$((_dp_try + 1))
        [ $_dp_try -lt 10 ] || return 1
        sleep 2
    done
}

# The inner QEMU is stopped by us, not by a crash: it was still there
display_stop_inner() {
    _dp_pid=$(inner_qemu_pid) || return 1
    kill "$_dp_pid"
    wait "$1" || true
}

# display_rig_dump NAME: the rig's QEMU screendumps its VGA to /out/NAME.ppm
display_rig_dump() {
    rig_outer "$1" "{\"execute\": \"screendump\",
                     \"arguments\": {\"filename\": \"@DIR@/$1.ppm\"}}"
}

display_text_check() {
    "$DISPLAY_FBP" text /out/vga-text.ppm /out/vga-text.bin \
        > /out/vga-text.txt && grep -q 'SeaBIOS' /out/vga-text.txt
}

# The rig's text memory shows SeaBIOS's banner (its characters, the
# attributes between them dropped)
display_text_has_seabios() {
    display_text_save /run/text.bin &&
        tr -cd 'A-Za-z0-9 ().-' < /run/text.bin > /run/text.txt &&
        grep -q 'SeaBIOS' /run/text.txt &&
        grep -q 'Press ESC for boot menu' /run/text.txt
}

# Polls the rig's text memory while the inner firmware runs, until its
# banner and its boot menu prompt are there (the prompt stays for 8 s: a
# banner alone may get its next line between the screendump and the
# text); then keeps that text and the rig's screendump of it
display_text_grab() {
    _dp_i=0
    until display_text_has_seabios; do
        _dp_i=$((_dp_i + 1))
        [ $_dp_i -lt 240 ] || return 1
        sleep 0.5
    done
    display_rig_dump vga-text
    display_text_save /out/vga-text.bin
}

# Says whether the host's ROM of the VGA is the pristine VGA BIOS
display_rom_note() {
    _dp_rom=/sys/bus/pci/devices/$VFIO_VGA/rom
    echo 1 > "$_dp_rom" && cat "$_dp_rom" > /run/vga-rom.bin
    echo 0 > "$_dp_rom"
    if head -c "$(wc -c < "$RIG_HOST$DISPLAY_VGABIOS")" /run/vga-rom.bin |
       cmp -s - "$RIG_HOST$DISPLAY_VGABIOS"; then
        rig_tap_note "the host's ROM of $VFIO_VGA is $DISPLAY_VGABIOS"
    else
        rig_tap_note "the host's ROM of $VFIO_VGA ($(wc -c < /run/vga-rom.bin) bytes) is not $DISPLAY_VGABIOS: the shadow copy; romfile= gives that"
    fi
}

display_vga_x() {
    _dp_t="vfio-pci/rig/inner/vga/x-vga"
    display_rom_note
    # Blank first: what the rig's own firmware left must not count
    head -c 4000 /dev/zero > /run/blank.bin
    display_text_load /run/blank.bin
    inner_boot vga-x &
    _dp_bg=$!
    display_text_grab || {
        rig_log "error: no SeaBIOS text on the rig's VGA"
        display_text_save /out/vga-text.bin
    }
    rig_tap "$_dp_t: the rig's screen shows the inner SeaBIOS's text" \
        display_text_check
    rig_tap_note "$(cat /out/vga-text.txt 2>/dev/null)"
    inner_wait_for vga-x '^INNER: fb drawn' "$_dp_bg" ||
        rig_log "error: the inner guest never drew"
    rig_tap "$_dp_t: the inner bochs-drm's pattern is on the rig's screen" \
        display_fb_shown vga-x 5 display_rig_dump vga-x-fb
    rig_tap "$_dp_t: QEMU ran until stopped" display_stop_inner "$_dp_bg"
    cp "$RIG_HOST/run/inner-vga-x.console" /out/ 2>/dev/null || true
}

# Without x-vga bochs-drm works on the BARs alone (that no legacy access
# reaches the host then is the qtest display/vga/off's: the rig's /dev/mem
# shows it).
display_vga_plain() {
    _dp_t="vfio-pci/rig/inner/vga/no-x-vga"
    inner_boot vga &
    _dp_bg=$!
    inner_wait_for vga '^INNER: fb drawn' "$_dp_bg" ||
        rig_log "error: the inner guest never drew"
    rig_tap "$_dp_t: the inner bochs-drm's pattern is on the rig's screen" \
        display_fb_shown vga 5 display_rig_dump vga-fb
    rig_tap "$_dp_t: QEMU ran until stopped" display_stop_inner "$_dp_bg"
    rig_tap "$_dp_t: QEMU gave the guest no legacy VGA range" \
        display_no_vga_trace
    cp "$RIG_HOST/run/inner-vga.console" /out/ 2>/dev/null || true
}

display_no_vga_trace() {
    [ -f /out/inner-vga.trace ] && ! grep -q vfio_vga_setup /out/inner-vga.trace
}

display_notes() {
    for _dp_v in "$@"; do
        rig_tap_note "last 20 lines of the inner console ($_dp_v):"
        rig_tap_note "$(tail -n 20 "/out/inner-$_dp_v.console" 2>/dev/null)"
        rig_tap_note "$(tail -n 5 "/out/inner-$_dp_v.log")"
    done
}

# The x-vga run first: it needs the rig's VGA in text mode (the VGA BIOS
# cannot leave bochs-drm's graphics mode: that takes ports 0x1ce-0x1cf,
# which are no legacy VGA range), and the inner bochs-drm leaves it in a
# graphics mode.  So these come after the qtests too.
display_vga_tests() {
    rig_tap_plan inner-vga.tap 6
    display_vga_x
    display_vga_plain
    [ "$RIG_TAP_FAILED" = 0 ] || display_notes vga-x vga
}

# display_inner_dump ID NAME: our inner QEMU screendumps console ID to
# the chroot's /run/NAME.ppm
display_inner_dump() {
    rig_in_chroot python3 "$REPO/tests/rig/qmp.py" /run/inner-vgpu.qmp \
        screendump "{\"filename\": \"/run/$2.ppm\", \"device\": \"$1\"}" \
        > /dev/null
}

# display_vgpu_dump NAME: vgpu-NAME.ppm of console NAME, in /out
display_vgpu_dump() {
    display_inner_dump "${1#vgpu-}" "$1" &&
        cp "$RIG_HOST/run/$1.ppm" "/out/$1.ppm"
}

# The firmware's screen on ramfb: until the guest's bochs-drm sets a mode,
# mbochs's console shows what SeaBIOS drew there (its banner and its boot
# menu prompt: two rows of text), not the 640x480 "not active"
# placeholder.  Polled while the inner firmware waits at its prompt.
display_ramfb_seen() {
    _dp_i=0
    while [ $_dp_i -lt 120 ]; do
        if display_inner_dump mbochs ramfb &&
           "$DISPLAY_FBP" info "$RIG_HOST/run/ramfb.ppm" > /out/ramfb.txt &&
           ! grep -q '^640x480 ' /out/ramfb.txt &&
           ! grep -q ', [01] text rows' /out/ramfb.txt; then
            cp "$RIG_HOST/run/ramfb.ppm" /out/
            return 0
        fi
        display_inner_said vgpu '^INNER: fb drawn' && return 1
        sleep 1
        _dp_i=$((_dp_i + 1))
    done
    return 1
}

display_inner_said() {
    grep -q "$2" "$RIG_HOST/run/inner-$1.console" 2>/dev/null
}

# display_said_once TEXT: the inner QEMU said TEXT once
display_said_once() {
    [ "$(grep -c "$1" /out/inner-vgpu.log)" = 1 ]
}

display_vgpu_tests() {
    _dp_n=5
    [ "${VFIO_EGL_DMABUF:-}" = 1 ] || _dp_n=6
    rig_tap_plan inner-vgpu.tap $_dp_n
    _dp_t="vfio-pci/rig/inner/vgpu"
    inner_boot vgpu &
    _dp_bg=$!
    sleep 3
    rig_tap "$_dp_t: ramfb shows the inner firmware before bochs-drm" \
        display_ramfb_seen
    rig_tap_note "$(cat /out/ramfb.txt 2>/dev/null)"
    inner_wait_for vgpu '^INNER: fb drawn bochs' "$_dp_bg" ||
        rig_log "error: the inner guest never drew"
    rig_tap "$_dp_t: the guest's bochs-drm prefers xres x yres, 1024x768" \
        grep -q '^INNER: card[0-9]*-[A-Za-z]*-[0-9]*: 1024x768' \
        "$RIG_HOST/run/inner-vgpu.console"
    rig_tap "$_dp_t: mdpy-fb's pattern is mdpy's console (region plane)" \
        display_fb_shown vgpu 11 display_vgpu_dump vgpu-mdpy
    if [ "${VFIO_EGL_DMABUF:-}" = 1 ]; then
        rig_tap "$_dp_t: bochs-drm's pattern is mbochs's console (dma-buf plane)" \
            display_fb_shown vgpu 12 display_vgpu_dump vgpu-mbochs
    else
        rig_tap_skip "$_dp_t: bochs-drm's pattern is mbochs's console (dma-buf plane)" \
            "$DISPLAY_NO_EGL"
        display_vgpu_dump vgpu-mbochs || true
        rig_tap "$_dp_t: without OpenGL, mbochs's plane is refused, said once" \
            display_said_once "its dma-buf cannot be mmap'd: run a display"
    fi
    rig_tap "$_dp_t: QEMU ran until stopped" display_stop_inner "$_dp_bg"
    [ "$RIG_TAP_FAILED" = 0 ] || display_notes vgpu
}
