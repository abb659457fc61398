/*
 * vfio based device assignment support - the device's own display
 *
 * A vGPU (a mediated device with a screen) offers its screen through
 * VFIO_DEVICE_QUERY_GFX_PLANE: as a region of the device that holds the
 * framebuffer (the mdpy sample), or as a dma-buf (mbochs, i915's GVT-g).
 * With display=on QEMU shows it on a console of its own.  A region is
 * mmap'd and becomes the console's surface.  A dma-buf goes to the UI's
 * OpenGL where QEMU runs one; without it, a linear dma-buf is mmap'd and
 * shown like a region.  An EDID region carries the console's size to the
 * guest (xres/yres, then every resize of the UI's window), and ramfb gives
 * the firmware a screen until the guest's driver sets up the device's.
 *
 * A host driver's numbers are checked before the UI reads through them:
 * a plane must fit in what holds it.
 *
 * This work is licensed under the terms of the GNU GPL, version 2.  See
 * the COPYING file in the top-level directory.
 *
 * SPDX-License-Identifier: GPL-2.0-only
 */

#include "qemu/osdep.h"
#include <sys/ioctl.h>

#include "hw/display/edid.h"
#include "hw/display/ramfb.h"
#include "hw/vfio/pci-device.h"
#include "qapi/error.h"
#include "qemu/error-report.h"
#include "qemu/timer.h"
#include "sysemu/sysemu.h"
#include "ui/console.h"
#include "trace.h"

/* The kernel's enum drm_plane_type */
#define VFIO_DRM_PLANE_PRIMARY  1
#define VFIO_DRM_PLANE_CURSOR   2

/* DRM_FORMAT_MOD_LINEAR: the only layout a CPU can read as rows */
#define VFIO_DRM_MOD_LINEAR     0

/* Larger than any display a UI shows; keeps width * stride in range */
#define VFIO_DISPLAY_MAX_DIM    16384

/* Unused dma-bufs kept, as a guest flips between a few framebuffers */
#define VFIO_DMABUF_CACHE       4

/* How long the monitor looks unplugged when its EDID changes */
#define VFIO_EDID_LINK_DOWN_MS  100

typedef struct VFIODMABuf {
    QemuDmaBuf buf;
    uint32_t id;
    void *map;                    /* without OpenGL: the dma-buf, mmap'd */
    size_t map_size;
    bool unshowable;              /* kept, so as not to ask for it again */
    QTAILQ_ENTRY(VFIODMABuf) next;
} VFIODMABuf;

typedef struct VFIOEdid {
    off_t fd_offset;              /* of the EDID region in the device fd */
    struct vfio_region_gfx_edid regs;
    uint8_t *blob;                /* regs.edid_max_size bytes */
    uint32_t xres, yres;          /* what the guest was last told */
    QEMUTimer *link_up;
} VFIOEdid;

struct VFIODisplay {
    VFIOPCIDevice *vdev;
    GraphicHwOps ops;
    QemuConsole *con;
    RAMFBState *ramfb;
    bool dmabuf;                  /* planes come as dma-bufs, not a region */
    bool gl;                      /* ... shown through the UI's OpenGL */
    bool bad_plane_said;
    /* The plane on screen, and what holds it */
    struct vfio_device_gfx_plane_info shown;
    void *region_map;
    size_t region_map_size;
    QTAILQ_HEAD(, VFIODMABuf) dmabufs;
    VFIODMABuf *primary;
    VFIODMABuf *cursor;
    VFIOEdid *edid;
};

static bool vfio_display_query_once(VFIODisplay *dpy, uint32_t flags,
                                    uint32_t plane_type,
                                    struct vfio_device_gfx_plane_info *plane)
{
    memset(plane, 0, sizeof(*plane));
    plane->argsz = sizeof(*plane);
    plane->flags = flags;
    plane->drm_plane_type = plane_type;
    return !ioctl(dpy->vdev->vbasedev.fd, VFIO_DEVICE_QUERY_GFX_PLANE, plane);
}

