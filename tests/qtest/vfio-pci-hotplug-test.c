/*
 * QTest testcases for vfio-pci hot-plug: nothing is left behind
 *
 * On the pc machine (ACPI PCI hot-plug on bus 0), a rig device is plugged
 * with device_add and unplugged with device_del, the eject completed as
 * the guest's ACPI code would do it.  QEMU's fds, its VFIO containers, the
 * guest RAM it has pinned and its RSS must not grow with the cycles, and a
 * device_add that fails must leave everything as it was.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include <sys/prctl.h>
#include "hw/pci/pci_regs.h"
#include "vfio-pci-util.h"

#define HOTPLUG_ID      "hp0"
#define CYCLES          100
#define WARM_UP         10
#define RSS_SLACK_KIB   1024            /* 11 KiB a cycle after warm-up */
#define EDU_ID          0x00

/* /dev/vfio/N of @host's IOMMU group. */
static char *group_node(const char *host)
{
    g_autofree char *link = sysfs_path(host, "iommu_group");
    g_autofree char *target = g_file_read_link(link, NULL);
    g_autofree char *nr = NULL;

    g_assert_nonnull(target);
    nr = g_path_get_basename(target);
    return g_strdup_printf("/dev/vfio/%s", nr);
}

/*
 * Once DEVICE_DELETED is out, QEMU holds nothing of the group: another
 * process (libvirt giving the device back to its host driver) gets it.
 */
static void assert_group_free(const char *host)
{
    g_autofree char *node = group_node(host);
    int fd = open(node, O_RDWR);

    if (fd < 0) {
        g_test_message("%s: %s", node, strerror(errno));
    }
    g_assert_cmpint(fd, >=, 0);
    close(fd);
}

static void plug(QTestState *qts, const char *host)
{
    g_autofree char *addr = g_strdup_printf("%02x.0", SLOT);

    qtest_qmp_device_add(qts, "vfio-pci", HOTPLUG_ID,
                         "{'host': %s, 'addr': %s}", host, addr);
}

static void unplug(QTestState *qts)
{
    qpci_unplug_acpi_device_test(qts, HOTPLUG_ID, SLOT);
}

/*
 * Plugs @host and enables it, with MSI-X (vector 0 unmasked) if @msix.
 * Its guest RAM is mapped then: device_add returns while the maps are
 * still being made, and Bus Master Enable waits for them.
 */
static void plug_enabled(QTestState *qts, const char *host, bool msix)
{
    QPCIBus *bus = qpci_new_pc(qts, NULL);
    QPCIDevice *dev;

    plug(qts, host);
    dev = qpci_device_find(bus, DEVFN);
    g_assert_nonnull(dev);
    qpci_device_enable(dev);
    if (msix) {
        qpci_msix_enable(dev);
        qpci_io_writel(dev, dev->msix_table_bar,
                       dev->msix_table_off + PCI_MSIX_ENTRY_VECTOR_CTRL, 0);
        g_assert_false(qpci_msix_masked(dev, 0));
    }
    g_free(dev);
    qpci_free_pc(bus);
}

/* The hot-plugged device answers in config space and in BAR0. */
static void check_edu(QTestState *qts, bool bar)
{
    QPCIBus *bus = qpci_new_pc(qts, NULL);
    QPCIDevice *dev = qpci_device_find(bus, DEVFN);
    QPCIBar bar0;

    g_assert_nonnull(dev);
    g_assert_cmphex(qpci_config_readw(dev, PCI_VENDOR_ID), ==, 0x1234);
    g_assert_cmphex(qpci_config_readw(dev, PCI_DEVICE_ID), ==, 0x11e8);
    if (bar) {
        qpci_device_enable(dev);
        bar0 = qpci_iomap(dev, 0, NULL);
        g_assert_cmphex(qpci_io_readl(dev, bar0, EDU_ID), ==, 0x010000ed);
        qpci_iounmap(dev, bar0);
    }
    g_free(dev);
    qpci_free_pc(bus);
}

/*
 * 100 plug/unplug cycles of edu.  The first cycles pin guest RAM, fault it
 * in and warm up the allocator, so RSS is compared with what it was after
 * WARM_UP cycles.  Every other cycle unplugs the device while its guest
 * RAM is still being mapped.  Transparent huge pages are off for QEMU (the flag is
 * inherited): khugepaged would otherwise add 2 MiB to RSS at random times.
 */
