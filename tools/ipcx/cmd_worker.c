// SPDX-License-Identifier: MIT
/*
 * ipcx worker: join an ipcx pool that listens on tcp:// or unix:// as a
 * remote worker (ipcx_pool_serve).  By default each task's result is the
 * task itself (echo: for trying a pool out and for measuring it); with
 * --exec every task is piped into a shell command and the command's
 * standard output is the result.  Public API only.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ipcx/ipcx.h>

#include "cli.h"

struct wstate {
    const char *exec;
    int tty;
    unsigned long done;
};

static void usage(FILE *f)
{
    fprintf(f, "usage: ipcx worker [options] URL\n\n"
               "Join the ipcx pool listening on URL (tcp://host:port or unix:///path) as a\n"
               "remote worker, and run its tasks until the pool stops (docs/pool.md).\n"
               "Without --exec a task's result is the task's own bytes (echo).\n\n"
               "  -e, --exec CMD     run CMD with /bin/sh for every task, the task on its\n"
               "                     standard input; its standard output is the result,\n"
               "                     a non-zero exit status makes the task fail (-EIO)\n"
               "  -d, --depth N      tasks to hold at a time (default 16)\n"
               "  -m, --max-result N largest result in bytes (default 65536)\n"
               "  -t, --timeout S    give up after S seconds without a connection\n"
               "                     (default: keep trying)\n"
               "  -q, --quiet        no progress line on a terminal\n"
               "  -h, --help         show this help\n\n"
               "Exit status: 0 when the pool said stop, 1 on failure, 2 usage error.\n");
}

/* Write all of buf to fd; the child may exit early (EPIPE is not an error
 * here: its exit status says what happened). */
static void write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        p += n;
        len -= (size_t)n;
    }
}

/* Run the command with the task on stdin; collect stdout into result. */
static int run_exec(const char *cmd, const void *task, size_t len, void *result, size_t cap)
{
    int in[2], out[2];
    if (pipe(in) != 0)
        return -errno;
    if (pipe(out) != 0) {
        close(in[0]);
        close(in[1]);
        return -errno;
    }
    pid_t pid = fork();
    if (pid < 0) {
        int e = -errno;
        close(in[0]), close(in[1]), close(out[0]), close(out[1]);
        return e;
    }
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        close(in[0]), close(in[1]), close(out[0]), close(out[1]);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    /* Tasks up to the pipe's capacity go in at once; larger ones would
     * need both pipes serviced together, so the writer is a child. */
    pid_t feeder = -1;
    if (len <= 65536) {
        write_all(in[1], task, len);
    } else if ((feeder = fork()) == 0) {
        close(out[0]);
        write_all(in[1], task, len);
        _exit(0);
    }
    close(in[1]);
    size_t got = 0;
    int too_long = 0;
    for (;;) {
        char sink[4096];
        char *dst = got < cap ? (char *)result + got : sink;
        size_t room = got < cap ? cap - got : sizeof(sink);
        ssize_t n = read(out[0], dst, room);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (got >= cap)
            too_long = 1;
        else
            got += (size_t)n;
    }
    close(out[0]);
    int st = 0;
    waitpid(pid, &st, 0);
    if (feeder > 0)
        waitpid(feeder, NULL, 0);
    if (too_long)
        return -EMSGSIZE;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return -EIO;
    return (int)got;
}

static int worker_fn(void *ctx, const ipcx_pool_task *t, void *result, size_t cap)
{
    struct wstate *w = ctx;
    int rc;
    if (w->exec != NULL) {
        rc = run_exec(w->exec, t->data, t->len, result, cap);
    } else if (t->len > cap) {
        rc = -EMSGSIZE;
    } else {
        memcpy(result, t->data, t->len);
        rc = (int)t->len;
    }
    w->done++;
    if (w->tty && (w->done % 256 == 0 || w->done < 256))
        fprintf(stderr, "\rtasks done: %lu", w->done);
    return rc;
}

static int parse_num(const char *s, unsigned long max, unsigned long *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v > max)
        return -1;
    *out = v;
    return 0;
}

int cmd_worker(int argc, char **argv)
{
    static const struct option opts[] = {{"exec", required_argument, NULL, 'e'},
                                         {"depth", required_argument, NULL, 'd'},
                                         {"max-result", required_argument, NULL, 'm'},
                                         {"timeout", required_argument, NULL, 't'},
                                         {"quiet", no_argument, NULL, 'q'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    struct wstate w = {0};
    unsigned long depth = 16, max_result = 65536, timeout = 0;
    int have_timeout = 0, quiet = 0, opt;
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "e:d:m:t:qh", opts, NULL)) != -1) {
        if (opt == 'e') {
            w.exec = optarg;
        } else if (opt == 'd') {
            if (parse_num(optarg, 1024, &depth) != 0 || depth == 0)
                return cli_usage_error("worker", "--depth takes 1..1024");
        } else if (opt == 'm') {
            if (parse_num(optarg, 16u << 20, &max_result) != 0 || max_result == 0)
                return cli_usage_error("worker", "--max-result takes 1..16777216");
        } else if (opt == 't') {
            if (parse_num(optarg, 1000000, &timeout) != 0)
                return cli_usage_error("worker", "--timeout takes seconds");
            have_timeout = 1;
        } else if (opt == 'q') {
            quiet = 1;
        } else if (opt == 'h') {
            usage(stdout);
            return CLI_OK;
        } else {
            return cli_usage_error("worker", "unknown option");
        }
    }
    if (optind + 1 != argc)
        return cli_usage_error("worker", "expected one URL");
    w.tty = !quiet && isatty(STDERR_FILENO);
    signal(SIGPIPE, SIG_IGN); /* a command that stops reading its task */
    int64_t tmo = have_timeout ? (int64_t)timeout * 1000000000LL : IPCX_FOREVER;
    int rc =
        ipcx_pool_serve(argv[optind], worker_fn, &w, (uint32_t)depth, (uint32_t)max_result, tmo);
    if (w.tty)
        fprintf(stderr, "\rtasks done: %lu\n", w.done);
    if (rc != 0) {
        cli_error("worker", argv[optind], ipcx_strerror(rc));
        return CLI_FAIL;
    }
    return CLI_OK;
}
