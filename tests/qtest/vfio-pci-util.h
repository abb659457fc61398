/*
 * Helpers shared by the vfio-pci qtests
 *
 * The rig (tests/rig) binds real devices to the kernel's vfio-pci and names
 * them in environment variables (VFIO_EDU, VFIO_E1000E, VFIO_NVME, ...);
 * these helpers assign one to a QEMU under qtest and look at that QEMU
 * from the outside (its fds, its memory).
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#ifndef VFIO_PCI_UTIL_H
#define VFIO_PCI_UTIL_H

#include "libqtest.h"
#include "libqos/pci-pc.h"
#include "hw/pci/pci_regs.h"
#include "qapi/qmp/qdict.h"

#define SLOT        4
#define DEVFN       QPCI_DEVFN(SLOT, 0)

typedef struct Assigned {
    QTestState *qts;
    QPCIBus *bus;
    QPCIDevice *dev;
    QPCIBar bar0;
    const char *host;
} Assigned;

/* The host address the rig put in @var; a test failure if it did not. */
static inline const char *rig_device(const char *var)
{
    const char *host = getenv(var);

    if (!host || !*host) {
        g_test_message("%s is not set: the rig did not provide the device",
                       var);
        g_test_fail();
        return NULL;
    }
    return host;
}

/*
 * Starts QEMU on @machine with the rig device @var assigned at slot 4,
 * @props appended to its -device option and @args to the command line.
 * VFIO_TEST_QEMU_ARGS adds arguments, e.g. "-trace vfio_* -D /run/t.log".
 */
static inline bool assign_args(Assigned *a, const char *machine,
                               const char *var, const char *props,
                               const char *args)
{
    const char *env = g_getenv("VFIO_TEST_QEMU_ARGS");

    a->host = rig_device(var);
    if (!a->host) {
        return false;
    }
    a->qts = qtest_initf("-M %s -nodefaults "
                         "-device vfio-pci,host=%s,addr=%02x.0%s%s %s %s",
                         machine, a->host, SLOT, props ? "," : "",
                         props ? props : "", args ? args : "",
                         env ? env : "");
    a->bus = qpci_new_pc(a->qts, NULL);
    a->dev = qpci_device_find(a->bus, DEVFN);
    g_assert_nonnull(a->dev);
    qpci_device_enable(a->dev);
    return true;
}

static inline bool assign_on(Assigned *a, const char *machine,
                             const char *var, const char *extra)
{
    return assign_args(a, machine, var, extra, NULL);
}

static inline bool assign(Assigned *a, const char *var, const char *extra)
{
    return assign_on(a, "pc", var, extra);
}

static inline void release(Assigned *a)
{
    g_free(a->dev);
    qpci_free_pc(a->bus);
    qtest_quit(a->qts);
}

static inline char *sysfs_path(const char *host, const char *file)
{
    return g_strdup_printf("/sys/bus/pci/devices/%s/%s", host, file);
}

/* The lines of the file @path, which must exist. */
static inline GStrv read_lines(const char *path)
{
    g_autofree char *text = NULL;

    g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
    return g_strsplit(text, "\n", -1);
}

/* Size of each BAR as the host kernel sees it (sysfs 'resource'). */
static inline void sysfs_bar_sizes(const char *host, uint64_t *sizes)
{
    g_autofree char *path = sysfs_path(host, "resource");
    g_auto(GStrv) lines = read_lines(path);
    int i;

    for (i = 0; i < 6; i++) {
        uint64_t start, end, flags;

        g_assert_cmpint(sscanf(lines[i], "%" SCNx64 " %" SCNx64 " %" SCNx64,
                               &start, &end, &flags), ==, 3);
        sizes[i] = start ? end - start + 1 : 0;
    }
}

/* The pid of the QEMU that libqtest started (our child). */
static inline pid_t qemu_pid(void)
{
    g_autoptr(GDir) dir = g_dir_open("/proc", 0, NULL);
    const char *name;

    while ((name = g_dir_read_name(dir))) {
        g_autofree char *stat = g_strdup_printf("/proc/%s/stat", name);
        g_autofree char *text = NULL;
        int ppid;
        char *p;

        if (!g_ascii_isdigit(name[0]) ||
            !g_file_get_contents(stat, &text, NULL, NULL)) {
            continue;
        }
        p = strrchr(text, ')');
        if (p && sscanf(p + 2, "%*c %d", &ppid) == 1 && ppid == getpid() &&
            strstr(text, "qemu-system")) {
            return atoi(name);
        }
    }
    g_assert_not_reached();
}

