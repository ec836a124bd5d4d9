// SPDX-License-Identifier: MIT
/*
 * The `ipcx ls` and `ipcx rm` commands, run as the real binary from the
 * build tree against a private region directory: ls shows a region a test
 * created and marks its creator dead once the creator process exited, shows
 * a broken region with its status, --json prints one strict JSON object per
 * line; rm removes, reports failures, honours --force; bad usage exits 2
 * and --help exits 0.
 */
#include "testutil.h"
#include "region_testutil.h"

#include <ctype.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ipcx/ipcx.h>

#define WAITMS 20000

static char out[65536];

/* Run `ipcx ARGS` (stdout, and stderr when @merge) into out; exit status. */
static int ipcx(const char *args, int merge)
{
    char tool[1024], cmd[4096];
    tu_build_path("tools/ipcx/ipcx", tool, sizeof(tool));
    snprintf(cmd, sizeof(cmd), "'%s' %s %s", tool, args, merge ? "2>&1" : "2>/dev/null");
    return tu_run_capture(cmd, out, sizeof(out));
}

/* ------------------------------------------------------------ strict JSON */

/* A small recursive-descent JSON checker (RFC 8259): returns the position
 * after one value, or NULL if the text is not valid JSON. */
static const char *json_value(const char *p, int depth);

static const char *json_ws(const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
        p++;
    return p;
}

static const char *json_string(const char *p)
{
    if (*p++ != '"')
        return NULL;
    while (*p != '"') {
        unsigned char c = (unsigned char)*p;
        if (c < 0x20)
            return NULL; /* includes the end of the text */
        if (c == '\\') {
            p++;
            if (*p == 'u') {
                for (int i = 1; i <= 4; i++) {
                    if (!isxdigit((unsigned char)p[i]))
                        return NULL;
                }
                p += 4;
            } else if (strchr("\"\\/bfnrt", *p) == NULL || *p == '\0') {
                return NULL;
            }
        }
        p++;
    }
    return p + 1;
}

static const char *json_digits(const char *p)
{
    if (!isdigit((unsigned char)*p))
        return NULL;
    while (isdigit((unsigned char)*p))
        p++;
    return p;
}

static const char *json_number(const char *p)
{
    if (*p == '-')
        p++;
    if (*p == '0')
        p++;
    else if ((p = json_digits(p)) == NULL)
        return NULL;
    if (*p == '.' && (p = json_digits(p + 1)) == NULL)
        return NULL;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        p = json_digits(p);
    }
    return p;
}

static const char *json_container(const char *p, int depth, char close, int keyed)
{
    p = json_ws(p + 1);
    if (*p == close)
        return p + 1;
    for (;;) {
        if (keyed) {
            p = json_string(json_ws(p));
            if (p == NULL || *(p = json_ws(p)) != ':')
                return NULL;
            p++;
        }
        p = json_value(p, depth + 1);
        if (p == NULL)
            return NULL;
        p = json_ws(p);
        if (*p == close)
            return p + 1;
        if (*p++ != ',')
            return NULL;
    }
}

static const char *json_value(const char *p, int depth)
{
    if (depth > 32)
        return NULL;
    p = json_ws(p);
    if (*p == '{')
        return json_container(p, depth, '}', 1);
    if (*p == '[')
        return json_container(p, depth, ']', 0);
    if (*p == '"')
        return json_string(p);
    if (strncmp(p, "true", 4) == 0 || strncmp(p, "null", 4) == 0)
        return p + 4;
    if (strncmp(p, "false", 5) == 0)
        return p + 5;
    return json_number(p);
}

/* 1 if @line (without its newline) is exactly one JSON object. */
static int json_object_line(const char *line)
{
    if (*json_ws(line) != '{')
        return 0;
    const char *end = json_value(line, 0);
    return end != NULL && *json_ws(end) == '\0';
}

static void test_json_checker(void **state)
{
    (void)state;
    assert_true(json_object_line("{}"));
    assert_true(json_object_line("{\"a\":[1,-2.5e3,true,null,{\"b\":\"\\u00e9\\n\"}]}"));
    assert_false(json_object_line("{\"a\":1,}"));
    assert_false(json_object_line("{\"a\" 1}"));
    assert_false(json_object_line("{\"a\":01}"));
    assert_false(json_object_line("{\"a\":\"x}"));
    assert_false(json_object_line("{\"a\":1} x"));
    assert_false(json_object_line("[1]"));
    assert_false(json_object_line("{\"a\":tru}"));
    assert_false(json_object_line("{\"a\":\"\\q\"}"));
}

