/*
 * VFIO: live migration of an assigned device (VFIO migration v2)
 *
 * The device's own state lives in the host; the kernel's state machine
 * (linux/vfio.h, Linux 6.2 and later) hands it out through a data fd, and
 * QEMU's migration stream carries it.  On the source the device goes
 * RUNNING -> PRE_COPY while the VM runs (where the device offers it, its
 * state streams early), -> PRE_COPY_P2P or RUNNING_P2P when the VM stops
 * (every device quiesces its peer-to-peer DMA before any of them stops),
 * -> STOP_COPY for the rest of its state, -> STOP.  On the destination it
 * goes STOP -> RESUMING while the stream is written back, -> STOP, and
 * RUNNING_P2P -> RUNNING when the VM runs.  A cancelled or failed
 * migration puts the source device back in RUNNING, through a reset where
 * the kernel left it in ERROR.
 *
 * In the stream, each device's section is chunks of its data fd (marker,
 * length, bytes) closed by an end marker.  The config space that QEMU
 * emulates is the device model's own vmstate, which comes after it.
 *
 * SPDX-License-Identifier: GPL-2.0-only
 */

#include "qemu/osdep.h"
#include <sys/ioctl.h>

#include "hw/vfio/vfio-common.h"
#include "migration/blocker.h"
#include "migration/migration.h"
#include "migration/misc.h"
#include "migration/qemu-file.h"
#include "migration/register.h"
#include "migration/vmstate.h"
#include "qapi/error.h"
#include "qapi/qapi-events-vfio.h"
#include "qemu/error-report.h"
#include "qemu/main-loop.h"
#include "qemu/units.h"
#include "sysemu/runstate.h"
#include "trace.h"

/* Markers of a device's section of the stream ("VFIOMIG" and a number) */
#define VFIO_MIG_CHUNK          0x5646494f4d494701ULL
#define VFIO_MIG_PRECOPY_END    0x5646494f4d494702ULL
#define VFIO_MIG_COMPLETE_END   0x5646494f4d494703ULL

/* What one read of the data fd asks for, and so the largest chunk */
#define VFIO_MIG_BUFFER_SIZE    (1 * MiB)

/* On stop the P2P handlers run first, on start last (runstate.c) */
#define VFIO_MIG_PRIO           0
#define VFIO_MIG_PRIO_P2P       1

struct VFIOMigration {
    VFIODevice *vbasedev;         /* NULL: removed during a migration */
    char *idstr;                  /* of its savevm handlers */
    uint64_t flags;               /* VFIO_MIGRATION_* the device offers */
    uint32_t state;               /* the device's, as last set or read */
    int data_fd;                  /* of the current session, or -1 */
    uint8_t *buffer;              /* VFIO_MIG_BUFFER_SIZE, while migrating */
    bool session_lost;            /* the VM ran again within STOP_COPY */
    uint64_t precopy_ready;       /* as VFIO_MIG_GET_PRECOPY_INFO says */
    uint64_t precopy_bytes;       /* sent while the VM ran */
    uint64_t stopcopy_bytes;      /* sent after it stopped */
    VMChangeStateEntry *vm_state;
    VMChangeStateEntry *vm_state_p2p;
    Notifier migration_state;
};

static unsigned int vfio_migratable_devices;
static int64_t vfio_bytes_sent;

bool vfio_mig_active(void)
{
    return vfio_migratable_devices > 0;
}

int64_t vfio_mig_bytes_transferred(void)
{
    return vfio_bytes_sent;
}

static const char *vfio_mig_state_name(uint32_t state)
{
    static const char *const names[] = {
        [VFIO_DEVICE_STATE_ERROR] = "ERROR",
        [VFIO_DEVICE_STATE_STOP] = "STOP",
        [VFIO_DEVICE_STATE_RUNNING] = "RUNNING",
        [VFIO_DEVICE_STATE_STOP_COPY] = "STOP_COPY",
        [VFIO_DEVICE_STATE_RESUMING] = "RESUMING",
        [VFIO_DEVICE_STATE_RUNNING_P2P] = "RUNNING_P2P",
        [VFIO_DEVICE_STATE_PRE_COPY] = "PRE_COPY",
        [VFIO_DEVICE_STATE_PRE_COPY_P2P] = "PRE_COPY_P2P",
    };

    return state < ARRAY_SIZE(names) && names[state] ? names[state] : "?";
}

