/*
 * QTest cases for what QEMU 7.2's vfio-pci accepts besides plain
 * assignment: its property and type names, the IDs the guest sees
 * (x-pci-*), the device quirks (hw/vfio/quirks.c) armed through those IDs
 * on the rig's devices, and x-msix-relocation.
 *
 * No rig device is an NVIDIA, ATI or Realtek part: the quirks are armed
 * by showing the guest such IDs (as QEMU chooses quirks by them), on a
 * device with the BARs the quirk needs: the std VGA (VFIO_VGA, a 16 MiB
 * BAR0 and a 4 KiB MMIO BAR2) for NVIDIA's config mirrors and VGA window,
 * qemu-xhci (VFIO_XHCI) with its MSI-X table moved to a new BAR2 for the
 * RTL8168's.  A quirk no rig device can host is checked through its
 * trace: its table entry matched and said why it is not armed.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "qapi/qmp/qlist.h"
#include "qemu/bswap.h"
#include "vfio-pci-util.h"

#define VGA_IDS         0x11111234      /* the std VGA: 1234:1111 */
#define NV_MIRROR       0x88000
#define NV_MIRROR_OLD   0x1800

/*
 * Names
 */
/* Every property of QEMU 7.2's vfio-pci (Debian 12's -device vfio-pci,help) */
static const char *const qemu72_props[] = {
    "acpi-index", "addr", "bootindex", "display", "failover_pair_id", "host",
    "multifunction", "rombar", "romfile", "romsize", "sysfsdev",
    "x-balloon-allowed", "x-enable-migration", "x-igd-gms",
    "x-igd-opregion", "x-intx-mmap-timeout-ms", "x-msix-relocation",
    "x-no-geforce-quirks", "x-no-kvm-intx", "x-no-kvm-ioeventfd",
    "x-no-kvm-msi", "x-no-kvm-msix", "x-no-mmap", "x-no-vfio-ioeventfd",
    "x-nv-gpudirect-clique", "x-pci-device-id", "x-pci-sub-device-id",
    "x-pci-sub-vendor-id", "x-pci-vendor-id", "x-pcie-extcap-init",
    "x-pcie-lnksta-dllla", "x-pre-copy-dirty-page-tracking", "x-req",
    "x-vga", "xres", "yres", NULL
};

/* ... and those of later QEMUs that live in hw/vfio */
static const char *const upstream_props[] = {
    "enable-migration", "fd", "iommufd", "migration-events",
    "skip-vsc-check", "vf-token", "x-device-dirty-page-tracking",
    "x-pci-class-code", NULL
};

static bool has_name(QList *list, const char *key, const char *name)
{
    const QListEntry *e;

    QLIST_FOREACH_ENTRY(list, e) {
        QDict *d = qobject_to(QDict, qlist_entry_obj(e));

        if (!g_strcmp0(qdict_get_try_str(d, key), name)) {
            return true;
        }
    }
    return false;
}

static int missing_names(QList *list, const char *key,
                         const char *const *names)
{
    int i, missing = 0;

    for (i = 0; names[i]; i++) {
        if (!has_name(list, key, names[i])) {
            g_test_message("missing: %s", names[i]);
            missing++;
        }
    }
    return missing;
}

static void test_names(void)
{
    static const char *const types[] = {
        "vfio-pci", "vfio-pci-nohotplug", "vfio-pci-igd-lpc-bridge", NULL
    };
    QTestState *qts = qtest_init("-M q35 -nodefaults");
    QDict *resp;
    QList *list;

    resp = qtest_qmp(qts, "{'execute': 'device-list-properties', "
                     "'arguments': {'typename': 'vfio-pci'}}");
    list = qdict_get_qlist(resp, "return");
    g_assert_cmpint(missing_names(list, "name", qemu72_props), ==, 0);
    g_assert_cmpint(missing_names(list, "name", upstream_props), ==, 0);
    qobject_unref(resp);

    resp = qtest_qmp(qts, "{'execute': 'qom-list-types', "
                     "'arguments': {'implements': 'pci-device'}}");
    list = qdict_get_qlist(resp, "return");
    g_assert_cmpint(missing_names(list, "name", types), ==, 0);
    qobject_unref(resp);
    qtest_quit(qts);
}

