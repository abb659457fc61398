/*
 * QTest testcases for vfio-pci: each host setup error says what is wrong
 * and how to fix it, and leaves nothing behind
 *
 * QEMU is started with the device on its command line and must exit with
 * status 1 and the expected message and hint, or gets it by device_add and
 * must refuse it and stay as it was.  The rig (tests/rig/guest-ich9.sh)
 * provides a group that is not viable: VFIO_ICH9 is a function bound to
 * vfio-pci, VFIO_ICH9_HOLDER the member of its group on a host driver.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include <sys/resource.h>
#include "qemu/units.h"
#include "vfio-pci-util.h"

#define MEMLOCK_KIB     1024
/* Without CAP_IPC_LOCK, pinned memory counts against RLIMIT_MEMLOCK */
#define NO_IPC_LOCK     "setpriv --inh-caps=-ipc_lock --bounding-set=-ipc_lock"
/*
 * A user without access to the group.  CAP_DAC_READ_SEARCH lets it run
 * QEMU from a checkout in a private folder (/root, mktemp -d), but opens
 * nothing for writing: the group stays out of reach.
 */
#define AS_NOBODY       "setpriv --reuid=nobody --regid=nogroup " \
                        "--clear-groups --inh-caps=+dac_read_search " \
                        "--ambient-caps=+dac_read_search"

/*
 * Helpers
 */
/* g_spawn child setup: the QEMU it starts may pin only MEMLOCK_KIB. */
static void lower_memlock(gpointer data)
{
    struct rlimit rl;

    getrlimit(RLIMIT_MEMLOCK, &rl);
    rl.rlim_cur = MEMLOCK_KIB * 1024;
    setrlimit(RLIMIT_MEMLOCK, &rl);
}

/* qemu_exits_1() on pc, with RLIMIT_MEMLOCK lowered if @memlock */
static char *qemu_fails(const char *wrapper, const char *args, bool memlock)
{
    return qemu_exits_1(wrapper, "pc", args, memlock ? lower_memlock : NULL);
}

static void assert_says(const char *text, const char *needle)
{
    if (!strstr(text, needle)) {
        g_test_message("missing: %s", needle);
    }
    g_assert_nonnull(strstr(text, needle));
}

/* The IOMMU group number of @host. */
static int host_group(const char *host)
{
    g_autofree char *link = sysfs_path(host, "iommu_group");
    g_autofree char *target = g_file_read_link(link, NULL);
    g_autofree char *nr = NULL;

    g_assert_nonnull(target);
    nr = g_path_get_basename(target);
    return atoi(nr);
}

/*
 * qtest_init() of a QEMU without CAP_IPC_LOCK, so that what it pins counts
 * against an RLIMIT_MEMLOCK of @bytes; its stderr goes to @log if given.
 */
static QTestState *qtest_init_memlock(const char *args, rlim_t bytes,
                                      const char *log)
{
    g_autofree char *qemu = g_strdup(g_getenv("QTEST_QEMU_BINARY"));
    g_autofree char *wrapped = g_strdup_printf("%s %s", NO_IPC_LOCK, qemu);
    struct rlimit old, rl;
    QTestState *qts;

    getrlimit(RLIMIT_MEMLOCK, &old);
    rl.rlim_cur = bytes;
    rl.rlim_max = MAX(old.rlim_max, bytes);
    g_assert_cmpint(setrlimit(RLIMIT_MEMLOCK, &rl), ==, 0);
    g_setenv("QTEST_QEMU_BINARY", wrapped, true);
    qts = log ? qtest_init_stderr(args, log) : qtest_init(args);
    g_setenv("QTEST_QEMU_BINARY", qemu, true);
    setrlimit(RLIMIT_MEMLOCK, &old);
    return qts;
}

static bool have_setpriv(void)
{
    g_autofree char *path = g_find_program_in_path("setpriv");

    if (!path) {
        g_test_skip("setpriv (util-linux) is not installed");
    }
    return path;
}