/* The states that stream data through a session's fd */
static bool vfio_mig_state_has_data(uint32_t state)
{
    return state == VFIO_DEVICE_STATE_PRE_COPY ||
           state == VFIO_DEVICE_STATE_PRE_COPY_P2P ||
           state == VFIO_DEVICE_STATE_STOP_COPY ||
           state == VFIO_DEVICE_STATE_RESUMING;
}

static bool vfio_mig_precopy(VFIOMigration *mig)
{
    return mig->state == VFIO_DEVICE_STATE_PRE_COPY ||
           mig->state == VFIO_DEVICE_STATE_PRE_COPY_P2P;
}

/* The QAPI name of @state; false for ERROR, which the schema lacks */
static bool vfio_mig_qapi_state(uint32_t state, QapiVfioMigrationState *qs)
{
    switch (state) {
    case VFIO_DEVICE_STATE_STOP:
        *qs = QAPI_VFIO_MIGRATION_STATE_STOP;
        return true;
    case VFIO_DEVICE_STATE_RUNNING:
        *qs = QAPI_VFIO_MIGRATION_STATE_RUNNING;
        return true;
    case VFIO_DEVICE_STATE_STOP_COPY:
        *qs = QAPI_VFIO_MIGRATION_STATE_STOP_COPY;
        return true;
    case VFIO_DEVICE_STATE_RESUMING:
        *qs = QAPI_VFIO_MIGRATION_STATE_RESUMING;
        return true;
    case VFIO_DEVICE_STATE_RUNNING_P2P:
        *qs = QAPI_VFIO_MIGRATION_STATE_RUNNING_P2P;
        return true;
    case VFIO_DEVICE_STATE_PRE_COPY:
        *qs = QAPI_VFIO_MIGRATION_STATE_PRE_COPY;
        return true;
    case VFIO_DEVICE_STATE_PRE_COPY_P2P:
        *qs = QAPI_VFIO_MIGRATION_STATE_PRE_COPY_P2P;
        return true;
    default:
        return false;
    }
}

/*
 * The device is now in @state.  With migration-events, a management
 * layer that orchestrates the devices (or only watches the migration)
 * learns of each change through QMP without polling.
 */
static void vfio_mig_note_state(VFIOMigration *mig, uint32_t state)
{
    DeviceState *dev = mig->vbasedev->dev;
    g_autofree char *path = NULL;
    QapiVfioMigrationState qs;

    if (mig->state == state) {
        return;
    }
    mig->state = state;
    if (!mig->vbasedev->migration_events ||
        !vfio_mig_qapi_state(state, &qs)) {
        return;
    }
    trace_vfio_mig_event(mig->vbasedev->name, QapiVfioMigrationState_str(qs));
    path = object_get_canonical_path(OBJECT(dev));
    qapi_event_send_vfio_migration(dev->id ? dev->id : "", path, qs);
}

static void vfio_mig_close_data(VFIOMigration *mig)
{
    if (mig->data_fd >= 0) {
        trace_vfio_mig_close_data(mig->vbasedev->name, mig->data_fd);
        close(mig->data_fd);
        mig->data_fd = -1;
    }
}

/* What the kernel says the state is, after a transition failed */
static uint32_t vfio_mig_read_state(VFIOMigration *mig)
{
    struct vfio_device_feature_mig_state arg = { 0 };

    if (vfio_device_feature(mig->vbasedev, VFIO_DEVICE_FEATURE_GET |
                            VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE,
                            &arg, sizeof(arg))) {
        return VFIO_DEVICE_STATE_ERROR;
    }
    return arg.device_state;
}

/* The states in which the device runs, and so may DMA */
static bool vfio_mig_state_runs(uint32_t state)
{
    return state == VFIO_DEVICE_STATE_RUNNING ||
           state == VFIO_DEVICE_STATE_RUNNING_P2P ||
           state == VFIO_DEVICE_STATE_PRE_COPY ||
           state == VFIO_DEVICE_STATE_PRE_COPY_P2P;
}

/*
 * Takes the device to @state; the kernel walks the arcs in between.  A
 * new session's data fd replaces the last one; a state without data ends
 * the session.  0, or -errno with mig->state what the kernel left.
 */
