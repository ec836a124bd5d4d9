// SPDX-License-Identifier: MIT
/*
 * The message formats of `ipcx send` and `ipcx recv` (msgfmt.h): hex and
 * base64 coding, the strict {"parts":[...]} JSON form, and the line, hex
 * and raw forms.  Input is checked completely: a malformed record is
 * refused with a reason, never half sent.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "msgfmt.h"

int msgfmt_from_name(const char *name)
{
    static const char *const names[] = {"line", "hex", "raw", "json"};
    for (int i = 0; i < 4; i++)
        if (strcmp(name, names[i]) == 0)
            return i;
    return -1;
}

/* ------------------------------------------------------------ buffers */

int msgbuf_reserve(msgbuf *b, size_t more)
{
    if (b->cap - b->len >= more)
        return 0;
    if (more > SIZE_MAX / 2 - b->len)
        return -ENOMEM;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap - b->len < more)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (p == NULL)
        return -ENOMEM;
    b->p = p;
    b->cap = cap;
    return 0;
}

int msgbuf_append(msgbuf *b, const void *data, size_t len)
{
    if (msgbuf_reserve(b, len) != 0)
        return -ENOMEM;
    if (len > 0)
        memcpy(b->p + b->len, data, len);
    b->len += len;
    return 0;
}

void msgbuf_free(msgbuf *b)
{
    free(b->p);
    *b = (msgbuf){0};
}

/* ------------------------------------------------------------ messages */

/* Append a part to *m, creating the message for its first part. */
static int add_part(ipcx_msg **m, const void *data, size_t len)
{
    if (*m != NULL)
        return ipcx_msg_append(*m, data, len) < 0 ? -ENOMEM : 0;
    if (ipcx_msg_create(len, m) != 0)
        return -ENOMEM;
    if (len > 0)
        memcpy(ipcx_msg_data(*m, 0, NULL), data, len);
    return 0;
}

int msgfmt_copy(ipcx_msg *m, ipcx_msg **out)
{
    *out = NULL;
    for (size_t i = 0; i < ipcx_msg_parts(m); i++) {
        size_t len;
        const void *d = ipcx_msg_data(m, i, &len);
        if (add_part(out, d, len) != 0) {
            ipcx_msg_destroy(*out);
            *out = NULL;
            return -ENOMEM;
        }
    }
    return 0;
}

size_t msgfmt_size(ipcx_msg *m)
{
    size_t total = 0;
    for (size_t i = 0; i < ipcx_msg_parts(m); i++) {
        size_t len;
        (void)ipcx_msg_data(m, i, &len);
        total += len;
    }
    return total;
}

/* ------------------------------------------------------------ hex, base64 */

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decode @len hex digits into @out (len/2 bytes).  Returns 0 or -EINVAL. */
static int hex_decode(const char *s, size_t len, uint8_t *out, const char **why)
{
    if (len % 2 != 0) {
        *why = "odd number of hex digits";
        return -EINVAL;
    }
    for (size_t i = 0; i < len; i += 2) {
        int hi = hexval(s[i]), lo = hexval(s[i + 1]);
        if (hi < 0 || lo < 0) {
            *why = "not a hex digit";
            return -EINVAL;
        }
        out[i / 2] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int b64val(char c)
{
    const char *p = c != '\0' ? strchr(b64chars, c) : NULL;
    return p != NULL ? (int)(p - b64chars) : -1;
}

/*
 * Decode base64 @s[0, len) into @out (at most len/4*3+3 bytes), padded or
 * not; the bits after the last byte must be zero (one text per message).
 * Returns the byte count or -EINVAL.
 */
static long b64_decode(const char *s, size_t len, uint8_t *out, const char **why)
{
    *why = "invalid base64";
    size_t pad = 0;
    if (len % 4 == 0 && len >= 4) {
        pad = s[len - 1] == '=' ? (s[len - 2] == '=' ? 2 : 1) : 0;
    }
    size_t n = len - pad;
    if (n % 4 == 1)
        return -EINVAL;
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64val(s[i]);
        if (v < 0)
            return -EINVAL;
        acc = (acc << 6 | (uint32_t)v) & 0xffffff;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
        }
    }
    if (bits > 0 && (acc & ((1u << bits) - 1)) != 0)
        return -EINVAL;
    return (long)o;
}

static int b64_encode(const uint8_t *d, size_t len, msgbuf *out)
{
    if (msgbuf_reserve(out, (len + 2) / 3 * 4) != 0)
        return -ENOMEM;
    char *o = out->p + out->len;
    size_t i = 0;
    for (; i + 3 <= len; i += 3) {
        uint32_t v = (uint32_t)d[i] << 16 | (uint32_t)d[i + 1] << 8 | d[i + 2];
        *o++ = b64chars[v >> 18];
        *o++ = b64chars[(v >> 12) & 63];
        *o++ = b64chars[(v >> 6) & 63];
        *o++ = b64chars[v & 63];
    }
    if (i < len) {
        uint32_t v = (uint32_t)d[i] << 16 | (i + 1 < len ? (uint32_t)d[i + 1] << 8 : 0);
        *o++ = b64chars[v >> 18];
        *o++ = b64chars[(v >> 12) & 63];
        *o++ = i + 1 < len ? b64chars[(v >> 6) & 63] : '=';
        *o++ = '=';
    }
    out->len = (size_t)(o - out->p);
    return 0;
}

/* ------------------------------------------------------------ decoding */

