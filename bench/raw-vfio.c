/*
 * raw-vfio: the raw limit for bench/: one device through VFIO directly
 *
 * usage: raw-vfio BDF bar [SECS]     BAR0+4 loads/stores through mmap and
 *                                     pread/pwrite; config reads (pread)
 *        raw-vfio BDF dma MIB        MAP_DMA/UNMAP_DMA of MIB of RAM, once
 *        raw-vfio BDF msi COUNT      edu MSI raise -> eventfd -> ack
 *
 * It opens the container, the device's group and the device itself (type1
 * IOMMU), exactly what a QEMU does, and then touches what bench/vfio-bench
 * makes a QEMU touch, with nothing in between.  Prints "name value" lines.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <linux/vfio.h>

#define EDU_LIVENESS    0x04
#define EDU_IRQ_RAISE   0x60
#define EDU_IRQ_ACK     0x64
#define PCI_COMMAND     0x04
#define PCI_COMMAND_MEM_BM  0x6

typedef struct Raw {
    int container, group, device;
    struct vfio_region_info bar0, config;
    volatile uint32_t *bar0_map;
} Raw;

static void die(const char *fmt, ...)
    __attribute__((noreturn, format(printf, 1, 2)));

static void die(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fprintf(stderr, "raw-vfio: error: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (%s)\n", strerror(errno));
    va_end(ap);
    exit(1);
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* /dev/vfio/N for the IOMMU group of @bdf. */
static int open_group(const char *bdf)
{
    char link[256], target[256], path[64];
    ssize_t n;

    snprintf(link, sizeof(link), "/sys/bus/pci/devices/%s/iommu_group", bdf);
    n = readlink(link, target, sizeof(target) - 1);
    if (n < 0) {
        die("%s has no IOMMU group", bdf);
    }
    target[n] = 0;
    snprintf(path, sizeof(path), "/dev/vfio/%s", basename(target));
    return open(path, O_RDWR);
}

static void region_info(Raw *r, int index, struct vfio_region_info *info)
{
    info->argsz = sizeof(*info);
    info->index = index;
    if (ioctl(r->device, VFIO_DEVICE_GET_REGION_INFO, info)) {
        die("VFIO_DEVICE_GET_REGION_INFO %d", index);
    }
}

static void raw_open(Raw *r, const char *bdf)
{
    struct vfio_group_status status = { .argsz = sizeof(status) };

    r->container = open("/dev/vfio/vfio", O_RDWR);
    r->group = open_group(bdf);
    if (r->container < 0 || r->group < 0) {
        die("cannot open the container or the group of %s", bdf);
    }
    if (ioctl(r->group, VFIO_GROUP_GET_STATUS, &status) ||
        !(status.flags & VFIO_GROUP_FLAGS_VIABLE)) {
        die("the group of %s is not viable", bdf);
    }
    if (ioctl(r->group, VFIO_GROUP_SET_CONTAINER, &r->container) ||
        ioctl(r->container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU)) {
        die("cannot set up a type1 container");
    }
    r->device = ioctl(r->group, VFIO_GROUP_GET_DEVICE_FD, bdf);
    if (r->device < 0) {
        die("VFIO_GROUP_GET_DEVICE_FD %s", bdf);
    }
    region_info(r, VFIO_PCI_BAR0_REGION_INDEX, &r->bar0);
    region_info(r, VFIO_PCI_CONFIG_REGION_INDEX, &r->config);
    r->bar0_map = mmap(NULL, r->bar0.size, PROT_READ | PROT_WRITE,
                       MAP_SHARED, r->device, r->bar0.offset);
    if (r->bar0_map == MAP_FAILED) {
        die("cannot mmap BAR0");
    }
}

static void config_write16(Raw *r, int off, uint16_t val)
{
    if (pwrite(r->device, &val, 2, r->config.offset + off) != 2) {
        die("config write at 0x%x", off);
    }
}

/*
 * BAR and config accesses
 */
typedef void AccessFn(Raw *r, long count);

static void mmap_load(Raw *r, long count)
{
    volatile uint32_t *reg = r->bar0_map + EDU_LIVENESS / 4;

    while (count--) {
        (void)*reg;
    }
}

static void mmap_store(Raw *r, long count)
{
    volatile uint32_t *reg = r->bar0_map + EDU_LIVENESS / 4;

    while (count--) {
        *reg = count;
    }
}

/* The loop alone: the same loads from a page of RAM. */
static void ram_load(Raw *r, long count)
{
    static uint32_t page[1024];
    volatile uint32_t *reg = page + EDU_LIVENESS / 4;

    while (count--) {
        (void)*reg;
    }
}

static void pread_load(Raw *r, long count)
{
    uint32_t v;

    while (count--) {
        if (pread(r->device, &v, 4, r->bar0.offset + EDU_LIVENESS) != 4) {
            die("pread BAR0");
        }
    }
}

