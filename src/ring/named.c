// SPDX-License-Identifier: MIT
/*
 * Named rings: a ring laid out in the data of a named region of kind
 * IPCX_REGION_RING.  The region layer owns the file, its header, its
 * permissions and its name; this file only sizes, formats and attaches.
 *
 * Design note.  Creation is two-phase: ipcx_region_create() publishes the
 * region header (region.c), then ipcx__ring_format() publishes the ring
 * header by storing `ready` last.  An opener that comes in between sees a
 * region whose ring is not ready and gets -EAGAIN; a creator that dies in
 * between leaves a region that open keeps refusing with -EAGAIN until it is
 * removed (ipcx rm).  A process restarted under the same name simply opens
 * the ring again: its old slots are owned by a dead pid and are taken over.
 */
#include <ipcx/region.h>

#include <stdlib.h>

#include "ring/ring_int.h"

int ipcx_ring_create(const char *name, const ipcx_ring_opts *opts, ipcx_ring **out)
{
    if (name == NULL || out == NULL)
        return -EINVAL;
    size_t size = ipcx__ring_size_for(opts);
    if (size == 0)
        return -EINVAL;
    ipcx_region_opts ro = {0};
    ro.kind = IPCX_REGION_RING;
    ro.mode = opts != NULL ? opts->mode : 0;
    ipcx_region *reg;
    int rc = ipcx_region_create(name, size, &ro, &reg);
    if (rc != 0)
        return rc;
    rc = ipcx__ring_format(ipcx_region_data(reg), ipcx_region_size(reg), opts);
    ipcx_ring *r = NULL;
    if (rc == 0)
        rc = ipcx__ring_attach(ipcx_region_data(reg), ipcx_region_size(reg), &r);
    if (rc != 0) {
        ipcx_region_close(reg);
        ipcx_region_unlink(name);
        return rc;
    }
    r->region = reg;
    ipcx__ring_use_lock(r, ipcx_region_fd(reg));
    *out = r;
    return 0;
}

int ipcx_ring_open(const char *name, ipcx_ring **out)
{
    if (name == NULL || out == NULL)
        return -EINVAL;
    ipcx_region *reg;
    int rc = ipcx_region_open(name, &reg);
    if (rc != 0)
        return rc;
    ipcx_region_info info;
    rc = ipcx_region_get_info(reg, &info);
    if (rc == 0 && info.kind != IPCX_REGION_RING)
        rc = -EPROTO;
    ipcx_ring *r = NULL;
    if (rc == 0)
        rc = ipcx__ring_attach(ipcx_region_data(reg), ipcx_region_size(reg), &r);
    if (rc != 0) {
        ipcx_region_close(reg);
        return rc;
    }
    r->region = reg;
    ipcx__ring_use_lock(r, ipcx_region_fd(reg));
    *out = r;
    return 0;
}

int ipcx_ring_unlink(const char *name)
{
    return ipcx_region_unlink(name);
}

void ipcx_ring_close(ipcx_ring *r)
{
    if (r == NULL)
        return;
    ipcx_region *reg = r->region;
    ipcx__ring_detach(r);
    ipcx_region_close(reg);
}
