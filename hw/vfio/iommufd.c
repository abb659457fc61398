/*
 * VFIO: the iommufd backend, device cdevs bound to an iommufd
 *
 * The device is opened through its cdev (/dev/vfio/devices/vfioN, found
 * from sysfs vfio-dev/, or passed as fd=), bound to the iommufd object it
 * names, and attached to an IOAS: one per iommufd and address space, so
 * that the devices of one iommufd share their DMA maps as the devices of
 * one type1 container do.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"
#include <sys/ioctl.h>
#include <sys/sysmacros.h>

#include "hw/vfio/vfio-common.h"
#include "hw/vfio/vfio-iommufd.h"
#include "qapi/error.h"
#include "qemu/atomic.h"
#include "qemu/error-report.h"
#include "qemu/range.h"
#include "trace.h"

typedef struct VFIOIOASContainer {
    VFIOContainer base;
    IOMMUFDBackend *be;
    uint32_t ioas_id;
    QLIST_ENTRY(VFIOIOASContainer) next;
} VFIOIOASContainer;

static QLIST_HEAD(, VFIOIOASContainer) ioas_list =
    QLIST_HEAD_INITIALIZER(ioas_list);

static VFIOIOASContainer *vfio_ioas(VFIOContainer *container)
{
    return container_of(container, VFIOIOASContainer, base);
}

static uint32_t vfio_iommufd_map_flags(IOMMUAccessFlags perm)
{
    return IOMMU_IOAS_MAP_FIXED_IOVA |
           (perm & IOMMU_RO ? IOMMU_IOAS_MAP_READABLE : 0) |
           (perm & IOMMU_WO ? IOMMU_IOAS_MAP_WRITEABLE : 0);
}

static int vfio_iommufd_dma_map(VFIOContainer *container, hwaddr iova,
                                uint64_t size, void *vaddr,
                                IOMMUAccessFlags perm)
{
    VFIOIOASContainer *ioas = vfio_ioas(container);
    struct iommu_ioas_map map = {
        .size = sizeof(map),
        .flags = vfio_iommufd_map_flags(perm),
        .ioas_id = ioas->ioas_id,
        .user_va = (uintptr_t)vaddr,
        .iova = iova,
        .length = size,
    };

    return ioctl(ioas->be->fd, IOMMU_IOAS_MAP, &map) ? -errno : 0;
}

/* ENOTTY where the kernel has no file maps (before 6.13): asked once */
static int vfio_iommufd_dma_map_file(VFIOContainer *container, hwaddr iova,
                                     uint64_t size, int fd, uint64_t start,
                                     IOMMUAccessFlags perm)
{
    VFIOIOASContainer *ioas = vfio_ioas(container);
    struct iommu_ioas_map_file map = {
        .size = sizeof(map),
        .flags = vfio_iommufd_map_flags(perm),
        .ioas_id = ioas->ioas_id,
        .fd = fd,
        .start = start,
        .length = size,
        .iova = iova,
    };

    if (qatomic_read(&ioas->be->no_map_file)) {
        return -ENOTTY;
    }
    if (!ioctl(ioas->be->fd, IOMMU_IOAS_MAP_FILE, &map)) {
        return 0;
    }
    trace_vfio_iommufd_map_file_refused(ioas->be->fd, fd, start, errno);
    if (errno == ENOTTY) {
        qatomic_set(&ioas->be->no_map_file, true);
    }
    return -errno;
}

static int vfio_iommufd_dma_unmap(VFIOContainer *container, hwaddr iova,
                                  uint64_t size)
{
    VFIOIOASContainer *ioas = vfio_ioas(container);
    struct iommu_ioas_unmap unmap = {
        .size = sizeof(unmap),
        .ioas_id = ioas->ioas_id,
        .iova = iova,
        .length = size,
    };

    return ioctl(ioas->be->fd, IOMMU_IOAS_UNMAP, &unmap) ? -errno : 0;
}

/* Far more than the reserved holes of any real IOMMU */
#define VFIO_IOVA_RANGES_MAX    4096