static int vfio_mig_enter(VFIOMigration *mig, uint32_t state)
{
    struct vfio_device_feature_mig_state arg = {
        .device_state = state,
        .data_fd = -1,
    };
    int ret;

    ret = vfio_device_feature(mig->vbasedev, VFIO_DEVICE_FEATURE_SET |
                              VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE,
                              &arg, sizeof(arg));
    trace_vfio_mig_set_state(mig->vbasedev->name,
                             vfio_mig_state_name(mig->state),
                             vfio_mig_state_name(state), ret, arg.data_fd);
    if (ret) {
        vfio_mig_note_state(mig, vfio_mig_read_state(mig));
        return ret;
    }
    if (arg.data_fd >= 0) {
        vfio_mig_close_data(mig);
        mig->data_fd = arg.data_fd;
    } else if (!vfio_mig_state_has_data(state)) {
        vfio_mig_close_data(mig);
    }
    vfio_mig_note_state(mig, state);
    return 0;
}

/* ... where a device that resumes DMAs where it left off: RAM is mapped */
static int vfio_mig_set_state(VFIOMigration *mig, uint32_t state)
{
    if (vfio_mig_state_runs(state)) {
        vfio_container_dma_wait(mig->vbasedev->container);
    }
    return vfio_mig_enter(mig, state);
}

/* The way out of ERROR, and of a RESUMING that will not complete */
static bool vfio_mig_reset(VFIOMigration *mig)
{
    if (ioctl(mig->vbasedev->fd, VFIO_DEVICE_RESET)) {
        return false;
    }
    vfio_mig_close_data(mig);
    vfio_mig_note_state(mig, vfio_mig_read_state(mig));
    trace_vfio_mig_reset(mig->vbasedev->name,
                         vfio_mig_state_name(mig->state));
    return mig->state == VFIO_DEVICE_STATE_RUNNING;
}

/*
 * A transition failed: report it, and put the device in @state, which the
 * VM's run state wants, resetting it first where the kernel left it in
 * ERROR (a reset returns it to RUNNING).
 */
static void vfio_mig_recover(VFIOMigration *mig, uint32_t failed, int err,
                             uint32_t state)
{
    VFIODevice *vbasedev = mig->vbasedev;

    error_report(VFIO_MSG_PREFIX "cannot take the device to %s: %s "
                 "(it is in %s)", vbasedev->name, vfio_mig_state_name(failed),
                 strerror(-err), vfio_mig_state_name(mig->state));
    if (mig->state == VFIO_DEVICE_STATE_ERROR) {
        if (!vfio_mig_reset(mig)) {
            error_report(VFIO_MSG_PREFIX "cannot reset the device out of "
                         "ERROR: %m", vbasedev->name);
            return;
        }
        warn_report(VFIO_MSG_PREFIX "reset to leave the ERROR state",
                    vbasedev->name);
    }
    if (mig->state != state && vfio_mig_set_state(mig, state)) {
        error_report(VFIO_MSG_PREFIX "cannot take the device back to %s "
                     "either", vbasedev->name, vfio_mig_state_name(state));
    }
}

/* A migration that runs fails with the error of a device */
static void vfio_mig_fail_migration(int err)
{
    MigrationState *s = migrate_get_current();

    if (migration_is_setup_or_active(s->state) && s->to_dst_file) {
        qemu_file_set_error(s->to_dst_file, err);
    }
}

static void vfio_mig_free(VFIOMigration *mig)
{
    remove_migration_state_change_notifier(&mig->migration_state);
    unregister_savevm(NULL, mig->idstr, mig);
    vfio_mig_close_data(mig);
    g_free(mig->buffer);
    g_free(mig->idstr);
    g_free(mig);
}

/*
 * The device is gone but a migration it was part of still runs (a
 * guest's ACPI eject does not ask whether one does): its handlers stay
 * registered until the migration ends, and fail it.
 */
static bool vfio_mig_gone(VFIOMigration *mig)
{
    return !mig->vbasedev;
}

static void vfio_mig_change_state(VFIOMigration *mig, uint32_t state,
                                  uint32_t fallback)
{
    int ret;

    if (mig->state == state) {
        return;
    }
    ret = vfio_mig_set_state(mig, state);
    if (ret) {
        vfio_mig_fail_migration(ret);
        vfio_mig_recover(mig, state, ret, fallback);
    }
}

/*
 * The P2P states: before any device stops, each stops initiating DMA to
 * its peers; once all run again, each resumes it.
 */