/* ------------------------------------------------------------ helpers */

static int run_helper(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[0], "killed-producer") == 0) {
        /* Create a ring, attach as its producer, send, and die by SIGKILL:
         * the ring stays, its creator and producer dead. */
        ipcx_ring *ring = NULL;
        if (ipcx_ring_create(argv[1], NULL, &ring) != 0 || ipcx_ring_send(ring, "x", 1, 0) != 0)
            return 1;
        raise(SIGKILL);
    }
    if (argc >= 2 && strcmp(argv[0], "killed-queue") == 0) {
        /* A queue of 12 segments whose producer dies by SIGKILL. */
        ipcx_queue_opts o = {.initial_segment = 4096, .max_segment = 4096, .max_message = 1000};
        ipcx_queue *q = NULL;
        static char msg[900];
        if (ipcx_queue_create(argv[1], &o, &q) != 0)
            return 1;
        for (int i = 0; i < 48; i++) {
            if (ipcx_queue_send(q, msg, sizeof(msg), NULL, 0) != 0)
                return 1;
        }
        raise(SIGKILL);
    }
    if (argc < 2 || strcmp(argv[0], "creator") != 0)
        return 99;
    ipcx_region *r = NULL;
    ipcx_region_opts o = {.kind = IPCX_REGION_RING};
    if (ipcx_region_create(argv[1], 3 << 20, &o, &r) != 0)
        return 1;
    ipcx_region_close(r);
    return 0;
}

/* The line of `out` that contains @needle, copied into @line. */
static int find_line(const char *needle, char *line, size_t cap)
{
    for (const char *p = out; *p != '\0';) {
        const char *nl = strchr(p, '\n');
        size_t len = nl != NULL ? (size_t)(nl - p) : strlen(p);
        if (len < cap) {
            memcpy(line, p, len);
            line[len] = '\0';
            if (strstr(line, needle) != NULL)
                return 1;
        }
        p += len + (nl != NULL);
    }
    return 0;
}

/* ------------------------------------------------------------ tests */

static void test_ls_shows_live_and_dead(void **state)
{
    (void)state;
    char dead[128], live[128];
    tu_unique(dead, sizeof(dead), "cli-dead");
    tu_unique(live, sizeof(live), "cli-live");
    pid_t pid = tu_spawn("--helper", "creator", dead, NULL);
    assert_int_equal(tu_wait(pid, WAITMS), 0);
    ipcx_region *r = NULL;
    assert_int_equal(ipcx_region_create(live, 1000, NULL, &r), 0);

    assert_int_equal(ipcx("ls", 0), 0);
    char line[1024], pidtxt[32];
    assert_true(find_line(dead, line, sizeof(line)));
    char n[256], kind[16], size[16], p[16], alive[16], age[16], owner[64], status[64];
    assert_int_equal(sscanf(line, "%255s %15s %15s %15s %15s %15s %63s %63s", n, kind, size, p,
                            alive, age, owner, status),
                     8);
    snprintf(pidtxt, sizeof(pidtxt), "%d", (int)pid);
    assert_string_equal(n, dead);
    assert_string_equal(kind, "ring");
    assert_string_equal(size, "3.0M");
    assert_string_equal(p, pidtxt);
    assert_string_equal(alive, "no");
    assert_string_equal(status, "ok");

    assert_true(find_line(live, line, sizeof(line)));
    assert_int_equal(sscanf(line, "%255s %15s %15s %15s %15s", n, kind, size, p, alive), 5);
    assert_string_equal(kind, "raw");
    assert_string_equal(alive, "yes");
    ipcx_region_close(r);
    ipcx_region_unlink(live);
    ipcx_region_unlink(dead);
}

