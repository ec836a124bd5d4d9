// SPDX-License-Identifier: MIT
/*
 * PLAIN (ZeroMQ RFC 24): a user name and a password, in clear text, for
 * trusted networks and tests.  Client: HELLO, then INITIATE after the
 * server's WELCOME; server: WELCOME once the authoriser accepted the
 * HELLO, READY after INITIATE.  After the handshake the frames are NULL's.
 */
#include <string.h>

#include "socket/mech.h"

int ipcx__plain_start(ipcx__mx *m)
{
    const ipcx__sec *s = m->sec;
    uint8_t cred[2 + 255 + 255];
    size_t n = 0;
    cred[n++] = (uint8_t)s->user_len;
    memcpy(cred + n, s->user, s->user_len);
    n += s->user_len;
    cred[n++] = (uint8_t)s->pass_len;
    memcpy(cred + n, s->pass, s->pass_len);
    n += s->pass_len;
    int rc = ipcx__mx_emit_cmd(m, "HELLO", cred, n, NULL, 0);
    memset(cred, 0, sizeof(cred));
    m->state = MX_WELCOME;
    return rc;
}

static int plain_hello(ipcx__mx *m, const uint8_t *body, size_t len)
{
    if (len < 8)
        return ipcx__mx_fail(m, -EPROTO, false, NULL, "PLAIN HELLO too short");
    size_t ul = body[6];
    if (7 + ul + 1 > len)
        return ipcx__mx_fail(m, -EPROTO, false, NULL, "PLAIN HELLO user name past its command");
    size_t pl = body[7 + ul];
    if (8 + ul + pl != len)
        return ipcx__mx_fail(m, -EPROTO, false, NULL, "PLAIN HELLO password size does not match");
    int rc = ipcx__mx_authorise(m, NULL, body + 7, ul, body + 8 + ul, pl);
    if (rc != 0)
        return rc;
    m->state = MX_INITIATE;
    return ipcx__mx_emit_cmd(m, "WELCOME", NULL, 0, NULL, 0);
}

int ipcx__plain_command(ipcx__mx *m, const uint8_t *body, size_t len)
{
    switch (m->state) {
    case MX_HELLO:
        if (!ipcx__mx_is(body, len, "HELLO", 5))
            break;
        return plain_hello(m, body, len);
    case MX_WELCOME:
        if (!ipcx__mx_is(body, len, "WELCOME", 7))
            break;
        if (len != 8)
            return ipcx__mx_fail(m, -EPROTO, false, NULL, "PLAIN WELCOME with a body");
        m->state = MX_READY;
        return ipcx__mx_emit_cmd(m, "INITIATE", m->meta, m->meta_len, NULL, 0);
    case MX_INITIATE:
        if (!ipcx__mx_is(body, len, "INITIATE", 8))
            break;
        if (ipcx__mx_emit_cmd(m, "READY", m->meta, m->meta_len, NULL, 0) != 0)
            return ipcx__mx_fail(m, -ENOMEM, false, NULL, "out of memory");
        return ipcx__mx_deliver_ready(m, body + 9, len - 9);
    case MX_READY:
        if (!ipcx__mx_is(body, len, "READY", 5))
            break;
        return ipcx__mx_deliver_ready(m, body + 6, len - 6);
    default:
        break;
    }
    return ipcx__mx_fail(m, -EPROTO, false, NULL,
                         "unexpected command \"%.*s\" in the PLAIN handshake",
                         (int)(body[0] < len ? body[0] : len - 1), (const char *)body + 1);
}
