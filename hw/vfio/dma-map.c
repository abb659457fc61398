/*
 * VFIO: the DMA maps of a container, as the host IOMMU holds them
 *
 * Each map the listener or the RAM-discard step makes is kept by its
 * IOVA with its size, so that it is undone exactly as it was made (the
 * backends refuse an unmap that splits a map), and so that the dirty
 * pages of each can be asked for.
 *
 * Pinning guest RAM is most of a VM's start with an assigned device (the
 * kernel faults in and pins every page, about 0.6 s per GiB), so large
 * RAM maps are made by a worker thread while the VM goes on booting.
 * The worker takes every later map and unmap in order behind them; a
 * device cannot DMA before they are done because anything that lets it
 * reach memory (Bus Master Enable, a migrated device resuming, a dirty
 * page query) first waits for the queue.  On iommufd, which pins
 * disjoint maps at once, a large map is made in slices from a few threads.
 *
 * Until the machine's first reset its memory is not yet as the guest
 * sees it (q35 cuts RAM around its PAM and SMRAM windows then): the
 * worker holds what is queued until the main loop runs, and an unmap
 * cancels a map not started, so that RAM is pinned once, not twice.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"

#include "hw/vfio/vfio-common.h"
#include "exec/address-spaces.h"
#include "exec/cpu-common.h"
#include "qemu/error-report.h"
#include "sysemu/hostmem.h"
#include "qemu/main-loop.h"
#include "qemu/thread.h"
#include "qemu/timer.h"
#include "qemu/units.h"
#include "sysemu/sysemu.h"
#include "hw/qdev-core.h"
#include "trace.h"

/* RAM this large is pinned in the background and split among threads */
#define VFIO_DMA_BACKGROUND_MIN (64 * MiB)
#define VFIO_DMA_CHUNK_MIN      (256 * MiB)
#define VFIO_DMA_THREADS_MAX    4

/* Guest RAM to map: where QEMU has it, and where its file has it */
typedef struct VFIODMARam {
    void *vaddr;                /* NULL for an unmap */
    bool readonly;
    uint64_t pgsize;            /* of its pages */
    int fd;                     /* a memory backend's shared file, or -1 */
    uint64_t fd_start;          /* where vaddr is in it */
} VFIODMARam;

typedef struct VFIODMAOp {
    QSIMPLEQ_ENTRY(VFIODMAOp) next;
    hwaddr iova;
    uint64_t size;
    VFIODMARam ram;
    MemoryRegion *mr;           /* referenced until retired: RAM stays */
    bool running;               /* the worker has it: it cannot be cancelled */
    bool dropped;               /* unmapped before done: a failure is moot */
    int ret;
} VFIODMAOp;

struct VFIODMAWorker {
    QemuThread thread;
    QemuMutex lock;
    QemuCond cond;              /* an op queued, done, or the end asked */
    QSIMPLEQ_HEAD(, VFIODMAOp) queue;   /* in order; the head runs */
    QSIMPLEQ_HEAD(, VFIODMAOp) done;    /* for the main loop to retire */
    GHashTable *failed;         /* the worker's: iovas whose map failed */
    QEMUBH *retire_bh;
    Notifier machine_done;
    bool held;                  /* the machine is not laid out yet */
    bool exit;
};

/*
 * Pinning in parallel
 */
typedef struct VFIODMAChunk {
    VFIOContainer *container;
    hwaddr iova;
    uint64_t size;
    const VFIODMARam *ram;      /* of the whole map, from ram_iova on */
    hwaddr ram_iova;
    uint64_t slice;             /* what one map of it is at most */
    uint64_t done;              /* from iova on: mapped */
    QemuThread thread;
    int ret;
} VFIODMAChunk;

/*
 * Pinning holds the process's mmap lock, for which every mmap() and brk()
 * of QEMU's other threads waits, and iommufd holds it across a whole map:
 * slices of a chunk, each a map of its own, keep that wait to one slice.
 * A slice is never smaller than the RAM's pages, whose IOMMU mappings
 * cannot cross from one map to the next.
 */
#define VFIO_DMA_SLICE          (16 * MiB)

/*
 * A memory backend's shared file (memfd, hugetlbfs) is mapped by the file
 * where the kernel can (IOMMU_IOAS_MAP_FILE), pinning its folios without
 * walking QEMU's page tables; else, and for what the file map refuses
 * (a file it cannot pin), by QEMU's address.
 */
