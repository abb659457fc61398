/*
 * VFIO: the bus-neutral host side of device assignment
 *
 * Containers, groups and devices, the type1 DMA mappings that mirror guest
 * RAM, and the interrupt ioctls that every device type shares.
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
#include <sys/resource.h>
#ifdef CONFIG_KVM
#include <linux/kvm.h>
#endif

#include "hw/vfio/vfio-common.h"
#include "exec/address-spaces.h"
#include "qapi/error.h"
#include "qemu/cutils.h"
#include "qemu/error-report.h"
#include "qemu/rcu.h"
#include "qemu/units.h"
#include "sysemu/kvm.h"
#include "sysemu/runstate.h"
#include "trace.h"

static QLIST_HEAD(, VFIOContainer) container_list =
    QLIST_HEAD_INITIALIZER(container_list);

static QLIST_HEAD(, VFIOGroup) group_list =
    QLIST_HEAD_INITIALIZER(group_list);

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

/*
 * DMA - Mapping and unmapping for the "type1" IOMMU interface used on x86
 */
static int vfio_dma_map(VFIOContainer *container, hwaddr iova,
                        uint64_t size, void *vaddr, bool readonly)
{
    struct vfio_iommu_type1_dma_map map = {
        .argsz = sizeof(map),
        .flags = VFIO_DMA_MAP_FLAG_READ,
        .vaddr = (uintptr_t)vaddr,
        .iova = iova,
        .size = size,
    };

    if (!readonly) {
        map.flags |= VFIO_DMA_MAP_FLAG_WRITE;
    }

    trace_vfio_dma_map(iova, size, vaddr, readonly);
    if (ioctl(container->fd, VFIO_IOMMU_MAP_DMA, &map)) {
        return -errno;
    }
    g_hash_table_insert(container->mappings, g_memdup2(&iova, sizeof(iova)),
                        g_memdup2(&size, sizeof(size)));
    return 0;
}

/*
 * Type1v2 refuses an unmap that splits a mapping, and a range whose map
 * failed was never there: unmap exactly what was mapped at @iova, if
 * anything was.
 */
static int vfio_dma_unmap(VFIOContainer *container, hwaddr iova)
{
    const uint64_t *size = g_hash_table_lookup(container->mappings, &iova);
    struct vfio_iommu_type1_dma_unmap unmap = {
        .argsz = sizeof(unmap),
        .iova = iova,
    };

    if (!size) {
        return 0;
    }
    unmap.size = *size;
    trace_vfio_dma_unmap(iova, unmap.size);
    g_hash_table_remove(container->mappings, &iova);
    if (ioctl(container->fd, VFIO_IOMMU_UNMAP_DMA, &unmap)) {
        return -errno;
    }
    return 0;
}

/*
 * Only guest RAM is mapped.  Device memory (our own mmap'd BARs among it)
 * would only serve peer-to-peer DMA, which type1 cannot map reliably.
 */
static bool vfio_listener_skipped_section(MemoryRegionSection *section)
{
    return !memory_region_is_ram(section->mr) ||
           memory_region_is_ram_device(section->mr);
}

/* The page-aligned part of a RAM @section, false when there is none. */
static bool vfio_section_range(MemoryRegionSection *section, const char *op,
                               hwaddr *iova, hwaddr *end)
{
    hwaddr start = section->offset_within_address_space;
    hwaddr mask = qemu_real_host_page_mask();

    if (vfio_listener_skipped_section(section)) {
        trace_vfio_listener_region_skip(op, start,
                                        int128_get64(section->size));
        return false;
    }

    if ((start & ~mask) != (section->offset_within_region & ~mask)) {
        error_report("vfio: cannot map unaligned section at 0x%" HWADDR_PRIx
                     " (region offset 0x%" HWADDR_PRIx ")", start,
                     section->offset_within_region);
        return false;
    }

    *iova = ROUND_UP(start, qemu_real_host_page_size());
    *end = (start + int128_get64(section->size)) & mask;
    return *iova < *end;
}

