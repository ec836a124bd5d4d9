// SPDX-License-Identifier: MIT
/*
 * The codec's tables: error descriptions and the errno each maps to,
 * Socket-Type names and their RFC 37 compatibility, and the READY property
 * walker for callers.
 */
#include "zmtp/zmtp_internal.h"

#include <string.h>
#include <strings.h>

#include "core/core.h"

static const struct {
    const char *text;
    int errnum;
} errs[IPCX_ZMTP_ERR_COUNT_] = {
    [IPCX_ZMTP_OK] = {"no error", 0},
    [IPCX_ZMTP_ERR_SIGNATURE] = {"bad greeting signature (not ZMTP 2.0 or later)", EPROTO},
    [IPCX_ZMTP_ERR_VERSION] = {"peer speaks ZMTP 1.0/2.0; 3.0 or later required", EPROTONOSUPPORT},
    [IPCX_ZMTP_ERR_MECHANISM] = {"security mechanism is not NULL", EPROTONOSUPPORT},
    [IPCX_ZMTP_ERR_AS_SERVER] = {"as-server must be zero with the NULL mechanism", EPROTO},
    [IPCX_ZMTP_ERR_FLAGS] = {"reserved frame flag bits set", EPROTO},
    [IPCX_ZMTP_ERR_COMMAND_MORE] = {"MORE flag on a command frame", EPROTO},
    [IPCX_ZMTP_ERR_SIZE_INVALID] = {"frame size of 2^63 or more", EPROTO},
    [IPCX_ZMTP_ERR_FRAME_BEFORE_READY] = {"message frame before the handshake completed", EPROTO},
    [IPCX_ZMTP_ERR_COMMAND_EMPTY] = {"empty command or command name", EPROTO},
    [IPCX_ZMTP_ERR_COMMAND_NAME] = {"command name longer than its frame", EPROTO},
    [IPCX_ZMTP_ERR_COMMAND_NAME_CHAR] = {"command name is not all letters", EPROTO},
    [IPCX_ZMTP_ERR_UNEXPECTED_COMMAND] = {"command other than READY or ERROR in the handshake",
                                          EPROTO},
    [IPCX_ZMTP_ERR_DUPLICATE_READY] = {"READY after the handshake completed", EPROTO},
    [IPCX_ZMTP_ERR_PROPERTY_NAME] = {"bad metadata property name", EPROTO},
    [IPCX_ZMTP_ERR_PROPERTY_LENGTH] = {"metadata property value runs past its command", EPROTO},
    [IPCX_ZMTP_ERR_PROPERTY_DUPLICATE] = {"Socket-Type or Identity given twice", EPROTO},
    [IPCX_ZMTP_ERR_SOCKET_TYPE] = {"unknown Socket-Type", EPROTO},
    [IPCX_ZMTP_ERR_IDENTITY_SIZE] = {"Identity longer than 255 octets", EPROTO},
    [IPCX_ZMTP_ERR_IDENTITY_RESERVED] = {"Identity starts with a zero octet (reserved)", EPROTO},
    [IPCX_ZMTP_ERR_ERROR_MALFORMED] = {"malformed ERROR command", EPROTO},
    [IPCX_ZMTP_ERR_PING_MALFORMED] = {"malformed PING command", EPROTO},
    [IPCX_ZMTP_ERR_PONG_MALFORMED] = {"malformed PONG command", EPROTO},
    [IPCX_ZMTP_ERR_PEER_ERROR] = {"peer sent ERROR; the connection is finished", EPROTO},
    [IPCX_ZMTP_ERR_FRAME_TOO_LARGE] = {"frame larger than max_frame_size", EMSGSIZE},
    [IPCX_ZMTP_ERR_MESSAGE_TOO_LARGE] = {"multipart message larger than max_message_size",
                                         EMSGSIZE},
    [IPCX_ZMTP_ERR_TOO_MANY_FRAMES] = {"more frames in a message than max_frames", EMSGSIZE},
    [IPCX_ZMTP_ERR_COMMAND_TOO_LARGE] = {"command larger than max_command_size", EMSGSIZE},
    [IPCX_ZMTP_ERR_METADATA_TOO_LARGE] = {"READY metadata larger than max_metadata_size", EMSGSIZE},
};

const char *ipcx_zmtp_strerror(int err)
{
    if (err < 0 || err >= IPCX_ZMTP_ERR_COUNT_)
        return "unknown zmtp error";
    return errs[err].text;
}

int ipcx__zmtp_err_errno(int err)
{
    if (err <= 0 || err >= IPCX_ZMTP_ERR_COUNT_)
        return -EPROTO;
    return -errs[err].errnum;
}

