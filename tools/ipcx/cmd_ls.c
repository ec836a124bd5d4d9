// SPDX-License-Identifier: MIT
/*
 * ipcx ls: list the named regions (raw regions, rings, queues, exposed
 * sockets) in the region directory with what their headers say, whether
 * their creator still runs, and whether the object is stale.  Regions that
 * ipcx_region_open() would refuse are listed too, with the reason, so a
 * person can find and remove them.  A queue's size is the memory it holds:
 * its control region and every segment.  Public API only.
 *
 * Also cli_stale(), shared with `ipcx rm --stale`.
 */
#include <getopt.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ipcx/ipcx.h>

#include "cli.h"

struct ls_ctx {
    int json;
    int all;
    int64_t now_ns;
};

static const char *alive_text(int alive)
{
    return alive > 0 ? "yes" : alive == 0 ? "no" : "?";
}

static void human_age(char *buf, size_t cap, int64_t age_ns, int64_t created_ns)
{
    if (created_ns <= 0 || age_ns < 0) {
        snprintf(buf, cap, "?");
        return;
    }
    int64_t s = age_ns / 1000000000;
    if (s < 120)
        snprintf(buf, cap, "%" PRId64 "s", s);
    else if (s < 2 * 3600)
        snprintf(buf, cap, "%" PRId64 "m", s / 60);
    else if (s < 2 * 86400)
        snprintf(buf, cap, "%" PRId64 "h", s / 3600);
    else
        snprintf(buf, cap, "%" PRId64 "d", s / 86400);
}

/* ------------------------------------------------------------ stale */

int cli_stale(const ipcx_region_info *ri, const cli_region_set *all)
{
    if (ri->kind == IPCX_REGION_QSEG) {
        /* A segment is stale when its queue's control region is gone. */
        const char *dot = strstr(ri->name, ".seg.");
        if (dot == NULL)
            return 0;
        for (size_t i = 0; all != NULL && i < all->n; i++) {
            const ipcx_region_info *q = &all->v[i];
            if (q->kind == IPCX_REGION_QUEUE && strlen(q->name) == (size_t)(dot - ri->name) &&
                strncmp(q->name, ri->name, (size_t)(dot - ri->name)) == 0)
                return 0;
        }
        return 1;
    }
    if (ri->status != 0 || ri->creator_alive != 0)
        return 0; /* alive, unknown, or not readable: never called stale */
    if (ri->kind == IPCX_REGION_RING) {
        ipcx_ring *r = NULL;
        ipcx_ring_stat st;
        int stale = 0;
        if (ipcx_ring_open(ri->name, &r) == 0 && ipcx_ring_stats(r, &st) == 0)
            stale = st.producers_alive == 0 && st.consumers_alive == 0;
        ipcx_ring_close(r);
        return stale;
    }
    if (ri->kind == IPCX_REGION_QUEUE) {
        ipcx_queue_info qi;
        if (ipcx_queue_stat(ri->name, &qi) != 0 || qi.producers != 0)
            return 0;
        for (uint32_t i = 0; i < qi.nconsumer; i++) {
            if (qi.consumer[i].alive != 0)
                return 0;
        }
        return qi.nconsumer == qi.consumers;
    }
    return 1; /* raw region or socket whose creator is gone */
}

/* ------------------------------------------------------------ collecting */

static int collect(void *ctx, const ipcx_region_info *info)
{
    cli_region_set *s = ctx;
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 64;
        ipcx_region_info *v = realloc(s->v, cap * sizeof(*v));
        if (v == NULL)
            return -ENOMEM;
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = *info;
    return 0;
}

/* Names in "natural" order: runs of digits compare as numbers, so
 * q.seg.2 comes before q.seg.10. */
static int natural_cmp(const char *a, const char *b)
{
    while (*a != '\0' && *b != '\0') {
        if (*a >= '0' && *a <= '9' && *b >= '0' && *b <= '9') {
            while (*a == '0')
                a++;
            while (*b == '0')
                b++;
            size_t la = strspn(a, "0123456789"), lb = strspn(b, "0123456789");
            if (la != lb)
                return la < lb ? -1 : 1;
            int c = strncmp(a, b, la);
            if (c != 0)
                return c;
            a += la;
            b += lb;
            continue;
        }
        if (*a != *b)
            return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
        a++;
        b++;
    }
    return *a == *b ? 0 : *a == '\0' ? -1 : 1;
}

static int by_name(const void *x, const void *y)
{
    return natural_cmp(((const ipcx_region_info *)x)->name, ((const ipcx_region_info *)y)->name);
}

