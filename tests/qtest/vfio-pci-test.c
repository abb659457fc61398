/*
 * QTest testcases for vfio-pci device assignment
 *
 * The error-path tests run anywhere.  The rest need real assignable
 * devices: the rig (tests/rig) binds an emulated edu, e1000e and nvme to the
 * kernel's vfio-pci and names them in VFIO_EDU, VFIO_E1000E and VFIO_NVME.
 * With VFIO_RIG=1 those tests are registered, and a missing device fails.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "hw/pci/pci_regs.h"
#include "vfio-pci-util.h"
#include <sys/ioctl.h>
#include <linux/nvme_ioctl.h>
#include <sys/utsname.h>
#include "qemu/bswap.h"

#define DMA_SRC     0x300000ULL
#define DMA_DST     0x400000ULL

/* edu registers (docs/specs/edu.txt) */
#define EDU_ID          0x00
#define EDU_IRQ_STATUS  0x24
#define EDU_IRQ_RAISE   0x60
#define EDU_IRQ_ACK     0x64

/*
 * Tests that need no device
 */
static void run_qemu_expect_failure(const char *device, const char *needle)
{
    g_autofree char *args = g_strdup_printf("-device %s", device);

    qemu_refuses("pc", args, needle);
}

static void test_missing_host_device(void)
{
    run_qemu_expect_failure("vfio-pci,host=0000:99:00.0",
                            "host device 0000:99:00.0 does not exist");
}

static void test_no_host_property(void)
{
    run_qemu_expect_failure("vfio-pci", "'host' property is required");
}

static void test_malformed_host(void)
{
    run_qemu_expect_failure("vfio-pci,host=zz:00", "host");
}

static void test_device_add_missing(void)
{
    QTestState *qts = qtest_init("-M pc -nodefaults");
    QDict *resp;

    expect_device_add_error(qts, "0000:99:00.0",
                            "0000:99:00.0 does not exist");
    expect_device_add_error(qts, NULL, "'host' property is required");
    resp = qtest_qmp(qts, "{'execute': 'query-status'}");
    g_assert_true(qdict_haskey(resp, "return"));
    qobject_unref(resp);
    qtest_quit(qts);
}

/*
 * edu: MMIO, config space, MSI, DMA
 */
static void test_edu_identity(void)
{
    Assigned a;

    if (!assign(&a, "VFIO_EDU", NULL)) {
        return;
    }
    g_assert_cmphex(qpci_config_readw(a.dev, PCI_VENDOR_ID), ==, 0x1234);
    g_assert_cmphex(qpci_config_readw(a.dev, PCI_DEVICE_ID), ==, 0x11e8);
    a.bar0 = qpci_iomap(a.dev, 0, NULL);
    g_assert_cmphex(qpci_io_readl(a.dev, a.bar0, EDU_ID), ==, 0x010000ed);
    release(&a);
}

/* The fast (mmap) and slow (pread/pwrite) paths both reach the device. */
static void edu_mmio_rw(const char *extra)
{
    Assigned a;
    int i;

    if (!assign(&a, "VFIO_EDU", extra)) {
        return;
    }
    a.bar0 = qpci_iomap(a.dev, 0, NULL);
    g_assert_cmphex(qpci_io_readl(a.dev, a.bar0, EDU_ID), ==, 0x010000ed);
    for (i = 0; i < 16; i++) {
        /* edu's 0x04 returns the bitwise inverse of what was written */
        qpci_io_writel(a.dev, a.bar0, 0x04, 0x1000 * i + 0x5a);
        g_assert_cmphex(qpci_io_readl(a.dev, a.bar0, 0x04), ==,
                        (uint32_t)~(0x1000 * i + 0x5a));
    }
    release(&a);
}

static void test_edu_mmio_fast(void)
{
    edu_mmio_rw(NULL);
}

static void test_edu_mmio_slow(void)
{
    edu_mmio_rw("x-no-mmap=on");
}

static void compare_bar_sizes(const char *var)
{
    uint64_t sizes[6];
    Assigned a;
    int i;

    if (!assign(&a, var, NULL)) {
        return;
    }
    sysfs_bar_sizes(a.host, sizes);
    for (i = 0; i < 6; i++) {
        uint64_t size = 0;

        if (!sizes[i]) {
            continue;
        }
        qpci_iomap(a.dev, i, &size);
        g_test_message("%s BAR %d: 0x%" PRIx64 " (host 0x%" PRIx64 ")",
                       a.host, i, size, sizes[i]);
        g_assert_cmphex(size, ==, sizes[i]);
    }
    release(&a);
}

static void test_bar_sizes(gconstpointer var)
{
    compare_bar_sizes(var);
}

static void mark(uint8_t *mask, int pos, int len)
{
    memset(mask + pos, 0xff, MIN(len, 256 - pos));
}

/* Marks the bytes of each capability that QEMU (or VFIO) emulates. */
static void mark_emulated(QPCIDevice *dev, uint8_t *mask)
{
    uint8_t pos;

    memset(mask + PCI_COMMAND, 0xff, 4);         /* VFIO virtualizes these */
    memset(mask + PCI_BASE_ADDRESS_0, 0xff, 24);
    memset(mask + PCI_ROM_ADDRESS, 0xff, 4);
    mask[PCI_HEADER_TYPE] = 0x80;            /* multifunction */
    mask[PCI_INTERRUPT_LINE] = 0xff;

    pos = qpci_find_capability(dev, PCI_CAP_ID_MSI, 0);
    if (pos) {
        mark(mask, pos + 2, 22);
    }
    pos = qpci_find_capability(dev, PCI_CAP_ID_MSIX, 0);
    if (pos) {
        mark(mask, pos + 2, 10);
    }
    pos = qpci_find_capability(dev, PCI_CAP_ID_PM, 0);
    if (pos) {
        mark(mask, pos + 2, 6);
    }
    pos = qpci_find_capability(dev, PCI_CAP_ID_EXP, 0);
    if (pos) {
        mark(mask, pos + 2, 0x3a);
    }
}

static uint16_t sysfs_hex(const char *host, const char *file)
{
    g_autofree char *path = sysfs_path(host, file);
    g_autofree char *text = NULL;

    g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
    return strtoul(text, NULL, 16);
}

/*
 * A VF's own vendor and device IDs read as all ones and it has no INTx:
 * the kernel's vfio-pci shows its user the IDs that the PF's SR-IOV
 * capability names (sysfs vendor and device) and no interrupt pin.
 */
