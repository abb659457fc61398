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
#define MSI_ADDR    0x200000ULL       /* guest RAM the interrupts land in */
#define WAIT_US     (10 * G_USEC_PER_SEC)

typedef struct Assigned {
    QTestState *qts;
    QPCIBus *bus;
    QPCIDevice *dev;
    QPCIBar bar0;
    const char *host;
} Assigned;

/* Polls a guest RAM word until it reads @want; false after WAIT_US. */
static inline bool wait_for_ram(QTestState *qts, uint64_t addr, uint32_t want)
{
    gint64 end = g_get_monotonic_time() + WAIT_US;

    while (qtest_readl(qts, addr) != want) {
        if (g_get_monotonic_time() > end) {
            return false;
        }
        g_usleep(200);
    }
    return true;
}

/* edu's DMA engine (docs/specs/edu.txt) */
#define EDU_DMA_SRC     0x80
#define EDU_DMA_DST     0x88
#define EDU_DMA_COUNT   0x90
#define EDU_DMA_CMD     0x98
#define EDU_DMA_BUF     0x40000     /* edu's own buffer, in its DMA space */
#define EDU_DMA_START   1
#define EDU_DMA_TO_RAM  2           /* else from RAM to edu's buffer */

/* Starts a DMA of edu's, BAR0 mapped at a->bar0 */
static inline void edu_dma_start(Assigned *a, uint64_t src, uint64_t dst,
                                 uint32_t len, uint32_t cmd)
{
    qpci_io_writeq(a->dev, a->bar0, EDU_DMA_SRC, src);
    qpci_io_writeq(a->dev, a->bar0, EDU_DMA_DST, dst);
    qpci_io_writeq(a->dev, a->bar0, EDU_DMA_COUNT, len);
    qpci_io_writeq(a->dev, a->bar0, EDU_DMA_CMD, cmd);
}

/* Until edu has finished its DMA, whether the IOMMU let it through or not */
static inline void edu_dma_wait(Assigned *a)
{
    gint64 end = g_get_monotonic_time() + WAIT_US;

    while (qpci_io_readq(a->dev, a->bar0, EDU_DMA_CMD) & EDU_DMA_START) {
        g_assert_cmpint(g_get_monotonic_time(), <, end);
        g_usleep(1000);
    }
}

