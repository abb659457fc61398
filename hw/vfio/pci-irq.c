/*
 * vfio based device assignment support - interrupts
 *
 * INTx, MSI and MSI-X: eventfds from the host, KVM's irqfd bypass where
 * KVM is there, and QEMU's own injection where it is not; which of them
 * the host runs follows the guest's config writes.  The BAR code sees
 * this file through vfio_intx_eoi(), and it sees the BARs only through
 * vfio_fast_path_block().
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

#include "hw/vfio/pci-device.h"
#include "hw/pci/msi.h"
#include "hw/pci/msix.h"
#include "qapi/error.h"
#include "qemu/error-report.h"
#include "qemu/log.h"
#include "qemu/main-loop.h"
#include "sysemu/kvm.h"
#include "trace.h"

/*
 * INTx
 *
 * The host masks the line when it fires and we assert the guest's pin.
 * Without KVM we cannot see the guest's EOI, but a guest services a device
 * by touching its registers: while an interrupt is pending, BAR accesses go
 * through the slow path, and the first one de-asserts the pin and unmasks
 * the host.  A device that still wants service simply fires again.  The
 * mmaps come back once the line has been quiet for x-intx-mmap-timeout-ms.
 */
void vfio_intx_eoi(VFIOPCIDevice *vdev)
{
    if (!vdev->intx.pending) {
        return;
    }

    trace_vfio_intx_eoi(vdev->vbasedev.name);
    vdev->intx.pending = false;
    pci_irq_deassert(&vdev->pdev);
    vfio_set_irq_action(&vdev->vbasedev, VFIO_PCI_INTX_IRQ_INDEX, 0,
                        VFIO_IRQ_SET_ACTION_UNMASK);
}

/*
 * A whole interval went by.  If the interrupt is still pending, the guest
 * may never touch a BAR for it: a driver that finds its work in RAM
 * (nvme's completion queue) and saw none answers a stale assertion
 * without a register access, and the pin would stay up for good.  So ask
 * the host again: unmask, and a device that still wants service fires
 * anew.  Otherwise the line has been quiet: back to the fast path.
 */
static void vfio_intx_mmap_restore(void *opaque)
{
    VFIOPCIDevice *vdev = opaque;

    if (vdev->intx.pending) {
        trace_vfio_intx_recheck(vdev->vbasedev.name);
        vfio_intx_eoi(vdev);
        timer_mod(vdev->intx.mmap_timer,
                  qemu_clock_get_ms(QEMU_CLOCK_VIRTUAL) +
                  vdev->intx_mmap_timeout_ms);
        return;
    }
    vfio_fast_path_block(vdev, VFIO_FAST_PATH_INTX, false);
}

/* Traps BAR accesses until the guest has serviced the device */
static void vfio_intx_set_pending(VFIOPCIDevice *vdev)
{
    vdev->intx.pending = true;
    vfio_fast_path_block(vdev, VFIO_FAST_PATH_INTX, true);
    if (vdev->intx_mmap_timeout_ms) {
        timer_mod(vdev->intx.mmap_timer,
                  qemu_clock_get_ms(QEMU_CLOCK_VIRTUAL) +
                  vdev->intx_mmap_timeout_ms);
    }
}

static void vfio_intx_interrupt(void *opaque)
{
    VFIOPCIDevice *vdev = opaque;
    VFIOINTx *intx = &vdev->intx;

    if (!event_notifier_test_and_clear(&intx->interrupt)) {
        return;
    }

    trace_vfio_intx_interrupt(vdev->vbasedev.name, 'A' + intx->pin);
    pci_irq_assert(&vdev->pdev);
    vfio_intx_set_pending(vdev);
}

static int vfio_intx_set_unmask_fd(VFIOPCIDevice *vdev, int32_t fd)
{
    size_t argsz = sizeof(struct vfio_irq_set) + sizeof(int32_t);
    g_autofree struct vfio_irq_set *irq_set = g_malloc0(argsz);

    irq_set->argsz = argsz;
    irq_set->flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_UNMASK;
    irq_set->index = VFIO_PCI_INTX_IRQ_INDEX;
    irq_set->count = 1;
    memcpy(&irq_set->data, &fd, sizeof(fd));

    return ioctl(vdev->vbasedev.fd, VFIO_DEVICE_SET_IRQS, irq_set) ? -errno : 0;
}