/* The fds @pid holds open on paths starting with @target (all if NULL). */
static inline int count_fds(pid_t pid, const char *target)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/fd", pid);
    g_autoptr(GDir) dir = g_dir_open(path, 0, NULL);
    const char *name;
    int n = 0;

    g_assert_nonnull(dir);
    while ((name = g_dir_read_name(dir))) {
        g_autofree char *fd = g_strdup_printf("%s/%s", path, name);
        g_autofree char *link = g_file_read_link(fd, NULL);

        if (!target || (link && g_str_has_prefix(link, target))) {
            n++;
        }
    }
    return n;
}

/* A "Field:   N kB" line of /proc/@pid/status, in KiB. */
static inline uint64_t proc_status_kib(pid_t pid, const char *field)
{
    g_autofree char *path = g_strdup_printf("/proc/%d/status", pid);
    g_autofree char *text = NULL;
    uint64_t kib = 0;
    char *p;

    g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
    p = strstr(text, field);
    g_assert_nonnull(p);
    g_assert_cmpint(sscanf(p + strlen(field), " %" SCNu64, &kib), ==, 1);
    return kib;
}

/* device_add of vfio-pci with @host (none if NULL) fails naming @needle. */
static inline void expect_device_add_error(QTestState *qts, const char *host,
                                           const char *needle)
{
    QDict *args = qdict_new();
    QDict *resp, *error;
    const char *desc;

    qdict_put_str(args, "driver", "vfio-pci");
    qdict_put_str(args, "id", "refused");
    if (host) {
        qdict_put_str(args, "host", host);
    }
    resp = qtest_qmp(qts, "{'execute': 'device_add', 'arguments': %p}",
                     args);
    error = qdict_get_qdict(resp, "error");
    g_assert_nonnull(error);
    desc = qdict_get_str(error, "desc");
    g_test_message("device_add said: %s", desc);
    g_assert_nonnull(strstr(desc, needle));
    qobject_unref(resp);
}

/* qtest_init(), with QEMU's stderr in the file @log instead of ours. */
static inline QTestState *qtest_init_stderr(const char *args, const char *log)
{
    int saved = dup(STDERR_FILENO);
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    QTestState *qts;

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(dup2(fd, STDERR_FILENO), ==, STDERR_FILENO);
    close(fd);
    qts = qtest_init(args);
    dup2(saved, STDERR_FILENO);
    close(saved);
    return qts;
}

/*
 * Sets or clears the enable bit of the MSI (PCI_CAP_ID_MSI) or MSI-X
 * (PCI_CAP_ID_MSIX) capability; both keep their flags at offset 2.
 */
static inline void irq_cap_set_enabled(QPCIDevice *dev, uint8_t cap_id,
                                       bool on)
{
    uint8_t cap = qpci_find_capability(dev, cap_id, 0);
    uint16_t bit = cap_id == PCI_CAP_ID_MSI ? PCI_MSI_FLAGS_ENABLE :
                                              PCI_MSIX_FLAGS_ENABLE;
    uint16_t flags;

    g_assert_cmphex(cap, !=, 0);
    flags = qpci_config_readw(dev, cap + PCI_MSI_FLAGS);
    qpci_config_writew(dev, cap + PCI_MSI_FLAGS,
                       on ? flags | bit : flags & ~bit);
}

/* QEMU wrote nothing but warnings to the stderr log @log. */
static inline void assert_only_warnings(const char *log)
{
    g_auto(GStrv) lines = read_lines(log);
    int i, bad = 0;

    for (i = 0; lines[i]; i++) {
        if (*lines[i] && !strstr(lines[i], "warning:")) {
            g_test_message("QEMU said: %s", lines[i]);
            bad++;
        }
    }
    g_assert_cmpint(bad, ==, 0);
}

/* QEMU is alive and answers QMP. */
static inline void assert_qemu_alive(QTestState *qts)
{
    QDict *resp = qtest_qmp(qts, "{'execute': 'query-status'}");

    g_assert_nonnull(resp);
    g_assert_true(qdict_haskey(resp, "return"));
    qobject_unref(resp);
}

#endif /* VFIO_PCI_UTIL_H */