/*
 * Tests that need no assignable device
 */

/* A host without an IOMMU: its devices have no group. */
static void test_no_iommu_group(void)
{
    g_autoptr(GDir) dir = g_dir_open("/sys/bus/pci/devices", 0, NULL);
    g_autofree char *args = NULL;
    g_autofree char *err = NULL;
    const char *name = NULL;

    while (dir && (name = g_dir_read_name(dir))) {
        g_autofree char *link = sysfs_path(name, "iommu_group");

        if (!g_file_test(link, G_FILE_TEST_EXISTS)) {
            break;
        }
    }
    if (!name) {
        g_test_skip("every PCI device of this host is in an IOMMU group");
        return;
    }
    args = g_strdup_printf("-device vfio-pci,host=%s", name);
    err = qemu_fails(NULL, args, false);
    assert_says(err, "is in no IOMMU group");
    assert_says(err, "intel_iommu=on");
}

/*
 * Rig tests
 */

/* Another member of the group is on a host driver. */
static void test_group_not_viable(void)
{
    const char *host = rig_device("VFIO_ICH9");
    const char *holder = rig_device("VFIO_ICH9_HOLDER");
    g_autofree char *args = NULL;
    g_autofree char *err = NULL;
    g_autofree char *what = NULL;
    g_autofree char *fix = NULL;
    QTestState *qts;
    pid_t pid;
    int fds;

    if (!host || !holder) {
        return;
    }
    what = g_strdup_printf("IOMMU group %d is not viable: device %s "
                           "(bound to lpc_ich)", host_group(host), holder);
    fix = g_strdup_printf("scripts/bind-vfio.sh bind %s", holder);

    args = g_strdup_printf("-device vfio-pci,host=%s", host);
    err = qemu_fails(NULL, args, false);
    assert_says(err, what);
    assert_says(err, fix);

    /* device_add: refused, and nothing stays open */
    qts = qtest_init("-M pc -nodefaults");
    pid = qemu_pid();
    fds = count_fds(pid, NULL);
    expect_device_add_error(qts, host, what);
    g_assert_cmpint(count_fds(pid, NULL), ==, fds);
    assert_qemu_alive(qts);
    qtest_quit(qts);
}

/* The group has no device on vfio-pci: there is no /dev/vfio/N. */
static void test_group_not_bound(void)
{
    const char *host = "0000:00:00.0";          /* q35's host bridge */
    g_autofree char *args = NULL;
    g_autofree char *err = NULL;
    g_autofree char *hint = NULL;

    args = g_strdup_printf("-device vfio-pci,host=%s", host);
    err = qemu_fails(NULL, args, false);
    hint = g_strdup_printf("No device of IOMMU group %d is bound to vfio-pci",
                           host_group(host));
    assert_says(err, "No such file or directory");
    assert_says(err, hint);
    assert_says(err, "scripts/bind-vfio.sh bind");
}

/* A QEMU that may not open /dev/vfio/N says so. */
static void test_permission_denied(void)
{
    /*
     * QEMU checks its firmware with access(), which ignores capabilities:
     * its own, in a checkout nobody cannot reach, would not load.  It
     * never runs under -accel qtest, so any 64 KiB will do.
     */
    static const char zeros[64 * KiB];
    const char *host = rig_device("VFIO_EDU");
    g_autofree char *args = NULL;
    g_autofree char *err = NULL;
    g_autofree char *node = NULL;
    g_autofree char *dir = NULL;
    g_autofree char *bios = NULL;

    if (!host || !have_setpriv()) {
        return;
    }
    node = g_strdup_printf("/dev/vfio/%d", host_group(host));
    dir = g_dir_make_tmp("vfio-bios-XXXXXX", NULL);
    g_assert_nonnull(dir);
    bios = g_build_filename(dir, "bios.bin", NULL);
    g_assert_true(g_file_set_contents(bios, zeros, sizeof(zeros), NULL));
    g_assert_cmpint(chmod(dir, 0755) | chmod(bios, 0644), ==, 0);
    args = g_strdup_printf("-bios %s -device vfio-pci,host=%s", bios, host);
    err = qemu_fails(AS_NOBODY, args, false);
    unlink(bios);
    rmdir(dir);
    assert_says(err, "Permission denied");
    assert_says(err, node);
    assert_says(err, "QEMU needs read/write permission");
}

