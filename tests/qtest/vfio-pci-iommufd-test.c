/*
 * vfio-pci on the iommufd backend: fd passing, a shared IOAS, and the
 * errors that name the fix
 *
 * The device tests of vfio-pci-test and the others run on iommufd too
 * (VFIO_BACKEND=iommufd); this one covers what only iommufd has.  Its rig
 * cases run in two boots: VFIO_IOMMUFD=1 in the boot of the rig kernel
 * (IOMMUFD, vfio cdevs), the others in the Debian kernel's boot, which
 * has neither, so that those errors are the kernel's own.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include "vfio-pci-util.h"
#include "qapi/qmp/qdict.h"

#define EDU_ID          0x00
#define EDU_ID_VALUE    0x010000edU

/*
 * QEMU with @args exits 1 and says @needle.  It inherits our fds, as from
 * a management layer that passes them.
 */
static void qemu_fails(const char *args, const char *needle)
{
    qemu_refuses("pc", args, needle);
}

/* An fd that QEMU inherits (no O_CLOEXEC) */
static int open_inherited(const char *path)
{
    int fd = open(path, O_RDWR);

    g_assert_cmpint(fd, >=, 0);
    return fd;
}

/* /dev/vfio/devices/vfioN of the device at @host */
static char *cdev_path(const char *host)
{
    return sysfs_dev_node(host, "vfio-dev", "/dev/vfio/devices");
}

static QTestState *start_holder(const char *host, bool iommufd)
{
    return qtest_initf("-M pc -nodefaults %s -device vfio-pci,host=%s%s",
                       iommufd ? "-object iommufd,id=ifd0" : "", host,
                       iommufd ? ",iommufd=ifd0" : "");
}

/*
 * Host: bad options
 */
static void test_fd_not_open(void)
{
    qemu_fails("-device vfio-pci,fd=987", "fd=987 is not an open file");
}

static void test_fd_not_cdev(void)
{
    int fd = open_inherited("/dev/null");
    g_autofree char *args = g_strdup_printf("-object iommufd,id=ifd0,fd=%d "
                                            "-device vfio-pci,fd=%d,"
                                            "iommufd=ifd0", fd, fd);

    qemu_fails(args, "is not a vfio device cdev");
    close(fd);
}

/* qom-set of @path's fd to @fd is refused, saying why */
static void expect_fd_fixed(QTestState *qts, const char *path, int fd)
{
    g_autofree char *value = g_strdup_printf("%d", fd);
    QDict *resp = qtest_qmp(qts, "{'execute': 'qom-set', 'arguments': "
                            "{'path': %s, 'property': 'fd', 'value': %s}}",
                            path, value);
    QDict *error = qdict_get_qdict(resp, "error");

    g_assert_nonnull(error);
    g_test_message("qom-set said: %s", qdict_get_str(error, "desc"));
    g_assert_nonnull(strstr(qdict_get_str(error, "desc"),
                            "cannot change once it is in use"));
    qobject_unref(resp);
}

/* The object's fd, once it is created, stays the one it has */
static void test_fd_fixed(void)
{
    int fd = open_inherited("/dev/null");
    int other = open_inherited("/dev/zero");
    QTestState *qts = qtest_initf("-M none -object iommufd,id=ifd0,fd=%d",
                                  fd);
    g_autofree char *link = g_strdup_printf("/proc/%d/fd/%d", qemu_pid(),
                                            fd);
    g_autofree char *target = NULL;

    expect_fd_fixed(qts, "/objects/ifd0", other);
    target = g_file_read_link(link, NULL);
    g_assert_cmpstr(target, ==, "/dev/null");
    qtest_quit(qts);
    close(fd);
    close(other);
}

static void test_host_and_sysfsdev(void)
{
    qemu_fails("-device vfio-pci,host=0000:00:02.0,"
               "sysfsdev=/sys/bus/pci/devices/0000:00:02.0",
               "host= and sysfsdev= both name the device");
}

/*
 * Rig, the Debian kernel: no iommufd, no cdevs
 */
static void test_no_dev_iommu(void)
{
    g_assert_false(g_file_test("/dev/iommu", G_FILE_TEST_EXISTS));
    qemu_fails("-object iommufd,id=ifd0", "CONFIG_IOMMUFD");
    qemu_fails("-object iommufd,id=ifd0", "Could not open '/dev/iommu'");
}

/* An fd in place of /dev/iommu lets the device reach its missing cdev */
static void test_no_cdev(void)
{
    const char *edu = rig_device("VFIO_EDU");
    g_autofree char *args = NULL;
    int fd;

    if (!edu) {
        return;
    }
    fd = open_inherited("/dev/null");
    args = g_strdup_printf("-object iommufd,id=ifd0,fd=%d -device vfio-pci,"
                           "host=%s,iommufd=ifd0", fd, edu);
    qemu_fails(args, "has no vfio cdev: the host kernel lacks "
               "VFIO_DEVICE_CDEV");
    close(fd);
}