static void test_ls_json_parses(void **state)
{
    (void)state;
    char dead[128], broken[128];
    tu_unique(dead, sizeof(dead), "json-dead");
    tu_unique(broken, sizeof(broken), "json-broken");
    pid_t pid = tu_spawn("--helper", "creator", dead, NULL);
    assert_int_equal(tu_wait(pid, WAITMS), 0);
    ipcx_region *r = NULL;
    assert_int_equal(ipcx_region_create(broken, 10, NULL, &r), 0);
    ipcx_region_close(r);
    char path[512];
    int fd = open(rt_region_path(broken, path, sizeof(path)), O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, "garbage!", 8, 0), 8); /* wrong magic */
    close(fd);

    assert_int_equal(ipcx("ls --json", 0), 0);
    int lines = 0;
    for (char *save = NULL, *l = strtok_r(out, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        if (!json_object_line(l))
            fail_msg("not a JSON object: %s", l);
        lines++;
        char want[256];
        snprintf(want, sizeof(want), "\"name\":\"%s\"", dead);
        if (strstr(l, want) != NULL) {
            assert_non_null(strstr(l, "\"alive\":false"));
            assert_non_null(strstr(l, "\"kind\":\"ring\""));
            assert_non_null(strstr(l, "\"status\":0"));
            lines += 100;
        }
        snprintf(want, sizeof(want), "\"name\":\"%s\"", broken);
        if (strstr(l, want) != NULL) {
            assert_non_null(strstr(l, "\"status\":-71")); /* -EPROTO */
            assert_non_null(strstr(l, "protocol error"));
            lines += 1000;
        }
    }
    assert_int_equal(lines, 1102); /* exactly the two regions, each seen once */

    /* The table shows the broken one with its status text. */
    assert_int_equal(ipcx("ls", 0), 0);
    char line[1024];
    assert_true(find_line(broken, line, sizeof(line)));
    assert_non_null(strstr(line, "protocol error"));
    ipcx_region_unlink(dead);
    ipcx_region_unlink(broken);
}

static void test_rm(void **state)
{
    (void)state;
    char a[128], b[128], args[512];
    tu_unique(a, sizeof(a), "rm-a");
    tu_unique(b, sizeof(b), "rm-b");
    pid_t pid = tu_spawn("--helper", "creator", a, NULL);
    assert_int_equal(tu_wait(pid, WAITMS), 0);
    ipcx_region *r = NULL;
    assert_int_equal(ipcx_region_create(b, 10, NULL, &r), 0);
    ipcx_region_close(r);

    snprintf(args, sizeof(args), "rm %s %s", a, b);
    assert_int_equal(ipcx(args, 1), 0);
    assert_false(rt_region_exists(a));
    assert_false(rt_region_exists(b));
    assert_int_equal(ipcx("ls", 0), 0);
    assert_null(strstr(out, a));

    /* Missing: exit 1 with the documented error line; --force: exit 0. */
    assert_int_equal(ipcx(args, 1), 1);
    char want[256];
    snprintf(want, sizeof(want), "ipcx: rm: %s: ", a);
    assert_non_null(strstr(out, want));
    snprintf(args, sizeof(args), "rm --force %s", a);
    assert_int_equal(ipcx(args, 1), 0);
    assert_string_equal(out, "");
    /* A bad name is answered with the naming rule; a path that is not a
     * durable queue's directory is left alone. */
    assert_int_equal(ipcx("rm 'bad name'", 1), 1);
    assert_non_null(strstr(out,
                           "ipcx: rm: bad name: invalid name (a name is 1 to 200 characters of "
                           "A-Z a-z 0-9 . _ -, not starting with '.'"));
    assert_int_equal(ipcx("rm ../etc", 1), 1);
    assert_non_null(strstr(out, "ipcx: rm: ../etc: "));
    assert_int_equal(ipcx("rm /tmp", 1), 1);
    assert_non_null(strstr(out, "ipcx: rm: /tmp: not a durable queue directory"));
}

static void test_usage_and_help(void **state)
{
    (void)state;
    assert_int_equal(ipcx("ls --bogus", 0), 2);
    assert_int_equal(ipcx("ls extra-arg", 0), 2);
    assert_int_equal(ipcx("rm", 0), 2);
    assert_int_equal(ipcx("rm --bogus x", 0), 2);
    assert_int_equal(ipcx("ls --help", 0), 0);
    assert_non_null(strstr(out, "usage: ipcx ls"));
    assert_int_equal(ipcx("rm --help", 0), 0);
    assert_non_null(strstr(out, "usage: ipcx rm"));
    assert_int_equal(ipcx("help ls", 0), 0);
    assert_non_null(strstr(out, "usage: ipcx ls"));
    /* -h on every command; -j where there is --json; ipcx --help lists
     * only commands that exist (no "top"). */
    static const char *const cmds[] = {"ls",   "rm",   "stat",  "bench",   "send",
                                       "recv", "ring", "queue", "version", "help"};
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        char args[64];
        snprintf(args, sizeof(args), "%s -h", cmds[i]);
        if (ipcx(args, 0) != 0 || strstr(out, "usage: ipcx") == NULL)
            fail_msg("'ipcx %s' did not print its usage", args);
    }
    assert_int_equal(ipcx("ls -j", 0), 0);
    assert_int_equal(ipcx("--help", 0), 0);
    assert_null(strstr(out, " top "));
    assert_non_null(strstr(out, "  ring "));
}