static int vfio_dma_slice(VFIODMAChunk *c, hwaddr at, uint64_t len)
{
    const VFIOIOMMUOps *ops = c->container->ops;
    const VFIODMARam *ram = c->ram;
    IOMMUAccessFlags perm = ram->readonly ? IOMMU_RO : IOMMU_RW;
    uint64_t off = at - c->ram_iova;
    int ret;

    if (ram->fd >= 0 && ops->dma_map_file) {
        ret = ops->dma_map_file(c->container, at, len, ram->fd,
                                ram->fd_start + off, perm);
        if (ret != -ENOTTY && ret != -EINVAL && ret != -EOPNOTSUPP) {
            return ret;
        }
    }
    return ops->dma_map(c->container, at, len, ram->vaddr + off, perm);
}

static void *vfio_dma_chunk_run(void *opaque)
{
    VFIODMAChunk *c = opaque;
    hwaddr at, end;

    for (c->done = 0; c->done < c->size; c->done = end - c->iova) {
        at = c->iova + c->done;
        end = MIN(ROUND_DOWN(at + c->slice, c->slice), c->iova + c->size);
        c->ret = vfio_dma_slice(c, at, end - at);
        if (c->ret) {
            break;
        }
    }
    return NULL;
}

/*
 * How many threads pin a map of @size: one per 256 MiB, and one CPU left
 * to the VM, whose start and boot go on meanwhile (on a 2-vCPU rig, two
 * pinning threads took 1.26x the CPU time and left the map no shorter:
 * bench/results-pin-notes.md).
 */
static int vfio_dma_threads(uint64_t size)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);

    return MAX(1, MIN(MIN(cpus - 1, VFIO_DMA_THREADS_MAX),
                      size / VFIO_DMA_CHUNK_MIN));
}

/* Cuts [@iova, @iova + @size) into @n chunks of whole slices */
static void vfio_dma_chunks(VFIOContainer *container, hwaddr iova,
                            uint64_t size, const VFIODMARam *ram,
                            VFIODMAChunk *chunks, int n)
{
    uint64_t slice = MAX(VFIO_DMA_SLICE, ram->pgsize);
    hwaddr start = iova, end;
    int i;

    for (i = 0; i < n; i++) {
        end = i == n - 1 ? iova + size :
              MIN(ROUND_UP(iova + size / n * (i + 1), slice), iova + size);
        chunks[i] = (VFIODMAChunk) {
            .container = container,
            .iova = start,
            .size = end - start,
            .ram = ram,
            .ram_iova = iova,
            .slice = slice,
        };
        start = end;
    }
}

/* Runs every chunk, the first in this thread; the first error, or 0 */
static int vfio_dma_chunks_run(VFIODMAChunk *chunks, int n)
{
    int i, ret = 0;

    for (i = 1; i < n; i++) {
        qemu_thread_create(&chunks[i].thread, "vfio-pin", vfio_dma_chunk_run,
                           &chunks[i], QEMU_THREAD_JOINABLE);
    }
    vfio_dma_chunk_run(&chunks[0]);
    for (i = 1; i < n; i++) {
        qemu_thread_join(&chunks[i].thread);
    }
    for (i = 0; i < n && !ret; i++) {
        ret = chunks[i].ret;
    }
    return ret;
}

/*
 * Cuts the map into slices, each a map of its own, made from @n threads;
 * a failure undoes the ones that took.
 */
static int vfio_dma_map_sliced(VFIOContainer *container, hwaddr iova,
                               uint64_t size, const VFIODMARam *ram, int n)
{
    g_autofree VFIODMAChunk *chunks = g_new(VFIODMAChunk, n);
    int i, ret;

    vfio_dma_chunks(container, iova, size, ram, chunks, n);
    ret = vfio_dma_chunks_run(chunks, n);
    for (i = 0; ret && i < n; i++) {
        if (chunks[i].done) {
            container->ops->dma_unmap(container, chunks[i].iova,
                                      chunks[i].done);
        }
    }
    return ret;
}

/*
 * Makes one map of guest RAM.  Where the backend pins maps at once
 * (iommufd), it is sliced, from several threads; the unmap of the whole
 * still takes them all.  type1 holds one lock across a map: its map is
 * made whole (faulting the pages in from other threads first, with
 * MADV_POPULATE_WRITE, was measured slower: bench/results-pin-notes.md).
 */