static void vfio_mig_vm_state_p2p(void *opaque, bool running, RunState state)
{
    VFIOMigration *mig = opaque;

    if (!(mig->flags & VFIO_MIGRATION_P2P)) {
        return;
    }
    if (running && mig->state == VFIO_DEVICE_STATE_RUNNING_P2P) {
        vfio_mig_change_state(mig, VFIO_DEVICE_STATE_RUNNING,
                              VFIO_DEVICE_STATE_RUNNING);
    } else if (!running && mig->state == VFIO_DEVICE_STATE_RUNNING) {
        vfio_mig_change_state(mig, VFIO_DEVICE_STATE_RUNNING_P2P,
                              VFIO_DEVICE_STATE_RUNNING);
    } else if (!running && mig->state == VFIO_DEVICE_STATE_PRE_COPY) {
        vfio_mig_change_state(mig, VFIO_DEVICE_STATE_PRE_COPY_P2P,
                              VFIO_DEVICE_STATE_RUNNING);
    }
}

/*
 * The device follows the VM: it runs with it, and stops with it, into
 * STOP_COPY where the VM stops for migration (or a saving session is
 * open), into STOP otherwise.
 */
static void vfio_mig_vm_state(void *opaque, bool running, RunState state)
{
    VFIOMigration *mig = opaque;
    bool p2p = mig->flags & VFIO_MIGRATION_P2P;

    trace_vfio_mig_vm_state(mig->vbasedev->name, running,
                            RunState_str(state));
    if (running) {
        if (mig->state == VFIO_DEVICE_STATE_STOP_COPY) {
            mig->session_lost = true;
        }
        if (mig->state != VFIO_DEVICE_STATE_RUNNING && !vfio_mig_precopy(mig)) {
            vfio_mig_change_state(mig, p2p ? VFIO_DEVICE_STATE_RUNNING_P2P :
                                             VFIO_DEVICE_STATE_RUNNING,
                                  VFIO_DEVICE_STATE_RUNNING);
        }
        return;
    }
    if (state == RUN_STATE_FINISH_MIGRATE || vfio_mig_precopy(mig)) {
        vfio_mig_change_state(mig, VFIO_DEVICE_STATE_STOP_COPY,
                              VFIO_DEVICE_STATE_STOP);
    } else if (mig->state != VFIO_DEVICE_STATE_RESUMING) {
        vfio_mig_change_state(mig, VFIO_DEVICE_STATE_STOP,
                              VFIO_DEVICE_STATE_STOP);
    }
}

/* A cancelled or failed migration leaves the source device as the VM is */
static void vfio_mig_state_notify(Notifier *notifier, void *data)
{
    VFIOMigration *mig = container_of(notifier, VFIOMigration,
                                      migration_state);
    MigrationState *s = data;

    if (vfio_mig_gone(mig)) {
        if (!migration_is_running(s->state)) {
            vfio_mig_free(mig);
        }
        return;
    }
    trace_vfio_mig_notify(mig->vbasedev->name, MigrationStatus_str(s->state));
    if (!migration_has_failed(s)) {
        return;
    }
    vfio_mig_close_data(mig);
    mig->session_lost = false;
    vfio_mig_change_state(mig, runstate_is_running() ?
                          VFIO_DEVICE_STATE_RUNNING : VFIO_DEVICE_STATE_STOP,
                          VFIO_DEVICE_STATE_RUNNING);
}

/*
 * Saving
 */
/* One read of the data fd into the stream: bytes, 0 at its end, or -errno */
static ssize_t vfio_save_chunk(VFIOMigration *mig, QEMUFile *f)
{
    ssize_t n;

    do {
        n = read(mig->data_fd, mig->buffer, VFIO_MIG_BUFFER_SIZE);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        /* In PRE_COPY, the device has nothing new for now */
        return errno == ENOMSG && vfio_mig_precopy(mig) ? 0 : -errno;
    }
    /* A driver that claims more than the buffer holds is not believed */
    if (n > VFIO_MIG_BUFFER_SIZE) {
        error_report(VFIO_MSG_PREFIX "its migration data fd answered a read "
                     "of %d bytes with %zd", mig->vbasedev->name,
                     (int)VFIO_MIG_BUFFER_SIZE, n);
        return -EIO;
    }
    if (n) {
        qemu_put_be64(f, VFIO_MIG_CHUNK);
        qemu_put_be64(f, n);
        qemu_put_buffer(f, mig->buffer, n);
        vfio_bytes_sent += n;
    }
    return n;
}

static void vfio_mig_report(VFIOMigration *mig, const char *what, int err)
{
    error_report(VFIO_MSG_PREFIX "%s: %s", mig->vbasedev->name, what,
                 strerror(-err));
}

/*
 * QEMU 7.2 calls save_setup, save_live_pending and save_live_iterate from
 * the migration thread without the BQL, while the main thread's run-state
 * and migration-state handlers change the device's state and close its
 * data fd.  Those three take it, and look at the state and the fd only
 * under it.  savevm calls them from the main thread, which holds it.
 */
