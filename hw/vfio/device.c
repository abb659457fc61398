/*
 * VFIO: what every assigned device shares, whatever its backend
 *
 * The list of assigned devices, attach and detach through the device's
 * IOMMU backend, the device and region info ioctls, the interrupt ioctls,
 * and KVM's VFIO pseudo-device.
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
 *
 * Based on qemu-kvm device-assignment:
 *  Adapted for KVM by Qumranet.
 *  Copyright (c) 2007, Neocleus, Alex Novik (alex@neocleus.com)
 *  Copyright (c) 2007, Neocleus, Guy Zana (guy@neocleus.com)
 *  Copyright (C) 2008, Qumranet, Amit Shah (amit.shah@qumranet.com)
 *  Copyright (C) 2008, Red Hat, Amit Shah (amit.shah@redhat.com)
 *  Copyright (C) 2008, IBM, Muli Ben-Yehuda (muli@il.ibm.com)
 */

#include "qemu/osdep.h"
#include <sys/ioctl.h>
#ifdef CONFIG_KVM
#include <linux/kvm.h>
#endif

#include "hw/vfio/vfio-common.h"
#include "monitor/monitor.h"
#include "qapi/error.h"
#include "qemu/error-report.h"
#include "qemu/units.h"
#include "exec/memory.h"
#include "sysemu/kvm.h"
#include "trace.h"

static QLIST_HEAD(, VFIODevice) device_list =
    QLIST_HEAD_INITIALIZER(device_list);

VFIODevice *vfio_find_device(const char *name)
{
    VFIODevice *vbasedev;

    QLIST_FOREACH(vbasedev, &device_list, next) {
        if (!strcmp(vbasedev->name, name)) {
            return vbasedev;
        }
    }
    return NULL;
}

/* The names of the devices in @container, for messages */
char *vfio_container_devices(VFIOContainer *container)
{
    GString *names = g_string_new(NULL);
    VFIODevice *vbasedev;

    QLIST_FOREACH(vbasedev, &container->device_list, container_next) {
        g_string_append_printf(names, "%s%s", names->len ? ", " : "",
                               vbasedev->name);
    }
    return g_string_free(names, false);
}

bool vfio_attach_device(VFIODevice *vbasedev, AddressSpace *as, Error **errp)
{
    if (vfio_find_device(vbasedev->name)) {
        error_setg(errp, "host device %s is already assigned to this VM",
                   vbasedev->name);
        return false;
    }
    /*
     * The IOMMU pins and maps guest RAM for a device: a balloon that
     * discarded pages would leave it DMAing into stale memory.  virtio-mem
     * says first what it discards, and its blocks are unmapped then
     * (ram-discard.c).  A mediated device whose driver pins only the pages
     * it uses may allow both.
     */
    if (!vbasedev->ram_discard_allowed &&
        ram_block_uncoordinated_discard_disable(true)) {
        error_setg(errp, "cannot assign a device while another device "
                   "requires discarding guest RAM without notice");
        return false;
    }
    if (!vbasedev->ops->attach_device(vbasedev, as, errp)) {
        if (!vbasedev->ram_discard_allowed) {
            ram_block_uncoordinated_discard_disable(false);
        }
        return false;
    }
    QLIST_INSERT_HEAD(&device_list, vbasedev, next);
    return true;
}

void vfio_detach_device(VFIODevice *vbasedev)
{
    if (vbasedev->fd < 0) {
        return;
    }
    QLIST_REMOVE(vbasedev, next);
    vbasedev->ops->detach_device(vbasedev);
    if (!vbasedev->ram_discard_allowed) {
        ram_block_uncoordinated_discard_disable(false);
    }
}

char *vfio_sysfs_link_name(const char *dir, const char *name)
{
    g_autofree char *link = g_strdup_printf("%s/%s", dir, name);
    g_autofree char *target = g_file_read_link(link, NULL);

    return target ? g_path_get_basename(target) : NULL;
}

bool vfio_set_fd_param(int *fd, const char *str, const char *what,
                       bool in_use, Error **errp)
{
    int new_fd;

    if (in_use) {
        error_setg(errp, "%s fd=%s: the fd cannot change once it is in use",
                   what, str);
        return false;
    }
    new_fd = monitor_fd_param(monitor_cur(), str, errp);
    if (new_fd < 0) {
        error_prepend(errp, "%s fd=%s: ", what, str);
        return false;
    }
    if (*fd >= 0) {
        close(*fd);
    }
    *fd = new_fd;
    return true;
}

/*
 * KVM's VFIO pseudo-device learns of each group or device cdev, so that
 * KVM can tell whether a device does non-coherent DMA (and must honour the
 * guest's cache flushes) and can look its IOMMU up.
 */
#ifdef CONFIG_KVM
static int vfio_kvm_device_fd = -1;
#endif