/* The property parsers refuse before any device is looked at */
static void test_bad_values(void)
{
    qemu_refuses("q35", "-device vfio-pci,x-nv-gpudirect-clique=16",
                 "x-nv-gpudirect-clique=16: a clique ID is 0-15");
    qemu_refuses("q35", "-device vfio-pci,x-msix-relocation=bar6",
                 "x-msix-relocation");
    qemu_refuses("q35", "-device vfio-pci,x-pci-vendor-id=nvidia",
                 "x-pci-vendor-id");
}

/*
 * IDs
 */
/* A byte, word or dword of the host's own config space, from sysfs */
static uint32_t host_config(const char *host, int reg, int len)
{
    g_autofree char *path = sysfs_path(host, "config");
    uint32_t val = 0;
    int fd = open(path, O_RDONLY);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(pread(fd, &val, len, reg), ==, len);
    close(fd);
    return le32_to_cpu(val);
}

static void test_ids_edu(void)
{
    Assigned a;
    uint32_t host_ids, host_class;

    if (!assign(&a, "VFIO_EDU", "x-pci-vendor-id=0x1af4,"
                "x-pci-device-id=0x10f0,x-pci-sub-vendor-id=0x1b36,"
                "x-pci-sub-device-id=0x0007,x-pci-class-code=0x0c0330")) {
        return;
    }
    host_ids = host_config(a.host, PCI_VENDOR_ID, 4);
    host_class = host_config(a.host, PCI_CLASS_PROG, 3);
    g_assert_cmphex(qpci_config_readl(a.dev, PCI_VENDOR_ID), ==, 0x10f01af4);
    g_assert_cmphex(qpci_config_readw(a.dev, PCI_SUBSYSTEM_VENDOR_ID), ==,
                    0x1b36);
    g_assert_cmphex(qpci_config_readw(a.dev, PCI_SUBSYSTEM_ID), ==, 0x0007);
    g_assert_cmphex(qpci_config_readl(a.dev, PCI_CLASS_REVISION) >> 8, ==,
                    0x0c0330);
    /* The guest cannot write them, and the host keeps its own */
    qpci_config_writel(a.dev, PCI_VENDOR_ID, 0);
    g_assert_cmphex(qpci_config_readl(a.dev, PCI_VENDOR_ID), ==, 0x10f01af4);
    g_assert_cmphex(host_ids, ==, 0x11e81234);
    g_assert_cmphex(host_config(a.host, PCI_VENDOR_ID, 4), ==, host_ids);
    g_assert_cmphex(host_config(a.host, PCI_CLASS_PROG, 3), ==, host_class);
    release(&a);
}

static void test_ids_nvme(void)
{
    Assigned a;

    if (!assign(&a, "VFIO_NVME", "x-pci-vendor-id=0x144d,"
                "x-pci-device-id=0xa808")) {
        return;
    }
    g_assert_cmphex(qpci_config_readl(a.dev, PCI_VENDOR_ID), ==, 0xa808144d);
    /* The class stays the device's, and so does the device behind BAR0 */
    g_assert_cmphex(qpci_config_readl(a.dev, PCI_CLASS_REVISION) >> 8, ==,
                    host_config(a.host, PCI_CLASS_PROG, 3));
    a.bar0 = qpci_iomap(a.dev, 0, NULL);
    g_assert_cmphex(qpci_io_readl(a.dev, a.bar0, 0x8), ==,
                    0x10400);    /* nvme's VS register: NVMe 1.4 */
    g_assert_cmphex(host_config(a.host, PCI_VENDOR_ID, 4), ==, 0x00101b36);
    release(&a);
}

