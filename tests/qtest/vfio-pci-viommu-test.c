/*
 * vfio-pci behind a guest IOMMU (intel-iommu, caching-mode=on)
 *
 * The test is the guest: it programs the guest intel-iommu's root and
 * context tables and the device's second-level page table, and has the
 * assigned edu DMA through what it mapped.  edu is emulated by the rig's
 * QEMU, behind the rig's own IOMMU, whose maps our QEMU made from the
 * guest's: what the guest did not map, edu cannot reach (its DMA faults in
 * the rig and never reaches guest RAM).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include <sys/wait.h>
#include "vfio-pci-util.h"

/* intel-iommu's registers (VT-d spec 10.4), q35's DMAR unit */
#define DMAR_BASE           0xfed90000ULL
#define DMAR_ECAP           0x10
#define DMAR_GCMD           0x18
#define DMAR_GSTS           0x1c
#define DMAR_RTADDR         0x20
#define DMAR_CCMD           0x28
#define DMAR_GCMD_TE        (1u << 31)
#define DMAR_GCMD_SRTP      (1u << 30)
#define DMAR_CCMD_ICC       (1ULL << 63)
#define DMAR_CCMD_GLOBAL    (1ULL << 61)
#define DMAR_IOTLB_IVT      (1ULL << 63)
#define DMAR_IOTLB_GLOBAL   (1ULL << 60)
#define DMAR_IOTLB_PAGE     (3ULL << 60)
#define DMAR_IOTLB_DID(d)   ((uint64_t)(d) << 32)

/* Tables: a root entry per bus, a context entry per devfn */
#define VTD_P               1ULL
#define VTD_TT_PASSTHROUGH  (2ULL << 2)
#define VTD_AW_39           1           /* 3-level second-level table */
#define VTD_AW_48           2           /* 4-level */
#define VTD_R               1ULL
#define VTD_W               2ULL
#define VTD_DID             1

/* Guest RAM the test uses: tables, then the pages the guest maps */
#define TABLES              0x1000000ULL
#define PAGE_A              0x3000000ULL
#define PAGE_B              0x3001000ULL
#define IOVA_A              0x100000ULL
#define IOVA_B              0x101000ULL
#define IOVA_C              0x102000ULL     /* never mapped */
#define PAGE_SRC            0x3100000ULL    /* what edu writes, it reads */
#define IOVA_SRC            0x180000ULL
#define PAGE                0x1000
#define DMA_LEN             0x800   /* edu refuses a whole 4 KiB buffer */
#define HPET_MMIO           0xfed00000ULL
#define TOGGLES             20
#define TPM_TOGGLES         10

#define ROOT_PORT_BUS       1

typedef struct Vtd {
    QTestState *qts;
    uint64_t next_table;
    uint64_t slpt;            /* the device's top-level table */
    int levels;
    int bus, devfn;
    uint32_t iotlb;           /* offset of the IOTLB register (ECAP.IRO) */
} Vtd;

static void vtd_wait(Vtd *v, uint32_t reg, uint64_t mask, uint64_t want)
{
    gint64 end = g_get_monotonic_time() + WAIT_US;

    while ((qtest_readq(v->qts, DMAR_BASE + reg) & mask) != want) {
        g_assert_cmpint(g_get_monotonic_time(), <, end);
        g_usleep(100);
    }
}

static uint64_t vtd_table(Vtd *v)
{
    uint64_t table = v->next_table;

    v->next_table += PAGE;
    qtest_memset(v->qts, table, 0, PAGE);
    return table;
}

/* Sets the command bit @bit, which GSTS reports at the same position */
static void vtd_gcmd(Vtd *v, uint32_t bit)
{
    qtest_writel(v->qts, DMAR_BASE + DMAR_GCMD, bit);
    vtd_wait(v, DMAR_GSTS, bit, bit);
}

