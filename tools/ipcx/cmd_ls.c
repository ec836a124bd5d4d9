// SPDX-License-Identifier: MIT
/*
 * ipcx ls: list the named regions (raw regions, rings, queues, exposed
 * sockets) in the region
 * directory with what their headers say and whether their creator still
 * runs.  Regions that ipcx_region_open() would refuse are listed too, with
 * the reason, so a person can find and remove them.  Public API only.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <ipcx/ipcx.h>

#include "cli.h"

struct ls_ctx {
    int json;
    int all;
    int64_t now_ns;
};

static const char *kind_name(uint32_t kind)
{
    switch (kind) {
    case IPCX_REGION_RAW:
        return "raw";
    case IPCX_REGION_RING:
        return "ring";
    case IPCX_REGION_QUEUE:
        return "queue";
    case IPCX_REGION_QSEG:
        return "qseg";
    case IPCX_REGION_SOCKET:
        return "socket";
    case IPCX_REGION_POOL:
        return "pool";
    default:
        return "?";
    }
}

static const char *alive_text(int alive)
{
    return alive > 0 ? "yes" : alive == 0 ? "no" : "?";
}

static void human_size(char *buf, size_t cap, uint64_t n)
{
    static const char units[] = "BKMGTP";
    double v = (double)n;
    size_t u = 0;
    while (v >= 1024.0 && u + 1 < sizeof(units) - 1) {
        v /= 1024.0;
        u++;
    }
    if (u == 0)
        snprintf(buf, cap, "%" PRIu64 "B", n);
    else
        snprintf(buf, cap, "%.*f%c", v < 10.0 ? 1 : 0, v, units[u]);
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

static void print_json(const struct ls_ctx *c, const ipcx_region_info *i)
{
    printf("{\"name\":");
    cli_json_string(stdout, i->name);
    printf(",\"kind\":\"%s\",\"kind_id\":%" PRIu32 ",\"flags\":%" PRIu32, kind_name(i->kind),
           i->kind, i->flags);
    printf(",\"version\":\"%u.%u\",\"size\":%" PRIu64 ",\"total_size\":%" PRIu64,
           (unsigned)i->version_major, (unsigned)i->version_minor, i->data_size, i->total_size);
    printf(",\"creator_pid\":%" PRId32 ",\"creator_uid\":%" PRIu32 ",\"alive\":%s", i->creator_pid,
           i->creator_uid,
           i->creator_alive > 0    ? "true"
           : i->creator_alive == 0 ? "false"
                                   : "null");
    if (i->created_ns > 0)
        printf(",\"created_ns\":%" PRId64 ",\"age_s\":%.3f", i->created_ns,
               (double)(c->now_ns - i->created_ns) / 1e9);
    printf(",\"status\":%d,\"status_text\":", i->status);
    cli_json_string(stdout, i->status == 0 ? "ok" : ipcx_strerror(i->status));
    ipcx_socket_info si;
    if (i->kind == IPCX_REGION_SOCKET && ipcx_socket_info_read(i->name, &si) == 0) {
        printf(",\"endpoints\":[");
        for (uint32_t k = 0; k < si.n_endpoints; k++) {
            printf("%s", k ? "," : "");
            cli_json_string(stdout, si.endpoints[k]);
        }
        printf("],\"peers\":%u,\"msgs_sent\":%" PRIu64 ",\"msgs_received\":%" PRIu64,
               si.stats.peers, si.stats.msgs_sent, si.stats.msgs_received);
    }
    ipcx_pool_stats ps;
    if (i->kind == IPCX_REGION_POOL && ipcx_pool_info_read(i->name, &ps) == 0)
        printf(",\"workers\":%u,\"queued\":%" PRIu64 ",\"running\":%" PRIu64 ",\"done\":%" PRIu64
               ",\"retried\":%" PRIu64,
               ps.workers, ps.queued, ps.running, ps.done, ps.retried);
    printf("}\n");
}

static void print_row(const struct ls_ctx *c, const ipcx_region_info *i)
{
    char size[32], age[32], pid[16];
    human_size(size, sizeof(size), i->data_size);
    human_age(age, sizeof(age), c->now_ns - i->created_ns, i->created_ns);
    if (i->creator_pid > 0)
        snprintf(pid, sizeof(pid), "%" PRId32, i->creator_pid);
    else
        snprintf(pid, sizeof(pid), "?");
    printf("%-32s %-5s %8s %8s %-5s %6s  %s", i->name, kind_name(i->kind), size, pid,
           alive_text(i->creator_alive), age, i->status == 0 ? "ok" : ipcx_strerror(i->status));
    ipcx_socket_info si;
    if (i->kind == IPCX_REGION_SOCKET && ipcx_socket_info_read(i->name, &si) == 0) {
        printf("  %u peer%s", si.stats.peers, si.stats.peers == 1 ? "" : "s");
        for (uint32_t k = 0; k < si.n_endpoints; k++)
            printf(" %s", si.endpoints[k]);
    }
    ipcx_pool_stats ps;
    if (i->kind == IPCX_REGION_POOL && ipcx_pool_info_read(i->name, &ps) == 0)
        printf("  %u worker%s, %" PRIu64 " queued, %" PRIu64 " running, %" PRIu64 " done",
               ps.workers, ps.workers == 1 ? "" : "s", ps.queued, ps.running, ps.done);
    printf("\n");
}

static int on_region(void *ctx, const ipcx_region_info *info)
{
    const struct ls_ctx *c = ctx;
    if (!c->all && info->kind == IPCX_REGION_QSEG && info->status == 0)
        return 0;
    if (c->json)
        print_json(c, info);
    else
        print_row(c, info);
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: ipcx ls [--json] [--all]\n\n"
               "List the ipcx shared-memory regions (raw regions, rings, queues, exposed\n"
               "sockets with their peers and endpoints, exposed pools with their\n"
               "workers and tasks) of the\n"
               "region directory ($IPCX_SHM_DIR, default /dev/shm): name, kind, usable size,\n"
               "creator pid, whether the creator still runs, age, and status.  Regions that\n"
               "cannot be opened (not ready, bad header, wrong owner or mode) are listed\n"
               "with the reason.\n\n"
               "  --json   one JSON object per region and line\n"
               "  --all    also list queue segments (kind qseg)\n"
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
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    c.now_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    if (!c.json)
        printf("%-32s %-5s %8s %8s %-5s %6s  %s\n", "NAME", "KIND", "SIZE", "PID", "ALIVE", "AGE",
               "STATUS");
    int rc = ipcx_region_list(on_region, &c);
    if (rc < 0) {
        cli_error("ls", "region directory", ipcx_strerror(rc));
        return CLI_FAIL;
    }
    return fflush(stdout) == 0 ? CLI_OK : CLI_FAIL;
}
