/*
 * VFIO: the legacy backend, groups in a type1 container
 *
 * A device is reached through its IOMMU group (/dev/vfio/GROUP); groups
 * share a container (/dev/vfio/vfio, and so one set of type1 DMA maps)
 * when the kernel allows it.
 *
 * Copyright Red Hat, Inc. 2012
 *
 * Authors:
 *  Alex Williamson <alex.williamson@redhat.com>
 *
 * This work is licensed under the terms of the GNU GPL, version 2.  See
 * the COPYING file in the top-level directory.
 *
 * SPDX-License-Identifier: GPL-2.0-only
 */

#include "qemu/osdep.h"
#include <sys/ioctl.h>

#include "hw/vfio/vfio-common.h"
#include "qapi/error.h"
#include "qemu/cutils.h"
#include "qemu/error-report.h"
#include "qemu/range.h"
#include "qemu/units.h"
#include "trace.h"

/* /dev/vfio/vfio, empowered by the groups attached to it */
typedef struct VFIOLegacyContainer {
    VFIOContainer base;
    int fd;
    int iommu_type;               /* VFIO_TYPE1v2_IOMMU or VFIO_TYPE1_IOMMU */
    QLIST_HEAD(, VFIOGroup) group_list;
    QLIST_ENTRY(VFIOLegacyContainer) next;
} VFIOLegacyContainer;

static QLIST_HEAD(, VFIOLegacyContainer) container_list =
    QLIST_HEAD_INITIALIZER(container_list);

static QLIST_HEAD(, VFIOGroup) group_list =
    QLIST_HEAD_INITIALIZER(group_list);

static VFIOLegacyContainer *vfio_legacy(VFIOContainer *container)
{
    return container_of(container, VFIOLegacyContainer, base);
}

static int vfio_legacy_dma_map(VFIOContainer *container, hwaddr iova,
                               uint64_t size, void *vaddr,
                               IOMMUAccessFlags perm)
{
    struct vfio_iommu_type1_dma_map map = {
        .argsz = sizeof(map),
        .flags = (perm & IOMMU_RO ? VFIO_DMA_MAP_FLAG_READ : 0) |
                 (perm & IOMMU_WO ? VFIO_DMA_MAP_FLAG_WRITE : 0),
        .vaddr = (uintptr_t)vaddr,
        .iova = iova,
        .size = size,
    };

    return ioctl(vfio_legacy(container)->fd, VFIO_IOMMU_MAP_DMA, &map) ?
           -errno : 0;
}

static int vfio_legacy_dma_unmap(VFIOContainer *container, hwaddr iova,
                                 uint64_t size)
{
    struct vfio_iommu_type1_dma_unmap unmap = {
        .argsz = sizeof(unmap),
        .iova = iova,
        .size = size,
    };

    return ioctl(vfio_legacy(container)->fd, VFIO_IOMMU_UNMAP_DMA, &unmap) ?
           -errno : 0;
}

/* Dirty tracking of the maps, for migration (type1 has it since Linux 5.8) */
static int vfio_legacy_set_dirty_tracking(VFIOContainer *container,
                                          bool start)
{
    struct vfio_iommu_type1_dirty_bitmap dirty = {
        .argsz = sizeof(dirty),
        .flags = start ? VFIO_IOMMU_DIRTY_PAGES_FLAG_START :
                         VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP,
    };

    return ioctl(vfio_legacy(container)->fd, VFIO_IOMMU_DIRTY_PAGES,
                 &dirty) ? -errno : 0;
}

static int vfio_legacy_query_dirty_bitmap(VFIOContainer *container,
                                          hwaddr iova, uint64_t size,
                                          uint64_t pgsize, uint64_t *bitmap)
{
    struct {
        struct vfio_iommu_type1_dirty_bitmap head;
        struct vfio_iommu_type1_dirty_bitmap_get range;
    } query = {
        .head.argsz = sizeof(query),
        .head.flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP,
        .range.iova = iova,
        .range.size = size,
        .range.bitmap.pgsize = pgsize,
        .range.bitmap.size = ROUND_UP(size / pgsize, 64) / 8,
        .range.bitmap.data = (__u64 *)bitmap,
    };

    return ioctl(vfio_legacy(container)->fd, VFIO_IOMMU_DIRTY_PAGES,
                 &query) ? -errno : 0;
}

