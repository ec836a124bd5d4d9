// SPDX-License-Identifier: MIT
/*
 * ipcx ring send|recv|tail NAME and ipcx queue send|recv NAME: create,
 * feed and drain a ring or a queue from a shell, in the formats of
 * `ipcx send` and `ipcx recv` (msgfmt.h: line, hex, raw, json).  A ring
 * record or a queue message is one part; in json a record is
 * {"parts":["<base64>"]}.  Public API only.
 *
 * send: each MSG argument is one record; without any, each line of stdin
 * (all of stdin in raw).  recv: takes the consumer role and prints each
 * record as it comes, until --count records or --timeout seconds without
 * one.  tail: a broadcast ring's new records (or, --from-oldest, every one
 * still kept) without taking any from other consumers.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ipcx/ipcx.h>

#include "cli.h"
#include "msgfmt.h"

enum verb { V_SEND, V_RECV, V_TAIL };

struct shm_opts {
    const char *cmd; /* "ring" or "queue" */
    int queue;
    enum verb verb;
    int fmt;
    int create;
    int broadcast;
    int from_oldest;
    uint64_t capacity;
    int64_t timeout_ns; /* IPCX_FOREVER unless --timeout */
    long count;         /* recv: stop after this many; -1 none */
    uint32_t consumer_id;
    const char *name;
    char **msgs;
    int nmsgs;
};

/* The object both verbs work on. */
struct shm_obj {
    ipcx_ring *ring;
    ipcx_queue *queue;
};

static void usage(FILE *f, const char *cmd)
{
    if (strcmp(cmd, "ring") == 0)
        fputs("usage: ipcx ring send [-f F] [-c [--capacity BYTES] [--broadcast]] [-t S] NAME "
              "[MSG...]\n"
              "       ipcx ring recv [-f F] [-n COUNT] [-t S] [--from-oldest] NAME\n"
              "       ipcx ring tail [-f F] [-n COUNT] [-t S] [--from-oldest] NAME\n\n"
              "Feed, drain or follow the ring NAME from a shell.  send: each MSG is one\n"
              "record; with none, each line of stdin (all of stdin in raw).  recv: take\n"
              "the consumer role and print each record.  tail: follow a broadcast ring\n"
              "(every consumer sees every record, so nothing is taken from others).\n\n",
              f);
    else
        fputs("usage: ipcx queue send [-f F] [-c] [-t S] NAME [MSG...]\n"
              "       ipcx queue recv [-f F] [-n COUNT] [-t S] [--id ID] NAME\n\n"
              "Feed or drain the queue NAME (a durable queue: its directory) from a\n"
              "shell.  send: each MSG is one message; with none, each line of stdin (all\n"
              "of stdin in raw).  recv: take a consumer slot (--id ID: the named slot,\n"
              "which resumes where it stopped) and print each message.\n\n",
              f);
    fputs("  -f, --format F    line (default), hex, raw or json, as for ipcx send/recv\n"
          "  -c, --create      send: create NAME when it does not exist\n"
          "      --capacity B  ring send --create: bytes of record space (default 256K)\n"
          "      --broadcast   ring send --create: every consumer sees every record\n"
          "  -n, --count N     recv/tail: stop after N records\n"
          "  -t, --timeout S   give up after S seconds (send: per record; recv/tail:\n"
          "                    without a record); default: wait forever\n"
          "  -o, --from-oldest ring recv/tail on a broadcast ring: start at the oldest\n"
          "                    record kept instead of the next one sent\n"
          "      --id ID       queue recv: the consumer slot, 1..max_consumers\n"
          "  -h, --help        this text\n\n"
          "Exit status: 0 ok (recv: also when --timeout passed after a record), 1\n"
          "failure or timeout, 2 usage.\n",
          f);
}

static int parse(int argc, char **argv, struct shm_opts *o)
{
    static const struct option opts[] = {
        {"format", required_argument, NULL, 'f'},   {"create", no_argument, NULL, 'c'},
        {"capacity", required_argument, NULL, 'C'}, {"broadcast", no_argument, NULL, 'B'},
        {"count", required_argument, NULL, 'n'},    {"timeout", required_argument, NULL, 't'},
        {"from-oldest", no_argument, NULL, 'o'},    {"id", required_argument, NULL, 'I'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0}};
    int c;
    char *end;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "f:cn:t:oh", opts, NULL)) != -1) {
        switch (c) {
        case 'f':
            if ((o->fmt = msgfmt_from_name(optarg)) < 0)
                return cli_usage_error(o->cmd, "--format is line, hex, raw or json");
            break;
        case 'c':
            o->create = 1;
            break;
        case 'C':
            o->capacity = strtoull(optarg, &end, 10);
            if (end == optarg || *end != '\0' || o->capacity == 0)
                return cli_usage_error(o->cmd, "--capacity takes a number of bytes");
            break;
        case 'B':
            o->broadcast = 1;
            break;
        case 'n':
            o->count = strtol(optarg, &end, 10);
            if (end == optarg || *end != '\0' || o->count < 1)
                return cli_usage_error(o->cmd, "--count takes a positive number");
            break;
        case 't': {
            double s = strtod(optarg, &end);
            if (end == optarg || *end != '\0' || !(s >= 0) || s > 1e6)
                return cli_usage_error(o->cmd, "--timeout takes seconds");
            o->timeout_ns = (int64_t)(s * 1e9);
            break;
        }
        case 'o':
            o->from_oldest = 1;
            break;
        case 'I': {
            unsigned long id = strtoul(optarg, &end, 10);
            if (end == optarg || *end != '\0' || id < 1 || id > 128)
                return cli_usage_error(o->cmd, "--id takes 1 to 128");
            o->consumer_id = (uint32_t)id;
            break;
        }
        case 'h':
            usage(stdout, o->cmd);
            return -1;
        default:
            return cli_usage_error(o->cmd, "unknown option or missing argument");
        }
    }
    if (optind >= argc)
        return cli_usage_error(o->cmd, "missing NAME");
    o->name = argv[optind];
    o->msgs = argv + optind + 1;
    o->nmsgs = argc - optind - 1;
    if (o->verb != V_SEND && o->nmsgs > 0)
        return cli_usage_error(o->cmd, "recv and tail take only NAME");
    return 0;
}

