// SPDX-License-Identifier: MIT
/*
 * ipcx send URL [MSG...]: send messages to any ZeroMQ-compatible peer (an
 * `ipcx recv`, a libzmq program, ...) over tcp:// or unix://.  Each MSG is
 * one message (--multipart: the parts of one); with none, stdin is read
 * and each line (each object in json, all of it in raw) is sent as it
 * arrives.  The command first waits for a peer, and before it exits lets
 * the socket hand what is queued to the kernel (--linger).  With
 * --pattern req every message's reply is printed.
 *
 * While the command waits for stdin it waits in ipcx_poll() on stdin and
 * the socket together, so that peer events are reported as they come.
 * Lines that arrive together are sent back to back, which the socket's
 * automatic batching turns into few system calls.  The socket is exposed
 * (--name) for `ipcx ls` and `ipcx stat`.  Public API only.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "msgsock.h"

/* How long a pub waits after its first subscriber connected, so that the
 * subscriptions it sends right after its handshake are in before the
 * first message (a pub drops messages nobody subscribed to). */
#define PUB_SETTLE_NS 200000000LL

static void usage(FILE *f)
{
    fprintf(f, "usage: ipcx send (--listen | --dial) [options] URL [MSG...]\n\n"
               "Send messages to a ZeroMQ-compatible peer (ipcx recv, libzmq, pyzmq, ...).\n"
               "Each MSG is one single-part message; with no MSG, stdin is read and each\n"
               "line is sent as it arrives (each object in json; all of stdin in raw).\n"
               "URL is tcp://HOST:PORT, unix:///PATH (or ipc:///PATH) or unix://@NAME.\n"
               "The command waits for a first peer, and before exiting for what is\n"
               "queued to be handed to the kernel.\n\n"
               "  -l, --listen             listen on URL\n"
               "  -d, --dial               dial URL (reconnecting when the peer goes away)\n"
               "  -p, --pattern P          pair, push (default), pub or req; req prints each\n"
               "                           message's reply in --format\n"
               "  -f, --format F           line (default): one message per line, parts\n"
               "                           separated by a tab; hex: lowercase hex (either case\n"
               "                           read), parts separated by a space, an empty line is\n"
               "                           an empty message; raw: all of stdin is one message;\n"
               "                           json: {\"parts\":[\"<base64>\",...]} per line\n"
               "  -m, --multipart          the MSG arguments are the parts of one message\n"
               "  -t, --timeout S          give up (exit 1) when no peer came within S seconds,\n"
               "                           a send waited S seconds, or a req reply did not come\n"
               "                           within S seconds (default: wait forever)\n"
               "      --linger S           wait up to S seconds (default 5) at exit for queued\n"
               "                           messages to be handed to the kernel\n"
               "      --max-size BYTES     largest message, all parts together (default 64M;\n"
               "                           k, M and G suffixes)\n"
               "      --handshake-timeout S  drop a connection whose handshake takes longer\n"
               "                           (default 30)\n"
               "      --name NAME          show the socket to ipcx ls and ipcx stat as NAME\n"
               "                           (default ipcx-send-PID)\n" MSGOPT_SECURITY_HELP
               "  -h, --help               show this help\n\n"
               "Exit status: 0 sent, 1 failure (timeout, address in use, ...), 2 usage error.\n");
}

typedef struct sender {
    msgopts o;
    ipcx_socket *s;
    long sent;
    msgbuf out; /* req replies, written to stdout */
} sender;

/* Report a failed call about message number x->sent + 1. */
static int send_failed(sender *x, int rc, const char *doing)
{
    char why[256];
    if (rc == -ETIMEDOUT)
        snprintf(why, sizeof(why), "message %ld: %s: nothing for %g s", x->sent + 1, doing,
                 x->o.timeout_s);
    else if (rc == -EMSGSIZE)
        snprintf(why, sizeof(why), "message %ld: larger than --max-size (%lld bytes)", x->sent + 1,
                 (long long)x->o.max_size);
    else if (rc == -EPIPE)
        snprintf(why, sizeof(why), "message %ld: %s: the peer went away", x->sent + 1, doing);
    else
        snprintf(why, sizeof(why), "message %ld: %s: %s", x->sent + 1, doing, ipcx_strerror(rc));
    cli_error(x->o.cmd, x->o.url, why);
    return CLI_FAIL;
}