/* One DMA of edu's, to its end */
static inline void edu_dma(Assigned *a, uint64_t src, uint64_t dst,
                           uint32_t len, uint32_t cmd)
{
    edu_dma_start(a, src, dst, len, cmd);
    edu_dma_wait(a);
}

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
 * VFIO_BACKEND=iommufd (the rig kernel's boot) runs the tests with every
 * device on one iommufd object instead of the legacy type1 container.
 */
static inline bool backend_iommufd(void)
{
    return !g_strcmp0(g_getenv("VFIO_BACKEND"), "iommufd");
}

/* The arguments that put every vfio-pci device on the backend under test */
static inline const char *backend_args(void)
{
    return backend_iommufd() ? "-object iommufd,id=vfio-ifd "
                               "-global vfio-pci.iommufd=vfio-ifd" : "";
}

/* What holds the DMA maps for QEMU: its type1 container, or /dev/iommu */
static inline const char *container_path(void)
{
    return backend_iommufd() ? "/dev/iommu" : "/dev/vfio/vfio";
}

/*
 * The /proc/PID/status field that counts QEMU's pinned guest RAM: type1
 * charges it as locked memory, iommufd as pinned (and to the user).
 */
static inline const char *pinned_field(void)
{
    return backend_iommufd() ? "VmPin:" : "VmLck:";
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
                         "-device vfio-pci,host=%s,addr=%02x.0%s%s %s %s %s",
                         machine, a->host, SLOT, props ? "," : "",
                         props ? props : "", args ? args : "",
                         env ? env : "", backend_args());
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

/*
 * The device node @devdir/NAME, where NAME is the one entry of @host's
 * sysfs directory @subdir (nvme/nvme0, vfio-dev/vfio3).
 */
static inline char *sysfs_dev_node(const char *host, const char *subdir,
                                   const char *devdir)
{
    g_autofree char *dir = sysfs_path(host, subdir);
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    const char *name = d ? g_dir_read_name(d) : NULL;

    g_assert_nonnull(name);
    return g_strdup_printf("%s/%s", devdir, name);
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

/* On q35 and pc without firmware, slot 4's INTA# reaches IOAPIC input 20. */
#define SLOT_INTX_GSI    20

/* Waits for IOAPIC input @gsi (intercepted) to reach @level. */
static inline bool wait_for_irq(QTestState *qts, int gsi, bool level)
{
    gint64 end = g_get_monotonic_time() + WAIT_US;

    while (qtest_get_irq(qts, gsi) != level) {
        if (g_get_monotonic_time() > end) {
            return false;
        }
        g_usleep(200);
        /* qtest_get_irq only sees what earlier replies carried */
        qtest_clock_step(qts, 0);
    }
    return true;
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

/* What QEMU holds, as seen from /proc. */
typedef struct Footprint {
    int fds;            /* all open fds */
    int containers;     /* fds on /dev/vfio/vfio (or /dev/iommu) */
    int groups;         /* fds on /dev/vfio/N (or the device cdevs) */
    uint64_t locked;    /* guest RAM pinned for DMA, in KiB */
    uint64_t rss;       /* VmRSS, in KiB */
} Footprint;

static inline void footprint(pid_t pid, Footprint *f)
{
    f->fds = count_fds(pid, NULL);
    f->containers = count_fds(pid, container_path());
    /* Group fds, or device cdevs on iommufd */
    f->groups = count_fds(pid, "/dev/vfio/") - count_fds(pid, "/dev/vfio/vfio");
    f->locked = proc_status_kib(pid, pinned_field());
    f->rss = proc_status_kib(pid, "VmRSS:");
}

static inline void log_footprint(const char *when, Footprint *f)
{
    g_test_message("%s: %d fds, %d containers, %d groups, %" PRIu64
                   " KiB locked, %" PRIu64 " KiB RSS", when, f->fds,
                   f->containers, f->groups, f->locked, f->rss);
}

/* Everything but RSS is exactly as it was. */
static inline void assert_same_fds(Footprint *now, Footprint *then)
{
    g_assert_cmpint(now->fds, ==, then->fds);
    g_assert_cmpint(now->containers, ==, then->containers);
    g_assert_cmpint(now->groups, ==, then->groups);
    g_assert_cmpuint(now->locked, ==, then->locked);
}

/*
 * Runs "[@wrapper] QEMU -M @machine -nodefaults -display none -accel qtest
 * @args" to its end, our fds open in it and @setup run in its child; it
 * must exit with status 1.  Returns its stderr, for g_free().
 */
static inline char *qemu_exits_1(const char *wrapper, const char *machine,
                                 const char *args, GSpawnChildSetupFunc setup)
{
    g_autofree char *cmd = g_strdup_printf("%s %s -M %s -nodefaults "
                                           "-display none -accel qtest %s",
                                           wrapper ? wrapper : "",
                                           g_getenv("QTEST_QEMU_BINARY"),
                                           machine, args);
    g_auto(GStrv) argv = NULL;
    g_autoptr(GError) gerr = NULL;
    char *err = NULL;
    int status;

    g_test_message("running: %s", cmd);
    g_assert_true(g_shell_parse_argv(cmd, NULL, &argv, NULL));
    g_assert_true(g_spawn_sync(NULL, argv, NULL, G_SPAWN_SEARCH_PATH |
                               G_SPAWN_LEAVE_DESCRIPTORS_OPEN |
                               G_SPAWN_STDOUT_TO_DEV_NULL, setup, NULL, NULL,
                               &err, &status, &gerr));
    g_test_message("qemu said: %s", err);
    g_assert_true(WIFEXITED(status));
    g_assert_cmpint(WEXITSTATUS(status), ==, 1);
    return err;
}

/* QEMU on @machine with @args refuses to start, saying @needle. */
static inline void qemu_refuses(const char *machine, const char *args,
                                const char *needle)
{
    g_autofree char *err = qemu_exits_1(NULL, machine, args, NULL);

    g_assert_nonnull(strstr(err, needle));
}

/* The QMP reply @resp is an error that says @needle; it is unref'd. */
static inline void qmp_error_says(QDict *resp, const char *what,
                                  const char *needle)
{
    QDict *error = qdict_get_qdict(resp, "error");
    const char *desc;

    g_assert_nonnull(error);
    desc = qdict_get_str(error, "desc");
    g_test_message("%s said: %s", what, desc);
    g_assert_nonnull(strstr(desc, needle));
    qobject_unref(resp);
}

/* device_add of vfio-pci with @host (none if NULL) fails naming @needle. */
static inline void expect_device_add_error(QTestState *qts, const char *host,
                                           const char *needle)
{
    QDict *args = qdict_new();

    qdict_put_str(args, "driver", "vfio-pci");
    qdict_put_str(args, "id", "refused");
    if (host) {
        qdict_put_str(args, "host", host);
    }
    qmp_error_says(qtest_qmp(qts, "{'execute': 'device_add', "
                             "'arguments': %p}", args), "device_add",
                   needle);
}

/* The VM's run state, as query-status says it, for g_free() */
static inline char *query_status(QTestState *qts)
{
    QDict *resp = qtest_qmp(qts, "{'execute': 'query-status'}");
    char *status = g_strdup(qdict_get_str(qdict_get_qdict(resp, "return"),
                                          "status"));

    qobject_unref(resp);
    return status;
}

/* Points our stderr (and so a QEMU we start) at @log; returns the old. */
static inline int stderr_redirect(const char *log)
{
    int saved = dup(STDERR_FILENO);
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(dup2(fd, STDERR_FILENO), ==, STDERR_FILENO);
    close(fd);
    return saved;
}

static inline void stderr_restore(int saved)
{
    dup2(saved, STDERR_FILENO);
    close(saved);
}

/* qtest_init(), with QEMU's stderr in the file @log instead of ours. */
static inline QTestState *qtest_init_stderr(const char *args, const char *log)
{
    int saved = stderr_redirect(log);
    QTestState *qts = qtest_init(args);

    stderr_restore(saved);
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

/*
 * Enables MSI with 2^@log2 vectors at MSI_ADDR, vector n writing
 * @data | n; the device must have 64-bit MSI.
 */
static inline void msi_program(QPCIDevice *dev, uint16_t data, int log2)
{
    uint8_t cap = qpci_find_capability(dev, PCI_CAP_ID_MSI, 0);
    uint16_t flags;

    g_assert_cmphex(cap, !=, 0);
    flags = qpci_config_readw(dev, cap + PCI_MSI_FLAGS);
    g_assert_true(flags & PCI_MSI_FLAGS_64BIT);
    qpci_config_writel(dev, cap + PCI_MSI_ADDRESS_LO, MSI_ADDR);
    qpci_config_writel(dev, cap + PCI_MSI_ADDRESS_HI, 0);
    qpci_config_writew(dev, cap + PCI_MSI_DATA_64, data);
    flags = (flags & ~PCI_MSI_FLAGS_QSIZE) | (log2 << 4);
    qpci_config_writew(dev, cap + PCI_MSI_FLAGS, flags | PCI_MSI_FLAGS_ENABLE);
}

/* A file for QEMU's log or trace, named after @what and this test. */
static inline char *test_log_path(const char *what)
{
    return g_strdup_printf("%s/vfio-%s-%d.log", g_get_tmp_dir(), what,
                           getpid());
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

/*
 * MSI-X of a device whose table and PBA live in BAR0 (nvme, qemu-xhci),
 * which the test has mapped at a->bar0, or in the BAR x-msix-relocation
 * put them in, which is mapped here.
 */
typedef struct MsixInfo {
    QPCIBar table_bar, pba_bar;
    uint32_t table_off, pba_off;
    uint16_t entries;
} MsixInfo;

static inline void msix_info(Assigned *a, MsixInfo *m)
{
    uint8_t cap = qpci_find_capability(a->dev, PCI_CAP_ID_MSIX, 0);
    uint32_t table, pba;

    g_assert_cmphex(cap, !=, 0);
    m->entries = (qpci_config_readw(a->dev, cap + PCI_MSIX_FLAGS) &
                  PCI_MSIX_FLAGS_QSIZE) + 1;
    table = qpci_config_readl(a->dev, cap + PCI_MSIX_TABLE);
    pba = qpci_config_readl(a->dev, cap + PCI_MSIX_PBA);
    m->table_off = table & ~PCI_MSIX_FLAGS_BIRMASK;
    m->pba_off = pba & ~PCI_MSIX_FLAGS_BIRMASK;
    g_assert_cmpint(table & PCI_MSIX_FLAGS_BIRMASK, ==,
                    pba & PCI_MSIX_FLAGS_BIRMASK);
    m->table_bar = a->bar0;
    if (table & PCI_MSIX_FLAGS_BIRMASK) {
        m->table_bar = qpci_iomap(a->dev, table & PCI_MSIX_FLAGS_BIRMASK,
                                  NULL);
    }
    m->pba_bar = m->table_bar;
}

static inline void msix_set_entry_at(Assigned *a, MsixInfo *m, int nr,
                                     uint64_t addr, uint32_t data,
                                     bool masked)
{
    uint64_t e = m->table_off + nr * PCI_MSIX_ENTRY_SIZE;

    qpci_io_writel(a->dev, m->table_bar, e + PCI_MSIX_ENTRY_LOWER_ADDR, addr);
    qpci_io_writel(a->dev, m->table_bar, e + PCI_MSIX_ENTRY_UPPER_ADDR,
                   addr >> 32);
    qpci_io_writel(a->dev, m->table_bar, e + PCI_MSIX_ENTRY_DATA, data);
    qpci_io_writel(a->dev, m->table_bar, e + PCI_MSIX_ENTRY_VECTOR_CTRL,
                   masked);
}

/* assign_args(), with QEMU's stderr in the file @log instead of ours. */
static inline bool assign_logged(Assigned *a, const char *machine,
                                 const char *var, const char *props,
                                 const char *args, const char *log)
{
    int saved = stderr_redirect(log);
    bool ok = assign_args(a, machine, var, props, args);

    stderr_restore(saved);
    return ok;
}

#define ENTRY_LIMIT "/sys/module/vfio_iommu_type1/parameters/dma_entry_limit"

/* sysfs takes no g_file_set_contents(), which renames a new file */
static inline bool write_param(const char *path, const char *value)
{
    FILE *f = fopen(path, "w");
    bool ok = f && fputs(value, f) >= 0;

    return f ? !fclose(f) && ok : false;
}

/*
 * Runs the current test again in a child (which must check
 * g_test_subprocess()) with type1's dma_entry_limit at @limit, and puts
 * the limit back whatever the child does.
 */
static inline void run_with_entry_limit(const char *limit)
{
    g_autofree char *old = NULL;

    if (backend_iommufd()) {
        g_test_skip("iommufd has no limit of DMA maps (type1's "
                    "dma_entry_limit)");
        return;
    }
    if (!g_file_get_contents(ENTRY_LIMIT, &old, NULL, NULL)) {
        g_test_message("cannot read %s", ENTRY_LIMIT);
        g_test_fail();
        return;
    }
    g_assert_true(write_param(ENTRY_LIMIT, limit));
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
    g_assert_true(write_param(ENTRY_LIMIT, old));
    g_test_trap_assert_passed();
}

/* Waits until @log has @n lines with @what. */
static inline bool wait_log(const char *log, const char *what, int n, int secs)
{
    gint64 end = g_get_monotonic_time() + secs * G_USEC_PER_SEC;

    while (g_get_monotonic_time() < end) {
        g_auto(GStrv) lines = NULL;
        g_autofree char *text = NULL;
        int i, seen = 0;

        if (g_file_get_contents(log, &text, NULL, NULL)) {
            lines = g_strsplit(text, "\n", -1);
            for (i = 0; lines[i]; i++) {
                seen += !!strstr(lines[i], what);
            }
            if (seen >= n) {
                return true;
            }
        }
        g_usleep(100 * 1000);
    }
    return false;
}

/* The lines of @log that contain @what; the first one is shown. */
static inline int count_log_lines(const char *log, const char *what)
{
    g_auto(GStrv) lines = read_lines(log);
    int i, n = 0;

    for (i = 0; lines[i]; i++) {
        if (strstr(lines[i], what)) {
            if (!n) {
                g_test_message("logged: %s", lines[i]);
            }
            n++;
        }
    }
    return n;
}

/*
 * The host's map table against guest RAM: the maps as a trace of
 * vfio_dma_map and vfio_dma_unmap says the host made them, and the RAM of
 * the flat view, each as merged "start-end" ranges
 */
typedef struct Range {
    uint64_t start, end;        /* [start, end) */
} Range;

static inline gint range_cmp(gconstpointer a, gconstpointer b)
{
    const Range *x = a, *y = b;

    return x->start < y->start ? -1 : x->start > y->start;
}

/* Sorts @ranges and joins the ones that touch: a text of "start-end " */
static inline char *ranges_merged(GArray *ranges)
{
    GString *out = g_string_new("");
    Range cur = { 0, 0 };
    guint i;

    g_array_sort(ranges, range_cmp);
    for (i = 0; i < ranges->len; i++) {
        Range *r = &g_array_index(ranges, Range, i);

        if (cur.end && r->start <= cur.end) {
            cur.end = MAX(cur.end, r->end);
            continue;
        }
        if (cur.end) {
            g_string_append_printf(out, "%" PRIx64 "-%" PRIx64 " ",
                                   cur.start, cur.end);
        }
        cur = *r;
    }
    if (cur.end) {
        g_string_append_printf(out, "%" PRIx64 "-%" PRIx64, cur.start,
                               cur.end);
    }
    g_array_unref(ranges);
    return g_string_free(out, false);
}

static inline uint64_t field_hex(const char *line, const char *key)
{
    const char *p = strstr(line, key);

    g_assert_nonnull(p);
    return g_ascii_strtoull(p + strlen(key), NULL, 16);
}

/* The maps the host holds, replaying the trace's maps and unmaps */
static inline char *maps_traced(const char *trace)
{
    g_auto(GStrv) lines = read_lines(trace);
    g_autoptr(GHashTable) live = g_hash_table_new_full(g_int64_hash,
                                                       g_int64_equal, g_free,
                                                       g_free);
    GArray *ranges = g_array_new(false, false, sizeof(Range));
    GHashTableIter iter;
    gpointer iova, size;
    int i;

    for (i = 0; lines[i]; i++) {
        uint64_t at, len;

        if (!strstr(lines[i], "vfio_dma_map ") &&
            !strstr(lines[i], "vfio_dma_unmap ")) {
            continue;
        }
        at = field_hex(lines[i], "iova 0x");
        len = field_hex(lines[i], "size 0x");
        if (strstr(lines[i], "vfio_dma_unmap ")) {
            g_assert_true(g_hash_table_remove(live, &at));
        } else {
            g_hash_table_insert(live, g_memdup2(&at, sizeof(at)),
                                g_memdup2(&len, sizeof(len)));
        }
    }
    g_hash_table_iter_init(&iter, live);
    while (g_hash_table_iter_next(&iter, &iova, &size)) {
        Range r = { *(uint64_t *)iova, *(uint64_t *)iova + *(uint64_t *)size };

        g_array_append_val(ranges, r);
    }
    return ranges_merged(ranges);
}

/*
 * The RAM and ROM of the flat view of "memory", in whole pages, and the
 * BAR mmaps of assigned devices where the backend maps them (type1)
 */
static inline char *ram_of_flatview(QTestState *qts)
{
    g_autofree char *mtree = qtest_hmp(qts, "info mtree -f");
    g_auto(GStrv) lines = g_strsplit(mtree, "\n", -1);
    GArray *ranges = g_array_new(false, false, sizeof(Range));
    bool ours = false;
    int i;

    for (i = 0; lines[i]; i++) {
        unsigned long long start, last;
        char type[16];

        if (g_str_has_prefix(lines[i], "FlatView #")) {
            ours = false;
        } else if (strstr(lines[i], " AS \"memory\"")) {
            ours = true;
        } else if (ours && sscanf(lines[i], " %llx-%llx (prio %*d, %15[a-z]",
                                  &start, &last, type) == 3 &&
                   (!strcmp(type, "ram") || !strcmp(type, "rom") ||
                    (!strcmp(type, "ramd") && !backend_iommufd()))) {
            Range r = { ROUND_UP(start, 4096), (last + 1) & ~4095ULL };

            if (r.start < r.end) {
                g_array_append_val(ranges, r);
            }
        }
    }
    return ranges_merged(ranges);
}

/* The host's maps, as @trace has them, are exactly the RAM of @qts */
static inline void assert_maps_are_ram(QTestState *qts, const char *trace)
{
    g_autofree char *ram = ram_of_flatview(qts);
    g_autofree char *maps = maps_traced(trace);

    g_test_message("RAM: %s; mapped: %s", ram, maps);
    g_assert_cmpstr(maps, ==, ram);
}

/*
 * q35's ECAM window, which the tests enable as firmware would: config
 * space of bus B, device/function DEVFN at ECAM_BASE + B << 20 + DEVFN << 12.
 */
#define ECAM_BASE       0xb0000000ULL
#define MCH_PCIEXBAR    0x60

static inline void ecam_enable(Assigned *a)
{
    QPCIDevice *mch = qpci_device_find(a->bus, 0);

    qpci_config_writel(mch, MCH_PCIEXBAR + 4, 0);
    qpci_config_writel(mch, MCH_PCIEXBAR, ECAM_BASE | 1);
    g_free(mch);
}

static inline uint64_t ecam_addr(int bus, int devfn, int reg)
{
    return ECAM_BASE + (bus << 20) + (devfn << 12) + reg;
}

static inline uint32_t ecam_readl(Assigned *a, int bus, int devfn, int reg)
{
    return qtest_readl(a->qts, ecam_addr(bus, devfn, reg));
}

#endif /* VFIO_PCI_UTIL_H */
