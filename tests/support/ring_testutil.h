/* SPDX-License-Identifier: MIT */
/*
 * Support for the ring tests: self-checking messages (producer id,
 * sequence, length and a checksum over pseudo-random payload bytes derived
 * from them), so any consumer can tell a good record from a torn, corrupt
 * or misrouted one without knowing what was sent.
 */
#ifndef IPCX_RING_TESTUTIL_H
#define IPCX_RING_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define RTM_HDR 16u

/* Fill buf with message (id, seq) of len bytes (len >= RTM_HDR). */
static inline void rtm_fill(uint8_t *buf, size_t len, uint32_t id, uint32_t seq)
{
    uint64_t x = ((uint64_t)id << 32 | seq) * 0x9e3779b97f4a7c15ull + 1;
    uint32_t sum = 0;
    for (size_t i = RTM_HDR; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        buf[i] = (uint8_t)x;
        sum = sum * 31 + buf[i];
    }
    uint32_t h[4] = {id, seq, (uint32_t)len, sum ^ id ^ seq ^ (uint32_t)len};
    memcpy(buf, h, sizeof(h));
}

/* 0 when buf[0..len) is a whole, correct message; fills id and seq. */
static inline int rtm_check(const uint8_t *buf, size_t len, uint32_t *id, uint32_t *seq)
{
    if (len < RTM_HDR)
        return -1;
    uint32_t h[4];
    memcpy(h, buf, sizeof(h));
    if (h[2] != len)
        return -2;
    uint64_t x = ((uint64_t)h[0] << 32 | h[1]) * 0x9e3779b97f4a7c15ull + 1;
    uint32_t sum = 0;
    for (size_t i = RTM_HDR; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        if (buf[i] != (uint8_t)x)
            return -3;
        sum = sum * 31 + buf[i];
    }
    if ((sum ^ h[0] ^ h[1] ^ h[2]) != h[3])
        return -4;
    *id = h[0];
    *seq = h[1];
    return 0;
}

#endif /* IPCX_RING_TESTUTIL_H */