/* Every long option a command's --help names is in the man page ipcx(1):
 * the two cannot drift apart. */
static void test_help_options_in_man_page(void **state)
{
    (void)state;
    const char *src = getenv("IPCX_TEST_SRCDIR");
    assert_non_null(src);
    char path[1024];
    snprintf(path, sizeof(path), "%s/docs/man/ipcx.1", src);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    static char man[1 << 18];
    size_t n = 0;
    int ch;
    while ((ch = fgetc(f)) != EOF && n + 1 < sizeof(man)) {
        if (ch == '\\') { /* roff: "\-" is a hyphen, "\fB" a font change */
            int c2 = fgetc(f);
            if (c2 == '-')
                man[n++] = '-';
            else if (c2 == 'f')
                (void)fgetc(f);
            continue;
        }
        man[n++] = (char)ch;
    }
    man[n] = '\0';
    fclose(f);
    static const char *const cmds[] = {"ls",   "rm",   "stat",  "bench",  "send",
                                       "recv", "ring", "queue", "keygen", "worker"};
    int checked = 0;
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        char args[64];
        snprintf(args, sizeof(args), "%s --help", cmds[i]);
        assert_int_equal(ipcx(args, 0), 0);
        for (const char *p = strstr(out, "--"); p != NULL; p = strstr(p + 2, "--")) {
            size_t k = 2;
            while ((p[k] >= 'a' && p[k] <= 'z') || (p[k] >= '0' && p[k] <= '9') || p[k] == '-')
                k++;
            if (k < 4 || (p > out && p[-1] != ' ' && p[-1] != '[' && p[-1] != '('))
                continue; /* not an option: a bare "--" or part of a word */
            char opt[64];
            snprintf(opt, sizeof(opt), "%.*s", (int)(k < 63 ? k : 63), p);
            if (strstr(man, opt) == NULL)
                fail_msg("'ipcx %s' names %s, which ipcx(1) does not", args, opt);
            checked++;
        }
    }
    assert_true(checked > 40);
}

/* A region file whose header cannot be read (a creator that died before
 * writing it, or garbage): ls lists it with every unknown value null in
 * JSON ("?" in text), never as pid 0 or uid 0 (root). */
static void test_ls_unknown_values_are_null(void **state)
{
    (void)state;
    char name[128], path[1024];
    tu_unique(name, sizeof(name), "lsnull");
    rt_region_path(name, path, sizeof(path));
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fwrite("\0\0\0\0\0\0\0", 1, 7, f), 7); /* shorter than a header */
    fclose(f);
    assert_int_equal(ipcx("ls --json", 0), 0);
    char *line = NULL;
    for (char *save = NULL, *l = strtok_r(out, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
        if (strstr(l, name) != NULL)
            line = l;
    assert_non_null(line);
    if (!json_object_line(line))
        fail_msg("not a JSON object: %s", line);
    assert_non_null(strstr(line, "\"creator_pid\":null"));
    assert_non_null(strstr(line, "\"creator_uid\":null"));
    assert_non_null(strstr(line, "\"owner\":null"));
    assert_non_null(strstr(line, "\"created_ns\":null"));
    assert_null(strstr(line, "\"creator_uid\":0"));
    assert_int_equal(ipcx("ls", 0), 0);
    char *row = strstr(out, name);
    assert_non_null(row);
    char *eol = strchr(row, '\n');
    if (eol != NULL)
        *eol = '\0';
    assert_non_null(strstr(row, "?"));
    unlink(path);
}

static void test_ls_all_shows_queue_segments(void **state)
{
    (void)state;
    char seg[128];
    tu_unique(seg, sizeof(seg), "qseg");
    ipcx_region *r = NULL;
    ipcx_region_opts o = {.kind = IPCX_REGION_QSEG};
    assert_int_equal(ipcx_region_create(seg, 10, &o, &r), 0);
    assert_int_equal(ipcx("ls", 0), 0);
    assert_null(strstr(out, seg));
    assert_int_equal(ipcx("ls --all", 0), 0);
    char line[1024];
    assert_true(find_line(seg, line, sizeof(line)));
    assert_non_null(strstr(line, " qseg "));
    ipcx_region_close(r);
    /* A name that looks like an option is removed after "--". */
    assert_int_equal(ipcx_region_create("-dash", 10, NULL, &r), 0);
    ipcx_region_close(r);
    assert_int_equal(ipcx("rm -- -dash", 1), 0);
    assert_false(rt_region_exists("-dash"));
    ipcx_region_unlink(seg);
}

static void test_ls_missing_directory(void **state)
{
    (void)state;
    char *saved = strdup(getenv("IPCX_SHM_DIR"));
    setenv("IPCX_SHM_DIR", "/nonexistent/ipcx-dir", 1);
    int rc = ipcx("ls", 1);
    setenv("IPCX_SHM_DIR", saved, 1);
    free(saved);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(out, "ipcx: ls: "));
}

