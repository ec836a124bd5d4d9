// SPDX-License-Identifier: MIT
/*
 * The half of `ipcx send` and `ipcx recv` they share (msgsock.h): option
 * parsing with every check that makes a usage error, the socket set-up,
 * peer-event diagnostics, stdout writes that a signal can cut short, and
 * the close with --linger.  Public API only.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "msgsock.h"

static const struct {
    const char *name;
    int pattern;
} patterns[] = {
    {"pair", IPCX_PAIR}, {"push", IPCX_PUSH}, {"pull", IPCX_PULL}, {"pub", IPCX_PUB},
    {"sub", IPCX_SUB},   {"req", IPCX_REQ},   {"rep", IPCX_REP},
};

int msgopts_pattern(const char *name)
{
    for (size_t i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++)
        if (strcmp(name, patterns[i].name) == 0)
            return patterns[i].pattern;
    return -1;
}

const char *msgopts_pattern_name(int p)
{
    for (size_t i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++)
        if (patterns[i].pattern == p)
            return patterns[i].name;
    return "?";
}

int64_t msgsock_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ------------------------------------------------------------ parsing */

/* Seconds, a non-negative decimal number (fractions allowed). */
static int parse_seconds(const char *s, double *secs, int64_t *ns)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !(v >= 0 && v <= 1e9))
        return -1;
    *secs = v;
    *ns = (int64_t)(v * 1e9 + 0.5);
    return 0;
}

/* Bytes: a decimal count, optionally with k, M or G (binary multiples). */
static int parse_bytes(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || v < 0 || s[0] == '-')
        return -1;
    int shift = 0;
    if (*end == 'k' || *end == 'K')
        shift = 10;
    else if (*end == 'm' || *end == 'M')
        shift = 20;
    else if (*end == 'g' || *end == 'G')
        shift = 30;
    if (shift != 0)
        end++;
    if (*end != '\0' || v > (INT32_MAX >> shift))
        return -1;
    *out = (int64_t)v << shift;
    return 0;
}

static int parse_count(const char *s, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < 1)
        return -1;
    *out = v;
    return 0;
}

static int bad_value(const char *cmd, const char *opt, const char *val, const char *want)
{
    char msg[512];
    snprintf(msg, sizeof(msg), "--%s %s: %s", opt, val, want);
    return cli_usage_error(cmd, msg);
}

enum {
    OPT_LINGER = 1000,
    OPT_MAX_SIZE,
    OPT_HS_TIMEOUT,
    OPT_NAME,
    OPT_CURVE_SERVER,
    OPT_CURVE_CLIENT,
    OPT_CURVE_SECRET,
    OPT_CURVE_ALLOW,
    OPT_PLAIN_USER,
    OPT_PLAIN_PASS,
    OPT_PLAIN_SERVER,
};