/*
 * With KVM, an irqfd injects the interrupt and a resample eventfd tells
 * VFIO of the guest's EOI, so INTx never reaches userspace.
 */
static void vfio_intx_enable_kvm(VFIOPCIDevice *vdev)
{
    VFIOINTx *intx = &vdev->intx;
    int irq_fd = event_notifier_get_fd(&intx->interrupt);

    if (vdev->no_kvm_intx || !kvm_irqfds_enabled() ||
        !kvm_resamplefds_enabled() || intx->route.mode != PCI_INTX_ENABLED) {
        trace_vfio_intx_path(vdev->vbasedev.name, "userspace");
        return;
    }

    qemu_set_fd_handler(irq_fd, NULL, NULL, NULL);
    pci_irq_deassert(&vdev->pdev);

    if (event_notifier_init(&intx->unmask, 0)) {
        goto restore_handler;
    }
    if (kvm_irqchip_add_irqfd_notifier_gsi(kvm_state, &intx->interrupt,
                                           &intx->unmask, intx->route.irq)) {
        goto cleanup_unmask;
    }
    if (vfio_intx_set_unmask_fd(vdev,
                                event_notifier_get_fd(&intx->unmask))) {
        goto remove_irqfd;
    }

    intx->kvm_accel = true;
    intx->pending = false;
    vfio_set_irq_action(&vdev->vbasedev, VFIO_PCI_INTX_IRQ_INDEX, 0,
                        VFIO_IRQ_SET_ACTION_UNMASK);
    trace_vfio_intx_path(vdev->vbasedev.name, "kvm");
    return;

remove_irqfd:
    kvm_irqchip_remove_irqfd_notifier_gsi(kvm_state, &intx->interrupt,
                                          intx->route.irq);
cleanup_unmask:
    event_notifier_cleanup(&intx->unmask);
restore_handler:
    qemu_set_fd_handler(irq_fd, vfio_intx_interrupt, NULL, vdev);
    if (vfio_first_report(vdev, VFIO_REPORT_KVM_INTX)) {
        warn_report(VFIO_MSG_PREFIX "KVM INTx acceleration failed, using the "
                    "userspace path", vdev->vbasedev.name);
    }
    trace_vfio_intx_path(vdev->vbasedev.name, "userspace");
}

static void vfio_intx_disable_kvm(VFIOPCIDevice *vdev)
{
    VFIOINTx *intx = &vdev->intx;

    if (!intx->kvm_accel) {
        return;
    }

    kvm_irqchip_remove_irqfd_notifier_gsi(kvm_state, &intx->interrupt,
                                          intx->route.irq);
    vfio_intx_set_unmask_fd(vdev, -1);
    event_notifier_cleanup(&intx->unmask);
    qemu_set_fd_handler(event_notifier_get_fd(&intx->interrupt),
                        vfio_intx_interrupt, NULL, vdev);
    intx->kvm_accel = false;
}

/* The guest moved our pin (e.g. reprogrammed the chipset's PIRQ routing). */
static void vfio_intx_update_route(PCIDevice *pdev)
{
    VFIOPCIDevice *vdev = VFIO_PCI(pdev);
    PCIINTxRoute route;

    if (vdev->interrupt != VFIO_INT_INTx) {
        return;
    }

    route = pci_device_route_intx_to_irq(pdev, vdev->intx.pin);
    if (!pci_intx_route_changed(&vdev->intx.route, &route)) {
        return;
    }

    trace_vfio_intx_update_route(vdev->vbasedev.name, vdev->intx.route.irq,
                                 route.irq);
    vfio_intx_disable_kvm(vdev);
    vdev->intx.route = route;
    if (route.mode != PCI_INTX_ENABLED) {
        return;
    }
    vfio_intx_enable_kvm(vdev);

    /* Re-enable the interrupt in case we missed an EOI */
    vfio_intx_eoi(vdev);
}

