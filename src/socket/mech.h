/* SPDX-License-Identifier: MIT */
/*
 * Security mechanisms of ZMTP 3.1: PLAIN (RFC 24) and CURVE (RFC 25/26).
 *
 * Design notes.  A secured connection is a layer under the pipe's ZMTP
 * decoder.  The mechanism core (`ipcx__mx`, mech.c, mech_plain.c,
 * mech_curve.c) does no I/O: it is fed the raw bytes of the connection,
 * answers the handshake into `tx`, and produces in `plain` the stream the
 * NULL-mechanism decoder expects - a NULL greeting with the peer's
 * version, a READY carrying the metadata the peer sent inside the
 * mechanism's handshake, then the peer's frames (for CURVE, each MESSAGE
 * opened and checked).  The decoder thus validates the metadata and the
 * frames exactly as for NULL.  Output under CURVE is plain ZMTP frames in
 * the pipe's `out`; the flush seals them into MESSAGE commands
 * (ipcx__mech_flush), so messages queued before the handshake, or kept
 * for a reconnection, are sealed with the keys of the connection that
 * carries them.  The glue (mech.c, the ipcx__mech_* functions) runs under
 * the socket's mutex, as the pipe does.
 *
 * Every primitive is libsodium's (crypto_box, crypto_secretbox,
 * randombytes_buf, sodium_memzero).  Nonces are exactly RFC 26's; the
 * short nonces a peer sends must grow strictly (replay and reordering
 * fail), and every secret (long-term, short-term, cookie key, the
 * precomputed box key) is wiped when the connection or socket goes.
 */
#ifndef IPCX_SRC_SOCKET_MECH_H
#define IPCX_SRC_SOCKET_MECH_H

#include <ipcx/security.h>
#include <ipcx/socket.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { IPCX__MECH_NULL = 0, IPCX__MECH_PLAIN = 1, IPCX__MECH_CURVE = 2 };

/* Largest handshake command body (READY / INITIATE metadata included). */
#define IPCX__MECH_CMD_MAX (64u << 10)
/* Bytes a sealed MESSAGE adds to a frame at most (header, name, nonce,
 * MAC, flags). */
#define IPCX__MECH_SEAL_OVER 42u

typedef struct ipcx__keylist {
    uint8_t (*keys)[32];
    size_t n, cap;
} ipcx__keylist;

/* A socket's security settings (ipcx_socket.sec; NULL: the NULL mechanism). */
typedef struct ipcx__sec {
    int mech;
    bool server;
    uint8_t user[255], pass[255];
    size_t user_len, pass_len;
    uint8_t pub[32], sec[32], server_key[32];
    bool have_pub, have_sec, have_server_key;
    ipcx__keylist allow;
    ipcx_auth_fn auth;
    void *auth_arg;
} ipcx__sec;

/* A growable byte buffer: bytes [pos, len) are pending. */
typedef struct ipcx__buf {
    uint8_t *d;
    size_t pos, len, cap;
} ipcx__buf;

int ipcx__buf_reserve(ipcx__buf *b, size_t more);
void ipcx__buf_free(ipcx__buf *b, bool wipe);

/* The mechanism of one connection. */
typedef struct ipcx__mx_cfg {
    const ipcx__sec *sec;
    const uint8_t *meta; /* our READY properties */
    size_t meta_len;
    uint64_t max_msg; /* largest frame body accepted */
    const char *peer; /* for the authoriser */
} ipcx__mx_cfg;

enum { MX_GREETING = 0, MX_HELLO, MX_WELCOME, MX_INITIATE, MX_READY, MX_ACTIVE, MX_FAILED };

typedef struct ipcx__mx {
    int mech;
    bool server;
    int state;
    int err;
    char reason[128];
    bool refused;    /* a client the authoriser turned away */
    ipcx__buf tx;    /* to send: greeting, handshake commands, ERROR */
    ipcx__buf plain; /* for the decoder */
    const ipcx__sec *sec;
    uint8_t *meta;
    size_t meta_len;
    uint64_t max_msg;
    char peer[128];
    int peer_minor;
    /* CURVE */
    uint8_t cn_public[32], cn_secret[32]; /* our short-term pair */
    uint8_t peer_cn[32];                  /* the peer's short-term public key */
    uint8_t peer_long[32];                /* client: the server's key; server: the client's */
    uint8_t cookie_key[32];               /* server: for this connection's cookie */
    uint8_t cookie[96];                   /* client: the server's cookie */
    uint8_t box_key[32];                  /* crypto_box_beforenm(peer_cn, cn_secret) */
    uint64_t tx_nonce;                    /* the short nonce sent last */
    uint64_t rx_nonce;                    /* the peer's last short nonce */
    /* glue (mech.c): raw input not yet taken, sealed output not yet written */
    ipcx__buf raw;
    ipcx__buf sealed;
} ipcx__mx;

int ipcx__mx_create(const ipcx__mx_cfg *c, ipcx__mx **out);
void ipcx__mx_destroy(ipcx__mx *m);
/* Take the whole units at the front of @b (the greeting, then frames):
 * returns 0 and sets *used, or a negative errno (sticky, reason set). */
int ipcx__mx_input(ipcx__mx *m, const uint8_t *b, size_t len, size_t *used);
/* CURVE: seal the plain ZMTP frames of @s (whole frames, trusted: ours)
 * into MESSAGE commands appended to @out.  Returns 0 or -ENOMEM/-EPROTO. */
int ipcx__mx_seal(ipcx__mx *m, const uint8_t *s, size_t len, ipcx__buf *out);
/* Fail: sticky, with a reason (and an ERROR for the peer when @tell). */
int ipcx__mx_fail(ipcx__mx *m, int err, bool tell, const char *why, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* mech.c: the parts of the core shared by PLAIN and CURVE */
int ipcx__mx_emit_cmd(ipcx__mx *m, const char *name, const void *a, size_t alen, const void *b,
                      size_t blen);
int ipcx__mx_deliver_ready(ipcx__mx *m, const uint8_t *meta, size_t len);
int ipcx__mx_authorise(ipcx__mx *m, const uint8_t *key, const uint8_t *user, size_t ulen,
                       const uint8_t *pass, size_t plen);

/* mech_plain.c, mech_curve.c: one command of the handshake (name checked
 * by the caller to be a command; @body is the whole command body). */
int ipcx__plain_start(ipcx__mx *m);
int ipcx__plain_command(ipcx__mx *m, const uint8_t *body, size_t len);
int ipcx__curve_init(ipcx__mx *m);
int ipcx__curve_start(ipcx__mx *m);
int ipcx__curve_command(ipcx__mx *m, const uint8_t *body, size_t len);
int ipcx__curve_message(ipcx__mx *m, const uint8_t *body, size_t len);

/* keys.c */
int ipcx__sodium_init(void);
int ipcx__keylist_add(ipcx__keylist *list, const uint8_t key[32]);
bool ipcx__keylist_has(const ipcx__keylist *list, const uint8_t key[32]);
void ipcx__keylist_free(ipcx__keylist *list);
int ipcx__keylist_load(ipcx__keylist *list, const char *path);
void ipcx__sec_free(ipcx__sec *sec);

/* Does command @body (a command frame's body) have the name @name? */
static inline bool ipcx__mx_is(const uint8_t *body, size_t len, const char *name, size_t nlen)
{
    return len >= nlen + 1 && body[0] == nlen && __builtin_memcmp(body + 1, name, nlen) == 0;
}

#endif /* IPCX_SRC_SOCKET_MECH_H */
