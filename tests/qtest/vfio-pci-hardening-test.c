/*
 * QTest testcases for vfio-pci: what a guest, a device or a reset can do
 *
 * Each test drives a rig device (tests/rig) into a corner that once let a
 * guest abort QEMU or left QEMU's view and the host's apart: MSI queue
 * sizes changed under enabled MSI, MSI and MSI-X enabled together, MSI-X
 * grown vector by vector, decode turned off under the BAR mmaps, and a
 * system reset with the device busy.
 *
 * Interrupts are raised through the host: the test takes the QEMU's VFIO
 * device fd (pidfd_getfd) and asks the kernel to fire a vector as if the
 * device had (VFIO_IRQ_SET_DATA_BOOL), so any vector of any device can be
 * fired at a moment the test chooses.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <linux/vfio.h>
#include "hw/pci/pci_regs.h"
#include "vfio-pci-util.h"

#define MSI_DATA        0x4320          /* vector n writes 0x4320 | n */
#define MSIX_ADDR       (MSI_ADDR + 0x1000)
#define MSIX_DATA       0x5500
#define QUIET_US        (100 * 1000)    /* long enough for a stray MSI */

#define NVME_VS         0x08
#define EDU_ID          0x00
#define E1000_STATUS    0x08
#define PM_D3HOT        3

/*
 * Helpers
 */
/* The VFIO device fd of QEMU @pid, duplicated into this process. */
static int qemu_device_fd(pid_t pid)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/fd", pid);
    g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
    const char *name;
    int pidfd, fd = -1;

    g_assert_nonnull(dir);
    while ((name = g_dir_read_name(dir)) && fd < 0) {
        g_autofree char *link_path = g_strdup_printf("%s/%s", path, name);
        g_autofree char *link = g_file_read_link(link_path, NULL);

        /* From its group, or its cdev (iommufd) */
        if (link && (!strcmp(link, "anon_inode:[vfio-device]") ||
                     g_str_has_prefix(link, "/dev/vfio/devices/"))) {
            pidfd = syscall(SYS_pidfd_open, pid, 0);
            g_assert_cmpint(pidfd, >=, 0);
            fd = syscall(SYS_pidfd_getfd, pidfd, atoi(name), 0);
            close(pidfd);
        }
    }
    g_assert_cmpint(fd, >=, 0);
    return fd;
}

/* The host fires @vector of irq @index as if the device had: 0 or -errno */
static int host_fire(int fd, int index, int vector)
{
    uint8_t buf[sizeof(struct vfio_irq_set) + 1];
    struct vfio_irq_set *irq = (struct vfio_irq_set *)buf;

    irq->argsz = sizeof(buf);
    irq->flags = VFIO_IRQ_SET_DATA_BOOL | VFIO_IRQ_SET_ACTION_TRIGGER;
    irq->index = index;
    irq->start = vector;
    irq->count = 1;
    irq->data[0] = 1;
    return ioctl(fd, VFIO_DEVICE_SET_IRQS, irq) ? -errno : 0;
}

/* Fires @vector and waits for its message @data at @addr. */
static bool fire_and_see(Assigned *a, int fd, int index, int vector,
                         uint64_t addr, uint32_t data)
{
    qtest_writel(a->qts, addr, 0);
    g_assert_cmpint(host_fire(fd, index, vector), ==, 0);
    return wait_for_ram(a->qts, addr, data);
}

/* Fires @vector, which must not reach the guest at @addr (nor kill QEMU) */
static void fire_and_see_nothing(Assigned *a, int fd, int index, int vector,
                                 uint64_t addr)
{
    qtest_writel(a->qts, addr, 0);
    g_test_message("firing %d/%d: %s", index, vector,
                   strerror(-host_fire(fd, index, vector)));
    g_usleep(QUIET_US);
    assert_qemu_alive(a->qts);
    g_assert_cmphex(qtest_readl(a->qts, addr), ==, 0);
}

/* The trace lines of @event about @what before the line with @marker. */
static int count_until(const char *log, const char *event, const char *what,
                       const char *marker)
{
    g_auto(GStrv) lines = read_lines(log);
    int i, n = 0;

    for (i = 0; lines[i] && !strstr(lines[i], marker); i++) {
        n += strstr(lines[i], event) && strstr(lines[i], what);
    }
    g_assert_nonnull(lines[i]);
    return n;
}