static bool vfio_intx_enable(VFIOPCIDevice *vdev, Error **errp)
{
    uint8_t pin = vdev->pdev.config[PCI_INTERRUPT_PIN];
    int32_t fd;
    int ret;

    if (!pin) {
        return true;
    }

    vfio_disable_interrupts(vdev);

    vdev->intx.pin = pin - 1; /* Pin A (1) -> irq[0] */
    vdev->intx.route = pci_device_route_intx_to_irq(&vdev->pdev,
                                                    vdev->intx.pin);

    ret = event_notifier_init(&vdev->intx.interrupt, 0);
    if (ret) {
        error_setg_errno(errp, -ret, "cannot create the INTx eventfd");
        return false;
    }
    fd = event_notifier_get_fd(&vdev->intx.interrupt);
    qemu_set_fd_handler(fd, vfio_intx_interrupt, NULL, vdev);

    ret = vfio_set_irq_fds(&vdev->vbasedev, VFIO_PCI_INTX_IRQ_INDEX, 0, 1,
                           &fd);
    if (ret) {
        error_setg_errno(errp, -ret, "failed to set up the INTx eventfd");
        qemu_set_fd_handler(fd, NULL, NULL, NULL);
        event_notifier_cleanup(&vdev->intx.interrupt);
        return false;
    }

    vfio_intx_enable_kvm(vdev);
    vdev->interrupt = VFIO_INT_INTx;
    trace_vfio_intx_enable(vdev->vbasedev.name);
    return true;
}

static void vfio_intx_disable(VFIOPCIDevice *vdev)
{
    vfio_intx_disable_kvm(vdev);
    vfio_disable_irqindex(&vdev->vbasedev, VFIO_PCI_INTX_IRQ_INDEX);

    timer_del(vdev->intx.mmap_timer);
    vdev->intx.pending = false;
    pci_irq_deassert(&vdev->pdev);
    vfio_fast_path_block(vdev, VFIO_FAST_PATH_INTX, false);

    qemu_set_fd_handler(event_notifier_get_fd(&vdev->intx.interrupt),
                        NULL, NULL, NULL);
    event_notifier_cleanup(&vdev->intx.interrupt);
    vdev->interrupt = VFIO_INT_NONE;
    trace_vfio_intx_disable(vdev->vbasedev.name);
}

void vfio_intx_reenable(VFIOPCIDevice *vdev)
{
    Error *err = NULL;

    if (vfio_intx_enable(vdev, &err)) {
        return;
    }
    if (vfio_first_report(vdev, VFIO_REPORT_INTX_ENABLE)) {
        error_prepend(&err, VFIO_MSG_PREFIX, vdev->vbasedev.name);
        error_report_err(err);
    } else {
        error_free(err);
    }
}

/*
 * MSI/X
 */
static void vfio_msi_interrupt(void *opaque)
{
    VFIOMSIVector *vector = opaque;
    VFIOPCIDevice *vdev = vector->vdev;
    int nr = vector - vdev->msi_vectors;

    if (!event_notifier_test_and_clear(&vector->interrupt)) {
        return;
    }

    trace_vfio_msi_interrupt(vdev->vbasedev.name, nr);
    if (vdev->interrupt == VFIO_INT_MSIX) {
        msix_notify(&vdev->pdev, nr);
    } else if (vdev->interrupt == VFIO_INT_MSI &&
               nr < msi_nr_vectors_allocated(&vdev->pdev)) {
        /* msi.c asserts on a vector the guest did not enable */
        msi_notify(&vdev->pdev, nr);
    }
}

static bool vfio_vector_add_kvm(VFIOPCIDevice *vdev, VFIOMSIVector *vector,
                                int nr, bool msix)
{
    KVMRouteChange c;
    int virq;

    /*
     * KVM builds the route from pci_get_msi_message(), which prefers
     * MSI-X: an MSI vector must never be routed while MSI-X is on.
     */
    if (!msix && msix_enabled(&vdev->pdev)) {
        return false;
    }
    c = kvm_irqchip_begin_route_changes(kvm_state);
    virq = kvm_irqchip_add_msi_route(&c, nr, &vdev->pdev);
    if (virq < 0) {
        return false;
    }
    kvm_irqchip_commit_route_changes(&c);

    if (kvm_irqchip_add_irqfd_notifier_gsi(kvm_state, &vector->interrupt,
                                           NULL, virq) < 0) {
        kvm_irqchip_release_virq(kvm_state, virq);
        return false;
    }
    vector->virq = virq;
    return true;
}

static void vfio_vector_remove_kvm(VFIOMSIVector *vector)
{
    kvm_irqchip_remove_irqfd_notifier_gsi(kvm_state, &vector->interrupt,
                                          vector->virq);
    kvm_irqchip_release_virq(kvm_state, vector->virq);
    vector->virq = -1;
}