/* One option (not --help); CLI_OK or CLI_USAGE. */
static int one_option(msgopts *o, int opt, const char *arg)
{
    const char *cmd = o->cmd;
    switch (opt) {
    case 'l':
        o->listen = 1;
        return CLI_OK;
    case 'd':
        o->dial = 1;
        return CLI_OK;
    case 'm':
        o->multipart = 1;
        return CLI_OK;
    case 'p':
        o->pattern = msgopts_pattern(arg);
        return o->pattern < 0 ? bad_value(cmd, "pattern", arg,
                                          "not one of pair, push, pull, pub, sub, req, rep")
                              : CLI_OK;
    case 'f':
        o->fmt = msgfmt_from_name(arg);
        return o->fmt < 0 ? bad_value(cmd, "format", arg, "not one of line, hex, raw, json")
                          : CLI_OK;
    case 't':
        return parse_seconds(arg, &o->timeout_s, &o->timeout_ns) != 0
                   ? bad_value(cmd, "timeout", arg, "not a number of seconds")
                   : CLI_OK;
    case OPT_LINGER: {
        double ignored;
        return parse_seconds(arg, &ignored, &o->linger_ns) != 0
                   ? bad_value(cmd, "linger", arg, "not a number of seconds")
                   : CLI_OK;
    }
    case OPT_HS_TIMEOUT: {
        double secs;
        if (parse_seconds(arg, &secs, &o->hs_timeout_ns) != 0 || o->hs_timeout_ns <= 0)
            return bad_value(cmd, "handshake-timeout", arg, "not a positive number of seconds");
        return CLI_OK;
    }
    case OPT_MAX_SIZE:
        return parse_bytes(arg, &o->max_size) != 0
                   ? bad_value(cmd, "max-size", arg, "not a byte count (at most 2 GiB - 1)")
                   : CLI_OK;
    case 'n':
        return parse_count(arg, &o->count) != 0
                   ? bad_value(cmd, "count", arg, "not a positive number")
                   : CLI_OK;
    case 's':
        o->subs[o->nsubs++] = arg;
        return CLI_OK;
    case OPT_NAME:
        o->name = arg;
        return ipcx_region_name_valid(arg) != 0
                   ? bad_value(cmd, "name", arg, "not a region name ([A-Za-z0-9._-], at most 200)")
                   : CLI_OK;
    case 'r':
        o->reply = arg;
        return CLI_OK;
    case OPT_CURVE_SERVER:
        o->curve_server = arg;
        return CLI_OK;
    case OPT_CURVE_CLIENT:
        o->curve_client = arg;
        return CLI_OK;
    case OPT_CURVE_SECRET:
        o->curve_secret = arg;
        return CLI_OK;
    case OPT_CURVE_ALLOW:
        o->curve_allow = arg;
        return CLI_OK;
    case OPT_PLAIN_USER:
        o->plain_user = arg;
        return strlen(arg) > 255 ? bad_value(cmd, "plain-user", arg, "longer than 255 bytes")
                                 : CLI_OK;
    case OPT_PLAIN_PASS:
        o->plain_pass = arg;
        return strlen(arg) > 255 ? bad_value(cmd, "plain-password", "...", "longer than 255 bytes")
                                 : CLI_OK;
    case OPT_PLAIN_SERVER:
        o->plain_server = arg;
        return strchr(arg, ':') == NULL ? bad_value(cmd, "plain-server", arg, "not USER:PASSWORD")
                                        : CLI_OK;
    default:
        return cli_usage_error(cmd, "unknown option");
    }
}

/* The checks that need every option: one of --listen/--dial, a pattern
 * that can do what the command does, options of other patterns. */
static int check_combination(msgopts *o, int which)
{
    const char *cmd = o->cmd;
    if (o->listen == o->dial)
        return cli_usage_error(cmd, o->listen ? "--listen and --dial exclude each other"
                                              : "one of --listen and --dial is required");
    int p = o->pattern;
    int sends = p == IPCX_PAIR || p == IPCX_PUSH || p == IPCX_PUB || p == IPCX_REQ;
    int recvs = p == IPCX_PAIR || p == IPCX_PULL || p == IPCX_SUB || p == IPCX_REP;
    if ((which == MSGOPT_SEND && !sends) || (which == MSGOPT_RECV && !recvs)) {
        char msg[128];
        snprintf(msg, sizeof(msg), "--pattern %s cannot %s (%s)", msgopts_pattern_name(p), cmd,
                 which == MSGOPT_SEND ? "use pair, push, pub or req"
                                      : "use pair, pull, sub or rep");
        return cli_usage_error(cmd, msg);
    }
    if (o->nsubs > 0 && p != IPCX_SUB)
        return cli_usage_error(cmd, "--subscribe needs --pattern sub");
    if (o->reply != NULL && p != IPCX_REP)
        return cli_usage_error(cmd, "--reply needs --pattern rep");
    int mechs = (o->curve_server != NULL) + (o->curve_client != NULL) +
                (o->plain_user != NULL || o->plain_pass != NULL) + (o->plain_server != NULL);
    if (mechs > 1)
        return cli_usage_error(cmd, "--curve-server, --curve-client, --plain-user/--plain-password "
                                    "and --plain-server exclude each other");
    if (o->curve_allow != NULL && o->curve_server == NULL)
        return cli_usage_error(cmd, "--curve-allow needs --curve-server");
    if (o->curve_secret != NULL && o->curve_client == NULL)
        return cli_usage_error(cmd, "--curve-secret needs --curve-client");
    const char *why;
    for (size_t i = 0; i < o->nsubs; i++) {
        ipcx_msg *m = NULL;
        if (o->fmt == MSGFMT_HEX &&
            msgfmt_decode(MSGFMT_HEX, o->subs[i], strlen(o->subs[i]), 0, &m, &why) != 0)
            return bad_value(cmd, "subscribe", o->subs[i], why);
        ipcx_msg_destroy(m);
    }
    if (o->reply != NULL) {
        ipcx_msg *m = NULL;
        if (msgfmt_decode(o->fmt, o->reply, strlen(o->reply), 1, &m, &why) != 0)
            return bad_value(cmd, "reply", o->reply, why);
        ipcx_msg_destroy(m);
    }
    return CLI_OK;
}

