// SPDX-License-Identifier: MIT
/*
 * Z85 (ZeroMQ RFC 32): 4 bytes as 5 printable characters, the text form of
 * CURVE keys.  Decoding is strict: a character outside the alphabet, or a
 * group of five worth more than 2^32 - 1 (which RFC 32 cannot produce), is
 * refused instead of wrapping.
 */
#include <ipcx/security.h>

#include "core/core.h"

static const char z85_chars[86] = "0123456789abcdefghijklmnopqrstuvwxyz"
                                  "ABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

/* The value of a Z85 character, or -1. */
static int z85_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'Z')
        return c - 'A' + 36;
    for (int i = 62; i < 85; i++)
        if ((unsigned char)z85_chars[i] == c)
            return i;
    return -1;
}

IPCX_API int ipcx_z85_encode(char *out, size_t cap, const void *data, size_t len)
{
    if (out == NULL || (data == NULL && len > 0) || len % 4 != 0 || len / 4 > (size_t)INT32_MAX / 5)
        return -EINVAL;
    size_t n = len / 4 * 5;
    if (cap < n + 1)
        return -ENOSPC;
    const uint8_t *b = data;
    for (size_t i = 0; i < len / 4; i++) {
        uint32_t v = (uint32_t)b[4 * i] << 24 | (uint32_t)b[4 * i + 1] << 16 |
                     (uint32_t)b[4 * i + 2] << 8 | b[4 * i + 3];
        for (int k = 4; k >= 0; k--) {
            out[5 * i + (size_t)k] = z85_chars[v % 85];
            v /= 85;
        }
    }
    out[n] = '\0';
    return (int)n;
}

IPCX_API int ipcx_z85_decode(void *out, size_t cap, const char *text, size_t len)
{
    if (out == NULL || (text == NULL && len > 0) || len % 5 != 0 || len / 5 > (size_t)INT32_MAX / 4)
        return -EINVAL;
    size_t n = len / 5 * 4;
    if (cap < n)
        return -ENOSPC;
    uint8_t *b = out;
    for (size_t i = 0; i < len / 5; i++) {
        uint64_t v = 0;
        for (size_t k = 0; k < 5; k++) {
            int d = z85_value((unsigned char)text[5 * i + k]);
            if (d < 0)
                return -EINVAL;
            v = v * 85 + (uint64_t)d;
        }
        if (v > UINT32_MAX)
            return -EINVAL;
        b[4 * i] = (uint8_t)(v >> 24);
        b[4 * i + 1] = (uint8_t)(v >> 16);
        b[4 * i + 2] = (uint8_t)(v >> 8);
        b[4 * i + 3] = (uint8_t)v;
    }
    return (int)n;
}