/* A kernel that needs more than this for the container's info is broken */
#define VFIO_IOMMU_INFO_MAX     (64 * KiB)

/*
 * VFIO_IOMMU_GET_INFO with its capability chain, for g_free(); or NULL.
 * The second answer may claim more than the first asked for: what lies
 * past our buffer is not ours to read.
 */
static struct vfio_iommu_type1_info *vfio_legacy_info(int fd)
{
    struct vfio_iommu_type1_info head = { .argsz = sizeof(head) };
    struct vfio_iommu_type1_info *info;
    uint32_t argsz;

    if (ioctl(fd, VFIO_IOMMU_GET_INFO, &head) || head.argsz <= sizeof(head) ||
        head.argsz > VFIO_IOMMU_INFO_MAX) {
        return NULL;
    }
    argsz = head.argsz;
    info = g_malloc0(argsz);
    info->argsz = argsz;
    if (ioctl(fd, VFIO_IOMMU_GET_INFO, info) ||
        !(info->flags & VFIO_IOMMU_INFO_CAPS)) {
        g_free(info);
        return NULL;
    }
    trace_vfio_container_info(fd, argsz, info->argsz);
    info->argsz = MIN(info->argsz, argsz);
    return info;
}

static void *vfio_legacy_info_cap(struct vfio_iommu_type1_info *info,
                                  uint16_t id, size_t min_size)
{
    return info ? vfio_info_cap(info, info->argsz, info->cap_offset,
                                sizeof(*info), id, min_size) : NULL;
}

/* Whether type1 tracks dirty pages here: its migration capability says */
static void vfio_legacy_probe_dirty(VFIOLegacyContainer *container)
{
    g_autofree struct vfio_iommu_type1_info *info =
        vfio_legacy_info(container->fd);
    struct vfio_iommu_type1_info_cap_migration *cap =
        vfio_legacy_info_cap(info, VFIO_IOMMU_TYPE1_INFO_CAP_MIGRATION,
                             sizeof(*cap));

    if (cap) {
        container->base.dirty_pgsizes = cap->pgsize_bitmap;
        container->base.max_dirty_bitmap_size = cap->max_dirty_bitmap_size;
    }
    trace_vfio_container_dirty_caps(container->fd, cap ? cap->pgsize_bitmap
                                                       : 0);
}

/* What the groups of the container let it map, reserved regions left out */
static GArray *vfio_legacy_iova_ranges(VFIOContainer *container)
{
    g_autofree struct vfio_iommu_type1_info *info =
        vfio_legacy_info(vfio_legacy(container)->fd);
    struct vfio_iommu_type1_info_cap_iova_range *cap =
        vfio_legacy_info_cap(info, VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE,
                             sizeof(*cap));
    GArray *ranges;
    uint32_t i;

    if (!cap || !cap->nr_iovas ||
        cap->nr_iovas > ((uint8_t *)info + info->argsz -
                                 (uint8_t *)cap->iova_ranges) /
                                sizeof(cap->iova_ranges[0])) {
        return NULL;
    }
    ranges = g_array_sized_new(false, false, sizeof(Range), cap->nr_iovas);
    for (i = 0; i < cap->nr_iovas; i++) {
        Range r;

        range_set_bounds(&r, cap->iova_ranges[i].start,
                         cap->iova_ranges[i].end);
        g_array_append_val(ranges, r);
    }
    return ranges;
}

/* How many more maps type1 takes (its dma_entry_limit less what is mapped) */
static int64_t vfio_legacy_dma_maps_left(VFIOContainer *container)
{
    g_autofree struct vfio_iommu_type1_info *info =
        vfio_legacy_info(vfio_legacy(container)->fd);
    struct vfio_iommu_type1_info_dma_avail *cap =
        vfio_legacy_info_cap(info, VFIO_IOMMU_TYPE1_INFO_DMA_AVAIL,
                             sizeof(*cap));

    return cap ? cap->avail : -1;
}

