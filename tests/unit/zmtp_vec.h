/* SPDX-License-Identifier: MIT */
/*
 * Test support for the ZMTP codec: a byte builder for hand-made vectors and
 * a tracer that feeds a decoder in a given split and prints every event
 * (and the final error) as one line of text, so that two feeds can be
 * compared with strcmp.  Shared by the unit and interop tests.
 */
#ifndef IPCX_TEST_ZMTP_VEC_H
#define IPCX_TEST_ZMTP_VEC_H

#include <stddef.h>
#include <stdint.h>

#include <ipcx/zmtp.h>

typedef struct zv_buf {
    uint8_t *p;
    size_t len, cap;
} zv_buf;

void zv_put(zv_buf *b, const void *data, size_t len);
void zv_u8(zv_buf *b, uint8_t v);
void zv_be32(zv_buf *b, uint32_t v);
void zv_be64(zv_buf *b, uint64_t v);
void zv_free(zv_buf *b);

/* A greeting with the given version, mechanism and as-server octet. */
void zv_greeting(zv_buf *b, uint8_t major, uint8_t minor, const char *mech, uint8_t as_server);
/* A frame header in the short or long form (forced long when @force_long). */
void zv_header(zv_buf *b, uint8_t flags, uint64_t size, int force_long);
/* A command frame: name + data. */
void zv_command(zv_buf *b, const char *name, const void *data, size_t len);
/* One property (name, value) appended to a metadata buffer. */
void zv_prop(zv_buf *b, const char *name, const void *value, size_t len);
/* A READY command with Socket-Type @type (NULL: none) and optional identity. */
void zv_ready(zv_buf *b, const char *type, const void *id, size_t id_len);
/* A message frame. */
void zv_frame(zv_buf *b, const void *data, size_t len, int more);

/* Feed @len bytes in chunks: @split > 0 cuts once at that offset, @step > 0
 * feeds @step bytes at a time (both 0: all at once).  Returns a malloc'd
 * trace: one token per event, "!<rc>:<err>" at a failure.  @lim may be NULL. */
char *zv_trace(const uint8_t *buf, size_t len, size_t split, size_t step,
               const ipcx_zmtp_limits *lim);

/* Asserts that every split point and one-byte feeding give the trace of the
 * whole feed; returns that trace (malloc'd). */
char *zv_trace_all_splits(const uint8_t *buf, size_t len, const ipcx_zmtp_limits *lim);

#endif /* IPCX_TEST_ZMTP_VEC_H */