static void vf_config_as_kernel_shows(const char *host, uint8_t *cfg)
{
    g_autofree char *physfn = sysfs_path(host, "physfn");

    if (!g_file_test(physfn, G_FILE_TEST_EXISTS)) {
        return;
    }
    stw_le_p(cfg + PCI_VENDOR_ID, sysfs_hex(host, "vendor"));
    stw_le_p(cfg + PCI_DEVICE_ID, sysfs_hex(host, "device"));
    cfg[PCI_INTERRUPT_PIN] = 0;
}

static void compare_config(const char *var)
{
    g_autofree char *path = NULL;
    g_autofree char *host_cfg = NULL;
    uint8_t mask[256] = { 0 };
    uint8_t pos, hpos;
    gsize len;
    Assigned a;
    int i, diffs = 0;

    if (!assign(&a, var, NULL)) {
        return;
    }
    path = sysfs_path(a.host, "config");
    g_assert_true(g_file_get_contents(path, &host_cfg, &len, NULL));
    g_assert_cmpuint(len, >=, 256);
    vf_config_as_kernel_shows(a.host, (uint8_t *)host_cfg);
    mark_emulated(a.dev, mask);

    for (i = 0; i < 256; i++) {
        uint8_t ours = qpci_config_readb(a.dev, i);
        uint8_t theirs = host_cfg[i];

        if ((ours ^ theirs) & ~mask[i]) {
            g_test_message("%s config 0x%02x: 0x%02x, host 0x%02x", a.host, i,
                           ours, theirs);
            diffs++;
        }
    }
    g_assert_cmpint(diffs, ==, 0);

    /* The same capability chain, in the same order, at the same places */
    pos = qpci_config_readb(a.dev, PCI_CAPABILITY_LIST);
    hpos = host_cfg[PCI_CAPABILITY_LIST];
    for (i = 0; pos && i < 48; i++) {
        g_assert_cmphex(pos, ==, hpos);
        g_assert_cmphex(qpci_config_readb(a.dev, pos), ==,
                        (uint8_t)host_cfg[hpos]);
        pos = qpci_config_readb(a.dev, pos + PCI_CAP_LIST_NEXT);
        hpos = host_cfg[hpos + PCI_CAP_LIST_NEXT];
    }
    g_assert_cmphex(hpos, ==, 0);
    release(&a);
}

static void test_config_space(gconstpointer var)
{
    compare_config(var);
}

static void edu_msi_enable(Assigned *a)
{
    msi_program(a->dev, 0x4321, 0);
}

static void test_edu_msi(void)
{
    Assigned a;
    int i;

    if (!assign(&a, "VFIO_EDU", NULL)) {
        return;
    }
    a.bar0 = qpci_iomap(a.dev, 0, NULL);
    edu_msi_enable(&a);

    for (i = 0; i < 300; i++) {
        qtest_writel(a.qts, MSI_ADDR, 0);
        qpci_io_writel(a.dev, a.bar0, EDU_IRQ_RAISE, 1 << (i % 32));
        if (!wait_for_ram(a.qts, MSI_ADDR, 0x4321)) {
            g_test_message("MSI %d never arrived", i);
            g_assert_not_reached();
        }
        g_assert_cmphex(qpci_io_readl(a.dev, a.bar0, EDU_IRQ_STATUS), ==,
                        1u << (i % 32));
        qpci_io_writel(a.dev, a.bar0, EDU_IRQ_ACK, 1 << (i % 32));
    }
    release(&a);
}

/* Through the IOMMU mapping our listener made: RAM -> edu -> RAM. */
static void test_edu_dma(void)
{
    uint8_t out[1024], in[1024];
    Assigned a;
    int i;

    if (!assign(&a, "VFIO_EDU", NULL)) {
        return;
    }
    a.bar0 = qpci_iomap(a.dev, 0, NULL);
    for (i = 0; i < sizeof(out); i++) {
        out[i] = i * 7 + 3;
    }
    qtest_memwrite(a.qts, DMA_SRC, out, sizeof(out));
    qtest_memset(a.qts, DMA_DST, 0, sizeof(in));

    edu_dma(&a, DMA_SRC, EDU_DMA_BUF, sizeof(out), 1);
    edu_dma(&a, EDU_DMA_BUF, DMA_DST, sizeof(in), 1 | 2);

    qtest_memread(a.qts, DMA_DST, in, sizeof(in));
    g_assert_cmpmem(in, sizeof(in), out, sizeof(out));
    release(&a);
}

/* A failed realize leaves no fd, group or container behind. */
static void test_failed_realize_no_leak(void)
{
    Assigned a;
    pid_t pid;
    int before;

    if (!assign(&a, "VFIO_EDU", NULL)) {
        return;
    }
    pid = qemu_pid();
    before = count_fds(pid, NULL);
    expect_device_add_error(a.qts, a.host, "already assigned");
    expect_device_add_error(a.qts, "0000:99:00.0", "does not exist");
    g_assert_cmpint(count_fds(pid, NULL), ==, before);
    g_assert_cmpint(count_fds(pid, container_path()), ==, 1);
    release(&a);
}

static void test_shared_container(void)
{
    const char *edu = rig_device("VFIO_EDU");
    const char *nvme = rig_device("VFIO_NVME");
    QTestState *qts;
    pid_t pid;

    if (!edu || !nvme) {
        return;
    }
    qts = qtest_initf("-M pc -nodefaults -device vfio-pci,host=%s,addr=04.0 "
                      "-device vfio-pci,host=%s,addr=05.0 %s", edu, nvme,
                      backend_args());
    pid = qemu_pid();
    g_assert_cmpint(count_fds(pid, container_path()), ==, 1);
    g_assert_cmpint(count_fds(pid, "/dev/vfio/") -
                    count_fds(pid, "/dev/vfio/vfio"), ==, 2);
    qtest_quit(qts);
}

/*
 * edu: INTx
 */
static bool assign_q35(Assigned *a, const char *var, const char *extra)
{
    if (!assign_on(a, "q35", var, extra)) {
        return false;
    }
    qtest_irq_intercept_in(a->qts, "ioapic");
    a->bar0 = qpci_iomap(a->dev, 0, NULL);
    return true;
}