/*
 * Route the vector's eventfd through KVM's irqchip when we can, through
 * vfio_msi_interrupt otherwise.
 */
static void vfio_vector_connect(VFIOPCIDevice *vdev, VFIOMSIVector *vector,
                                int nr, bool msix)
{
    int fd = event_notifier_get_fd(&vector->interrupt);
    bool no_kvm = msix ? vdev->no_kvm_msix : vdev->no_kvm_msi;

    if (vector->virq >= 0) {
        MSIMessage msg = msix ? msix_get_message(&vdev->pdev, nr) :
                                msi_get_message(&vdev->pdev, nr);

        kvm_irqchip_update_msi_route(kvm_state, vector->virq, msg,
                                     &vdev->pdev);
        kvm_irqchip_commit_routes(kvm_state);
        return;
    }

    if (!no_kvm && kvm_msi_via_irqfd_enabled() &&
        vfio_vector_add_kvm(vdev, vector, nr, msix)) {
        qemu_set_fd_handler(fd, NULL, NULL, NULL);
        trace_vfio_msi_path(vdev->vbasedev.name, nr, "kvm");
        return;
    }
    qemu_set_fd_handler(fd, vfio_msi_interrupt, NULL, vector);
    trace_vfio_msi_path(vdev->vbasedev.name, nr, "userspace");
}

static bool vfio_vector_init(VFIOPCIDevice *vdev, VFIOMSIVector *vector)
{
    if (event_notifier_init(&vector->interrupt, 0)) {
        if (vfio_first_report(vdev, VFIO_REPORT_EVENTFD)) {
            error_report(VFIO_MSG_PREFIX "cannot create an MSI eventfd: %m",
                         vdev->vbasedev.name);
        }
        return false;
    }
    vector->vdev = vdev;
    vector->virq = -1;
    vector->use = true;
    return true;
}

static void vfio_vector_teardown(VFIOMSIVector *vector)
{
    if (vector->virq >= 0) {
        vfio_vector_remove_kvm(vector);
    } else {
        qemu_set_fd_handler(event_notifier_get_fd(&vector->interrupt),
                            NULL, NULL, NULL);
    }
    event_notifier_cleanup(&vector->interrupt);
    vector->use = false;
}

/* Hands the host the eventfds of vectors 0..nr_vectors-1. */
static int vfio_enable_vectors(VFIOPCIDevice *vdev, bool msix)
{
    g_autofree int32_t *fds = g_new(int32_t, vdev->nr_vectors);
    int i;

    for (i = 0; i < vdev->nr_vectors; i++) {
        VFIOMSIVector *vector = &vdev->msi_vectors[i];

        fds[i] = vector->use ? event_notifier_get_fd(&vector->interrupt) : -1;
    }

    return vfio_set_irq_fds(&vdev->vbasedev,
                            msix ? VFIO_PCI_MSIX_IRQ_INDEX :
                                   VFIO_PCI_MSI_IRQ_INDEX,
                            0, vdev->nr_vectors, fds);
}

/*
 * The host refuses to enable vectors outside D0.  A guest that asks for them
 * there only hurts itself: that is a guest error, not a host problem.
 */
static void vfio_msi_enable_failed(VFIOPCIDevice *vdev, bool msix, int ret)
{
    const char *what = msix ? "MSI-X vectors" : "MSI";
    const char *err = strerror(ret < 0 ? -ret : ENOSPC);

    if (!vfio_first_report(vdev, msix ? VFIO_REPORT_MSIX_ENABLE :
                                        VFIO_REPORT_MSI_ENABLE)) {
        return;
    }
    if (vdev->low_power) {
        qemu_log_mask(LOG_GUEST_ERROR, "vfio %s: %s enabled outside D0, the "
                      "host refused: %s\n", vdev->vbasedev.name, what, err);
        return;
    }
    error_report(VFIO_MSG_PREFIX "failed to enable %s: %s",
                 vdev->vbasedev.name, what, err);
}

/*
 * Without dynamic MSI-X (VFIO_IRQ_INFO_NORESIZE), more vectors than the
 * host has means re-enabling MSI-X with a larger count, and an interrupt
 * that arrives meanwhile is lost.  Fire every vector that was live: a
 * spurious interrupt is harmless, a lost one is not.
 */
