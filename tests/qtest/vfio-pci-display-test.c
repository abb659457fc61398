/*
 * QTest cases for vfio-pci's legacy VGA (x-vga) and display (display=,
 * xres/yres, vfio-pci-nohotplug's ramfb), against real kernel VFIO in the
 * rig (tests/rig): the rig's std VGA (1234:1111, VGA class, bound to
 * vfio-pci as VFIO_VGA) for x-vga; the rig kernel's mdpy (region planes)
 * and mbochs (dma-buf planes, an EDID region) samples for display=on,
 * named by VFIO_MDPY and VFIO_MBOCHS (mdev UUIDs).
 *
 * What each case draws, it reads back with QMP's screendump, pixel by
 * pixel.  Real drivers (SeaBIOS's VGA BIOS, bochs-drm, mdpy-fb) draw in
 * the inner guest's tests (tests/rig/guest-display.sh).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/error.h"
#include "qapi/qmp/qjson.h"
#include "qemu/bswap.h"
#include "vfio-pci-util.h"

#define VGA_TEXT        0xb8000ULL
#define VGA_GR_INDEX    0x3ce

/* The bochs dispi registers in the MMIO BAR (BAR2) of std VGA and mbochs */
#define DISPI_MMIO      0x500
#define DISPI_XRES      1
#define DISPI_YRES      2
#define DISPI_BPP       3
#define DISPI_ENABLE    4
#define DISPI_VIRT_W    6
#define DISPI_ENABLED   0x01
#define DISPI_LFB       0x40

/* An EDID's first detailed timing: the preferred mode */
#define EDID_DTD        54

static char *mdev_path(const char *var)
{
    const char *uuid = rig_device(var);

    return uuid ? g_strdup_printf("/sys/bus/mdev/devices/%s", uuid) : NULL;
}

/* device_add of the device @json describes; the reply, for unref */
static QDict *device_add_json(QTestState *qts, const char *json)
{
    QDict *args = qobject_to(QDict, qobject_from_json(json, &error_abort));

    return qtest_qmp(qts, "{'execute': 'device_add', 'arguments': %p}",
                     args);
}

/* device_add of @json's device must fail saying @needle; QEMU runs on. */
static void device_add_refused(QTestState *qts, const char *json,
                               const char *needle)
{
    qmp_error_says(device_add_json(qts, json), "device_add", needle);
    assert_qemu_alive(qts);
}

/*
 * Screendumps
 */
typedef struct Picture {
    int width, height;
    uint8_t *rgb;                 /* rows of width * 3 bytes */
    uint8_t *file;
} Picture;

/* QMP screendump of the console of device @id, read back as RGB */
static void screendump(QTestState *qts, const char *id, Picture *pic)
{
    g_autofree char *path = test_log_path("screendump");
    char *p, *end;
    gsize len;

    qtest_qmp_assert_success(qts, "{'execute': 'screendump', 'arguments': "
                             "{'filename': %s, 'device': %s}}", path, id);
    g_assert_true(g_file_get_contents(path, (char **)&pic->file, &len,
                                      NULL));
    unlink(path);
    /* P6, width, height, 255, one whitespace, then the pixels */
    g_assert_true(len > 2 && !memcmp(pic->file, "P6", 2));
    p = (char *)pic->file + 2;
    pic->width = strtol(p, &end, 10);
    pic->height = strtol(end, &end, 10);
    g_assert_cmpint(strtol(end, &end, 10), ==, 255);
    pic->rgb = (uint8_t *)end + 1;
    g_assert_cmpuint(len, ==, (pic->rgb - pic->file) +
                     (gsize)pic->width * pic->height * 3);
    g_test_message("screendump of %s: %dx%d", id, pic->width, pic->height);
}

/* What the tests draw: every pixel its own colour, as XRGB8888 */
static uint32_t pattern(int x, int y, uint32_t seed)
{
    return ((x * 5 + y + seed) & 0xff) << 16 | ((y * 3 + seed) & 0xff) << 8 |
           ((x ^ y) & 0xff);
}

