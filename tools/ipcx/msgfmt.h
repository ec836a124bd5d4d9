/* SPDX-License-Identifier: MIT */
/*
 * Message formats of `ipcx send` and `ipcx recv`: how a message of one or
 * more parts is written as text and read back.
 *
 *   line  one message per line; parts separated by a tab
 *   hex   one message per line in lowercase hex (either case read); parts
 *         separated by a space; an empty line is an empty message
 *   raw   the bytes of every part, no delimiter (send: all of stdin is one
 *         message)
 *   json  one object per line, exactly {"parts":["<base64>",...]}
 *
 * Also a growable byte buffer the commands collect output in.
 */
#ifndef IPCX_TOOL_MSGFMT_H
#define IPCX_TOOL_MSGFMT_H

#include <stddef.h>
#include <stdint.h>

#include <ipcx/ipcx.h>

enum msgfmt { MSGFMT_LINE, MSGFMT_HEX, MSGFMT_RAW, MSGFMT_JSON };

/* The format named @name, or -1. */
int msgfmt_from_name(const char *name);

/* A growable buffer of bytes. */
typedef struct msgbuf {
    char *p;
    size_t len, cap;
} msgbuf;

/* Room for @more bytes after len.  Returns 0 or -ENOMEM. */
int msgbuf_reserve(msgbuf *b, size_t more);
int msgbuf_append(msgbuf *b, const void *data, size_t len);
void msgbuf_free(msgbuf *b);

/*
 * Decode @len bytes of @text (one record, without its newline) in @fmt
 * and append the parts to *@m (created when NULL).  @split: a record
 * (stdin, --reply) whose parts are separated as the format says; 0: one
 * part (a MSG argument; json is always split).  On failure *@why says what
 * is wrong and *@m is left as it was or freed and set to NULL.  Returns 0,
 * -EINVAL (malformed) or -ENOMEM.
 */
int msgfmt_decode(int fmt, const char *text, size_t len, int split, ipcx_msg **m, const char **why);

/* Append message @m written in @fmt (with its newline, except raw) to @out.
 * Returns 0 or -ENOMEM. */
int msgfmt_encode(int fmt, ipcx_msg *m, msgbuf *out);

/* A copy of @m.  Returns 0 or -ENOMEM. */
int msgfmt_copy(ipcx_msg *m, ipcx_msg **out);

/* Total payload bytes of @m. */
size_t msgfmt_size(ipcx_msg *m);

#endif /* IPCX_TOOL_MSGFMT_H */