/* One part of @fmt (line, raw: the bytes; hex: decoded). */
static int decode_part(int fmt, const char *s, size_t len, ipcx_msg **m, const char **why)
{
    if (fmt != MSGFMT_HEX)
        return add_part(m, s, len);
    uint8_t *tmp = malloc(len / 2 + 1);
    if (tmp == NULL)
        return -ENOMEM;
    int rc = hex_decode(s, len, tmp, why);
    if (rc == 0)
        rc = add_part(m, tmp, len / 2);
    free(tmp);
    return rc;
}

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
        p++;
    return p;
}

/* 1 if [p, end) starts with the literal @lit (after white space). */
static int expect(const char **p, const char *end, const char *lit)
{
    const char *q = skip_ws(*p, end);
    size_t n = strlen(lit);
    if ((size_t)(end - q) < n || memcmp(q, lit, n) != 0)
        return 0;
    *p = q + n;
    return 1;
}

/* One JSON string of base64 (\/ is the only escape base64 can need). */
static int json_part(const char **pp, const char *end, ipcx_msg **m, const char **why)
{
    const char *p = skip_ws(*pp, end);
    if (p == end || *p != '"')
        return -EINVAL;
    const char *s = ++p;
    while (p < end && *p != '"')
        p++;
    if (p == end)
        return -EINVAL;
    size_t len = (size_t)(p - s);
    char *text = malloc(len + 1);
    uint8_t *bytes = malloc(len / 4 * 3 + 3);
    int rc = -ENOMEM;
    if (text != NULL && bytes != NULL) {
        size_t n = 0;
        for (size_t i = 0; i < len; i++) {
            if (s[i] == '\\' && i + 1 < len && s[i + 1] == '/')
                i++;
            text[n++] = s[i];
        }
        long got = b64_decode(text, n, bytes, why);
        rc = got < 0 ? (int)got : add_part(m, bytes, (size_t)got);
    }
    free(text);
    free(bytes);
    *pp = p + 1;
    return rc;
}

static int decode_json(const char *p, size_t len, ipcx_msg **m, const char **why)
{
    const char *end = p + len;
    if (!expect(&p, end, "{") || !expect(&p, end, "\"parts\"") || !expect(&p, end, ":") ||
        !expect(&p, end, "[")) {
        *why = "not a {\"parts\":[...]} object";
        return -EINVAL;
    }
    if (expect(&p, end, "]")) {
        *why = "a message needs at least one part";
        return -EINVAL;
    }
    for (;;) {
        const char *w = "not a {\"parts\":[...]} object";
        int rc = json_part(&p, end, m, &w);
        if (rc != 0) {
            *why = w;
            return rc;
        }
        if (expect(&p, end, ","))
            continue;
        if (expect(&p, end, "]"))
            break;
        *why = "not a {\"parts\":[...]} object";
        return -EINVAL;
    }
    if (!expect(&p, end, "}") || skip_ws(p, end) != end) {
        *why = "not a {\"parts\":[...]} object";
        return -EINVAL;
    }
    return 0;
}

int msgfmt_decode(int fmt, const char *text, size_t len, int split, ipcx_msg **m, const char **why)
{
    ipcx_msg *start = *m;
    *why = "out of memory";
    int rc = 0;
    if (fmt == MSGFMT_JSON) {
        rc = decode_json(text, len, m, why);
    } else if (!split || fmt == MSGFMT_RAW) {
        rc = decode_part(fmt, text, len, m, why);
    } else {
        char sep = fmt == MSGFMT_HEX ? ' ' : '\t';
        const char *p = text, *end = text + len;
        for (;;) {
            const char *q = memchr(p, sep, (size_t)(end - p));
            const char *stop = q != NULL ? q : end;
            rc = decode_part(fmt, p, (size_t)(stop - p), m, why);
            if (rc != 0 || q == NULL)
                break;
            p = q + 1;
        }
    }
    if (rc != 0 && start == NULL) {
        ipcx_msg_destroy(*m);
        *m = NULL;
    }
    return rc;
}

/* ------------------------------------------------------------ encoding */

int msgfmt_encode(int fmt, ipcx_msg *m, msgbuf *out)
{
    static const char hexd[] = "0123456789abcdef";
    size_t n = ipcx_msg_parts(m);
    if (fmt == MSGFMT_JSON && msgbuf_append(out, "{\"parts\":[", 10) != 0)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        size_t len;
        const uint8_t *d = ipcx_msg_data(m, i, &len);
        int rc = 0;
        if (i > 0 && fmt != MSGFMT_RAW) {
            const char *sep = fmt == MSGFMT_JSON ? "," : fmt == MSGFMT_HEX ? " " : "\t";
            rc = msgbuf_append(out, sep, 1);
        }
        if (rc == 0 && fmt == MSGFMT_JSON) {
            rc = msgbuf_append(out, "\"", 1);
            rc = rc != 0 ? rc : b64_encode(d, len, out);
            rc = rc != 0 ? rc : msgbuf_append(out, "\"", 1);
        } else if (rc == 0 && fmt == MSGFMT_HEX) {
            rc = msgbuf_reserve(out, len * 2);
            for (size_t k = 0; rc == 0 && k < len; k++) {
                out->p[out->len++] = hexd[d[k] >> 4];
                out->p[out->len++] = hexd[d[k] & 15];
            }
        } else if (rc == 0) {
            rc = msgbuf_append(out, d, len);
        }
        if (rc != 0)
            return rc;
    }
    if (fmt == MSGFMT_JSON && msgbuf_append(out, "]}", 2) != 0)
        return -ENOMEM;
    return fmt == MSGFMT_RAW ? 0 : msgbuf_append(out, "\n", 1);
}