static bool vfio_mig_lock(void)
{
    if (qemu_mutex_iothread_locked()) {
        return false;
    }
    qemu_mutex_lock_iothread();
    return true;
}

static void vfio_mig_unlock(bool taken)
{
    if (taken) {
        qemu_mutex_unlock_iothread();
    }
}

static int vfio_save_setup_locked(QEMUFile *f, VFIOMigration *mig)
{
    VFIOContainer *container;
    int ret;

    if (vfio_mig_gone(mig)) {
        return -ENODEV;
    }
    container = mig->vbasedev->container;

    /* Without it, what the device writes to guest RAM would be lost */
    if (!container->dirty_tracking) {
        error_report(VFIO_MSG_PREFIX "cannot migrate: dirty page tracking "
                     "did not start", mig->vbasedev->name);
        return -EINVAL;
    }
    mig->buffer = g_malloc(VFIO_MIG_BUFFER_SIZE);
    mig->precopy_bytes = mig->stopcopy_bytes = 0;
    mig->precopy_ready = 0;
    mig->session_lost = false;
    if ((mig->flags & VFIO_MIGRATION_PRE_COPY) && runstate_is_running()) {
        ret = vfio_mig_set_state(mig, VFIO_DEVICE_STATE_PRE_COPY);
        if (ret) {
            vfio_mig_report(mig, "cannot enter PRE_COPY", ret);
            vfio_mig_recover(mig, VFIO_DEVICE_STATE_PRE_COPY, ret,
                             VFIO_DEVICE_STATE_RUNNING);
            return ret;
        }
    }
    qemu_put_be64(f, VFIO_MIG_PRECOPY_END);
    trace_vfio_save_setup(mig->vbasedev->name,
                          vfio_mig_state_name(mig->state));
    return qemu_file_get_error(f);
}

static int vfio_save_setup(QEMUFile *f, void *opaque)
{
    bool taken = vfio_mig_lock();
    int ret = vfio_save_setup_locked(f, opaque);

    vfio_mig_unlock(taken);
    return ret;
}

/* What is left to send once the VM stops, as far as the device knows */
static uint64_t vfio_mig_stop_copy_size(VFIOMigration *mig)
{
    struct vfio_device_feature_mig_data_size size = { 0 };

    if (vfio_device_feature(mig->vbasedev, VFIO_DEVICE_FEATURE_GET |
                            VFIO_DEVICE_FEATURE_MIG_DATA_SIZE,
                            &size, sizeof(size))) {
        return 0;
    }
    return size.stop_copy_length;
}

static void vfio_mig_update_precopy(VFIOMigration *mig)
{
    struct vfio_precopy_info info = { .argsz = sizeof(info) };

    mig->precopy_ready = 0;
    if (vfio_mig_precopy(mig) && mig->data_fd >= 0 &&
        !ioctl(mig->data_fd, VFIO_MIG_GET_PRECOPY_INFO, &info)) {
        mig->precopy_ready = info.initial_bytes + info.dirty_bytes;
    }
}

static void vfio_save_pending(QEMUFile *f, void *opaque,
                              uint64_t threshold_size,
                              uint64_t *res_precopy_only,
                              uint64_t *res_compatible,
                              uint64_t *res_postcopy_only)
{
    VFIOMigration *mig = opaque;
    bool taken = vfio_mig_lock();
    uint64_t stop_copy;

    if (!vfio_mig_gone(mig)) {
        stop_copy = vfio_mig_stop_copy_size(mig);
        vfio_mig_update_precopy(mig);
        *res_precopy_only += mig->precopy_ready + stop_copy;
        trace_vfio_save_pending(mig->vbasedev->name, mig->precopy_ready,
                                stop_copy);
    }
    vfio_mig_unlock(taken);
}

/* While the VM runs: what the device has ready, a buffer at a time */
static int vfio_save_iterate_locked(QEMUFile *f, VFIOMigration *mig)
{
    ssize_t n = 0;

    if (vfio_mig_gone(mig)) {
        return -ENODEV;
    }
    if (vfio_mig_precopy(mig) && mig->data_fd >= 0) {
        n = vfio_save_chunk(mig, f);
        if (n < 0) {
            vfio_mig_report(mig, "cannot read its pre-copy data", n);
            return n;
        }
        mig->precopy_bytes += n;
        mig->precopy_ready -= MIN(mig->precopy_ready, n);
    }
    qemu_put_be64(f, VFIO_MIG_PRECOPY_END);
    trace_vfio_save_iterate(mig->vbasedev->name, n, mig->precopy_bytes);
    /* 1: this round is done for the device, the next handler may go */
    return n && mig->precopy_ready ? 0 : 1;
}