/* QEMU with the rig device @var and @props refuses to start, saying @says */
static void refused_on(const char *var, const char *props, const char *says)
{
    const char *host = rig_device(var);
    g_autofree char *args = NULL;

    if (host) {
        args = g_strdup_printf("-device vfio-pci,host=%s,%s", host, props);
        qemu_refuses("q35", args, says);
    }
}

static void test_ids_out_of_range(void)
{
    refused_on("VFIO_EDU", "x-pci-vendor-id=0x10000",
               "x-pci-vendor-id=0x10000 is out of range");
    refused_on("VFIO_EDU", "x-pci-class-code=0x1000000",
               "x-pci-class-code=0x1000000 is out of range");
}

/* A physical device pins all guest RAM: ballooning cannot be allowed */
static void test_balloon_refused(void)
{
    refused_on("VFIO_EDU", "x-balloon-allowed=on",
               "x-balloon-allowed=on is for mediated devices");
}

/* The old spellings work, each with its one warning */
static void test_old_spellings(void)
{
    g_autofree char *log = g_strdup_printf("/run/vfio-old-%d.log", getpid());
    QDict *resp;
    Assigned a;

    if (!assign_logged(&a, "q35", "VFIO_EDU", "id=d0,x-enable-migration=off,"
                       "x-req=off", NULL, log)) {
        return;
    }
    resp = qtest_qmp(a.qts, "{'execute': 'qom-get', 'arguments': "
                     "{'path': '/machine/peripheral/d0', "
                     "'property': 'enable-migration'}}");
    g_assert_cmpstr(qdict_get_str(resp, "return"), ==, "off");
    qobject_unref(resp);
    resp = qtest_qmp(a.qts, "{'execute': 'qom-get', 'arguments': "
                     "{'path': '/machine/peripheral/d0', "
                     "'property': 'req-notifier'}}");
    g_assert_false(qdict_get_bool(resp, "return"));
    qobject_unref(resp);
    release(&a);
    g_assert_cmpint(count_log_lines(log, "x-enable-migration is the old "
                                    "spelling of enable-migration"), ==, 1);
    g_assert_cmpint(count_log_lines(log, "x-req is the old spelling of "
                                    "req-notifier"), ==, 1);
    unlink(log);
}

/*
 * NVIDIA's config space mirrors, on the std VGA shown as 10de:1111
 */
static bool vga_rig_kernel(void)
{
    if (!g_strcmp0(g_getenv("VFIO_IOMMUFD"), "1")) {
        g_test_skip("the std VGA's cases run in the boot of Debian's kernel; "
                    "the rig kernel's bochs-drm drives it");
        return true;
    }
    return false;
}

static bool assign_nvidia_vga(Assigned *a, const char *props)
{
    g_autofree char *all = g_strdup_printf("x-pci-vendor-id=0x10de%s%s",
                                           props ? "," : "",
                                           props ? props : "");

    if (vga_rig_kernel() || !assign_on(a, "q35", "VFIO_VGA", all)) {
        return false;
    }
    a->bar0 = qpci_iomap(a->dev, 0, NULL);
    return true;
}

/* A dword of VRAM, as a QEMU without the quirks sees it */
static uint32_t vram_word(uint64_t off, bool write, uint32_t val)
{
    Assigned a;

    if (!assign_nvidia_vga(&a, "x-no-geforce-quirks=on")) {
        return 0;
    }
    if (write) {
        qpci_io_writel(a.dev, a.bar0, off, val);
    }
    val = qpci_io_readl(a.dev, a.bar0, off);
    release(&a);
    return val;
}

