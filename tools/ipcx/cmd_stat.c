// SPDX-License-Identifier: MIT
/*
 * ipcx stat [--json] [--watch [SECONDS]] NAME: show a ring's (or a
 * queue's, or an exposed socket's) live figures -
 * configuration, positions, messages and bytes in and out, full waits,
 * lost and overrun records, and every attached producer and consumer with
 * its pid, counts and lag.  --watch repeats every second (or SECONDS) and
 * adds rates.  Opening a ring to read it takes no role in it.  Public API
 * only.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ipcx/ipcx.h>

#include "cli.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: ipcx stat [-j] [-w [SECONDS]] NAME|URL\n"
               "Show the live statistics of the ring, queue, exposed socket or exposed\n"
               "pool NAME, or of the exposed socket with the endpoint URL (tcp://,\n"
               "unix://, shm://; the first in name order when several have it).  A pool "
               "(ipcx_pool_expose) shows its workers, tasks\n"
               "submitted, queued, running, done, failed and retried, worker deaths and\n"
               "restarts, and each worker's pid and counts.\n"
               "A socket (ipcx_socket_expose; ipcx send and recv expose theirs) shows\n"
               "its pattern, endpoints, peers, messages, bytes and drops, and each\n"
               "connection (the first 16): transport, peer pid, uid and address,\n"
               "messages in and out, drops, and what waits in each direction (shm://:\n"
               "bytes in the ring / its size).  A ring shows\n"
               "messages, bytes, full waits, lost and overrun counts, producers and\n"
               "consumers with their pids (\"(gone)\" when the process is dead) and each\n"
               "consumer's lag; a queue its segments, memory or disk in use and each\n"
               "consumer's lag.  A durable queue is named by its directory (any NAME\n"
               "containing '/').  A raw region shows its header (it has no statistics).\n\n"
               "  -j, --json              one JSON object per sample and line, with \"time\"\n"
               "                          (Unix seconds) and the rates (null in the first)\n"
               "  -w, --watch [SECONDS]   repeat every SECONDS (default 1; --watch=N and\n"
               "                          --watch N both work) until interrupted or NAME\n"
               "                          is removed (SIGINT/SIGTERM: exit 0); each sample is\n"
               "                          flushed at once\n"
               "  -h, --help              this text\n");
}

static const char *delivery_name(uint32_t d)
{
    return d == IPCX_RING_BROADCAST ? "broadcast" : "queue";
}

static const char *full_name(uint32_t f)
{
    return f == IPCX_RING_FAIL ? "fail" : f == IPCX_RING_OVERWRITE ? "overwrite" : "block";
}

static const char *json_alive(int alive)
{
    return alive > 0 ? "true" : alive == 0 ? "false" : "null";
}

/* Per-second rate of a counter between two samples, or -1 for none. */
static double rate(uint64_t now, uint64_t before, double dt)
{
    return dt > 0 ? (double)(now - before) / dt : -1;
}

static void json_rate(const char *key, double v)
{
    if (v >= 0)
        printf(",\"%s\":%.1f", key, v);
    else
        printf(",\"%s\":null", key);
}

