/*
 * vfio-fault-shim: hostile host answers for our QEMU, in the rig
 *
 *     LD_PRELOAD=vfio-fault-shim.so VFIO_FAULT=NAME qemu-system-x86_64 ...
 *
 * Passes every VFIO ioctl and pread of QEMU through to the kernel, then
 * changes the answer the way the one fault NAME says: a BAR size that is
 * no power of two, a capability chain that loops, an argsz larger than
 * the buffer, an IRQ count of 0 or 65,536, a short config-space read, an
 * EINTR, a migration data fd that claims more than it was asked, ...
 * tests/qtest/vfio-pci-faults-test.c lists what each must do to QEMU (fail
 * realize naming the device, or run on), and checks that nothing stays
 * behind; vfio-pci-migration-test.c has the migration's case.  Built by scripts/build.sh; never installed.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/types.h>
#include <unistd.h>
#include <linux/vfio.h>

#define INFO_SIZE       sizeof(struct vfio_region_info)
#define CAPS_ROOM       64      /* what a faked capability chain claims */

static off_t config_offset = -1;
static unsigned int map_calls;

static const char *fault(void)
{
    const char *f = getenv("VFIO_FAULT");

    return f ? f : "";
}

static bool is(const char *name)
{
    return !strcmp(fault(), name);
}

/* Claims a capability chain in the first, short region info answer */
static void claim_caps(struct vfio_region_info *info, uint32_t argsz)
{
    info->flags |= VFIO_REGION_INFO_FLAG_CAPS;
    info->argsz = argsz;
}

/* The chain written into the second, long answer */
static void write_caps(struct vfio_region_info *info)
{
    struct vfio_region_info_cap_sparse_mmap *sparse = (void *)(info + 1);

    info->flags |= VFIO_REGION_INFO_FLAG_CAPS;
    info->cap_offset = INFO_SIZE;
    memset(sparse, 0, CAPS_ROOM);
    sparse->header.id = VFIO_REGION_INFO_CAP_SPARSE_MMAP;
    sparse->header.version = 1;
    if (is("region-caps-loop")) {
        sparse->header.next = INFO_SIZE;
    } else if (is("sparse-nr-areas-huge")) {
        sparse->nr_areas = 0x7fffffff;
        sparse->areas[0].size = 4096;
    } else if (is("region-caps-past-argsz")) {
        info->cap_offset = info->argsz + 4096;
    }
}

static bool caps_fault(void)
{
    return is("region-caps-loop") || is("sparse-nr-areas-huge") ||
           is("region-caps-past-argsz");
}

static void region_info(struct vfio_region_info *info, uint32_t asked)
{
    if (info->index == VFIO_PCI_CONFIG_REGION_INDEX) {
        config_offset = info->offset;
        if (is("config-size-tiny")) {
            info->size = 32;
        } else if (is("config-size-huge")) {
            info->size = 1ULL << 40;
        }
        return;
    }
    /* A kernel without CONFIG_VFIO_PCI_VGA */
    if (info->index == VFIO_PCI_VGA_REGION_INDEX && is("vga-region-none")) {
        info->size = 0;
        info->flags = 0;
        return;
    }
    if (info->index == VFIO_PCI_ROM_REGION_INDEX && is("rom-size-npot")) {
        info->size = 0x3001;
        info->flags |= VFIO_REGION_INFO_FLAG_READ;
        return;
    }
    if (info->index != VFIO_PCI_BAR0_REGION_INDEX) {
        return;
    }
    if (is("bar0-size-npot")) {
        info->size = 3 * 4096;
    } else if (is("bar0-size-zero")) {
        info->size = 0;
    } else if (is("bar0-offset-wrap")) {
        info->offset = UINT64_MAX - 0xfff;
    } else if (is("bar0-offset-past")) {
        info->offset = 1ULL << 60;
    } else if (is("bar0-no-access")) {
        info->flags &= ~(VFIO_REGION_INFO_FLAG_READ |
                         VFIO_REGION_INFO_FLAG_WRITE |
                         VFIO_REGION_INFO_FLAG_MMAP);
    } else if (is("region-argsz-huge") && asked == INFO_SIZE) {
        claim_caps(info, 1U << 31);
    } else if (is("region-argsz-grows") && asked > INFO_SIZE) {
        info->argsz = asked * 4;
    } else if (caps_fault()) {
        if (asked == INFO_SIZE) {
            claim_caps(info, INFO_SIZE + CAPS_ROOM);
        } else if (asked >= INFO_SIZE + CAPS_ROOM) {
            write_caps(info);
        }
    }
}