static void test_nvidia_mirrors(void)
{
    uint32_t bar0;
    Assigned a;

    if (vga_rig_kernel()) {
        return;
    }
    /* VRAM under the mirror holds a word the mirror must not touch */
    g_assert_cmphex(vram_word(NV_MIRROR + PCI_INTERRUPT_LINE, true,
                              0xa5a5a5a5), ==, 0xa5a5a5a5);

    if (!assign_nvidia_vga(&a, NULL)) {
        return;
    }
    bar0 = qpci_config_readl(a.dev, PCI_BASE_ADDRESS_0);
    g_assert_cmphex(qpci_io_readl(a.dev, a.bar0, NV_MIRROR), ==, 0x111110de);
    g_assert_cmphex(qpci_io_readl(a.dev, a.bar0, NV_MIRROR_OLD), ==,
                    0x111110de);
    /* The guest's BAR address, not the host's */
    g_assert_cmphex(qpci_io_readl(a.dev, a.bar0,
                                  NV_MIRROR + PCI_BASE_ADDRESS_0), ==, bar0);
    /* A write there is a config write */
    qpci_io_writeb(a.dev, a.bar0, NV_MIRROR + PCI_INTERRUPT_LINE, 0x5a);
    g_assert_cmphex(qpci_config_readb(a.dev, PCI_INTERRUPT_LINE), ==, 0x5a);
    qpci_io_writeb(a.dev, a.bar0, NV_MIRROR_OLD + PCI_INTERRUPT_LINE, 0x3c);
    g_assert_cmphex(qpci_config_readb(a.dev, PCI_INTERRUPT_LINE), ==, 0x3c);
    /* Next to the mirror, VRAM is VRAM */
    qpci_io_writel(a.dev, a.bar0, NV_MIRROR - 4, 0x12345678);
    g_assert_cmphex(qpci_io_readl(a.dev, a.bar0, NV_MIRROR - 4), ==,
                    0x12345678);
    release(&a);

    g_assert_cmphex(vram_word(NV_MIRROR + PCI_INTERRUPT_LINE, false, 0), ==,
                    0xa5a5a5a5);
}

/* NVIDIA's VGA window: 0x338 at 0x3d4 selects, 0x3d0 is address, data */
static uint32_t nv_3d0_read(QTestState *qts, uint32_t addr)
{
    qtest_outw(qts, 0x3d4, 0x338);
    qtest_outl(qts, 0x3d0, addr);
    qtest_outw(qts, 0x3d4, 0x338);
    return qtest_inl(qts, 0x3d0);
}

static void nv_3d0_write(QTestState *qts, uint32_t addr, uint32_t val)
{
    qtest_outw(qts, 0x3d4, 0x338);
    qtest_outl(qts, 0x3d0, addr);
    qtest_outw(qts, 0x3d4, 0x538);
    qtest_outl(qts, 0x3d0, val);
}

static void test_nvidia_vga_window(void)
{
    Assigned a;

    if (!assign_nvidia_vga(&a, "x-vga=on")) {
        return;
    }
    g_assert_cmphex(nv_3d0_read(a.qts, NV_MIRROR), ==, 0x111110de);
    g_assert_cmphex(nv_3d0_read(a.qts, NV_MIRROR_OLD), ==, 0x111110de);
    nv_3d0_write(a.qts, NV_MIRROR + PCI_INTERRUPT_LINE, 0x77);
    g_assert_cmphex(qpci_config_readb(a.dev, PCI_INTERRUPT_LINE), ==, 0x77);
    release(&a);
}

/*
 * NVIDIA's MSI acknowledgement (a write of the MSI capability's header
 * through the mirror), repeated: after ten an eventfd takes it, which
 * the kernel's vfio ioeventfd (or, with x-no-vfio-ioeventfd, QEMU's
 * handler) writes to the BAR.  TCG signals the eventfd itself, as KVM
 * would.  On edu shown as 10de:11e8: its MSI capability and 1 MiB BAR0.
 */