/* Draws the pattern into @bar at @offset, @stride bytes a row. */
static void draw(QPCIDevice *dev, QPCIBar bar, uint64_t offset, int width,
                 int height, int stride, uint32_t seed)
{
    g_autofree uint32_t *row = g_new(uint32_t, width);
    int x, y;

    for (y = 0; y < height; y++) {
        for (x = 0; x < width; x++) {
            row[x] = cpu_to_le32(pattern(x, y, seed));
        }
        qpci_memwrite(dev, bar, offset + (uint64_t)y * stride, row,
                      width * 4);
    }
}

/* The screendump is the pattern, pixel for pixel. */
static void assert_pattern(Picture *pic, int width, int height, uint32_t seed)
{
    int x, y, bad = 0;

    g_assert_cmpint(pic->width, ==, width);
    g_assert_cmpint(pic->height, ==, height);
    for (y = 0; y < height; y++) {
        for (x = 0; x < width; x++) {
            uint8_t *px = pic->rgb + (y * width + x) * 3;
            uint32_t got = px[0] << 16 | px[1] << 8 | px[2];

            if (got != pattern(x, y, seed) && !bad++) {
                g_test_message("first difference at %d,%d: 0x%06x, not "
                               "0x%06x", x, y, got, pattern(x, y, seed));
            }
        }
    }
    g_assert_cmpint(bad, ==, 0);
    g_free(pic->file);
}

/*
 * Legacy VGA: the rig's std VGA with x-vga=on, in the boot of Debian's
 * kernel (CONFIG_VFIO_PCI_VGA=y, as users have it).  The rig kernel's
 * bochs-drm drives the same VGA at boot, out of text mode.
 */
static bool vga_elsewhere(void)
{
    if (!g_strcmp0(g_getenv("VFIO_IOMMUFD"), "1")) {
        g_test_skip("the std VGA's cases run in the boot of Debian's "
                    "kernel; this rig kernel's bochs-drm took the VGA out "
                    "of text mode");
        return true;
    }
    return false;
}

/* The host's own VGA text memory, as its /dev/mem shows it (the rig's) */
static void host_vga_text(uint16_t *words, size_t size)
{
    int fd = open("/dev/mem", O_RDONLY);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(pread(fd, words, size, VGA_TEXT), ==, size);
    close(fd);
}

static void test_vga_legacy_ranges(void)
{
    uint16_t words[64], back[64];
    Assigned a;
    int i;

    if (vga_elsewhere() || !assign_on(&a, "q35", "VFIO_VGA", "x-vga=on")) {
        return;
    }
    /* A VGA index register reads back what was written: I/O reaches it */
    qtest_outb(a.qts, VGA_GR_INDEX, 0x05);
    g_assert_cmphex(qtest_inb(a.qts, VGA_GR_INDEX) & 0x0f, ==, 0x05);
    qtest_outb(a.qts, VGA_GR_INDEX, 0x08);
    g_assert_cmphex(qtest_inb(a.qts, VGA_GR_INDEX) & 0x0f, ==, 0x08);

    /* Text memory at 0xb8000 is the host device's own */
    for (i = 0; i < ARRAY_SIZE(words); i++) {
        words[i] = cpu_to_le16(0x1f00 | ('A' + i % 26));
    }
    qtest_memwrite(a.qts, VGA_TEXT, words, sizeof(words));
    qtest_memread(a.qts, VGA_TEXT, back, sizeof(back));
    g_assert_cmpmem(words, sizeof(words), back, sizeof(back));
    host_vga_text(back, sizeof(back));
    g_assert_cmpmem(words, sizeof(words), back, sizeof(back));

    /* Memory decode off: the range is no longer the device's */
    qpci_config_writew(a.dev, PCI_COMMAND, PCI_COMMAND_IO);
    qtest_memread(a.qts, VGA_TEXT, back, sizeof(back));
    g_assert_true(memcmp(words, back, sizeof(back)));
    release(&a);
}

/* Without x-vga nothing of the device decodes the legacy ranges. */
static void test_vga_off(void)
{
    uint16_t words[16], back[16];
    Assigned a;
    int i;

    if (vga_elsewhere() || !assign_on(&a, "q35", "VFIO_VGA", NULL)) {
        return;
    }
    for (i = 0; i < ARRAY_SIZE(words); i++) {
        words[i] = cpu_to_le16(0x2f00 | ('a' + i));
    }
    qtest_memwrite(a.qts, VGA_TEXT, words, sizeof(words));
    host_vga_text(back, sizeof(back));
    g_assert_true(memcmp(words, back, sizeof(back)));
    release(&a);
}