/* One INTx: raise, see the pin go high, acknowledge, see it go low. */
static void edu_intx_cycle(Assigned *a, uint32_t bit)
{
    qpci_io_writel(a->dev, a->bar0, EDU_IRQ_RAISE, bit);
    g_assert_true(wait_for_irq(a->qts, SLOT_INTX_GSI, true));
    g_assert_cmphex(qpci_io_readl(a->dev, a->bar0, EDU_IRQ_STATUS), ==, bit);
    qpci_io_writel(a->dev, a->bar0, EDU_IRQ_ACK, bit);
    qpci_io_readl(a->dev, a->bar0, EDU_ID);
    g_assert_true(wait_for_irq(a->qts, SLOT_INTX_GSI, false));
}

static void test_edu_intx(void)
{
    Assigned a;
    int i;

    if (!assign_q35(&a, "VFIO_EDU", NULL)) {
        return;
    }
    for (i = 0; i < 1000; i++) {
        edu_intx_cycle(&a, 1u << (i % 32));
    }
    release(&a);
}

/* INTx -> MSI -> INTx, with nothing stuck or lost on the way. */
static void test_edu_intx_msi_intx(void)
{
    Assigned a;

    if (!assign_q35(&a, "VFIO_EDU", NULL)) {
        return;
    }
    edu_intx_cycle(&a, 1);

    edu_msi_enable(&a);
    qtest_writel(a.qts, MSI_ADDR, 0);
    qpci_io_writel(a.dev, a.bar0, EDU_IRQ_RAISE, 2);
    g_assert_true(wait_for_ram(a.qts, MSI_ADDR, 0x4321));
    g_assert_false(qtest_get_irq(a.qts, SLOT_INTX_GSI));
    qpci_io_writel(a.dev, a.bar0, EDU_IRQ_ACK, 2);

    irq_cap_set_enabled(a.dev, PCI_CAP_ID_MSI, false);
    edu_intx_cycle(&a, 4);
    release(&a);
}

/* The command register's INTx-disable bit holds the pin down. */
static void test_edu_intx_disable_bit(void)
{
    uint16_t cmd;
    Assigned a;

    if (!assign_q35(&a, "VFIO_EDU", NULL)) {
        return;
    }
    cmd = qpci_config_readw(a.dev, PCI_COMMAND);
    qpci_config_writew(a.dev, PCI_COMMAND, cmd | PCI_COMMAND_INTX_DISABLE);
    qpci_io_writel(a.dev, a.bar0, EDU_IRQ_RAISE, 8);
    g_usleep(200 * 1000);
    qtest_clock_step(a.qts, 0);
    g_assert_false(qtest_get_irq(a.qts, SLOT_INTX_GSI));

    /* Clearing it delivers the interrupt that is still pending */
    qpci_config_writew(a.dev, PCI_COMMAND, cmd);
    g_assert_true(wait_for_irq(a.qts, SLOT_INTX_GSI, true));
    qpci_io_writel(a.dev, a.bar0, EDU_IRQ_ACK, 8);
    qpci_io_readl(a.dev, a.bar0, EDU_ID);
    g_assert_true(wait_for_irq(a.qts, SLOT_INTX_GSI, false));
    release(&a);
}

/* Count of traced slow-path BAR reads in QEMU's log so far. */
static int count_traced_reads(const char *log)
{
    g_autofree char *text = NULL;
    char *p;
    int n = 0;

    if (!g_file_get_contents(log, &text, NULL, NULL)) {
        return 0;
    }
    for (p = text; (p = strstr(p, "vfio_bar_read")); p++) {
        n++;
    }
    return n;
}

/* After an INTx the BAR traps; a quiet interval later the mmap is back. */
static void test_edu_intx_mmap_restored(void)
{
    g_autofree char *log = g_strdup_printf("%s/vfio-intx-%d.log",
                                           g_get_tmp_dir(), getpid());
    g_autofree char *extra = g_strdup_printf(
        "x-intx-mmap-timeout-ms=100 -trace enable=vfio_bar_read -D %s", log);
    Assigned a;
    int n;

    if (!assign_q35(&a, "VFIO_EDU", extra)) {
        return;
    }
    edu_intx_cycle(&a, 16);
    n = count_traced_reads(log);
    g_assert_cmpint(n, >, 0);

    qtest_clock_step(a.qts, 500 * 1000 * 1000);
    g_assert_cmphex(qpci_io_readl(a.dev, a.bar0, EDU_ID), ==, 0x010000ed);
    g_assert_cmpint(count_traced_reads(log), ==, n);
    release(&a);
    unlink(log);
}

/*
 * nvme: MSI-X table inside BAR0, admin commands through DMA
 */
#define NVME_CAP        0x00
#define NVME_CC         0x14
#define NVME_CSTS       0x1c
#define NVME_AQA        0x24
#define NVME_ASQ        0x28
#define NVME_ACQ        0x30
#define NVME_SQ0TDBL    0x1000
#define NVME_CQ0HDBL    0x1004          /* CAP.DSTRD is 0 */
#define NVME_ASQ_ADDR   0x500000ULL
#define NVME_ACQ_ADDR   0x501000ULL
#define NVME_BUF_ADDR   0x502000ULL
#define NVME_MSG_DATA   0xbeef

static void msix_set_entry(Assigned *a, MsixInfo *m, int nr, uint32_t data,
                           bool masked)
{
    msix_set_entry_at(a, m, nr, MSI_ADDR, data, masked);
}

static void nvme_wait_ready(Assigned *a, uint32_t rdy)
{
    gint64 end = g_get_monotonic_time() + WAIT_US;

    while ((qpci_io_readl(a->dev, a->bar0, NVME_CSTS) & 1) != rdy) {
        g_assert_cmpint(g_get_monotonic_time(), <, end);
        g_usleep(1000);
    }
}

/* Brings up the admin queues (4 entries each) at fixed guest addresses. */
static void nvme_enable(Assigned *a)
{
    qpci_io_writel(a->dev, a->bar0, NVME_CC, 0);
    nvme_wait_ready(a, 0);
    qtest_memset(a->qts, NVME_ASQ_ADDR, 0, 0x2000);
    qpci_io_writel(a->dev, a->bar0, NVME_AQA, (3 << 16) | 3);
    qpci_io_writeq(a->dev, a->bar0, NVME_ASQ, NVME_ASQ_ADDR);
    qpci_io_writeq(a->dev, a->bar0, NVME_ACQ, NVME_ACQ_ADDR);
    qpci_io_writel(a->dev, a->bar0, NVME_CC, 1 | (6 << 16) | (4 << 20));
    nvme_wait_ready(a, 1);
}