/* Another process holds the group. */
static void test_group_busy(void)
{
    const char *host = rig_device("VFIO_EDU");
    g_autofree char *args = NULL;
    g_autofree char *err = NULL;
    g_autofree char *node = NULL;
    int fd;

    if (!host) {
        return;
    }
    node = g_strdup_printf("/dev/vfio/%d", host_group(host));
    fd = open(node, O_RDWR);
    g_assert_cmpint(fd, >=, 0);
    args = g_strdup_printf("-device vfio-pci,host=%s", host);
    err = qemu_fails(NULL, args, false);
    close(fd);
    assert_says(err, "Device or resource busy");
    assert_says(err, "Another process (another QEMU?) holds group");
}

/* The same host device twice on the command line */
static void test_same_device_twice(void)
{
    const char *host = rig_device("VFIO_EDU");
    g_autofree char *args = NULL;
    g_autofree char *err = NULL;

    if (!host) {
        return;
    }
    args = g_strdup_printf("-device vfio-pci,host=%s,addr=04.0 "
                           "-device vfio-pci,host=%s,addr=05.0", host, host);
    err = qemu_fails(NULL, args, false);
    assert_says(err, "is already assigned to this VM");
}

/*
 * Pinning guest RAM would fail on RLIMIT_MEMLOCK: at startup, refused from
 * the sizes before a page is pinned (pinning first charges the memory
 * cgroup, whose limit libvirt sets to the same number: QEMU was killed
 * there before the kernel's check could fail the map).
 */
static void test_memlock_startup(void)
{
    const char *host = rig_device("VFIO_EDU");
    g_autofree char *args = NULL;
    g_autofree char *err = NULL;
    g_autofree char *limit = NULL;
    const char *p;

    if (!host || !have_setpriv()) {
        return;
    }
    args = g_strdup_printf("-m 128M -device vfio-pci,host=%s %s", host,
                           backend_args());
    err = qemu_fails(NO_IPC_LOCK, args, true);
    limit = g_strdup_printf("cannot pin guest RAM for DMA "
                            "(RLIMIT_MEMLOCK is %d KiB, the guest needs ",
                            MEMLOCK_KIB);
    assert_says(err, limit);
    assert_says(err, "raise the limit, e.g. with 'ulimit -l ");

    /* One message, and no map was tried */
    g_assert_null(strstr(strstr(err, "cannot pin") + 1, "cannot pin"));
    g_assert_null(strstr(err, "failed to map"));

    /* The amount needed covers the guest's 128 MiB */
    p = strstr(err, "the guest needs ");
    g_assert_nonnull(p);
    g_assert_cmpuint(g_ascii_strtoull(p + strlen("the guest needs "), NULL,
                                      10), >=, 128 * 1024);
}

/* ... and by device_add, which leaves no fd and no pinned page behind */
static void test_memlock_device_add(void)
{
    const char *host = rig_device("VFIO_EDU");
    g_autofree char *limit = NULL;
    g_autofree char *args = g_strdup_printf("-M pc -nodefaults -m 128M %s",
                                            backend_args());
    QTestState *qts;
    pid_t pid;
    int fds;

    if (!host || !have_setpriv()) {
        return;
    }
    qts = qtest_init_memlock(args, MEMLOCK_KIB * 1024, NULL);

    pid = qemu_pid();
    fds = count_fds(pid, NULL);
    limit = g_strdup_printf("cannot pin guest RAM for DMA (RLIMIT_MEMLOCK "
                            "is %d KiB, the guest needs ", MEMLOCK_KIB);
    expect_device_add_error(qts, host, limit);
    g_assert_cmpint(count_fds(pid, NULL), ==, fds);
    g_assert_cmpuint(proc_status_kib(pid, pinned_field()), ==, 0);
    assert_qemu_alive(qts);
    qtest_quit(qts);
}