/* An emulated VGA (QEMU's default one) owns legacy VGA: refused. */
static void test_vga_claimed(void)
{
    const char *host = rig_device("VFIO_VGA");
    g_autofree char *args = NULL;

    if (host) {
        args = g_strdup_printf("-device VGA -device vfio-pci,host=%s,"
                               "x-vga=on", host);
        qemu_refuses("q35", args, "legacy VGA is already claimed by VGA");
    }
}

/* A host kernel without CONFIG_VFIO_PCI_VGA (the fault shim plays it) */
static void test_vga_no_region(void)
{
    const char *host = vga_elsewhere() ? NULL : rig_device("VFIO_VGA");
    g_autofree char *shim = realpath("tests/qtest/vfio-fault-shim.so", NULL);
    g_autofree char *wrapper = NULL;
    g_autofree char *args = NULL;
    g_autofree char *err = NULL;

    if (!host) {
        return;
    }
    wrapper = g_strdup_printf("env LD_PRELOAD=%s VFIO_FAULT=vga-region-none",
                              shim);
    args = g_strdup_printf("-device vfio-pci,host=%s,x-vga=on", host);
    err = qemu_exits_1(wrapper, "q35", args, NULL);
    g_assert_nonnull(strstr(err, "the host offers no VGA region"));
    g_assert_nonnull(strstr(err, "CONFIG_VFIO_PCI_VGA"));
}

static void test_vga_not_vga(void)
{
    const char *host = rig_device("VFIO_EDU");
    g_autofree char *args = NULL;

    if (host) {
        args = g_strdup_printf("-device vfio-pci,host=%s,x-vga=on", host);
        qemu_refuses("q35", args, "x-vga=on needs a VGA-class device");
    }
}

/*
 * Unplugged while the guest uses the legacy ranges: they go with it, the
 * guest reads nothing of the device's any more, and QEMU runs on.
 */
static void test_vga_unplugged(void)
{
    const char *host = vga_elsewhere() ? NULL : rig_device("VFIO_VGA");
    g_autofree char *addr = g_strdup_printf("%02x.0", SLOT);
    uint16_t word = cpu_to_le16(0x4e58), late = cpu_to_le16(0x4e59), back;
    QTestState *qts;
    QPCIBus *bus;
    QPCIDevice *dev;

    if (!host) {
        return;
    }
    qts = qtest_init("-M pc -nodefaults");
    qtest_qmp_device_add(qts, "vfio-pci", "gpu", "{'host': %s, 'addr': %s, "
                         "'x-vga': true}", host, addr);
    bus = qpci_new_pc(qts, NULL);
    dev = qpci_device_find(bus, DEVFN);
    qpci_device_enable(dev);
    qtest_memwrite(qts, VGA_TEXT, &word, sizeof(word));
    host_vga_text(&back, sizeof(back));
    g_assert_cmphex(back, ==, word);

    qpci_unplug_acpi_device_test(qts, "gpu", SLOT);
    qtest_memwrite(qts, VGA_TEXT, &late, sizeof(late));
    qtest_memread(qts, VGA_TEXT, &back, sizeof(back));
    qtest_outb(qts, VGA_GR_INDEX, 0x05);
    qtest_inb(qts, VGA_GR_INDEX);
    host_vga_text(&back, sizeof(back));
    g_assert_cmphex(back, ==, word);
    assert_qemu_alive(qts);
    g_free(dev);
    qpci_free_pc(bus);
    qtest_quit(qts);
}

/*
 * Display options that mean nothing, or a device without a display
 */