/*
 * A driver may make a new mode's buffer at the first query and fail it
 * (the mbochs sample answers ENOMEM, then has it): asked twice, the
 * update shows the mode at once rather than one update late.
 */
static bool vfio_display_query(VFIODisplay *dpy, uint32_t flags,
                               uint32_t plane_type,
                               struct vfio_device_gfx_plane_info *plane)
{
    return vfio_display_query_once(dpy, flags, plane_type, plane) ||
           (!(flags & VFIO_GFX_PLANE_TYPE_PROBE) &&
            vfio_display_query_once(dpy, flags, plane_type, plane));
}

/* A plane with nothing on it: the guest's driver has not set a mode yet */
static bool vfio_plane_present(const struct vfio_device_gfx_plane_info *p)
{
    return p->drm_format && p->size;
}

static void vfio_display_bad_plane(VFIODisplay *dpy,
                                   const struct vfio_device_gfx_plane_info *p,
                                   uint64_t room, const char *why)
{
    trace_vfio_display_bad_plane(dpy->vdev->vbasedev.name, p->drm_format,
                                 p->width, p->height, p->stride, p->size,
                                 room, why);
    if (dpy->bad_plane_said) {
        return;
    }
    dpy->bad_plane_said = true;
    error_report(VFIO_MSG_PREFIX "the host driver's display plane (format "
                 "0x%x, %ux%u, stride %u, size %u, in 0x%" PRIx64 " bytes) "
                 "cannot be shown: %s", dpy->vdev->vbasedev.name,
                 p->drm_format, p->width, p->height, p->stride, p->size,
                 room, why);
}

/*
 * Whether the UI can read @p as rows from @room bytes: the stride holds a
 * row, and the rows fit both the plane's size and its holder.
 */
static bool vfio_plane_fits(VFIODisplay *dpy,
                            const struct vfio_device_gfx_plane_info *p,
                            uint64_t room, pixman_format_code_t *format)
{
    *format = qemu_drm_format_to_pixman(p->drm_format);
    if (!*format) {
        vfio_display_bad_plane(dpy, p, room, "its format is not one QEMU "
                               "knows");
    } else if (!p->width || !p->height || p->width > VFIO_DISPLAY_MAX_DIM ||
               p->height > VFIO_DISPLAY_MAX_DIM) {
        vfio_display_bad_plane(dpy, p, room, "its size is out of range");
    } else if (p->stride < (uint64_t)p->width *
                           (PIXMAN_FORMAT_BPP(*format) / 8)) {
        vfio_display_bad_plane(dpy, p, room, "a row is wider than its "
                               "stride");
    } else if ((uint64_t)p->stride * p->height > MIN(p->size, room)) {
        vfio_display_bad_plane(dpy, p, room, "its rows run past its end");
    } else {
        return true;
    }
    return false;
}

static bool vfio_plane_same(const struct vfio_device_gfx_plane_info *a,
                            const struct vfio_device_gfx_plane_info *b)
{
    return a->drm_format == b->drm_format && a->width == b->width &&
           a->height == b->height && a->stride == b->stride &&
           a->size == b->size && a->region_index == b->region_index;
}

/* Shows @p from @ptr; the caller keeps @ptr mapped while it is shown. */
static void vfio_display_surface(VFIODisplay *dpy,
                                 const struct vfio_device_gfx_plane_info *p,
                                 pixman_format_code_t format, void *ptr)
{
    DisplaySurface *surface;

    surface = qemu_create_displaysurface_from(p->width, p->height, format,
                                              p->stride, ptr);
    dpy_gfx_replace_surface(dpy->con, surface);
    dpy->shown = *p;
    trace_vfio_display_plane(dpy->vdev->vbasedev.name, p->drm_format,
                             p->width, p->height, p->stride, p->size);
}