/* Submits Identify Controller in admin SQ slot @slot. */
static void nvme_identify(Assigned *a, int slot)
{
    uint64_t cmd = NVME_ASQ_ADDR + slot * 64;

    qtest_memset(a->qts, cmd, 0, 64);
    qtest_writel(a->qts, cmd, 0x06 | ((slot + 1) << 16));
    qtest_writeq(a->qts, cmd + 24, NVME_BUF_ADDR);
    qtest_writel(a->qts, cmd + 40, 1);
    qpci_io_writel(a->dev, a->bar0, NVME_SQ0TDBL, slot + 1);
}

static bool nvme_completed(Assigned *a, int slot)
{
    uint32_t dw3 = qtest_readl(a->qts, NVME_ACQ_ADDR + slot * 16 + 12);

    return dw3 & (1 << 16);
}

/* @data: the rig device's variable, then any properties after a space */
static void test_nvme_msix_identify(gconstpointer data)
{
    g_auto(GStrv) var = g_strsplit(data, " ", 2);
    char model[15] = { 0 };
    gint64 end;
    MsixInfo m;
    Assigned a;

    if (!assign(&a, var[0], var[1])) {
        return;
    }
    a.bar0 = qpci_iomap(a.dev, 0, NULL);
    msix_info(&a, &m);
    msix_set_entry(&a, &m, 0, NVME_MSG_DATA, false);
    irq_cap_set_enabled(a.dev, PCI_CAP_ID_MSIX, true);
    nvme_enable(&a);

    /* A device-caused interrupt lands at its vector's address */
    qtest_writel(a.qts, MSI_ADDR, 0);
    nvme_identify(&a, 0);
    g_assert_true(wait_for_ram(a.qts, MSI_ADDR, NVME_MSG_DATA));
    g_assert_true(nvme_completed(&a, 0));
    g_assert_cmphex(qtest_readw(a.qts, NVME_BUF_ADDR), ==, 0x1b36);
    qtest_memread(a.qts, NVME_BUF_ADDR + 24, model, sizeof(model) - 1);
    g_assert_cmpstr(model, ==, "QEMU NVMe Ctrl");

    /* A masked vector sets its pending bit and delivers on unmask */
    qtest_writel(a.qts, MSI_ADDR, 0);
    msix_set_entry(&a, &m, 0, NVME_MSG_DATA, true);
    nvme_identify(&a, 1);
    end = g_get_monotonic_time() + WAIT_US;
    while (!(qpci_io_readl(a.dev, m.pba_bar, m.pba_off) & 1)) {
        g_assert_cmpint(g_get_monotonic_time(), <, end);
        g_usleep(1000);
    }
    g_assert_true(nvme_completed(&a, 1));
    g_assert_cmphex(qtest_readl(a.qts, MSI_ADDR), ==, 0);
    msix_set_entry(&a, &m, 0, NVME_MSG_DATA, false);
    g_assert_true(wait_for_ram(a.qts, MSI_ADDR, NVME_MSG_DATA));
    g_assert_cmphex(qpci_io_readl(a.dev, m.pba_bar, m.pba_off) & 1, ==, 0);

    /*
     * Consume both completions: QEMU 7.2's nvme keeps an unconsumed one
     * pending across controller resets, and its INTx would stay up.
     */
    qpci_io_writel(a.dev, a.bar0, NVME_CQ0HDBL, 2);
    release(&a);
}

/* Fills the MSI-X table with masked entries and reads them back. */
static void msix_table_roundtrip(Assigned *a, MsixInfo *m)
{
    int i;

    for (i = 0; i < m->entries; i++) {
        msix_set_entry(a, m, i, 0x1000 + i, true);
    }
    for (i = 0; i < m->entries; i++) {
        uint64_t e = m->table_off + i * PCI_MSIX_ENTRY_SIZE;

        g_assert_cmphex(qpci_io_readl(a->dev, a->bar0,
                                      e + PCI_MSIX_ENTRY_DATA), ==, 0x1000 + i);
    }
}

/* The MSI-X table reads back what the guest wrote, and never reaches the
 * device: with x-no-mmap every BAR access that does is traced. */
static void test_nvme_msix_table_emulated(void)
{
    g_autofree char *log = g_strdup_printf("%s/vfio-bar-%d.log",
                                           g_get_tmp_dir(), getpid());
    g_autofree char *extra = g_strdup_printf(
        "x-no-mmap=on -trace enable=vfio_bar_* -D %s", log);
    g_auto(GStrv) lines = NULL;
    int i, traced = 0;
    MsixInfo m;
    Assigned a;

    if (!assign(&a, "VFIO_NVME", extra)) {
        return;
    }
    a.bar0 = qpci_iomap(a.dev, 0, NULL);
    msix_info(&a, &m);
    msix_table_roundtrip(&a, &m);
    qpci_io_readl(a.dev, a.bar0, NVME_CSTS);     /* one access that does */
    release(&a);

    lines = read_lines(log);
    unlink(log);
    for (i = 0; lines[i]; i++) {
        unsigned int nr, off;
        char *p = strstr(lines[i], "BAR");

        if (!strstr(lines[i], "vfio_bar_") || !p ||
            sscanf(p, "BAR%u+0x%x", &nr, &off) != 2) {
            continue;
        }
        traced++;
        g_assert_false(nr == 0 && off >= m.table_off &&
                       off < m.table_off + m.entries * PCI_MSIX_ENTRY_SIZE);
    }
    g_assert_cmpint(traced, >, 0);
}

/*
 * The kernel lets the nvme's MSI-X table be mmap'd: BAR0 is one window,
 * so the rest of the table's page takes the fast path (no slow-path read
 * is traced there), and QEMU's table lies on top of the window: the guest
 * reads back its own entries, and MSI-X works (msix-identify).
 */