/*
 * RAM hot-plugged after realize that the container cannot pin: the guest
 * must not run on with a device that cannot reach part of its RAM.  The
 * VM stops, the message names the device, the range and the fix, and
 * QEMU keeps answering.
 */
static void test_memlock_hotplug(void)
{
    const char *host = rig_device("VFIO_EDU");
    g_autofree char *log = test_log_path("hotplug-ram");
    g_autofree char *args = NULL;
    g_autofree char *err = NULL;
    g_autofree char *needle = NULL;
    QTestState *qts;
    QDict *resp;
    const char *p;

    if (!host || !have_setpriv()) {
        return;
    }
    args = g_strdup_printf("-M pc -nodefaults -m 128M,slots=2,maxmem=1G "
                           "-device vfio-pci,host=%s %s", host,
                           backend_args());
    /* Room for the 128 MiB at startup, not for 128 MiB more */
    qts = qtest_init_memlock(args, 192 * 1024 * 1024, log);

    qtest_qmp_assert_success(qts, "{'execute': 'object-add', 'arguments': "
                             "{'qom-type': 'memory-backend-ram', "
                             "'id': 'mem1', 'size': 134217728}}");
    qtest_qmp_device_add(qts, "pc-dimm", "dimm1", "{'memdev': 'mem1'}");
    qtest_qmp_eventwait(qts, "STOP");
    resp = qtest_qmp(qts, "{'execute': 'query-status'}");
    g_assert_cmpstr(qdict_get_str(qdict_get_qdict(resp, "return"), "status"),
                    ==, "internal-error");
    qobject_unref(resp);
    qtest_quit(qts);

    g_assert_true(g_file_get_contents(log, &err, NULL, NULL));
    g_test_message("qemu said: %s", err);
    unlink(log);
    needle = g_strdup_printf("vfio %s: failed to map guest RAM", host);
    assert_says(err, needle);
    assert_says(err, "RLIMIT_MEMLOCK is 196608 KiB");
    assert_says(err, "ulimit -l");
    assert_says(err, "The VM is stopped");

    /* The amount needed covers the 128 MiB at startup and the new 128 */
    p = strstr(err, "the guest needs ");
    g_assert_nonnull(p);
    g_assert_cmpuint(g_ascii_strtoull(p + strlen("the guest needs "), NULL,
                                      10), >=, 256 * 1024);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);

    qtest_add_func("/vfio-pci/host/no-iommu-group", test_no_iommu_group);

    if (g_strcmp0(g_getenv("VFIO_RIG"), "1")) {
        return g_test_run();
    }

    /* The legacy backend's groups (vfio-pci-iommufd-test has iommufd's) */
    if (!backend_iommufd()) {
        qtest_add_func("/vfio-pci/rig/errors/group-not-viable",
                       test_group_not_viable);
        qtest_add_func("/vfio-pci/rig/errors/group-not-bound",
                       test_group_not_bound);
        qtest_add_func("/vfio-pci/rig/errors/permission-denied",
                       test_permission_denied);
        qtest_add_func("/vfio-pci/rig/errors/group-busy", test_group_busy);
    }
    qtest_add_func("/vfio-pci/rig/errors/same-device-twice",
                   test_same_device_twice);
    qtest_add_func("/vfio-pci/rig/errors/memlock-startup",
                   test_memlock_startup);
    qtest_add_func("/vfio-pci/rig/errors/memlock-device-add",
                   test_memlock_device_add);
    qtest_add_func("/vfio-pci/rig/errors/memlock-hotplug",
                   test_memlock_hotplug);
    return g_test_run();
}
