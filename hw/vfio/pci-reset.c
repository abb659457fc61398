/*
 * vfio based device assignment support - resets
 *
 * The kernel knows which resets work for a device: VFIO_DEVICE_RESET
 * takes the first of a device-specific reset, FLR, a PM reset (D3hot and
 * back, which only resets a device that says so) and a bus reset when
 * the device is alone on its bus.  A PM reset is the weakest of them, so
 * where the device has no FLR and the kernel offers a bus or slot reset
 * (VFIO_DEVICE_PCI_HOT_RESET) whose every group this QEMU holds, that one
 * is used instead: once per bus on a system reset, for all of our
 * devices on it.
 *
 * This work is licensed under the terms of the GNU GPL, version 2.  See
 * the COPYING file in the top-level directory.
 *
 * SPDX-License-Identifier: GPL-2.0-only
 */

#include "qemu/osdep.h"
#include <sys/ioctl.h>

#include "hw/vfio/pci-device.h"
#include "hw/vfio/vfio-iommufd.h"
#include "qapi/error.h"
#include "qemu/error-report.h"
#include "trace.h"

/* The devices a bus or slot reset of @vdev resets, itself included. */
static struct vfio_pci_hot_reset_info *vfio_hot_reset_info(VFIOPCIDevice *vdev,
                                                           Error **errp)
{
    struct vfio_pci_hot_reset_info *info = g_new0(struct vfio_pci_hot_reset_info,
                                                  1);
    size_t size;

    info->argsz = sizeof(*info);
    if (ioctl(vdev->vbasedev.fd, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, info) &&
        errno != ENOSPC) {
        if (errno == ENODEV) {
            error_setg(errp, "no bus or slot reset either");
        } else if (errno == ENOTTY) {
            /* Not a PCI function of the host: a mediated device */
            error_setg(errp, "as a mediated device it has no bus reset");
        } else {
            error_setg_errno(errp, errno, "cannot list what a bus reset "
                             "would reset");
        }
        g_free(info);
        return NULL;
    }
    size = sizeof(*info) + info->count * sizeof(info->devices[0]);
    info = g_realloc(info, size);
    info->argsz = size;
    if (ioctl(vdev->vbasedev.fd, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, info)) {
        error_setg_errno(errp, errno, "cannot list what a bus reset would "
                         "reset");
        g_free(info);
        return NULL;
    }
    return info;
}

static char *vfio_dependent_name(const struct vfio_pci_dependent_device *d)
{
    return g_strdup_printf("%04x:%02x:%02x.%x", d->segment, d->bus,
                           PCI_SLOT(d->devfn), PCI_FUNC(d->devfn));
}

/*
 * Whether this QEMU holds @d: its group (legacy backend), or, for a device
 * bound to an iommufd, the kernel's word that our iommufd owns it.
 */
static bool vfio_dependent_owned(const struct vfio_pci_hot_reset_info *info,
                                 const struct vfio_pci_dependent_device *d)
{
    /* Newer headers name the same field devid, in a union with group_id */
    if (info->flags & VFIO_PCI_HOT_RESET_FLAG_DEV_ID) {
        return d->group_id != (uint32_t)VFIO_PCI_DEVID_NOT_OWNED;
    }
    return vfio_find_group(d->group_id);
}

/*
 * The kernel resets a bus only for whoever holds every group on it:
 * NULL when this QEMU does, else the devices and groups in the way.
 */
static char *vfio_hot_reset_blockers(const struct vfio_pci_hot_reset_info *info)
{
    g_autoptr(GString) blockers = g_string_new(NULL);
    int i;

    for (i = 0; i < info->count; i++) {
        const struct vfio_pci_dependent_device *d = &info->devices[i];
        g_autofree char *name = NULL;

        if (vfio_dependent_owned(info, d)) {
            continue;
        }
        name = vfio_dependent_name(d);
        if (info->flags & VFIO_PCI_HOT_RESET_FLAG_DEV_ID) {
            g_string_append_printf(blockers, "%s%s (not bound to this "
                                   "QEMU's iommufd)",
                                   blockers->len ? ", " : "", name);
        } else {
            g_string_append_printf(blockers, "%s%s (group %u)",
                                   blockers->len ? ", " : "", name,
                                   d->group_id);
        }
    }
    return blockers->len ? g_string_free(g_steal_pointer(&blockers), false)
                         : NULL;
}

