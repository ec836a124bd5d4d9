// SPDX-License-Identifier: MIT
/*
 * The checks on what other processes write: task and result records in the
 * rings (pool_int.h has their layout) and the frames of remote workers
 * (docs/pool.md).  Pure functions over bytes, so that the fuzz target
 * tests/fuzz/pool_fuzz.c drives exactly what the pool and its workers run.
 * Each reads the bytes once into locals, then checks, then fills its output.
 */
#include <string.h>

#include "pool/pool_int.h"

static uint32_t le32(const uint8_t *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static uint64_t le64(const uint8_t *b)
{
    return (uint64_t)le32(b) | (uint64_t)le32(b + 4) << 32;
}

int ipcx__pool_task_parse(const uint8_t *d, size_t len, size_t input_len, struct pool_task_view *v)
{
    struct pool_task_rec h;
    memset(v, 0, sizeof(*v));
    if (len < sizeof(h))
        return -EBADMSG;
    memcpy(&h, d, sizeof(h));
    v->id = h.id;
    v->attempt = h.attempt;
    if (h.kind == POOL_REC_STOP)
        return POOL_REC_STOP;
    if (h.kind == POOL_REC_TASK) {
        v->off = sizeof(h);
        v->len = len - sizeof(h);
        return POOL_REC_TASK;
    }
    if (h.kind == POOL_REC_REF && len == sizeof(h) && h.ref_off <= input_len &&
        h.ref_len <= input_len - h.ref_off) {
        v->off = (size_t)h.ref_off;
        v->len = (size_t)h.ref_len;
        return POOL_REC_REF;
    }
    return -EPROTO;
}

int ipcx__pool_result_parse(const uint8_t *d, size_t len, uint32_t nslots, uint32_t max_result,
                            struct pool_result_rec *h)
{
    memset(h, 0, sizeof(*h));
    if (len < sizeof(*h))
        return -EBADMSG;
    memcpy(h, d, sizeof(*h));
    if (h->len != len - sizeof(*h) || h->len > max_result || h->status < -POOL_ERRNO_MAX ||
        (h->status >= 0 && (uint32_t)h->status != h->len) || (h->status < 0 && h->len != 0) ||
        h->reserved != 0 || h->worker >= nslots)
        return -EPROTO;
    return 0;
}

int ipcx__pool_wire_ready(const uint8_t *c, size_t len, uint32_t *credit)
{
    if (c == NULL || len != 4)
        return -EPROTO;
    uint32_t v = le32(c);
    *credit = v == 0 ? 1 : v > POOL_CREDIT_MAX ? POOL_CREDIT_MAX : v;
    return 0;
}

int ipcx__pool_wire_result(const uint8_t *h, size_t hlen, size_t rlen, uint32_t max_result,
                           uint64_t *id, int32_t *status)
{
    if (h == NULL || hlen != 12)
        return -EBADMSG;
    *id = le64(h);
    *status = (int32_t)le32(h + 8);
    if (*status < -POOL_ERRNO_MAX || *status > 0 || rlen > max_result || (*status < 0 && rlen != 0))
        return -EPROTO;
    return 0;
}

int ipcx__pool_wire_task(const uint8_t *h, size_t hlen, uint64_t *id, uint32_t *attempt)
{
    if (h == NULL || hlen != 12)
        return -EPROTO;
    *id = le64(h);
    *attempt = le32(h + 8);
    return 0;
}