static void vfio_msix_grow(VFIOPCIDevice *vdev, int nr)
{
    int i, live = vdev->nr_vectors;
    int ret;

    vfio_disable_irqindex(&vdev->vbasedev, VFIO_PCI_MSIX_IRQ_INDEX);
    vdev->nr_vectors = nr + 1;
    ret = vfio_enable_vectors(vdev, true);
    if (ret) {
        vfio_msi_enable_failed(vdev, true, ret);
    }

    for (i = 0; i < live; i++) {
        if (vdev->msi_vectors[i].use) {
            msix_notify(&vdev->pdev, i);
        }
    }
}

/*
 * Hands the host vector @nr's eventfd.  A vector beyond those the host
 * has is allocated on the fly where the kernel allows it (dynamic MSI-X),
 * without touching the others; the host enables MSI-X with it if MSI-X
 * was off.
 */
static void vfio_msix_add_vector(VFIOPCIDevice *vdev, int nr)
{
    int32_t fd = event_notifier_get_fd(&vdev->msi_vectors[nr].interrupt);
    int ret;

    if (nr >= vdev->nr_vectors && vdev->nr_vectors && vdev->msix->noresize) {
        vfio_msix_grow(vdev, nr);
        return;
    }

    ret = vfio_set_irq_fds(&vdev->vbasedev, VFIO_PCI_MSIX_IRQ_INDEX, nr, 1,
                           &fd);
    if (!ret) {
        vdev->nr_vectors = MAX(vdev->nr_vectors, nr + 1);
    } else if (vfio_first_report(vdev, VFIO_REPORT_MSIX_VECTOR)) {
        error_report(VFIO_MSG_PREFIX "failed to set MSI-X vector %d: %s",
                     vdev->vbasedev.name, nr,
                     strerror(ret < 0 ? -ret : ENOSPC));
    }
}

/* MSI-X takes the host's interrupts over from INTx or MSI. */
static void vfio_msix_start(VFIOPCIDevice *vdev)
{
    if (vdev->interrupt == VFIO_INT_MSIX) {
        return;
    }
    vfio_disable_interrupts(vdev);
    vdev->msi_vectors = g_new0(VFIOMSIVector, vdev->msix->entries);
    vdev->interrupt = VFIO_INT_MSIX;
}

static int vfio_msix_vector_use(PCIDevice *pdev, unsigned int nr,
                                MSIMessage msg)
{
    VFIOPCIDevice *vdev = VFIO_PCI(pdev);
    VFIOMSIVector *vector;

    trace_vfio_msix_vector_use(vdev->vbasedev.name, nr);
    vfio_msix_start(vdev);

    vector = &vdev->msi_vectors[nr];
    if (!vector->use) {
        /* msix.c cannot take a failure: the vector just stays silent */
        if (!vfio_vector_init(vdev, vector)) {
            return 0;
        }
        msix_vector_use(pdev, nr);
    }
    vfio_vector_connect(vdev, vector, nr, true);

    /*
     * We don't want to have the host allocate all possible MSI vectors
     * for a device if they're not in use, so we enable them as the guest
     * unmasks them.
     */
    vfio_msix_add_vector(vdev, nr);
    return 0;
}

/*
 * The guest masked the vector.  The host keeps signalling it, and the
 * userspace handler's msix_notify() sets the pending bit that msix.c
 * delivers on unmask; only the KVM bypass, which would ignore the mask,
 * is released.
 */
static void vfio_msix_vector_release(PCIDevice *pdev, unsigned int nr)
{
    VFIOPCIDevice *vdev = VFIO_PCI(pdev);
    VFIOMSIVector *vector;

    trace_vfio_msix_vector_release(vdev->vbasedev.name, nr);

    /*
     * msix.c calls this for each unmasked vector whatever the host does:
     * after MSI took over, after a reset, and when we unset the notifiers
     * at exit, when our vectors are gone already.
     */
    if (vdev->interrupt != VFIO_INT_MSIX) {
        return;
    }
    vector = &vdev->msi_vectors[nr];
    if (vector->use && vector->virq >= 0) {
        vfio_vector_remove_kvm(vector);
        qemu_set_fd_handler(event_notifier_get_fd(&vector->interrupt),
                            vfio_msi_interrupt, NULL, vector);
    }
}