/* Turns translation off and back on @times: the section goes and comes */
static void vtd_toggle(Vtd *v, int times)
{
    int i;

    for (i = 0; i < times; i++) {
        qtest_writel(v->qts, DMAR_BASE + DMAR_GCMD, 0);
        vtd_wait(v, DMAR_GSTS, DMAR_GCMD_TE, 0);
        qtest_writel(v->qts, DMAR_BASE + DMAR_GCMD, DMAR_GCMD_TE);
        vtd_wait(v, DMAR_GSTS, DMAR_GCMD_TE, DMAR_GCMD_TE);
    }
}

static void vtd_invalidate_context(Vtd *v)
{
    qtest_writeq(v->qts, DMAR_BASE + DMAR_CCMD,
                 DMAR_CCMD_ICC | DMAR_CCMD_GLOBAL);
    vtd_wait(v, DMAR_CCMD, DMAR_CCMD_ICC, 0);
}

static void vtd_invalidate(Vtd *v, uint64_t cmd, uint64_t iova)
{
    qtest_writeq(v->qts, DMAR_BASE + v->iotlb - 8, iova);
    qtest_writeq(v->qts, DMAR_BASE + v->iotlb,
                 DMAR_IOTLB_IVT | cmd | DMAR_IOTLB_DID(VTD_DID));
    vtd_wait(v, v->iotlb, DMAR_IOTLB_IVT, 0);
}

/* The device's context entry: translated through its table, or not */
static void vtd_set_context(Vtd *v, bool passthrough)
{
    uint64_t root = TABLES;
    uint64_t ctx = qtest_readq(v->qts, root + v->bus * 16) & ~0xfffULL;
    uint64_t lo = passthrough ? VTD_TT_PASSTHROUGH | VTD_P : v->slpt | VTD_P;

    qtest_writeq(v->qts, ctx + v->devfn * 16 + 8,
                 (v->levels == 4 ? VTD_AW_48 : VTD_AW_39) | (VTD_DID << 8));
    qtest_writeq(v->qts, ctx + v->devfn * 16, lo);
    vtd_invalidate_context(v);
}

/* Turns the guest IOMMU on, for @bus:@devfn only, with nothing mapped */
static void vtd_enable(Vtd *v, QTestState *qts, int bus, int devfn,
                       int levels)
{
    uint64_t root, ctx;

    v->qts = qts;
    v->next_table = TABLES;
    v->levels = levels;
    v->bus = bus;
    v->devfn = devfn;
    v->iotlb = ((qtest_readq(qts, DMAR_BASE + DMAR_ECAP) >> 8) & 0x3ff) * 16
               + 8;
    root = vtd_table(v);
    ctx = vtd_table(v);
    v->slpt = vtd_table(v);
    qtest_writeq(qts, root + bus * 16, ctx | VTD_P);

    qtest_writeq(qts, DMAR_BASE + DMAR_RTADDR, root);
    vtd_gcmd(v, DMAR_GCMD_SRTP);
    vtd_set_context(v, false);
    vtd_invalidate(v, DMAR_IOTLB_GLOBAL, 0);
    vtd_gcmd(v, DMAR_GCMD_TE);
}

/* The leaf entry of @iova, its tables made on the way */
static uint64_t vtd_pte(Vtd *v, uint64_t iova)
{
    uint64_t table = v->slpt;
    int level;

    for (level = v->levels; level > 1; level--) {
        uint64_t entry = table + ((iova >> (12 + 9 * (level - 1))) & 511) * 8;
        uint64_t next = qtest_readq(v->qts, entry) & ~0xfffULL;

        if (!next) {
            next = vtd_table(v);
            qtest_writeq(v->qts, entry, next | VTD_R | VTD_W);
        }
        table = next;
    }
    return table + ((iova >> 12) & 511) * 8;
}

/* Maps (or with @perm 0 unmaps) a page, and invalidates it */
static void vtd_map(Vtd *v, uint64_t iova, uint64_t gpa, uint64_t perm)
{
    qtest_writeq(v->qts, vtd_pte(v, iova), perm ? gpa | perm : 0);
    vtd_invalidate(v, DMAR_IOTLB_PAGE, iova);
}