static int vfio_dma_pin(VFIOContainer *container, hwaddr iova, uint64_t size,
                        const VFIODMARam *ram)
{
    int n = container->ops->pins_in_parallel ? vfio_dma_threads(size) : 1;
    int64_t start = get_clock();
    int ret;

    if (container->ops->pins_in_parallel) {
        ret = vfio_dma_map_sliced(container, iova, size, ram, n);
    } else {
        ret = container->ops->dma_map(container, iova, size, ram->vaddr,
                                      ram->readonly ? IOMMU_RO : IOMMU_RW);
    }
    trace_vfio_dma_pinned(iova, size, n, (get_clock() - start) / SCALE_MS,
                          ret);
    if (!ret) {
        trace_vfio_dma_map(container->ops->name, iova, size, ram->vaddr,
                           ram->readonly);
    }
    return ret;
}

/*
 * The worker
 */
static void vfio_dma_op_run(VFIOContainer *container, VFIODMAOp *op)
{
    GHashTable *failed = container->dma_worker->failed;

    if (op->ram.vaddr) {
        op->ret = vfio_dma_pin(container, op->iova, op->size, &op->ram);
        if (op->ret) {
            g_hash_table_add(failed, g_memdup2(&op->iova, sizeof(hwaddr)));
        } else {
            g_hash_table_remove(failed, &op->iova);
        }
    } else if (!g_hash_table_remove(failed, &op->iova)) {
        trace_vfio_dma_unmap(container->ops->name, op->iova, op->size);
        op->ret = container->ops->dma_unmap(container, op->iova, op->size);
    }
}

static void *vfio_dma_worker_run(void *opaque)
{
    VFIOContainer *container = opaque;
    VFIODMAWorker *w = container->dma_worker;
    VFIODMAOp *op;

    qemu_mutex_lock(&w->lock);
    for (;;) {
        while ((QSIMPLEQ_EMPTY(&w->queue) || w->held) && !w->exit) {
            qemu_cond_wait(&w->cond, &w->lock);
        }
        op = QSIMPLEQ_FIRST(&w->queue);
        if (!op) {
            break;
        }
        op->running = true;
        qemu_mutex_unlock(&w->lock);
        vfio_dma_op_run(container, op);
        qemu_mutex_lock(&w->lock);
        QSIMPLEQ_REMOVE_HEAD(&w->queue, next);
        QSIMPLEQ_INSERT_TAIL(&w->done, op, next);
        qemu_cond_broadcast(&w->cond);
        qemu_bh_schedule(w->retire_bh);
    }
    qemu_mutex_unlock(&w->lock);
    return NULL;
}

/*
 * On the main loop: a map that failed is no map (unless it was undone
 * already), and the VM cannot run on with RAM its devices cannot reach.
 */
static void vfio_dma_op_retire(VFIOContainer *container, VFIODMAOp *op)
{
    if (op->ret && op->ram.vaddr && !op->dropped) {
        g_hash_table_remove(container->mappings, &op->iova);
        container->map_failed(container, op->iova, op->size, op->ret,
                              memory_region_name(op->mr));
    } else if (op->ret && !op->ram.vaddr) {
        error_report("vfio: failed to unmap [0x%" HWADDR_PRIx " - 0x%"
                     HWADDR_PRIx "] (%s): %s", op->iova,
                     op->iova + op->size - 1, container->ops->name,
                     strerror(-op->ret));
    }
    if (op->mr) {
        memory_region_unref(op->mr);
    }
    g_free(op);
}

/*
 * On the main loop, which first runs after the machine's first reset:
 * the maps that are done are retired, and the worker starts if held.
 */
static void vfio_dma_retire(void *opaque)
{
    VFIOContainer *container = opaque;
    VFIODMAWorker *w = container->dma_worker;
    QSIMPLEQ_HEAD(, VFIODMAOp) done = QSIMPLEQ_HEAD_INITIALIZER(done);
    VFIODMAOp *op;

    qemu_mutex_lock(&w->lock);
    w->held = false;
    qemu_cond_broadcast(&w->cond);
    QSIMPLEQ_CONCAT(&done, &w->done);
    qemu_mutex_unlock(&w->lock);
    while ((op = QSIMPLEQ_FIRST(&done))) {
        QSIMPLEQ_REMOVE_HEAD(&done, next);
        vfio_dma_op_retire(container, op);
    }
}

/* Fires before the machine's first reset: the main loop comes after it */
static void vfio_dma_machine_done(Notifier *n, void *data)
{
    VFIODMAWorker *w = container_of(n, VFIODMAWorker, machine_done);

    qemu_bh_schedule(w->retire_bh);
}