static bool vfio_count_ram(Int128 start, Int128 len, const MemoryRegion *mr,
                           hwaddr offset_in_region, void *opaque)
{
    uint64_t *total = opaque;

    if (mr->ram && !mr->ram_device) {
        *total += int128_get64(len);
    }
    return false;
}

static uint64_t vfio_container_mapped(VFIOContainer *container)
{
    GHashTableIter iter;
    gpointer size;
    uint64_t total = 0;

    g_hash_table_iter_init(&iter, container->mappings);
    while (g_hash_table_iter_next(&iter, NULL, &size)) {
        total += *(uint64_t *)size;
    }
    return total;
}

/*
 * What a container pins: all guest RAM and ROM, as the listener maps it.
 * While RAM is being added the flat view still lacks it: then what is
 * mapped already, plus the @size that failed, is the better count.
 */
static uint64_t vfio_ram_to_pin(VFIOContainer *container, uint64_t size)
{
    uint64_t total = 0;

    RCU_READ_LOCK_GUARD();
    flatview_for_each_range(address_space_to_flatview(&address_space_memory),
                            vfio_count_ram, &total);
    return MAX(total, vfio_container_mapped(container) + size);
}

/* "0000:00:02.0, 0000:00:04.0": the devices that DMA through @container. */
static char *vfio_container_devices(VFIOContainer *container)
{
    GString *names = g_string_new(NULL);
    VFIOGroup *group;
    VFIODevice *vbasedev;

    QLIST_FOREACH(group, &container->group_list, container_next) {
        QLIST_FOREACH(vbasedev, &group->device_list, next) {
            g_string_append_printf(names, "%s%s", names->len ? ", " : "",
                                   vbasedev->name);
        }
    }
    return g_string_free(names, false);
}

/*
 * RAM that appears after realize (memory hot-plug) and cannot be mapped
 * would leave the devices unable to reach part of guest RAM, and the
 * guest would not know: stop the VM rather than let it run on like that.
 */
static void vfio_container_fatal(VFIOContainer *container, Error *err)
{
    g_autofree char *devices = vfio_container_devices(container);

    error_prepend(&err, "vfio %s: ", devices);
    error_append_hint(&err, "The VM is stopped: the assigned devices cannot "
                      "reach that RAM.  Fix the cause, then remove the new "
                      "memory or restart the VM.\n");
    error_report_err(err);
    qemu_system_vmstop_request_prepare();
    qemu_system_vmstop_request(RUN_STATE_INTERNAL_ERROR);
}

static void vfio_map_error(VFIOContainer *container, hwaddr iova,
                           uint64_t size, int err, const char *mr_name)
{
    g_autofree char *size_str = size_to_str(size);
    g_autofree char *what = g_strdup_printf("failed to map guest RAM \"%s\" "
                                            "[0x%" HWADDR_PRIx " - 0x%"
                                            HWADDR_PRIx "] (%s) for DMA",
                                            mr_name, iova, iova + size - 1,
                                            size_str);
    Error *local_err = NULL;
    struct rlimit rlim;

    if (err == -ENOMEM && !getrlimit(RLIMIT_MEMLOCK, &rlim) &&
        rlim.rlim_cur != RLIM_INFINITY) {
        uint64_t need = DIV_ROUND_UP(vfio_ram_to_pin(container, size), KiB);

        error_setg(&local_err, "%s: %s (RLIMIT_MEMLOCK is %" PRIu64 " KiB, "
                   "the guest needs %" PRIu64 " KiB locked)", what,
                   strerror(-err), (uint64_t)rlim.rlim_cur / KiB, need);
        error_append_hint(&local_err, "Assigned devices pin all guest RAM "
                          "and ROM: raise the limit, e.g. with 'ulimit -l %"
                          PRIu64 "'.\n", need);
    } else {
        error_setg_errno(&local_err, -err, "%s", what);
    }

    /* Realize reports the first failure; later ones stop the VM. */
    if (container->replaying) {
        if (!container->listener_error) {
            container->listener_error = local_err;
        } else {
            error_free(local_err);
        }
        return;
    }
    vfio_container_fatal(container, local_err);
}