static void test_nvidia_ioeventfd(gconstpointer data)
{
    const char *props = data;
    g_autofree char *log = g_strdup_printf("/run/vfio-ioeventfd-%d.log",
                                           getpid());
    g_autofree char *trace = g_strdup_printf("-trace enable=vfio_quirk_config_"
                                             "write -trace enable=vfio_"
                                             "ioeventfd -D %s", log);
    g_autofree char *all = g_strdup_printf("x-pci-vendor-id=0x10de%s%s",
                                           *props ? "," : "", props);
    g_autofree char *ack = NULL;
    bool accelerated = !strstr(props, "x-no-kvm-ioeventfd=on");
    uint8_t msi;
    Assigned a;
    int i;

    if (!assign_args(&a, "q35", "VFIO_EDU", all, trace)) {
        return;
    }
    a.bar0 = qpci_iomap(a.dev, 0, NULL);
    msi = qpci_find_capability(a.dev, PCI_CAP_ID_MSI, 0);
    g_assert_cmphex(msi, !=, 0);
    for (i = 0; i < 20; i++) {
        qpci_io_writeb(a.dev, a.bar0, NV_MIRROR + msi, PCI_CAP_ID_MSI);
    }
    /* Still a read-only header, and the device answers on */
    g_assert_cmphex(qpci_config_readb(a.dev, msi), ==, PCI_CAP_ID_MSI);
    g_assert_cmphex(qpci_io_readl(a.dev, a.bar0, 0), ==, 0x010000ed);
    release(&a);

    ack = g_strdup_printf("config 0x%x <- 0x5", msi);
    g_assert_cmpint(count_log_lines(log, ack), ==, accelerated ? 10 : 20);
    g_assert_cmpint(count_log_lines(log, "by eventfd"), ==, accelerated);
    if (accelerated) {
        g_assert_cmpint(count_log_lines(log, strstr(props, "no-vfio") ?
                                        "written by the kernel 0" :
                                        "written by the kernel 1"), ==, 1);
    }
    unlink(log);
}

/* The vendor capability with @sig at its byte 3 (or 4), or 0 */
static uint8_t find_vendor_cap(QPCIDevice *dev, const char *sig, int at)
{
    uint8_t pos = 0;
    int i;

    while ((pos = qpci_find_capability(dev, PCI_CAP_ID_VNDR, pos))) {
        for (i = 0; sig[i]; i++) {
            if (qpci_config_readb(dev, pos + at + i) != (uint8_t)sig[i]) {
                break;
            }
        }
        if (!sig[i]) {
            return pos;
        }
    }
    return 0;
}

static void test_nvidia_clique(void)
{
    uint8_t pos;
    Assigned a;

    if (!assign_nvidia_vga(&a, "x-nv-gpudirect-clique=5")) {
        return;
    }
    pos = find_vendor_cap(a.dev, "P2P", 3);
    g_assert_cmphex(pos, !=, 0);
    g_assert_cmphex(qpci_config_readb(a.dev, pos + PCI_CAP_FLAGS), ==, 8);
    g_assert_cmphex(qpci_config_readb(a.dev, pos + 6), ==, 5 << 3);
    release(&a);

    refused_on("VFIO_EDU", "x-nv-gpudirect-clique=5",
               "x-nv-gpudirect-clique is for NVIDIA GPUs");
}

