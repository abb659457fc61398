/*
 * QTest testcases for vfio-pci: a guest cannot hurt QEMU or the host
 *
 * Random config-space writes and random BAR accesses of odd sizes and
 * offsets to assigned rig devices, from a fixed seed (VFIO_FUZZ_SEED picks
 * another; VFIO_FUZZ_PERCENT makes that many percent of each case's
 * accesses).  QEMU must stay up and the device's BAR registers on the host
 * (what the rig's kernel sees in sysfs) must not change.  Then the
 * accesses that QEMU refuses are checked one by one: each is a logged guest
 * error, never an abort.
 *
 * edu is only fuzzed in config space: a DMA of 4096 bytes or more through
 * its BAR aborts the QEMU 7.2 that emulates edu in the rig.  The e1000e
 * and the nvme are fuzzed through q35's ECAM too, extended space and all.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "hw/pci/pci_regs.h"
#include "qemu/bswap.h"
#include "vfio-pci-util.h"

#define FUZZ_SEED       0x5eed0005u
#define CONFIG_WRITES   10000
#define BAR_ACCESSES    10000
#define EXPRESS_WRITES  8000
#define PCIE_CONFIG_SIZE    4096
#define PCIE_CONFIG_DWORDS  (PCIE_CONFIG_SIZE / 4)
#define EXT_CAPS_MAX    960     /* dword-aligned places in 0x100-0xfff */
#define HOST_BARS       PCI_BASE_ADDRESS_0
#define HOST_BARS_LEN   (PCI_BASE_ADDRESS_5 + 4 - PCI_BASE_ADDRESS_0)

#define PM_D3HOT        3               /* PCI_PM_CTRL power state */

#define E1000_STATUS    0x08
#define E1000_IO_BAR    2
#define E1000_MSIX_BAR  3

/*
 * Helpers
 */
static GRand *fuzz_rand(void)
{
    const char *env = g_getenv("VFIO_FUZZ_SEED");
    guint32 seed = env ? strtoul(env, NULL, 0) : FUZZ_SEED;

    g_test_message("seed 0x%08x (VFIO_FUZZ_SEED=0x%08x repeats this run)",
                   seed, seed);
    return g_rand_new_with_seed(seed);
}

/* @n accesses, or VFIO_FUZZ_PERCENT of them (at least one) */
static int fuzz_count(int n)
{
    const char *env = g_getenv("VFIO_FUZZ_PERCENT");

    return env ? MAX(1, n * (int)strtoul(env, NULL, 0) / 100) : n;
}

/* The BAR registers of @host as the host kernel reads them. */
static void host_bars(const char *host, uint8_t *regs)
{
    g_autofree char *path = sysfs_path(host, "config");
    g_autofree char *cfg = NULL;
    gsize len;

    g_assert_true(g_file_get_contents(path, &cfg, &len, NULL));
    g_assert_cmpuint(len, >=, HOST_BARS + HOST_BARS_LEN);
    memcpy(regs, cfg + HOST_BARS, HOST_BARS_LEN);
}

static void assert_host_bars(const char *host, const uint8_t *before)
{
    uint8_t now[HOST_BARS_LEN];
    int i;

    host_bars(host, now);
    for (i = 0; i < HOST_BARS_LEN; i += 4) {
        g_test_message("host BAR %d: 0x%08x, before 0x%08x", i / 4,
                       ldl_le_p(now + i), ldl_le_p(before + i));
    }
    g_assert_cmpmem(now, HOST_BARS_LEN, before, HOST_BARS_LEN);
}

static int random_size(GRand *r, int max)
{
    int size = 1 << g_rand_int_range(r, 0, 4);

    return MIN(size, max);
}

static void config_write(QPCIDevice *dev, uint8_t off, int size, uint32_t val)
{
    switch (size) {
    case 1:
        qpci_config_writeb(dev, off, val);
        break;
    case 2:
        qpci_config_writew(dev, off, val);
        break;
    default:
        qpci_config_writel(dev, off, val);
        break;
    }
}

static void config_read(QPCIDevice *dev, uint8_t off, int size)
{
    switch (size) {
    case 1:
        qpci_config_readb(dev, off);
        break;
    case 2:
        qpci_config_readw(dev, off);
        break;
    default:
        qpci_config_readl(dev, off);
        break;
    }
}