static int vfio_save_iterate(QEMUFile *f, void *opaque)
{
    bool taken = vfio_mig_lock();
    int ret = vfio_save_iterate_locked(f, opaque);

    vfio_mig_unlock(taken);
    return ret;
}

/* The VM is stopped, the device in STOP_COPY: the rest of its state */
static int vfio_save_complete(QEMUFile *f, void *opaque)
{
    VFIOMigration *mig = opaque;
    ssize_t n;
    int ret;

    if (vfio_mig_gone(mig)) {
        return -ENODEV;
    }
    if (mig->session_lost) {
        error_report(VFIO_MSG_PREFIX "cannot migrate: the VM ran again after "
                     "the device's state was being copied",
                     mig->vbasedev->name);
        return -EINVAL;
    }
    /* savevm stops the VM without FINISH_MIGRATE: STOP_COPY from STOP */
    if (mig->state != VFIO_DEVICE_STATE_STOP_COPY) {
        ret = vfio_mig_set_state(mig, VFIO_DEVICE_STATE_STOP_COPY);
        if (ret) {
            vfio_mig_report(mig, "cannot enter STOP_COPY", ret);
            return ret;
        }
    }
    while ((n = vfio_save_chunk(mig, f)) > 0) {
        mig->stopcopy_bytes += n;
    }
    if (n < 0) {
        vfio_mig_report(mig, "cannot read its state", n);
        return n;
    }
    qemu_put_be64(f, VFIO_MIG_COMPLETE_END);
    trace_vfio_save_complete(mig->vbasedev->name, mig->precopy_bytes,
                             mig->stopcopy_bytes);

    ret = vfio_mig_set_state(mig, VFIO_DEVICE_STATE_STOP);
    if (ret) {
        vfio_mig_report(mig, "cannot leave STOP_COPY", ret);
        return ret;
    }
    return qemu_file_get_error(f);
}

static void vfio_save_cleanup(void *opaque)
{
    VFIOMigration *mig = opaque;

    g_clear_pointer(&mig->buffer, g_free);
    if (!vfio_mig_state_has_data(mig->state)) {
        vfio_mig_close_data(mig);
    }
}

/*
 * Loading
 */
static int vfio_load_setup(QEMUFile *f, void *opaque)
{
    VFIOMigration *mig = opaque;
    int ret;

    mig->buffer = g_malloc(VFIO_MIG_BUFFER_SIZE);
    ret = vfio_mig_set_state(mig, VFIO_DEVICE_STATE_RESUMING);
    if (ret) {
        vfio_mig_report(mig, "cannot enter RESUMING", ret);
    }
    return ret;
}

static int vfio_load_write(VFIOMigration *mig, size_t len)
{
    size_t done = 0;
    ssize_t n;

    while (done < len) {
        n = write(mig->data_fd, mig->buffer + done, len - done);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return n < 0 ? -errno : -EIO;
        }
        done += n;
    }
    return 0;
}

/* One chunk of the stream into the device's data fd */
static int vfio_load_chunk(VFIOMigration *mig, QEMUFile *f)
{
    uint64_t len = qemu_get_be64(f);
    size_t piece;
    int ret;

    if (mig->state != VFIO_DEVICE_STATE_RESUMING || mig->data_fd < 0) {
        error_report(VFIO_MSG_PREFIX "migration data for the device in %s "
                     "(data fd %d)", mig->vbasedev->name,
                     vfio_mig_state_name(mig->state), mig->data_fd);
        return -EINVAL;
    }
    while (len) {
        piece = MIN(len, VFIO_MIG_BUFFER_SIZE);
        if (qemu_get_buffer(f, mig->buffer, piece) != piece) {
            return qemu_file_get_error(f) ?: -EIO;
        }
        ret = vfio_load_write(mig, piece);
        if (ret) {
            vfio_mig_report(mig, "the device refused its migration data",
                             ret);
            return ret;
        }
        len -= piece;
    }
    return 0;
}