/*
 * Containers
 */
static int vfio_open_container(Error **errp)
{
    int fd, version;

    fd = qemu_open("/dev/vfio/vfio", O_RDWR, errp);
    if (fd < 0) {
        error_append_hint(errp, "Is the vfio module loaded?\n");
        return -1;
    }

    version = ioctl(fd, VFIO_GET_API_VERSION);
    if (version != VFIO_API_VERSION) {
        error_setg(errp, "unsupported VFIO API version %d (expected %d)",
                   version, VFIO_API_VERSION);
        close(fd);
        return -1;
    }

    return fd;
}

/*
 * Type1v2 where the kernel has it: v1 lets an unmap split a mapping, and
 * so keeps iommufd's type1 compatibility layer from using large IOMMU
 * pages.  Our listener unmaps exactly what it mapped, as v2 requires.
 */
static int vfio_pick_iommu_type(int fd, Error **errp)
{
    if (ioctl(fd, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) == 1) {
        return VFIO_TYPE1v2_IOMMU;
    }
    if (ioctl(fd, VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU) == 1) {
        return VFIO_TYPE1_IOMMU;
    }
    error_setg(errp, "no usable IOMMU model: the host kernel offers no "
               "type1 IOMMU");
    error_append_hint(errp, "Load vfio_iommu_type1 and enable the IOMMU "
                      "(e.g. intel_iommu=on).\n");
    return -1;
}

static bool vfio_join_container(VFIOGroup *group,
                                VFIOLegacyContainer *container)
{
    if (ioctl(group->fd, VFIO_GROUP_SET_CONTAINER, &container->fd)) {
        return false;
    }
    group->container = container;
    QLIST_INSERT_HEAD(&container->group_list, group, container_next);
    trace_vfio_group_join_container(group->groupid, container->fd);
    return true;
}

/*
 * Whether the host took @group out of its container: removing the group's
 * last device from its driver (sysfs remove, unbind) while we hold the
 * group detaches it, and with the container's last group the IOMMU and
 * all its maps go too.  The group's status then fails (ENODEV).
 */
static bool vfio_group_revoked(VFIOGroup *group)
{
    struct vfio_group_status status = { .argsz = sizeof(status) };

    if (ioctl(group->fd, VFIO_GROUP_GET_STATUS, &status)) {
        return errno == ENODEV;
    }
    return !(status.flags & VFIO_GROUP_FLAGS_CONTAINER_SET);
}

static void vfio_leave_container(VFIOGroup *group, bool revoked)
{
    VFIOLegacyContainer *container = group->container;

    QLIST_REMOVE(group, container_next);
    group->container = NULL;
    if (revoked) {
        trace_vfio_group_revoked(group->groupid);
        return;
    }
    if (ioctl(group->fd, VFIO_GROUP_UNSET_CONTAINER, &container->fd)) {
        error_report("vfio: error disconnecting group %d from container: %m",
                     group->groupid);
    }
}

/* A new container with its IOMMU model chosen, not yet set (no group). */
static VFIOLegacyContainer *vfio_container_alloc(AddressSpace *as,
                                                 Error **errp)
{
    VFIOLegacyContainer *container;
    int fd = vfio_open_container(errp);
    int type;

    if (fd < 0) {
        return NULL;
    }
    type = vfio_pick_iommu_type(fd, errp);
    if (type < 0) {
        close(fd);
        return NULL;
    }

    container = g_new0(VFIOLegacyContainer, 1);
    vfio_container_init(&container->base, &vfio_legacy_ops, as);
    container->fd = fd;
    container->iommu_type = type;
    QLIST_INIT(&container->group_list);
    return container;
}

static void vfio_container_free(VFIOLegacyContainer *container)
{
    trace_vfio_container_free(container->fd);
    close(container->fd);
    vfio_container_destroy(&container->base);
    g_free(container);
}