/* What a bus or slot reset of @vdev resets, if this QEMU may do one. */
static struct vfio_pci_hot_reset_info *vfio_bus_reset_usable(VFIOPCIDevice *vdev,
                                                             Error **errp)
{
    struct vfio_pci_hot_reset_info *info = vfio_hot_reset_info(vdev, errp);
    g_autofree char *blockers = NULL;

    if (!info) {
        return NULL;
    }
    blockers = vfio_hot_reset_blockers(info);
    if (blockers) {
        error_setg(errp, "a bus reset would also reset %s, which this QEMU "
                   "does not hold", blockers);
        g_free(info);
        return NULL;
    }
    return info;
}

/* Our device at @d's address, if this QEMU assigned it. */
static VFIOPCIDevice *vfio_pci_find(const struct vfio_pci_dependent_device *d)
{
    g_autofree char *name = vfio_dependent_name(d);
    VFIODevice *vbasedev = vfio_find_device(name);

    return vbasedev ? container_of(vbasedev, VFIOPCIDevice, vbasedev) : NULL;
}

/* The fds of the distinct groups in @info, all of them ours. */
static struct vfio_pci_hot_reset *vfio_hot_reset_groups(
    const struct vfio_pci_hot_reset_info *info)
{
    size_t size = sizeof(struct vfio_pci_hot_reset) +
                  info->count * sizeof(int32_t);
    struct vfio_pci_hot_reset *reset = g_malloc0(size);
    int i, j;

    reset->argsz = size;
    /* Devices bound to an iommufd: the kernel checks that one owns all */
    if (info->flags & VFIO_PCI_HOT_RESET_FLAG_DEV_ID) {
        return reset;
    }
    for (i = 0; i < info->count; i++) {
        int fd = vfio_find_group(info->devices[i].group_id)->fd;

        for (j = 0; j < reset->count && reset->group_fds[j] != fd; j++) {
            continue;
        }
        if (j == reset->count) {
            reset->group_fds[reset->count++] = fd;
        }
    }
    return reset;
}

/* After its reset: the fast path as the host decodes, INTx back on. */
static void vfio_pci_reset_finish(VFIOPCIDevice *vdev)
{
    vfio_decode_update(vdev);
    if (vdev->pdev.config[PCI_INTERRUPT_PIN]) {
        vfio_intx_reenable(vdev);
    }
}

/* A device of ours in @info that is not being reset with @vdev, or NULL. */
static VFIOPCIDevice *vfio_bus_reset_in_use(
    VFIOPCIDevice *vdev, const struct vfio_pci_hot_reset_info *info)
{
    int i;

    for (i = 0; i < info->count; i++) {
        VFIOPCIDevice *other = vfio_pci_find(&info->devices[i]);

        if (other && other != vdev && !other->in_reset) {
            return other;
        }
    }
    return NULL;
}

/*
 * Resets the bus or slot of @vdev, when every device of ours there is
 * being reset too (a system reset, not a hot-plug of one of them).  They
 * are stopped first, like @vdev, and skip their own reset this time; one
 * whose own reset came first (an FLR) is brought back once more after.
 */
