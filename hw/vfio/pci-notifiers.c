/*
 * vfio based device assignment support - the host's error and request
 * notifiers
 *
 * Two signals come from the host rather than from the device: AER's
 * report of an uncorrectable error on it (VFIO_PCI_ERR_IRQ_INDEX), after
 * which the guest must not run on with a device in an unknown state, and
 * the host asking for the device back (VFIO_PCI_REQ_IRQ_INDEX, e.g. an
 * unbind from vfio-pci), which the guest answers by letting it go.
 *
 * This work is licensed under the terms of the GNU GPL, version 2.  See
 * the COPYING file in the top-level directory.
 *
 * SPDX-License-Identifier: GPL-2.0-only
 */

#include "qemu/osdep.h"
#include <sys/ioctl.h>

#include "hw/vfio/pci-device.h"
#include "qapi/error.h"
#include "qemu/error-report.h"
#include "qemu/main-loop.h"
#include "sysemu/runstate.h"
#include "trace.h"

static const char *const vfio_notifier_names[] = {
    [VFIO_PCI_ERR_IRQ_INDEX] = "error",
    [VFIO_PCI_REQ_IRQ_INDEX] = "request",
};

/*
 * Hands the host an eventfd for @index, when the device has that signal
 * (the kernel offers the error one on PCI Express devices only).  Not
 * having it is no reason to fail realize: the device works without.
 */
static bool vfio_notifier_setup(VFIOPCIDevice *vdev, int index,
                                EventNotifier *e, IOHandler *handler)
{
    struct vfio_irq_info info = { .argsz = sizeof(info), .index = index };
    const char *what = vfio_notifier_names[index];
    int fd, ret;

    if (index >= vdev->vbasedev.num_irqs ||
        ioctl(vdev->vbasedev.fd, VFIO_DEVICE_GET_IRQ_INFO, &info) ||
        info.count < 1) {
        trace_vfio_notifier(vdev->vbasedev.name, what, "not offered");
        return false;
    }
    if (event_notifier_init(e, 0)) {
        warn_report(VFIO_MSG_PREFIX "cannot create the eventfd of the "
                    "host's %s notifier: %m", vdev->vbasedev.name, what);
        return false;
    }
    fd = event_notifier_get_fd(e);
    qemu_set_fd_handler(fd, handler, NULL, vdev);
    ret = vfio_set_irq_fds(&vdev->vbasedev, index, 0, 1, &fd);
    if (ret) {
        warn_report(VFIO_MSG_PREFIX "the kernel refused the %s notifier: %s",
                    vdev->vbasedev.name, what,
                    strerror(ret < 0 ? -ret : EINVAL));
        qemu_set_fd_handler(fd, NULL, NULL, NULL);
        event_notifier_cleanup(e);
        return false;
    }
    trace_vfio_notifier(vdev->vbasedev.name, what, "on");
    return true;
}

static void vfio_notifier_teardown(VFIOPCIDevice *vdev, int index,
                                   EventNotifier *e, bool *on)
{
    if (!*on) {
        return;
    }
    vfio_disable_irqindex(&vdev->vbasedev, index);
    qemu_set_fd_handler(event_notifier_get_fd(e), NULL, NULL, NULL);
    event_notifier_cleanup(e);
    *on = false;
}

/* Stopped, the VM keeps its state for inspection, and a 'cont' is a choice */
static void vfio_err_notifier_handler(void *opaque)
{
    VFIOPCIDevice *vdev = opaque;

    if (!event_notifier_test_and_clear(&vdev->err_notifier)) {
        return;
    }
    trace_vfio_host_signal(vdev->vbasedev.name, "error");
    error_report(VFIO_MSG_PREFIX "the host reported an uncorrectable error "
                 "on the device: stopping the VM rather than letting the "
                 "guest run on with it", vdev->vbasedev.name);
    vm_stop(RUN_STATE_INTERNAL_ERROR);
}

/*
 * The kernel asks again every few seconds until the device is released.
 * Each request is passed on: one that could not be (a migration running,
 * the slot busy, the guest still in firmware) may succeed the next time.
 * A request already on its way to the guest is not cancelled by another:
 * QEMU's hot-plug controllers refuse or ignore the repeat.
 */
static void vfio_req_notifier_handler(void *opaque)
{
    VFIOPCIDevice *vdev = opaque;
    Error *err = NULL;

    if (!event_notifier_test_and_clear(&vdev->req_notifier)) {
        return;
    }
    trace_vfio_host_signal(vdev->vbasedev.name, vdev->unplug_requested ?
                           "request, again" : "request");
    vdev->unplug_requested = true;
    qdev_unplug(DEVICE(vdev), &err);
    if (!err) {
        return;
    }
    trace_vfio_unplug_refused(vdev->vbasedev.name, error_get_pretty(err));
    if (vdev->unplug_refused) {
        error_free(err);
        return;
    }
    vdev->unplug_refused = true;
    warn_reportf_err(err, VFIO_MSG_PREFIX "the host wants the device "
                     "back, but the guest cannot be asked to unplug it now "
                     "(asked again each time the host repeats its request; "
                     "the host waits until the device is unplugged or QEMU "
                     "exits): ", vdev->vbasedev.name);
}

void vfio_notifiers_setup(VFIOPCIDevice *vdev)
{
    if (vdev->err_notifier_wanted) {
        vdev->err_notifier_on = vfio_notifier_setup(vdev,
                                                    VFIO_PCI_ERR_IRQ_INDEX,
                                                    &vdev->err_notifier,
                                                    vfio_err_notifier_handler);
    }
    if (vdev->req_notifier_wanted) {
        vdev->req_notifier_on = vfio_notifier_setup(vdev,
                                                    VFIO_PCI_REQ_IRQ_INDEX,
                                                    &vdev->req_notifier,
                                                    vfio_req_notifier_handler);
    }
}

void vfio_notifiers_teardown(VFIOPCIDevice *vdev)
{
    vfio_notifier_teardown(vdev, VFIO_PCI_ERR_IRQ_INDEX, &vdev->err_notifier,
                           &vdev->err_notifier_on);
    vfio_notifier_teardown(vdev, VFIO_PCI_REQ_IRQ_INDEX, &vdev->req_notifier,
                           &vdev->req_notifier_on);
}
