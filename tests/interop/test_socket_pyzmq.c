// SPDX-License-Identifier: MIT
/*
 * socket interop with pyzmq: the ipcx socket in this process, a Python
 * program (tests/interop/pyzmq_peer.py, Debian python3-zmq) on the other
 * side.  Three conversations - pyzmq PUSH to ipcx PULL, ipcx REQ to pyzmq
 * REP, pyzmq PUB to ipcx SUB - over tcp:// and ipc://, with ipcx
 * listening and Python dialling and the reverse; every message checked
 * byte for byte (multipart, an empty part, an empty message, 16 MiB).
 *
 * The interpreter is the one CMake found able to `import zmq` at configure
 * time (IPCX_PYZMQ_PYTHON).  Without one every test is skipped, and says
 * why.  The script's stdin and stdout are pipes to this test: "ep <url>"
 * when it listens, "synced" (the subscription reached the PUB) and "fin"
 * both ways at the end.  Every wait is bounded.
 */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ipcx/ipcx.h>

#ifndef IPCX_PYZMQ_PYTHON
#define IPCX_PYZMQ_PYTHON ""
#endif
#ifndef IPCX_PYZMQ_PEER
#define IPCX_PYZMQ_PEER ""
#endif

#define WAIT_MS 5000
#define WAIT_NS ((int64_t)WAIT_MS * 1000000)
#define BIG     (16u << 20)

typedef struct pycase {
    const char *name;
    const char *kind; /* the script's socket: push, rep, pub */
    int pattern;      /* ours */
    bool tcp;
    bool ipcx_listens;
} pycase;

static uint8_t *g_big;

static struct {
    pid_t child;
    int to_py, from_py;
    ipcx_socket *s;
    char path[128];
} g;

/* ------------------------------------------------------------ messages */

typedef struct part {
    const void *data;
    size_t len;
} part;

/* The script's messages() (PUSH and REP). */
static size_t expected(int i, part *p)
{
    static uint8_t bin[256];
    for (int k = 0; k < 256; k++)
        bin[k] = (uint8_t)k;
    switch (i) {
    case 0:
        p[0] = (part){"hello", 5};
        return 1;
    case 1:
        p[0] = (part){"first", 5};
        p[1] = (part){"", 0};
        p[2] = (part){"third", 5};
        return 3;
    case 2:
        p[0] = (part){bin, 256};
        return 1;
    case 3:
        p[0] = (part){"", 0};
        return 1;
    case 4:
        p[0] = (part){g_big, BIG};
        return 1;
    case 5:
        p[0] = (part){"bye", 3};
        return 1;
    default:
        return 0;
    }
}

/* Receive one whole message and check it is exactly @want[0..n). */
static void expect_msg(ipcx_socket *s, const part *want, size_t n, const char *what)
{
    ipcx_msg *m = NULL;
    int rc = ipcx_msg_recv(s, &m, 0);
    if (rc != 0)
        fail_msg("%s: ipcx_msg_recv: %s", what, ipcx_strerror(rc));
    if (ipcx_msg_parts(m) != n)
        fail_msg("%s: %zu parts, expected %zu", what, ipcx_msg_parts(m), n);
    for (size_t i = 0; i < n; i++) {
        size_t len;
        const void *d = ipcx_msg_data(m, i, &len);
        if (len != want[i].len || (len > 0 && memcmp(d, want[i].data, len) != 0))
            fail_msg("%s: part %zu (%zu bytes) differs from the %zu expected", what, i, len,
                     want[i].len);
    }
    ipcx_msg_destroy(m);
}

static void send_parts(ipcx_socket *s, const part *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int rc = ipcx_send(s, p[i].len ? p[i].data : "", p[i].len, i + 1 < n ? IPCX_MORE : 0);
        assert_int_equal(rc, (int)p[i].len);
    }
}

/* ------------------------------------------------------------ the script */

static void say(const char *word)
{
    char line[64];
    int n = snprintf(line, sizeof(line), "%s\n", word);
    assert_int_equal(write(g.to_py, line, (size_t)n), n);
}