static bool vfio_bus_reset(VFIOPCIDevice *vdev, Error **errp)
{
    g_autofree struct vfio_pci_hot_reset_info *info = NULL;
    g_autofree struct vfio_pci_hot_reset *reset = NULL;
    VFIOPCIDevice *busy;
    int i;

    info = vfio_bus_reset_usable(vdev, errp);
    if (!info) {
        return false;
    }
    busy = vfio_bus_reset_in_use(vdev, info);
    if (busy) {
        error_setg(errp, "a bus reset would also reset %s, which the guest "
                   "is using", busy->vbasedev.name);
        return false;
    }
    for (i = 0; i < info->count; i++) {
        VFIOPCIDevice *other = vfio_pci_find(&info->devices[i]);

        if (other && other != vdev) {
            vfio_pci_quiesce(other);
        }
    }
    reset = vfio_hot_reset_groups(info);
    trace_vfio_bus_reset(vdev->vbasedev.name, info->count, reset->count,
                         info->flags & VFIO_PCI_HOT_RESET_FLAG_DEV_ID);
    if (ioctl(vdev->vbasedev.fd, VFIO_DEVICE_PCI_HOT_RESET, reset)) {
        error_setg_errno(errp, errno, "bus reset failed");
        return false;
    }
    for (i = 0; i < info->count; i++) {
        VFIOPCIDevice *other = vfio_pci_find(&info->devices[i]);

        if (!other || other == vdev) {
            continue;
        }
        /* Its own reset came first, and ours stopped it again */
        if (!other->needs_reset) {
            vfio_pci_reset_finish(other);
        }
        other->needs_reset = false;
    }
    return true;
}

/* FLR and a real reset through the kernel beat a bus reset; PM does not. */
static bool vfio_function_reset_first(VFIOPCIDevice *vdev)
{
    return vdev->vbasedev.reset_works &&
           (vdev->has_flr || !vdev->has_pm_reset);
}

static void vfio_function_reset(VFIOPCIDevice *vdev)
{
    trace_vfio_reset(vdev->vbasedev.name, vdev->has_flr ? "FLR" :
                     vdev->has_pm_reset ? "PM reset" : "kernel's reset");
    if (ioctl(vdev->vbasedev.fd, VFIO_DEVICE_RESET)) {
        error_report(VFIO_MSG_PREFIX "failed to reset the device: %m",
                     vdev->vbasedev.name);
    }
}

/* Resets the device the best way there is, unless its bus reset did. */
static void vfio_pci_reset_device(VFIOPCIDevice *vdev)
{
    Error *err = NULL;

    if (!vdev->needs_reset) {
        trace_vfio_reset(vdev->vbasedev.name, "done with the bus");
        return;
    }
    vdev->needs_reset = false;
    if (vdev->pristine) {
        trace_vfio_reset(vdev->vbasedev.name,
                         "skipped: as the kernel's reset at open left it");
        return;
    }
    if (vfio_quirk_reset(vdev)) {
        return;
    }
    if (vfio_function_reset_first(vdev)) {
        vfio_function_reset(vdev);
        return;
    }
    if (vfio_bus_reset(vdev, &err)) {
        trace_vfio_reset(vdev->vbasedev.name, "bus reset");
        return;
    }
    if (vdev->vbasedev.reset_works) {
        trace_vfio_reset(vdev->vbasedev.name, error_get_pretty(err));
        error_free(err);
        vfio_function_reset(vdev);
    } else if (vfio_first_report(vdev, VFIO_REPORT_RESET)) {
        warn_reportf_err(err, VFIO_MSG_PREFIX "not reset: ",
                         vdev->vbasedev.name);
    } else {
        error_free(err);
    }
}

/*
 * The kernel's reset saves and restores the command register, and a
 * device without a working reset keeps what the guest left: so stop the
 * device through the host first.  Nothing then DMAs or interrupts into
 * the rebooting guest, and the host agrees with QEMU's view, all off.
 */
void vfio_pci_quiesce(VFIOPCIDevice *vdev)
{
    uint32_t cmd = 0, pmcsr = 0;

    vfio_fast_path_block(vdev, VFIO_FAST_PATH_DECODE, true);
    vfio_disable_interrupts(vdev);

    if (vdev->pm_cap &&
        vfio_host_config_read(vdev, vdev->pm_cap + PCI_PM_CTRL, 2, &pmcsr) &&
        (pmcsr & PCI_PM_CTRL_STATE_MASK)) {
        vfio_host_config_write(vdev, vdev->pm_cap + PCI_PM_CTRL,
                               pmcsr & ~PCI_PM_CTRL_STATE_MASK, 2);
    }
    if (vfio_host_config_read(vdev, PCI_COMMAND, 2, &cmd)) {
        cmd &= ~(PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
                 PCI_COMMAND_INTX_DISABLE);
        vfio_host_config_write(vdev, PCI_COMMAND, cmd, 2);
    }
}