static void vfio_listener_region_add(MemoryListener *listener,
                                     MemoryRegionSection *section)
{
    VFIOContainer *container = container_of(listener, VFIOContainer,
                                            listener);
    hwaddr iova, end;
    void *vaddr;
    int ret;

    if (!vfio_section_range(section, "add", &iova, &end)) {
        return;
    }

    /* Realize fails on the first failure: pin nothing more for it */
    if (container->replaying && container->listener_error) {
        return;
    }

    vaddr = memory_region_get_ram_ptr(section->mr) +
            section->offset_within_region +
            (iova - section->offset_within_address_space);
    trace_vfio_listener_region_add(iova, end - 1, vaddr);

    ret = vfio_dma_map(container, iova, end - iova, vaddr,
                       section->readonly);
    if (ret) {
        vfio_map_error(container, iova, end - iova, ret,
                       memory_region_name(section->mr));
    }
}

static void vfio_listener_region_del(MemoryListener *listener,
                                     MemoryRegionSection *section)
{
    VFIOContainer *container = container_of(listener, VFIOContainer,
                                            listener);
    hwaddr iova, end;
    int ret;

    if (!vfio_section_range(section, "del", &iova, &end)) {
        return;
    }

    trace_vfio_listener_region_del(iova, end - 1);
    ret = vfio_dma_unmap(container, iova);
    if (ret) {
        error_report("vfio: failed to unmap [0x%" HWADDR_PRIx " - 0x%"
                     HWADDR_PRIx "] from the container: %s",
                     iova, end - 1, strerror(-ret));
    }
}

static const MemoryListener vfio_memory_listener = {
    .name = "vfio",
    .region_add = vfio_listener_region_add,
    .region_del = vfio_listener_region_del,
};

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

/* Maps all current guest RAM; the first failure fails the caller. */
static bool vfio_container_start_dma(VFIOContainer *container, Error **errp)
{
    container->listener = vfio_memory_listener;
    container->replaying = true;
    memory_listener_register(&container->listener, &address_space_memory);
    container->replaying = false;

    if (container->listener_error) {
        error_propagate(errp, container->listener_error);
        container->listener_error = NULL;
        memory_listener_unregister(&container->listener);
        return false;
    }
    return true;
}

static bool vfio_join_container(VFIOGroup *group, VFIOContainer *container)
{
    if (ioctl(group->fd, VFIO_GROUP_SET_CONTAINER, &container->fd)) {
        return false;
    }
    group->container = container;
    QLIST_INSERT_HEAD(&container->group_list, group, container_next);
    trace_vfio_group_join_container(group->groupid, container->fd);
    return true;
}

/* A new container with its IOMMU model chosen, not yet set (no group). */
static VFIOContainer *vfio_container_alloc(Error **errp)
{
    VFIOContainer *container;
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

    container = g_new0(VFIOContainer, 1);
    container->fd = fd;
    container->iommu_type = type;
    container->mappings = g_hash_table_new_full(g_int64_hash, g_int64_equal,
                                                g_free, g_free);
    QLIST_INIT(&container->group_list);
    return container;
}

static void vfio_container_free(VFIOContainer *container)
{
    trace_vfio_container_free(container->fd);
    close(container->fd);
    g_hash_table_destroy(container->mappings);
    g_free(container);
}