/* The log2 of the MSI vectors the guest sees enabled. */
static int msi_qsize(Assigned *a)
{
    uint8_t cap = qpci_find_capability(a->dev, PCI_CAP_ID_MSI, 0);

    return (qpci_config_readw(a->dev, cap + PCI_MSI_FLAGS) &
            PCI_MSI_FLAGS_QSIZE) >> 4;
}

/*
 * MSI: the guest shrinks the queue size while MSI is enabled.  The host
 * then has exactly the vectors the guest now allows: a vector above them
 * never reaches msi.c, which would abort QEMU on it.
 */
static void test_xhci_msi_qsize(void)
{
    Assigned a;
    int fd;

    if (!assign(&a, "VFIO_XHCI", NULL)) {
        return;
    }
    fd = qemu_device_fd(qemu_pid());

    msi_program(a.dev, MSI_DATA, 4);
    g_assert_cmpint(msi_qsize(&a), ==, 4);
    g_assert_true(fire_and_see(&a, fd, VFIO_PCI_MSI_IRQ_INDEX, 15, MSI_ADDR,
                               MSI_DATA | 15));

    msi_program(a.dev, MSI_DATA, 0);
    fire_and_see_nothing(&a, fd, VFIO_PCI_MSI_IRQ_INDEX, 15, MSI_ADDR);
    g_assert_true(fire_and_see(&a, fd, VFIO_PCI_MSI_IRQ_INDEX, 0, MSI_ADDR,
                               MSI_DATA));

    msi_program(a.dev, MSI_DATA, 3);
    g_assert_cmpint(msi_qsize(&a), ==, 3);
    fire_and_see_nothing(&a, fd, VFIO_PCI_MSI_IRQ_INDEX, 8, MSI_ADDR);
    g_assert_true(fire_and_see(&a, fd, VFIO_PCI_MSI_IRQ_INDEX, 7, MSI_ADDR,
                               MSI_DATA | 7));
    close(fd);
    release(&a);
}

/*
 * MSI and MSI-X enabled together: MSI-X runs whatever the order, MSI
 * takes over when MSI-X goes off, and the guest error is logged once.
 */
static void test_xhci_msi_and_msix(void)
{
    g_autofree char *log = test_log_path("both");
    g_autofree char *args = g_strdup_printf("-d guest_errors -D %s", log);
    MsixInfo m;
    Assigned a;
    int fd, i;

    if (!assign_args(&a, "pc", "VFIO_XHCI", NULL, args)) {
        return;
    }
    fd = qemu_device_fd(qemu_pid());
    a.bar0 = qpci_iomap(a.dev, 0, NULL);
    msix_info(&a, &m);
    msix_set_entry_at(&a, &m, 0, MSIX_ADDR, MSIX_DATA, false);

    msi_program(a.dev, MSI_DATA, 4);
    irq_cap_set_enabled(a.dev, PCI_CAP_ID_MSIX, true);
    g_assert_true(fire_and_see(&a, fd, VFIO_PCI_MSIX_IRQ_INDEX, 0, MSIX_ADDR,
                               MSIX_DATA));
    fire_and_see_nothing(&a, fd, VFIO_PCI_MSI_IRQ_INDEX, 0, MSI_ADDR);

    /* MSI toggled under MSI-X changes nothing */
    for (i = 0; i < 5; i++) {
        irq_cap_set_enabled(a.dev, PCI_CAP_ID_MSI, false);
        irq_cap_set_enabled(a.dev, PCI_CAP_ID_MSI, true);
    }
    g_assert_true(fire_and_see(&a, fd, VFIO_PCI_MSIX_IRQ_INDEX, 0, MSIX_ADDR,
                               MSIX_DATA));

    irq_cap_set_enabled(a.dev, PCI_CAP_ID_MSIX, false);
    g_assert_true(fire_and_see(&a, fd, VFIO_PCI_MSI_IRQ_INDEX, 3, MSI_ADDR,
                               MSI_DATA | 3));
    fire_and_see_nothing(&a, fd, VFIO_PCI_MSIX_IRQ_INDEX, 0, MSIX_ADDR);

    irq_cap_set_enabled(a.dev, PCI_CAP_ID_MSI, false);
    fire_and_see_nothing(&a, fd, VFIO_PCI_MSI_IRQ_INDEX, 3, MSI_ADDR);
    close(fd);
    release(&a);

    g_assert_cmpint(count_log_lines(log, "MSI and MSI-X enabled together"),
                    ==, 1);
    unlink(log);
}