static void test_nvme_msix_mappable(void)
{
    g_autofree char *log = test_log_path("bar-layout");
    g_autofree char *args = g_strdup_printf(
        "-trace enable=vfio_bar_caps -trace enable=vfio_bar_mmap "
        "-trace enable=vfio_bar_read -D %s", log);
    g_autofree char *whole = NULL;
    uint64_t sizes[6], past_table;
    MsixInfo m;
    Assigned a;

    if (!assign_args(&a, "pc", "VFIO_NVME", NULL, args)) {
        return;
    }
    sysfs_bar_sizes(a.host, sizes);
    whole = g_strdup_printf(") BAR 0 mmap at 0x0 size 0x%" PRIx64, sizes[0]);
    g_assert_cmpint(count_log_lines(log, ") BAR 0 MSI-X mappable 1"), ==, 1);
    g_assert_cmpint(count_log_lines(log, ") BAR 0 mmap"), ==, 1);
    g_assert_cmpint(count_log_lines(log, whole), ==, 1);

    a.bar0 = qpci_iomap(a.dev, 0, NULL);
    msix_info(&a, &m);
    msix_table_roundtrip(&a, &m);
    past_table = m.table_off + m.entries * PCI_MSIX_ENTRY_SIZE;
    g_assert_cmpuint(past_table % 4096, !=, 0);
    qpci_io_readl(a.dev, a.bar0, past_table);
    release(&a);
    g_assert_cmpint(count_log_lines(log, "vfio_bar_read"), ==, 0);
    unlink(log);
}

/*
 * The i6300esb's BAR0 is 16 bytes, and the host placed it at the start of
 * a page, which the kernel then keeps for it alone and lets us mmap: the
 * BAR has a fast path, one window of its 16 bytes.
 */
static void test_subpage_bar(void)
{
    g_autofree char *log = test_log_path("subpage");
    g_autofree char *args = g_strdup_printf(
        "-trace enable=vfio_bar_mmap -trace enable=vfio_bar_read -D %s", log);
    uint64_t sizes[6];
    Assigned a;

    if (!assign_args(&a, "pc", "VFIO_WDT", NULL, args)) {
        return;
    }
    sysfs_bar_sizes(a.host, sizes);
    g_assert_cmpuint(sizes[0], <, 4096);
    g_assert_cmpint(count_log_lines(log, ") BAR 0 mmap at 0x0 size 0x10"), ==,
                    1);
    a.bar0 = qpci_iomap(a.dev, 0, NULL);
    qpci_io_readl(a.dev, a.bar0, 0);
    qpci_io_readl(a.dev, a.bar0, 0xc);
    release(&a);
    g_assert_cmpint(count_log_lines(log, "vfio_bar_read"), ==, 0);
    unlink(log);
}

/* One INTx of nvme: the line stays up until the completion is consumed. */
static void nvme_intx_cycle(Assigned *a, int slot)
{
    g_test_message("nvme INTx, admin queue slot %d", slot);
    nvme_identify(a, slot);
    g_assert_true(wait_for_irq(a->qts, SLOT_INTX_GSI, true));
    g_assert_true(nvme_completed(a, slot));
    qpci_io_writel(a->dev, a->bar0, NVME_CQ0HDBL, slot + 1);
    g_assert_true(wait_for_irq(a->qts, SLOT_INTX_GSI, false));
}

/* INTx -> MSI-X -> INTx on a device that keeps its line up until served */
static void test_nvme_intx_msix_intx(void)
{
    MsixInfo m;
    Assigned a;

    if (!assign_q35(&a, "VFIO_NVME", NULL)) {
        return;
    }
    nvme_enable(&a);
    nvme_intx_cycle(&a, 0);

    /* QEMU's nvme binds a queue to its MSI-X vector when it creates it */
    msix_info(&a, &m);
    msix_set_entry(&a, &m, 0, NVME_MSG_DATA, false);
    irq_cap_set_enabled(a.dev, PCI_CAP_ID_MSIX, true);
    nvme_enable(&a);
    qtest_writel(a.qts, MSI_ADDR, 0);
    nvme_identify(&a, 0);
    g_assert_true(wait_for_ram(a.qts, MSI_ADDR, NVME_MSG_DATA));
    g_assert_false(qtest_get_irq(a.qts, SLOT_INTX_GSI));
    qpci_io_writel(a.dev, a.bar0, NVME_CQ0HDBL, 1);

    irq_cap_set_enabled(a.dev, PCI_CAP_ID_MSIX, false);
    nvme_intx_cycle(&a, 1);
    release(&a);
}

/*
 * e1000e: an IO-port BAR and a ROM BAR
 */
#define E1000_STATUS    0x08
#define ROM_ADDR        0xfd000000U

static void test_e1000e_ioport(void)
{
    QPCIBar io;
    Assigned a;

    if (!assign(&a, "VFIO_E1000E", NULL)) {
        return;
    }
    a.bar0 = qpci_iomap(a.dev, 0, NULL);
    io = qpci_iomap(a.dev, 2, NULL);
    g_assert_true(io.is_io);
    /* IOADDR selects a register, IODATA reads it */
    qpci_io_writel(a.dev, io, 0, E1000_STATUS);
    g_assert_cmphex(qpci_io_readl(a.dev, io, 0), ==, E1000_STATUS);
    g_assert_cmphex(qpci_io_readl(a.dev, io, 4), ==,
                    qpci_io_readl(a.dev, a.bar0, E1000_STATUS));
    release(&a);
}

static void test_e1000e_rom(void)
{
    Assigned a;

    if (!assign(&a, "VFIO_E1000E", NULL)) {
        return;
    }
    qpci_config_writel(a.dev, PCI_ROM_ADDRESS, ROM_ADDR | PCI_ROM_ADDRESS_ENABLE);
    g_assert_cmphex(qpci_config_readl(a.dev, PCI_ROM_ADDRESS) &
                    PCI_ROM_ADDRESS_MASK, ==, ROM_ADDR);
    g_assert_cmphex(qtest_readb(a.qts, ROM_ADDR), ==, 0x55);
    g_assert_cmphex(qtest_readb(a.qts, ROM_ADDR + 1), ==, 0xaa);
    release(&a);
}

/*
 * SR-IOV: the rig's second nvme is a physical function with one virtual
 * function, driven by the rig kernel's nvme driver as a production host
 * drives its PF (tests/rig/guest-sriov.sh binds it).  QEMU's emulated
 * nvme starts a VF's secondary controller offline, without queues or
 * vectors: the PF hands it some through Virtualization Management, after
 * giving up its own flexible ones, which takes the PF's function reset.
 */
#define NVME_ADMIN_IDENTIFY     0x06
#define NVME_ADMIN_VIRT_MGMT    0x1c
#define NVME_CNS_SEC_CTRL_LIST  0x15
#define NVME_VIRT_PRIMARY       0x1     /* primary flexible allocation */
#define NVME_VIRT_ASSIGN        0x8     /* secondary assign */
#define NVME_VIRT_ONLINE        0x9     /* secondary online */
#define NVME_VIRT_VQ            0       /* queue resources */
#define NVME_VIRT_VI            1       /* interrupt resources */
#define VF_QUEUES               2       /* admin and one I/O queue */