static bool vfio_connect_container(VFIOGroup *group, Error **errp)
{
    VFIOContainer *container;
    int fd;

    /* Share a container (and so its DMA maps) when the kernel allows it. */
    QLIST_FOREACH(container, &container_list, next) {
        if (vfio_join_container(group, container)) {
            return true;
        }
    }

    /*
     * The IOMMU pins and maps all guest RAM: a balloon or virtio-mem that
     * discarded pages would leave the device DMAing into stale memory.
     */
    if (ram_block_discard_disable(true)) {
        error_setg(errp, "cannot assign a device while another device "
                   "discards guest RAM (virtio-mem)");
        return false;
    }

    container = vfio_container_alloc(errp);
    if (!container) {
        ram_block_discard_disable(false);
        return false;
    }
    fd = container->fd;

    if (!vfio_join_container(group, container)) {
        error_setg_errno(errp, errno, "failed to set group %d's container",
                         group->groupid);
        goto free_container_exit;
    }

    if (ioctl(fd, VFIO_SET_IOMMU, container->iommu_type)) {
        error_setg_errno(errp, errno, "failed to set the type1 IOMMU for "
                         "group %d's container", group->groupid);
        error_append_hint(errp, "The host IOMMU may lack interrupt "
                          "remapping (intremap=on).\n");
        goto leave_container_exit;
    }

    if (!vfio_container_start_dma(container, errp)) {
        goto leave_container_exit;
    }

    QLIST_INSERT_HEAD(&container_list, container, next);
    trace_vfio_container_new(fd, group->groupid,
                             container->iommu_type == VFIO_TYPE1v2_IOMMU ?
                             "type1v2" : "type1");
    return true;

leave_container_exit:
    QLIST_REMOVE(group, container_next);
    group->container = NULL;
    ioctl(group->fd, VFIO_GROUP_UNSET_CONTAINER, &fd);
free_container_exit:
    vfio_container_free(container);
    ram_block_discard_disable(false);
    return false;
}

static void vfio_disconnect_container(VFIOGroup *group)
{
    VFIOContainer *container = group->container;

    QLIST_REMOVE(group, container_next);
    group->container = NULL;

    /* Unmap while we can: unsetting the last group takes the IOMMU along */
    if (QLIST_EMPTY(&container->group_list)) {
        memory_listener_unregister(&container->listener);
    }

    if (ioctl(group->fd, VFIO_GROUP_UNSET_CONTAINER, &container->fd)) {
        error_report("vfio: error disconnecting group %d from container: %m",
                     group->groupid);
    }

    if (QLIST_EMPTY(&container->group_list)) {
        QLIST_REMOVE(container, next);
        vfio_container_free(container);
        ram_block_discard_disable(false);
    }
}

/*
 * Groups
 */

/* A member of the group that holds it back: bound to a host driver. */
static char *vfio_group_blocker(int groupid)
{
    g_autofree char *dir = g_strdup_printf("/sys/kernel/iommu_groups/%d/"
                                           "devices", groupid);
    g_autoptr(GDir) gdir = g_dir_open(dir, 0, NULL);
    const char *dev;

    while (gdir && (dev = g_dir_read_name(gdir))) {
        g_autofree char *link = g_strdup_printf("%s/%s/driver", dir, dev);
        g_autofree char *driver = g_file_read_link(link, NULL);
        g_autofree char *drv = driver ? g_path_get_basename(driver) : NULL;

        if (drv && strcmp(drv, "vfio-pci") && strcmp(drv, "pcieport")) {
            return g_strdup_printf("%s (bound to %s)", dev, drv);
        }
    }
    return NULL;
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
        error_append_hint(errp, "No device of IOMMU group %d is bound to "
                          "vfio-pci: scripts/bind-vfio.sh bind <host> "
                          "binds the whole group.\n", groupid);
    } else if (errno == EBUSY) {
        error_append_hint(errp, "Another process (another QEMU?) holds "
                          "group %d.\n", groupid);
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
    error_append_hint(errp, "Every device of the group must be bound to "
                      "vfio-pci (or to no driver): scripts/bind-vfio.sh "
                      "bind %.12s binds them all.\n",
                      blocker ? blocker : "<host>");
    return false;
}

/*
 * KVM's VFIO pseudo-device learns of each group, so that KVM can tell
 * whether a device does non-coherent DMA (and must honour the guest's
 * cache flushes) and can look the group's IOMMU up.
 */
#ifdef CONFIG_KVM
static int vfio_kvm_device_fd = -1;
#endif