/* The tool's path, for shell command lines. */
static const char *tool(void)
{
    static char t[1024];
    return tu_build_path("tools/ipcx/ipcx", t, sizeof(t));
}

static void test_stat_watch_forms(void **state)
{
    (void)state;
    char name[128], args[512];
    tu_unique(name, sizeof(name), "stw");
    ipcx_ring *r = NULL;
    assert_int_equal(ipcx_ring_create(name, NULL, &r), 0);
    /* --watch N, --watch=N, -w N, -wN, -j: each accepted (the object is
     * removed by a second process once two samples are out). */
    const char *forms[] = {"--watch 0.1", "--watch=0.1", "-w 0.1", "-w0.1"};
    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        char cmd[4096];
        ipcx_ring *again = NULL;
        if (i > 0)
            assert_int_equal(ipcx_ring_create(name, NULL, &again), 0);
        snprintf(
            cmd, sizeof(cmd),
            "f=$(mktemp); '%s' stat -j %s %s >$f 2>$f.err & p=$!; "
            "n=0; while [ $(wc -l <$f) -lt 2 ] && [ $n -lt 400 ]; do sleep 0.05; n=$((n+1)); done; "
            "'%s' rm %s; wait $p; echo rc=$?; cat $f $f.err; rm -f $f $f.err",
            tool(), forms[i], name, tool(), name);
        assert_int_equal(tu_run_capture(cmd, out, sizeof(out)), 0);
        assert_non_null(strstr(out, "rc=0\n"));
        snprintf(args, sizeof(args), "ipcx: stat: %s: removed; stopped watching", name);
        assert_non_null(strstr(out, args));
        /* Each sample one strict JSON object with a time; rates null, then numbers. */
        int samples = 0;
        for (char *save = NULL, *l = strtok_r(out, "\n", &save); l;
             l = strtok_r(NULL, "\n", &save)) {
            if (l[0] != '{')
                continue;
            if (!json_object_line(l))
                fail_msg("not a JSON object: %s", l);
            assert_non_null(strstr(l, "\"time\":"));
            assert_non_null(
                strstr(l, samples == 0 ? "\"rate_msgs_in\":null" : "\"rate_msgs_in\":0.0"));
            samples++;
        }
        assert_true(samples >= 2);
        ipcx_ring_close(again);
    }
    /* SIGINT (to a watch started in the background, where the shell
     * ignores SIGINT for it) ends the watch: exit 0, every sample kept. */
    {
        char cmd[4096];
        ipcx_ring *again = NULL;
        assert_int_equal(ipcx_ring_create(name, NULL, &again), 0);
        snprintf(cmd, sizeof(cmd),
                 "f=$(mktemp); '%s' stat --json --watch 0.05 %s >$f 2>$f.err & p=$!; "
                 "n=0; while [ $(wc -l <$f) -lt 3 ] && [ $n -lt 400 ]; do sleep 0.05; n=$((n+1)); "
                 "done; kill -INT $p; wait $p; echo rc=$?; cat $f $f.err; rm -f $f $f.err",
                 tool(), name);
        assert_int_equal(tu_run_capture(cmd, out, sizeof(out)), 0);
        assert_non_null(strstr(out, "rc=0\n"));
        snprintf(args, sizeof(args), "ipcx: stat: %s: interrupted; stopped watching", name);
        assert_non_null(strstr(out, args));
        int samples = 0;
        for (char *save = NULL, *l = strtok_r(out, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
            if (l[0] == '{') {
                if (!json_object_line(l))
                    fail_msg("not a JSON object: %s", l);
                samples++;
            }
        assert_true(samples >= 3);
        ipcx_ring_close(again);
        ipcx_ring_unlink(name);
    }
    ipcx_ring_close(r);
    snprintf(args, sizeof(args), "stat --watch 0 %s", name);
    assert_int_equal(ipcx(args, 1), 2);
    assert_non_null(strstr(out, "--watch takes a positive number of seconds"));
    assert_int_equal(ipcx("stat -h", 0), 0);
    assert_non_null(strstr(out, "-w, --watch [SECONDS]"));
}

static void test_stat_dead_producer(void **state)
{
    (void)state;
    char name[128], args[256], pidtxt[64];
    tu_unique(name, sizeof(name), "stdead");
    pid_t pid = tu_spawn("--helper", "killed-producer", name, NULL);
    assert_int_equal(tu_wait(pid, WAITMS), 128 + SIGKILL);
    snprintf(args, sizeof(args), "stat %s", name);
    assert_int_equal(ipcx(args, 1), 0);
    snprintf(pidtxt, sizeof(pidtxt), "pid %-8d (gone)", (int)pid);
    assert_non_null(strstr(out, pidtxt));
    assert_non_null(strstr(out, "producers 1/1, consumers 0/1 (1 and 0 of them gone)"));
    snprintf(args, sizeof(args), "stat --json %s", name);
    assert_int_equal(ipcx(args, 0), 0);
    assert_true(json_object_line(strtok(out, "\n")));
    assert_non_null(strstr(out, "\"producers\":1,\"consumers\":0,\"producers_alive\":0"));
    assert_non_null(strstr(out, "\"role\":\"producer\",\"alive\":false"));
    ipcx_region_unlink(name);
}

static void test_stat_raw_region_and_wrong_kind(void **state)
{
    (void)state;
    char name[128], args[256], want[256];
    tu_unique(name, sizeof(name), "straw");
    ipcx_region *r = NULL;
    assert_int_equal(ipcx_region_create(name, 5000, NULL, &r), 0);
    snprintf(args, sizeof(args), "stat %s", name);
    assert_int_equal(ipcx(args, 1), 0);
    assert_null(strstr(out, "protocol error"));
    snprintf(want, sizeof(want), "raw %s: 4.9K, layout 1.0, creator pid %d\n", name, (int)getpid());
    assert_non_null(strstr(out, want));
    assert_non_null(strstr(out, "has no statistics"));
    snprintf(args, sizeof(args), "stat -j %s", name);
    assert_int_equal(ipcx(args, 0), 0);
    assert_true(json_object_line(strtok(out, "\n")));
    assert_non_null(strstr(out, "\"kind\":\"raw\""));
    assert_non_null(strstr(out, "\"alive\":true"));
    assert_non_null(strstr(out, "\"statistics\":null"));
    /* queue commands on something that is not a queue say what it is. */
    snprintf(args, sizeof(args), "queue dump %s", name);
    assert_int_equal(ipcx(args, 1), 1);
    snprintf(want, sizeof(want), "ipcx: queue: %s is a raw region, not a queue\n", name);
    assert_string_equal(out, want);
    ipcx_region_close(r);
    ipcx_region_unlink(name);
    ipcx_ring *ring = NULL;
    assert_int_equal(ipcx_ring_create(name, NULL, &ring), 0);
    snprintf(args, sizeof(args), "queue info %s", name);
    assert_int_equal(ipcx(args, 1), 1);
    snprintf(want, sizeof(want), "ipcx: queue: %s is a ring, not a queue\n", name);
    assert_string_equal(out, want);
    ipcx_ring_close(ring);
    ipcx_ring_unlink(name);
}

/* Sum of the sizes of the files in the region directory named ipcx.<prefix>*. */
static int count_files(const char *prefix)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "ls \"$IPCX_SHM_DIR\" | grep -c '^ipcx\\.%s'", prefix);
    char buf[64];
    tu_run_capture(cmd, buf, sizeof(buf));
    return atoi(buf);
}