static void pf_admin(int fd, uint8_t opcode, uint32_t cdw10, uint32_t cdw11,
                     void *buf, uint32_t len)
{
    struct nvme_admin_cmd cmd = {
        .opcode = opcode,
        .cdw10 = cdw10,
        .cdw11 = cdw11,
        .addr = (uintptr_t)buf,
        .data_len = len,
    };
    int ret = ioctl(fd, NVME_IOCTL_ADMIN_CMD, &cmd);

    g_test_message("PF admin 0x%02x cdw10 0x%08x cdw11 %u: %d (%s)", opcode,
                   cdw10, cdw11, ret, ret < 0 ? strerror(errno) : "status");
    g_assert_cmpint(ret, ==, 0);
}

static void virt_mgmt(int fd, uint8_t act, uint8_t rt, uint16_t cntlid,
                      uint32_t nr)
{
    pf_admin(fd, NVME_ADMIN_VIRT_MGMT, act | (rt << 8) | (cntlid << 16), nr,
             NULL, 0);
}

static void sysfs_write(const char *host, const char *file, const char *val)
{
    g_autofree char *path = sysfs_path(host, file);
    int fd = open(path, O_WRONLY);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(write(fd, val, strlen(val)), ==, strlen(val));
    close(fd);
}

/* The nvme char device of the PF, /dev/nvmeN, from its sysfs. */
static char *pf_ctrl_dev(const char *pf)
{
    return sysfs_dev_node(pf, "nvme", "/dev");
}

/* The PF's first VF, once enabled, also in VFIO_NVME_VF. */
static const char *vf_host(void)
{
    const char *pf = g_getenv("VFIO_NVME_PF");
    g_autofree char *virtfn = pf ? sysfs_path(pf, "virtfn0") : NULL;
    g_autofree char *link = virtfn ? g_file_read_link(virtfn, NULL) : NULL;
    g_autofree char *vf = link ? g_path_get_basename(link) : NULL;

    if (vf) {
        g_setenv("VFIO_NVME_VF", vf, true);
    }
    return g_getenv("VFIO_NVME_VF");
}

/*
 * The VF comes up: the PF gives up its flexible resources (function
 * reset), enables one VF without probing a driver for it, hands its
 * secondary controller queues and a vector and puts it online; the VF
 * goes to vfio-pci.
 */
static void test_nvme_vf_online(void)
{
    const char *pf = rig_device("VFIO_NVME_PF");
    g_autofree uint8_t *list = g_malloc0(4096);
    g_autofree char *ctrl = NULL;
    const char *vf;
    uint16_t scid;
    int fd;

    if (!pf) {
        return;
    }
    ctrl = pf_ctrl_dev(pf);
    fd = open(ctrl, O_RDWR);
    g_assert_cmpint(fd, >=, 0);
    virt_mgmt(fd, NVME_VIRT_PRIMARY, NVME_VIRT_VQ, 0, 0);
    virt_mgmt(fd, NVME_VIRT_PRIMARY, NVME_VIRT_VI, 0, 0);
    close(fd);
    sysfs_write(pf, "reset", "1");

    sysfs_write(pf, "sriov_drivers_autoprobe", "0");
    sysfs_write(pf, "sriov_numvfs", "1");
    vf = vf_host();
    g_assert_nonnull(vf);
    g_test_message("PF %s (%s), VF %s", pf, ctrl, vf);

    fd = open(ctrl, O_RDWR);
    g_assert_cmpint(fd, >=, 0);
    pf_admin(fd, NVME_ADMIN_IDENTIFY, NVME_CNS_SEC_CTRL_LIST, 0, list, 4096);
    g_assert_cmpint(list[0], >=, 1);
    scid = lduw_le_p(list + 32);
    virt_mgmt(fd, NVME_VIRT_ASSIGN, NVME_VIRT_VQ, scid, VF_QUEUES);
    virt_mgmt(fd, NVME_VIRT_ASSIGN, NVME_VIRT_VI, scid, 1);
    virt_mgmt(fd, NVME_VIRT_ONLINE, 0, scid, 0);
    close(fd);

    sysfs_write(vf, "driver_override", "vfio-pci");
    fd = open("/sys/bus/pci/drivers_probe", O_WRONLY);
    g_assert_cmpint(write(fd, vf, strlen(vf)), ==, strlen(vf));
    close(fd);
}

/* The VF's own tests need it online and on vfio-pci. */
static bool vf_ready(void)
{
    if (!vf_host()) {
        g_test_message("no VF: nvme-vf/online failed");
        g_test_fail();
        return false;
    }
    return true;
}

static void test_nvme_vf_config(void)
{
    if (vf_ready()) {
        compare_config("VFIO_NVME_VF");
    }
}

static void test_nvme_vf_bar_sizes(void)
{
    if (vf_ready()) {
        compare_bar_sizes("VFIO_NVME_VF");
    }
}

static void test_nvme_vf_msix_identify(void)
{
    if (vf_ready()) {
        test_nvme_msix_identify("VFIO_NVME_VF");
    }
}

/* Back as it was: no VF, the PF's driver keeps it. */
static void test_nvme_vf_remove(void)
{
    const char *pf = rig_device("VFIO_NVME_PF");

    if (pf) {
        sysfs_write(pf, "sriov_numvfs", "0");
    }
}

static void add_sriov_tests(void)
{
    qtest_add_func("/vfio-pci/rig/nvme-vf/online", test_nvme_vf_online);
    qtest_add_func("/vfio-pci/rig/nvme-vf/config", test_nvme_vf_config);
    qtest_add_func("/vfio-pci/rig/nvme-vf/bar-sizes", test_nvme_vf_bar_sizes);
    qtest_add_func("/vfio-pci/rig/nvme-vf/msix-identify",
                   test_nvme_vf_msix_identify);
    qtest_add_func("/vfio-pci/rig/nvme-vf/remove", test_nvme_vf_remove);
}

/*
 * The VF token.  VFIO_VF_TOKEN=1 (tests/rig/guest-sriov.sh): the SR-IOV
 * nvme PF is on vfio-pci with vfio-pci's enable_sriov on, and has no VF
 * yet.  Its user sets the token, which outlives it; the VF that then
 * comes (vfio-pci binds its own PF's VFs) opens only with that token,
 * and the PF, while the VF is open, only with it too.  The PF takes the
 * token before it has a VF, as its realize resets it, which drops its
 * VFs (the kernel brings them back) under whoever holds them.
 */