static void test_display_refused(void)
{
    const char *host = rig_device("VFIO_EDU");
    g_autofree char *json = NULL;
    g_autofree char *args = NULL;
    QTestState *qts;
    QDict *resp;

    if (!host) {
        return;
    }
    qts = qtest_init("-M pc -nodefaults");
    json = g_strdup_printf("{'driver': 'vfio-pci', 'host': '%s', "
                           "'display': 'on'}", host);
    device_add_refused(qts, json, "display=on: the device has no display");
    g_free(json);
    json = g_strdup_printf("{'driver': 'vfio-pci', 'host': '%s', "
                           "'xres': 800, 'yres': 600}", host);
    device_add_refused(qts, json, "xres and yres need display=on");
    g_free(json);
    /* auto on a device without a display is no display, and no error */
    json = g_strdup_printf("{'driver': 'vfio-pci', 'host': '%s', "
                           "'display': 'auto', 'id': 'edu'}", host);
    resp = device_add_json(qts, json);
    g_assert_true(qdict_haskey(resp, "return"));
    qobject_unref(resp);
    qtest_quit(qts);

    args = g_strdup_printf("-device vfio-pci-nohotplug,host=%s,ramfb=on",
                           host);
    qemu_refuses("q35", args, "ramfb=on needs display=on");
}

/*
 * vGPU displays: the rig kernel's mdpy and mbochs samples
 */
static bool vgpu_elsewhere(void)
{
    if (g_strcmp0(g_getenv("VFIO_IOMMUFD"), "1")) {
        g_test_skip("mdpy and mbochs are in the rig kernel's boot only "
                    "(VFIO_IOMMUFD=1): Debian's kernel has no mdev samples");
        return true;
    }
    return false;
}

/* Starts QEMU with the mdev of @var as device "gpu", on q35. */
static bool vgpu_start(Assigned *a, const char *var, const char *props,
                       const char *args)
{
    g_autofree char *path = mdev_path(var);
    const char *env = g_getenv("VFIO_TEST_QEMU_ARGS");

    if (!path) {
        return false;
    }
    a->qts = qtest_initf("-M q35 -nodefaults -device vfio-pci,sysfsdev=%s,"
                         "id=gpu,addr=%02x.0,%s %s %s %s", path, SLOT, props,
                         args ? args : "", env ? env : "", backend_args());
    a->bus = qpci_new_pc(a->qts, NULL);
    a->dev = qpci_device_find(a->bus, DEVFN);
    g_assert_nonnull(a->dev);
    /* The samples emulate no bus master bit: qpci_device_enable() fails */
    qpci_config_writew(a->dev, PCI_COMMAND,
                       PCI_COMMAND_IO | PCI_COMMAND_MEMORY);
    return true;
}

/* vgpu_start(), with QEMU's stderr in the file @log */
static bool vgpu_start_logged(Assigned *a, const char *var, const char *props,
                              const char *args, const char *log)
{
    int saved = stderr_redirect(log);
    bool started = vgpu_start(a, var, props, args);

    stderr_restore(saved);
    return started;
}

/* QEMU refuses the mdev of @var with @props, saying @needle. */
static void vgpu_refuses(const char *var, const char *props,
                         const char *needle)
{
    g_autofree char *path = NULL;
    g_autofree char *args = NULL;

    if (vgpu_elsewhere() || !(path = mdev_path(var))) {
        return;
    }
    args = g_strdup_printf("-device vfio-pci,sysfsdev=%s,%s %s", path, props,
                           backend_args());
    qemu_refuses("q35", args, needle);
}

/* mdpy's "vga" type: 640x480 XRGB8888, the framebuffer in BAR0 */
static void test_mdpy_region(void)
{
    Picture pic;
    Assigned a;

    if (vgpu_elsewhere() ||
        !vgpu_start(&a, "VFIO_MDPY", "display=on", NULL)) {
        return;
    }
    a.bar0 = qpci_iomap(a.dev, 0, NULL);
    draw(a.dev, a.bar0, 0, 640, 480, 640 * 4, 1);
    screendump(a.qts, "gpu", &pic);
    assert_pattern(&pic, 640, 480, 1);

    /* Drawn again: the console follows the framebuffer */
    draw(a.dev, a.bar0, 0, 640, 480, 640 * 4, 77);
    screendump(a.qts, "gpu", &pic);
    assert_pattern(&pic, 640, 480, 77);
    release(&a);
}

static void test_mdpy_no_edid(void)
{
    vgpu_refuses("VFIO_MDPY", "display=on,xres=800,yres=600",
                 "xres and yres need a device with an EDID region");
}

static void dispi_write(Assigned *a, QPCIBar mmio, int index, uint16_t val)
{
    qpci_io_writew(a->dev, mmio, DISPI_MMIO + index * 2, val);
}