/* Drain the socket's news while it is not sending: peer events, and what
 * a pair peer sends us (nobody reads it here; left queued it would keep
 * the socket's fd readable). */
static void service(sender *x)
{
    msgsock_drain_events(&x->o, x->s);
    if (x->o.pattern != IPCX_PAIR)
        return;
    ipcx_msg *m;
    while (ipcx_msg_recv(x->s, &m, IPCX_DONTWAIT) == 0)
        ipcx_msg_destroy(m);
}

static short service_want(const sender *x)
{
    return (short)(IPCX_POLLEVENT | (x->o.pattern == IPCX_PAIR ? IPCX_POLLIN : 0));
}

/* Open the socket; --timeout bounds every send and a req reply too. */
static int open_socket(sender *x)
{
    int rc = msgsock_open(&x->o, IPCX_EV_CONNECTED | IPCX_EV_HANDSHAKE_FAILED, &x->s);
    if (rc != CLI_OK)
        return rc;
    if (ipcx_socket_set(x->s, IPCX_OPT_SEND_TIMEOUT, x->o.timeout_ns) != 0 ||
        ipcx_socket_set(x->s, IPCX_OPT_RECV_TIMEOUT, x->o.timeout_ns) != 0) {
        cli_error(x->o.cmd, "--timeout", "cannot be set");
        return CLI_FAIL;
    }
    return CLI_OK;
}

/* Wait until a first peer has completed its handshake, up to --timeout. */
static int wait_first_peer(sender *x)
{
    int64_t deadline = x->o.timeout_ns < 0 ? -1 : msgsock_now_ns() + x->o.timeout_ns;
    for (;;) {
        ipcx_socket_stats st;
        if (ipcx_socket_stats_get(x->s, &st) == 0 && st.peers > 0)
            break;
        ipcx_event ev;
        int connected = 0;
        while (ipcx_socket_event(x->s, &ev) == 0) {
            if (ev.type == IPCX_EV_CONNECTED)
                connected = 1;
            msgsock_print_event(&x->o, &ev);
        }
        if (connected)
            break;
        int64_t left = deadline < 0 ? -1 : deadline - msgsock_now_ns();
        if (deadline >= 0 && left <= 0) {
            char why[128];
            snprintf(why, sizeof(why), "no peer within %g s", x->o.timeout_s);
            cli_error(x->o.cmd, x->o.url, why);
            return CLI_FAIL;
        }
        /* The event wakes the poll; the stats are looked at again at least
         * once a second all the same. */
        if (left < 0 || left > 1000000000)
            left = 1000000000;
        ipcx_pollitem it = {.socket = x->s, .fd = -1, .events = IPCX_POLLEVENT};
        int rc = ipcx_poll(&it, 1, left);
        if (rc < 0 && rc != -EINTR) {
            cli_error(x->o.cmd, x->o.url, ipcx_strerror(rc));
            return CLI_FAIL;
        }
    }
    if (x->o.pattern == IPCX_PUB) {
        int64_t until = msgsock_now_ns() + PUB_SETTLE_NS;
        for (int64_t left; (left = until - msgsock_now_ns()) > 0;) {
            ipcx_pollitem it = {.socket = x->s, .fd = -1, .events = IPCX_POLLEVENT};
            (void)ipcx_poll(&it, 1, left);
            service(x);
        }
    }
    return CLI_OK;
}