int cli_region_collect(cli_region_set *s)
{
    memset(s, 0, sizeof(*s));
    int rc = ipcx_region_list(collect, s);
    if (rc < 0) {
        free(s->v);
        memset(s, 0, sizeof(*s));
        return rc;
    }
    if (s->n > 1)
        qsort(s->v, s->n, sizeof(s->v[0]), by_name);
    return 0;
}

/* Bytes a region holds; for a queue, its control region and segments. */
static uint64_t memory_of(const ipcx_region_info *ri, const cli_region_set *all)
{
    uint64_t total = ri->total_size;
    if (ri->kind != IPCX_REGION_QUEUE)
        return total;
    size_t n = strlen(ri->name);
    for (size_t i = 0; i < all->n; i++) {
        const ipcx_region_info *s = &all->v[i];
        if (s->kind == IPCX_REGION_QSEG && strncmp(s->name, ri->name, n) == 0 &&
            strncmp(s->name + n, ".seg.", 5) == 0)
            total += s->total_size;
    }
    return total;
}

static const char *owner_name(const ipcx_region_info *ri, char *buf, size_t cap)
{
    if (ri->version_major == 0 && ri->creator_pid == 0)
        return NULL; /* header not readable: unknown */
    struct passwd *pw = getpwuid(ri->creator_uid);
    if (pw != NULL)
        snprintf(buf, cap, "%s", pw->pw_name);
    else
        snprintf(buf, cap, "%" PRIu32, ri->creator_uid);
    return buf;
}

/* ------------------------------------------------------------ output */

static const char *status_text(const ipcx_region_info *i, int stale)
{
    return i->status != 0 ? ipcx_strerror(i->status) : stale ? "stale" : "ok";
}

static void print_json(const struct ls_ctx *c, const ipcx_region_info *i, uint64_t mem, int stale)
{
    char owner[64];
    int known = !(i->version_major == 0 && i->creator_pid == 0);
    printf("{\"name\":");
    cli_json_string(stdout, i->name);
    printf(",\"kind\":\"%s\",\"kind_id\":%" PRIu32 ",\"flags\":%" PRIu32, cli_kind_name(i->kind),
           i->kind, i->flags);
    printf(",\"version\":\"%u.%u\",\"size\":%" PRIu64 ",\"total_size\":%" PRIu64
           ",\"memory\":%" PRIu64,
           (unsigned)i->version_major, (unsigned)i->version_minor, i->data_size, i->total_size,
           mem);
    if (i->creator_pid > 0)
        printf(",\"creator_pid\":%" PRId32, i->creator_pid);
    else
        printf(",\"creator_pid\":null");
    if (known)
        printf(",\"creator_uid\":%" PRIu32 ",\"owner\":", i->creator_uid);
    else
        printf(",\"creator_uid\":null,\"owner\":");
    const char *o = owner_name(i, owner, sizeof(owner));
    if (o != NULL)
        cli_json_string(stdout, o);
    else
        printf("null");
    printf(",\"alive\":%s", i->creator_alive > 0    ? "true"
                            : i->creator_alive == 0 ? "false"
                                                    : "null");
    if (i->created_ns > 0)
        printf(",\"created_ns\":%" PRId64 ",\"age_s\":%.3f", i->created_ns,
               (double)(c->now_ns - i->created_ns) / 1e9);
    else
        printf(",\"created_ns\":null,\"age_s\":null");
    printf(",\"stale\":%s,\"status\":%d,\"status_text\":", stale ? "true" : "false", i->status);
    cli_json_string(stdout, status_text(i, stale));
    ipcx_socket_info si;
    if (i->kind == IPCX_REGION_SOCKET && ipcx_socket_info_read(i->name, &si) == 0) {
        printf(",\"endpoints\":[");
        for (uint32_t k = 0; k < si.n_endpoints; k++) {
            printf("%s", k ? "," : "");
            cli_json_string(stdout, si.endpoints[k]);
        }
        printf("],\"peers\":%u,\"msgs_sent\":%" PRIu64 ",\"msgs_received\":%" PRIu64,
               si.stats.peers, si.stats.msgs_sent, si.stats.msgs_received);
        cli_conns_json(stdout, i->name);
    }
    ipcx_pool_stats ps;
    if (i->kind == IPCX_REGION_POOL && ipcx_pool_info_read(i->name, &ps) == 0)
        printf(",\"workers\":%u,\"queued\":%" PRIu64 ",\"running\":%" PRIu64 ",\"done\":%" PRIu64
               ",\"retried\":%" PRIu64,
               ps.workers, ps.queued, ps.running, ps.done, ps.retried);
    printf("}\n");
}

