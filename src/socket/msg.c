// SPDX-License-Identifier: MIT
/*
 * ipcx_msg, the whole-message type, and the small byte-string sets the
 * socket keeps subscriptions in.  A message owns each part's bytes: a part
 * of up to IPCX__MSG_ARENA bytes lives in the message's own arena while it
 * has room (parts are never freed one by one, so the arena only fills, and
 * a clear empties it), a larger one in a malloc of its own; a zero-length
 * part has none.  ipcx__msg_push() adopts a malloc'd buffer as a part.
 */
#include <stdlib.h>
#include <string.h>

#include "socket/socket_int.h"

int ipcx__msg_push(ipcx_msg *m, uint8_t *data, size_t len)
{
    if (m->n == m->cap) {
        size_t ncap = m->cap * 2;
        sk_part *np;
        if (m->parts == m->inl) {
            np = malloc(ncap * sizeof(*np));
            if (np != NULL)
                memcpy(np, m->inl, sizeof(m->inl));
        } else {
            np = realloc(m->parts, ncap * sizeof(*np));
        }
        if (np == NULL)
            return -ENOMEM;
        m->parts = np;
        m->cap = ncap;
    }
    m->parts[m->n].data = data;
    m->parts[m->n].len = len;
    m->n++;
    return (int)m->n;
}

static ipcx_msg *msg_new(void)
{
    /* Not calloc: the arena needs no zeroing. */
    ipcx_msg *m = malloc(sizeof(*m));
    if (m != NULL) {
        m->n = 0;
        m->parts = m->inl;
        m->cap = IPCX_ARRAY_LEN(m->inl);
        m->arena_used = 0;
    }
    return m;
}

static bool in_arena(const ipcx_msg *m, const uint8_t *d)
{
    /* Compared as integers: pointers into different objects have no order. */
    uintptr_t a = (uintptr_t)m->arena, x = (uintptr_t)d;
    return x >= a && x < a + sizeof(m->arena);
}

/* Room for a part of @len > 0 bytes: in the arena (8-aligned) while it
 * fits, else a malloc.  NULL when out of memory. */
static uint8_t *part_alloc(ipcx_msg *m, size_t len)
{
    size_t at = (m->arena_used + 7) & ~(size_t)7;
    if (len <= sizeof(m->arena) && at <= sizeof(m->arena) - len) {
        m->arena_used = at + len;
        return m->arena + at;
    }
    return malloc(len);
}

static void part_free(ipcx_msg *m, uint8_t *d)
{
    if (d != NULL && !in_arena(m, d))
        free(d);
}

void ipcx__msg_clear(ipcx_msg *m)
{
    for (size_t i = 0; i < m->n; i++)
        part_free(m, m->parts[i].data);
    m->n = 0;
    m->arena_used = 0;
}

IPCX_API int ipcx_msg_create(size_t size, ipcx_msg **out)
{
    if (out == NULL)
        return -EINVAL;
    *out = NULL;
    if (size > ((size_t)1 << 62))
        return -EMSGSIZE;
    ipcx_msg *m = msg_new();
    if (m == NULL)
        return -ENOMEM;
    uint8_t *d = size > 0 ? part_alloc(m, size) : NULL;
    if (size > 0 && d == NULL) {
        free(m);
        return -ENOMEM;
    }
    (void)ipcx__msg_push(m, d, size); /* the first part: in the struct, cannot fail */
    *out = m;
    return 0;
}

IPCX_API int ipcx_msg_append(ipcx_msg *m, const void *data, size_t len)
{
    if (m == NULL || (data == NULL && len > 0))
        return -EINVAL;
    uint8_t *d = NULL;
    size_t mark = m->arena_used;
    if (len > 0) {
        d = part_alloc(m, len);
        if (d == NULL)
            return -ENOMEM;
        memcpy(d, data, len);
    }
    int rc = ipcx__msg_push(m, d, len);
    if (rc < 0) {
        part_free(m, d);
        m->arena_used = mark; /* the room it took, back */
    }
    return rc;
}

IPCX_API size_t ipcx_msg_parts(const ipcx_msg *m)
{
    return m != NULL ? m->n : 0;
}

IPCX_API void *ipcx_msg_data(ipcx_msg *m, size_t i, size_t *len)
{
    if (m == NULL || i >= m->n)
        return NULL;
    if (len != NULL)
        *len = m->parts[i].len;
    /* A zero-length part has no buffer; hand out a valid pointer anyway. */
    return m->parts[i].data != NULL ? (void *)m->parts[i].data : (void *)m;
}

IPCX_API void ipcx_msg_destroy(ipcx_msg *m)
{
    if (m == NULL)
        return;
    ipcx__msg_clear(m);
    if (m->parts != m->inl)
        free(m->parts);
    free(m);
}

ipcx_msg *ipcx__msg_new(void)
{
    return msg_new();
}

/* ------------------------------------------------------------ topics */

int ipcx__topics_add(sk_topics *t, const void *d, size_t len)
{
    if (t->n == t->cap) {
        size_t ncap = t->cap ? t->cap * 2 : 4;
        sk_part *nv = realloc(t->v, ncap * sizeof(*nv));
        if (nv == NULL)
            return -ENOMEM;
        t->v = nv;
        t->cap = ncap;
    }
    uint8_t *c = malloc(len > 0 ? len : 1);
    if (c == NULL)
        return -ENOMEM;
    if (len > 0)
        memcpy(c, d, len);
    t->v[t->n].data = c;
    t->v[t->n].len = len;
    t->n++;
    return 0;
}

bool ipcx__topics_del(sk_topics *t, const void *d, size_t len)
{
    for (size_t i = 0; i < t->n; i++) {
        if (t->v[i].len == len && (len == 0 || memcmp(t->v[i].data, d, len) == 0)) {
            free(t->v[i].data);
            t->v[i] = t->v[--t->n];
            return true;
        }
    }
    return false;
}

bool ipcx__topics_match(const sk_topics *t, const void *d, size_t len)
{
    for (size_t i = 0; i < t->n; i++) {
        size_t tl = t->v[i].len;
        if (tl <= len && (tl == 0 || memcmp(t->v[i].data, d, tl) == 0))
            return true;
    }
    return false;
}

void ipcx__topics_free(sk_topics *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->v[i].data);
    free(t->v);
    memset(t, 0, sizeof(*t));
}