/* Wait for @word from the script while ipcx_poll keeps the socket going. */
static void hear(const char *word)
{
    ipcx_pollitem it[2] = {{g.s, -1, 0, 0}, {NULL, g.from_py, POLLIN, 0}};
    int rc = ipcx_poll(it, 2, WAIT_NS);
    assert_true(rc >= 0);
    char line[300];
    if (it[1].revents == 0 || tu_line_read(g.from_py, line, sizeof(line), WAIT_MS) < 0)
        fail_msg("nothing from pyzmq_peer.py (see its traceback above)");
    if (strcmp(line, word) != 0)
        fail_msg("pyzmq_peer.py said \"%s\", expected \"%s\"", line, word);
}

/* Start the script: python3 pyzmq_peer.py KIND bind|connect URL, its stdin
 * and stdout piped to us. */
static void spawn_peer(const char *kind, const char *mode, const char *url)
{
    int in[2], out[2];
    assert_int_equal(pipe2(in, O_CLOEXEC), 0);
    assert_int_equal(pipe2(out, O_CLOEXEC), 0);
    fflush(NULL);
    g.child = fork();
    assert_true(g.child >= 0);
    if (g.child == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        execl(IPCX_PYZMQ_PYTHON, IPCX_PYZMQ_PYTHON, IPCX_PYZMQ_PEER, kind, mode, url, (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    g.to_py = in[1];
    g.from_py = out[0];
}

/* ------------------------------------------------------------ conversations */

static void pull_side(void)
{
    part p[4];
    for (int i = 0; i < 6; i++) {
        size_t n = expected(i, p);
        char what[32];
        snprintf(what, sizeof(what), "message %d", i);
        expect_msg(g.s, p, n, what);
    }
}

static void req_side(void)
{
    part p[5];
    for (int i = 0; i < 6; i++) {
        size_t n = expected(i, p);
        send_parts(g.s, p, n);
        p[n++] = (part){"reply", 5};
        char what[32];
        snprintf(what, sizeof(what), "reply %d", i);
        expect_msg(g.s, p, n, what);
    }
}

static void sub_side(void)
{
    assert_int_equal(ipcx_socket_set_bytes(g.s, IPCX_OPT_SUBSCRIBE, "A", 1), 0);
    assert_int_equal(ipcx_socket_set_bytes(g.s, IPCX_OPT_SUBSCRIBE, "B", 1), 0);
    assert_int_equal(ipcx_socket_set_bytes(g.s, IPCX_OPT_SUBSCRIBE, "S-", 2), 0);
    part sync = {"S-sync", 6};
    expect_msg(g.s, &sync, 1, "the first message");
    say("synced");
    /* More S-sync may come before the rest; ipcx_recv_size peeks. */
    char first[8];
    for (;;) {
        int rc = ipcx_recv_size(g.s, 0);
        assert_true(rc >= 0);
        if (rc != 6)
            break;
        assert_int_equal(ipcx_recv(g.s, first, sizeof(first), 0), 6);
        assert_memory_equal(first, "S-sync", 6);
    }
    part a[1] = {{"A-one", 5}};
    part b[3] = {{"B-two", 5}, {"", 0}, {"tail", 4}};
    part big[2] = {{"B-big", 5}, {g_big, BIG}};
    part end[1] = {{"S-end", 5}};
    expect_msg(g.s, a, 1, "A-one");
    expect_msg(g.s, b, 3, "B-two"); /* C-not was not subscribed to */
    expect_msg(g.s, big, 2, "B-big");
    expect_msg(g.s, end, 1, "S-end");
}

static const pycase cases[] = {
    {"pyzmq PUSH -> ipcx PULL, tcp, ipcx listens", "push", IPCX_PULL, true, true},
    {"pyzmq PUSH -> ipcx PULL, tcp, pyzmq listens", "push", IPCX_PULL, true, false},
    {"pyzmq PUSH -> ipcx PULL, ipc, ipcx listens", "push", IPCX_PULL, false, true},
    {"pyzmq PUSH -> ipcx PULL, ipc, pyzmq listens", "push", IPCX_PULL, false, false},
    {"ipcx REQ -> pyzmq REP, tcp, ipcx listens", "rep", IPCX_REQ, true, true},
    {"ipcx REQ -> pyzmq REP, tcp, pyzmq listens", "rep", IPCX_REQ, true, false},
    {"ipcx REQ -> pyzmq REP, ipc, ipcx listens", "rep", IPCX_REQ, false, true},
    {"ipcx REQ -> pyzmq REP, ipc, pyzmq listens", "rep", IPCX_REQ, false, false},
    {"pyzmq PUB -> ipcx SUB, tcp, ipcx listens", "pub", IPCX_SUB, true, true},
    {"pyzmq PUB -> ipcx SUB, tcp, pyzmq listens", "pub", IPCX_SUB, true, false},
    {"pyzmq PUB -> ipcx SUB, ipc, ipcx listens", "pub", IPCX_SUB, false, true},
    {"pyzmq PUB -> ipcx SUB, ipc, pyzmq listens", "pub", IPCX_SUB, false, false},
};

static int case_setup(void **state)
{
    (void)state;
    g.child = -1;
    g.to_py = g.from_py = -1;
    g.s = NULL;
    g.path[0] = '\0';
    return 0;
}

static int case_teardown(void **state)
{
    (void)state;
    if (g.child > 0) {
        kill(g.child, SIGKILL);
        waitpid(g.child, NULL, 0);
    }
    ipcx_socket_close(g.s);
    if (g.to_py >= 0)
        close(g.to_py);
    if (g.from_py >= 0)
        close(g.from_py);
    if (g.path[0] != '\0')
        unlink(g.path);
    return 0;
}

static void run_case(void **state)
{
    const pycase *c = *state;
    if (IPCX_PYZMQ_PYTHON[0] == '\0') {
        print_message("python3-zmq was not found when the build was configured: "
                      "install it (apt-get install python3-zmq) and re-run cmake\n");
        skip();
    }
    assert_int_equal(ipcx_socket_open(c->pattern, &g.s), 0);
    assert_int_equal(ipcx_socket_set(g.s, IPCX_OPT_RECV_TIMEOUT, WAIT_NS), 0);
    assert_int_equal(ipcx_socket_set(g.s, IPCX_OPT_SEND_TIMEOUT, WAIT_NS), 0);
    char name[64], url[300];
    tu_unique(name, sizeof(name), "ipcx-py");
    if (!c->tcp)
        snprintf(g.path, sizeof(g.path), "/tmp/%s.sock", name);
    if (c->ipcx_listens) {
        snprintf(url, sizeof(url), c->tcp ? "tcp://127.0.0.1:0" : "ipc://%s", g.path);
        assert_int_equal(ipcx_listen(g.s, url), 0);
        char ep[256];
        assert_true(ipcx_socket_endpoint(g.s, 0, ep, sizeof(ep)) > 0);
        if (c->tcp)
            snprintf(url, sizeof(url), "%s", ep);
        spawn_peer(c->kind, "connect", url);
    } else {
        snprintf(url, sizeof(url), c->tcp ? "tcp://127.0.0.1:*" : "ipc://%s", g.path);
        spawn_peer(c->kind, "bind", url);
        char line[300];
        if (tu_line_read(g.from_py, line, sizeof(line), 3 * WAIT_MS) < 3 ||
            strncmp(line, "ep ", 3) != 0)
            fail_msg("no endpoint from pyzmq_peer.py");
        assert_int_equal(ipcx_dial(g.s, line + 3), 0);
    }
    if (strcmp(c->kind, "push") == 0)
        pull_side();
    else if (strcmp(c->kind, "rep") == 0)
        req_side();
    else
        sub_side();
    hear("fin");
    say("fin");
    ipcx_socket_close(g.s);
    g.s = NULL;
    int st = tu_wait(g.child, 3 * WAIT_MS);
    g.child = -1;
    assert_int_equal(st, 0);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    g_big = malloc(BIG);
    assert_non_null(g_big);
    for (size_t i = 0; i < BIG; i++)
        g_big[i] = (uint8_t)i;
    struct CMUnitTest tests[sizeof(cases) / sizeof(cases[0])];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        tests[i] = (struct CMUnitTest){.name = cases[i].name,
                                       .test_func = run_case,
                                       .setup_func = case_setup,
                                       .teardown_func = case_teardown,
                                       .initial_state = (void *)&cases[i]};
    int rc = _cmocka_run_group_tests("socket_pyzmq", tests, sizeof(cases) / sizeof(cases[0]), NULL,
                                     NULL);
    free(g_big);
    /* 77: ctest reports the test as skipped (SKIP_RETURN_CODE). */
    return rc == 0 && IPCX_PYZMQ_PYTHON[0] == '\0' ? 77 : rc;
}