static void print_row(const struct ls_ctx *c, const ipcx_region_info *i, uint64_t mem, int stale)
{
    char size[32], age[32], pid[16], owner[64];
    cli_human_size(size, sizeof(size), i->kind == IPCX_REGION_QUEUE ? mem : i->data_size);
    human_age(age, sizeof(age), c->now_ns - i->created_ns, i->created_ns);
    if (i->creator_pid > 0)
        snprintf(pid, sizeof(pid), "%" PRId32, i->creator_pid);
    else
        snprintf(pid, sizeof(pid), "?");
    const char *o = owner_name(i, owner, sizeof(owner));
    printf("%-32s %-6s %8s %8s %-5s %6s %-8s  %s", i->name, cli_kind_name(i->kind), size, pid,
           alive_text(i->creator_alive), age, o != NULL ? o : "?", status_text(i, stale));
    ipcx_socket_info si;
    int conns = 0;
    if (i->kind == IPCX_REGION_SOCKET && ipcx_socket_info_read(i->name, &si) == 0) {
        printf("  %u peer%s", si.stats.peers, si.stats.peers == 1 ? "" : "s");
        for (uint32_t k = 0; k < si.n_endpoints; k++)
            printf(" %s", si.endpoints[k]);
        conns = si.stats.peers > 0;
    }
    ipcx_pool_stats ps;
    if (i->kind == IPCX_REGION_POOL && ipcx_pool_info_read(i->name, &ps) == 0)
        printf("  %u worker%s, %" PRIu64 " queued, %" PRIu64 " running, %" PRIu64 " done",
               ps.workers, ps.workers == 1 ? "" : "s", ps.queued, ps.running, ps.done);
    printf("\n");
    if (conns)
        cli_conns_text(stdout, i->name, "    ");
}

static void usage(FILE *f)
{
    fprintf(f, "usage: ipcx ls [-j] [-a]\n\n"
               "List the ipcx shared-memory regions (raw regions, rings, queues, exposed\n"
               "sockets with their peers and endpoints, exposed pools with their workers\n"
               "and tasks) of the region directory\n"
               "($IPCX_SHM_DIR, default /dev/shm), in name order (numbers as numbers):\n"
               "name, kind, size, creator pid, whether the creator still runs, age, the\n"
               "creator's user, and status.  A queue's size is the memory it holds: its\n"
               "control region and every segment.  Status is \"ok\", \"stale\" (the creator\n"
               "is gone and no live process is attached: ipcx rm --stale removes it), or\n"
               "why the region cannot be opened (not ready, bad header, wrong owner or\n"
               "mode).  Unknown values are \"?\" (null in JSON).  Under an exposed socket,\n"
               "one line per connection (the first 16): transport, the peer's pid and uid\n"
               "(tcp://: unknown) and address, messages in and out, drops, and what waits\n"
               "in each direction (shm://: bytes in the ring / its size; JSON: \"conns\").\n\n"
               "  -j, --json  one JSON object per region and line\n"
               "  -a, --all   also list queue segments (kind qseg)\n"
               "  -h, --help  show this help\n");
}

int cmd_ls(int argc, char **argv)
{
    static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
                                         {"all", no_argument, NULL, 'a'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    struct ls_ctx c = {0};
    int opt;
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "jah", opts, NULL)) != -1) {
        if (opt == 'j')
            c.json = 1;
        else if (opt == 'a')
            c.all = 1;
        else if (opt == 'h') {
            usage(stdout);
            return CLI_OK;
        } else {
            return cli_usage_error("ls", "unknown option or missing argument");
        }
    }
    if (optind < argc)
        return cli_usage_error("ls", "takes no arguments");
    c.now_ns = cli_now_ns();
    cli_region_set all;
    int rc = cli_region_collect(&all);
    if (rc < 0) {
        cli_error("ls", "region directory", ipcx_strerror(rc));
        return CLI_FAIL;
    }
    if (!c.json)
        printf("%-32s %-6s %8s %8s %-5s %6s %-8s  %s\n", "NAME", "KIND", "SIZE", "PID", "ALIVE",
               "AGE", "OWNER", "STATUS");
    for (size_t k = 0; k < all.n; k++) {
        const ipcx_region_info *i = &all.v[k];
        int stale = cli_stale(i, &all) == 1;
        if (!c.all && i->kind == IPCX_REGION_QSEG && i->status == 0 && !stale)
            continue;
        uint64_t mem = memory_of(i, &all);
        if (c.json)
            print_json(&c, i, mem, stale);
        else
            print_row(&c, i, mem, stale);
    }
    free(all.v);
    return fflush(stdout) == 0 ? CLI_OK : CLI_FAIL;
}