/* No plane: the firmware's ramfb, if there is one, has the screen. */
static void vfio_display_no_plane(VFIODisplay *dpy)
{
    memset(&dpy->shown, 0, sizeof(dpy->shown));
    if (dpy->ramfb) {
        ramfb_display_update(dpy->con, dpy->ramfb);
    }
}

/*
 * Region planes
 */
static void vfio_display_region_unmap(VFIODisplay *dpy)
{
    if (dpy->region_map) {
        munmap(dpy->region_map, dpy->region_map_size);
        dpy->region_map = NULL;
    }
}

static bool vfio_display_region_show(VFIODisplay *dpy,
                                     const struct vfio_device_gfx_plane_info *p)
{
    VFIODevice *vbasedev = &dpy->vdev->vbasedev;
    struct vfio_region_info info = { 0 };
    pixman_format_code_t format;
    size_t size;
    void *map;

    if (!vfio_get_region_info(vbasedev, p->region_index, &info, NULL) ||
        !(info.flags & VFIO_REGION_INFO_FLAG_MMAP) || !info.size ||
        info.size > SIZE_MAX || info.offset > INT64_MAX) {
        vfio_display_bad_plane(dpy, p, info.size, "its region cannot be "
                               "mmap'd");
        return false;
    }
    if (!vfio_plane_fits(dpy, p, info.size, &format)) {
        return false;
    }
    size = ROUND_UP(info.size, qemu_real_host_page_size());
    map = mmap(NULL, size, PROT_READ, MAP_SHARED, vbasedev->fd, info.offset);
    if (map == MAP_FAILED) {
        vfio_display_bad_plane(dpy, p, info.size, strerror(errno));
        return false;
    }
    /* The old surface goes before the mapping it reads */
    vfio_display_surface(dpy, p, format, map);
    vfio_display_region_unmap(dpy);
    dpy->region_map = map;
    dpy->region_map_size = size;
    return true;
}

static void vfio_display_region_update(void *opaque)
{
    VFIODisplay *dpy = opaque;
    struct vfio_device_gfx_plane_info p;

    if (!vfio_display_query(dpy, VFIO_GFX_PLANE_TYPE_REGION,
                            VFIO_DRM_PLANE_PRIMARY, &p) ||
        !vfio_plane_present(&p)) {
        vfio_display_no_plane(dpy);
        return;
    }
    if (!vfio_plane_same(&p, &dpy->shown) &&
        !vfio_display_region_show(dpy, &p)) {
        vfio_display_no_plane(dpy);
        return;
    }
    dpy_gfx_update_full(dpy->con);
}

/*
 * dma-buf planes
 */
static void vfio_dmabuf_free(VFIODisplay *dpy, VFIODMABuf *dmabuf)
{
    QTAILQ_REMOVE(&dpy->dmabufs, dmabuf, next);
    if (dpy->gl) {
        dpy_gl_release_dmabuf(dpy->con, &dmabuf->buf);
    }
    if (dmabuf->map) {
        munmap(dmabuf->map, dmabuf->map_size);
    }
    close(dmabuf->buf.fd);
    g_free(dmabuf);
}

/* Drops the oldest dma-bufs that are not on screen. */
static void vfio_dmabuf_trim(VFIODisplay *dpy)
{
    VFIODMABuf *dmabuf, *tmp;
    int kept = 0;

    QTAILQ_FOREACH_SAFE(dmabuf, &dpy->dmabufs, next, tmp) {
        if (dmabuf == dpy->primary || dmabuf == dpy->cursor) {
            continue;
        }
        if (++kept > VFIO_DMABUF_CACHE) {
            vfio_dmabuf_free(dpy, dmabuf);
        }
    }
}

/*
 * Without OpenGL the CPU reads the dma-buf: it must be linear and fit in
 * the whole pages of the dma-buf, which are all that mmap can reach.
 */