/*
 * nvme's 65 MSI-X vectors, unmasked one by one as a driver does.  Where
 * the kernel can add vectors to a running MSI-X (dynamic MSI-X) that is
 * one ioctl a vector, nothing is disabled and no interrupt is invented;
 * with x-msix-noresize=on MSI-X is disabled and re-enabled for each new
 * vector.  Either way vector 0 delivers between any two additions, and
 * every vector then delivers its own message.
 */
static void msix_bring_up(bool noresize)
{
    g_autofree char *log = test_log_path("grow");
    g_autofree char *props = g_strdup_printf(
        "x-msix-noresize=%s -trace enable=vfio_set_irq_fds "
        "-trace enable=vfio_disable_irqindex "
        "-trace enable=vfio_msix_early_setup "
        "-trace enable=vfio_host_config_write -D %s",
        noresize ? "on" : "off", log);
    g_autofree char *setup = g_strdup_printf("noresize %d", noresize);
    MsixInfo m;
    Assigned a;
    int fd, i, sets, disables;

    if (!assign(&a, "VFIO_NVME", props)) {
        return;
    }
    fd = qemu_device_fd(qemu_pid());
    a.bar0 = qpci_iomap(a.dev, 0, NULL);
    msix_info(&a, &m);
    g_assert_cmpint(m.entries, >=, 65);
    qtest_memset(a.qts, MSIX_ADDR, 0, m.entries * 4);
    for (i = 0; i < m.entries; i++) {
        msix_set_entry_at(&a, &m, i, MSIX_ADDR + 4 * i, MSIX_DATA + i, true);
    }
    irq_cap_set_enabled(a.dev, PCI_CAP_ID_MSIX, true);
    for (i = 0; i < m.entries; i++) {
        qpci_io_writel(a.dev, m.table_bar, m.table_off +
                       i * PCI_MSIX_ENTRY_SIZE + PCI_MSIX_ENTRY_VECTOR_CTRL, 0);
        /* Vector 0 delivers between any two additions */
        g_assert_true(fire_and_see(&a, fd, VFIO_PCI_MSIX_IRQ_INDEX, 0,
                                   MSIX_ADDR, MSIX_DATA));
    }
    qpci_config_writeb(a.dev, PCI_INTERRUPT_LINE, 0x77);     /* marker */
    g_usleep(QUIET_US);
    for (i = 1; !noresize && i < m.entries; i++) {
        g_assert_cmphex(qtest_readl(a.qts, MSIX_ADDR + 4 * i), ==, 0);
    }
    for (i = 0; i < m.entries; i++) {
        g_assert_true(fire_and_see(&a, fd, VFIO_PCI_MSIX_IRQ_INDEX, i,
                                   MSIX_ADDR + 4 * i, MSIX_DATA + i));
    }
    close(fd);
    release(&a);

    g_assert_cmpint(count_log_lines(log, setup), ==, 1);
    sets = count_until(log, "vfio_set_irq_fds", "index 2", "@0x3c <- 0x77");
    disables = count_until(log, "vfio_disable_irqindex", "index 2",
                           "@0x3c <- 0x77");
    g_test_message("%d vectors: %d SET_IRQS, %d disables", m.entries, sets,
                   disables);
    if (noresize) {
        g_assert_cmpint(disables, >=, m.entries - 1);
    } else {
        g_assert_cmpint(disables, ==, 0);
        g_assert_cmpint(sets, <=, m.entries + 1);
    }
    unlink(log);
}

static void test_nvme_msix_dynamic(void)
{
    msix_bring_up(false);
}

static void test_nvme_msix_noresize(void)
{
    msix_bring_up(true);
}

/*
 * Reset
 */
static uint16_t host_command(const char *host)
{
    g_autofree char *path = sysfs_path(host, "config");
    g_autofree char *cfg = NULL;
    gsize len;

    g_assert_true(g_file_get_contents(path, &cfg, &len, NULL));
    return (uint8_t)cfg[PCI_COMMAND] | (uint8_t)cfg[PCI_COMMAND + 1] << 8;
}