void vfio_kvm_file_op(int fd, bool add)
{
#ifdef CONFIG_KVM
    /* KVM_DEV_VFIO_FILE_ADD/DEL, as KVM_DEV_VFIO_GROUP_* were named */
    struct kvm_device_attr attr = {
        .group = KVM_DEV_VFIO_GROUP,
        .attr = add ? KVM_DEV_VFIO_GROUP_ADD : KVM_DEV_VFIO_GROUP_DEL,
        .addr = (uintptr_t)&fd,
    };

    if (!kvm_enabled()) {
        return;
    }
    if (vfio_kvm_device_fd < 0) {
        struct kvm_create_device cd = { .type = KVM_DEV_TYPE_VFIO };

        if (kvm_vm_ioctl(kvm_state, KVM_CREATE_DEVICE, &cd)) {
            warn_report("vfio: cannot create KVM's VFIO device: %m");
            return;
        }
        vfio_kvm_device_fd = cd.fd;
    }
    trace_vfio_kvm_file(fd, add ? "add" : "del");
    if (ioctl(vfio_kvm_device_fd, KVM_SET_DEVICE_ATTR, &attr)) {
        warn_report("vfio: cannot %s fd %d %s KVM's VFIO device: %m",
                    add ? "add" : "remove", fd, add ? "to" : "from");
    }
#endif
}

/*
 * Common VFIO interrupt ioctls
 */
int vfio_set_irq_fds(VFIODevice *vbasedev, int index, int start, int count,
                     const int32_t *fds)
{
    size_t argsz = sizeof(struct vfio_irq_set) + count * sizeof(int32_t);
    g_autofree struct vfio_irq_set *irq_set = g_malloc0(argsz);
    int ret;

    irq_set->argsz = argsz;
    irq_set->flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
    irq_set->index = index;
    irq_set->start = start;
    irq_set->count = count;
    memcpy(&irq_set->data, fds, count * sizeof(int32_t));

    trace_vfio_set_irq_fds(vbasedev->name, index, start, count);
    /* > 0: the host could only enable that many vectors */
    ret = ioctl(vbasedev->fd, VFIO_DEVICE_SET_IRQS, irq_set);
    if (ret < 0) {
        return -errno;
    }
    if (!ret) {
        vbasedev->irqs_enabled |= BIT(index);
    }
    return ret;
}

int vfio_set_irq_action(VFIODevice *vbasedev, int index, int start,
                        uint32_t action)
{
    struct vfio_irq_set irq_set = {
        .argsz = sizeof(irq_set),
        .flags = VFIO_IRQ_SET_DATA_NONE | action,
        .index = index,
        .start = start,
        .count = action == VFIO_IRQ_SET_ACTION_TRIGGER ? 0 : 1,
    };

    return ioctl(vbasedev->fd, VFIO_DEVICE_SET_IRQS, &irq_set) ? -errno : 0;
}

/*
 * The host refuses to disable an index it has not enabled: ask only for
 * what it has, so that its refusal is a real failure worth reporting.
 */
void vfio_disable_irqindex(VFIODevice *vbasedev, int index)
{
    int ret;

    if (!(vbasedev->irqs_enabled & BIT(index))) {
        return;
    }
    vbasedev->irqs_enabled &= ~BIT(index);
    trace_vfio_disable_irqindex(vbasedev->name, index);
    ret = vfio_set_irq_action(vbasedev, index, 0, VFIO_IRQ_SET_ACTION_TRIGGER);
    if (ret < 0) {
        error_report(VFIO_MSG_PREFIX "failed to disable irq index %d: %s",
                     vbasedev->name, index, strerror(-ret));
    }
}

/*
 * Whether the host can add vectors to @index while it runs (dynamic MSI-X,
 * VFIO_IRQ_INFO_NORESIZE clear).  When it cannot say, assume not.
 */
bool vfio_irqindex_resizable(VFIODevice *vbasedev, int index)
{
    struct vfio_irq_info info = { .argsz = sizeof(info), .index = index };

    if (ioctl(vbasedev->fd, VFIO_DEVICE_GET_IRQ_INFO, &info)) {
        return false;
    }
    trace_vfio_irq_info(vbasedev->name, index, info.count, info.flags);
    return !(info.flags & VFIO_IRQ_INFO_NORESIZE);
}

bool vfio_get_region_info(VFIODevice *vbasedev, int index,
                          struct vfio_region_info *info, Error **errp)
{
    *info = (struct vfio_region_info) {
        .argsz = sizeof(*info),
        .index = index,
    };

    if (ioctl(vbasedev->fd, VFIO_DEVICE_GET_REGION_INFO, info)) {
        error_setg_errno(errp, errno, "failed to get region %d info", index);
        return false;
    }
    trace_vfio_region_info(vbasedev->name, index, info->size, info->offset,
                           info->flags);
    return true;
}

/* A kernel that needs more than this for one region's info is broken */
#define VFIO_REGION_INFO_MAX    (64 * KiB)