static void bar_write(QPCIDevice *dev, QPCIBar bar, uint64_t off, int size,
                      uint64_t val)
{
    switch (size) {
    case 1:
        qpci_io_writeb(dev, bar, off, val);
        break;
    case 2:
        qpci_io_writew(dev, bar, off, val);
        break;
    case 4:
        qpci_io_writel(dev, bar, off, val);
        break;
    default:
        qpci_io_writeq(dev, bar, off, val);
        break;
    }
}

static uint64_t bar_read(QPCIDevice *dev, QPCIBar bar, uint64_t off, int size)
{
    switch (size) {
    case 1:
        return qpci_io_readb(dev, bar, off);
    case 2:
        return qpci_io_readw(dev, bar, off);
    case 4:
        return qpci_io_readl(dev, bar, off);
    default:
        return qpci_io_readq(dev, bar, off);
    }
}

/*
 * Whatever the guest did, QEMU said each thing at most once: what a guest
 * can cause again and again is reported once per cause, and the host is
 * never asked to disable an interrupt index it does not have enabled.
 */
static void assert_no_flood(const char *log)
{
    g_auto(GStrv) lines = read_lines(log);
    g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
    int i, repeats = 0;

    for (i = 0; lines[i]; i++) {
        if (!*lines[i]) {
            continue;
        }
        if (g_hash_table_contains(seen, lines[i])) {
            g_test_message("said again: %s", lines[i]);
            repeats++;
        }
        g_hash_table_add(seen, lines[i]);
    }
    g_test_message("QEMU said %u different things", g_hash_table_size(seen));
    g_assert_cmpint(repeats, ==, 0);
    g_assert_cmpint(count_log_lines(log, "failed to disable irq index"), ==,
                    0);
}

/*
 * Config space: 10,000 writes at random offsets, of random sizes and
 * values, with a read now and then.  The BARs may move or vanish, MSI may
 * come and go: none of it may reach the host's BAR registers.
 */
/* A read of VGA text memory and of a VGA register, mapped or not */
static void legacy_vga_touch(Assigned *a, GRand *r)
{
    qtest_readw(a->qts, 0xb8000 + g_rand_int_range(r, 0, 0x1000) * 2);
    qtest_inb(a->qts, 0x3cc);
}

static void fuzz_config(const char *var, const char *props)
{
    g_autofree char *log = test_log_path("fuzz-config");
    g_autoptr(GRand) r = NULL;
    uint8_t before[HOST_BARS_LEN];
    int writes = fuzz_count(CONFIG_WRITES);
    Assigned a;
    int i;

    if (!assign_logged(&a, "pc", var, props, NULL, log)) {
        return;
    }
    r = fuzz_rand();
    host_bars(a.host, before);

    for (i = 0; i < writes; i++) {
        uint8_t off = g_rand_int_range(r, 0, PCI_CFG_SPACE_SIZE);
        int size = random_size(r, 4);

        config_write(a.dev, off, size, g_rand_int(r));
        if (g_rand_int_range(r, 0, 8) == 0) {
            config_read(a.dev, g_rand_int_range(r, 0, PCI_CFG_SPACE_SIZE),
                        random_size(r, 4));
        }
        if (props && g_rand_int_range(r, 0, 8) == 0) {
            legacy_vga_touch(&a, r);
        }
        if (i % 1000 == 999) {
            assert_qemu_alive(a.qts);
        }
    }
    g_test_message("%d config writes to %s", writes, a.host);

    assert_qemu_alive(a.qts);
    g_assert_cmphex(qpci_config_readw(a.dev, PCI_VENDOR_ID), !=, 0xffff);
    assert_host_bars(a.host, before);
    release(&a);
    assert_no_flood(log);
    unlink(log);
}

static void test_fuzz_config(gconstpointer var)
{
    fuzz_config(var, NULL);
}

/*
 * A VGA-class device with its legacy ranges: the command register's
 * random flips map and unmap them, and the guest touches them meanwhile.
 * Shown as NVIDIA's, it has the quirks' windows and capability too.
 */
static void test_fuzz_config_vga(gconstpointer props)
{
    fuzz_config("VFIO_VGA", props);
}

