/*
 * VFIO: the VF token of SR-IOV devices (vf-token)
 *
 * A PF bound to vfio-pci is driven by a user process, which may do what
 * it likes to the VFs it hosts.  So the kernel's vfio-pci lets a VF of
 * such a PF be opened only by who shows the PF's VF token, a UUID; and a
 * PF whose VFs are in use only by who shows the same token.  Opening a PF
 * whose VFs are not in use with a token makes that the PF's token.  The
 * legacy backend appends the token to the name VFIO_GROUP_GET_DEVICE_FD
 * matches ("0000:05:00.1 vf_token=UUID"); the cdev backend passes it to
 * VFIO_DEVICE_BIND_IOMMUFD (iommufd.c), which only Linux 6.17 and later
 * accept.  The kernel's refusals are EACCES (missing or wrong token) and
 * EINVAL (a token where none belongs): what they mean depends on the
 * device's place in SR-IOV, which sysfs tells.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include "qemu/osdep.h"

#include "hw/qdev-properties.h"
#include "hw/vfio/vfio-common.h"
#include "qapi/error.h"
#include "qapi/visitor.h"

bool vfio_vf_token_given(VFIODevice *vbasedev)
{
    return !qemu_uuid_is_null(&vbasedev->vf_token);
}

char *vfio_vf_token_device_name(VFIODevice *vbasedev)
{
    char uuid[UUID_FMT_LEN + 1];

    if (!vfio_vf_token_given(vbasedev)) {
        return g_strdup(vbasedev->name);
    }
    qemu_uuid_unparse(&vbasedev->vf_token, uuid);
    return g_strdup_printf("%s vf_token=%s", vbasedev->name, uuid);
}

/* The driver of the PF of the VF @vbasedev, or NULL */
static char *vfio_vf_pf_driver(VFIODevice *vbasedev)
{
    g_autofree char *pf_dir = g_strdup_printf("%s/physfn",
                                              vbasedev->sysfsdev);

    return vfio_sysfs_link_name(pf_dir, "driver");
}

/* EACCES for a VF: vfio-pci drives its PF @pf, whose token it wants */
static void vfio_vf_token_vf_refused(VFIODevice *vbasedev, const char *pf,
                                     Error **errp)
{
    if (!vfio_vf_token_given(vbasedev)) {
        error_setg(errp, "the VF's PF %s is bound to vfio-pci: give the "
                   "PF's VF token with vf-token=<uuid>", pf);
        error_append_hint(errp, "The PF's user sets the token (a vfio-pci "
                          "device of the PF with vf-token=<uuid>).\n");
    } else {
        error_setg(errp, "the PF %s has another VF token", pf);
        error_append_hint(errp, "Give the token the PF's user set.\n");
    }
}

/* EACCES for a PF: its VFs in use pin its token, which it must be shown */
static void vfio_vf_token_pf_refused(VFIODevice *vbasedev, Error **errp)
{
    if (!vfio_vf_token_given(vbasedev)) {
        error_setg(errp, "its VFs are in use: give their VF token with "
                   "vf-token=<uuid>");
    } else {
        error_setg(errp, "its VFs are in use with another VF token");
    }
    error_append_hint(errp, "While a VF is open, the PF opens only with "
                      "the token the VF was opened with.\n");
}

/*
 * A token where none belongs, which the kernel refuses (EINVAL): the
 * device is outside SR-IOV, or a VF whose PF is on its host driver.
 */
static bool vfio_vf_token_misplaced(VFIODevice *vbasedev, const char *pf,
                                    const char *pf_driver, bool is_pf,
                                    Error **errp)
{
    if (!pf && !is_pf) {
        error_setg(errp, "vf-token is only for an SR-IOV PF or VF, which "
                   "%s is not", vbasedev->name);
        error_append_hint(errp, "Drop vf-token.\n");
        return true;
    }
    if (pf && g_strcmp0(pf_driver, "vfio-pci")) {
        error_setg(errp, "vf-token is for a VF whose PF is bound to "
                   "vfio-pci; the PF %s is bound to %s", pf,
                   pf_driver ? pf_driver : "no driver");
        error_append_hint(errp, "Drop vf-token: the PF's driver needs "
                          "none.\n");
        return true;
    }
    return false;
}

bool vfio_vf_token_error(VFIODevice *vbasedev, int err, bool cdev,
                         Error **errp)
{
    g_autofree char *pf = vfio_sysfs_link_name(vbasedev->sysfsdev, "physfn");
    g_autofree char *pf_driver = pf ? vfio_vf_pf_driver(vbasedev) : NULL;
    g_autofree char *totalvfs = g_strdup_printf("%s/sriov_totalvfs",
                                                vbasedev->sysfsdev);
    bool is_pf = g_file_test(totalvfs, G_FILE_TEST_EXISTS);
    bool given = vfio_vf_token_given(vbasedev);

    if (given && vfio_vf_token_misplaced(vbasedev, pf, pf_driver, is_pf,
                                          errp)) {
        return true;
    }
    /* Where a token belongs, only a kernel without the flag says EINVAL */
    if (cdev && given && err == EINVAL) {
        error_setg(errp, "this kernel cannot take a VF token on the cdev "
                   "path (VFIO_DEVICE_BIND_FLAG_TOKEN, Linux 6.17)");
        error_append_hint(errp, "Use the legacy backend (drop iommufd=), "
                          "which passes the token on any kernel.\n");
        return true;
    }
    /* EACCES is the token's only for a PF, or a VF of a vfio-pci PF */
    if (err != EACCES || (pf ? g_strcmp0(pf_driver, "vfio-pci") : !is_pf)) {
        return false;
    }
    if (pf) {
        vfio_vf_token_vf_refused(vbasedev, pf, errp);
    } else {
        vfio_vf_token_pf_refused(vbasedev, errp);
    }
    return true;
}

/*
 * The property: QEMU's own UUID property says only "doesn't take value";
 * a token that is not a UUID deserves the form it must have.
 */
static void vfio_vf_token_get(Object *obj, Visitor *v, const char *name,
                              void *opaque, Error **errp)
{
    QemuUUID *uuid = object_field_prop_ptr(obj, opaque);
    char buffer[UUID_FMT_LEN + 1];
    char *p = buffer;

    qemu_uuid_unparse(uuid, buffer);
    visit_type_str(v, name, &p, errp);
}

static void vfio_vf_token_set(Object *obj, Visitor *v, const char *name,
                              void *opaque, Error **errp)
{
    QemuUUID *uuid = object_field_prop_ptr(obj, opaque);
    g_autofree char *str = NULL;

    if (!visit_type_str(v, name, &str, errp)) {
        return;
    }
    if (qemu_uuid_parse(str, uuid) < 0) {
        error_setg(errp, "vf-token '%s' is not a UUID", str);
        error_append_hint(errp, "Give the PF's VF token as "
                          "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx, in hex.\n");
    }
}

const PropertyInfo vfio_prop_vf_token = {
    .name = "str",
    .description = "the PF's VF token, a UUID",
    .get = vfio_vf_token_get,
    .set = vfio_vf_token_set,
};