/* The "(N maps)" of the last map or unmap in the trace @log */
static int viommu_maps(const char *log)
{
    g_auto(GStrv) lines = read_lines(log);
    int i, maps = -1;

    for (i = 0; lines[i]; i++) {
        const char *p = strstr(lines[i], "vfio_viommu_");
        const char *n = p ? strrchr(lines[i], '(') : NULL;

        if (n && (strstr(p, "vfio_viommu_map ") ||
                  strstr(p, "vfio_viommu_unmap "))) {
            maps = atoi(n + 1);
        }
    }
    return maps;
}

static void fill(QTestState *qts, uint64_t addr, uint8_t byte)
{
    qtest_memset(qts, addr, byte, PAGE);
}

/* Every byte that edu DMAs into the page at @addr is @byte */
static bool page_is(QTestState *qts, uint64_t addr, uint8_t byte)
{
    g_autofree uint8_t *buf = g_malloc(DMA_LEN);
    int i;

    qtest_memread(qts, addr, buf, DMA_LEN);
    for (i = 0; i < DMA_LEN; i++) {
        if (buf[i] != byte) {
            return false;
        }
    }
    return true;
}

/* edu copies a page from @src to @dst (device addresses) */
static void edu_copy(Assigned *a, uint64_t src, uint64_t dst)
{
    edu_dma(a, src, EDU_DMA_BUF, DMA_LEN, EDU_DMA_START);
    edu_dma(a, EDU_DMA_BUF, dst, DMA_LEN, EDU_DMA_START | EDU_DMA_TO_RAM);
}

/*
 * edu writes a page of @byte to @dst, read from PAGE_SRC: at IOVA_SRC when
 * @translated (the guest maps it there), else at its guest address.
 */
static void edu_write(Assigned *a, uint64_t dst, bool translated,
                      uint8_t byte)
{
    fill(a->qts, PAGE_SRC, byte);
    edu_copy(a, translated ? IOVA_SRC : PAGE_SRC, dst);
}

/* Turns the guest IOMMU on, with the page edu_write() reads mapped */
static void viommu_enable(Vtd *v, Assigned *a, int bus, int devfn,
                          int levels)
{
    vtd_enable(v, a->qts, bus, devfn, levels);
    vtd_map(v, IOVA_SRC, PAGE_SRC, VTD_R);
}

/*
 * q35 with the guest intel-iommu (@iommu its properties) in front of the
 * rig's edu at 00:04.0, or behind a root port at bus 1 with @root_port;
 * vfio_viommu_* traced into @log.
 */
static bool viommu_start(Assigned *a, const char *iommu, bool root_port,
                         const char *log, const char *stderr_log)
{
    const char *env = g_getenv("VFIO_TEST_QEMU_ARGS");
    g_autofree char *args = NULL;

    a->host = rig_device("VFIO_EDU");
    if (!a->host) {
        return false;
    }
    args = g_strdup_printf(
        "-M q35 -nodefaults -device intel-iommu,caching-mode=on%s "
        "%s -device vfio-pci,host=%s,id=edu,%s "
        "-trace enable=vfio_viommu_* -d guest_errors -D %s %s %s",
        iommu ? iommu : "", root_port ?
        "-global ICH9-LPC.acpi-pci-hotplug-with-bridge-support=off "
        "-device pcie-root-port,id=rp,chassis=1,addr=01.0" : "",
        a->host, root_port ? "bus=rp" : "addr=04.0", log, env ? env : "",
        backend_args());
    a->qts = stderr_log ? qtest_init_stderr(args, stderr_log)
                        : qtest_init(args);
    a->bus = qpci_new_pc(a->qts, NULL);
    if (root_port) {
        QPCIDevice *rp = qpci_device_find(a->bus, QPCI_DEVFN(1, 0));

        g_assert_nonnull(rp);
        qpci_config_writeb(rp, PCI_SECONDARY_BUS, ROOT_PORT_BUS);
        qpci_config_writeb(rp, PCI_SUBORDINATE_BUS, ROOT_PORT_BUS);
        /* Where libqos puts BARs (from 0xe0000000): through the port */
        qpci_config_writew(rp, PCI_MEMORY_BASE, 0xe000);
        qpci_config_writew(rp, PCI_MEMORY_LIMIT, 0xeff0);
        qpci_device_enable(rp);
        g_free(rp);
    }
    a->dev = qpci_device_find(a->bus, root_port ? ROOT_PORT_BUS << 8 : DEVFN);
    g_assert_nonnull(a->dev);
    qpci_device_enable(a->dev);
    a->bar0 = qpci_iomap(a->dev, 0, NULL);
    return true;
}