/* The IOMMU model set on the new container of @group, and its RAM mapped */
static bool vfio_container_setup(VFIOLegacyContainer *container,
                                 VFIOGroup *group, Error **errp)
{
    if (!vfio_join_container(group, container)) {
        error_setg_errno(errp, errno, "failed to set group %d's container",
                         group->groupid);
        return false;
    }
    if (ioctl(container->fd, VFIO_SET_IOMMU, container->iommu_type)) {
        error_setg_errno(errp, errno, "failed to set the type1 IOMMU for "
                         "group %d's container", group->groupid);
        error_append_hint(errp, "The host IOMMU may lack interrupt "
                          "remapping (intremap=on).\n");
        vfio_leave_container(group, false);
        return false;
    }
    vfio_legacy_probe_dirty(container);
    if (!vfio_container_start_dma(&container->base, errp)) {
        vfio_leave_container(group, false);
        return false;
    }
    return true;
}

static bool vfio_connect_container(VFIOGroup *group, AddressSpace *as,
                                   Error **errp)
{
    VFIOLegacyContainer *container;

    /* Share a container (and so its DMA maps) when the kernel allows it. */
    QLIST_FOREACH(container, &container_list, next) {
        if (container->base.as == as &&
            vfio_join_container(group, container)) {
            return true;
        }
    }

    container = vfio_container_alloc(as, errp);
    if (!container || !vfio_container_setup(container, group, errp)) {
        if (container) {
            vfio_container_free(container);
        }
        return false;
    }

    QLIST_INSERT_HEAD(&container_list, container, next);
    trace_vfio_container_new(container->fd, group->groupid,
                             container->iommu_type == VFIO_TYPE1v2_IOMMU ?
                             "type1v2" : "type1");
    return true;
}

static void vfio_disconnect_container(VFIOGroup *group)
{
    VFIOLegacyContainer *container = group->container;
    bool last = QLIST_NEXT(group, container_next) == NULL &&
                QLIST_FIRST(&container->group_list) == group;

    bool revoked = vfio_group_revoked(group);

    /* Unmap while we can: unsetting the last group takes the IOMMU along */
    if (last) {
        if (revoked) {
            /* The host's detach already did: nothing is left to unmap */
            g_hash_table_remove_all(container->base.mappings);
        }
        vfio_container_stop_dma(&container->base);
    }
    vfio_leave_container(group, revoked);

    if (last) {
        QLIST_REMOVE(container, next);
        vfio_container_free(container);
    }
}

/*
 * Groups
 */

/*
 * The first member of the group whose driver is (@bound) or is not
 * (!@bound) vfio-pci; a bridge's pcieport counts as neither.
 */
static char *vfio_group_member(int groupid, bool bound)
{
    g_autofree char *dir = g_strdup_printf("/sys/kernel/iommu_groups/%d/"
                                           "devices", groupid);
    g_autoptr(GDir) gdir = g_dir_open(dir, 0, NULL);
    const char *dev;

    while (gdir && (dev = g_dir_read_name(gdir))) {
        g_autofree char *dev_dir = g_strdup_printf("%s/%s", dir, dev);
        g_autofree char *drv = vfio_sysfs_link_name(dev_dir, "driver");

        if (!drv || !strcmp(drv, "pcieport")) {
            continue;
        }
        if (bound == !strcmp(drv, "vfio-pci")) {
            return bound ? g_strdup(dev)
                         : g_strdup_printf("%s (bound to %s)", dev, drv);
        }
    }
    return NULL;
}

/* A member of the group that holds it back: bound to a host driver. */
static char *vfio_group_blocker(int groupid)
{
    return vfio_group_member(groupid, false);
}

/*
 * The group's node is missing: either nothing of it is bound to vfio-pci,
 * or this process has a /dev of its own (a mount namespace, as libvirt's
 * "namespaces" or a container make) that was built without the node.
 */
static void vfio_hint_missing_group(Error **errp, int groupid,
                                    const char *path)
{
    g_autofree char *bound = vfio_group_member(groupid, true);

    if (bound) {
        error_append_hint(errp, "%s is bound to vfio-pci, but %s is not in "
                          "this process's /dev: whoever built that /dev (a "
                          "private mount namespace, such as libvirt's "
                          "\"namespaces\" in qemu.conf, or a container) "
                          "must create the node there.\n", bound, path);
    } else {
        error_append_hint(errp, "No device of IOMMU group %d is bound to "
                          "vfio-pci: scripts/bind-vfio.sh bind <host> "
                          "binds the whole group.\n", groupid);
    }
}