/*
 * Rig, the rig kernel
 */

/* Two devices of one iommufd share its IOAS, and its one /dev/iommu fd. */
static void test_shared_ioas(void)
{
    const char *edu = rig_device("VFIO_EDU");
    const char *nvme = rig_device("VFIO_NVME");
    g_autofree char *log = test_log_path("ioas");
    g_auto(GStrv) lines = NULL;
    unsigned int ioas[2], shared[2];
    QTestState *qts;
    int i, n = 0;

    if (!edu || !nvme) {
        return;
    }
    qts = qtest_initf("-M pc -nodefaults -object iommufd,id=ifd0 "
                      "-device vfio-pci,host=%s,addr=04.0,iommufd=ifd0 "
                      "-device vfio-pci,host=%s,addr=05.0,iommufd=ifd0 "
                      "-trace enable=vfio_iommufd_attach -D %s",
                      edu, nvme, log);
    g_assert_cmpint(count_fds(qemu_pid(), "/dev/iommu"), ==, 1);
    g_assert_cmpint(count_fds(qemu_pid(), "/dev/vfio/devices/"), ==, 2);
    g_assert_cmpint(count_fds(qemu_pid(), "/dev/vfio/vfio"), ==, 0);
    qtest_quit(qts);

    lines = read_lines(log);
    for (i = 0; lines[i] && n < 2; i++) {
        const char *at = strstr(lines[i], "attached to IOAS ");

        if (at && sscanf(at, "attached to IOAS %u, shared %u", &ioas[n],
                         &shared[n]) == 2) {
            g_test_message("logged: %s", lines[i]);
            n++;
        }
    }
    g_assert_cmpint(n, ==, 2);
    g_assert_cmpuint(ioas[0], ==, ioas[1]);
    g_assert_cmpuint(shared[0], ==, 0);
    g_assert_cmpuint(shared[1], ==, 1);
    unlink(log);
}

/*
 * As libvirt does it: QEMU gets open fds of /dev/iommu and the cdev, on a
 * command line made from @fmt (the iommufd fd, the cdev's fd, the slot).
 */
static void fd_passing(const char *fmt)
{
    const char *edu = rig_device("VFIO_EDU");
    g_autofree char *cdev = NULL;
    Assigned a;
    int iommu, dev;

    if (!edu) {
        return;
    }
    cdev = cdev_path(edu);
    iommu = open_inherited("/dev/iommu");
    dev = open_inherited(cdev);
    a.qts = qtest_initf(fmt, iommu, dev, SLOT);
    /* Neither live fd can be swapped (and so closed) under the device */
    expect_fd_fixed(a.qts, "/objects/ifd0", dev);
    expect_fd_fixed(a.qts, "/machine/peripheral/dev0", iommu);
    close(iommu);
    close(dev);
    a.bus = qpci_new_pc(a.qts, NULL);
    a.dev = qpci_device_find(a.bus, DEVFN);
    g_assert_nonnull(a.dev);
    qpci_device_enable(a.dev);
    a.bar0 = qpci_iomap(a.dev, 0, NULL);
    g_assert_cmphex(qpci_io_readl(a.dev, a.bar0, EDU_ID), ==, EDU_ID_VALUE);
    /* Ours are closed: QEMU's are the only ones left */
    g_assert_cmpint(count_fds(qemu_pid(), "/dev/iommu"), ==, 1);
    g_assert_cmpint(count_fds(qemu_pid(), cdev), ==, 1);
    release(&a);
}

static void test_fd_passing(void)
{
    fd_passing("-M pc -nodefaults -object iommufd,id=ifd0,fd=%d "
               "-device vfio-pci,id=dev0,fd=%d,iommufd=ifd0,addr=%02x.0");
}

/*
 * The JSON libvirt 12 writes for <driver iommufd='yes'/>: both fds as
 * strings, no host=, the device on a named bus.
 */
static void test_fd_passing_libvirt_json(void)
{
    fd_passing("-M pc -nodefaults "
               "-object '{\"qom-type\":\"iommufd\",\"id\":\"ifd0\","
               "\"fd\":\"%d\"}' "
               "-device '{\"driver\":\"vfio-pci\",\"id\":\"dev0\","
               "\"iommufd\":\"ifd0\",\"fd\":\"%d\",\"bus\":\"pci.0\","
               "\"addr\":\"0x%x\"}'");
}