static int vfio_load_state(QEMUFile *f, void *opaque, int version_id)
{
    VFIOMigration *mig = opaque;
    uint64_t marker;
    int ret;

    for (;;) {
        marker = qemu_get_be64(f);
        ret = qemu_file_get_error(f);
        if (ret) {
            return ret;
        }
        switch (marker) {
        case VFIO_MIG_CHUNK:
            ret = vfio_load_chunk(mig, f);
            if (ret) {
                return ret;
            }
            break;
        case VFIO_MIG_PRECOPY_END:
            return 0;
        case VFIO_MIG_COMPLETE_END:
            /* Leaving RESUMING is where the device takes the state in */
            ret = vfio_mig_set_state(mig, VFIO_DEVICE_STATE_STOP);
            if (ret) {
                vfio_mig_report(mig, "the device refused its migrated "
                                 "state", ret);
            }
            trace_vfio_load_complete(mig->vbasedev->name, ret);
            return ret;
        default:
            error_report(VFIO_MSG_PREFIX "unknown marker 0x%" PRIx64 " in "
                         "the migration stream", mig->vbasedev->name, marker);
            return -EINVAL;
        }
    }
}

static int vfio_load_cleanup(void *opaque)
{
    VFIOMigration *mig = opaque;

    g_clear_pointer(&mig->buffer, g_free);
    vfio_mig_close_data(mig);
    /* A load that failed leaves RESUMING open: only a reset ends it */
    if (mig->state == VFIO_DEVICE_STATE_RESUMING && !vfio_mig_reset(mig)) {
        error_report(VFIO_MSG_PREFIX "cannot reset the device out of an "
                     "incomplete RESUMING: %m", mig->vbasedev->name);
    }
    return 0;
}

static const SaveVMHandlers vfio_savevm_handlers = {
    .save_setup = vfio_save_setup,
    .save_live_pending = vfio_save_pending,
    .save_live_iterate = vfio_save_iterate,
    .save_live_complete_precopy = vfio_save_complete,
    .save_cleanup = vfio_save_cleanup,
    .load_setup = vfio_load_setup,
    .load_state = vfio_load_state,
    .load_cleanup = vfio_load_cleanup,
};

/*
 * Realize and exit
 */
static char *vfio_driver_name(VFIODevice *vbasedev)
{
    char *driver = vfio_sysfs_link_name(vbasedev->sysfsdev, "driver");

    return driver ? driver : g_strdup("unknown");
}

/* Why @vbasedev cannot migrate, or NULL with its migration flags */
static char *vfio_migration_unsupported(VFIODevice *vbasedev,
                                        uint64_t *flags)
{
    struct vfio_device_feature_migration mig = { 0 };
    g_autofree char *driver = NULL;
    int ret;

    if (vbasedev->enable_migration == ON_OFF_AUTO_OFF) {
        return g_strdup("migration is off (enable-migration=off)");
    }
    /* Dirty pages would be logged by IOVA, and the guest's IOVA is not RAM */
    if (vfio_viommu_present(vbasedev->container->as)) {
        return g_strdup("it is behind a guest IOMMU, through which its "
                        "writes to guest RAM are not tracked");
    }
    ret = vfio_device_feature(vbasedev, VFIO_DEVICE_FEATURE_GET |
                              VFIO_DEVICE_FEATURE_MIGRATION,
                              &mig, sizeof(mig));
    if (ret) {
        driver = vfio_driver_name(vbasedev);
        return g_strdup_printf("its host driver (%s) does not support VFIO "
                               "migration (%s)", driver, strerror(-ret));
    }
    if (!(mig.flags & VFIO_MIGRATION_STOP_COPY)) {
        return g_strdup_printf("the device offers no STOP_COPY state "
                               "(migration flags 0x%llx)", mig.flags);
    }
    vbasedev->dma_logging = vbasedev->device_dirty_page_tracking &&
        !vfio_device_feature(vbasedev, VFIO_DEVICE_FEATURE_PROBE |
                             VFIO_DEVICE_FEATURE_DMA_LOGGING_START, NULL, 0);
    if (!vbasedev->dma_logging &&
        !vfio_container_tracks_dirty(vbasedev->container)) {
        if (!vbasedev->device_dirty_page_tracking) {
            return g_strdup_printf("the %s IOMMU backend cannot track the "
                                   "pages the device writes, and "
                                   "x-device-dirty-page-tracking=off keeps "
                                   "the device from logging them",
                                   vbasedev->ops->name);
        }
        return g_strdup_printf("neither the %s IOMMU backend nor the device "
                               "can track the pages the device writes",
                               vbasedev->ops->name);
    }
    *flags = mig.flags;
    return NULL;
}