/*
 * What the guest maps, edu reaches, with the guest's permissions; what it
 * did not, or unmapped, edu cannot.  Switching the device to pass-through
 * and back replays the maps; a guest reset drops every one.
 */
static void test_edu_dma(void)
{
    g_autofree char *log = test_log_path("viommu-dma");
    Assigned a;
    Vtd v;

    if (!viommu_start(&a, NULL, false, log, NULL)) {
        return;
    }
    /* Until the guest turns its IOMMU on, DMA goes to guest RAM as is */
    fill(a.qts, IOVA_A, 0);
    edu_write(&a, IOVA_A, false, 0x11);
    g_assert_true(page_is(a.qts, IOVA_A, 0x11));

    viommu_enable(&v, &a, 0, DEVFN, 3);
    g_assert_cmpint(viommu_maps(log), ==, 1);
    fill(a.qts, IOVA_A, 0);
    edu_write(&a, IOVA_A, true, 0x22);
    g_assert_true(page_is(a.qts, IOVA_A, 0));

    /* A read-write, B read-only */
    fill(a.qts, PAGE_A, 0);
    vtd_map(&v, IOVA_A, PAGE_A, VTD_R | VTD_W);
    vtd_map(&v, IOVA_B, PAGE_B, VTD_R);
    g_assert_cmpint(viommu_maps(log), ==, 3);
    edu_write(&a, IOVA_A, true, 0x33);
    g_assert_true(page_is(a.qts, PAGE_A, 0x33));
    g_assert_true(page_is(a.qts, IOVA_A, 0));
    fill(a.qts, PAGE_B, 0x44);
    edu_copy(&a, IOVA_B, IOVA_A);
    g_assert_true(page_is(a.qts, PAGE_A, 0x44));
    edu_write(&a, IOVA_B, true, 0x55);
    g_assert_true(page_is(a.qts, PAGE_B, 0x44));

    /* Never mapped: nothing in guest RAM changes */
    fill(a.qts, IOVA_C, 0);
    edu_write(&a, IOVA_C, true, 0x66);
    g_assert_true(page_is(a.qts, IOVA_C, 0));
    g_assert_true(page_is(a.qts, PAGE_A, 0x44));

    /* Unmapped and invalidated: the host map is gone */
    vtd_map(&v, IOVA_A, 0, 0);
    g_assert_cmpint(viommu_maps(log), ==, 2);
    edu_write(&a, IOVA_A, true, 0x77);
    g_assert_true(page_is(a.qts, PAGE_A, 0x44));

    /* Pass-through: guest RAM as is; back to translation: B replayed */
    vtd_set_context(&v, true);
    g_assert_cmpint(viommu_maps(log), ==, 0);
    edu_write(&a, IOVA_C, false, 0x88);
    g_assert_true(page_is(a.qts, IOVA_C, 0x88));
    vtd_set_context(&v, false);
    g_assert_cmpint(viommu_maps(log), ==, 2);
    vtd_map(&v, IOVA_A, PAGE_A, VTD_R | VTD_W);
    fill(a.qts, PAGE_B, 0x99);
    edu_copy(&a, IOVA_B, IOVA_A);
    g_assert_true(page_is(a.qts, PAGE_A, 0x99));
    fill(a.qts, IOVA_C, 0);
    edu_write(&a, IOVA_C, true, 0xaa);
    g_assert_true(page_is(a.qts, IOVA_C, 0));

    /* A guest reset turns the IOMMU off, and drops what the guest mapped */
    qtest_qmp_assert_success(a.qts, "{'execute': 'system_reset'}");
    qtest_qmp_eventwait(a.qts, "RESET");
    g_assert_cmpint(viommu_maps(log), ==, 0);
    qpci_device_enable(a.dev);
    a.bar0 = qpci_iomap(a.dev, 0, NULL);
    edu_write(&a, IOVA_C, false, 0xbb);
    g_assert_true(page_is(a.qts, IOVA_C, 0xbb));
    release(&a);
}

