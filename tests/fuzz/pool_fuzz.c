// SPDX-License-Identifier: MIT
/*
 * Fuzz target for the checks a pool runs on what other processes write
 * (src/pool/records.c): task records a worker takes from its ring, result
 * records the parent takes from the result ring, and the READY, TASK and
 * RESULT frames of remote workers.
 *
 * Input: byte 0 picks the input length the task check assumes (x 97),
 * byte 1 the number of worker slots, bytes 2-3 the largest result; the
 * rest is given whole to every check.  Whatever a check accepts must be
 * safe to use: a task's bytes inside the record or the input, a result's
 * length inside the record and under the limit, a status in range.
 *
 * Built as a libFuzzer target when IPCX_FUZZ is on; otherwise main() in
 * replay_main.c replays the committed corpus (tests/fuzz/corpus/pool_fuzz).
 */
#include <stdlib.h>
#include <string.h>

#include "pool/pool_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4)
        return 0;
    size_t input_len = (size_t)data[0] * 97;
    uint32_t nslots = data[1];
    uint32_t max_result = (uint32_t)data[2] | (uint32_t)data[3] << 8;
    /* A copy of exactly the record's size, so ASan sees its bounds. */
    size_t len = size - 4;
    uint8_t *rec = malloc(len ? len : 1);
    if (rec == NULL)
        return 0;
    memcpy(rec, data + 4, len);

    struct pool_task_view v;
    int kind = ipcx__pool_task_parse(rec, len, input_len, &v);
    if (kind == POOL_REC_TASK && (v.off != sizeof(struct pool_task_rec) || v.off + v.len != len))
        abort();
    if (kind == POOL_REC_REF && (v.off > input_len || v.len > input_len - v.off))
        abort();
    if (kind == -EBADMSG && len >= sizeof(struct pool_task_rec))
        abort();

    struct pool_result_rec h;
    int rc = ipcx__pool_result_parse(rec, len, nslots, max_result, &h);
    if (rc == 0) {
        if (h.len > max_result || sizeof(h) + h.len != len || h.worker >= nslots)
            abort();
        if (h.status < -POOL_ERRNO_MAX || (h.status >= 0 && (uint32_t)h.status != h.len))
            abort();
    }

    uint32_t credit;
    if (ipcx__pool_wire_ready(len ? rec : NULL, len, &credit) == 0 &&
        (len != 4 || credit == 0 || credit > POOL_CREDIT_MAX))
        abort();

    uint64_t id;
    int32_t status;
    size_t hlen = len < 12 ? len : 12;
    rc = ipcx__pool_wire_result(len ? rec : NULL, hlen, len - hlen, max_result, &id, &status);
    if (rc == 0 && (status > 0 || status < -POOL_ERRNO_MAX || len - hlen > max_result))
        abort();

    uint32_t attempt;
    if (ipcx__pool_wire_task(len ? rec : NULL, hlen, &id, &attempt) == 0 && hlen != 12)
        abort();
    free(rec);
    return 0;
}