/* ------------------------------------------------------------ opening */

static int open_obj(const struct shm_opts *o, struct shm_obj *x)
{
    int rc;
    if (o->queue) {
        ipcx_queue_opts qo = {.role = o->verb == V_SEND ? IPCX_QUEUE_PRODUCER : IPCX_QUEUE_CONSUMER,
                              .consumer_id = o->consumer_id};
        rc = ipcx_queue_open(o->name, &qo, &x->queue);
        if (rc == -ENOENT && o->create)
            rc = ipcx_queue_create(o->name, &qo, &x->queue);
        if (rc < 0)
            cli_open_error(o->cmd, o->name, rc, "a queue");
        return rc;
    }
    rc = ipcx_ring_open(o->name, &x->ring);
    if (rc == -ENOENT && o->create) {
        ipcx_ring_opts ro = {.capacity = o->capacity,
                             .delivery = o->broadcast ? IPCX_RING_BROADCAST : IPCX_RING_QUEUE};
        rc = ipcx_ring_create(o->name, &ro, &x->ring);
    }
    if (rc == 0 && o->verb == V_SEND)
        rc = ipcx_ring_join(x->ring, IPCX_RING_PRODUCER);
    if (rc == 0 && o->verb == V_TAIL) {
        ipcx_ring_stat st;
        rc = ipcx_ring_stats(x->ring, &st);
        if (rc == 0 && st.delivery != IPCX_RING_BROADCAST) {
            fprintf(stderr,
                    "ipcx: ring: %s delivers each record to one consumer: tail would take "
                    "them from the others (use ipcx ring recv)\n",
                    o->name);
            return -EINVAL;
        }
    }
    if (rc == 0 && o->verb != V_SEND)
        rc = ipcx_ring_join(x->ring, IPCX_RING_CONSUMER |
                                         (o->from_oldest ? (unsigned)IPCX_RING_FROM_OLDEST : 0u));
    if (rc < 0)
        cli_open_error(o->cmd, o->name, rc, "a ring");
    return rc;
}

static void close_obj(struct shm_obj *x)
{
    ipcx_ring_close(x->ring);
    ipcx_queue_close(x->queue);
}

/* ------------------------------------------------------------ send */

static int put(const struct shm_opts *o, struct shm_obj *x, const void *p, size_t len)
{
    int rc = o->queue ? ipcx_queue_send(x->queue, p, len, NULL, o->timeout_ns)
                      : ipcx_ring_send(x->ring, p, len, o->timeout_ns);
    if (rc < 0)
        cli_error(o->cmd, o->name, ipcx_strerror(rc));
    return rc;
}

/* One record of text in o->fmt: decoded, then sent as one part. */
static int put_text(const struct shm_opts *o, struct shm_obj *x, const char *text, size_t len,
                    const char *where)
{
    ipcx_msg *m = NULL;
    const char *why = NULL;
    if (msgfmt_decode(o->fmt, text, len, o->fmt == MSGFMT_JSON, &m, &why) != 0) {
        cli_error(o->cmd, where, why != NULL ? why : "cannot be decoded");
        return -EINVAL;
    }
    int rc;
    if (ipcx_msg_parts(m) != 1) {
        cli_error(o->cmd, where, "a ring record or queue message has exactly one part");
        rc = -EINVAL;
    } else {
        size_t n = 0;
        void *p = ipcx_msg_data(m, 0, &n);
        rc = put(o, x, p, n);
    }
    ipcx_msg_destroy(m);
    return rc;
}