#define VF_TOKEN        "5a6b7c8d-1e2f-4a5b-8c9d-0e1f2a3b4c5d"
#define VF_TOKEN_OTHER  "5a6b7c8d-1e2f-4a5b-8c9d-0e1f2a3b4c5e"

static void test_vf_token_malformed(void)
{
    run_qemu_expect_failure("vfio-pci,host=0000:99:00.0,vf-token=12345678",
                            "vf-token '12345678' is not a UUID");
    run_qemu_expect_failure("vfio-pci,host=0000:99:00.0,"
                            "vf-token=" VF_TOKEN "0",
                            "vf-token '" VF_TOKEN "0' is not a UUID");
}

/* The PF, where the rig set up the VF token's cases; else a skip */
static const char *vf_token_pf(bool cdev)
{
    if (g_strcmp0(g_getenv("VFIO_VF_TOKEN"), "1")) {
        g_test_skip("needs the rig's SR-IOV PF on vfio-pci with "
                    "enable_sriov on (VFIO_VF_TOKEN=1, guest-sriov.sh)");
        return NULL;
    }
    if (backend_iommufd() != cdev) {
        g_test_skip(cdev ? "the cdev path's case: the rig kernel's boot" :
                    "a case of the group path: the legacy backend");
        return NULL;
    }
    return rig_device("VFIO_NVME_PF");
}

static char *sysfs_link_name(const char *host, const char *file)
{
    g_autofree char *path = sysfs_path(host, file);
    g_autofree char *link = g_file_read_link(path, NULL);

    return link ? g_path_get_basename(link) : NULL;
}

/* The PF's VF, which the token cases need on vfio-pci */
static const char *vf_token_vf(void)
{
    const char *pf = vf_token_pf(false);
    const char *vf = pf ? vf_host() : NULL;
    g_autofree char *driver = vf ? sysfs_link_name(vf, "driver") : NULL;

    if (pf && g_strcmp0(driver, "vfio-pci")) {
        g_test_message("VF %s on %s: vf-token/vf-create failed", vf, driver);
        g_test_fail();
        return NULL;
    }
    return vf;
}

/* A realize that the PF's token lets through, and the VM that runs */
static void vf_token_assign(const char *var, const char *token)
{
    g_autofree char *props = g_strdup_printf("vf-token=%s", token);
    Assigned a;

    if (assign(&a, var, props)) {
        g_assert_cmphex(qpci_config_readw(a.dev, PCI_VENDOR_ID), ==, 0x1b36);
        release(&a);
    }
}

static void test_vf_token_pf_sets(void)
{
    if (vf_token_pf(false)) {
        vf_token_assign("VFIO_NVME_PF", VF_TOKEN);
    }
}

/* vfio-pci gives its PF's new VF a driver_override of vfio-pci */
static void test_vf_token_vf_create(void)
{
    const char *pf = vf_token_pf(false);
    g_autofree char *driver = NULL;
    const char *vf;
    int i;

    if (!pf) {
        return;
    }
    sysfs_write(pf, "sriov_numvfs", "1");
    vf = vf_host();
    g_assert_nonnull(vf);
    for (i = 0; i < 100 && g_strcmp0(driver, "vfio-pci"); i++) {
        g_free(driver);
        driver = sysfs_link_name(vf, "driver");
        g_usleep(50 * 1000);
    }
    g_test_message("PF %s, VF %s on %s", pf, vf, driver);
    g_assert_cmpstr(driver, ==, "vfio-pci");
}

static void test_vf_token_vf_right(void)
{
    if (vf_token_vf()) {
        vf_token_assign("VFIO_NVME_VF", VF_TOKEN);
    }
}

/* @props on the VF: QEMU refuses it, saying @want */
static void vf_token_refused(const char *host, const char *props,
                             const char *want)
{
    g_autofree char *args = g_strdup_printf("-device vfio-pci,host=%s%s",
                                            host, props);

    qemu_refuses("pc", args, want);
}

static void test_vf_token_vf_none(void)
{
    const char *vf = vf_token_vf();
    g_autofree char *want = NULL;

    if (vf) {
        want = g_strdup_printf("the VF's PF %s is bound to vfio-pci: give "
                               "the PF's VF token with vf-token=<uuid>",
                               g_getenv("VFIO_NVME_PF"));
        vf_token_refused(vf, "", want);
    }
}

static void test_vf_token_vf_wrong(void)
{
    const char *vf = vf_token_vf();
    g_autofree char *want = NULL;

    if (vf) {
        want = g_strdup_printf("the PF %s has another VF token",
                               g_getenv("VFIO_NVME_PF"));
        vf_token_refused(vf, ",vf-token=" VF_TOKEN_OTHER, want);
    }
}

/* While its VF is open, the PF's token is the VF's: it must be shown */
static void test_vf_token_pf_vfs_in_use(void)
{
    const char *vf = vf_token_vf();
    const char *pf = g_getenv("VFIO_NVME_PF");
    Assigned a;

    if (!vf || !assign(&a, "VFIO_NVME_VF", "vf-token=" VF_TOKEN)) {
        return;
    }
    vf_token_refused(pf, "", "its VFs are in use: give their VF token "
                     "with vf-token=<uuid>");
    vf_token_refused(pf, ",vf-token=" VF_TOKEN_OTHER,
                     "its VFs are in use with another VF token");
    release(&a);
}

/* A token on a device outside SR-IOV: the kernel's EINVAL, explained */
static void test_vf_token_not_sriov(void)
{
    g_autofree char *want = NULL;
    const char *edu;

    if (!vf_token_pf(false) || !(edu = rig_device("VFIO_EDU"))) {
        return;
    }
    want = g_strdup_printf("vf-token is only for an SR-IOV PF or VF, which "
                           "%s is not", edu);
    vf_token_refused(edu, ",vf-token=" VF_TOKEN, want);
}

static void test_vf_token_vf_remove(void)
{
    const char *pf = vf_token_pf(false);

    if (pf) {
        sysfs_write(pf, "sriov_numvfs", "0");
    }
}

/*
 * The cdev path: Linux 6.17 takes the token in VFIO_DEVICE_BIND_IOMMUFD
 * (VFIO_DEVICE_BIND_FLAG_TOKEN); an earlier kernel refuses the flag, and
 * QEMU says what to do instead.
 */
