// SPDX-License-Identifier: MIT
/*
 * ipcx recv URL: print the messages a ZeroMQ-compatible peer (`ipcx send`,
 * a libzmq program, ...) sends over tcp:// or unix://, one per line in
 * --format, as they arrive.  It runs until --count messages came, until no
 * message came for --timeout seconds (exit 1), or until SIGINT or SIGTERM
 * (exit 0) - never because a peer left or misbehaved: a dialer
 * reconnects, a listener keeps serving the others.  With --pattern rep
 * each request is printed and answered (--reply, or an echo).
 *
 * Signals: the handlers (here, never in the library) set a flag and write
 * to a pipe that the wait polls beside the socket, so a signal that comes
 * between two waits is not missed; the library's own waits return -EINTR.
 * The socket is exposed (--name) for `ipcx ls` and `ipcx stat`.  Public
 * API only.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "msgsock.h"

#define OUT_FLUSH (64u << 10) /* write stdout once this much is collected */

static void usage(FILE *f)
{
    fprintf(f, "usage: ipcx recv (--listen | --dial) [options] URL\n\n"
               "Print the messages a ZeroMQ-compatible peer (ipcx send, libzmq, pyzmq, ...)\n"
               "sends, as they arrive, until --count messages came, no message came for\n"
               "--timeout seconds (exit 1), or SIGINT/SIGTERM (exit 0).  A peer that leaves\n"
               "or misbehaves never ends the command.\n"
               "URL is tcp://HOST:PORT, unix:///PATH (or ipc:///PATH) or unix://@NAME.\n\n"
               "  -l, --listen             listen on URL (a stale unix:// socket file is\n"
               "                           replaced; a live listener is never displaced)\n"
               "  -d, --dial               dial URL (reconnecting when the peer goes away)\n"
               "  -p, --pattern P          pair, pull (default), sub or rep\n"
               "  -f, --format F           line (default): one message per line, parts\n"
               "                           separated by a tab; hex: lowercase hex, parts\n"
               "                           separated by a space; raw: the bytes, no delimiter;\n"
               "                           json: {\"parts\":[\"<base64>\",...]} per line\n"
               "  -n, --count N            exit 0 after N messages (rep: after answering the Nth)\n"
               "  -t, --timeout S          exit 1 when no message came for S seconds (counted\n"
               "                           from the last message)\n"
               "  -s, --subscribe PREFIX   sub: receive messages starting with PREFIX (hex with\n"
               "                           --format hex); repeatable; none: every message\n"
               "  -r, --reply DATA         rep: answer every request with DATA, read in --format\n"
               "                           (default: echo the request)\n"
               "      --linger S           wait up to S seconds (default 5) at exit for queued\n"
               "                           replies to be handed to the kernel\n"
               "      --max-size BYTES     largest message, all parts together (default 64M;\n"
               "                           k, M and G suffixes); a peer sending more is dropped\n"
               "      --handshake-timeout S  drop a connection whose handshake takes longer\n"
               "                           (default 30)\n"
               "      --name NAME          show the socket to ipcx ls and ipcx stat as NAME\n"
               "                           (default ipcx-recv-PID)\n" MSGOPT_SECURITY_HELP
               "  -h, --help               show this help\n\n"
               "Exit status: 0 done or interrupted, 1 failure (timeout, address in use, ...),\n"
               "2 usage error.\n");
}

/* Written by the signal handler, read by the loop: sig_atomic_t is the one
 * type C11 lets a handler store to (7.14.1.1); the pipe wakes the poll. */
static volatile sig_atomic_t stopped;
static int sig_pipe[2] = {-1, -1};

static void on_signal(int sig)
{
    (void)sig;
    int saved = errno;
    stopped = 1;
    if (write(sig_pipe[1], "", 1) < 0) {
        /* the pipe is full: a wake-up is already pending */
    }
    errno = saved;
}

/* SIGINT and SIGTERM end the command (exit 0), interrupting a wait. */
static int install_signals(const char *cmd)
{
    if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
        cli_error(cmd, "signals", strerror(errno));
        return CLI_FAIL;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: a blocking wait returns -EINTR */
    (void)sigaction(SIGINT, &sa, NULL);
    (void)sigaction(SIGTERM, &sa, NULL);
    (void)signal(SIGPIPE, SIG_IGN);
    return CLI_OK;
}

static void close_signals(void)
{
    for (int i = 0; i < 2; i++) {
        if (sig_pipe[i] >= 0)
            close(sig_pipe[i]);
        sig_pipe[i] = -1;
    }
}

typedef struct receiver {
    msgopts o;
    ipcx_socket *s;
    ipcx_msg *reply; /* --reply, decoded; NULL: echo */
    long got;
    int64_t last_ns;
    msgbuf out;
} receiver;