static int send_stdin(const struct shm_opts *o, struct shm_obj *x)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    long lineno = 0;
    int rc = 0;
    if (o->fmt == MSGFMT_RAW) {
        msgbuf all = {0};
        char buf[65536];
        size_t got;
        while ((got = fread(buf, 1, sizeof(buf), stdin)) > 0 && rc == 0)
            rc = msgbuf_append(&all, buf, got);
        if (rc == 0)
            rc = put(o, x, all.p != NULL ? all.p : "", all.len);
        msgbuf_free(&all);
        return rc;
    }
    while (rc >= 0 && (n = getline(&line, &cap, stdin)) >= 0) {
        char where[64];
        snprintf(where, sizeof(where), "stdin line %ld", ++lineno);
        size_t len = (size_t)n;
        if (len > 0 && line[len - 1] == '\n')
            len--;
        if (o->fmt == MSGFMT_HEX && len > 0 && line[len - 1] == '\r')
            len--;
        if (o->fmt == MSGFMT_JSON && strspn(line, " \t\r") >= len)
            continue; /* a blank line between objects */
        rc = put_text(o, x, line, len, where);
    }
    free(line);
    return rc;
}

/* ------------------------------------------------------------ recv */

static int get(const struct shm_opts *o, struct shm_obj *x, msgbuf *b, uint64_t *seq)
{
    for (;;) {
        int n = o->queue ? ipcx_queue_recv(x->queue, b->p, b->cap, seq, o->timeout_ns)
                         : ipcx_ring_recv(x->ring, b->p, b->cap, o->timeout_ns);
        if (n != -EMSGSIZE)
            return n;
        /* The record stays: grow and take it again. */
        if (b->cap >= (1u << 30) || msgbuf_reserve(b, b->cap * 2) != 0)
            return -ENOMEM;
    }
}

static int recv_loop(const struct shm_opts *o, struct shm_obj *x)
{
    msgbuf b = {0}, out = {0};
    if (msgbuf_reserve(&b, 65536) != 0)
        return -ENOMEM;
    long got = 0;
    int rc = 0;
    while (o->count < 0 || got < o->count) {
        uint64_t seq = 0;
        int n = get(o, x, &b, &seq);
        if (n == -EOVERFLOW) {
            fprintf(stderr,
                    "ipcx: %s: %s: %" PRIu64 " records were overwritten before they were read\n",
                    o->cmd, o->name, ipcx_ring_overrun(x->ring));
            continue;
        }
        if (n < 0) {
            if (n != -ETIMEDOUT || got == 0 || o->count > 0) {
                cli_error(o->cmd, o->name, ipcx_strerror(n));
                rc = n;
            }
            break;
        }
        ipcx_msg *m = NULL;
        rc = ipcx_msg_create((size_t)n, &m);
        if (rc < 0)
            break;
        if (n > 0)
            memcpy(ipcx_msg_data(m, 0, NULL), b.p, (size_t)n);
        out.len = 0;
        rc = msgfmt_encode(o->fmt, m, &out);
        ipcx_msg_destroy(m);
        if (rc < 0)
            break;
        if (fwrite(out.p, 1, out.len, stdout) != out.len || fflush(stdout) != 0) {
            rc = -EIO;
            break;
        }
        got++;
    }
    msgbuf_free(&b);
    msgbuf_free(&out);
    return rc;
}

/* ------------------------------------------------------------ entry */

int cli_shm_verb(const char *cmd, int argc, char **argv)
{
    struct shm_opts o = {.cmd = cmd,
                         .queue = strcmp(cmd, "queue") == 0,
                         .fmt = MSGFMT_LINE,
                         .timeout_ns = IPCX_FOREVER,
                         .count = -1};
    if (argc < 1 || argv[0] == NULL)
        return cli_usage_error(cmd, "expects a subcommand");
    if (strcmp(argv[0], "send") == 0)
        o.verb = V_SEND;
    else if (strcmp(argv[0], "recv") == 0)
        o.verb = V_RECV;
    else if (strcmp(argv[0], "tail") == 0 && !o.queue)
        o.verb = V_TAIL;
    else if (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0) {
        usage(stdout, cmd);
        return CLI_OK;
    } else
        return cli_usage_error(cmd, o.queue ? "unknown subcommand (dump, info, send, recv)"
                                            : "unknown subcommand (send, recv, tail)");
    int rc = parse(argc, argv, &o);
    if (rc != 0)
        return rc < 0 ? CLI_OK : rc;
    if (o.queue && o.from_oldest)
        return cli_usage_error(cmd,
                               "--from-oldest is for rings (queue consumers start at the oldest)");
    struct shm_obj x = {0};
    if (open_obj(&o, &x) < 0) {
        close_obj(&x);
        return CLI_FAIL;
    }
    if (o.verb == V_SEND) {
        rc = 0;
        for (int i = 0; i < o.nmsgs && rc >= 0; i++)
            rc = put_text(&o, &x, o.msgs[i], strlen(o.msgs[i]), o.msgs[i]);
        if (o.nmsgs == 0)
            rc = send_stdin(&o, &x);
    } else {
        rc = recv_loop(&o, &x);
    }
    close_obj(&x);
    return rc < 0 ? CLI_FAIL : CLI_OK;
}

int cmd_ring(int argc, char **argv)
{
    return cli_shm_verb("ring", argc - 1, argv + 1);
}
