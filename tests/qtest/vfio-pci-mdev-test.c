/*
 * vfio-pci with a mediated device: the kernel's mtty sample, a 16550
 * serial port behind an I/O BAR, named by sysfsdev=
 *
 * The rig (its own kernel's boot) creates one mtty instance and names its
 * UUID in VFIO_MDEV.  Each case runs on the legacy backend (the mdev's own
 * IOMMU group) and on iommufd (its cdev).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "vfio-pci-util.h"
#include "libqos/libqos-malloc.h"
#include "libqos/malloc-pc.h"
#include "libqos/virtio-pci.h"
#include "standard-headers/linux/virtio_config.h"

#define MTTY_VENDOR     0x4348
#define MTTY_DEVICE     0x3253
#define MTTY_CLASS      0x0700      /* communication: serial */
#define UART_TX         0
#define UART_RX         0
#define UART_IER        1
#define UART_IIR        2
#define UART_LSR        5
#define UART_SCR        7
#define UART_IER_THRI   0x02
#define UART_IIR_THRI   0x02
#define UART_LSR_DR     0x01
#define UART_LSR_THRE   0x20

static bool assign_mdev(Assigned *a, const void *data)
{
    bool iommufd = GPOINTER_TO_INT(data);
    const char *uuid = rig_device("VFIO_MDEV");

    if (!uuid) {
        return false;
    }
    a->host = uuid;
    a->qts = qtest_initf("-M q35 -nodefaults %s "
                         "-device vfio-pci,sysfsdev=/sys/bus/mdev/devices/%s,"
                         "addr=%02x.0%s",
                         iommufd ? "-object iommufd,id=ifd0" : "", uuid, SLOT,
                         iommufd ? ",iommufd=ifd0" : "");
    a->bus = qpci_new_pc(a->qts, NULL);
    a->dev = qpci_device_find(a->bus, DEVFN);
    g_assert_nonnull(a->dev);
    /* mtty decodes I/O only: qpci_device_enable() would want memory too */
    a->bar0 = qpci_iomap(a->dev, 0, NULL);
    qpci_config_writew(a->dev, PCI_COMMAND, PCI_COMMAND_IO);
    return true;
}

static uint8_t uart_read(Assigned *a, int reg)
{
    return qpci_io_readb(a->dev, a->bar0, reg);
}

static void uart_write(Assigned *a, int reg, uint8_t val)
{
    qpci_io_writeb(a->dev, a->bar0, reg, val);
}

/* The mdev's config space and registers answer through its I/O BAR. */
static void test_mtty_registers(const void *data)
{
    Assigned a;

    if (!assign_mdev(&a, data)) {
        return;
    }
    g_assert_cmphex(qpci_config_readw(a.dev, PCI_VENDOR_ID), ==, MTTY_VENDOR);
    g_assert_cmphex(qpci_config_readw(a.dev, PCI_DEVICE_ID), ==, MTTY_DEVICE);
    g_assert_cmphex(qpci_config_readw(a.dev, PCI_CLASS_DEVICE), ==,
                    MTTY_CLASS);
    uart_write(&a, UART_SCR, 0x5a);
    g_assert_cmphex(uart_read(&a, UART_SCR), ==, 0x5a);
    g_assert_true(uart_read(&a, UART_LSR) & UART_LSR_THRE);

    /* mtty loops what is sent back into its receive FIFO */
    g_assert_false(uart_read(&a, UART_LSR) & UART_LSR_DR);
    uart_write(&a, UART_TX, 'Q');
    g_assert_true(uart_read(&a, UART_LSR) & UART_LSR_DR);
    g_assert_cmphex(uart_read(&a, UART_RX), ==, 'Q');
    g_assert_false(uart_read(&a, UART_LSR) & UART_LSR_DR);
    release(&a);
}

/*
 * Enabling the transmitter-empty interrupt with an empty FIFO fires
 * INTx; the guest's next BAR access is its EOI.
 */
static void test_mtty_intx(const void *data)
{
    Assigned a;
    int i;

    if (!assign_mdev(&a, data)) {
        return;
    }
    qtest_irq_intercept_in(a.qts, "ioapic");
    for (i = 0; i < 3; i++) {
        uart_write(&a, UART_IER, 0);
        uart_write(&a, UART_IER, UART_IER_THRI);
        g_assert_true(wait_for_irq(a.qts, SLOT_INTX_GSI, true));
        g_assert_cmphex(uart_read(&a, UART_IIR) & 0x0f, ==, UART_IIR_THRI);
        g_assert_true(wait_for_irq(a.qts, SLOT_INTX_GSI, false));
    }
    uart_write(&a, UART_IER, 0);
    release(&a);
}

#define BALLOON_SLOT    5
#define BALLOON_AT      0x2000000ULL    /* the guest RAM it takes */
#define BALLOON_PAGES   2048            /* 8 MiB of 4 KiB pages */
#define BALLOON_WAIT_US (5 * G_USEC_PER_SEC)

/*
 * As much of a guest's balloon driver as inflating takes: the page
 * numbers of [BALLOON_AT, + 8 MiB) on the inflate queue (the first), in
 * the 4 KiB pages virtio-balloon counts.
 */
