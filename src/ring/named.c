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

#include <fcntl.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "region/region.h"
#include "ring/ring_int.h"

static int create_new(const char *name, const ipcx_ring_opts *opts, ipcx_ring **out);

/* A ring whose creator is dead and whose every slot is free or held by a
 * dead process.  Unknown liveness is never stale. */
static int ring_stale(ipcx_ring *r)
{
    ipcx_region_info info;
    if (ipcx_region_get_info(r->region, &info) != 0 || info.creator_alive != 0)
        return 0;
    if (r->nlanes != 0)
        return !ipcx__lanes_any_alive(r);
    for (uint32_t i = 0; i < r->nprod; i++)
        if (ipcx__ring_slot_alive(r, &r->pslots[i]))
            return 0;
    for (uint32_t i = 0; i < r->ncons; i++)
        if (ipcx__ring_slot_alive(r, &r->cslots[i]))
            return 0;
    return 1;
}

/* The name is taken by a region whose ring never became ready (-EAGAIN):
 * stale when its creator is dead. */
static int unready_stale(const char *name)
{
    ipcx_region_info info;
    if (ipcx_region_stat(name, &info) != 0 || info.creator_alive != 0)
        return 0;
    int fd = ipcx__region_open_file(name, O_RDONLY);
    if (fd < 0)
        return 0;
    int rc = ipcx__region_unlink_same(name, fd);
    close(fd);
    return rc == 0;
}

int ipcx_ring_create(const char *name, const ipcx_ring_opts *opts, ipcx_ring **out)
{
    int rc = create_new(name, opts, out);
    uint32_t how = opts != NULL ? opts->create : 0;
    /* A few rounds: another process may create, replace or remove the
     * name between our steps. */
    for (int round = 0; rc == -EEXIST && how != 0 && round < 16; round++) {
        ipcx_ring *r = NULL;
        rc = ipcx_ring_open(name, &r);
        if (rc == -ENOENT) { /* removed meanwhile: ours to create */
            rc = create_new(name, opts, out);
            continue;
        }
        if (rc == -EAGAIN) { /* not ready: a creator at work, or a dead one */
            if ((how & IPCX_CREATE_REPLACE_STALE) && unready_stale(name)) {
                rc = create_new(name, opts, out);
            } else {
                const struct timespec ms = {0, 1000000};
                nanosleep(&ms, NULL);
                rc = -EEXIST;
            }
            continue;
        }
        if (rc != 0)
            return rc; /* another kind (-EMEDIUMTYPE), refused, corrupt */
        if ((how & IPCX_CREATE_REPLACE_STALE) && ring_stale(r)) {
            int gone = ipcx__region_unlink_same(name, ipcx_region_fd(r->region));
            ipcx_ring_close(r);
            IPCX_LOGI("ring %s: replacing a stale ring (creator and every peer dead)", name);
            rc = gone == 0 || gone == -ESTALE || gone == -ENOENT ? create_new(name, opts, out)
                                                                 : gone;
            continue;
        }
        if (how & IPCX_CREATE_OPEN) {
            *out = r;
            return 1;
        }
        ipcx_ring_close(r);
        return -EEXIST;
    }
    return rc;
}

static int create_new(const char *name, const ipcx_ring_opts *opts, ipcx_ring **out)
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
    int rc = ipcx__region_open_kind(name, IPCX_REGION_RING, &reg); /* -EMEDIUMTYPE: not a ring */
    if (rc != 0)
        return rc;
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