/* Random accesses to the windows: QEMU answers them all and runs on */
static void test_nvidia_fuzz(void)
{
    static const unsigned sizes[] = { 1, 2, 4 };
    GRand *rand = g_rand_new_with_seed(26);
    Assigned a;
    int i;

    if (!assign_nvidia_vga(&a, "x-vga=on")) {
        g_rand_free(rand);
        return;
    }
    for (i = 0; i < 3000; i++) {
        unsigned size = sizes[g_rand_int_range(rand, 0, 3)];
        uint32_t off = g_rand_int_range(rand, 0, 0x1000) & ~(size - 1);
        uint32_t val = g_rand_int(rand);
        uint16_t port = 0x3d0 + (g_rand_int_range(rand, 0, 8) & ~(size - 1));

        /* Not the BARs and command: the mirror would move the VGA */
        if (off < PCI_CACHE_LINE_SIZE ||
            (off >= PCI_BASE_ADDRESS_0 && off < PCI_INTERRUPT_LINE)) {
            off = 0x40 + (off & 0x3c);
        }
        switch (g_rand_int_range(rand, 0, 4)) {
        case 0:
            qpci_io_readl(a.dev, a.bar0, NV_MIRROR + (off & ~3));
            break;
        case 1:
            qpci_io_writeb(a.dev, a.bar0, NV_MIRROR + off, val);
            break;
        case 2:
            qtest_outw(a.qts, 0x3d4, g_rand_boolean(rand) ? 0x338 : 0x538);
            break;
        default:
            if (size == 4) {
                qtest_outl(a.qts, port, NV_MIRROR + (off & ~3));
            } else {
                qtest_inb(a.qts, port);
            }
            break;
        }
    }
    g_rand_free(rand);
    assert_qemu_alive(a.qts);
    g_assert_cmphex(qpci_io_readl(a.dev, a.bar0, NV_MIRROR), ==, 0x111110de);
    release(&a);
}

/*
 * The RTL8168's MSI-X window, on qemu-xhci shown as 10ec:8168 with its
 * table moved to a new BAR2: writes through the ERI registers reach the
 * emulated table, reads come back from it.
 */
#define RTL_ERIDR       0x70
#define RTL_ERIAR       0x74
#define RTL_ERI_MSIX    (1 << 16)
#define RTL_ERI_FLAG    0x80000000u

static void test_rtl8168_window(void)
{
    QPCIBar bar2;
    uint8_t cap;
    Assigned a;

    if (!assign_on(&a, "q35", "VFIO_XHCI", "x-pci-vendor-id=0x10ec,"
                   "x-pci-device-id=0x8168,x-msix-relocation=bar2")) {
        return;
    }
    cap = qpci_find_capability(a.dev, PCI_CAP_ID_MSIX, 0);
    g_assert_cmphex(qpci_config_readl(a.dev, cap + PCI_MSIX_TABLE), ==, 2);
    bar2 = qpci_iomap(a.dev, 2, NULL);

    qpci_io_writel(a.dev, bar2, RTL_ERIDR, 0xfee01000);
    qpci_io_writel(a.dev, bar2, RTL_ERIAR, RTL_ERI_FLAG | RTL_ERI_MSIX |
                   (0xf << 12) | PCI_MSIX_ENTRY_SIZE);
    g_assert_cmphex(qpci_io_readl(a.dev, bar2, PCI_MSIX_ENTRY_SIZE), ==,
                    0xfee01000);
    qpci_io_writel(a.dev, bar2, PCI_MSIX_ENTRY_SIZE + PCI_MSIX_ENTRY_DATA,
                   0x4041);
    qpci_io_writel(a.dev, bar2, RTL_ERIAR, RTL_ERI_MSIX | (0xf << 12) |
                   (PCI_MSIX_ENTRY_SIZE + PCI_MSIX_ENTRY_DATA));
    g_assert_cmphex(qpci_io_readl(a.dev, bar2, RTL_ERIAR) & RTL_ERI_FLAG, ==,
                    RTL_ERI_FLAG);
    g_assert_cmphex(qpci_io_readl(a.dev, bar2, RTL_ERIDR), ==, 0x4041);
    release(&a);
}

/*
 * x-msix-relocation=auto on the e1000e: its table leaves BAR3 for the
 * first unused BAR number, BAR4, and MSI-X enabled with a vector
 * unmasked there is MSI-X on the host (/proc/interrupts names its
 * vector vfio-msix[0](ADDR)), until the guest disables it.
 */