/* Maps every BAR the host device has; returns how many. */
static int map_bars(Assigned *a, QPCIBar *bars, uint64_t *sizes)
{
    uint64_t host_sizes[PCI_STD_NUM_BARS];
    int i, n = 0;

    sysfs_bar_sizes(a->host, host_sizes);
    for (i = 0; i < PCI_STD_NUM_BARS; i++) {
        if (!host_sizes[i]) {
            continue;
        }
        bars[n] = qpci_iomap(a->dev, i, &sizes[n]);
        g_test_message("BAR %d: %s, 0x%" PRIx64 " bytes", i,
                       bars[n].is_io ? "I/O" : "MMIO", sizes[n]);
        n++;
    }
    g_assert_cmpint(n, >, 0);
    return n;
}

/*
 * A read or write of 1, 2, 4 or 8 bytes at a random offset of a random
 * BAR; it may run past the BAR's end.  Port I/O goes out as at most 4
 * bytes, as an x86 guest can.
 */
static void bar_access(Assigned *a, GRand *r, QPCIBar *bars, uint64_t *sizes,
                       int n)
{
    int b = g_rand_int_range(r, 0, n);
    uint64_t off = g_rand_int_range(r, 0, sizes[b]);
    int size = random_size(r, bars[b].is_io ? 4 : 8);
    uint64_t val = (uint64_t)g_rand_int(r) << 32 | g_rand_int(r);

    if (g_rand_boolean(r)) {
        bar_write(a->dev, bars[b], off, size, val);
    } else {
        bar_read(a->dev, bars[b], off, size);
    }
}

/* BARs: 10,000 random accesses to the BARs of a device. */
static void fuzz_bars(const char *var)
{
    g_autoptr(GRand) r = NULL;
    uint8_t before[HOST_BARS_LEN];
    QPCIBar bars[PCI_STD_NUM_BARS];
    uint64_t sizes[PCI_STD_NUM_BARS];
    int accesses = fuzz_count(BAR_ACCESSES);
    Assigned a;
    int i, n;

    if (!assign(&a, var, NULL)) {
        return;
    }
    r = fuzz_rand();
    host_bars(a.host, before);
    n = map_bars(&a, bars, sizes);

    for (i = 0; i < accesses; i++) {
        bar_access(&a, r, bars, sizes, n);
        if (i % 1000 == 999) {
            assert_qemu_alive(a.qts);
        }
    }
    g_test_message("%d accesses to %d BARs of %s", accesses, n, a.host);

    assert_qemu_alive(a.qts);
    g_assert_cmphex(qpci_config_readw(a.dev, PCI_VENDOR_ID), !=, 0xffff);
    assert_host_bars(a.host, before);
    release(&a);
}

static void test_fuzz_bars(gconstpointer var)
{
    fuzz_bars(var);
}

/*
 * Power management: in D3hot the host kernel faults every access to the
 * BARs' mmaps.  The guest reads all ones, as from real hardware, and the
 * device is back to normal in D0.
 */
static void test_e1000e_d3hot(void)
{
    uint8_t pm;
    uint16_t pmcsr;
    QPCIBar msix;
    Assigned a;

    if (!assign(&a, "VFIO_E1000E", NULL)) {
        return;
    }
    a.bar0 = qpci_iomap(a.dev, 0, NULL);
    msix = qpci_iomap(a.dev, E1000_MSIX_BAR, NULL);
    pm = qpci_find_capability(a.dev, PCI_CAP_ID_PM, 0);
    g_assert_cmphex(pm, !=, 0);
    pmcsr = qpci_config_readw(a.dev, pm + PCI_PM_CTRL);
    g_assert_cmphex(qpci_io_readl(a.dev, a.bar0, E1000_STATUS), !=,
                    0xffffffff);

    qpci_config_writew(a.dev, pm + PCI_PM_CTRL, pmcsr | PM_D3HOT);
    g_assert_cmphex(qpci_config_readw(a.dev, pm + PCI_PM_CTRL) &
                    PCI_PM_CTRL_STATE_MASK, ==, PM_D3HOT);
    g_assert_cmphex(qpci_io_readl(a.dev, a.bar0, E1000_STATUS), ==,
                    0xffffffff);
    qpci_io_writel(a.dev, a.bar0, E1000_STATUS, 0);
    qpci_io_readq(a.dev, msix, 0x1000);
    assert_qemu_alive(a.qts);

    qpci_config_writew(a.dev, pm + PCI_PM_CTRL,
                       pmcsr & ~PCI_PM_CTRL_STATE_MASK);
    g_assert_cmphex(qpci_io_readl(a.dev, a.bar0, E1000_STATUS), !=,
                    0xffffffff);
    release(&a);
}