static VFIODMAWorker *vfio_dma_worker(VFIOContainer *container)
{
    VFIODMAWorker *w = container->dma_worker;

    if (w) {
        return w;
    }
    w = container->dma_worker = g_new0(VFIODMAWorker, 1);
    qemu_mutex_init(&w->lock);
    qemu_cond_init(&w->cond);
    QSIMPLEQ_INIT(&w->queue);
    QSIMPLEQ_INIT(&w->done);
    w->failed = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free,
                                      NULL);
    w->retire_bh = qemu_bh_new(vfio_dma_retire, container);
    if (!phase_check(PHASE_MACHINE_READY)) {
        w->held = true;
        w->machine_done.notify = vfio_dma_machine_done;
        qemu_add_machine_init_done_notifier(&w->machine_done);
    }
    qemu_thread_create(&w->thread, "vfio-dma", vfio_dma_worker_run,
                       container, QEMU_THREAD_JOINABLE);
    return w;
}

static bool vfio_dma_busy(VFIOContainer *container)
{
    VFIODMAWorker *w = container->dma_worker;
    bool busy;

    if (!w) {
        return false;
    }
    qemu_mutex_lock(&w->lock);
    busy = !QSIMPLEQ_EMPTY(&w->queue);
    qemu_mutex_unlock(&w->lock);
    return busy;
}

static void vfio_dma_queue(VFIOContainer *container, VFIODMAOp *op)
{
    VFIODMAWorker *w = vfio_dma_worker(container);

    trace_vfio_dma_queue(op->ram.vaddr ? "map" : "unmap", op->iova,
                         op->size);
    qemu_mutex_lock(&w->lock);
    QSIMPLEQ_INSERT_TAIL(&w->queue, op, next);
    qemu_cond_broadcast(&w->cond);
    qemu_mutex_unlock(&w->lock);
}

/*
 * A queued map of @iova is being undone: one the worker has not started
 * is cancelled (true: no unmap to make); the failure of one it has will
 * not matter.
 */
static bool vfio_dma_drop(VFIOContainer *container, hwaddr iova)
{
    VFIODMAWorker *w = container->dma_worker;
    VFIODMAOp *op, *cancelled = NULL;

    qemu_mutex_lock(&w->lock);
    QSIMPLEQ_FOREACH(op, &w->queue, next) {
        if (op->ram.vaddr && op->iova == iova) {
            op->dropped = true;
            cancelled = op->running ? NULL : op;
        }
    }
    if (cancelled) {
        QSIMPLEQ_REMOVE(&w->queue, cancelled, VFIODMAOp, next);
    }
    QSIMPLEQ_FOREACH(op, &w->done, next) {
        if (op->ram.vaddr && op->iova == iova) {
            op->dropped = true;
        }
    }
    qemu_mutex_unlock(&w->lock);
    if (cancelled) {
        trace_vfio_dma_cancel(iova, cancelled->size);
        vfio_dma_op_retire(container, cancelled);
    }
    return cancelled;
}

void vfio_container_dma_wait(VFIOContainer *container)
{
    VFIODMAWorker *w = container ? container->dma_worker : NULL;
    int64_t start = get_clock();
    bool waited = false;

    if (!w) {
        return;
    }
    qemu_mutex_lock(&w->lock);
    w->held = false;
    qemu_cond_broadcast(&w->cond);
    while (!QSIMPLEQ_EMPTY(&w->queue)) {
        waited = true;
        qemu_cond_wait(&w->cond, &w->lock);
    }
    qemu_mutex_unlock(&w->lock);
    vfio_dma_retire(container);
    if (waited) {
        trace_vfio_dma_wait(container->ops->name,
                            (get_clock() - start) / SCALE_MS);
    }
}

void vfio_container_dma_finish(VFIOContainer *container)
{
    VFIODMAWorker *w = container->dma_worker;

    if (!w) {
        return;
    }
    vfio_container_dma_wait(container);
    qemu_mutex_lock(&w->lock);
    w->exit = true;
    qemu_cond_broadcast(&w->cond);
    qemu_mutex_unlock(&w->lock);
    qemu_thread_join(&w->thread);
    if (w->machine_done.notify) {
        notifier_remove(&w->machine_done);
    }
    qemu_bh_delete(w->retire_bh);
    g_hash_table_destroy(w->failed);
    qemu_cond_destroy(&w->cond);
    qemu_mutex_destroy(&w->lock);
    g_clear_pointer(&container->dma_worker, g_free);
}