static bool host_irq_named(const char *name)
{
    g_autofree char *text = NULL;

    g_assert_true(g_file_get_contents("/proc/interrupts", &text, NULL,
                                      NULL));
    return strstr(text, name);
}

static void test_relocation_e1000e(void)
{
    g_autofree char *irq = NULL;
    uint8_t cap;
    Assigned a;

    if (!assign_on(&a, "q35", "VFIO_E1000E", "x-msix-relocation=auto")) {
        return;
    }
    cap = qpci_find_capability(a.dev, PCI_CAP_ID_MSIX, 0);
    g_assert_cmphex(qpci_config_readl(a.dev, cap + PCI_MSIX_TABLE), ==, 4);
    irq = g_strdup_printf("vfio-msix[0](%s)", a.host);
    g_assert_false(host_irq_named(irq));
    qpci_msix_enable(a.dev);
    qpci_io_writel(a.dev, a.dev->msix_table_bar,
                   a.dev->msix_table_off + PCI_MSIX_ENTRY_VECTOR_CTRL, 0);
    g_assert_true(host_irq_named(irq));
    qpci_msix_disable(a.dev);
    g_assert_false(host_irq_named(irq));
    release(&a);
}

/*
 * x-msix-relocation that cannot be
 */
static void test_relocation_refused(void)
{
    static const struct {
        const char *var, *bar, *says;
    } cases[] = {
        { "VFIO_E1000E", "bar2", "BAR 2 is an I/O BAR" },
        { "VFIO_XHCI", "bar1", "BAR 1 is the upper half of 64-bit BAR 0" },
    };
    int i;

    for (i = 0; i < ARRAY_SIZE(cases); i++) {
        g_autofree char *props = g_strdup_printf("x-msix-relocation=%s",
                                                 cases[i].bar);

        refused_on(cases[i].var, props, cases[i].says);
    }
}

/*
 * Intel VMD: the client VMDs' driver finds the host addresses of MEMBAR1
 * and MEMBAR2 in a "SHDW" vendor capability (the std VGA as 8086:467f:
 * its BAR2 is MEMBAR1; it has no BAR4, whose address is 0).
 */
static uint64_t host_bar_start(const char *host, int nr)
{
    g_autofree char *path = sysfs_path(host, "resource");
    g_auto(GStrv) lines = read_lines(path);

    return g_ascii_strtoull(lines[nr], NULL, 16);
}

static void test_vmd_shadow(void)
{
    uint8_t pos;
    Assigned a;

    if (vga_rig_kernel() ||
        !assign_on(&a, "q35", "VFIO_VGA", "x-pci-vendor-id=0x8086,"
                   "x-pci-device-id=0x467f")) {
        return;
    }
    pos = qpci_find_capability(a.dev, PCI_CAP_ID_VNDR, 0);
    g_assert_cmphex(pos, !=, 0);
    g_assert_cmphex(qpci_config_readl(a.dev, pos + 4), ==, 0x53484457);
    g_assert_cmphex(qpci_config_readl(a.dev, pos + 8) |
                    (uint64_t)qpci_config_readl(a.dev, pos + 12) << 32, ==,
                    host_bar_start(a.host, 2));
    g_assert_cmphex(host_bar_start(a.host, 2), !=, 0);
    g_assert_cmphex(qpci_config_readl(a.dev, pos + 16), ==, 0);
    release(&a);
}

/*
 * What no rig device can host: each entry matched and said why not.
 */