/*
 * MSI and MSI-X
 */
static void msix_set_mask(QPCIDevice *dev, int nr, bool masked)
{
    qpci_io_writel(dev, dev->msix_table_bar, dev->msix_table_off +
                   nr * PCI_MSIX_ENTRY_SIZE + PCI_MSIX_ENTRY_VECTOR_CTRL,
                   masked);
}

static void msi_set_enabled(QPCIDevice *dev, bool on)
{
    uint8_t cap = qpci_find_capability(dev, PCI_CAP_ID_MSI, 0);

    qpci_config_writel(dev, cap + PCI_MSI_ADDRESS_LO, 0x200000);
    irq_cap_set_enabled(dev, PCI_CAP_ID_MSI, on);
}

/*
 * A guest driver may switch between INTx, MSI and MSI-X in any order, with
 * both enabled at once, and mask vectors of the one it is not using: QEMU
 * neither crashes nor leaks an eventfd.
 */
static void test_e1000e_msi_msix_mix(void)
{
    Assigned a;
    pid_t pid;
    int fds, i;

    if (!assign(&a, "VFIO_E1000E", NULL)) {
        return;
    }
    pid = qemu_pid();
    fds = count_fds(pid, NULL);

    qpci_msix_enable(a.dev);
    msix_set_mask(a.dev, 0, false);         /* MSI-X owns the host's irqs */
    msi_set_enabled(a.dev, true);           /* MSI takes them */
    msi_set_enabled(a.dev, false);          /* back to INTx */
    msix_set_mask(a.dev, 0, true);          /* a vector of neither */
    msix_set_mask(a.dev, 1, false);         /* MSI-X takes them again */
    msi_set_enabled(a.dev, true);
    qpci_msix_disable(a.dev);               /* not the owner: no change */
    msi_set_enabled(a.dev, false);
    assert_qemu_alive(a.qts);
    g_assert_cmpint(count_fds(pid, NULL), ==, fds);

    /* MSI-X on and off with every vector masked: INTx stays as it was */
    msix_set_mask(a.dev, 1, true);
    for (i = 0; i < 20; i++) {
        qpci_msix_enable(a.dev);
        qpci_msix_disable(a.dev);
    }
    g_assert_cmpint(count_fds(pid, NULL), ==, fds);
    assert_qemu_alive(a.qts);
    release(&a);
}

/*
 * QEMU emulates the MSI-X table and PBA.  Accesses of a size they refuse
 * are logged guest errors that change nothing; the rest of the table's
 * page goes to the device, and the PBA ignores writes.
 */
static void test_e1000e_msix_out_of_range(void)
{
    g_autofree char *log = g_strdup_printf("%s/vfio-msix-%d.log",
                                           g_get_tmp_dir(), getpid());
    g_autofree char *args = g_strdup_printf("-d guest_errors -D %s", log);
    uint8_t cap;
    uint64_t e, off;
    int entries, i;
    Assigned a;

    if (!assign_args(&a, "pc", "VFIO_E1000E", NULL, args)) {
        return;
    }
    cap = qpci_find_capability(a.dev, PCI_CAP_ID_MSIX, 0);
    entries = (qpci_config_readw(a.dev, cap + PCI_MSIX_FLAGS) &
               PCI_MSIX_FLAGS_QSIZE) + 1;
    qpci_msix_enable(a.dev);
    for (i = 0; i < entries; i++) {
        e = a.dev->msix_table_off + i * PCI_MSIX_ENTRY_SIZE;
        qpci_io_writel(a.dev, a.dev->msix_table_bar,
                       e + PCI_MSIX_ENTRY_DATA, 0x1000 + i);
    }

    for (i = 0; i < entries; i++) {
        e = a.dev->msix_table_off + i * PCI_MSIX_ENTRY_SIZE;
        for (off = 0; off < PCI_MSIX_ENTRY_SIZE; off++) {
            qpci_io_writeb(a.dev, a.dev->msix_table_bar, e + off, 0xa5);
            qpci_io_writew(a.dev, a.dev->msix_table_bar, e + off, 0xa5a5);
            qpci_io_readb(a.dev, a.dev->msix_table_bar, e + off);
            qpci_io_readw(a.dev, a.dev->msix_table_bar, e + off);
        }
    }
    for (i = 0; i < entries; i++) {
        e = a.dev->msix_table_off + i * PCI_MSIX_ENTRY_SIZE;
        g_assert_cmphex(qpci_io_readl(a.dev, a.dev->msix_table_bar,
                                      e + PCI_MSIX_ENTRY_DATA), ==, 0x1000 + i);
        g_assert_true(qpci_msix_masked(a.dev, i));
    }

    /* Entries the device does not have */
    e = a.dev->msix_table_off + entries * PCI_MSIX_ENTRY_SIZE;
    for (off = 0; off < 4 * PCI_MSIX_ENTRY_SIZE; off += 4) {
        qpci_io_writel(a.dev, a.dev->msix_table_bar, e + off, 0);
        qpci_io_readl(a.dev, a.dev->msix_table_bar, e + off);
    }
    qpci_io_writeq(a.dev, a.dev->msix_table_bar, e - 4, ~0ULL);

    /* The PBA is read-only */
    qpci_io_writel(a.dev, a.dev->msix_pba_bar, a.dev->msix_pba_off, ~0U);
    g_assert_cmphex(qpci_io_readl(a.dev, a.dev->msix_pba_bar,
                                  a.dev->msix_pba_off), ==, 0);
    assert_qemu_alive(a.qts);
    release(&a);

    g_assert_cmpint(count_log_lines(log, "region 'msix-table', reason: "
                                    "invalid size"), >=,
                    entries * PCI_MSIX_ENTRY_SIZE * 4);
    unlink(log);
}