static void balloon_inflate(QTestState *qts, QPCIBus *bus)
{
    QPCIAddress addr = { .devfn = QPCI_DEVFN(BALLOON_SLOT, 0) };
    QVirtioPCIDevice *vb = virtio_pci_new(bus, &addr);
    QGuestAllocator alloc;
    QVirtQueue *vq;
    uint64_t pfns;
    uint32_t head, i;

    g_assert_nonnull(vb);
    pc_alloc_init(&alloc, qts, ALLOC_NO_FLAGS);
    qvirtio_pci_device_enable(vb);
    qvirtio_start_device(&vb->vdev);
    qvirtio_set_features(&vb->vdev, qvirtio_get_features(&vb->vdev) &
                                    (1ULL << VIRTIO_F_VERSION_1));
    vq = qvirtqueue_setup(&vb->vdev, &alloc, 0);
    qvirtio_set_driver_ok(&vb->vdev);

    pfns = guest_alloc(&alloc, BALLOON_PAGES * sizeof(uint32_t));
    for (i = 0; i < BALLOON_PAGES; i++) {
        qtest_writel(qts, pfns + i * sizeof(uint32_t),
                     BALLOON_AT / 4096 + i);
    }
    head = qvirtqueue_add(qts, vq, pfns, BALLOON_PAGES * sizeof(uint32_t),
                          false, false);
    qvirtqueue_kick(qts, &vb->vdev, vq, head);
    qvirtio_wait_used_elem(qts, &vb->vdev, vq, head, NULL, BALLOON_WAIT_US);

    qvirtqueue_cleanup(vb->vdev.bus, vq, &alloc);
    alloc_destroy(&alloc);
    g_free(vb->pdev);
    g_free(vb);
}

/*
 * A balloon inflates over 8 MiB of guest RAM that held a pattern: with
 * @device_args pinning nothing (x-balloon-allowed=on) the pages are freed
 * (they read as zeros, QEMU's RSS shrinks); next to a device that pins
 * all RAM they stay as they were.
 */
static void balloon_check(const char *device_args, bool frees)
{
    QTestState *qts = qtest_initf("-M q35 -nodefaults %s "
                                  "-device virtio-balloon-pci,addr=%02x.0",
                                  device_args, BALLOON_SLOT);
    QPCIBus *bus = qpci_new_pc(qts, NULL);
    uint64_t before, after;
    uint8_t got[64];
    pid_t pid = qemu_pid();

    qtest_memset(qts, BALLOON_AT, 0xa5, BALLOON_PAGES * 4096);
    before = proc_status_kib(pid, "VmRSS:");
    balloon_inflate(qts, bus);
    after = proc_status_kib(pid, "VmRSS:");
    qtest_memread(qts, BALLOON_AT + 4096 * (BALLOON_PAGES - 1), got,
                  sizeof(got));
    g_test_message("%s: RSS %" PRIu64 " -> %" PRIu64 " KiB, the ballooned "
                   "RAM reads %02x", device_args, before, after, got[0]);
    if (frees) {
        g_assert_cmpint(got[0], ==, 0);
        g_assert_cmpuint(after + 6 * 1024, <, before);
    } else {
        g_assert_cmpint(got[0], ==, 0xa5);
    }
    qpci_free_pc(bus);
    qtest_quit(qts);
}

static void test_balloon(void)
{
    const char *uuid = rig_device("VFIO_MDEV");
    const char *edu = rig_device("VFIO_EDU");
    g_autofree char *mtty = NULL, *pins = NULL;

    if (!uuid || !edu) {
        return;
    }
    mtty = g_strdup_printf("-device vfio-pci,sysfsdev=/sys/bus/mdev/devices/"
                           "%s,x-balloon-allowed=on", uuid);
    pins = g_strdup_printf("-device vfio-pci,host=%s", edu);
    balloon_check(mtty, true);
    balloon_check(pins, false);
}

static void test_elsewhere(void)
{
    g_test_skip("mtty is in the rig kernel's boot only (VFIO_IOMMUFD=1): "
                "Debian's kernel has no mdev samples");
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    if (g_strcmp0(g_getenv("VFIO_RIG"), "1")) {
        return g_test_run();
    }
    if (g_strcmp0(g_getenv("VFIO_IOMMUFD"), "1")) {
        qtest_add_func("/vfio-pci/rig/mdev/elsewhere", test_elsewhere);
        return g_test_run();
    }
    qtest_add_data_func("/vfio-pci/rig/mdev/legacy/registers",
                        GINT_TO_POINTER(0), test_mtty_registers);
    qtest_add_data_func("/vfio-pci/rig/mdev/legacy/intx",
                        GINT_TO_POINTER(0), test_mtty_intx);
    qtest_add_data_func("/vfio-pci/rig/mdev/iommufd/registers",
                        GINT_TO_POINTER(1), test_mtty_registers);
    qtest_add_data_func("/vfio-pci/rig/mdev/iommufd/intx",
                        GINT_TO_POINTER(1), test_mtty_intx);
    qtest_add_func("/vfio-pci/rig/mdev/legacy/balloon", test_balloon);
    return g_test_run();
}