static void test_vf_token_cdev(void)
{
    const char *pf = vf_token_pf(true);
    g_autofree char *args = NULL;
    struct utsname u;
    int major, minor;

    if (!pf) {
        return;
    }
    g_assert_cmpint(uname(&u), ==, 0);
    g_assert_cmpint(sscanf(u.release, "%d.%d", &major, &minor), ==, 2);
    g_test_message("kernel %s", u.release);
    if (major > 6 || (major == 6 && minor >= 17)) {
        vf_token_assign("VFIO_NVME_PF", VF_TOKEN);
        return;
    }
    args = g_strdup_printf("-object iommufd,id=ifd0 -device vfio-pci,host=%s,"
                           "iommufd=ifd0,vf-token=" VF_TOKEN, pf);
    qemu_refuses("pc", args, "this kernel cannot take a VF token on the "
                 "cdev path (VFIO_DEVICE_BIND_FLAG_TOKEN, Linux 6.17)");
}

static void add_vf_token_tests(void)
{
    qtest_add_func("/vfio-pci/rig/vf-token/pf-sets", test_vf_token_pf_sets);
    qtest_add_func("/vfio-pci/rig/vf-token/vf-create",
                   test_vf_token_vf_create);
    qtest_add_func("/vfio-pci/rig/vf-token/vf-right",
                   test_vf_token_vf_right);
    qtest_add_func("/vfio-pci/rig/vf-token/vf-none", test_vf_token_vf_none);
    qtest_add_func("/vfio-pci/rig/vf-token/vf-wrong",
                   test_vf_token_vf_wrong);
    qtest_add_func("/vfio-pci/rig/vf-token/pf-vfs-in-use",
                   test_vf_token_pf_vfs_in_use);
    qtest_add_func("/vfio-pci/rig/vf-token/not-sriov",
                   test_vf_token_not_sriov);
    qtest_add_func("/vfio-pci/rig/vf-token/vf-remove",
                   test_vf_token_vf_remove);
    qtest_add_func("/vfio-pci/rig/vf-token/cdev", test_vf_token_cdev);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    qtest_add_func("/vfio-pci/host/missing-device", test_missing_host_device);
    qtest_add_func("/vfio-pci/host/no-host", test_no_host_property);
    qtest_add_func("/vfio-pci/host/malformed-host", test_malformed_host);
    qtest_add_func("/vfio-pci/host/device-add-missing",
                   test_device_add_missing);
    qtest_add_func("/vfio-pci/host/vf-token-malformed",
                   test_vf_token_malformed);
    /* Skipped, saying why, unless the rig set them up (VFIO_VF_TOKEN=1) */
    add_vf_token_tests();

    if (g_strcmp0(g_getenv("VFIO_RIG"), "1")) {
        return g_test_run();
    }
    /* tests/rig/guest-sriov.sh runs these alone, the PF on vfio-pci */
    if (!g_strcmp0(g_getenv("VFIO_VF_TOKEN"), "1")) {
        return g_test_run();
    }
    /* tests/rig/guest-sriov.sh runs these alone, once the PF is ready */
    if (!g_strcmp0(g_getenv("VFIO_SRIOV"), "1")) {
        add_sriov_tests();
        return g_test_run();
    }

    qtest_add_func("/vfio-pci/rig/edu/identity", test_edu_identity);
    qtest_add_func("/vfio-pci/rig/edu/mmio-fast", test_edu_mmio_fast);
    qtest_add_func("/vfio-pci/rig/edu/mmio-slow", test_edu_mmio_slow);
    qtest_add_data_func("/vfio-pci/rig/edu/bar-sizes", "VFIO_EDU",
                        test_bar_sizes);
    qtest_add_data_func("/vfio-pci/rig/edu/config", "VFIO_EDU",
                        test_config_space);
    qtest_add_func("/vfio-pci/rig/edu/msi", test_edu_msi);
    qtest_add_func("/vfio-pci/rig/edu/dma", test_edu_dma);
    qtest_add_func("/vfio-pci/rig/edu/intx", test_edu_intx);
    qtest_add_func("/vfio-pci/rig/edu/intx-msi-intx", test_edu_intx_msi_intx);
    qtest_add_func("/vfio-pci/rig/edu/intx-disable-bit",
                   test_edu_intx_disable_bit);
    qtest_add_func("/vfio-pci/rig/edu/intx-mmap-restored",
                   test_edu_intx_mmap_restored);
    qtest_add_func("/vfio-pci/rig/edu/failed-realize-no-leak",
                   test_failed_realize_no_leak);
    qtest_add_data_func("/vfio-pci/rig/nvme/bar-sizes", "VFIO_NVME",
                        test_bar_sizes);
    qtest_add_data_func("/vfio-pci/rig/nvme/config", "VFIO_NVME",
                        test_config_space);
    qtest_add_data_func("/vfio-pci/rig/e1000e/bar-sizes", "VFIO_E1000E",
                        test_bar_sizes);
    qtest_add_data_func("/vfio-pci/rig/e1000e/config", "VFIO_E1000E",
                        test_config_space);
    qtest_add_data_func("/vfio-pci/rig/nvme/msix-identify", "VFIO_NVME",
                        test_nvme_msix_identify);
    /* The table and PBA in a new BAR (auto), or above nvme's own BAR0 */
    qtest_add_data_func("/vfio-pci/rig/nvme/msix-relocated-bar0",
                        "VFIO_NVME x-msix-relocation=bar0",
                        test_nvme_msix_identify);
    qtest_add_data_func("/vfio-pci/rig/nvme/msix-relocated-auto",
                        "VFIO_NVME x-msix-relocation=auto",
                        test_nvme_msix_identify);
    qtest_add_func("/vfio-pci/rig/nvme/msix-table-emulated",
                   test_nvme_msix_table_emulated);
    qtest_add_func("/vfio-pci/rig/nvme/msix-mappable",
                   test_nvme_msix_mappable);
    qtest_add_func("/vfio-pci/rig/nvme/intx-msix-intx",
                   test_nvme_intx_msix_intx);
    qtest_add_func("/vfio-pci/rig/wdt/subpage-bar", test_subpage_bar);
    qtest_add_func("/vfio-pci/rig/e1000e/ioport", test_e1000e_ioport);
    qtest_add_func("/vfio-pci/rig/e1000e/rom", test_e1000e_rom);
    qtest_add_func("/vfio-pci/rig/shared-container", test_shared_container);

    return g_test_run();
}