/*
 * The guest's part of native PCIe hot-plug: it powers the root port's
 * slot off to let a device go, and on to use a new one.
 */
static void root_port_power(QPCIBus *bus, bool on)
{
    QPCIDevice *rp = qpci_device_find(bus, QPCI_DEVFN(1, 0));
    uint8_t exp = qpci_find_capability(rp, PCI_CAP_ID_EXP, 0);
    uint16_t ctl = qpci_config_readw(rp, exp + PCI_EXP_SLTCTL) &
                   ~(PCI_EXP_SLTCTL_PCC | PCI_EXP_SLTCTL_AIC |
                     PCI_EXP_SLTCTL_PIC);

    qpci_config_writew(rp, exp + PCI_EXP_SLTCTL, ctl |
                       (on ? PCI_EXP_SLTCTL_PWR_IND_ON :
                        PCI_EXP_SLTCTL_PCC | PCI_EXP_SLTCTL_PWR_IND_OFF));
    g_free(rp);
}

static void unplug_edu(Assigned *a)
{
    qtest_qmp_device_del_send(a->qts, "edu");
    root_port_power(a->bus, false);
    qtest_qmp_eventwait(a->qts, "DEVICE_DELETED");
    g_free(a->dev);
    a->dev = NULL;
}

/*
 * Unplug drops every map the guest made, and every fd; a device plugged
 * in while the guest translates gets what the guest's tables map.
 */
static void test_unplug(void)
{
    g_autofree char *log = test_log_path("viommu-unplug");
    Assigned a;
    pid_t pid;
    Vtd v;
    int i;

    if (!viommu_start(&a, NULL, true, log, NULL)) {
        return;
    }
    pid = qemu_pid();
    viommu_enable(&v, &a, ROOT_PORT_BUS, 0, 3);
    for (i = 0; i < 8; i++) {
        vtd_map(&v, IOVA_A + i * PAGE, PAGE_A + i * PAGE, VTD_R | VTD_W);
    }
    g_assert_cmpint(viommu_maps(log), ==, 9);
    fill(a.qts, PAGE_A, 0);
    edu_write(&a, IOVA_A, true, 0x12);
    g_assert_true(page_is(a.qts, PAGE_A, 0x12));

    unplug_edu(&a);
    g_assert_cmpint(viommu_maps(log), ==, 0);
    g_assert_cmpint(count_fds(pid, "/dev/vfio/"), ==, 0);
    g_assert_cmpint(count_fds(pid, "anon_inode:[vfio-device]"), ==, 0);

    qtest_qmp_device_add(a.qts, "vfio-pci", "edu", "{'host': %s, "
                         "'bus': 'rp'}", a.host);
    g_assert_cmpint(viommu_maps(log), ==, 9);
    root_port_power(a.bus, true);
    a.dev = qpci_device_find(a.bus, ROOT_PORT_BUS << 8);
    g_assert_nonnull(a.dev);
    qpci_device_enable(a.dev);
    a.bar0 = qpci_iomap(a.dev, 0, NULL);
    fill(a.qts, PAGE_A + PAGE, 0);
    edu_write(&a, IOVA_A + PAGE, true, 0x34);
    g_assert_true(page_is(a.qts, PAGE_A + PAGE, 0x34));
    unplug_edu(&a);
    g_assert_cmpint(viommu_maps(log), ==, 0);
    release(&a);
}