/*
 * e1000e's I/O BAR, 32 bytes: every size an x86 guest can issue (1, 2 and
 * 4 bytes; it has no 8-byte port access, so libqos sends two 4-byte ones)
 * at every offset, past the end too.  The BAR still works afterwards.
 */
static void test_e1000e_ioport_sizes(void)
{
    QPCIBar io;
    uint64_t size, off;
    Assigned a;

    if (!assign(&a, "VFIO_E1000E", NULL)) {
        return;
    }
    a.bar0 = qpci_iomap(a.dev, 0, NULL);
    io = qpci_iomap(a.dev, E1000_IO_BAR, &size);
    g_assert_true(io.is_io);

    for (off = 0; off < size + 4; off++) {
        qpci_io_readb(a.dev, io, off);
        qpci_io_readw(a.dev, io, off);
        qpci_io_readl(a.dev, io, off);
        qpci_io_readq(a.dev, io, off);
        if (off >= 4) {       /* not the IOADDR register */
            qpci_io_writeb(a.dev, io, off, 0);
            qpci_io_writew(a.dev, io, off, 0);
            qpci_io_writel(a.dev, io, off, 0);
        }
    }
    qpci_io_writeq(a.dev, io, size - 4, 0);
    assert_qemu_alive(a.qts);

    qpci_io_writel(a.dev, io, 0, E1000_STATUS);
    g_assert_cmphex(qpci_io_readl(a.dev, io, 4), ==,
                    qpci_io_readl(a.dev, a.bar0, E1000_STATUS));
    release(&a);
}

/*
 * Both at once: each random config write is followed by a random BAR
 * access.  Power states, MSI and MSI-X, the command register and BARs that
 * move all meet the BAR accesses; every 500 writes the BARs and the
 * command register are put back, so that the accesses keep hitting them.
 */