/* The URL's scheme is one ipcx knows (the library may still refuse it). */
static int check_scheme(const msgopts *o)
{
    static const char *const known[] = {"tcp://", "unix://", "ipc://", "shm://"};
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if (strncmp(o->url, known[i], strlen(known[i])) == 0)
            return CLI_OK;
    char msg[512];
    snprintf(msg, sizeof(msg), "%s: unknown URL scheme (use tcp://, unix:// or ipc://)", o->url);
    return cli_usage_error(o->cmd, msg);
}

int msgopts_parse(msgopts *o, int which, int argc, char **argv, int *first, void (*usage)(FILE *f))
{
    static const struct {
        struct option opt;
        int which; /* MSGOPT_SEND, MSGOPT_RECV or both */
    } all[] = {
        {{"listen", no_argument, NULL, 'l'}, MSGOPT_SEND | MSGOPT_RECV},
        {{"dial", no_argument, NULL, 'd'}, MSGOPT_SEND | MSGOPT_RECV},
        {{"pattern", required_argument, NULL, 'p'}, MSGOPT_SEND | MSGOPT_RECV},
        {{"format", required_argument, NULL, 'f'}, MSGOPT_SEND | MSGOPT_RECV},
        {{"timeout", required_argument, NULL, 't'}, MSGOPT_SEND | MSGOPT_RECV},
        {{"linger", required_argument, NULL, OPT_LINGER}, MSGOPT_SEND | MSGOPT_RECV},
        {{"max-size", required_argument, NULL, OPT_MAX_SIZE}, MSGOPT_SEND | MSGOPT_RECV},
        {{"handshake-timeout", required_argument, NULL, OPT_HS_TIMEOUT}, MSGOPT_SEND | MSGOPT_RECV},
        {{"name", required_argument, NULL, OPT_NAME}, MSGOPT_SEND | MSGOPT_RECV},
        {{"help", no_argument, NULL, 'h'}, MSGOPT_SEND | MSGOPT_RECV},
        {{"curve-server", required_argument, NULL, OPT_CURVE_SERVER}, MSGOPT_SEND | MSGOPT_RECV},
        {{"curve-client", required_argument, NULL, OPT_CURVE_CLIENT}, MSGOPT_SEND | MSGOPT_RECV},
        {{"curve-secret", required_argument, NULL, OPT_CURVE_SECRET}, MSGOPT_SEND | MSGOPT_RECV},
        {{"curve-allow", required_argument, NULL, OPT_CURVE_ALLOW}, MSGOPT_SEND | MSGOPT_RECV},
        {{"plain-user", required_argument, NULL, OPT_PLAIN_USER}, MSGOPT_SEND | MSGOPT_RECV},
        {{"plain-password", required_argument, NULL, OPT_PLAIN_PASS}, MSGOPT_SEND | MSGOPT_RECV},
        {{"plain-server", required_argument, NULL, OPT_PLAIN_SERVER}, MSGOPT_SEND | MSGOPT_RECV},
        {{"multipart", no_argument, NULL, 'm'}, MSGOPT_SEND},
        {{"count", required_argument, NULL, 'n'}, MSGOPT_RECV},
        {{"subscribe", required_argument, NULL, 's'}, MSGOPT_RECV},
        {{"reply", required_argument, NULL, 'r'}, MSGOPT_RECV},
    };
    enum { NOPTS = sizeof(all) / sizeof(all[0]) };
    struct option opts[NOPTS + 1];
    size_t k = 0;
    for (size_t i = 0; i < NOPTS; i++)
        if (all[i].which & which)
            opts[k++] = all[i].opt;
    opts[k] = (struct option){NULL, 0, NULL, 0};
    const char *shorts = which == MSGOPT_SEND ? ":ldp:f:t:mh" : ":ldp:f:t:n:s:r:h";

    o->pattern = which == MSGOPT_SEND ? IPCX_PUSH : IPCX_PULL;
    o->fmt = MSGFMT_LINE;
    o->timeout_ns = -1;
    o->linger_ns = 5000000000LL;
    o->max_size = (int64_t)64 << 20;
    o->hs_timeout_ns = 30000000000LL;
    o->subs = calloc((size_t)argc + 1, sizeof(*o->subs));
    if (o->subs == NULL) {
        cli_error(o->cmd, "options", "out of memory");
        return CLI_FAIL;
    }
    optind = 1;
    opterr = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, shorts, opts, NULL)) != -1) {
        if (opt == 'h') {
            usage(stdout);
            o->help = 1;
            return CLI_OK;
        }
        if (opt == '?' || opt == ':') {
            char msg[300], word[3] = {'-', (char)optopt, '\0'};
            int short_opt = optopt > ' ' && optopt < 127 && strchr(shorts, optopt) == NULL;
            const char *w = opt == '?' && short_opt ? word : argv[optind - 1];
            snprintf(msg, sizeof(msg),
                     opt == ':' ? "option %s needs an argument" : "unknown option %s", w);
            return cli_usage_error(o->cmd, msg);
        }
        if (one_option(o, opt, optarg) != CLI_OK)
            return CLI_USAGE;
    }
    if (check_combination(o, which) != CLI_OK)
        return CLI_USAGE;
    if (optind >= argc)
        return cli_usage_error(o->cmd, "missing URL");
    o->url = argv[optind];
    *first = optind + 1;
    if (which == MSGOPT_RECV && optind + 1 < argc)
        return cli_usage_error(o->cmd, "too many arguments (recv takes only the URL)");
    return check_scheme(o);
}