/* What the devices attached to the IOAS let it map (they may narrow it) */
static GArray *vfio_iommufd_iova_ranges(VFIOContainer *container)
{
    VFIOIOASContainer *ioas = vfio_ioas(container);
    struct iommu_ioas_iova_ranges query = {
        .size = sizeof(query),
        .ioas_id = ioas->ioas_id,
    };
    g_autofree struct iommu_iova_range *iovas = NULL;
    GArray *ranges;
    uint32_t i, count;

    /* The first call counts the ranges (EMSGSIZE), the second gets them */
    if (ioctl(ioas->be->fd, IOMMU_IOAS_IOVA_RANGES, &query) &&
        errno != EMSGSIZE) {
        return NULL;
    }
    /* No ranges, or more than any IOMMU has: the answer is no answer */
    if (!query.num_iovas || query.num_iovas > VFIO_IOVA_RANGES_MAX) {
        return NULL;
    }
    count = query.num_iovas;
    iovas = g_new0(struct iommu_iova_range, count);
    query.allowed_iovas = (uintptr_t)iovas;
    if (ioctl(ioas->be->fd, IOMMU_IOAS_IOVA_RANGES, &query)) {
        return NULL;
    }
    count = MIN(count, query.num_iovas);
    ranges = g_array_sized_new(false, false, sizeof(Range), count);
    for (i = 0; i < count; i++) {
        Range r;

        range_set_bounds(&r, iovas[i].start, iovas[i].last);
        g_array_append_val(ranges, r);
    }
    return ranges;
}

char *vfio_cdev_sysfsdev(int fd, Error **errp)
{
    g_autofree char *link = NULL;
    g_autofree char *real = NULL;
    g_autofree char *parent = NULL;
    g_autofree char *base = NULL;
    struct stat st;

    if (fstat(fd, &st)) {
        error_setg_errno(errp, errno, "fd=%d is not an open file", fd);
        return NULL;
    }
    if (S_ISCHR(st.st_mode)) {
        link = g_strdup_printf("/sys/dev/char/%u:%u", major(st.st_rdev),
                               minor(st.st_rdev));
        real = realpath(link, NULL);
    }
    /* .../0000:05:00.0/vfio-dev/vfio3 */
    parent = real ? g_path_get_dirname(real) : NULL;
    base = parent ? g_path_get_basename(parent) : NULL;
    if (!base || strcmp(base, "vfio-dev")) {
        error_setg(errp, "fd=%d is not a vfio device cdev", fd);
        error_append_hint(errp, "Pass an open /dev/vfio/devices/vfioN.\n");
        return NULL;
    }
    return g_path_get_dirname(parent);
}

/* Why @vbasedev has no vfio-dev/ in sysfs: its driver, or the kernel */
static void vfio_no_cdev_error(VFIODevice *vbasedev, Error **errp)
{
    g_autofree char *drv = vfio_sysfs_link_name(vbasedev->sysfsdev,
                                                "driver");

    if (drv && (!strcmp(drv, "vfio-pci") || !strcmp(drv, "vfio_mdev"))) {
        error_setg(errp, "host device %s has no vfio cdev: the host kernel "
                   "lacks VFIO_DEVICE_CDEV", vbasedev->name);
        error_append_hint(errp, "Use the legacy backend (drop iommufd=), or "
                          "a kernel built with CONFIG_VFIO_DEVICE_CDEV=y.\n");
        return;
    }
    error_setg(errp, "host device %s is %s%s, not to vfio-pci",
               vbasedev->name, drv ? "bound to " : "bound to no driver",
               drv ? drv : "");
    error_append_hint(errp, "Bind it first: scripts/bind-vfio.sh bind %s\n",
                      vbasedev->name);
}

/* Opens /dev/vfio/devices/vfioN, the cdev that sysfs names for the device */
static int vfio_open_cdev(VFIODevice *vbasedev, Error **errp)
{
    g_autofree char *dir = g_strdup_printf("%s/vfio-dev", vbasedev->sysfsdev);
    g_autoptr(GDir) gdir = g_dir_open(dir, 0, NULL);
    const char *entry = NULL;
    g_autofree char *path = NULL;
    int fd;

    while (gdir && (entry = g_dir_read_name(gdir)) &&
           !g_str_has_prefix(entry, "vfio")) {
        continue;
    }
    /* vfio-dev/vfioN is there on any kernel; its dev only with cdevs */
    path = entry ? g_strdup_printf("%s/%s/dev", dir, entry) : NULL;
    if (!path || !g_file_test(path, G_FILE_TEST_EXISTS)) {
        vfio_no_cdev_error(vbasedev, errp);
        return -1;
    }
    g_free(path);
    path = g_strdup_printf("/dev/vfio/devices/%s", entry);
    fd = qemu_open(path, O_RDWR, errp);
    if (fd < 0 && (errno == EACCES || errno == EPERM)) {
        error_append_hint(errp, "QEMU needs read/write permission on %s, or "
                          "an fd of it (fd=).\n", path);
    }
    return fd;
}

/*
 * VFIO_DEVICE_BIND_IOMMUFD as Linux 6.17 has it: a VF token after
 * out_devid, read where VFIO_DEVICE_BIND_FLAG_TOKEN says so.  QEMU 7.2's
 * linux/vfio.h predates both; earlier kernels refuse the flag (EINVAL).
 */