/*
 * The guest set MSI-X Enable.  A device sees MSI-X enabled only once the
 * host enables it, and some decide then which vectors they will use (QEMU's
 * nvme binds its admin queue's vector when the controller is enabled), so
 * the host enables vector 0 now rather than at the first unmask.  It runs
 * on the userspace path: while the guest keeps it masked, its interrupts
 * set the pending bit.
 */
static void vfio_msix_enable(VFIOPCIDevice *vdev)
{
    VFIOMSIVector *vector;

    vfio_msix_start(vdev);
    if (vdev->nr_vectors) {
        return;         /* a vector unmasked with the enable got there first */
    }

    trace_vfio_msix_enable(vdev->vbasedev.name);
    vector = &vdev->msi_vectors[0];
    if (!vfio_vector_init(vdev, vector)) {
        return;
    }
    msix_vector_use(&vdev->pdev, 0);
    qemu_set_fd_handler(event_notifier_get_fd(&vector->interrupt),
                        vfio_msi_interrupt, NULL, vector);
    vfio_msix_add_vector(vdev, 0);
}

/* Queue size is log2-encoded in the MSI flags */
static void vfio_msi_set_qsize(VFIOPCIDevice *vdev, int nr_vectors)
{
    uint8_t *flags = vdev->pdev.config + vdev->pdev.msi_cap + PCI_MSI_FLAGS;
    uint16_t val = pci_get_word(flags) & ~PCI_MSI_FLAGS_QSIZE;

    pci_set_word(flags, val | (ctz32(nr_vectors) << 4));
}

static void vfio_msi_free_vectors(VFIOPCIDevice *vdev, bool msix)
{
    int i, n = msix ? vdev->msix->entries : vdev->nr_vectors;

    for (i = 0; vdev->msi_vectors && i < n; i++) {
        if (!vdev->msi_vectors[i].use) {
            continue;
        }
        vfio_vector_teardown(&vdev->msi_vectors[i]);
        if (msix) {
            msix_vector_unuse(&vdev->pdev, i);
        }
    }
    g_free(vdev->msi_vectors);
    vdev->msi_vectors = NULL;
    vdev->nr_vectors = 0;
}

/* 0 on success, else what VFIO_DEVICE_SET_IRQS said (> 0: vectors free). */
static int vfio_msi_try_enable(VFIOPCIDevice *vdev, int nr_vectors)
{
    int i, ret;

    vdev->nr_vectors = nr_vectors;
    vdev->msi_vectors = g_new0(VFIOMSIVector, nr_vectors);
    for (i = 0; i < nr_vectors; i++) {
        if (!vfio_vector_init(vdev, &vdev->msi_vectors[i])) {
            ret = -EMFILE;
            goto free_vectors;
        }
        vfio_vector_connect(vdev, &vdev->msi_vectors[i], i, false);
    }

    ret = vfio_enable_vectors(vdev, false);
    if (!ret) {
        return 0;
    }

free_vectors:
    vfio_msi_free_vectors(vdev, false);
    return ret;
}

/* Gives the host exactly the vectors the guest's MSI capability enables. */
static void vfio_msi_enable(VFIOPCIDevice *vdev)
{
    int nr_vectors = msi_nr_vectors_allocated(&vdev->pdev);
    int ret;

    vfio_disable_interrupts(vdev);
    vdev->interrupt = VFIO_INT_MSI;

    /* The host may offer fewer vectors than asked for: retry with those. */
    while ((ret = vfio_msi_try_enable(vdev, nr_vectors)) > 0 &&
           pow2floor(ret) < nr_vectors) {
        if (vfio_first_report(vdev, VFIO_REPORT_MSI_PARTIAL)) {
            warn_report(VFIO_MSG_PREFIX "the host could enable only %d of %d "
                        "MSI vectors, retrying", vdev->vbasedev.name, ret,
                        nr_vectors);
        }
        nr_vectors = pow2floor(ret);
    }
    if (ret) {
        vfio_msi_enable_failed(vdev, false, ret);
        vdev->interrupt = VFIO_INT_NONE;
        return;
    }

    vfio_msi_set_qsize(vdev, nr_vectors);
    trace_vfio_msi_enable(vdev->vbasedev.name, nr_vectors);
}