/*
 * Every device of a reset enters it before any holds it, and leaves it
 * after all have: so the first of ours on a bus that holds it can reset
 * the bus for all of them, and knows who else is in this reset.
 */
void vfio_pci_reset_enter(Object *obj, ResetType type)
{
    VFIOPCIDevice *vdev = VFIO_PCI(obj);

    vdev->in_reset = true;
    vdev->needs_reset = true;
}

void vfio_pci_reset_hold(Object *obj)
{
    VFIOPCIDevice *vdev = VFIO_PCI(obj);

    vfio_pci_quiesce(vdev);
    vfio_pci_reset_device(vdev);
    vdev->pristine = false;
    vfio_pci_reset_finish(vdev);
}

void vfio_pci_reset_exit(Object *obj)
{
    VFIO_PCI(obj)->in_reset = false;
}

/* The device's Function Level Reset, in its PCIe or AF capability. */
static bool vfio_has_flr(VFIOPCIDevice *vdev)
{
    const uint8_t *config = vdev->pdev.config;
    uint8_t exp = vfio_find_cap(vdev, PCI_CAP_ID_EXP);
    uint8_t af = vfio_find_cap(vdev, PCI_CAP_ID_AF);

    if (exp && pci_get_long(config + exp + PCI_EXP_DEVCAP) &
               PCI_EXP_DEVCAP_FLR) {
        return true;
    }
    return af && (config[af + PCI_AF_CAP] & PCI_AF_CAP_FLR) &&
           (config[af + PCI_AF_CAP] & PCI_AF_CAP_TP);
}

/*
 * The kernel resets a PCI function when its fd is first opened, and its
 * VFIO_DEVICE_FLAGS_RESET says that this reset worked.  QEMU's first
 * reset of the device comes before anything can reach it (the system
 * reset at start, or the one of a hot-plug, right after realize), so it
 * would only repeat the kernel's: an FLR is 100 ms and more, a bus reset
 * a second.  It is skipped; every later one happens.  An mdev's flag only
 * says that it can be reset, and an mdev has no config file in sysfs.
 */
static bool vfio_reset_at_open(VFIOPCIDevice *vdev)
{
    g_autofree char *config = g_strdup_printf("%s/config",
                                              vdev->vbasedev.sysfsdev);

    /* Where QEMU prefers a bus or its own reset, the kernel's was weaker */
    return vfio_function_reset_first(vdev) && !vfio_quirk_has_reset(vdev) &&
           access(config, F_OK) == 0;
}

/*
 * At realize: what the device offers, and, when nothing resets it, who
 * stands in the way.  That is said once, here; a reset just skips it.
 */
void vfio_pci_reset_probe(VFIOPCIDevice *vdev)
{
    g_autofree struct vfio_pci_hot_reset_info *info = NULL;
    Error *err = NULL;

    vdev->has_flr = vfio_has_flr(vdev);
    vdev->has_pm_reset = vdev->pm_cap &&
        !(pci_get_word(vdev->pdev.config + vdev->pm_cap + PCI_PM_CTRL) &
          PCI_PM_CTRL_NO_SOFT_RESET);
    vdev->pristine = vfio_reset_at_open(vdev);
    info = vfio_bus_reset_usable(vdev, &err);
    trace_vfio_reset_probe(vdev->vbasedev.name, vdev->has_flr,
                           vdev->has_pm_reset, vdev->vbasedev.reset_works,
                           info ? "usable" : error_get_pretty(err));
    if (info || vdev->vbasedev.reset_works ||
        !vfio_first_report(vdev, VFIO_REPORT_RESET)) {
        error_free(err);
        return;
    }
    warn_reportf_err(err, VFIO_MSG_PREFIX "the device has no reset "
                     "mechanism: across guest resets it is only stopped (I/O, "
                     "memory and bus master off) and keeps its other state: "
                     "the kernel offers no function reset for it and ",
                     vdev->vbasedev.name);
}