static void irq_info(struct vfio_irq_info *info)
{
    if ((is("msi-irq-count-0") && info->index == VFIO_PCI_MSI_IRQ_INDEX) ||
        (is("intx-irq-count-0") && info->index == VFIO_PCI_INTX_IRQ_INDEX)) {
        info->count = 0;
    } else if (is("irq-count-64k")) {
        info->count = 65536;
    }
}

static void iommu_info(struct vfio_iommu_type1_info *info, uint32_t asked)
{
    struct vfio_info_cap_header *hdr = (void *)(info + 1);

    if (is("iommu-info-argsz-grows") && asked > sizeof(*info)) {
        info->argsz = asked + (1U << 20);
    } else if (is("iommu-info-caps-loop")) {
        if (asked == sizeof(*info)) {
            info->flags |= VFIO_IOMMU_INFO_CAPS;
            info->argsz = sizeof(*info) + CAPS_ROOM;
        } else if (asked >= sizeof(*info) + CAPS_ROOM) {
            info->flags |= VFIO_IOMMU_INFO_CAPS;
            info->cap_offset = sizeof(*info);
            hdr->id = VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE;
            hdr->version = 1;
            hdr->next = sizeof(*info);
        }
    }
}

/* The data fd of the migration session the device last opened */
static int mig_data_fd = -1;

static void mig_state(struct vfio_device_feature *feature)
{
    struct vfio_device_feature_mig_state *mig = (void *)feature->data;

    if ((feature->flags & VFIO_DEVICE_FEATURE_SET) &&
        (feature->flags & VFIO_DEVICE_FEATURE_MASK) ==
        VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE && mig->data_fd >= 0) {
        mig_data_fd = mig->data_fd;
    }
}

/* Faults that replace the kernel's answer: the call never reaches it */
static int refused(unsigned long req, void *arg)
{
    if (req == VFIO_DEVICE_GET_REGION_INFO && is("region-info-einval") &&
        ((struct vfio_region_info *)arg)->index == 2) {
        return EINVAL;
    }
    if (req == VFIO_DEVICE_SET_IRQS && is("set-irqs-eintr")) {
        return EINTR;
    }
    if (req == VFIO_DEVICE_RESET && is("reset-eio")) {
        return EIO;
    }
    if (req == VFIO_DEVICE_GET_IRQ_INFO && is("req-irq-info-enotty") &&
        ((struct vfio_irq_info *)arg)->index == VFIO_PCI_REQ_IRQ_INDEX) {
        return ENOTTY;
    }
    if (req == VFIO_IOMMU_MAP_DMA && is("map-dma-enomem") &&
        ++map_calls == 3) {
        return ENOMEM;
    }
    /* A kernel without IOMMUFD (Debian's) has no iova_bitmap for reports */
    if (req == VFIO_DEVICE_FEATURE && is("dma-report-eopnotsupp") &&
        (((struct vfio_device_feature *)arg)->flags &
         VFIO_DEVICE_FEATURE_MASK) == VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT) {
        return EOPNOTSUPP;
    }
    return 0;
}

/* Faults that change the kernel's answer after it gave it */
/*
 * A display plane that does not fit: a row wider than its stride, or rows
 * that run past the region that holds them
 */