static void test_hotplug_cycles(void)
{
    const char *edu = rig_device("VFIO_EDU");
    g_autofree char *args = g_strdup_printf("-M pc -nodefaults -m 128M %s",
                                            backend_args());
    g_autofree char *log = g_strdup_printf("%s/vfio-hotplug-%d.err",
                                           g_get_tmp_dir(), getpid());
    Footprint empty, plugged = { 0 }, now;
    uint64_t warm = 0;
    QTestState *qts;
    pid_t pid;
    int i;

    if (!edu) {
        return;
    }
    g_assert_cmpint(prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0), ==, 0);
    qts = qtest_init_stderr(args, log);
    pid = qemu_pid();
    footprint(pid, &empty);
    log_footprint("before", &empty);
    /* The iommufd object holds /dev/iommu open from the start */
    g_assert_cmpint(empty.containers, ==, backend_iommufd());
    g_assert_cmpuint(empty.locked, ==, 0);

    for (i = 1; i <= CYCLES; i++) {
        if (i % 2 == 0) {
            plug(qts, edu);
        } else {
            plug_enabled(qts, edu, false);
            footprint(pid, &now);
            if (i == 1) {
                plugged = now;
                log_footprint("plugged", &plugged);
                g_assert_cmpint(plugged.containers, ==, 1);
                g_assert_cmpint(plugged.groups, ==, 1);
                g_assert_cmpuint(plugged.locked, >=, 128 * 1024);
            }
            assert_same_fds(&now, &plugged);
        }
        check_edu(qts, i == CYCLES - 1);

        unplug(qts);
        assert_group_free(edu);
        footprint(pid, &now);
        assert_same_fds(&now, &empty);
        if (i == WARM_UP) {
            warm = now.rss;
        }
        if (i % 10 == 0) {
            g_test_message("cycle %d: RSS %" PRIu64 " KiB", i, now.rss);
        }
        if (warm) {
            g_assert_cmpuint(now.rss, <=, warm + RSS_SLACK_KIB);
        }
    }
    log_footprint("after", &now);
    qtest_quit(qts);

    /* Unplugging went without a complaint */
    assert_only_warnings(log);
    unlink(log);
}

/* Unplugging a device whose guest driver still uses MSI-X */
static void test_hotplug_msix(void)
{
    const char *nvme = rig_device("VFIO_NVME");
    g_autofree char *args = g_strdup_printf("-M pc -nodefaults -m 128M %s",
                                            backend_args());
    g_autofree char *log = g_strdup_printf("%s/vfio-hotplug-%d.err",
                                           g_get_tmp_dir(), getpid());
    Footprint empty, now;
    QTestState *qts;
    pid_t pid;
    int i;

    if (!nvme) {
        return;
    }
    qts = qtest_init_stderr(args, log);
    pid = qemu_pid();
    footprint(pid, &empty);
    for (i = 0; i < 10; i++) {
        plug_enabled(qts, nvme, true);
        unplug(qts);
        assert_group_free(nvme);
        footprint(pid, &now);
        assert_same_fds(&now, &empty);
    }
    assert_qemu_alive(qts);
    qtest_quit(qts);
    assert_only_warnings(log);
    unlink(log);
}

/* A device_add that fails leaves fds, containers and pinned RAM alone. */
static void test_failed_device_add(void)
{
    const char *edu = rig_device("VFIO_EDU");
    Footprint empty, plugged, now;
    QTestState *qts;
    pid_t pid;

    if (!edu) {
        return;
    }
    qts = qtest_initf("-M pc -nodefaults -m 128M %s", backend_args());
    pid = qemu_pid();
    footprint(pid, &empty);

    /* With nothing assigned yet */
    expect_device_add_error(qts, "0000:99:00.0", "does not exist");
    footprint(pid, &now);
    assert_same_fds(&now, &empty);

    /* The same host device a second time */
    plug_enabled(qts, edu, false);
    footprint(pid, &plugged);
    expect_device_add_error(qts, edu, "already assigned");
    expect_device_add_error(qts, "0000:99:00.0", "does not exist");
    footprint(pid, &now);
    assert_same_fds(&now, &plugged);
    check_edu(qts, true);

    unplug(qts);
    footprint(pid, &now);
    assert_same_fds(&now, &empty);
    assert_qemu_alive(qts);
    qtest_quit(qts);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    /* Every test needs a real device: none on a plain host */
    if (g_strcmp0(g_getenv("VFIO_RIG"), "1")) {
        return g_test_run();
    }

    qtest_add_func("/vfio-pci/rig/hotplug/edu-cycles", test_hotplug_cycles);
    qtest_add_func("/vfio-pci/rig/hotplug/nvme-msix", test_hotplug_msix);
    qtest_add_func("/vfio-pci/rig/hotplug/failed-device-add",
                   test_failed_device_add);
    return g_test_run();
}