static void test_ls_queue_memory_stale_and_rm(void **state)
{
    (void)state;
    char q[128], ring[128], live[128], args[512], line[1024];
    tu_unique(q, sizeof(q), "lsq");
    tu_unique(ring, sizeof(ring), "lsr");
    tu_unique(live, sizeof(live), "lsl");
    pid_t pid = tu_spawn("--helper", "killed-queue", q, NULL);
    assert_int_equal(tu_wait(pid, WAITMS), 128 + SIGKILL);
    pid = tu_spawn("--helper", "killed-producer", ring, NULL);
    assert_int_equal(tu_wait(pid, WAITMS), 128 + SIGKILL);
    ipcx_ring *r = NULL;
    assert_int_equal(ipcx_ring_create(live, NULL, &r), 0);
    int segs = count_files(q) - 1;
    assert_true(segs >= 10);

    /* The queue's size is its memory: control region and segments. */
    assert_int_equal(ipcx("ls", 0), 0);
    assert_true(find_line(q, line, sizeof(line)));
    assert_non_null(strstr(line, " queue "));
    char n[256], kind[16], size[16];
    assert_int_equal(sscanf(line, "%255s %15s %15s", n, kind, size), 3);
    assert_true(strtod(size, NULL) >= 4.0 * (segs + 1) && strchr(size, 'K') != NULL);
    assert_non_null(strstr(line, "  stale"));
    assert_true(find_line(ring, line, sizeof(line)));
    assert_non_null(strstr(line, "  stale"));
    assert_true(find_line(live, line, sizeof(line)));
    assert_non_null(strstr(line, "  ok"));
    /* Segments sort numerically: .seg.2 before .seg.10. */
    assert_int_equal(ipcx("ls --all", 0), 0);
    char s2[160], s10[160];
    snprintf(s2, sizeof(s2), "%s.seg.2 ", q);
    snprintf(s10, sizeof(s10), "%s.seg.10 ", q);
    assert_non_null(strstr(out, s2));
    assert_non_null(strstr(out, s10));
    assert_true(strstr(out, s2) < strstr(out, s10));
    /* JSON: booleans, memory, owner. */
    assert_int_equal(ipcx("ls -j", 0), 0);
    snprintf(args, sizeof(args), "\"name\":\"%s\"", q);
    assert_true(find_line(args, line, sizeof(line)));
    assert_true(json_object_line(line));
    assert_non_null(strstr(line, "\"alive\":false"));
    assert_non_null(strstr(line, "\"stale\":true"));
    assert_non_null(strstr(line, "\"memory\":"));
    assert_non_null(strstr(line, "\"owner\":\""));

    /* rm --stale -n lists and keeps; rm --stale removes the queue whole and
     * the dead ring, and leaves the live ring. */
    assert_int_equal(ipcx("rm --stale -n", 1), 0);
    snprintf(args, sizeof(args), "would remove %s (queue, creator pid", q);
    assert_non_null(strstr(out, args));
    assert_int_equal(count_files(q), segs + 1);
    assert_int_equal(ipcx("rm --stale", 1), 0);
    snprintf(args, sizeof(args), "removed %s (ring, creator pid", ring);
    assert_non_null(strstr(out, args));
    assert_int_equal(count_files(q), 0);
    assert_false(rt_region_exists(ring));
    assert_true(rt_region_exists(live));
    ipcx_ring_close(r);
    ipcx_ring_unlink(live);

    /* rm NAME of a queue removes every segment too. */
    pid = tu_spawn("--helper", "killed-queue", q, NULL);
    assert_int_equal(tu_wait(pid, WAITMS), 128 + SIGKILL);
    assert_true(count_files(q) >= 10);
    snprintf(args, sizeof(args), "rm %s", q);
    assert_int_equal(ipcx(args, 1), 0);
    assert_int_equal(count_files(q), 0);
}