static bool vfio_dmabuf_map(VFIODisplay *dpy, VFIODMABuf *dmabuf,
                            const struct vfio_device_gfx_plane_info *p)
{
    off_t size = lseek(dmabuf->buf.fd, 0, SEEK_END);
    pixman_format_code_t format;
    size_t pages;

    if (p->drm_format_mod != VFIO_DRM_MOD_LINEAR) {
        vfio_display_bad_plane(dpy, p, size, "it is tiled, which only "
                               "OpenGL can show: run a display with gl=on "
                               "or egl-headless");
        return false;
    }
    pages = size > 0 ? QEMU_ALIGN_DOWN(size, qemu_real_host_page_size()) : 0;
    if (!pages) {
        vfio_display_bad_plane(dpy, p, size, "its dma-buf is smaller than "
                               "a page");
        return false;
    }
    if ((uint64_t)p->stride * p->height > pages &&
        (uint64_t)p->stride * p->height <= size) {
        vfio_display_bad_plane(dpy, p, size, "its last rows lie in the "
                               "dma-buf's partial last page, which mmap "
                               "cannot reach: run a display with gl=on or "
                               "egl-headless");
        return false;
    }
    if (!vfio_plane_fits(dpy, p, pages, &format)) {
        return false;
    }
    dmabuf->map = mmap(NULL, pages, PROT_READ, MAP_SHARED, dmabuf->buf.fd, 0);
    if (dmabuf->map == MAP_FAILED) {
        dmabuf->map = NULL;
        vfio_display_bad_plane(dpy, p, pages, "its dma-buf cannot be "
                               "mmap'd: run a display with gl=on or "
                               "egl-headless");
        return false;
    }
    dmabuf->map_size = pages;
    return true;
}

static VFIODMABuf *vfio_dmabuf_get(VFIODisplay *dpy, uint32_t plane_type,
                                   struct vfio_device_gfx_plane_info *p)
{
    VFIODMABuf *dmabuf;
    int fd;

    if (!vfio_display_query(dpy, VFIO_GFX_PLANE_TYPE_DMABUF, plane_type, p) ||
        !vfio_plane_present(p)) {
        return NULL;
    }
    QTAILQ_FOREACH(dmabuf, &dpy->dmabufs, next) {
        if (dmabuf->id == p->dmabuf_id) {
            return dmabuf->unshowable ? NULL : dmabuf;
        }
    }
    fd = ioctl(dpy->vdev->vbasedev.fd, VFIO_DEVICE_GET_GFX_DMABUF,
               &p->dmabuf_id);
    trace_vfio_display_dmabuf(dpy->vdev->vbasedev.name, p->dmabuf_id, fd);
    if (fd < 0) {
        vfio_display_bad_plane(dpy, p, 0, strerror(errno));
        return NULL;
    }
    dmabuf = g_new0(VFIODMABuf, 1);
    dmabuf->id = p->dmabuf_id;
    dmabuf->buf = (QemuDmaBuf) {
        .fd = fd, .width = p->width, .height = p->height,
        .stride = p->stride, .fourcc = p->drm_format,
        .modifier = p->drm_format_mod,
    };
    QTAILQ_INSERT_HEAD(&dpy->dmabufs, dmabuf, next);
    /*
     * One that cannot be shown stays in the list: asking for it at every
     * refresh would have the host export and release it again and again.
     */
    if (plane_type == VFIO_DRM_PLANE_PRIMARY && !dpy->gl &&
        !vfio_dmabuf_map(dpy, dmabuf, p)) {
        dmabuf->unshowable = true;
        return NULL;
    }
    return dmabuf;
}

static void vfio_display_cursor_update(VFIODisplay *dpy)
{
    struct vfio_device_gfx_plane_info p;
    VFIODMABuf *cursor = vfio_dmabuf_get(dpy, VFIO_DRM_PLANE_CURSOR, &p);

    if (cursor != dpy->cursor) {
        dpy->cursor = cursor;
        dpy_gl_cursor_dmabuf(dpy->con, cursor ? &cursor->buf : NULL,
                             cursor && p.x_hot != UINT32_MAX,
                             p.x_hot, p.y_hot);
    }
    if (cursor) {
        dpy_gl_cursor_position(dpy->con, p.x_pos, p.y_pos);
    }
}