/* Dirty pages are tracked by IOVA: behind a guest IOMMU, not migrated */
static void test_migration_blocked(void)
{
    g_autofree char *log = test_log_path("viommu-migrate");
    const char *desc;
    QDict *resp;
    Assigned a;

    if (!viommu_start(&a, NULL, false, log, NULL)) {
        return;
    }
    resp = qtest_qmp(a.qts, "{'execute': 'migrate', 'arguments': "
                     "{'uri': 'exec:cat >/dev/null'}}");
    g_assert_true(qdict_haskey(resp, "error"));
    desc = qdict_get_str(qdict_get_qdict(resp, "error"), "desc");
    g_test_message("migrate said: %s", desc);
    g_assert_nonnull(strstr(desc, "cannot migrate: it is behind a guest "
                            "IOMMU"));
    qobject_unref(resp);
    release(&a);
}

/* What QEMU's stderr said; the number of its lines but warnings in *@lines */
static char *qemu_said(const char *path, int *lines)
{
    g_auto(GStrv) all = read_lines(path);
    int i;

    *lines = 0;
    for (i = 0; all[i]; i++) {
        *lines += *all[i] && !strstr(all[i], "warning: ");
    }
    return g_strjoinv("\n", all);
}

/*
 * QEMU on q35 with the two -device options @first and @second (one of
 * them vfio-pci with the rig's edu, "%s" its host) exits 1, saying
 * @needle on one line, its only one but warnings.
 */
static void expect_start_failure(const char *first, const char *second,
                                 const char *needle)
{
    const char *qemu = g_getenv("QTEST_QEMU_BINARY");
    const char *host = rig_device("VFIO_EDU");
    g_autofree char *dev1 = g_strdup_printf(first, host);
    g_autofree char *dev2 = g_strdup_printf(second, host);
    g_autofree char *out = NULL, *err = NULL;
    /* A QEMU that starts would run on: timeout makes that a failure */
    const char *argv[] = { "timeout", "60", qemu, "-M", "q35", "-nodefaults",
                           "-display", "none", "-accel", "qtest", "-device",
                           dev1, "-device", dev2, NULL };
    g_auto(GStrv) lines = NULL;
    int i, said = 0;
    int status;

    if (!host) {
        return;
    }
    g_assert_true(g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_SEARCH_PATH,
                               NULL, NULL, &out, &err, &status, NULL));
    g_test_message("qemu said: %s", err);
    g_assert_true(WIFEXITED(status));
    g_assert_cmpint(WEXITSTATUS(status), ==, 1);
    lines = g_strsplit(g_strchomp(err), "\n", -1);
    for (i = 0; lines[i]; i++) {
        said += !strstr(lines[i], "warning: ");
    }
    g_assert_cmpint(said, ==, 1);
    g_assert_nonnull(strstr(err, needle));
}

/* Without caching-mode=on, realize fails with one line naming it */
static void test_no_caching_mode(void)
{
    expect_start_failure("intel-iommu", "vfio-pci,host=%s",
                         "must have caching-mode=on");
}

/* A guest IOMMU created after the device is not in front of it */
static void test_iommu_after_device(void)
{
    expect_start_failure("vfio-pci,host=%s", "intel-iommu,caching-mode=on",
                         "the guest IOMMU was created after the device");
}

/*
 * A guest map beyond what the host IOMMU can map (our guest IOMMU has 48
 * bits, the rig's 39) is the guest's error: said once, QEMU runs on, and
 * the guest's other maps work.
 */
static void test_beyond_host_width(void)
{
    g_autofree char *log = test_log_path("viommu-width");
    g_autofree char *err_log = test_log_path("viommu-width-stderr");
    g_autofree char *said = NULL;
    Assigned a;
    int lines;
    Vtd v;

    if (!viommu_start(&a, ",aw-bits=48", false, log, err_log)) {
        return;
    }
    viommu_enable(&v, &a, 0, DEVFN, 4);
    vtd_map(&v, 1ULL << 40, PAGE_A, VTD_R | VTD_W);
    vtd_map(&v, (1ULL << 40) + PAGE, PAGE_B, VTD_R | VTD_W);
    vtd_map(&v, IOVA_A, PAGE_A, VTD_R | VTD_W);
    g_assert_cmpint(viommu_maps(log), ==, 2);
    fill(a.qts, PAGE_A, 0);
    edu_write(&a, IOVA_A, true, 0x5a);
    g_assert_true(page_is(a.qts, PAGE_A, 0x5a));
    assert_qemu_alive(a.qts);

    said = qemu_said(err_log, &lines);
    g_test_message("QEMU said: %s", said);
    g_assert_cmpint(lines, ==, 1);
    g_assert_nonnull(strstr(said, "the guest IOMMU maps [0x10000000000 - "
                            "0x10000000fff]"));
    g_assert_nonnull(strstr(said, "beyond the IOVA ranges of the host "
                            "IOMMU"));
    g_assert_cmpint(count_log_lines(log, "which the host cannot map"), ==, 1);
    release(&a);
}