static int vfio_open_group(int groupid, Error **errp)
{
    g_autofree char *path = g_strdup_printf("/dev/vfio/%d", groupid);
    int fd = open(path, O_RDWR | O_CLOEXEC);

    if (fd >= 0) {
        return fd;
    }

    error_setg_errno(errp, errno, "cannot open %s", path);
    if (errno == EACCES || errno == EPERM) {
        error_append_hint(errp, "QEMU needs read/write permission on %s "
                          "(run as root, or chown it to QEMU's user).\n",
                          path);
    } else if (errno == ENOENT) {
        vfio_hint_missing_group(errp, groupid, path);
    } else if (errno == EBUSY) {
        error_append_hint(errp, "Another process (another QEMU?) holds "
                          "group %d, or a device of it is open through "
                          "its cdev (iommufd=).\n", groupid);
    }
    return -1;
}

static bool vfio_group_check_viable(VFIOGroup *group, Error **errp)
{
    struct vfio_group_status status = { .argsz = sizeof(status) };
    g_autofree char *blocker = NULL;

    if (ioctl(group->fd, VFIO_GROUP_GET_STATUS, &status)) {
        error_setg_errno(errp, errno, "failed to get group %d status",
                         group->groupid);
        return false;
    }
    if (status.flags & VFIO_GROUP_FLAGS_VIABLE) {
        return true;
    }

    blocker = vfio_group_blocker(group->groupid);
    error_setg(errp, "IOMMU group %d is not viable%s%s", group->groupid,
               blocker ? ": device " : "", blocker ? blocker : "");
    if (!blocker) {
        /* A confined QEMU (libvirt's AppArmor profile) may not list it */
        error_append_hint(errp, "QEMU could not tell which device from "
                          "/sys/kernel/iommu_groups/%d/devices: "
                          "scripts/bind-vfio.sh status <host> lists the "
                          "group's devices and their drivers.\n",
                          group->groupid);
    }
    error_append_hint(errp, "Every device of the group must be bound to "
                      "vfio-pci (or to no driver): scripts/bind-vfio.sh "
                      "bind %.12s binds them all.\n",
                      blocker ? blocker : "<host>");
    return false;
}

VFIOGroup *vfio_find_group(int groupid)
{
    VFIOGroup *group;

    QLIST_FOREACH(group, &group_list, next) {
        if (group->groupid == groupid) {
            return group;
        }
    }
    return NULL;
}

static VFIOGroup *vfio_get_group(int groupid, AddressSpace *as, Error **errp)
{
    VFIOGroup *group = vfio_find_group(groupid);

    if (group) {
        if (group->container->base.as != as) {
            error_setg(errp, "group %d is used in another address space",
                       groupid);
            return NULL;
        }
        return group;
    }

    group = g_new0(VFIOGroup, 1);
    group->groupid = groupid;
    QLIST_INIT(&group->device_list);

    group->fd = vfio_open_group(groupid, errp);
    if (group->fd >= 0 && vfio_group_check_viable(group, errp) &&
        vfio_connect_container(group, as, errp)) {
        QLIST_INSERT_HEAD(&group_list, group, next);
        vfio_kvm_file_op(group->fd, true);
        trace_vfio_get_group(groupid, group->fd);
        return group;
    }

    if (group->fd >= 0) {
        close(group->fd);
    }
    g_free(group);
    return NULL;
}

static void vfio_put_group(VFIOGroup *group)
{
    if (!QLIST_EMPTY(&group->device_list)) {
        return;
    }

    vfio_kvm_file_op(group->fd, false);
    vfio_disconnect_container(group);
    QLIST_REMOVE(group, next);
    trace_vfio_put_group(group->groupid);
    close(group->fd);
    g_free(group);
}