/* fd= and host= name two devices */
static void test_fd_mismatch(void)
{
    const char *edu = rig_device("VFIO_EDU");
    const char *nvme = rig_device("VFIO_NVME");
    g_autofree char *cdev = NULL;
    g_autofree char *args = NULL;
    int dev;

    if (!edu || !nvme) {
        return;
    }
    cdev = cdev_path(edu);
    dev = open_inherited(cdev);
    args = g_strdup_printf("-object iommufd,id=ifd0 -device vfio-pci,fd=%d,"
                           "host=%s,iommufd=ifd0", dev, nvme);
    qemu_fails(args, "is the cdev of");
    close(dev);
}

static void test_fd_without_iommufd(void)
{
    const char *edu = rig_device("VFIO_EDU");
    g_autofree char *cdev = NULL;
    g_autofree char *args = NULL;
    int dev;

    if (!edu) {
        return;
    }
    cdev = cdev_path(edu);
    dev = open_inherited(cdev);
    args = g_strdup_printf("-device vfio-pci,fd=%d", dev);
    qemu_fails(args, "only the iommufd backend takes");
    close(dev);
}

/* The rig leaves VFIO_HOST_BOUND on its host driver for this one. */
static void test_bound_to_host_driver(void)
{
    const char *host = rig_device("VFIO_HOST_BOUND");
    g_autofree char *args = NULL;

    if (!host) {
        return;
    }
    args = g_strdup_printf("-object iommufd,id=ifd0 -device vfio-pci,"
                           "host=%s,iommufd=ifd0", host);
    qemu_fails(args, "is bound to e1000e, not to vfio-pci");
}

/* One device, two QEMUs: the second one's iommufd cannot bind it. */
static void test_bound_elsewhere(void)
{
    const char *edu = rig_device("VFIO_EDU");
    g_autofree char *args = NULL;
    QTestState *holder;

    if (!edu) {
        return;
    }
    holder = start_holder(edu, true);
    args = g_strdup_printf("-object iommufd,id=ifd0 -device vfio-pci,"
                           "host=%s,iommufd=ifd0", edu);
    qemu_fails(args, "bound already, to another iommufd");
    qemu_fails(args, "cannot bind");
    assert_qemu_alive(holder);
    qtest_quit(holder);
}

/* One device, two backends: whichever came first keeps it. */
static void test_mixed_backends(void)
{
    const char *edu = rig_device("VFIO_EDU");
    g_autofree char *legacy = NULL;
    g_autofree char *iommufd = NULL;
    QTestState *holder;

    if (!edu) {
        return;
    }
    legacy = g_strdup_printf("-device vfio-pci,host=%s", edu);
    iommufd = g_strdup_printf("-object iommufd,id=ifd0 -device vfio-pci,"
                              "host=%s,iommufd=ifd0", edu);

    holder = start_holder(edu, false);
    qemu_fails(iommufd, "Its IOMMU group is open");
    qtest_quit(holder);

    holder = start_holder(edu, true);
    qemu_fails(legacy, "open through its cdev");
    qtest_quit(holder);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    qtest_add_func("/vfio-pci/host/iommufd/fd-not-open", test_fd_not_open);
    qtest_add_func("/vfio-pci/host/iommufd/fd-not-cdev", test_fd_not_cdev);
    qtest_add_func("/vfio-pci/host/iommufd/fd-fixed", test_fd_fixed);
    qtest_add_func("/vfio-pci/host/iommufd/host-and-sysfsdev",
                   test_host_and_sysfsdev);
    if (g_strcmp0(g_getenv("VFIO_RIG"), "1")) {
        return g_test_run();
    }
    if (g_strcmp0(g_getenv("VFIO_IOMMUFD"), "1")) {
        qtest_add_func("/vfio-pci/rig/iommufd/no-dev-iommu",
                       test_no_dev_iommu);
        qtest_add_func("/vfio-pci/rig/iommufd/no-cdev", test_no_cdev);
        return g_test_run();
    }
    qtest_add_func("/vfio-pci/rig/iommufd/shared-ioas", test_shared_ioas);
    qtest_add_func("/vfio-pci/rig/iommufd/fd-passing", test_fd_passing);
    qtest_add_func("/vfio-pci/rig/iommufd/fd-passing-libvirt-json",
                   test_fd_passing_libvirt_json);
    qtest_add_func("/vfio-pci/rig/iommufd/fd-mismatch", test_fd_mismatch);
    qtest_add_func("/vfio-pci/rig/iommufd/fd-without-iommufd",
                   test_fd_without_iommufd);
    qtest_add_func("/vfio-pci/rig/iommufd/bound-to-host-driver",
                   test_bound_to_host_driver);
    qtest_add_func("/vfio-pci/rig/iommufd/bound-elsewhere",
                   test_bound_elsewhere);
    qtest_add_func("/vfio-pci/rig/iommufd/mixed-backends",
                   test_mixed_backends);
    return g_test_run();
}