static void vfio_kvm_group_op(VFIOGroup *group, bool add)
{
#ifdef CONFIG_KVM
    struct kvm_device_attr attr = {
        .group = KVM_DEV_VFIO_GROUP,
        .attr = add ? KVM_DEV_VFIO_GROUP_ADD : KVM_DEV_VFIO_GROUP_DEL,
        .addr = (uintptr_t)&group->fd,
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
    trace_vfio_kvm_group(group->groupid, add ? "add" : "del");
    if (ioctl(vfio_kvm_device_fd, KVM_SET_DEVICE_ATTR, &attr)) {
        warn_report("vfio: cannot %s group %d %s KVM's VFIO device: %m",
                    add ? "add" : "remove", group->groupid,
                    add ? "to" : "from");
    }
#endif
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

VFIOGroup *vfio_get_group(int groupid, Error **errp)
{
    VFIOGroup *group = vfio_find_group(groupid);

    if (group) {
        return group;
    }

    group = g_new0(VFIOGroup, 1);
    group->groupid = groupid;
    QLIST_INIT(&group->device_list);

    group->fd = vfio_open_group(groupid, errp);
    if (group->fd >= 0 && vfio_group_check_viable(group, errp) &&
        vfio_connect_container(group, errp)) {
        QLIST_INSERT_HEAD(&group_list, group, next);
        vfio_kvm_group_op(group, true);
        trace_vfio_get_group(groupid, group->fd);
        return group;
    }

    if (group->fd >= 0) {
        close(group->fd);
    }
    g_free(group);
    return NULL;
}

void vfio_put_group(VFIOGroup *group)
{
    if (!group || !QLIST_EMPTY(&group->device_list)) {
        return;
    }

    vfio_kvm_group_op(group, false);
    vfio_disconnect_container(group);
    QLIST_REMOVE(group, next);
    trace_vfio_put_group(group->groupid);
    close(group->fd);
    g_free(group);
}

/*
 * Devices
 */
VFIODevice *vfio_find_device(VFIOGroup *group, const char *name)
{
    VFIODevice *vbasedev;

    QLIST_FOREACH(vbasedev, &group->device_list, next) {
        if (!strcmp(vbasedev->name, name)) {
            return vbasedev;
        }
    }
    return NULL;
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

struct vfio_info_cap_header *vfio_region_info_cap(
    const struct vfio_region_info *info, uint16_t id, size_t min_size)
{
    uint32_t off = info->cap_offset;

    if (!(info->flags & VFIO_REGION_INFO_FLAG_CAPS)) {
        return NULL;
    }
    /* Each capability lies after the last one: a chain cannot loop */
    while (off >= sizeof(*info) && off + min_size <= info->argsz &&
           off + sizeof(struct vfio_info_cap_header) <= info->argsz) {
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

static bool vfio_check_device_info(VFIODevice *vbasedev, Error **errp)
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

bool vfio_get_device(VFIOGroup *group, const char *name, VFIODevice *vbasedev,
                     Error **errp)
{
    int fd = ioctl(group->fd, VFIO_GROUP_GET_DEVICE_FD, name);

    if (fd < 0) {
        error_setg_errno(errp, errno, "cannot get device %s from group %d",
                         name, group->groupid);
        error_append_hint(errp, "Verify that %s is bound to vfio-pci and "
                          "not in use by another process.\n", name);
        return false;
    }

    vbasedev->fd = fd;
    if (!vfio_check_device_info(vbasedev, errp)) {
        close(fd);
        vbasedev->fd = -1;
        return false;
    }

    vbasedev->group = group;
    QLIST_INSERT_HEAD(&group->device_list, vbasedev, next);
    trace_vfio_get_device(name, fd);
    return true;
}

void vfio_put_base_device(VFIODevice *vbasedev)
{
    if (!vbasedev->group) {
        return;
    }
    QLIST_REMOVE(vbasedev, next);
    vbasedev->group = NULL;
    trace_vfio_put_base_device(vbasedev->name, vbasedev->fd);
    close(vbasedev->fd);
    vbasedev->fd = -1;
}

/*
 * Migration: assigned devices block it (see the unmigratable vmstate).
 */
bool vfio_mig_active(void)
{
    return false;
}

int64_t vfio_mig_bytes_transferred(void)
{
    return 0;
}