static void vfio_display_dmabuf_update(void *opaque)
{
    VFIODisplay *dpy = opaque;
    struct vfio_device_gfx_plane_info p;
    VFIODMABuf *primary = vfio_dmabuf_get(dpy, VFIO_DRM_PLANE_PRIMARY, &p);

    if (!primary) {
        if (dpy->primary && dpy->gl) {
            dpy_gl_scanout_disable(dpy->con);
        }
        dpy->primary = NULL;
        vfio_display_no_plane(dpy);
        return;
    }
    if (primary != dpy->primary) {
        dpy->primary = primary;
        if (dpy->gl) {
            qemu_console_resize(dpy->con, p.width, p.height);
            dpy_gl_scanout_dmabuf(dpy->con, &primary->buf);
            dpy->shown = p;
        } else {
            vfio_display_surface(dpy, &p, qemu_drm_format_to_pixman(
                                 p.drm_format), primary->map);
        }
    }
    if (dpy->gl) {
        vfio_display_cursor_update(dpy);
        dpy_gl_update(dpy->con, 0, 0, p.width, p.height);
    } else {
        dpy_gfx_update_full(dpy->con);
    }
    vfio_dmabuf_trim(dpy);
}

static int vfio_display_dmabuf_flags(void *opaque)
{
    return GRAPHIC_FLAGS_GL | GRAPHIC_FLAGS_DMABUF;
}

/*
 * EDID: what the guest's driver reads as its monitor
 */
static bool vfio_edid_pwrite(VFIODisplay *dpy, off_t off, const void *buf,
                             size_t len)
{
    VFIOEdid *edid = dpy->edid;

    if (pwrite(dpy->vdev->vbasedev.fd, buf, len, edid->fd_offset + off) ==
        len) {
        return true;
    }
    error_report(VFIO_MSG_PREFIX "writing the monitor's EDID failed: %s",
                 dpy->vdev->vbasedev.name, strerror(errno));
    return false;
}

static bool vfio_edid_link(VFIODisplay *dpy, uint32_t state)
{
    trace_vfio_display_edid_link(dpy->vdev->vbasedev.name,
                                 state == VFIO_DEVICE_GFX_LINK_STATE_UP);
    return vfio_edid_pwrite(dpy, offsetof(struct vfio_region_gfx_edid,
                                          link_state), &state, sizeof(state));
}

/* The EDID update protocol: link down, blob and size, link up. */
static bool vfio_edid_write(VFIODisplay *dpy, uint32_t xres, uint32_t yres)
{
    VFIOEdid *edid = dpy->edid;
    qemu_edid_info info = {
        .prefx = xres, .prefy = yres,
        .maxx = edid->regs.max_xres, .maxy = edid->regs.max_yres,
    };
    uint32_t size;

    qemu_edid_generate(edid->blob, edid->regs.edid_max_size, &info);
    size = qemu_edid_size(edid->blob);
    edid->xres = xres;
    edid->yres = yres;
    trace_vfio_display_edid(dpy->vdev->vbasedev.name, xres, yres, size);
    return vfio_edid_link(dpy, VFIO_DEVICE_GFX_LINK_STATE_DOWN) &&
           vfio_edid_pwrite(dpy, edid->regs.edid_offset, edid->blob, size) &&
           vfio_edid_pwrite(dpy, offsetof(struct vfio_region_gfx_edid,
                                          edid_size), &size, sizeof(size));
}

static void vfio_edid_link_up(void *opaque)
{
    vfio_edid_link(opaque, VFIO_DEVICE_GFX_LINK_STATE_UP);
}