#define VFIO_BIND_FLAG_TOKEN    (1 << 0)

typedef struct VFIOBindIOMMUFD {
    __u32 argsz;
    __u32 flags;
    __s32 iommufd;
    __u32 out_devid;
    __aligned_u64 token_uuid_ptr; /* 16 bytes, as the UUID string reads */
} VFIOBindIOMMUFD;

static bool vfio_bind_cdev(VFIODevice *vbasedev, IOMMUFDBackend *be,
                           Error **errp)
{
    /* Without a token, the struct every cdev kernel knows */
    VFIOBindIOMMUFD bind = {
        .argsz = offsetof(VFIOBindIOMMUFD, token_uuid_ptr),
        .iommufd = be->fd,
    };
    int err;

    QEMU_BUILD_BUG_ON(offsetof(VFIOBindIOMMUFD, token_uuid_ptr) !=
                      sizeof(struct vfio_device_bind_iommufd));
    if (vfio_vf_token_given(vbasedev)) {
        bind.argsz = sizeof(bind);
        bind.flags = VFIO_BIND_FLAG_TOKEN;
        bind.token_uuid_ptr = (uintptr_t)vbasedev->vf_token.data;
        trace_vfio_vf_token(vbasedev->name, "cdev");
    }
    if (!ioctl(vbasedev->fd, VFIO_DEVICE_BIND_IOMMUFD, &bind)) {
        vbasedev->devid = bind.out_devid;
        return true;
    }
    err = errno;
    if (vfio_vf_token_error(vbasedev, err, true, errp)) {
        return false;
    }
    error_setg_errno(errp, err, "cannot bind %s to iommufd %s",
                     vbasedev->name,
                     object_get_canonical_path_component(OBJECT(be)));
    if (err == EBUSY) {
        error_append_hint(errp, "Its IOMMU group is open (the legacy "
                          "backend, in this QEMU or another).\n");
    } else if (err == EINVAL) {
        error_append_hint(errp, "It is bound already, to another iommufd "
                          "(another QEMU?).\n");
    }
    return false;
}

/*
 * The kernels we run cannot map device memory into an IOAS (iommufd's
 * DMA-buf maps came later): devices that share one cannot DMA to each
 * other's BARs.  Said once, when a second device joins.
 */
static void vfio_iommufd_p2p_warn(VFIOContainer *container,
                                  VFIODevice *vbasedev)
{
    static bool said;

    if (!said && !QLIST_EMPTY(&container->device_list)) {
        said = true;
        warn_report("vfio %s: no peer-to-peer DMA between the devices of "
                    "the iommufd backend: this kernel's iommufd cannot map "
                    "device memory, so a DMA into another assigned device's "
                    "BAR faults", vbasedev->name);
    }
}

static bool vfio_ioas_attach(VFIODevice *vbasedev, VFIOIOASContainer *ioas,
                             Error **errp)
{
    struct vfio_device_attach_iommufd_pt attach = {
        .argsz = sizeof(attach),
        .pt_id = ioas->ioas_id,
    };

    if (ioctl(vbasedev->fd, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &attach)) {
        error_setg_errno(errp, errno, "cannot attach %s to IOAS %u",
                         vbasedev->name, ioas->ioas_id);
        return false;
    }
    trace_vfio_iommufd_attach(vbasedev->name, vbasedev->devid,
                              ioas->ioas_id,
                              !QLIST_EMPTY(&ioas->base.device_list));
    vfio_iommufd_p2p_warn(&ioas->base, vbasedev);
    vfio_container_add_device(&ioas->base, vbasedev);
    return true;
}

/* Undoes vfio_ioas_attach(), so that the IOAS can go before the device */
static void vfio_ioas_detach(VFIODevice *vbasedev)
{
    struct vfio_device_detach_iommufd_pt detach = { .argsz = sizeof(detach) };

    vfio_container_del_device(vbasedev);
    if (ioctl(vbasedev->fd, VFIO_DEVICE_DETACH_IOMMUFD_PT, &detach)) {
        error_report("vfio %s: cannot detach from its IOAS: %m",
                     vbasedev->name);
    }
}

static void vfio_ioas_free(VFIOIOASContainer *ioas)
{
    struct iommu_destroy destroy = {
        .size = sizeof(destroy),
        .id = ioas->ioas_id,
    };

    trace_vfio_iommufd_ioas(ioas->be->fd, ioas->ioas_id, "destroyed");
    if (ioctl(ioas->be->fd, IOMMU_DESTROY, &destroy)) {
        error_report("vfio: cannot destroy IOAS %u: %m", ioas->ioas_id);
    }
    vfio_container_destroy(&ioas->base);
    g_free(ioas);
}

