/* SPDX-License-Identifier: MIT */
/*
 * zmtp internals: explicit network byte order helpers and the tables the
 * decoder and the encoder share.  Nothing here ever copies a struct to or
 * from the wire: every multi-octet field goes through these helpers.
 */
#ifndef IPCX_SRC_ZMTP_INTERNAL_H
#define IPCX_SRC_ZMTP_INTERNAL_H

#include <ipcx/zmtp.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

static inline uint16_t ipcx__get_be16(const uint8_t *p)
{
    return (uint16_t)((unsigned)p[0] << 8 | (unsigned)p[1]);
}

static inline uint32_t ipcx__get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static inline uint64_t ipcx__get_be64(const uint8_t *p)
{
    return (uint64_t)ipcx__get_be32(p) << 32 | (uint64_t)ipcx__get_be32(p + 4);
}

static inline void ipcx__put_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static inline void ipcx__put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static inline void ipcx__put_be64(uint8_t *p, uint64_t v)
{
    ipcx__put_be32(p, (uint32_t)(v >> 32));
    ipcx__put_be32(p + 4, (uint32_t)v);
}

/* Greeting layout (RFC 23/37): octet offsets. */
enum {
    ZMTP_G_SIG0 = 0, /* 0xFF */
    ZMTP_G_SIG9 = 9, /* 0x7F; octets 1-8 are padding, not significant */
    ZMTP_G_MAJOR = 10,
    ZMTP_G_MINOR = 11,
    ZMTP_G_MECH = 12, /* 20 octets, NUL padded */
    ZMTP_G_MECH_LEN = 20,
    ZMTP_G_AS_SERVER = 32,
    ZMTP_G_FILLER = 33, /* 31 zero octets, not validated */
};

/* Command names this codec knows. */
#define ZMTP_CMD_READY     "READY"
#define ZMTP_CMD_ERROR     "ERROR"
#define ZMTP_CMD_PING      "PING"
#define ZMTP_CMD_PONG      "PONG"
#define ZMTP_CMD_SUBSCRIBE "SUBSCRIBE"
#define ZMTP_CMD_CANCEL    "CANCEL"

/* The errno an ipcx_zmtp_err maps to (-EPROTO, -EMSGSIZE, -EPROTONOSUPPORT). */
int ipcx__zmtp_err_errno(int err);

/* True for a property-name character: ALPHA / DIGIT / "-" / "_" / "." / "+". */
static inline bool ipcx__zmtp_name_char(uint8_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == '+';
}

/* The socket type whose name is s[0..n), or IPCX_ZMTP_SOCKET_COUNT_ if none. */
int ipcx__zmtp_socket_from_name(const uint8_t *s, size_t n);

/* Walk one READY property at *pos of meta[0..len) (decode.c).  Returns 1
 * and fills *p, 0 at the end, or the negated ipcx_zmtp_err. */
int ipcx__zmtp_prop_walk(const uint8_t *meta, size_t len, size_t *pos, ipcx_zmtp_prop *p);

/* Fault injection for tests (SQLite-style): when nonzero, the allocation of
 * an assembly buffer that brings it to zero fails with -ENOMEM (1: the next
 * one).  Zero in production; not thread-safe, set only by single-threaded
 * tests.  The codec's only global. */
extern unsigned ipcx__zmtp_fail_alloc;

#endif /* IPCX_SRC_ZMTP_INTERNAL_H */