/* The UI's window changed size: the guest sees a new monitor. */
static void vfio_display_ui_info(void *opaque, uint32_t head,
                                 QemuUIInfo *info)
{
    VFIODisplay *dpy = opaque;
    VFIOEdid *edid = dpy->edid;
    uint32_t xres = info->width, yres = info->height;

    if (edid->regs.max_xres) {
        xres = MIN(xres, edid->regs.max_xres);
    }
    if (edid->regs.max_yres) {
        yres = MIN(yres, edid->regs.max_yres);
    }
    if (!xres || !yres || (xres == edid->xres && yres == edid->yres)) {
        return;
    }
    if (vfio_edid_write(dpy, xres, yres)) {
        timer_mod(edid->link_up, qemu_clock_get_ms(QEMU_CLOCK_VIRTUAL) +
                  VFIO_EDID_LINK_DOWN_MS);
    }
}

static bool vfio_edid_check(VFIODisplay *dpy, uint64_t region_size,
                            Error **errp)
{
    VFIOPCIDevice *vdev = dpy->vdev;
    struct vfio_region_gfx_edid *regs = &dpy->edid->regs;

    if (regs->edid_offset < sizeof(*regs) || regs->edid_max_size < 128 ||
        regs->edid_offset > region_size ||
        regs->edid_max_size > region_size - regs->edid_offset) {
        error_setg(errp, "the host's EDID region (0x%" PRIx64 " bytes) puts "
                   "0x%x bytes of EDID at 0x%x", region_size,
                   regs->edid_max_size, regs->edid_offset);
        return false;
    }
    if ((regs->max_xres && vdev->display_xres > regs->max_xres) ||
        (regs->max_yres && vdev->display_yres > regs->max_yres)) {
        error_setg(errp, "xres=%u yres=%u exceed the device's largest "
                   "mode, %ux%u", vdev->display_xres, vdev->display_yres,
                   regs->max_xres, regs->max_yres);
        return false;
    }
    return true;
}

/* The device's EDID region, if it has one: the guest's first monitor. */
static bool vfio_edid_setup(VFIODisplay *dpy, Error **errp)
{
    VFIODevice *vbasedev = &dpy->vdev->vbasedev;
    g_autofree struct vfio_region_info *info =
        vfio_get_dev_region_info(vbasedev, VFIO_REGION_TYPE_GFX,
                                 VFIO_REGION_SUBTYPE_GFX_EDID);
    VFIOEdid *edid;

    if (!info) {
        return true;
    }
    edid = dpy->edid = g_new0(VFIOEdid, 1);
    edid->fd_offset = info->offset;
    if (pread(vbasedev->fd, &edid->regs, sizeof(edid->regs),
              edid->fd_offset) != sizeof(edid->regs)) {
        error_setg_errno(errp, errno, "cannot read the host's EDID region");
        return false;
    }
    if (!vfio_edid_check(dpy, info->size, errp)) {
        return false;
    }
    edid->blob = g_malloc0(edid->regs.edid_max_size);
    edid->link_up = timer_new_ms(QEMU_CLOCK_VIRTUAL, vfio_edid_link_up, dpy);
    if (!vfio_edid_write(dpy, dpy->vdev->display_xres,
                         dpy->vdev->display_yres) ||
        !vfio_edid_link(dpy, VFIO_DEVICE_GFX_LINK_STATE_UP)) {
        error_setg(errp, "cannot give the device its EDID");
        return false;
    }
    dpy->ops.ui_info = vfio_display_ui_info;
    return true;
}

/*
 * Setup and teardown
 */