static const char *const socket_names[IPCX_ZMTP_SOCKET_COUNT_] = {
    [IPCX_ZMTP_SOCKET_PAIR] = "PAIR",     [IPCX_ZMTP_SOCKET_PUB] = "PUB",
    [IPCX_ZMTP_SOCKET_SUB] = "SUB",       [IPCX_ZMTP_SOCKET_REQ] = "REQ",
    [IPCX_ZMTP_SOCKET_REP] = "REP",       [IPCX_ZMTP_SOCKET_DEALER] = "DEALER",
    [IPCX_ZMTP_SOCKET_ROUTER] = "ROUTER", [IPCX_ZMTP_SOCKET_PULL] = "PULL",
    [IPCX_ZMTP_SOCKET_PUSH] = "PUSH",     [IPCX_ZMTP_SOCKET_XPUB] = "XPUB",
    [IPCX_ZMTP_SOCKET_XSUB] = "XSUB",     [IPCX_ZMTP_SOCKET_STREAM] = "STREAM",
    [IPCX_ZMTP_SOCKET_SERVER] = "SERVER", [IPCX_ZMTP_SOCKET_CLIENT] = "CLIENT",
    [IPCX_ZMTP_SOCKET_RADIO] = "RADIO",   [IPCX_ZMTP_SOCKET_DISH] = "DISH",
    [IPCX_ZMTP_SOCKET_GATHER] = "GATHER", [IPCX_ZMTP_SOCKET_SCATTER] = "SCATTER",
    [IPCX_ZMTP_SOCKET_PEER] = "PEER",     [IPCX_ZMTP_SOCKET_CHANNEL] = "CHANNEL",
};

const char *ipcx_zmtp_socket_name(int socket_type)
{
    if (socket_type <= IPCX_ZMTP_SOCKET_NONE || socket_type >= IPCX_ZMTP_SOCKET_COUNT_)
        return NULL;
    return socket_names[socket_type];
}

int ipcx__zmtp_socket_from_name(const uint8_t *s, size_t n)
{
    for (int t = IPCX_ZMTP_SOCKET_NONE + 1; t < IPCX_ZMTP_SOCKET_COUNT_; t++) {
        const char *name = socket_names[t];
        if (strlen(name) == n && memcmp(name, s, n) == 0)
            return t;
    }
    return IPCX_ZMTP_SOCKET_COUNT_;
}

/* The partner each socket type may talk to, from RFC 37's table. */
static int pair_ok(int a, int b)
{
    switch (a) {
    case IPCX_ZMTP_SOCKET_REQ:
        return b == IPCX_ZMTP_SOCKET_REP || b == IPCX_ZMTP_SOCKET_ROUTER;
    case IPCX_ZMTP_SOCKET_REP:
        return b == IPCX_ZMTP_SOCKET_REQ || b == IPCX_ZMTP_SOCKET_DEALER;
    case IPCX_ZMTP_SOCKET_DEALER:
        return b == IPCX_ZMTP_SOCKET_REP || b == IPCX_ZMTP_SOCKET_DEALER ||
               b == IPCX_ZMTP_SOCKET_ROUTER;
    case IPCX_ZMTP_SOCKET_ROUTER:
        return b == IPCX_ZMTP_SOCKET_REQ || b == IPCX_ZMTP_SOCKET_DEALER ||
               b == IPCX_ZMTP_SOCKET_ROUTER;
    case IPCX_ZMTP_SOCKET_PUB:
    case IPCX_ZMTP_SOCKET_XPUB:
        return b == IPCX_ZMTP_SOCKET_SUB || b == IPCX_ZMTP_SOCKET_XSUB;
    case IPCX_ZMTP_SOCKET_SUB:
    case IPCX_ZMTP_SOCKET_XSUB:
        return b == IPCX_ZMTP_SOCKET_PUB || b == IPCX_ZMTP_SOCKET_XPUB;
    case IPCX_ZMTP_SOCKET_PUSH:
        return b == IPCX_ZMTP_SOCKET_PULL;
    case IPCX_ZMTP_SOCKET_PULL:
        return b == IPCX_ZMTP_SOCKET_PUSH;
    case IPCX_ZMTP_SOCKET_CLIENT:
        return b == IPCX_ZMTP_SOCKET_SERVER;
    case IPCX_ZMTP_SOCKET_SERVER:
        return b == IPCX_ZMTP_SOCKET_CLIENT;
    case IPCX_ZMTP_SOCKET_RADIO:
        return b == IPCX_ZMTP_SOCKET_DISH;
    case IPCX_ZMTP_SOCKET_DISH:
        return b == IPCX_ZMTP_SOCKET_RADIO;
    case IPCX_ZMTP_SOCKET_SCATTER:
        return b == IPCX_ZMTP_SOCKET_GATHER;
    case IPCX_ZMTP_SOCKET_GATHER:
        return b == IPCX_ZMTP_SOCKET_SCATTER;
    case IPCX_ZMTP_SOCKET_PAIR:
    case IPCX_ZMTP_SOCKET_PEER:
    case IPCX_ZMTP_SOCKET_CHANNEL:
        return b == a;
    default:
        return 0;
    }
}

int ipcx_zmtp_socket_compatible(int a, int b)
{
    return pair_ok(a, b);
}

int ipcx_zmtp_prop_next(const void *meta, size_t len, size_t *pos, ipcx_zmtp_prop *p)
{
    if ((!meta && len) || !pos || !p)
        return -EINVAL;
    int rc = ipcx__zmtp_prop_walk(meta, len, pos, p);
    return rc < 0 ? -EPROTO : rc;
}

int ipcx_zmtp_prop_find(const void *meta, size_t len, const char *name, ipcx_zmtp_prop *p)
{
    if (!name || !p)
        return 0;
    size_t pos = 0, nl = strlen(name);
    ipcx_zmtp_prop q;
    while (ipcx_zmtp_prop_next(meta, len, &pos, &q) > 0) {
        if (q.name_len == nl && strncasecmp(q.name, name, nl) == 0) {
            *p = q;
            return 1;
        }
    }
    return 0;
}