static void gfx_plane(struct vfio_device_gfx_plane_info *plane)
{
    if (plane->flags & VFIO_GFX_PLANE_TYPE_PROBE) {
        return;
    }
    if (is("plane-stride-short")) {
        plane->stride = plane->width;
    } else if (is("plane-size-past-region")) {
        plane->stride = 1 << 20;
        plane->size = plane->stride * plane->height;
    }
}

static int changed(unsigned long req, void *arg, uint32_t asked, int ret)
{
    if (ret < 0) {
        return ret;
    }
    switch (req) {
    case VFIO_DEVICE_GET_REGION_INFO:
        region_info(arg, asked);
        break;
    case VFIO_DEVICE_GET_IRQ_INFO:
        irq_info(arg);
        break;
    case VFIO_IOMMU_GET_INFO:
        iommu_info(arg, asked);
        break;
    case VFIO_DEVICE_GET_INFO:
        if (is("device-info-not-pci")) {
            ((struct vfio_device_info *)arg)->flags &= ~VFIO_DEVICE_FLAGS_PCI;
        } else if (is("device-info-no-regions")) {
            ((struct vfio_device_info *)arg)->num_regions = 2;
        }
        break;
    case VFIO_GROUP_GET_STATUS:
        if (is("group-not-viable")) {
            ((struct vfio_group_status *)arg)->flags &=
                ~VFIO_GROUP_FLAGS_VIABLE;
        }
        break;
    case VFIO_GET_API_VERSION:
        return is("api-version") ? 1 : ret;
    case VFIO_DEVICE_FEATURE:
        mig_state(arg);
        break;
    case VFIO_DEVICE_QUERY_GFX_PLANE:
        gfx_plane(arg);
        break;
    }
    return ret;
}

static bool is_vfio(unsigned long req)
{
    return _IOC_TYPE(req) == VFIO_TYPE;
}

int ioctl(int fd, unsigned long req, ...)
{
    static int (*real)(int, unsigned long, void *);
    uint32_t asked = 0;
    va_list ap;
    void *arg;
    int err;

    va_start(ap, req);
    arg = va_arg(ap, void *);
    va_end(ap);
    if (!real) {
        real = dlsym(RTLD_NEXT, "ioctl");
    }
    if (!is_vfio(req) || !*fault()) {
        return real(fd, req, arg);
    }
    err = refused(req, arg);
    if (err) {
        errno = err;
        return -1;
    }
    /* Every argument struct that the shim changes starts with its argsz */
    if (req != VFIO_GET_API_VERSION && req != VFIO_CHECK_EXTENSION &&
        req != VFIO_SET_IOMMU && req != VFIO_DEVICE_RESET && arg) {
        memcpy(&asked, arg, sizeof(asked));
    }
    return changed(req, arg, asked, real(fd, req, arg));
}

static ssize_t short_config(int fd, void *buf, size_t count, off_t off,
                            ssize_t (*real)(int, void *, size_t, off_t))
{
    bool config = config_offset >= 0 && off >= config_offset &&
                  off < config_offset + 4096;

    if (config && is("config-short-read") && count > 64) {
        return real(fd, buf, count / 2, off);
    }
    if (config && is("config-read-eagain")) {
        errno = EAGAIN;
        return -1;
    }
    return real(fd, buf, count, off);
}

/* mig-read-overlong: the data fd claims one byte more than was asked */
ssize_t read(int fd, void *buf, size_t count)
{
    static ssize_t (*real)(int, void *, size_t);
    ssize_t n;

    if (!real) {
        real = dlsym(RTLD_NEXT, "read");
    }
    n = real(fd, buf, count);
    if (n > 0 && fd == mig_data_fd && is("mig-read-overlong")) {
        return count + 1;
    }
    return n;
}

ssize_t pread64(int fd, void *buf, size_t count, off_t off)
{
    static ssize_t (*real)(int, void *, size_t, off_t);

    if (!real) {
        real = dlsym(RTLD_NEXT, "pread64");
    }
    return short_config(fd, buf, count, off, real);
}

ssize_t pread(int fd, void *buf, size_t count, off_t off)
{
    return pread64(fd, buf, count, off);
}