/* The IOMMU group of the device at @sysfsdev, from its iommu_group link */
static bool vfio_device_groupid(VFIODevice *vbasedev, int *groupid,
                                Error **errp)
{
    g_autofree char *link = g_strdup_printf("%s/iommu_group",
                                            vbasedev->sysfsdev);
    g_autofree char *path = g_file_read_link(link, NULL);
    g_autofree char *name = NULL;

    if (!path) {
        error_setg(errp, "host device %s is in no IOMMU group",
                   vbasedev->name);
        error_append_hint(errp, "Enable the IOMMU on the host kernel command "
                          "line (intel_iommu=on or amd_iommu=on).\n");
        return false;
    }

    name = g_path_get_basename(path);
    if (qemu_strtoi(name, NULL, 10, groupid)) {
        error_setg(errp, "cannot parse IOMMU group of %s from %s",
                   vbasedev->name, path);
        return false;
    }
    trace_vfio_device_group(vbasedev->name, *groupid);
    return true;
}

static bool vfio_group_get_device(VFIOGroup *group, VFIODevice *vbasedev,
                                  Error **errp)
{
    /* A VF token rides on the name the kernel matches: "NAME vf_token=U" */
    g_autofree char *name = vfio_vf_token_device_name(vbasedev);
    int fd = ioctl(group->fd, VFIO_GROUP_GET_DEVICE_FD, name);
    int err = errno;

    if (fd < 0) {
        if (!vfio_vf_token_error(vbasedev, err, false, errp)) {
            error_setg_errno(errp, err, "cannot get device %s from group %d",
                             vbasedev->name, group->groupid);
            error_append_hint(errp, "Verify that %s is bound to vfio-pci "
                              "and not in use by another process.\n",
                              vbasedev->name);
        }
        return false;
    }

    if (vfio_vf_token_given(vbasedev)) {
        trace_vfio_vf_token(vbasedev->name, "group");
    }
    vbasedev->fd = fd;
    if (!vfio_check_device_info(vbasedev, errp)) {
        close(fd);
        vbasedev->fd = -1;
        return false;
    }

    vbasedev->group = group;
    QLIST_INSERT_HEAD(&group->device_list, vbasedev, group_next);
    vfio_container_add_device(&group->container->base, vbasedev);
    trace_vfio_get_device(vbasedev->name, fd);
    return true;
}

static bool vfio_legacy_attach_device(VFIODevice *vbasedev, AddressSpace *as,
                                      Error **errp)
{
    VFIOGroup *group;
    int groupid;

    if (vbasedev->passed_fd >= 0) {
        error_setg(errp, "fd= passes a device cdev, which only the iommufd "
                   "backend takes");
        error_append_hint(errp, "Add iommufd=ID, naming an -object "
                          "iommufd,id=ID.\n");
        return false;
    }
    if (!vfio_device_groupid(vbasedev, &groupid, errp)) {
        return false;
    }
    group = vfio_get_group(groupid, as, errp);
    if (!group) {
        return false;
    }
    if (!vfio_group_get_device(group, vbasedev, errp)) {
        vfio_put_group(group);
        return false;
    }
    return true;
}

static void vfio_legacy_detach_device(VFIODevice *vbasedev)
{
    VFIOGroup *group = vbasedev->group;

    vfio_container_del_device(vbasedev);
    QLIST_REMOVE(vbasedev, group_next);
    vbasedev->group = NULL;
    trace_vfio_put_base_device(vbasedev->name, vbasedev->fd);
    close(vbasedev->fd);
    vbasedev->fd = -1;
    vfio_put_group(group);
}

const VFIOIOMMUOps vfio_legacy_ops = {
    .name = "type1",
    .pin_charge = "VmLck",
    .maps_device_memory = true,
    .attach_device = vfio_legacy_attach_device,
    .detach_device = vfio_legacy_detach_device,
    .dma_map = vfio_legacy_dma_map,
    .dma_unmap = vfio_legacy_dma_unmap,
    .set_dirty_tracking = vfio_legacy_set_dirty_tracking,
    .query_dirty_bitmap = vfio_legacy_query_dirty_bitmap,
    .iova_ranges = vfio_legacy_iova_ranges,
    .dma_maps_left = vfio_legacy_dma_maps_left,
};