/*
 * One bad guest map (an IOVA pointing at the HPET's MMIO) is said once,
 * however often the guest turns translation off and on: each toggle makes
 * the section anew and replays the map.  The rest are guest errors.
 */
static void test_bad_map_toggled(void)
{
    g_autofree char *log = test_log_path("viommu-toggle");
    g_autofree char *err_log = test_log_path("viommu-toggle-stderr");
    g_autofree char *said = NULL;
    Assigned a;
    int lines;
    Vtd v;

    if (!viommu_start(&a, NULL, false, log, err_log)) {
        return;
    }
    viommu_enable(&v, &a, 0, DEVFN, 3);
    vtd_map(&v, IOVA_C, HPET_MMIO, VTD_R | VTD_W);
    vtd_toggle(&v, TOGGLES);
    assert_qemu_alive(a.qts);
    said = qemu_said(err_log, &lines);
    g_test_message("QEMU said: %s", said);
    g_assert_cmpint(lines, ==, 1);
    g_assert_nonnull(strstr(said, "that is not guest RAM"));
    g_assert_cmpint(count_log_lines(log, "which the host cannot map"), ==,
                    TOGGLES);
    release(&a);
}

/* swtpm on a control socket in @dir, as libvirt runs it; its pid */
static GPid swtpm_start(const char *dir, const char *sock)
{
    g_autofree char *ctrl = g_strdup_printf("type=unixio,path=%s", sock);
    g_autofree char *state = g_strdup_printf("dir=%s", dir);
    /* No seccomp profile: the rig kernel has no seccomp */
    char *argv[] = { (char *)"swtpm", (char *)"socket", (char *)"--tpm2",
                     (char *)"--terminate", (char *)"--ctrl", ctrl,
                     (char *)"--tpmstate", state, (char *)"--seccomp",
                     (char *)"action=none", NULL };
    g_autoptr(GError) err = NULL;
    gint64 end = g_get_monotonic_time() + WAIT_US;
    GPid pid;

    g_assert_true(g_mkdir_with_parents(dir, 0700) == 0);
    if (!g_spawn_async(NULL, argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                       &pid, &err)) {
        g_test_message("swtpm (Debian's swtpm, which scripts/setup.sh "
                       "installs): %s", err->message);
        g_test_fail();
        return 0;
    }
    while (!g_file_test(sock, G_FILE_TEST_EXISTS)) {
        g_assert_cmpint(g_get_monotonic_time(), <, end);
        g_usleep(10 * 1000);
    }
    return pid;
}

/*
 * tpm-crb's command buffer is RAM that starts at no page boundary; no
 * device DMAs there, and every VM with a TPM 2.0 CRB has one.  Neither
 * realize nor the guest turning translation off and on (which adds the
 * section again each time) says anything of it.
 */