/* Send @m (taken in every case); with req, await and print the reply. */
static int send_one(sender *x, ipcx_msg *m)
{
    int rc;
    do
        rc = ipcx_msg_send(x->s, m, 0);
    while (rc == -EINTR);
    if (rc != 0) {
        ipcx_msg_destroy(m);
        return send_failed(x, rc, "sending");
    }
    if (x->o.pattern == IPCX_REQ) {
        ipcx_msg *r = NULL;
        do
            rc = ipcx_msg_recv(x->s, &r, 0);
        while (rc == -EINTR);
        if (rc != 0)
            return send_failed(x, rc, "waiting for the reply");
        rc = msgfmt_encode(x->o.fmt, r, &x->out);
        ipcx_msg_destroy(r);
        if (rc == 0)
            rc = msgsock_write_out(&x->out, NULL);
        if (rc != 0) {
            if (rc != -EPIPE)
                cli_error(x->o.cmd, "stdout", ipcx_strerror(rc));
            return CLI_FAIL;
        }
    }
    x->sent++;
    return CLI_OK;
}

/* The MSG arguments, all decoded before anything is sent. */
static int send_args(sender *x, int argc, char **argv, int first)
{
    size_t n = (size_t)(argc - first);
    ipcx_msg **msgs = calloc(n, sizeof(*msgs));
    int rc = msgs == NULL ? CLI_FAIL : CLI_OK;
    for (size_t i = 0; rc == CLI_OK && i < n; i++) {
        const char *why;
        ipcx_msg **m = x->o.multipart ? &msgs[0] : &msgs[i];
        const char *a = argv[first + (int)i];
        if (msgfmt_decode(x->o.fmt, a, strlen(a), 0, m, &why) != 0) {
            char msg[512];
            snprintf(msg, sizeof(msg), "MSG %zu: %s", i + 1, why);
            rc = cli_usage_error(x->o.cmd, msg);
        }
    }
    if (msgs == NULL)
        cli_error(x->o.cmd, "MSG", "out of memory");
    for (size_t i = 0; rc == CLI_OK && i < n && msgs[i] != NULL; i++) {
        if (msgfmt_size(msgs[i]) > (size_t)x->o.max_size) {
            x->sent = (long)i;
            rc = send_failed(x, -EMSGSIZE, "");
        }
    }
    if (rc == CLI_OK)
        rc = open_socket(x);
    if (rc == CLI_OK)
        rc = wait_first_peer(x);
    size_t k = 0;
    for (; rc == CLI_OK && k < n && msgs[k] != NULL; k++) {
        rc = send_one(x, msgs[k]);
        msgs[k] = NULL;
    }
    for (size_t i = 0; msgs != NULL && i < n; i++)
        ipcx_msg_destroy(msgs[i]);
    free(msgs);
    return rc;
}

/* Wait until stdin is readable, keeping the socket moving. */
static int wait_stdin(sender *x)
{
    for (;;) {
        ipcx_pollitem it[2] = {
            {.socket = NULL, .fd = STDIN_FILENO, .events = POLLIN},
            {.socket = x->s, .fd = -1, .events = service_want(x)},
        };
        int rc = ipcx_poll(it, 2, -1);
        if (rc < 0 && rc != -EINTR) {
            cli_error(x->o.cmd, x->o.url, ipcx_strerror(rc));
            return CLI_FAIL;
        }
        if (it[1].revents != 0)
            service(x);
        if (it[0].revents != 0)
            return CLI_OK;
    }
}

/* Read what stdin has now onto @in.  Returns 1, 0 at the end, or -1. */
static int read_stdin(sender *x, msgbuf *in)
{
    if (wait_stdin(x) != CLI_OK)
        return -1;
    if (msgbuf_reserve(in, 65536) != 0) {
        cli_error(x->o.cmd, "stdin", "out of memory");
        return -1;
    }
    for (;;) {
        ssize_t n = read(STDIN_FILENO, in->p + in->len, in->cap - in->len);
        if (n > 0) {
            in->len += (size_t)n;
            return 1;
        }
        if (n == 0)
            return 0;
        if (errno == EAGAIN)
            return 1;
        if (errno != EINTR) {
            cli_error(x->o.cmd, "stdin", strerror(errno));
            return -1;
        }
    }
}