/* How the device offers its planes, if it does */
static bool vfio_display_probe(VFIODisplay *dpy)
{
    struct vfio_device_gfx_plane_info p;

    if (vfio_display_query(dpy, VFIO_GFX_PLANE_TYPE_PROBE |
                           VFIO_GFX_PLANE_TYPE_REGION, 0, &p)) {
        dpy->ops.gfx_update = vfio_display_region_update;
    } else if (vfio_display_query(dpy, VFIO_GFX_PLANE_TYPE_PROBE |
                                  VFIO_GFX_PLANE_TYPE_DMABUF, 0, &p)) {
        dpy->dmabuf = true;
        dpy->gl = display_opengl;
        dpy->ops.gfx_update = vfio_display_dmabuf_update;
        if (dpy->gl) {
            dpy->ops.get_flags = vfio_display_dmabuf_flags;
        }
    } else {
        return false;
    }
    trace_vfio_display_probe(dpy->vdev->vbasedev.name,
                             dpy->dmabuf ? "dma-buf" : "region", dpy->gl);
    return true;
}

/* What display=off or a device without a display leaves meaningless */
static bool vfio_display_check_options(VFIOPCIDevice *vdev, Error **errp)
{
    if (vdev->display_xres || vdev->display_yres) {
        error_setg(errp, "xres and yres need display=on and a device with "
                   "a display");
        return false;
    }
    if (vdev->ramfb_wanted) {
        error_setg(errp, "ramfb=on needs display=on and a device with a "
                   "display");
        return false;
    }
    return true;
}

static bool vfio_display_init(VFIODisplay *dpy, Error **errp)
{
    VFIOPCIDevice *vdev = dpy->vdev;

    if (!!vdev->display_xres != !!vdev->display_yres) {
        error_setg(errp, "xres and yres go together: give both");
        return false;
    }
    if (!vfio_edid_setup(dpy, errp)) {
        return false;
    }
    if ((vdev->display_xres || vdev->display_yres) && !dpy->edid) {
        error_setg(errp, "xres and yres need a device with an EDID region; "
                   "this one has none");
        return false;
    }
    if (vdev->ramfb_wanted) {
        dpy->ramfb = ramfb_setup(errp);
        if (!dpy->ramfb) {
            return false;
        }
    }
    dpy->con = graphic_console_init(DEVICE(vdev), 0, &dpy->ops, dpy);
    return true;
}

bool vfio_display_setup(VFIOPCIDevice *vdev, Error **errp)
{
    VFIODisplay *dpy;

    if (vdev->display == ON_OFF_AUTO_OFF) {
        return vfio_display_check_options(vdev, errp);
    }
    dpy = g_new0(VFIODisplay, 1);
    dpy->vdev = vdev;
    QTAILQ_INIT(&dpy->dmabufs);
    vdev->dpy = dpy;
    if (!vfio_display_probe(dpy)) {
        vfio_display_exit(vdev);
        if (vdev->display == ON_OFF_AUTO_AUTO) {
            return vfio_display_check_options(vdev, errp);
        }
        error_setg(errp, "display=on: the device has no display (its host "
                   "driver offers no plane to VFIO_DEVICE_QUERY_GFX_PLANE)");
        return false;
    }
    if (!vfio_display_init(dpy, errp)) {
        vfio_display_exit(vdev);
        return false;
    }
    return true;
}

static void vfio_edid_free(VFIOEdid *edid)
{
    if (edid) {
        timer_free(edid->link_up);
        g_free(edid->blob);
        g_free(edid);
    }
}

void vfio_display_exit(VFIOPCIDevice *vdev)
{
    VFIODisplay *dpy = vdev->dpy;

    if (!dpy) {
        return;
    }
    if (dpy->con) {
        if (dpy->gl && dpy->primary) {
            dpy_gl_scanout_disable(dpy->con);
        }
        /* The console goes back to a placeholder before the maps go */
        graphic_console_close(dpy->con);
    }
    dpy->primary = dpy->cursor = NULL;
    while (!QTAILQ_EMPTY(&dpy->dmabufs)) {
        vfio_dmabuf_free(dpy, QTAILQ_FIRST(&dpy->dmabufs));
    }
    vfio_display_region_unmap(dpy);
    vfio_edid_free(dpy->edid);
    /* ramfb has no teardown: only vfio-pci-nohotplug, which stays, has it */
    g_free(dpy);
    vdev->dpy = NULL;
}
