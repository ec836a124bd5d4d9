/* SPDX-License-Identifier: MIT */
/*
 * What `ipcx send` and `ipcx recv` share: their options, the socket they
 * open (pattern, limits, listen or dial), writing to stdout, and closing
 * with the --linger the user asked for.
 */
#ifndef IPCX_TOOL_MSGSOCK_H
#define IPCX_TOOL_MSGSOCK_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <ipcx/ipcx.h>

#include "msgfmt.h"

/* Options of both commands; the parser fills in the defaults. */
typedef struct msgopts {
    const char *cmd; /* "send" or "recv" */
    const char *url;
    int listen, dial;
    int pattern;
    int fmt;
    int multipart;
    int64_t timeout_ns; /* -1: none */
    double timeout_s;
    int64_t linger_ns;
    int64_t max_size;
    int64_t hs_timeout_ns;
    long count; /* 0: no limit */
    const char **subs;
    size_t nsubs;
    const char *reply;
    const char *name; /* --name: the region ipcx ls and stat see */
    /* security (docs/security.md) */
    const char *curve_server; /* our secret-key file: a CURVE server */
    const char *curve_client; /* the server's public key (Z85 or a file): a CURVE client */
    const char *curve_secret; /* a CURVE client's own secret-key file (default: a fresh pair) */
    const char *curve_allow;  /* a CURVE server's allow-list, a file or directory */
    const char *plain_user, *plain_pass; /* a PLAIN client */
    const char *plain_server;            /* USER:PASSWORD: a PLAIN server accepting that one */
    int help;
} msgopts;

/* The --help lines of the security options, the same for both commands. */
#define MSGOPT_SECURITY_HELP                                                                       \
    "      --curve-server KEYFILE  be a CURVE server (encrypted, RFC 26) with the\n"               \
    "                           secret key of KEYFILE (ipcx keygen -s; mode 0600)\n"               \
    "      --curve-allow PATH   with --curve-server: accept only the public keys of\n"             \
    "                           PATH, a file or a directory of files\n"                            \
    "      --curve-client KEY   be a CURVE client of the server whose public key is\n"             \
    "                           KEY (40 characters of Z85, or a file holding it)\n"                \
    "      --curve-secret KEYFILE  with --curve-client: our own key pair (default: a\n"            \
    "                           new one for this run)\n"                                           \
    "      --plain-user USER, --plain-password PASSWORD\n"                                         \
    "                           be a PLAIN client (clear text: trusted networks only)\n"           \
    "      --plain-server USER:PASSWORD  be a PLAIN server accepting that user\n"

/* The long options a command accepts, besides --help. */
enum {
    MSGOPT_SEND = 1, /* --multipart */
    MSGOPT_RECV = 2, /* --count --subscribe --reply */
};

/*
 * Parse argv for command @o->cmd.  Leaves the positional arguments at
 * argv[*first, argc).  Returns CLI_OK (o->help set when --help was asked
 * for), or CLI_USAGE after printing why.
 */
int msgopts_parse(msgopts *o, int which, int argc, char **argv, int *first, void (*usage)(FILE *f));

/* Free what msgopts_parse() allocated. */
void msgopts_free(msgopts *o);

/* The pattern named @name, or -1. */
int msgopts_pattern(const char *name);

/* Name of pattern @p. */
const char *msgopts_pattern_name(int p);

/*
 * Open the socket: pattern, --max-size, --handshake-timeout, the events
 * in @events, subscriptions (sub), then listen on or dial o->url.
 * Returns CLI_OK with *@out set, CLI_USAGE (an unknown scheme or a
 * malformed URL) or CLI_FAIL after printing why.
 */
int msgsock_open(const msgopts *o, int events, ipcx_socket **out);

/* Set IPCX_OPT_LINGER from --linger and close @s. */
void msgsock_close(const msgopts *o, ipcx_socket *s);

/* Print a peer event worth telling the user (a handshake failure that
 * is not just a peer hanging up) to stderr. */
void msgsock_print_event(const msgopts *o, const ipcx_event *ev);

/* Take the peer events queued on @s, printing those worth it. */
void msgsock_drain_events(const msgopts *o, ipcx_socket *s);

/*
 * Write all of @b to stdout and empty it.  A signal that interrupts the
 * write is retried unless *@stop is set then.  Returns 0 or -errno.
 */
int msgsock_write_out(msgbuf *b, const volatile sig_atomic_t *stop);

/* CLOCK_MONOTONIC now, in nanoseconds. */
int64_t msgsock_now_ns(void);

#endif /* IPCX_TOOL_MSGSOCK_H */