static void test_tpm_crb_quiet(void)
{
    g_autofree char *dir = g_strdup_printf("/run/vfio-swtpm-%d", getpid());
    g_autofree char *sock = g_strdup_printf("%s/ctrl.sock", dir);
    g_autofree char *log = test_log_path("viommu-tpm");
    g_autofree char *err_log = test_log_path("viommu-tpm-stderr");
    g_autofree char *tpm = NULL;
    GPid swtpm;
    Assigned a;
    Vtd v;

    swtpm = swtpm_start(dir, sock);
    if (!swtpm) {
        return;
    }
    tpm = g_strdup_printf(",aw-bits=39 -chardev socket,id=chrtpm,path=%s "
                          "-tpmdev emulator,id=tpm0,chardev=chrtpm "
                          "-device tpm-crb,tpmdev=tpm0 "
                          "-trace enable=vfio_listener_unaligned", sock);
    if (!viommu_start(&a, tpm, false, log, err_log)) {
        kill(swtpm, SIGTERM);
        return;
    }
    viommu_enable(&v, &a, 0, DEVFN, 3);
    vtd_toggle(&v, TPM_TOGGLES);
    assert_qemu_alive(a.qts);
    release(&a);
    g_assert_cmpint(count_log_lines(err_log, "unaligned"), ==, 0);
    /* It was there: at realize, and each time translation went off */
    g_assert_cmpint(count_log_lines(log, "\"tpm-crb-cmd\" at 0xfed40080 "
                                    "(region offset 0x0) unaligned, "
                                    "expected 1"), >, TPM_TOGGLES);
    kill(swtpm, SIGTERM);
    waitpid(swtpm, NULL, 0);
    g_spawn_close_pid(swtpm);
    unlink(err_log);
    unlink(log);
}

/* type1's dma_entry_limit at 16: map 24 pages, unmap 8, map 8 more */
static void entry_limit_body(void)
{
    g_autofree char *log = test_log_path("viommu-limit");
    g_autofree char *err_log = test_log_path("viommu-limit-stderr");
    g_autofree char *said = NULL;
    Assigned a;
    int i, lines;
    Vtd v;

    if (!viommu_start(&a, NULL, false, log, err_log)) {
        return;
    }
    vtd_enable(&v, a.qts, 0, DEVFN, 3);
    for (i = 0; i < 24; i++) {
        vtd_map(&v, IOVA_A + i * PAGE, PAGE_A + i * PAGE, VTD_R | VTD_W);
    }
    g_assert_cmpint(viommu_maps(log), ==, 16);
    assert_qemu_alive(a.qts);
    for (i = 0; i < 8; i++) {
        vtd_map(&v, IOVA_A + i * PAGE, 0, 0);
    }
    for (i = 0; i < 8; i++) {
        vtd_map(&v, 0x200000 + i * PAGE, PAGE_A + i * PAGE, VTD_R | VTD_W);
    }
    g_assert_cmpint(viommu_maps(log), ==, 16);
    release(&a);

    said = qemu_said(err_log, &lines);
    g_test_message("QEMU said: %s", said);
    g_assert_cmpint(lines, ==, 1);
    g_assert_nonnull(strstr(said, "dma_entry_limit"));
    g_assert_nonnull(strstr(said, "No space left on device"));
}

static void test_entry_limit(void)
{
    if (g_test_subprocess()) {
        entry_limit_body();
        return;
    }
    run_with_entry_limit("16");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    if (g_strcmp0(g_getenv("VFIO_RIG"), "1")) {
        return g_test_run();
    }
    qtest_add_func("/vfio-pci/rig/viommu/edu-dma", test_edu_dma);
    qtest_add_func("/vfio-pci/rig/viommu/unplug-replug", test_unplug);
    qtest_add_func("/vfio-pci/rig/viommu/migration-blocked",
                   test_migration_blocked);
    qtest_add_func("/vfio-pci/rig/viommu/no-caching-mode",
                   test_no_caching_mode);
    qtest_add_func("/vfio-pci/rig/viommu/iommu-after-device",
                   test_iommu_after_device);
    qtest_add_func("/vfio-pci/rig/viommu/beyond-host-width",
                   test_beyond_host_width);
    qtest_add_func("/vfio-pci/rig/viommu/bad-map-toggled",
                   test_bad_map_toggled);
    qtest_add_func("/vfio-pci/rig/viommu/tpm-crb-quiet", test_tpm_crb_quiet);
    qtest_add_func("/vfio-pci/rig/viommu/entry-limit", test_entry_limit);
    return g_test_run();
}