struct vfio_region_info *vfio_get_region_info_caps(VFIODevice *vbasedev,
                                                   int index, Error **errp)
{
    struct vfio_region_info *info = g_new0(struct vfio_region_info, 1);
    uint32_t argsz;

    if (!vfio_get_region_info(vbasedev, index, info, errp)) {
        g_free(info);
        return NULL;
    }
    argsz = info->argsz;
    if (!(info->flags & VFIO_REGION_INFO_FLAG_CAPS) ||
        argsz <= sizeof(*info) || argsz > VFIO_REGION_INFO_MAX) {
        info->flags &= ~VFIO_REGION_INFO_FLAG_CAPS;
        info->argsz = sizeof(*info);
        return info;
    }
    info = g_realloc(info, argsz);
    memset(info, 0, argsz);
    info->argsz = argsz;
    info->index = index;
    if (ioctl(vbasedev->fd, VFIO_DEVICE_GET_REGION_INFO, info)) {
        error_setg_errno(errp, errno, "failed to get region %d info", index);
        g_free(info);
        return NULL;
    }
    /* What came back must fit what we gave */
    info->argsz = MIN(info->argsz, argsz);
    return info;
}

/*
 * The device-specific region of @type and @subtype (an EDID, say): those
 * follow the fixed regions, and name themselves with a type capability.
 */
struct vfio_region_info *vfio_get_dev_region_info(VFIODevice *vbasedev,
                                                  uint32_t type,
                                                  uint32_t subtype)
{
    unsigned int i;

    for (i = VFIO_PCI_NUM_REGIONS; i < vbasedev->num_regions; i++) {
        g_autofree struct vfio_region_info *info =
            vfio_get_region_info_caps(vbasedev, i, NULL);
        struct vfio_region_info_cap_type *cap;

        cap = info ? (void *)vfio_region_info_cap(info,
                                                  VFIO_REGION_INFO_CAP_TYPE,
                                                  sizeof(*cap)) : NULL;
        if (cap && cap->type == type && cap->subtype == subtype) {
            return g_steal_pointer(&info);
        }
    }
    return NULL;
}

struct vfio_info_cap_header *vfio_info_cap(const void *info, uint32_t argsz,
                                           uint32_t off, size_t head_size,
                                           uint16_t id, size_t min_size)
{
    /* Each capability lies after the last one: a chain cannot loop */
    while (off >= head_size && off + min_size <= argsz &&
           off + sizeof(struct vfio_info_cap_header) <= argsz) {
        struct vfio_info_cap_header *hdr = (void *)info + off;

        if (hdr->id == id) {
            return hdr;
        }
        if (hdr->next <= off) {
            break;
        }
        off = hdr->next;
    }
    return NULL;
}

struct vfio_info_cap_header *vfio_region_info_cap(
    const struct vfio_region_info *info, uint16_t id, size_t min_size)
{
    if (!(info->flags & VFIO_REGION_INFO_FLAG_CAPS)) {
        return NULL;
    }
    return vfio_info_cap(info, info->argsz, info->cap_offset, sizeof(*info),
                         id, min_size);
}

bool vfio_check_device_info(VFIODevice *vbasedev, Error **errp)
{
    struct vfio_device_info info = { .argsz = sizeof(info) };

    if (ioctl(vbasedev->fd, VFIO_DEVICE_GET_INFO, &info)) {
        error_setg_errno(errp, errno, "failed to get device info");
        return false;
    }
    trace_vfio_device_info(vbasedev->name, info.flags, info.num_regions,
                           info.num_irqs);

    if (!(info.flags & VFIO_DEVICE_FLAGS_PCI)) {
        error_setg(errp, "the host device is not a PCI device");
        return false;
    }
    if (info.num_regions < VFIO_PCI_CONFIG_REGION_INDEX + 1) {
        error_setg(errp, "unexpected number of regions %u", info.num_regions);
        return false;
    }
    if (info.num_irqs < VFIO_PCI_MSIX_IRQ_INDEX + 1) {
        error_setg(errp, "unexpected number of irqs %u", info.num_irqs);
        return false;
    }

    vbasedev->reset_works = !!(info.flags & VFIO_DEVICE_FLAGS_RESET);
    vbasedev->num_regions = info.num_regions;
    vbasedev->num_irqs = info.num_irqs;
    return true;
}

int vfio_device_feature(VFIODevice *vbasedev, uint32_t flags, void *data,
                        size_t size)
{
    g_autofree struct vfio_device_feature *feature =
        g_malloc0(sizeof(*feature) + size);

    feature->argsz = sizeof(*feature) + size;
    feature->flags = flags;
    if (size) {
        memcpy(feature->data, data, size);
    }
    if (ioctl(vbasedev->fd, VFIO_DEVICE_FEATURE, feature)) {
        return -errno;
    }
    if (size) {
        memcpy(data, feature->data, size);
    }
    return 0;
}