static void fuzz_config_and_bars(const char *var)
{
    g_autofree char *log = test_log_path("fuzz-mixed");
    g_autoptr(GRand) r = NULL;
    uint8_t before[HOST_BARS_LEN];
    uint32_t regs[PCI_STD_NUM_BARS];
    QPCIBar bars[PCI_STD_NUM_BARS];
    uint64_t sizes[PCI_STD_NUM_BARS];
    uint16_t cmd;
    int writes = fuzz_count(CONFIG_WRITES);
    Assigned a;
    int i, j, n;

    if (!assign_logged(&a, "pc", var, NULL, NULL, log)) {
        return;
    }
    r = fuzz_rand();
    host_bars(a.host, before);
    n = map_bars(&a, bars, sizes);
    for (j = 0; j < PCI_STD_NUM_BARS; j++) {
        regs[j] = qpci_config_readl(a.dev, PCI_BASE_ADDRESS_0 + j * 4);
    }
    cmd = qpci_config_readw(a.dev, PCI_COMMAND);

    for (i = 0; i < writes; i++) {
        uint8_t off = g_rand_int_range(r, 0, PCI_CFG_SPACE_SIZE);

        config_write(a.dev, off, random_size(r, 4), g_rand_int(r));
        bar_access(&a, r, bars, sizes, n);
        if (i % 500 == 499) {
            for (j = 0; j < PCI_STD_NUM_BARS; j++) {
                qpci_config_writel(a.dev, PCI_BASE_ADDRESS_0 + j * 4,
                                   regs[j]);
            }
            qpci_config_writew(a.dev, PCI_COMMAND, cmd);
            assert_qemu_alive(a.qts);
        }
    }
    g_test_message("%d config writes and BAR accesses to %s", writes,
                   a.host);

    assert_qemu_alive(a.qts);
    g_assert_cmphex(qpci_config_readw(a.dev, PCI_VENDOR_ID), !=, 0xffff);
    assert_host_bars(a.host, before);
    release(&a);
    assert_no_flood(log);
    unlink(log);
}

static void test_fuzz_config_and_bars(gconstpointer var)
{
    fuzz_config_and_bars(var);
}

static void ecam_write(Assigned *a, int off, int size, uint32_t val)
{
    uint64_t addr = ecam_addr(0, DEVFN, off);

    switch (size) {
    case 1:
        qtest_writeb(a->qts, addr, val);
        break;
    case 2:
        qtest_writew(a->qts, addr, val);
        break;
    default:
        qtest_writel(a->qts, addr, val);
        break;
    }
}

/* The first @max dwords of @host's config space as the host reads them. */
static void host_config_dwords(const char *host, uint32_t *cfg, int max)
{
    g_autofree char *path = sysfs_path(host, "config");
    g_autofree char *data = NULL;
    gsize len;
    int i;

    g_assert_true(g_file_get_contents(path, &data, &len, NULL));
    g_assert_cmpuint(len, >=, max * 4);
    for (i = 0; i < max; i++) {
        cfg[i] = ldl_le_p(data + i * 4);
    }
}

/* Where the extended capabilities of @cfg (dwords) sit, at most @max. */
static int ext_cap_positions(const uint32_t *cfg, uint16_t *pos, int max)
{
    uint16_t p = PCI_CFG_SPACE_SIZE;
    int n = 0;

    while (p >= PCI_CFG_SPACE_SIZE && n < max && cfg[p / 4] &&
           cfg[p / 4] != UINT32_MAX) {
        pos[n++] = p;
        p = (cfg[p / 4] >> 20) & ~3;
    }
    return n;
}

/* The guest's view of config space through ECAM, in dwords. */
static void guest_config_dwords(Assigned *a, uint32_t *cfg)
{
    int i;

    for (i = 0; i < PCIE_CONFIG_DWORDS; i++) {
        cfg[i] = ecam_readl(a, 0, DEVFN, i * 4);
    }
}

/*
 * PCI Express config space through q35's ECAM: random writes of random
 * sizes and values, naturally aligned as a guest's must be, a quarter in
 * standard space (the PCI Express capability and its FLR bit included)
 * and the rest in extended space, headers and hidden ranges included.
 * The host's BARs and extended capability headers stay as they were, and
 * so does the chain the guest walks.
 */