/*
 * The maps
 */
static void vfio_mapping_add(VFIOContainer *container, hwaddr iova,
                             uint64_t size)
{
    g_hash_table_insert(container->mappings, g_memdup2(&iova, sizeof(iova)),
                        g_memdup2(&size, sizeof(size)));
}

/* Made here, the worker idle: a failure it kept of @iova is past */
static int vfio_mapping_made(VFIOContainer *container, hwaddr iova,
                             uint64_t size, int ret)
{
    if (ret) {
        return ret;
    }
    if (container->dma_worker) {
        g_hash_table_remove(container->dma_worker->failed, &iova);
    }
    vfio_mapping_add(container, iova, size);
    return 0;
}

int vfio_container_dma_map(VFIOContainer *container, hwaddr iova,
                           uint64_t size, void *vaddr, bool readonly)
{
    int ret;

    vfio_container_dma_wait(container);
    ret = container->ops->dma_map(container, iova, size, vaddr,
                                  readonly ? IOMMU_RO : IOMMU_RW);
    if (!ret) {
        trace_vfio_dma_map(container->ops->name, iova, size, vaddr, readonly);
    }
    return vfio_mapping_made(container, iova, size, ret);
}

/*
 * Where the kernel may pin @vaddr of @mr by its file: a memory backend's
 * (mapped whole from the file's start), shared (a private mapping's pages
 * are copies, not the file's).
 */
static void vfio_dma_ram(VFIODMARam *ram, MemoryRegion *mr, void *vaddr,
                         bool readonly)
{
    RAMBlock *rb = mr->ram_block;
    Object *owner = memory_region_owner(mr);

    ram->vaddr = vaddr;
    ram->readonly = readonly;
    ram->pgsize = qemu_ram_pagesize(rb);
    ram->fd = -1;
    if (owner && object_dynamic_cast(owner, TYPE_MEMORY_BACKEND) &&
        qemu_ram_is_shared(rb)) {
        ram->fd = qemu_ram_get_fd(rb);
        ram->fd_start = vaddr - qemu_ram_get_host_addr(rb);
    }
}

/*
 * Guest RAM of @mr: a large map, or any behind one still running, goes
 * to the worker (without a guest IOMMU, whose maps the guest drives);
 * its failure is told later through container->map_failed.
 */
int vfio_container_dma_map_ram(VFIOContainer *container, hwaddr iova,
                               uint64_t size, void *vaddr, bool readonly,
                               MemoryRegion *mr)
{
    VFIODMAOp *op;
    VFIODMARam ram;
    int ret;

    vfio_dma_ram(&ram, mr, vaddr, readonly);
    if (container->as != &address_space_memory ||
        (size < VFIO_DMA_BACKGROUND_MIN && !vfio_dma_busy(container))) {
        vfio_container_dma_wait(container);
        ret = vfio_dma_pin(container, iova, size, &ram);
        return vfio_mapping_made(container, iova, size, ret);
    }
    op = g_new0(VFIODMAOp, 1);
    op->iova = iova;
    op->size = size;
    op->ram = ram;
    op->mr = mr;
    memory_region_ref(mr);
    vfio_mapping_add(container, iova, size);
    vfio_dma_queue(container, op);
    return 0;
}

/*
 * A range whose map failed was never there: that is no error.  Behind
 * maps still running, the unmap is queued after them (the worker knows
 * which of them failed); else it is made here.
 */
int vfio_container_dma_unmap(VFIOContainer *container, hwaddr iova)
{
    const uint64_t *mapped;
    VFIODMAOp *op;
    uint64_t size;

    if (!vfio_dma_busy(container)) {
        vfio_container_dma_wait(container);
    }
    mapped = g_hash_table_lookup(container->mappings, &iova);
    if (!mapped) {
        return 0;
    }
    size = *mapped;
    g_hash_table_remove(container->mappings, &iova);
    if (vfio_dma_busy(container)) {
        if (vfio_dma_drop(container, iova)) {
            return 0;
        }
        op = g_new0(VFIODMAOp, 1);
        op->iova = iova;
        op->size = size;
        vfio_dma_queue(container, op);
        return 0;
    }
    trace_vfio_dma_unmap(container->ops->name, iova, size);
    return container->ops->dma_unmap(container, iova, size);
}