static void vfio_msi_disable_common(VFIOPCIDevice *vdev, bool msix)
{
    vfio_disable_irqindex(&vdev->vbasedev, msix ? VFIO_PCI_MSIX_IRQ_INDEX :
                                                  VFIO_PCI_MSI_IRQ_INDEX);
    vfio_msi_free_vectors(vdev, msix);
    vdev->interrupt = VFIO_INT_NONE;
    trace_vfio_msi_disable(vdev->vbasedev.name, msix ? "-X" : "");
}

/*
 * Following the guest's config
 */
/* The guest rewrote address or data of an enabled MSI: update KVM. */
static void vfio_msi_update_routes(VFIOPCIDevice *vdev)
{
    int i;

    for (i = 0; i < vdev->nr_vectors; i++) {
        if (vdev->msi_vectors[i].virq >= 0) {
            vfio_vector_connect(vdev, &vdev->msi_vectors[i], i, false);
        }
    }
}

/*
 * What the guest's config asks the host for.  The spec forbids MSI and
 * MSI-X together and the host runs only one: MSI-X wins, as it does in
 * QEMU's own pci_get_msi_message(), and MSI takes over once MSI-X goes
 * off with MSI still on.  Which one runs is a function of the two enable
 * bits alone, whatever order the guest set them in.
 */
static VFIOInterruptType vfio_irq_wanted(VFIOPCIDevice *vdev)
{
    PCIDevice *pdev = &vdev->pdev;

    if (msix_enabled(pdev)) {
        return VFIO_INT_MSIX;
    }
    if (msi_enabled(pdev)) {
        return VFIO_INT_MSI;
    }
    return pdev->config[PCI_INTERRUPT_PIN] ? VFIO_INT_INTx : VFIO_INT_NONE;
}

static void vfio_irq_switch(VFIOPCIDevice *vdev, VFIOInterruptType type)
{
    switch (type) {
    case VFIO_INT_MSIX:
        /* Further vectors are enabled one by one as the guest unmasks them */
        vfio_msix_enable(vdev);
        break;
    case VFIO_INT_MSI:
        vfio_msi_enable(vdev);
        break;
    case VFIO_INT_INTx:
        vfio_intx_reenable(vdev);
        break;
    case VFIO_INT_NONE:
        vfio_disable_interrupts(vdev);
        break;
    }
}

static unsigned int vfio_msi_nr_wanted(VFIOPCIDevice *vdev)
{
    return msi_present(&vdev->pdev) ?
           msi_nr_vectors_allocated(&vdev->pdev) : 0;
}

/* Follows the guest's MSI and MSI-X capabilities into the host. */
void vfio_irq_write_config(VFIOPCIDevice *vdev, uint32_t addr,
                                  uint32_t val, int len)
{
    PCIDevice *pdev = &vdev->pdev;
    VFIOInterruptType before = vfio_irq_wanted(vdev);
    unsigned int msi_nr = vfio_msi_nr_wanted(vdev);
    VFIOInterruptType after;

    pci_default_write_config(pdev, addr, val, len);
    after = vfio_irq_wanted(vdev);

    if (msi_enabled(pdev) && msix_enabled(pdev) &&
        vfio_first_report(vdev, VFIO_REPORT_MSI_AND_MSIX)) {
        qemu_log_mask(LOG_GUEST_ERROR, "vfio %s: MSI and MSI-X enabled "
                      "together: MSI-X is used\n", vdev->vbasedev.name);
    }

    if (after != before) {
        vfio_irq_switch(vdev, after);
    } else if (after == VFIO_INT_MSI && vfio_msi_nr_wanted(vdev) != msi_nr) {
        /* A new queue size: the host gets exactly the vectors now enabled */
        vfio_msi_enable(vdev);
    } else if (after == VFIO_INT_MSI && vdev->interrupt == VFIO_INT_MSI) {
        vfio_msi_update_routes(vdev);
    }
}

/*
 * After an incoming migration the loaded config says what the guest had
 * enabled: the host gets the same.  MSI-X vectors the guest had unmasked
 * came in already, through msix.c's load and our use notifier; a pending
 * INTx keeps the guest's pin asserted (its level came with the config)
 * until the guest services the device.
 */