/* The guest's driver sets a mode, as bochs-drm does through BAR2. */
static void dispi_mode(Assigned *a, QPCIBar mmio, int width, int height)
{
    dispi_write(a, mmio, DISPI_ENABLE, 0);
    dispi_write(a, mmio, DISPI_BPP, 32);
    dispi_write(a, mmio, DISPI_XRES, width);
    dispi_write(a, mmio, DISPI_YRES, height);
    dispi_write(a, mmio, DISPI_VIRT_W, width);
    dispi_write(a, mmio, DISPI_ENABLE, DISPI_ENABLED | DISPI_LFB);
}

/*
 * mbochs has no reset: a mode stays set for the next user (the inner
 * guest's firmware must see none, for ramfb)
 */
static void dispi_off(Assigned *a, QPCIBar mmio)
{
    dispi_write(a, mmio, DISPI_ENABLE, 0);
}

/* The preferred mode of the EDID the device shows the guest (BAR2 0x0) */
static void edid_preferred(Assigned *a, QPCIBar mmio, int *x, int *y)
{
    uint8_t edid[128];
    static const uint8_t header[8] = { 0, 0xff, 0xff, 0xff, 0xff, 0xff,
                                       0xff, 0 };

    qpci_memread(a->dev, mmio, 0, edid, sizeof(edid));
    g_assert_cmpmem(edid, sizeof(header), header, sizeof(header));
    *x = edid[EDID_DTD + 2] | (edid[EDID_DTD + 4] & 0xf0) << 4;
    *y = edid[EDID_DTD + 5] | (edid[EDID_DTD + 7] & 0xf0) << 4;
    g_test_message("the guest's EDID prefers %dx%d", *x, *y);
}

/* egl-headless on the rig kernel's vgem, through Mesa's kms_swrast */
#define EGL_RENDER_NODE "/dev/dri/renderD128"

/*
 * mbochs: dma-buf planes, through OpenGL (egl-headless, whose screendump
 * reads back what it drew); xres/yres reach the guest through the EDID
 * region.  Modes of whole pages: vgem cannot import others.
 */
static void test_mbochs_gl(void)
{
    g_autofree char *log = test_log_path("mbochs");
    QPCIBar mmio;
    Picture pic;
    Assigned a;
    int x, y;

    if (vgpu_elsewhere()) {
        return;
    }
    if (g_strcmp0(g_getenv("VFIO_EGL_DMABUF"), "1")) {
        g_test_skip("egl-headless on the rig's vgem crashes QEMU inside "
                    "Mesa 22.3 (kms_swrast) at the first draw of an mbochs "
                    "dma-buf; VFIO_EGL_DMABUF=1 runs it");
        return;
    }
    if (access(EGL_RENDER_NODE, R_OK | W_OK)) {
        g_test_skip("no " EGL_RENDER_NODE " (the rig kernel's vgem) for "
                    "egl-headless");
        return;
    }
    if (!vgpu_start_logged(&a, "VFIO_MBOCHS", "display=on,xres=800,yres=600",
                           "-display egl-headless,rendernode="
                           EGL_RENDER_NODE, log)) {
        return;
    }
    a.bar0 = qpci_iomap(a.dev, 0, NULL);
    mmio = qpci_iomap(a.dev, 2, NULL);
    edid_preferred(&a, mmio, &x, &y);
    g_assert_cmpint(x, ==, 800);
    g_assert_cmpint(y, ==, 600);

    dispi_mode(&a, mmio, 640, 480);
    draw(a.dev, a.bar0, 0, 640, 480, 640 * 4, 3);
    screendump(a.qts, "gpu", &pic);
    assert_pattern(&pic, 640, 480, 3);

    /* A new mode is a new dma-buf */
    dispi_mode(&a, mmio, 1024, 768);
    draw(a.dev, a.bar0, 0, 1024, 768, 1024 * 4, 9);
    screendump(a.qts, "gpu", &pic);
    assert_pattern(&pic, 1024, 768, 9);
    dispi_off(&a, mmio);
    release(&a);
    assert_only_warnings(log);
    unlink(log);
}

/*
 * Without OpenGL a dma-buf is read through its mmap, which mbochs's
 * read-only dma-bufs refuse: said once, and QEMU runs on.  The dma-buf is
 * asked for once, not at every refresh: mbochs, exporting and releasing
 * the same one again and again, corrupted the rig kernel's memory.
 */