#define DECODE_BITS     (PCI_COMMAND_IO | PCI_COMMAND_MEMORY | \
                         PCI_COMMAND_MASTER | PCI_COMMAND_INTX_DISABLE)

/* Turns on the device's interrupts (MSI-X if it has it, else MSI). */
static int irqs_on(Assigned *a)
{
    MsixInfo m;

    if (!qpci_find_capability(a->dev, PCI_CAP_ID_MSIX, 0)) {
        msi_program(a->dev, MSI_DATA, 0);
        return VFIO_PCI_MSI_IRQ_INDEX;
    }
    msix_info(a, &m);
    msix_set_entry_at(a, &m, 0, MSI_ADDR, MSI_DATA, false);
    irq_cap_set_enabled(a->dev, PCI_CAP_ID_MSIX, true);
    return VFIO_PCI_MSIX_IRQ_INDEX;
}

/*
 * After system_reset the host's command register is off too, whatever
 * the device's reset restores, no interrupt reaches the guest, and a
 * driver that enables the device again finds it working.
 */
static void test_reset_quiesces(gconstpointer data)
{
    const char *var = data;
    uint32_t id_reg = !strcmp(var, "VFIO_EDU") ? EDU_ID : NVME_VS;
    uint32_t id;
    Assigned a;
    int fd, index;

    if (!assign(&a, var, NULL)) {
        return;
    }
    fd = qemu_device_fd(qemu_pid());
    qpci_config_writew(a.dev, PCI_COMMAND,
                       qpci_config_readw(a.dev, PCI_COMMAND) |
                       PCI_COMMAND_INTX_DISABLE);
    a.bar0 = qpci_iomap(a.dev, 0, NULL);
    id = qpci_io_readl(a.dev, a.bar0, id_reg);
    index = irqs_on(&a);
    g_assert_true(fire_and_see(&a, fd, index, 0, MSI_ADDR, MSI_DATA));
    g_assert_cmphex(host_command(a.host) & DECODE_BITS, !=, 0);

    qobject_unref(qtest_qmp(a.qts, "{'execute': 'system_reset'}"));
    qtest_qmp_eventwait(a.qts, "RESET");
    g_assert_cmphex(qpci_config_readw(a.dev, PCI_COMMAND) & DECODE_BITS, ==,
                    0);
    g_assert_cmphex(host_command(a.host) & DECODE_BITS, ==, 0);
    fire_and_see_nothing(&a, fd, index, 0, MSI_ADDR);

    qpci_device_enable(a.dev);
    a.bar0 = qpci_iomap(a.dev, 0, NULL);
    g_assert_cmphex(qpci_io_readl(a.dev, a.bar0, id_reg), ==, id);
    index = irqs_on(&a);
    g_assert_true(fire_and_see(&a, fd, index, 0, MSI_ADDR, MSI_DATA));
    close(fd);
    release(&a);
}

/*
 * Decode off under the mmaps
 */
/*
 * In @log, after the line with @marker: the BAR mmaps go off before the
 * host sees the write to config register @reg.
 */
static void assert_mmaps_off_first(const char *log, const char *marker,
                                   int reg)
{
    g_auto(GStrv) lines = read_lines(log);
    g_autofree char *write = g_strdup_printf("@0x%x <-", reg);
    int i, off = -1, host = -1;

    for (i = 0; lines[i] && !strstr(lines[i], marker); i++) {
        continue;
    }
    g_assert_nonnull(lines[i]);
    for (; lines[i] && (off < 0 || host < 0); i++) {
        if (off < 0 && strstr(lines[i], "BAR mmaps 0")) {
            off = i;
        }
        if (host < 0 && strstr(lines[i], "vfio_host_config_write") &&
            strstr(lines[i], write)) {
            host = i;
        }
    }
    g_test_message("after '%s': mmaps off at line %d, host write of 0x%x "
                   "at line %d", marker, off, reg, host);
    g_assert_cmpint(off, >=, 0);
    g_assert_cmpint(off, <, host);
}

/*
 * Clearing Memory Space Enable or entering D3hot: QEMU stops using the
 * mmaps before the host stops decoding (and revokes them, which would be
 * a SIGBUS for a vCPU still in one); BAR accesses meanwhile are answered
 * by the slow path, and the fast path is back once the host decodes.
 */