static void test_rm_durable_queue(void **state)
{
    (void)state;
    char dir[512], args[1024];
    char tmpl[] = "/tmp/ipcx-cli-dq-XXXXXX";
    assert_non_null(mkdtemp(tmpl));
    snprintf(dir, sizeof(dir), "%s/q", tmpl);
    ipcx_queue *q = NULL;
    assert_int_equal(ipcx_queue_create(dir, NULL, &q), 0);
    assert_int_equal(ipcx_queue_send(q, "x", 1, NULL, 0), 0);
    ipcx_queue_close(q);
    /* A directory that holds no queue is refused, and untouched. */
    snprintf(args, sizeof(args), "rm %s", tmpl);
    assert_int_equal(ipcx(args, 1), 1);
    assert_non_null(strstr(out, "not a durable queue directory"));
    snprintf(args, sizeof(args), "rm %s", dir);
    assert_int_equal(ipcx(args, 1), 0);
    assert_string_equal(out, "");
    assert_int_equal(access(dir, F_OK), -1);
    assert_int_equal(ipcx(args, 1), 1);
    assert_int_equal(rmdir(tmpl), 0);
}

static void test_ring_and_queue_verbs(void **state)
{
    (void)state;
    char ring[128], bc[128], q[128], args[512], cmd[2048];
    tu_unique(ring, sizeof(ring), "vr");
    tu_unique(bc, sizeof(bc), "vb");
    tu_unique(q, sizeof(q), "vq");
    /* ring: create on first send, MSG arguments and stdin lines, drain. */
    snprintf(args, sizeof(args), "ring send --create %s hello 'two words'", ring);
    assert_int_equal(ipcx(args, 1), 0);
    snprintf(cmd, sizeof(cmd), "printf '6869\\n' | '%s' ring send -f hex %s 2>&1", tool(), ring);
    assert_int_equal(tu_run_capture(cmd, out, sizeof(out)), 0);
    snprintf(args, sizeof(args), "ring recv -n 3 %s", ring);
    assert_int_equal(ipcx(args, 1), 0);
    assert_string_equal(out, "hello\ntwo words\nhi\n");
    /* Nothing more: a timeout with nothing received is a failure. */
    snprintf(args, sizeof(args), "ring recv -t 0.05 %s", ring);
    assert_int_equal(ipcx(args, 1), 1);
    snprintf(args, sizeof(args), "ipcx: ring: %s: timed out", ring);
    assert_non_null(strstr(out, args));
    /* tail refuses a queue-delivery ring: it would take records. */
    snprintf(args, sizeof(args), "ring tail %s", ring);
    assert_int_equal(ipcx(args, 1), 1);
    assert_non_null(strstr(out, "delivers each record to one consumer"));
    /* A broadcast ring, tailed from the oldest record, in json. */
    snprintf(args, sizeof(args), "ring send -c --broadcast --capacity 8192 %s one two", bc);
    assert_int_equal(ipcx(args, 1), 0);
    snprintf(args, sizeof(args), "ring tail -o -n 2 -f json %s", bc);
    assert_int_equal(ipcx(args, 1), 0);
    assert_string_equal(out, "{\"parts\":[\"b25l\"]}\n{\"parts\":[\"dHdv\"]}\n");
    /* queue: the same, and the wrong kind named. */
    snprintf(args, sizeof(args), "queue send -c %s m1 m2", q);
    assert_int_equal(ipcx(args, 1), 0);
    snprintf(args, sizeof(args), "queue recv -n 2 %s", q);
    assert_int_equal(ipcx(args, 1), 0);
    assert_string_equal(out, "m1\nm2\n");
    snprintf(args, sizeof(args), "queue recv %s", ring);
    assert_int_equal(ipcx(args, 1), 1);
    snprintf(cmd, sizeof(cmd), "ipcx: queue: %s is a ring, not a queue\n", ring);
    assert_string_equal(out, cmd);
    snprintf(args, sizeof(args), "ring send %s x", q);
    assert_int_equal(ipcx(args, 1), 1);
    snprintf(cmd, sizeof(cmd), "ipcx: ring: %s is a queue, not a ring\n", q);
    assert_string_equal(out, cmd);
    /* Usage: bad format, message arguments to recv, unknown subcommand. */
    snprintf(args, sizeof(args), "ring send -f yaml %s x", ring);
    assert_int_equal(ipcx(args, 0), 2);
    snprintf(args, sizeof(args), "ring recv %s extra", ring);
    assert_int_equal(ipcx(args, 0), 2);
    assert_int_equal(ipcx("ring frob x", 0), 2);
    assert_int_equal(ipcx("ring --help", 0), 0);
    assert_non_null(strstr(out, "usage: ipcx ring send"));
    assert_int_equal(ipcx("queue send --help", 0), 0);
    assert_non_null(strstr(out, "usage: ipcx queue send"));
    snprintf(args, sizeof(args), "rm %s %s %s", ring, bc, q);
    assert_int_equal(ipcx(args, 1), 0);
    assert_int_equal(count_files(q), 0);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--helper") == 0)
        return run_helper(argc - 2, argv + 2);
    rt_private_dir();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_checker),
        cmocka_unit_test(test_ls_shows_live_and_dead),
        cmocka_unit_test(test_ls_json_parses),
        cmocka_unit_test(test_rm),
        cmocka_unit_test(test_usage_and_help),
        cmocka_unit_test(test_help_options_in_man_page),
        cmocka_unit_test(test_ls_unknown_values_are_null),
        cmocka_unit_test(test_ls_all_shows_queue_segments),
        cmocka_unit_test(test_ls_missing_directory),
        cmocka_unit_test(test_stat_watch_forms),
        cmocka_unit_test(test_stat_dead_producer),
        cmocka_unit_test(test_stat_raw_region_and_wrong_kind),
        cmocka_unit_test(test_ls_queue_memory_stale_and_rm),
        cmocka_unit_test(test_rm_durable_queue),
        cmocka_unit_test(test_ring_and_queue_verbs),
    };
    return cmocka_run_group_tests_name("cli", tests, NULL, NULL);
}