/*
 * The state an earlier user left (a QEMU that died RESUMING, say): the
 * device starts in RUNNING, through a reset if it must.  False when it
 * cannot be brought there.  Nothing waits for the maps: no guest has
 * set Bus Master Enable on it yet, and the write that does waits.
 */
static bool vfio_migration_start_running(VFIOMigration *mig)
{
    mig->state = vfio_mig_read_state(mig);
    if (mig->state == VFIO_DEVICE_STATE_RUNNING) {
        return true;
    }
    trace_vfio_mig_found_state(mig->vbasedev->name,
                               vfio_mig_state_name(mig->state));
    if (mig->state != VFIO_DEVICE_STATE_RESUMING &&
        mig->state != VFIO_DEVICE_STATE_ERROR &&
        !vfio_mig_enter(mig, VFIO_DEVICE_STATE_RUNNING)) {
        return true;
    }
    return vfio_mig_reset(mig);
}

static void vfio_migration_init(VFIODevice *vbasedev, uint64_t flags)
{
    VFIOMigration *mig = g_new0(VFIOMigration, 1);
    g_autofree char *oid = vmstate_if_get_id(VMSTATE_IF(vbasedev->dev));
    g_autofree char *idstr = g_strdup_printf("%s%svfio", oid ? oid : "",
                                             oid ? "/" : "");

    mig->vbasedev = vbasedev;
    mig->idstr = g_steal_pointer(&idstr);
    mig->flags = flags;
    mig->data_fd = -1;
    register_savevm_live(mig->idstr, VMSTATE_INSTANCE_ID_ANY, 1,
                         &vfio_savevm_handlers, mig);
    mig->vm_state = qemu_add_vm_change_state_handler_prio(vfio_mig_vm_state,
                                                          mig, VFIO_MIG_PRIO);
    mig->vm_state_p2p = qemu_add_vm_change_state_handler_prio(
        vfio_mig_vm_state_p2p, mig, VFIO_MIG_PRIO_P2P);
    mig->migration_state.notify = vfio_mig_state_notify;
    add_migration_state_change_notifier(&mig->migration_state);
    vbasedev->migration = mig;
    vfio_migratable_devices++;
    trace_vfio_migration_init(vbasedev->name, flags, vbasedev->dma_logging);
}

bool vfio_migration_realize(VFIODevice *vbasedev, Error **errp)
{
    g_autofree char *reason = NULL;
    uint64_t flags = 0;

    reason = vfio_migration_unsupported(vbasedev, &flags);
    if (!reason) {
        vfio_migration_init(vbasedev, flags);
        if (vfio_migration_start_running(vbasedev->migration)) {
            return true;
        }
        reason = g_strdup_printf("the device is in %s and cannot be taken "
                                 "to RUNNING, not even by a reset",
                                 vfio_mig_state_name(
                                     vbasedev->migration->state));
        vfio_migration_exit(vbasedev);
    }
    trace_vfio_migration_blocked(vbasedev->name, reason);
    if (vbasedev->enable_migration == ON_OFF_AUTO_ON) {
        error_setg(errp, "cannot migrate (enable-migration=on): %s", reason);
        error_append_hint(errp, "With enable-migration=auto the VM runs, "
                          "and migration is blocked.\n");
        return false;
    }
    error_setg(&vbasedev->migration_blocker, VFIO_MSG_PREFIX "cannot "
               "migrate: %s", vbasedev->name, reason);
    if (migrate_add_blocker(vbasedev->migration_blocker, errp) < 0) {
        g_clear_pointer(&vbasedev->migration_blocker, error_free);
        return false;
    }
    return true;
}

void vfio_migration_exit(VFIODevice *vbasedev)
{
    VFIOMigration *mig = vbasedev->migration;

    if (vbasedev->migration_blocker) {
        migrate_del_blocker(vbasedev->migration_blocker);
        g_clear_pointer(&vbasedev->migration_blocker, error_free);
    }
    if (!mig) {
        return;
    }
    qemu_del_vm_change_state_handler(mig->vm_state_p2p);
    qemu_del_vm_change_state_handler(mig->vm_state);
    vbasedev->migration = NULL;
    vfio_migratable_devices--;
    if (migration_is_running(migrate_get_current()->state)) {
        error_report(VFIO_MSG_PREFIX "the device was removed while a "
                     "migration ran: the migration fails", vbasedev->name);
        vfio_mig_fail_migration(-ENODEV);
        vfio_mig_close_data(mig);
        mig->vbasedev = NULL;
        return;
    }
    vfio_mig_free(mig);
}
