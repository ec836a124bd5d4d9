/* SPDX-License-Identifier: MIT */
/*
 * Support for the queue tests: self-checking messages.  A message is
 *
 *   0   4  producer number
 *   4   4  length of the whole message
 *   8   8  per-producer counter
 *   16  8  checksum of bytes [24, len) seeded with the three fields above
 *   24  .. pseudo-random bytes derived from (producer, counter)
 *
 * so a consumer can tell a torn, corrupted, lost, duplicated or reordered
 * message from the bytes alone.
 */
#ifndef IPCX_QUEUE_TESTUTIL_H
#define IPCX_QUEUE_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define QT_HDR 24u

static inline uint64_t qt_mix(uint64_t x)
{
    x ^= x >> 33;
    x *= UINT64_C(0xff51afd7ed558ccd);
    x ^= x >> 33;
    x *= UINT64_C(0xc4ceb9fe1a85ec53);
    x ^= x >> 33;
    return x;
}

static inline uint64_t qt_sum(const uint8_t *p, size_t n, uint64_t h)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * UINT64_C(0x100000001b3);
    return h;
}

/* Length of message @counter of producer @prod: QT_HDR .. QT_HDR + span. */
static inline uint32_t qt_len(uint32_t prod, uint64_t counter, uint32_t span)
{
    return QT_HDR + (uint32_t)(qt_mix(counter * 31 + prod) % (span + 1));
}

static inline void qt_fill(uint8_t *buf, uint32_t prod, uint64_t counter, uint32_t len)
{
    uint64_t x = qt_mix(counter ^ ((uint64_t)prod << 48));
    for (uint32_t i = QT_HDR; i < len; i++) {
        buf[i] = (uint8_t)x;
        x = (i & 7) == 7 ? qt_mix(x + i) : x >> 8;
    }
    memcpy(buf, &prod, 4);
    memcpy(buf + 4, &len, 4);
    memcpy(buf + 8, &counter, 8);
    uint64_t sum = qt_sum(buf + QT_HDR, len - QT_HDR, qt_mix(counter + prod + len));
    memcpy(buf + 16, &sum, 8);
}

/* 0 if @buf (@len bytes) is an intact message; fills prod and counter. */
static inline int qt_check(const uint8_t *buf, size_t len, uint32_t *prod, uint64_t *counter)
{
    uint32_t l;
    uint64_t sum;
    if (len < QT_HDR)
        return -1;
    memcpy(prod, buf, 4);
    memcpy(&l, buf + 4, 4);
    memcpy(counter, buf + 8, 8);
    memcpy(&sum, buf + 16, 8);
    if (l != len)
        return -2;
    if (qt_sum(buf + QT_HDR, len - QT_HDR, qt_mix(*counter + *prod + l)) != sum)
        return -3;
    return 0;
}

#endif /* IPCX_QUEUE_TESTUTIL_H */