static void print_json(const char *name, const ipcx_ring_stat *s, const ipcx_ring_stat *prev,
                       double dt)
{
    printf("{\"name\":");
    cli_json_string(stdout, name);
    printf(",\"kind\":\"ring\",\"time\":%.3f", (double)cli_now_ns() / 1e9);
    if (prev == NULL)
        dt = 0;
    json_rate("rate_msgs_in", prev ? rate(s->msgs_in, prev->msgs_in, dt) : -1);
    json_rate("rate_msgs_out", prev ? rate(s->msgs_out, prev->msgs_out, dt) : -1);
    json_rate("rate_bytes_in", prev ? rate(s->bytes_in, prev->bytes_in, dt) : -1);
    json_rate("rate_bytes_out", prev ? rate(s->bytes_out, prev->bytes_out, dt) : -1);
    printf(",\"capacity\":%" PRIu64 ",\"max_msg\":%" PRIu64 ",\"slot_size\":%" PRIu64
           ",\"delivery\":\"%s\",\"full\":\"%s\",\"max_producers\":%u,\"max_consumers\":%u"
           ",\"write_pos\":%" PRIu64 ",\"read_pos\":%" PRIu64 ",\"msgs_in\":%" PRIu64
           ",\"bytes_in\":%" PRIu64 ",\"msgs_out\":%" PRIu64 ",\"bytes_out\":%" PRIu64
           ",\"full_waits\":%" PRIu64 ",\"lost\":%" PRIu64 ",\"overruns\":%" PRIu64
           ",\"producers\":%u,\"consumers\":%u,\"producers_alive\":%u,\"consumers_alive\":%u"
           ",\"peers\":[",
           s->capacity, s->max_msg, s->slot_size, delivery_name(s->delivery), full_name(s->full),
           s->max_producers, s->max_consumers, s->write_pos, s->read_pos, s->msgs_in, s->bytes_in,
           s->msgs_out, s->bytes_out, s->full_waits, s->lost, s->overruns, s->producers,
           s->consumers, s->producers_alive, s->consumers_alive);
    for (uint32_t i = 0; i < s->npeers; i++)
        printf("%s{\"pid\":%d,\"role\":\"%s\",\"alive\":%s,\"msgs\":%" PRIu64 ",\"bytes\":%" PRIu64
               ",\"lag\":%" PRIu64 "}",
               i ? "," : "", s->peer[i].pid,
               s->peer[i].role == IPCX_RING_PRODUCER ? "producer" : "consumer",
               json_alive(s->peer[i].alive), s->peer[i].msgs, s->peer[i].bytes, s->peer[i].lag);
    printf("]}\n");
    fflush(stdout);
}

static void print_text(const char *name, const ipcx_ring_stat *s, const ipcx_ring_stat *prev,
                       double dt)
{
    char cap[32], max[32], bin[32], bout[32];
    cli_human_size(cap, sizeof(cap), s->capacity);
    cli_human_size(max, sizeof(max), s->max_msg);
    cli_human_size(bin, sizeof(bin), s->bytes_in);
    cli_human_size(bout, sizeof(bout), s->bytes_out);
    printf("ring %s: %s, full=%s, capacity %s, max message %s%s\n", name,
           delivery_name(s->delivery), full_name(s->full), cap, max,
           s->slot_size ? " (fixed slots)" : "");
    printf("  in   %" PRIu64 " msgs, %s;  out %" PRIu64 " msgs, %s\n", s->msgs_in, bin, s->msgs_out,
           bout);
    if (prev != NULL && dt > 0)
        printf("  rate %.0f msgs/s in, %.0f msgs/s out\n", rate(s->msgs_in, prev->msgs_in, dt),
               rate(s->msgs_out, prev->msgs_out, dt));
    printf("  full waits %" PRIu64 ", lost %" PRIu64 ", overruns %" PRIu64 "; write pos %" PRIu64
           ", read pos %" PRIu64 "\n",
           s->full_waits, s->lost, s->overruns, s->write_pos, s->read_pos);
    printf("  producers %u/%u, consumers %u/%u", s->producers, s->max_producers, s->consumers,
           s->max_consumers);
    if (s->producers_alive < s->producers || s->consumers_alive < s->consumers)
        printf(" (%u and %u of them gone)", s->producers - s->producers_alive,
               s->consumers - s->consumers_alive);
    printf("\n");
    for (uint32_t i = 0; i < s->npeers; i++) {
        char b[32];
        cli_human_size(b, sizeof(b), s->peer[i].bytes);
        printf("    %-8s pid %-8d%-7s %12" PRIu64 " msgs %8s  lag %" PRIu64 " B\n",
               s->peer[i].role == IPCX_RING_PRODUCER ? "producer" : "consumer", s->peer[i].pid,
               s->peer[i].alive == 0 ? " (gone)" : "", s->peer[i].msgs, b, s->peer[i].lag);
    }
    fflush(stdout);
}

static int parse(int argc, char **argv, int *json, double *watch)
{
    static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
                                         {"watch", optional_argument, NULL, 'w'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int c;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "jw::h", opts, NULL)) != -1) {
        if (c == 'j') {
            *json = 1;
        } else if (c == 'w') {
            if (cli_watch_arg(argc, argv, watch) != 0)
                return cli_usage_error("stat", "--watch takes a positive number of seconds");
        } else if (c == 'h') {
            usage(stdout);
            return -1;
        } else {
            return cli_usage_error("stat", "unknown option");
        }
    }
    if (optind != argc - 1)
        return cli_usage_error("stat", "exactly one NAME is needed");
    return 0;
}