static void fuzz_express(const char *var)
{
    g_autofree char *log = test_log_path("fuzz-express");
    g_autofree uint32_t *host = g_new(uint32_t, PCIE_CONFIG_DWORDS);
    g_autofree uint32_t *after = g_new(uint32_t, PCIE_CONFIG_DWORDS);
    g_autofree uint32_t *guest = g_new(uint32_t, PCIE_CONFIG_DWORDS);
    g_autofree uint32_t *guest_after = g_new(uint32_t, PCIE_CONFIG_DWORDS);
    g_autoptr(GRand) r = NULL;
    uint8_t before[HOST_BARS_LEN];
    uint16_t pos[EXT_CAPS_MAX], gpos[EXT_CAPS_MAX], gpos_after[EXT_CAPS_MAX];
    int writes = fuzz_count(EXPRESS_WRITES);
    Assigned a;
    int i, n, gn;

    if (!assign_logged(&a, "q35", var, NULL, NULL, log)) {
        return;
    }
    r = fuzz_rand();
    host_bars(a.host, before);
    host_config_dwords(a.host, host, PCIE_CONFIG_DWORDS);
    n = ext_cap_positions(host, pos, EXT_CAPS_MAX);
    ecam_enable(&a);
    guest_config_dwords(&a, guest);
    gn = ext_cap_positions(guest, gpos, EXT_CAPS_MAX);
    g_test_message("%s: %d extended capabilities, %d of them shown", a.host,
                   n, gn);

    for (i = 0; i < writes; i++) {
        int size = random_size(r, 4);
        int off = g_rand_int_range(r, 0, 4) ?
                  g_rand_int_range(r, PCI_CFG_SPACE_SIZE, PCIE_CONFIG_SIZE) :
                  g_rand_int_range(r, 0, PCI_CFG_SPACE_SIZE);

        ecam_write(&a, off & ~(size - 1), size, g_rand_int(r));
        if (g_rand_int_range(r, 0, 8) == 0) {
            ecam_readl(&a, 0, DEVFN, g_rand_int_range(r, 0, PCIE_CONFIG_SIZE)
                       & ~3);
        }
        if (i % 1000 == 999) {
            assert_qemu_alive(a.qts);
        }
    }
    g_test_message("%d config writes to %s through ECAM", writes,
                   a.host);

    assert_qemu_alive(a.qts);
    g_assert_cmphex(ecam_readl(&a, 0, DEVFN, 0), ==, host[0]);
    assert_host_bars(a.host, before);
    host_config_dwords(a.host, after, PCIE_CONFIG_DWORDS);
    for (i = 0; i < n; i++) {
        g_assert_cmphex(after[pos[i] / 4], ==, host[pos[i] / 4]);
    }
    guest_config_dwords(&a, guest_after);
    g_assert_cmpint(ext_cap_positions(guest_after, gpos_after, EXT_CAPS_MAX),
                    ==, gn);
    for (i = 0; i < gn; i++) {
        g_assert_cmpint(gpos_after[i], ==, gpos[i]);
        g_assert_cmphex(guest_after[gpos[i] / 4], ==, guest[gpos[i] / 4]);
    }
    release(&a);
    assert_no_flood(log);
    unlink(log);
}

static void test_fuzz_express(gconstpointer var)
{
    fuzz_express(var);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    /* Every test needs a real device: none on a plain host */
    if (g_strcmp0(g_getenv("VFIO_RIG"), "1")) {
        return g_test_run();
    }

    qtest_add_data_func("/vfio-pci/rig/fuzz/edu/config", "VFIO_EDU",
                        test_fuzz_config);
    qtest_add_data_func("/vfio-pci/rig/fuzz/vga/config", "x-vga=on",
                        test_fuzz_config_vga);
    qtest_add_data_func("/vfio-pci/rig/fuzz/vga/config-as-nvidia",
                        "x-vga=on,x-pci-vendor-id=0x10de,"
                        "x-pci-device-id=0x1b80,x-pci-class-code=0x030000,"
                        "x-nv-gpudirect-clique=3", test_fuzz_config_vga);
    qtest_add_data_func("/vfio-pci/rig/fuzz/e1000e/bars", "VFIO_E1000E",
                        test_fuzz_bars);
    qtest_add_data_func("/vfio-pci/rig/fuzz/nvme/bars", "VFIO_NVME",
                        test_fuzz_bars);
    qtest_add_data_func("/vfio-pci/rig/fuzz/e1000e/config-and-bars",
                        "VFIO_E1000E", test_fuzz_config_and_bars);
    qtest_add_data_func("/vfio-pci/rig/fuzz/e1000e/express", "VFIO_E1000E",
                        test_fuzz_express);
    qtest_add_data_func("/vfio-pci/rig/fuzz/nvme/express", "VFIO_NVME",
                        test_fuzz_express);
    qtest_add_func("/vfio-pci/rig/e1000e/d3hot", test_e1000e_d3hot);
    qtest_add_func("/vfio-pci/rig/e1000e/msi-msix-mix",
                   test_e1000e_msi_msix_mix);
    qtest_add_func("/vfio-pci/rig/e1000e/msix-out-of-range",
                   test_e1000e_msix_out_of_range);
    qtest_add_func("/vfio-pci/rig/e1000e/ioport-sizes",
                   test_e1000e_ioport_sizes);
    return g_test_run();
}