void msgopts_free(msgopts *o)
{
    free(o->subs);
    o->subs = NULL;
}

/* ------------------------------------------------------------ the socket */

static int set_int(const msgopts *o, ipcx_socket *s, int opt, int64_t v, const char *what)
{
    int rc = ipcx_socket_set(s, opt, v);
    if (rc != 0)
        cli_error(o->cmd, what, ipcx_strerror(rc));
    return rc;
}

static int subscribe(const msgopts *o, ipcx_socket *s)
{
    if (o->nsubs == 0) /* sub with no --subscribe receives everything */
        return ipcx_socket_set_bytes(s, IPCX_OPT_SUBSCRIBE, "", 0);
    for (size_t i = 0; i < o->nsubs; i++) {
        const char *why;
        ipcx_msg *m = NULL;
        int rc = msgfmt_decode(o->fmt == MSGFMT_HEX ? MSGFMT_HEX : MSGFMT_LINE, o->subs[i],
                               strlen(o->subs[i]), 0, &m, &why);
        if (rc == 0) {
            size_t len;
            const void *d = ipcx_msg_data(m, 0, &len);
            rc = ipcx_socket_set_bytes(s, IPCX_OPT_SUBSCRIBE, d, len);
        }
        ipcx_msg_destroy(m);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Publish the socket for `ipcx ls` and `ipcx stat` (--name, or
 * ipcx-<command>-<pid>).  Only a warning when it cannot: the messages
 * matter more than the figures. */
static void expose(const msgopts *o, ipcx_socket *s)
{
    char name[64];
    if (o->name == NULL)
        snprintf(name, sizeof(name), "ipcx-%s-%d", o->cmd, (int)getpid());
    const char *n = o->name != NULL ? o->name : name;
    int rc = ipcx_socket_expose(s, n);
    if (rc != 0) {
        char what[300];
        snprintf(what, sizeof(what), "--name %s", n);
        cli_error(o->cmd, what, ipcx_strerror(rc));
    }
}

/* --plain-server USER:PASSWORD: that one user gets in. */
static int plain_one(void *arg, const ipcx_auth_request *rq)
{
    const char *up = arg, *colon = strchr(up, ':');
    size_t ul = (size_t)(colon - up), pl = strlen(colon + 1);
    return rq->username_len == ul && memcmp(rq->username, up, ul) == 0 && rq->password_len == pl &&
                   memcmp(rq->password, colon + 1, pl) == 0
               ? 0
               : -1;
}

/* The --curve-* and --plain-* options. */
static int security(const msgopts *o, ipcx_socket *s)
{
    int rc = 0;
    const char *what = NULL;
    if (o->curve_server != NULL) {
        what = o->curve_server;
        rc = ipcx_socket_curve_keyfile(s, o->curve_server);
        if (rc == 0)
            rc = ipcx_socket_set(s, IPCX_OPT_CURVE_SERVER, 1);
        if (rc == 0 && o->curve_allow != NULL) {
            what = o->curve_allow;
            rc = ipcx_socket_curve_allow(s, o->curve_allow);
        }
    } else if (o->curve_client != NULL) {
        uint8_t key[IPCX_CURVE_KEY_SIZE], pub[IPCX_CURVE_KEY_SIZE], sec[IPCX_CURVE_KEY_SIZE];
        what = o->curve_client;
        rc = ipcx_curve_key_parse(key, o->curve_client, strlen(o->curve_client));
        if (rc != 0)
            rc = ipcx_curve_public_file_read(o->curve_client, key);
        if (rc == 0 && o->curve_secret != NULL) {
            what = o->curve_secret;
            rc = ipcx_socket_curve_keyfile(s, o->curve_secret);
        } else if (rc == 0) {
            rc = ipcx_curve_keypair(pub, sec); /* an open server takes any client key */
            if (rc == 0)
                rc = ipcx_socket_set_bytes(s, IPCX_OPT_CURVE_SECRETKEY, sec, sizeof(sec));
            memset(sec, 0, sizeof(sec));
        }
        if (rc == 0)
            rc = ipcx_socket_set_bytes(s, IPCX_OPT_CURVE_SERVERKEY, key, sizeof(key));
    } else if (o->plain_user != NULL || o->plain_pass != NULL) {
        const char *u = o->plain_user ? o->plain_user : "",
                   *pw = o->plain_pass ? o->plain_pass : "";
        what = "--plain-user";
        rc = ipcx_socket_set_bytes(s, IPCX_OPT_PLAIN_USERNAME, u, strlen(u));
        if (rc == 0)
            rc = ipcx_socket_set_bytes(s, IPCX_OPT_PLAIN_PASSWORD, pw, strlen(pw));
    } else if (o->plain_server != NULL) {
        what = "--plain-server";
        rc = ipcx_socket_set(s, IPCX_OPT_PLAIN_SERVER, 1);
        if (rc == 0)
            rc = ipcx_socket_set_auth(s, plain_one, (void *)o->plain_server);
    }
    if (rc != 0) {
        const char *why = rc == -EACCES   ? "group or others may read it (chmod 600)"
                          : rc == -EINVAL ? "not a CURVE key or key file"
                                          : ipcx_strerror(rc);
        cli_error(o->cmd, what, why);
    }
    return rc;
}

int msgsock_open(const msgopts *o, int events, ipcx_socket **out)
{
    ipcx_socket *s = NULL;
    *out = NULL;
    int rc = ipcx_socket_open(o->pattern, &s);
    if (rc != 0) {
        cli_error(o->cmd, "socket", ipcx_strerror(rc));
        return CLI_FAIL;
    }
    if (set_int(o, s, IPCX_OPT_MAX_MSG_SIZE, o->max_size, "--max-size") != 0 ||
        set_int(o, s, IPCX_OPT_HANDSHAKE_TIMEOUT, o->hs_timeout_ns, "--handshake-timeout") != 0 ||
        set_int(o, s, IPCX_OPT_EVENTS, events, "events") != 0) {
        ipcx_socket_close(s);
        return CLI_FAIL;
    }
    if (security(o, s) != 0) {
        ipcx_socket_close(s);
        return CLI_FAIL;
    }
    if (o->pattern == IPCX_SUB && (rc = subscribe(o, s)) != 0) {
        cli_error(o->cmd, "--subscribe", ipcx_strerror(rc));
        ipcx_socket_close(s);
        return CLI_FAIL;
    }
    rc = o->listen ? ipcx_listen(s, o->url) : ipcx_dial(s, o->url);
    if (rc != 0) {
        int usage = rc == -EPROTONOSUPPORT || rc == -EINVAL;
        const char *why = rc == -EPROTONOSUPPORT ? "unsupported URL scheme"
                          : rc == -EINVAL        ? "malformed URL"
                                                 : ipcx_strerror(rc);
        if (rc == -ENOENT) /* the library's word covers regions and rings too */
            why = strncmp(o->url, "tcp://", 6) == 0 ? "host not found" : "no such directory";
        if (usage) {
            char msg[512];
            snprintf(msg, sizeof(msg), "%s: %s", o->url, why);
            cli_usage_error(o->cmd, msg);
        } else {
            cli_error(o->cmd, o->url, why);
        }
        ipcx_socket_close(s);
        return usage ? CLI_USAGE : CLI_FAIL;
    }
    expose(o, s);
    *out = s;
    return CLI_OK;
}

void msgsock_close(const msgopts *o, ipcx_socket *s)
{
    if (s == NULL)
        return;
    (void)ipcx_socket_set(s, IPCX_OPT_LINGER, o->linger_ns);
    ipcx_socket_close(s);
}

void msgsock_print_event(const msgopts *o, const ipcx_event *ev)
{
    /* A peer that hung up during the handshake (a port probe, a second
     * listener checking that this one is alive) is no news. */
    if (ev->type != IPCX_EV_HANDSHAKE_FAILED || ev->err == -EPIPE || ev->err == -ECONNRESET)
        return;
    char what[512], why[512];
    if (ev->peer[0] != '\0')
        snprintf(what, sizeof(what), "%s peer %s", ev->endpoint, ev->peer);
    else if (ev->peer_pid >= 0)
        snprintf(what, sizeof(what), "%s peer pid %lld", ev->endpoint, (long long)ev->peer_pid);
    else
        snprintf(what, sizeof(what), "%s", ev->endpoint);
    snprintf(why, sizeof(why), "handshake failed: %s",
             ev->reason[0] != '\0' ? ev->reason : ipcx_strerror(ev->err));
    cli_error(o->cmd, what, why);
}

void msgsock_drain_events(const msgopts *o, ipcx_socket *s)
{
    ipcx_event ev;
    while (ipcx_socket_event(s, &ev) == 0)
        msgsock_print_event(o, &ev);
}

int msgsock_write_out(msgbuf *b, const volatile sig_atomic_t *stop)
{
    size_t off = 0;
    int rc = 0;
    while (off < b->len) {
        ssize_t n = write(STDOUT_FILENO, b->p + off, b->len - off);
        if (n >= 0) {
            off += (size_t)n;
        } else if (errno == EINTR) {
            if (stop != NULL && *stop) {
                rc = -EINTR;
                break;
            }
        } else if (errno == EAGAIN) {
            struct pollfd pf = {.fd = STDOUT_FILENO, .events = POLLOUT};
            (void)poll(&pf, 1, -1);
        } else {
            rc = -errno;
            break;
        }
    }
    b->len = 0;
    return rc;
}