static void test_quirk_traces(void)
{
    static const struct {
        const char *var, *props, *says;
    } cases[] = {
        { "VFIO_VGA", "x-pci-vendor-id=0x1002,x-pci-device-id=0x6640",
          "quirk ati-bar4-window: the BAR is not implemented" },
        { "VFIO_VGA", "x-pci-vendor-id=0x1002,x-pci-device-id=0x6640",
          "quirk ati-bar2-mirror: the BAR is too small" },
        { "VFIO_VGA", "x-pci-vendor-id=0x1002",
          "quirk ati-vga-3c3: no legacy VGA (x-vga=off)" },
        { "VFIO_VGA", "x-pci-vendor-id=0x10de",
          "quirk nvidia-bar5-window: the BAR is not implemented" },
        { "VFIO_VGA", "x-pci-vendor-id=0x10de,x-no-geforce-quirks=on",
          "quirk nvidia-bar0-88000: x-no-geforce-quirks=on" },
        { "VFIO_E1000E", "x-pci-vendor-id=0x1425,x-pci-device-id=0x5801",
          "quirk chelsio-t5-pba: the PBA is inside its BAR" },
        { "VFIO_E1000E", "x-pci-vendor-id=0x10ec,x-pci-device-id=0x8168",
          "quirk rtl8168-msix-window: the BAR is not memory" },
    };
    g_autofree char *log = g_strdup_printf("/run/vfio-quirks-%d.log",
                                           getpid());
    g_autofree char *trace = g_strdup_printf("-trace enable=vfio_quirk "
                                             "-D %s", log);
    int i;

    if (vga_rig_kernel()) {
        return;
    }
    for (i = 0; i < ARRAY_SIZE(cases); i++) {
        Assigned a;

        if (!assign_args(&a, "q35", cases[i].var, cases[i].props, trace)) {
            return;
        }
        release(&a);
        g_assert_cmpint(count_log_lines(log, cases[i].says), ==, 1);
    }
    unlink(log);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    qtest_add_func("/vfio-pci/properties/qemu-7.2-names", test_names);
    qtest_add_func("/vfio-pci/properties/bad-values", test_bad_values);
    if (g_strcmp0(g_getenv("VFIO_RIG"), "1")) {
        return g_test_run();
    }
    qtest_add_func("/vfio-pci/rig/ids/edu", test_ids_edu);
    qtest_add_func("/vfio-pci/rig/ids/nvme", test_ids_nvme);
    qtest_add_func("/vfio-pci/rig/ids/out-of-range", test_ids_out_of_range);
    qtest_add_func("/vfio-pci/rig/properties/balloon-refused",
                   test_balloon_refused);
    qtest_add_func("/vfio-pci/rig/properties/old-spellings",
                   test_old_spellings);
    qtest_add_func("/vfio-pci/rig/quirks/nvidia-mirrors",
                   test_nvidia_mirrors);
    qtest_add_func("/vfio-pci/rig/quirks/nvidia-vga-window",
                   test_nvidia_vga_window);
    qtest_add_func("/vfio-pci/rig/quirks/nvidia-clique", test_nvidia_clique);
    qtest_add_func("/vfio-pci/rig/quirks/nvidia-fuzz", test_nvidia_fuzz);
    qtest_add_data_func("/vfio-pci/rig/quirks/ioeventfd/vfio", "",
                        test_nvidia_ioeventfd);
    qtest_add_data_func("/vfio-pci/rig/quirks/ioeventfd/qemu",
                        "x-no-vfio-ioeventfd=on", test_nvidia_ioeventfd);
    qtest_add_data_func("/vfio-pci/rig/quirks/ioeventfd/off",
                        "x-no-kvm-ioeventfd=on", test_nvidia_ioeventfd);
    qtest_add_func("/vfio-pci/rig/quirks/rtl8168-window",
                   test_rtl8168_window);
    qtest_add_func("/vfio-pci/rig/quirks/vmd-shadow", test_vmd_shadow);
    qtest_add_func("/vfio-pci/rig/quirks/not-armed", test_quirk_traces);
    qtest_add_func("/vfio-pci/rig/msix-relocation/e1000e",
                   test_relocation_e1000e);
    qtest_add_func("/vfio-pci/rig/msix-relocation/refused",
                   test_relocation_refused);
    return g_test_run();
}