void vfio_irq_restore(VFIOPCIDevice *vdev, bool intx_pending)
{
    VFIOInterruptType wanted = vfio_irq_wanted(vdev);

    if (wanted != vdev->interrupt) {
        vfio_irq_switch(vdev, wanted);
    }
    if (vdev->interrupt == VFIO_INT_INTx && intx_pending) {
        vfio_intx_set_pending(vdev);
    }
    trace_vfio_irq_restore(vdev->vbasedev.name, vdev->interrupt,
                           intx_pending);
}

/*
 * Interrupt setup
 */
void vfio_disable_interrupts(VFIOPCIDevice *vdev)
{
    switch (vdev->interrupt) {
    case VFIO_INT_INTx:
        vfio_intx_disable(vdev);
        break;
    case VFIO_INT_MSI:
        vfio_msi_disable_common(vdev, false);
        break;
    case VFIO_INT_MSIX:
        vfio_msi_disable_common(vdev, true);
        break;
    case VFIO_INT_NONE:
        break;
    }
}

bool vfio_msi_setup(VFIOPCIDevice *vdev, int pos, Error **errp)
{
    uint16_t ctrl = pci_get_word(vdev->pdev.config + pos + PCI_MSI_FLAGS);
    bool msi_64bit = !!(ctrl & PCI_MSI_FLAGS_64BIT);
    bool msi_maskbit = !!(ctrl & PCI_MSI_FLAGS_MASKBIT);
    int entries = 1 << ((ctrl & PCI_MSI_FLAGS_QMASK) >> 1);
    int ret;

    trace_vfio_msi_setup(vdev->vbasedev.name, pos, entries);

    ret = msi_init(&vdev->pdev, pos, entries, msi_64bit, msi_maskbit, errp);
    if (ret < 0) {
        if (ret == -ENOTSUP) {
            /* The machine has no MSI: the guest keeps INTx. */
            error_free(*errp);
            *errp = NULL;
            return true;
        }
        return false;
    }

    vdev->msi_cap_size = 0xa + (msi_maskbit ? 0xa : 0) + (msi_64bit ? 0x4 : 0);
    vfio_emulate_config_range(vdev, pos, vdev->msi_cap_size);
    return true;
}

bool vfio_msix_setup(VFIOPCIDevice *vdev, int pos, Error **errp)
{
    VFIOMSIXInfo *msix = vdev->msix;
    int ret;

    ret = msix_init(&vdev->pdev, msix->entries,
                    &vdev->bars[msix->table_bar].mem, msix->table_bar,
                    msix->table_offset, &vdev->bars[msix->pba_bar].mem,
                    msix->pba_bar, msix->pba_offset, pos, errp);
    if (ret < 0) {
        if (ret == -ENOTSUP) {
            error_free(*errp);
            *errp = NULL;
            return true;
        }
        return false;
    }

    msix_set_vector_notifiers(&vdev->pdev, vfio_msix_vector_use,
                              vfio_msix_vector_release, NULL);
    vfio_emulate_config_range(vdev, pos, MSIX_CAP_LENGTH);
    return true;
}

void vfio_teardown_msi(VFIOPCIDevice *vdev)
{
    PCIDevice *pdev = &vdev->pdev;

    msi_uninit(pdev);

    if (msix_present(pdev)) {
        if (pdev->msix_vector_use_notifier) {
            msix_unset_vector_notifiers(pdev);
        }
        msix_uninit(pdev, &vdev->bars[vdev->msix->table_bar].mem,
                    &vdev->bars[vdev->msix->pba_bar].mem);
    }
}

bool vfio_setup_intx(VFIOPCIDevice *vdev, Error **errp)
{
    if (!vdev->pdev.config[PCI_INTERRUPT_PIN]) {
        return true;
    }
    vdev->intx.mmap_timer = timer_new_ms(QEMU_CLOCK_VIRTUAL,
                                         vfio_intx_mmap_restore, vdev);
    pci_device_set_intx_routing_notifier(&vdev->pdev, vfio_intx_update_route);
    return vfio_intx_enable(vdev, errp);
}

void vfio_teardown_intx(VFIOPCIDevice *vdev)
{
    pci_device_set_intx_routing_notifier(&vdev->pdev, NULL);
    if (vdev->intx.mmap_timer) {
        timer_free(vdev->intx.mmap_timer);
        vdev->intx.mmap_timer = NULL;
    }
}