static int flush_out(receiver *x)
{
    int rc = msgsock_write_out(&x->out, &stopped);
    if (rc == 0 || rc == -EINTR)
        return CLI_OK; /* -EINTR: stopped, the loop sees it */
    if (rc != -EPIPE)  /* a reader that went away is no news */
        cli_error(x->o.cmd, "stdout", ipcx_strerror(rc));
    return CLI_FAIL;
}

/* rep: answer the request just printed (@m is taken). */
static void answer(receiver *x, ipcx_msg *m)
{
    ipcx_msg *r = m;
    if (x->reply != NULL) {
        ipcx_msg_destroy(m);
        if (msgfmt_copy(x->reply, &r) != 0) {
            cli_error(x->o.cmd, "reply", "out of memory");
            return;
        }
    }
    int rc = ipcx_msg_send(x->s, r, 0);
    if (rc != 0) {
        ipcx_msg_destroy(r);
        char what[64];
        snprintf(what, sizeof(what), "reply to request %ld", x->got + 1);
        cli_error(x->o.cmd, what, ipcx_strerror(rc)); /* the peer's loss, not ours */
    }
}

/* Print (and answer) every message that is there now.  Returns CLI_OK
 * (*@done set once --count messages came) or CLI_FAIL. */
static int take_messages(receiver *x, int *done)
{
    for (;;) {
        ipcx_msg *m = NULL;
        int rc = ipcx_msg_recv(x->s, &m, IPCX_DONTWAIT);
        if (rc == -EAGAIN || rc == -EINTR)
            break;
        if (rc != 0) {
            cli_error(x->o.cmd, x->o.url, ipcx_strerror(rc));
            return CLI_FAIL;
        }
        x->last_ns = msgsock_now_ns();
        if (msgfmt_encode(x->o.fmt, m, &x->out) != 0) {
            ipcx_msg_destroy(m);
            cli_error(x->o.cmd, "output", "out of memory");
            return CLI_FAIL;
        }
        if (x->o.pattern == IPCX_REP)
            answer(x, m);
        else
            ipcx_msg_destroy(m);
        x->got++;
        if (x->o.count > 0 && x->got >= x->o.count) {
            *done = 1;
            break;
        }
        if (x->out.len >= OUT_FLUSH && flush_out(x) != CLI_OK)
            return CLI_FAIL;
        if (stopped)
            break;
    }
    return flush_out(x);
}

static int run(receiver *x)
{
    x->last_ns = msgsock_now_ns();
    for (;;) {
        int done = 0;
        if (take_messages(x, &done) != CLI_OK)
            return CLI_FAIL;
        if (done || stopped)
            return CLI_OK;
        msgsock_drain_events(&x->o, x->s);
        int64_t left = -1;
        if (x->o.timeout_ns >= 0) {
            left = x->last_ns + x->o.timeout_ns - msgsock_now_ns();
            if (left <= 0) {
                char why[128];
                snprintf(why, sizeof(why), "no message for %g s", x->o.timeout_s);
                cli_error(x->o.cmd, x->o.url, why);
                return CLI_FAIL;
            }
        }
        ipcx_pollitem it[2] = {
            {.socket = x->s, .fd = -1, .events = IPCX_POLLIN | IPCX_POLLEVENT},
            {.socket = NULL, .fd = sig_pipe[0], .events = POLLIN},
        };
        int rc = ipcx_poll(it, 2, left);
        if (rc < 0 && rc != -EINTR) {
            cli_error(x->o.cmd, x->o.url, ipcx_strerror(rc));
            return CLI_FAIL;
        }
    }
}

int cmd_recv(int argc, char **argv)
{
    receiver x = {.o = {.cmd = "recv"}};
    int first = 0;
    int rc = msgopts_parse(&x.o, MSGOPT_RECV, argc, argv, &first, usage);
    if (rc == CLI_OK && !x.o.help && x.o.reply != NULL) {
        const char *why; /* checked by msgopts_parse: only memory can fail */
        if (msgfmt_decode(x.o.fmt, x.o.reply, strlen(x.o.reply), 1, &x.reply, &why) != 0) {
            cli_error(x.o.cmd, "--reply", why);
            rc = CLI_FAIL;
        }
    }
    if (rc == CLI_OK && !x.o.help)
        rc = install_signals(x.o.cmd);
    if (rc == CLI_OK && !x.o.help)
        rc = msgsock_open(&x.o, IPCX_EV_HANDSHAKE_FAILED, &x.s);
    if (rc == CLI_OK && !x.o.help)
        rc = run(&x);
    msgsock_close(&x.o, x.s);
    close_signals();
    ipcx_msg_destroy(x.reply);
    msgbuf_free(&x.out);
    msgopts_free(&x.o);
    return rc;
}