/* The IOAS of @be for @as, new and empty if there is none. */
static VFIOIOASContainer *vfio_get_ioas(IOMMUFDBackend *be, AddressSpace *as,
                                        bool *created, Error **errp)
{
    struct iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
    VFIOIOASContainer *ioas;

    *created = false;
    QLIST_FOREACH(ioas, &ioas_list, next) {
        if (ioas->be == be && ioas->base.as == as) {
            return ioas;
        }
    }
    if (ioctl(be->fd, IOMMU_IOAS_ALLOC, &alloc)) {
        error_setg_errno(errp, errno, "cannot allocate an IOAS");
        return NULL;
    }
    ioas = g_new0(VFIOIOASContainer, 1);
    vfio_container_init(&ioas->base, &vfio_iommufd_ops, as);
    ioas->be = be;
    ioas->ioas_id = alloc.out_ioas_id;
    *created = true;
    trace_vfio_iommufd_ioas(be->fd, ioas->ioas_id, "allocated");
    return ioas;
}

/* Attaches the bound device to its IOAS; a new one gets guest RAM mapped */
static bool vfio_iommufd_connect(VFIODevice *vbasedev, AddressSpace *as,
                                 Error **errp)
{
    bool created;
    VFIOIOASContainer *ioas = vfio_get_ioas(vbasedev->iommufd, as, &created,
                                            errp);

    if (!ioas) {
        return false;
    }
    if (!vfio_ioas_attach(vbasedev, ioas, errp)) {
        goto free_exit;
    }
    if (created && !vfio_container_start_dma(&ioas->base, errp)) {
        vfio_ioas_detach(vbasedev);
        goto free_exit;
    }
    if (created) {
        QLIST_INSERT_HEAD(&ioas_list, ioas, next);
    }
    return true;

free_exit:
    if (created) {
        vfio_ioas_free(ioas);
    }
    return false;
}

static bool vfio_iommufd_attach_device(VFIODevice *vbasedev, AddressSpace *as,
                                       Error **errp)
{
    IOMMUFDBackend *be = vbasedev->iommufd;

    if (be->fd < 0) {
        error_setg(errp, "iommufd %s is not open",
                   object_get_canonical_path_component(OBJECT(be)));
        return false;
    }
    if (vbasedev->passed_fd >= 0) {
        vbasedev->fd = vbasedev->passed_fd;
        vbasedev->passed_fd = -1;
    } else {
        vbasedev->fd = vfio_open_cdev(vbasedev, errp);
    }
    if (vbasedev->fd < 0) {
        return false;
    }
    if (!vfio_bind_cdev(vbasedev, be, errp) ||
        !vfio_check_device_info(vbasedev, errp) ||
        !vfio_iommufd_connect(vbasedev, as, errp)) {
        close(vbasedev->fd);
        vbasedev->fd = -1;
        return false;
    }
    be->users++;
    vfio_kvm_file_op(vbasedev->fd, true);
    trace_vfio_get_device(vbasedev->name, vbasedev->fd);
    return true;
}

static void vfio_iommufd_detach_device(VFIODevice *vbasedev)
{
    VFIOIOASContainer *ioas = vfio_ioas(vbasedev->container);

    vfio_container_del_device(vbasedev);
    /* Unmap while the IOAS has no device left to DMA: then free it */
    if (QLIST_EMPTY(&ioas->base.device_list)) {
        vfio_container_stop_dma(&ioas->base);
    }
    vfio_kvm_file_op(vbasedev->fd, false);
    trace_vfio_put_base_device(vbasedev->name, vbasedev->fd);
    close(vbasedev->fd);        /* unbinds from the iommufd, detaches */
    vbasedev->fd = -1;
    vbasedev->iommufd->users--;
    if (QLIST_EMPTY(&ioas->base.device_list)) {
        QLIST_REMOVE(ioas, next);
        vfio_ioas_free(ioas);
    }
}

const VFIOIOMMUOps vfio_iommufd_ops = {
    .name = "iommufd",
    .pin_charge = "VmPin",
    .attach_device = vfio_iommufd_attach_device,
    .detach_device = vfio_iommufd_detach_device,
    .dma_map = vfio_iommufd_dma_map,
    .dma_unmap = vfio_iommufd_dma_unmap,
    .dma_map_file = vfio_iommufd_dma_map_file,
    .pins_in_parallel = true,
    .iova_ranges = vfio_iommufd_iova_ranges,
};