/* raw: all of stdin, one message. */
static int send_raw_stdin(sender *x)
{
    msgbuf in = {0};
    int r;
    while ((r = read_stdin(x, &in)) > 0) {
        if (in.len > (size_t)x->o.max_size) {
            cli_error(x->o.cmd, "stdin", "more than --max-size bytes");
            r = -1;
            break;
        }
    }
    ipcx_msg *m = NULL;
    int rc = r < 0 ? CLI_FAIL : CLI_OK;
    if (rc == CLI_OK && ipcx_msg_create(in.len, &m) != 0) {
        cli_error(x->o.cmd, "stdin", "out of memory");
        rc = CLI_FAIL;
    }
    if (rc == CLI_OK) {
        if (in.len > 0)
            memcpy(ipcx_msg_data(m, 0, NULL), in.p, in.len);
        rc = send_one(x, m);
    }
    msgbuf_free(&in);
    return rc;
}

/* One line of stdin (without its newline): decode and send it. */
static int send_record(sender *x, char *rec, size_t len, long lineno)
{
    if (x->o.fmt == MSGFMT_HEX && len > 0 && rec[len - 1] == '\r')
        len--;
    if (x->o.fmt == MSGFMT_JSON && strspn(rec, " \t\r") >= len)
        return CLI_OK; /* a blank line between objects */
    ipcx_msg *m = NULL;
    const char *why;
    if (msgfmt_decode(x->o.fmt, rec, len, 1, &m, &why) != 0) {
        char what[64];
        snprintf(what, sizeof(what), "stdin line %ld", lineno);
        cli_error(x->o.cmd, what, why);
        return CLI_FAIL;
    }
    return send_one(x, m);
}

/* line, hex, json: one message per line of stdin, sent as it arrives. */
static int send_lines(sender *x)
{
    /* A line longer than the longest message in any format is refused
     * rather than collected without bound. */
    size_t cap = (size_t)x->o.max_size * 2 + 65536;
    msgbuf in = {0};
    long lineno = 0;
    int rc = CLI_OK, r = 1;
    while (rc == CLI_OK && r > 0) {
        r = read_stdin(x, &in);
        if (r < 0) {
            rc = CLI_FAIL;
            break;
        }
        size_t start = 0;
        char *nl;
        while (rc == CLI_OK && (nl = memchr(in.p + start, '\n', in.len - start)) != NULL) {
            size_t end = (size_t)(nl - in.p);
            *nl = '\0';
            rc = send_record(x, in.p + start, end - start, ++lineno);
            start = end + 1;
        }
        memmove(in.p, in.p + start, in.len - start);
        in.len -= start;
        if (rc == CLI_OK && r == 0 && in.len > 0) { /* a last line without its newline */
            if (msgbuf_append(&in, "", 1) != 0)
                rc = CLI_FAIL;
            else
                rc = send_record(x, in.p, in.len - 1, ++lineno);
        }
        if (rc == CLI_OK && in.len > cap) {
            char what[64];
            snprintf(what, sizeof(what), "stdin line %ld", lineno + 1);
            cli_error(x->o.cmd, what, "longer than any message of --max-size");
            rc = CLI_FAIL;
        }
    }
    msgbuf_free(&in);
    return rc;
}

int cmd_send(int argc, char **argv)
{
    sender x = {.o = {.cmd = "send"}};
    int first = 0;
    int rc = msgopts_parse(&x.o, MSGOPT_SEND, argc, argv, &first, usage);
    if (rc != CLI_OK || x.o.help) {
        msgopts_free(&x.o);
        return rc;
    }
    (void)signal(SIGPIPE, SIG_IGN); /* a closed stdout is an error from write() */
    if (first < argc) {
        rc = send_args(&x, argc, argv, first);
    } else {
        rc = open_socket(&x);
        if (rc == CLI_OK)
            rc = wait_first_peer(&x);
        if (rc == CLI_OK)
            rc = x.o.fmt == MSGFMT_RAW ? send_raw_stdin(&x) : send_lines(&x);
    }
    if (x.s != NULL) {
        (void)ipcx_socket_set(x.s, IPCX_OPT_SEND_TIMEOUT, -1);
        msgsock_close(&x.o, x.s);
    }
    msgbuf_free(&x.out);
    msgopts_free(&x.o);
    return rc;
}