static void test_mbochs_no_gl(void)
{
    g_autofree char *log = test_log_path("mbochs-no-gl");
    QPCIBar mmio;
    Picture pic;
    Assigned a;
    int i;

    if (vgpu_elsewhere() ||
        !vgpu_start_logged(&a, "VFIO_MBOCHS", "display=on",
                           "-trace vfio_display_dmabuf", log)) {
        return;
    }
    mmio = qpci_iomap(a.dev, 2, NULL);
    dispi_mode(&a, mmio, 640, 480);
    for (i = 0; i < 20; i++) {
        screendump(a.qts, "gpu", &pic);
        g_free(pic.file);
    }
    assert_qemu_alive(a.qts);
    dispi_off(&a, mmio);
    release(&a);
    g_assert_cmpint(count_log_lines(log, "its dma-buf cannot be mmap'd: "
                                    "run a display with gl=on"), ==, 1);
    g_assert_cmpint(count_log_lines(log, "vfio_display_dmabuf"), ==, 1);
    unlink(log);
}

/* Beyond the largest mode of the mdev type (mbochs-medium: 1920x1440) */
static void test_mbochs_xres_too_large(void)
{
    vgpu_refuses("VFIO_MBOCHS", "display=on,xres=4096,yres=2160",
                 "exceed the device's largest mode");
}

/*
 * A host driver that describes its plane wrongly (the fault shim makes
 * the stride too small, or the rows run past the plane): one message,
 * no surface, and QEMU runs on.
 */
static void test_mdpy_bad_plane(gconstpointer fault)
{
    g_autofree char *log = test_log_path("bad-plane");
    g_autofree char *shim = realpath("tests/qtest/vfio-fault-shim.so", NULL);
    Picture pic;
    Assigned a;
    bool started;
    int i;

    if (vgpu_elsewhere()) {
        return;
    }
    g_setenv("VFIO_FAULT", fault, true);
    g_setenv("LD_PRELOAD", shim, true);
    started = vgpu_start_logged(&a, "VFIO_MDPY", "display=on", NULL, log);
    g_unsetenv("LD_PRELOAD");
    g_unsetenv("VFIO_FAULT");
    if (!started) {
        return;
    }
    for (i = 0; i < 3; i++) {
        screendump(a.qts, "gpu", &pic);
        g_free(pic.file);
    }
    assert_qemu_alive(a.qts);
    release(&a);
    g_assert_cmpint(count_log_lines(log, "cannot be shown"), ==, 1);
    unlink(log);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    if (g_strcmp0(g_getenv("VFIO_RIG"), "1")) {
        return g_test_run();
    }
    qtest_add_func("/vfio-pci/rig/display/vga/legacy-ranges",
                   test_vga_legacy_ranges);
    qtest_add_func("/vfio-pci/rig/display/vga/off", test_vga_off);
    qtest_add_func("/vfio-pci/rig/display/vga/claimed", test_vga_claimed);
    qtest_add_func("/vfio-pci/rig/display/vga/not-vga", test_vga_not_vga);
    qtest_add_func("/vfio-pci/rig/display/vga/no-region",
                   test_vga_no_region);
    qtest_add_func("/vfio-pci/rig/display/vga/unplugged",
                   test_vga_unplugged);
    qtest_add_func("/vfio-pci/rig/display/refused", test_display_refused);
    qtest_add_func("/vfio-pci/rig/display/mdpy/region", test_mdpy_region);
    qtest_add_func("/vfio-pci/rig/display/mdpy/no-edid", test_mdpy_no_edid);
    qtest_add_data_func("/vfio-pci/rig/display/mdpy/stride-short",
                        "plane-stride-short", test_mdpy_bad_plane);
    qtest_add_data_func("/vfio-pci/rig/display/mdpy/size-past-region",
                        "plane-size-past-region", test_mdpy_bad_plane);
    qtest_add_func("/vfio-pci/rig/display/mbochs/egl-headless",
                   test_mbochs_gl);
    qtest_add_func("/vfio-pci/rig/display/mbochs/no-opengl",
                   test_mbochs_no_gl);
    qtest_add_func("/vfio-pci/rig/display/mbochs/xres-too-large",
                   test_mbochs_xres_too_large);
    return g_test_run();
}