static void test_e1000e_decode_off(void)
{
    g_autofree char *log = test_log_path("decode");
    g_autofree char *args = g_strdup_printf(
        "-trace enable=vfio_fast_path -trace enable=vfio_host_config_write "
        "-D %s", log);
    uint16_t cmd, pmcsr;
    uint8_t pm;
    Assigned a;

    if (!assign_args(&a, "pc", "VFIO_E1000E", NULL, args)) {
        return;
    }
    a.bar0 = qpci_iomap(a.dev, 0, NULL);
    pm = qpci_find_capability(a.dev, PCI_CAP_ID_PM, 0);
    g_assert_cmphex(pm, !=, 0);
    cmd = qpci_config_readw(a.dev, PCI_COMMAND);
    pmcsr = qpci_config_readw(a.dev, pm + PCI_PM_CTRL);

    qpci_config_writeb(a.dev, PCI_INTERRUPT_LINE, 0x5a);
    qpci_config_writew(a.dev, PCI_COMMAND, cmd & ~PCI_COMMAND_MEMORY);
    qpci_io_readl(a.dev, a.bar0, E1000_STATUS);
    qpci_io_writel(a.dev, a.bar0, E1000_STATUS, 0);
    qpci_config_writew(a.dev, PCI_COMMAND, cmd);
    g_assert_cmphex(qpci_io_readl(a.dev, a.bar0, E1000_STATUS), !=,
                    0xffffffff);

    qpci_config_writeb(a.dev, PCI_INTERRUPT_LINE, 0xa5);
    qpci_config_writew(a.dev, pm + PCI_PM_CTRL, pmcsr | PM_D3HOT);
    g_assert_cmphex(qpci_io_readl(a.dev, a.bar0, E1000_STATUS), ==,
                    0xffffffff);
    qpci_io_writel(a.dev, a.bar0, E1000_STATUS, 0);
    qpci_config_writew(a.dev, pm + PCI_PM_CTRL,
                       pmcsr & ~PCI_PM_CTRL_STATE_MASK);
    g_assert_cmphex(qpci_io_readl(a.dev, a.bar0, E1000_STATUS), !=,
                    0xffffffff);
    assert_qemu_alive(a.qts);
    release(&a);

    assert_mmaps_off_first(log, "@0x3c <- 0x5a", PCI_COMMAND);
    assert_mmaps_off_first(log, "@0x3c <- 0xa5", pm + PCI_PM_CTRL);
    g_assert_cmpint(count_log_lines(log, "BAR mmaps 1"), >=, 2);
    unlink(log);
}

/*
 * The container uses the type1v2 IOMMU model where the kernel has it.
 */
static void test_type1v2(void)
{
    g_autofree char *log = test_log_path("type1");
    g_autofree char *args = g_strdup_printf(
        "-trace enable=vfio_container_new -D %s", log);
    Assigned a;

    if (!assign_args(&a, "pc", "VFIO_EDU", NULL, args)) {
        return;
    }
    release(&a);
    g_assert_cmpint(count_log_lines(log, "type1v2 IOMMU"), ==, 1);
    unlink(log);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    /* Every test needs a real device: none on a plain host */
    if (g_strcmp0(g_getenv("VFIO_RIG"), "1")) {
        return g_test_run();
    }

    qtest_add_func("/vfio-pci/rig/xhci/msi-qsize", test_xhci_msi_qsize);
    qtest_add_func("/vfio-pci/rig/xhci/msi-and-msix",
                   test_xhci_msi_and_msix);
    qtest_add_func("/vfio-pci/rig/nvme/msix-dynamic", test_nvme_msix_dynamic);
    qtest_add_func("/vfio-pci/rig/nvme/msix-noresize",
                   test_nvme_msix_noresize);
    qtest_add_data_func("/vfio-pci/rig/edu/reset-quiesces", "VFIO_EDU",
                        test_reset_quiesces);
    qtest_add_data_func("/vfio-pci/rig/nvme/reset-quiesces", "VFIO_NVME",
                        test_reset_quiesces);
    qtest_add_func("/vfio-pci/rig/e1000e/decode-off", test_e1000e_decode_off);
    /* A type1 container's IOMMU model: nothing of the sort on iommufd */
    if (!backend_iommufd()) {
        qtest_add_func("/vfio-pci/rig/edu/type1v2", test_type1v2);
    }
    return g_test_run();
}