/* SIGINT / SIGTERM while watching: set by the handler (sig_atomic_t, the
 * one type C11 lets a handler store to), read after each nap. */
static volatile sig_atomic_t g_stop;

static void on_stop(int sig)
{
    (void)sig;
    g_stop = 1;
}

/* Watching ends on SIGINT or SIGTERM with what was printed kept (each
 * sample is flushed) and exit status 0.  A handler, not the default
 * action, also when the shell started us with SIGINT ignored (`&`). */
static void stop_on_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    (void)sigaction(SIGINT, &sa, NULL);
    (void)sigaction(SIGTERM, &sa, NULL);
}

/* Sleep between samples; 1 when a signal asked to stop (a line on stderr). */
static int nap(const char *name, double seconds)
{
    struct timespec ts = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
    while (!g_stop && nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
    if (!g_stop)
        return 0;
    fflush(stdout);
    fprintf(stderr, "ipcx: stat: %s: interrupted; stopped watching\n", name);
    return 1;
}

/* While watching: 1 once the object NAME was removed (or replaced by a new
 * one: another creator or creation time), with a line on stderr. */
static int gone(const char *name, const ipcx_region_info *first)
{
    ipcx_region_info now;
    int rc = ipcx_region_stat(name, &now);
    if (rc == 0 && now.creator_pid == first->creator_pid && now.created_ns == first->created_ns)
        return 0;
    fprintf(stderr, "ipcx: stat: %s: %s; stopped watching\n", name,
            rc == -ENOENT ? "removed" : "replaced by a new object of that name");
    return 1;
}

static const char *pattern_name(int p)
{
    static const char *names[] = {"?",   "pair",   "pub",    "sub",  "req",
                                  "rep", "dealer", "router", "pull", "push"};
    return p >= 1 && p <= 9 ? names[p] : "?";
}

static void print_socket(const char *name, const ipcx_socket_info *si, const ipcx_socket_info *prev,
                         double dt, int json)
{
    const ipcx_socket_stats *st = &si->stats;
    if (json) {
        printf("{\"name\":");
        cli_json_string(stdout, name);
        printf(",\"kind\":\"socket\",\"time\":%.3f", (double)cli_now_ns() / 1e9);
        json_rate("rate_msgs_out", prev ? rate(st->msgs_sent, prev->stats.msgs_sent, dt) : -1);
        json_rate("rate_msgs_in",
                  prev ? rate(st->msgs_received, prev->stats.msgs_received, dt) : -1);
        printf(",\"pattern\":\"%s\",\"pid\":%d,\"alive\":%s,\"endpoints\":[",
               pattern_name(si->pattern), (int)si->creator_pid,
               si->creator_alive > 0    ? "true"
               : si->creator_alive == 0 ? "false"
                                        : "null");
        for (uint32_t i = 0; i < si->n_endpoints; i++) {
            printf("%s", i ? "," : "");
            cli_json_string(stdout, si->endpoints[i]);
        }
        printf("],\"peers\":%u,\"msgs_sent\":%" PRIu64 ",\"msgs_received\":%" PRIu64
               ",\"bytes_sent\":%" PRIu64 ",\"bytes_received\":%" PRIu64 ",\"drops\":%" PRIu64
               ",\"filtered\":%" PRIu64 ",\"connects\":%" PRIu64 ",\"disconnects\":%" PRIu64
               ",\"reconnects\":%" PRIu64 ",\"handshake_failures\":%" PRIu64,
               st->peers, st->msgs_sent, st->msgs_received, st->bytes_sent, st->bytes_received,
               st->drops, st->filtered, st->connects, st->disconnects, st->reconnects,
               st->handshake_failures);
        cli_conns_json(stdout, name);
        printf("}\n");
        fflush(stdout);
        return;
    }
    printf("socket %s: %s, pid %d%s, %u peer%s\n", name, pattern_name(si->pattern),
           (int)si->creator_pid, si->creator_alive == 0 ? " (gone)" : "", st->peers,
           st->peers == 1 ? "" : "s");
    for (uint32_t i = 0; i < si->n_endpoints; i++)
        printf("  endpoint %s\n", si->endpoints[i]);
    printf("  sent %" PRIu64 " msgs, %" PRIu64 " B;  received %" PRIu64 " msgs, %" PRIu64 " B\n",
           st->msgs_sent, st->bytes_sent, st->msgs_received, st->bytes_received);
    if (prev != NULL && dt > 0)
        printf("  rate %.0f msgs/s out, %.0f msgs/s in\n",
               (double)(st->msgs_sent - prev->stats.msgs_sent) / dt,
               (double)(st->msgs_received - prev->stats.msgs_received) / dt);
    printf("  drops %" PRIu64 ", filtered %" PRIu64 "; connects %" PRIu64 ", disconnects %" PRIu64
           ", reconnects %" PRIu64 ", failed handshakes %" PRIu64 "\n",
           st->drops, st->filtered, st->connects, st->disconnects, st->reconnects,
           st->handshake_failures);
    cli_conns_text(stdout, name, "  ");
    fflush(stdout);
}

static int stat_socket(const char *name, int json, double watch)
{
    ipcx_socket_info cur, prev;
    for (int first = 1;; first = 0) {
        int rc = ipcx_socket_info_read(name, &cur);
        if (rc != 0) {
            if (!first && rc == -ENOENT) {
                fprintf(stderr, "ipcx: stat: %s: the socket was closed\n", name);
                return CLI_OK;
            }
            cli_error("stat", name, ipcx_strerror(rc));
            return CLI_FAIL;
        }
        print_socket(name, &cur, first ? NULL : &prev, watch, json);
        if (watch <= 0)
            return CLI_OK;
        prev = cur;
        if (nap(name, watch))
            return CLI_OK;
    }
}

static void print_pool(const char *name, const ipcx_pool_stats *st, const ipcx_pool_stats *prev,
                       double dt, int json, const ipcx_region_info *ri)
{
    if (json) {
        printf("{\"name\":");
        cli_json_string(stdout, name);
        printf(",\"kind\":\"pool\",\"pid\":%d,\"alive\":%s,\"workers\":%u,\"local\":%u,"
               "\"remote\":%u,\"submitted\":%" PRIu64 ",\"queued\":%" PRIu64 ",\"running\":%" PRIu64
               ",\"done\":%" PRIu64 ",\"failed\":%" PRIu64 ",\"retried\":%" PRIu64
               ",\"deaths\":%" PRIu64 ",\"restarts\":%" PRIu64 ",\"bad\":%" PRIu64
               ",\"per_worker\":[",
               (int)ri->creator_pid,
               ri->creator_alive > 0    ? "true"
               : ri->creator_alive == 0 ? "false"
                                        : "null",
               st->workers, st->local, st->remote, st->submitted, st->queued, st->running, st->done,
               st->failed, st->retried, st->deaths, st->restarts, st->bad);
        for (uint32_t i = 0; i < st->nworker; i++)
            printf("%s{\"slot\":%u,\"pid\":%d,\"remote\":%s,\"running\":%u,\"done\":%" PRIu64 "}",
                   i ? "," : "", st->worker[i].slot, (int)st->worker[i].pid,
                   st->worker[i].remote ? "true" : "false", st->worker[i].running,
                   st->worker[i].done);
        printf("]}\n");
        fflush(stdout);
        return;
    }
    printf("pool %s: pid %d%s, %u worker%s (%u local, %u remote)\n", name, (int)ri->creator_pid,
           ri->creator_alive == 0 ? " (gone)" : "", st->workers, st->workers == 1 ? "" : "s",
           st->local, st->remote);
    printf("  tasks: %" PRIu64 " submitted, %" PRIu64 " queued, %" PRIu64 " running, %" PRIu64
           " done, %" PRIu64 " failed, %" PRIu64 " retried\n",
           st->submitted, st->queued, st->running, st->done, st->failed, st->retried);
    if (prev != NULL && dt > 0)
        printf("  rate %.0f tasks/s\n", (double)(st->done - prev->done) / dt);
    printf("  workers died %" PRIu64 ", restarted %" PRIu64 "; malformed records %" PRIu64 "\n",
           st->deaths, st->restarts, st->bad);
    for (uint32_t i = 0; i < st->nworker; i++) {
        if (st->worker[i].remote)
            printf("  worker %u: remote, %u running, %" PRIu64 " done\n", st->worker[i].slot,
                   st->worker[i].running, st->worker[i].done);
        else
            printf("  worker %u: pid %d, %u running, %" PRIu64 " done\n", st->worker[i].slot,
                   (int)st->worker[i].pid, st->worker[i].running, st->worker[i].done);
    }
    fflush(stdout);
}

static int stat_pool(const char *name, int json, double watch)
{
    ipcx_pool_stats cur, prev;
    for (int first = 1;; first = 0) {
        ipcx_region_info ri;
        int rc = ipcx_region_stat(name, &ri);
        if (rc == 0)
            rc = ipcx_pool_info_read(name, &cur);
        if (rc != 0) {
            if (!first && rc == -ENOENT) {
                fprintf(stderr, "ipcx: stat: %s: the pool was destroyed\n", name);
                return CLI_OK;
            }
            cli_error("stat", name, ipcx_strerror(rc));
            return CLI_FAIL;
        }
        print_pool(name, &cur, first ? NULL : &prev, watch, json, &ri);
        if (watch <= 0)
            return CLI_OK;
        prev = cur;
        if (nap(name, watch))
            return CLI_OK;
    }
}

static int is_kind(const char *name, uint32_t kind)
{
    ipcx_region_info ri;
    return strchr(name, '/') == NULL && ipcx_region_stat(name, &ri) == 0 && ri.kind == kind;
}

static int is_socket(const char *name)
{
    ipcx_region_info ri;
    return strchr(name, '/') == NULL && ipcx_region_stat(name, &ri) == 0 &&
           ri.kind == IPCX_REGION_SOCKET;
}

/* A durable queue is named by its directory (a name with a '/'); an
 * in-memory queue by a region of kind queue. */
static int is_queue(const char *name)
{
    ipcx_region_info ri;
    if (strchr(name, '/') != NULL)
        return 1;
    return ipcx_region_stat(name, &ri) == 0 && ri.kind == IPCX_REGION_QUEUE;
}

static int stat_queue(const char *name, int json, double watch)
{
    ipcx_queue_info cur, prev;
    ipcx_region_info first = {0};
    int durable = strchr(name, '/') != NULL;
    if (!durable && ipcx_region_stat(name, &first) != 0)
        durable = 1; /* raced with a removal: the stat below says so */
    for (int n = 0;; n++) {
        int rc = ipcx_queue_stat(name, &cur);
        if (rc < 0 && n > 0 && (rc == -ENOENT || rc == -EMEDIUMTYPE)) {
            fprintf(stderr, "ipcx: stat: %s: removed; stopped watching\n", name);
            return CLI_OK;
        }
        if (rc < 0) {
            cli_open_error("stat", name, rc, "a queue");
            return CLI_FAIL;
        }
        cli_queue_print(name, &cur, n > 0 ? &prev : NULL, watch, json);
        if (watch <= 0)
            return ferror(stdout) ? CLI_FAIL : CLI_OK;
        prev = cur;
        if (nap(name, watch) || (!durable && gone(name, &first)))
            return ferror(stdout) ? CLI_FAIL : CLI_OK;
    }
}

/* A region that has no statistics (a raw region, a queue segment): its
 * header, and what to look at instead. */
static int stat_other(const char *name, const ipcx_region_info *ri, int json)
{
    char size[32];
    cli_human_size(size, sizeof(size), ri->data_size);
    if (json) {
        printf("{\"name\":");
        cli_json_string(stdout, name);
        printf(",\"kind\":\"%s\",\"time\":%.3f,\"size\":%" PRIu64 ",\"creator_pid\":",
               cli_kind_name(ri->kind), (double)cli_now_ns() / 1e9, ri->data_size);
        if (ri->creator_pid > 0)
            printf("%d", (int)ri->creator_pid);
        else
            printf("null");
        printf(",\"alive\":%s,\"version\":\"%u.%u\",\"statistics\":null}\n",
               json_alive(ri->creator_alive), (unsigned)ri->version_major,
               (unsigned)ri->version_minor);
    } else {
        printf("%s %s: %s, layout %u.%u, creator pid %d%s\n", cli_kind_name(ri->kind), name, size,
               (unsigned)ri->version_major, (unsigned)ri->version_minor, (int)ri->creator_pid,
               ri->creator_alive == 0 ? " (gone)" : "");
        if (ri->kind == IPCX_REGION_QSEG)
            printf("  a queue segment has no statistics of its own: ipcx stat the queue\n");
        else
            printf("  a %s region has no statistics (rings, queues and sockets have)\n",
                   cli_kind_name(ri->kind));
    }
    return fflush(stdout) == 0 ? CLI_OK : CLI_FAIL;
}

static int stat_ring(const char *name, int json, double watch)
{
    ipcx_ring *r = NULL;
    int rc = ipcx_ring_open(name, &r);
    if (rc != 0) {
        cli_open_error("stat", name, rc, "a ring");
        return CLI_FAIL;
    }
    ipcx_region_info first = {0};
    ipcx_region_stat(name, &first);
    ipcx_ring_stat cur, prev;
    for (int n = 0;; n++) {
        rc = ipcx_ring_stats(r, &cur);
        if (rc != 0) {
            cli_error("stat", name, ipcx_strerror(rc));
            ipcx_ring_close(r);
            return CLI_FAIL;
        }
        if (json)
            print_json(name, &cur, n > 0 ? &prev : NULL, watch);
        else
            print_text(name, &cur, n > 0 ? &prev : NULL, watch);
        if (watch <= 0 || ferror(stdout))
            break;
        prev = cur;
        if (nap(name, watch) || gone(name, &first))
            break;
    }
    ipcx_ring_close(r);
    return ferror(stdout) ? CLI_FAIL : CLI_OK;
}

/* `ipcx stat URL`: the exposed sockets with @url among their endpoints. */
struct by_url {
    const char *url;
    char names[8][IPCX_REGION_NAME_MAX + 1];
    int n;
};

static int match_url(void *arg, const ipcx_region_info *ri)
{
    struct by_url *b = arg;
    ipcx_socket_info si;
    if (ri->kind != IPCX_REGION_SOCKET || b->n == 8 || ipcx_socket_info_read(ri->name, &si) != 0)
        return 0;
    for (uint32_t i = 0; i < si.n_endpoints; i++) {
        if (strcmp(si.endpoints[i], b->url) == 0) {
            snprintf(b->names[b->n++], sizeof(b->names[0]), "%s", ri->name);
            break;
        }
    }
    return 0;
}

static int stat_url(const char *url, int json, double watch)
{
    struct by_url b = {.url = url};
    int rc = ipcx_region_list(match_url, &b);
    if (rc < 0) {
        cli_error("stat", url, ipcx_strerror(rc));
        return CLI_FAIL;
    }
    if (b.n == 0) {
        cli_error("stat", url,
                  "no exposed socket has this endpoint (ipcx ls lists the exposed ones)");
        return CLI_FAIL;
    }
    for (int i = 1; i < b.n; i++)
        fprintf(stderr, "ipcx: stat: %s: also an endpoint of socket %s\n", url, b.names[i]);
    return stat_socket(b.names[0], json, watch);
}

int cmd_stat(int argc, char **argv)
{
    int json = 0;
    double watch = 0;
    int rc = parse(argc, argv, &json, &watch);
    if (rc != 0)
        return rc < 0 ? CLI_OK : rc;
    const char *name = argv[optind];
    if (watch > 0)
        stop_on_signals();
    if (strstr(name, "://") != NULL)
        return stat_url(name, json, watch);
    if (is_queue(name))
        return stat_queue(name, json, watch);
    if (is_socket(name))
        return stat_socket(name, json, watch);
    if (is_kind(name, IPCX_REGION_POOL))
        return stat_pool(name, json, watch);
    ipcx_region_info ri;
    if (ipcx_region_stat(name, &ri) == 0 && ri.status == 0 && ri.kind != IPCX_REGION_RING)
        return stat_other(name, &ri, json);
    return stat_ring(name, json, watch);
}