static void pwrite_store(Raw *r, long count)
{
    uint32_t v = 0;

    while (count--) {
        if (pwrite(r->device, &v, 4, r->bar0.offset + EDU_LIVENESS) != 4) {
            die("pwrite BAR0");
        }
    }
}

static void config_read(Raw *r, long count)
{
    uint32_t v;

    while (count--) {
        if (pread(r->device, &v, 4, r->config.offset) != 4) {
            die("pread config");
        }
    }
}

/* Runs @fn for about @secs and prints its rate. */
static void rate(Raw *r, const char *name, AccessFn *fn, double secs)
{
    long count = 1000;
    double t;

    fn(r, count);                       /* fault the mmap in */
    for (;;) {
        t = now_s();
        fn(r, count);
        t = now_s() - t;
        if (t >= secs / 8) {
            break;
        }
        count *= 4;
    }
    count = count * (secs / t);
    t = now_s();
    fn(r, count);
    printf("%s_per_s %.1f\n", name, count / (now_s() - t));
}

static void bench_bar(Raw *r, double secs)
{
    config_write16(r, PCI_COMMAND, PCI_COMMAND_MEM_BM);
    rate(r, "mmap_load", mmap_load, secs);
    rate(r, "mmap_store", mmap_store, secs);
    rate(r, "pread_load", pread_load, secs);
    rate(r, "pwrite_store", pwrite_store, secs);
    rate(r, "config_read", config_read, secs);
    rate(r, "ram_load", ram_load, secs);
}

/*
 * DMA mapping: one MAP_DMA for the whole range, as the floor
 */
static void bench_dma(Raw *r, long mib)
{
    size_t size = (size_t)mib << 20;
    void *mem = mmap(NULL, size, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    struct vfio_iommu_type1_dma_map map = {
        .argsz = sizeof(map),
        .flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
        .vaddr = (uintptr_t)mem, .iova = 0, .size = size,
    };
    struct vfio_iommu_type1_dma_unmap unmap = {
        .argsz = sizeof(unmap), .iova = 0, .size = size,
    };
    double t;

    if (mem == MAP_FAILED) {
        die("cannot allocate %ld MiB", mib);
    }
    t = now_s();
    if (ioctl(r->container, VFIO_IOMMU_MAP_DMA, &map)) {
        die("VFIO_IOMMU_MAP_DMA");
    }
    printf("map_ms %.3f\n", (now_s() - t) * 1e3);
    t = now_s();
    if (ioctl(r->container, VFIO_IOMMU_UNMAP_DMA, &unmap)) {
        die("VFIO_IOMMU_UNMAP_DMA");
    }
    printf("unmap_ms %.3f\n", (now_s() - t) * 1e3);
    munmap(mem, size);
}

/*
 * edu MSI round trips through an eventfd
 */
static void msi_setup(Raw *r, int efd)
{
    char buf[sizeof(struct vfio_irq_set) + sizeof(int)];
    struct vfio_irq_set *set = (struct vfio_irq_set *)buf;

    set->argsz = sizeof(buf);
    set->flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
    set->index = VFIO_PCI_MSI_IRQ_INDEX;
    set->start = 0;
    set->count = 1;
    memcpy(set->data, &efd, sizeof(efd));
    if (ioctl(r->device, VFIO_DEVICE_SET_IRQS, set)) {
        die("VFIO_DEVICE_SET_IRQS (MSI)");
    }
}

static void bench_msi(Raw *r, long count)
{
    int efd = eventfd(0, 0);
    uint64_t n;
    double t;
    long i;

    config_write16(r, PCI_COMMAND, PCI_COMMAND_MEM_BM);
    msi_setup(r, efd);
    t = now_s();
    for (i = 0; i < count; i++) {
        r->bar0_map[EDU_IRQ_RAISE / 4] = 1;
        if (read(efd, &n, sizeof(n)) != sizeof(n)) {
            die("eventfd read");
        }
        r->bar0_map[EDU_IRQ_ACK / 4] = 1;
    }
    printf("msi_per_s %.1f\n", count / (now_s() - t));
}

int main(int argc, char **argv)
{
    Raw r;

    if (argc < 3) {
        fprintf(stderr, "usage: raw-vfio BDF bar [SECS] | dma MIB | "
                "msi COUNT\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    raw_open(&r, argv[1]);
    if (!strcmp(argv[2], "bar")) {
        bench_bar(&r, argc > 3 ? strtod(argv[3], NULL) : 2);
    } else if (!strcmp(argv[2], "dma") && argc > 3) {
        bench_dma(&r, strtol(argv[3], NULL, 0));
    } else if (!strcmp(argv[2], "msi") && argc > 3) {
        bench_msi(&r, strtol(argv[3], NULL, 0));
    } else {
        fprintf(stderr, "raw-vfio: unknown request %s\n", argv[2]);
        return 2;
    }
    return 0;
}
