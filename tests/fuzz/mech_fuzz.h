/* SPDX-License-Identifier: MIT */
/*
 * The body of the PLAIN and CURVE handshake fuzz targets (plain_fuzz.c,
 * curve_fuzz.c): one mechanism core (src/socket/mech.h) - no sockets, no
 * I/O - fed the input as the bytes its peer sent.
 *
 * Input: octet 0 the configuration, then the stream.
 *   bit 0     the target is the server (else the client)
 *   bits 1-2  0: the input is the whole stream (greeting first)
 *             1: a valid greeting from a real peer core first, then the input
 *             2: a whole real handshake with a peer core first (so the
 *                input lands on an established connection)
 *             3: as 2, and the input is plain frames the peer seals first
 *                (CURVE: every MESSAGE opens; PLAIN: as 2): octets
 *                [flags][size][size bytes]...
 *   bit 3     feed one octet per call (else all at once, then the rest)
 *   bit 4     a frame limit of 256 octets (else 1 MiB)
 *   bit 5     PLAIN server: the authoriser refuses; CURVE server: the
 *             allow-list does not hold the client's key
 * Checks: no crash, no leak (ASan), a failure always has a reason and
 * stays failed, the stream handed to the decoder never outgrows what came
 * in (plus the synthesised greeting and READY).
 */
#ifndef IPCX_TESTS_MECH_FUZZ_H
#define IPCX_TESTS_MECH_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ipcx/zmtp.h>

#include "socket/mech.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const uint8_t fz_meta[] = "\x0bSocket-Type\x00\x00\x00\x04PAIR";

static int fz_auth(void *arg, const ipcx_auth_request *rq)
{
    (void)rq;
    return *(const int *)arg;
}

/* Hand @from's pending output to @to.  Returns what @to said. */
static int fz_pass(ipcx__mx *from, ipcx__mx *to)
{
    ipcx__buf *t = &from->tx;
    size_t used = 0;
    int rc = 0;
    if (t->len > t->pos)
        rc = ipcx__mx_input(to, t->d + t->pos, t->len - t->pos, &used);
    t->pos = t->len = 0;
    return rc;
}

static void fz_abort_if(int cond)
{
    if (cond)
        abort();
}

static int fz_run(int mech, const uint8_t *data, size_t size)
{
    static ipcx__sec ssec, csec;
    static int ready;
    static int refuse;
    if (!ready) {
        if (ipcx__sodium_init() != 0)
            return 0;
        ssec.server = true;
        (void)ipcx_curve_keypair(ssec.pub, ssec.sec);
        (void)ipcx_curve_keypair(csec.pub, csec.sec);
        memcpy(csec.server_key, ssec.pub, 32);
        ssec.have_pub = ssec.have_sec = csec.have_pub = csec.have_sec = true;
        csec.have_server_key = true;
        memcpy(csec.user, "user", 4);
        csec.user_len = 4;
        memcpy(csec.pass, "secret", 6);
        csec.pass_len = 6;
        uint8_t other[32] = {1};
        (void)ipcx__keylist_add(&ssec.allow, other);
        ready = 1;
    }
    if (size < 1)
        return 0;
    uint8_t cfg = data[0];
    data++;
    size--;
    bool server = cfg & 1;
    int mode = (cfg >> 1) & 3;
    ssec.mech = csec.mech = mech;
    refuse = (cfg & 0x20) != 0;
    ssec.auth = fz_auth;
    ssec.auth_arg = &refuse;
    if (mech == IPCX__MECH_CURVE) {
        ssec.auth = NULL;
        ssec.allow.n = refuse ? 1 : 0; /* the list holds another key only */
    }
    ipcx__mx_cfg tc = {.sec = server ? &ssec : &csec,
                       .meta = fz_meta,
                       .meta_len = sizeof(fz_meta) - 1,
                       .max_msg = (cfg & 0x10) ? 256 : (1u << 20),
                       .peer = "fuzz"};
    ipcx__mx_cfg pc = tc;
    pc.sec = server ? &csec : &ssec;
    ipcx__mx *t = NULL, *p = NULL;
    if (ipcx__mx_create(&tc, &t) != 0)
        return 0;
    size_t fed = 0;
    if (mode > 0) {
        if (ipcx__mx_create(&pc, &p) != 0) {
            ipcx__mx_destroy(t);
            return 0;
        }
        /* Greetings both ways; for modes 2-3 the whole handshake. */
        ipcx__buf *g = &p->tx;
        size_t used = 0;
        (void)ipcx__mx_input(t, g->d, 64, &used);
        fed += 64;
        memmove(g->d, g->d + 64, g->len - 64);
        g->len -= 64;
        if (mode >= 2) {
            for (int round = 0; round < 8; round++) {
                fed += p->tx.len - p->tx.pos;
                (void)fz_pass(t, p);
                (void)fz_pass(p, t);
            }
        }
    }
    /* The input (mode 3: sealed by the peer first). */
    ipcx__buf sealed = {0};
    const uint8_t *in = data;
    size_t inlen = size;
    if (mode == 3 && p != NULL && p->state == MX_ACTIVE && mech == IPCX__MECH_CURVE) {
        ipcx__buf plain = {0};
        for (size_t i = 0; i + 2 <= size;) {
            uint8_t fl = data[i] & (IPCX_ZMTP_FLAG_MORE | IPCX_ZMTP_FLAG_COMMAND);
            size_t n = data[i + 1];
            if (i + 2 + n > size)
                n = size - i - 2;
            if (ipcx__buf_reserve(&plain, n + 2) != 0)
                break;
            plain.d[plain.len] = fl;
            plain.d[plain.len + 1] = (uint8_t)n;
            memcpy(plain.d + plain.len + 2, data + i + 2, n);
            plain.len += n + 2;
            i += 2 + n;
        }
        if (plain.len > 0 && ipcx__mx_seal(p, plain.d, plain.len, &sealed) == 0) {
            in = sealed.d;
            inlen = sealed.len;
        }
        ipcx__buf_free(&plain, false);
    }
    fed += inlen;
    size_t pos = 0;
    uint8_t *acc = malloc(inlen + 1);
    size_t acc_len = 0, acc_pos = 0;
    while (acc != NULL && pos < inlen && t->state != MX_FAILED) {
        size_t n = (cfg & 8) ? 1 : inlen - pos;
        memcpy(acc + acc_len, in + pos, n);
        acc_len += n;
        pos += n;
        size_t used = 0;
        int rc = ipcx__mx_input(t, acc + acc_pos, acc_len - acc_pos, &used);
        fz_abort_if(used > acc_len - acc_pos);
        acc_pos += used;
        fz_abort_if(rc != 0 && (t->state != MX_FAILED || t->reason[0] == '\0'));
        t->tx.pos = t->tx.len = 0; /* what the target says goes nowhere */
    }
    if (getenv("FZ_TRACE"))
        fprintf(stderr, "mech %d cfg %02x: state %d plain %zu reason %s\n", mech, cfg, t->state,
                t->plain.len, t->reason);
    fz_abort_if(t->plain.len > fed + 64 + 6 + 9 + sizeof(fz_meta) + 9 * (fed / 2 + 1));
    if (t->state == MX_FAILED) {
        size_t used = 0;
        fz_abort_if(ipcx__mx_input(t, (const uint8_t *)"x", 1, &used) == 0);
    }
    free(acc);
    ipcx__buf_free(&sealed, false);
    ipcx__mx_destroy(p);
    ipcx__mx_destroy(t);
    return 0;
}

#endif /* IPCX_TESTS_MECH_FUZZ_H */
