// SPDX-License-Identifier: MIT
/* Helpers shared by the ipcx commands: error lines, JSON strings, sizes,
 * the --watch argument. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ipcx/ipcx.h>

#include "cli.h"

void cli_error(const char *cmd, const char *what, const char *why)
{
    fprintf(stderr, "ipcx: %s: %s: %s\n", cmd, what, why);
}

int cli_usage_error(const char *cmd, const char *msg)
{
    fprintf(stderr, "ipcx: %s: %s\nTry 'ipcx %s --help'.\n", cmd, msg, cmd);
    return CLI_USAGE;
}

void cli_json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

void cli_human_size(char *buf, size_t cap, uint64_t n)
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

int64_t cli_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

const char *cli_kind_name(uint32_t kind)
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

static const char *kind_phrase(uint32_t kind)
{
    switch (kind) {
    case IPCX_REGION_RAW:
        return "a raw region";
    case IPCX_REGION_RING:
        return "a ring";
    case IPCX_REGION_QUEUE:
        return "a queue";
    case IPCX_REGION_QSEG:
        return "a queue segment";
    case IPCX_REGION_SOCKET:
        return "an exposed socket";
    case IPCX_REGION_POOL:
        return "an exposed pool";
    default:
        return "a region of an unknown kind";
    }
}

void cli_open_error(const char *cmd, const char *name, int rc, const char *wanted)
{
    ipcx_region_info ri;
    if (rc == -EMEDIUMTYPE && strchr(name, '/') == NULL && ipcx_region_stat(name, &ri) == 0) {
        fprintf(stderr, "ipcx: %s: %s is %s, not %s\n", cmd, name, kind_phrase(ri.kind), wanted);
        return;
    }
    cli_error(cmd, name, ipcx_strerror(rc));
}

int cli_watch_arg(int argc, char **argv, double *watch)
{
    const char *arg = optarg;
    /* "--watch N" and "-w N": getopt's optional argument only takes
     * "--watch=N" and "-wN", so a following number is taken here. */
    if (arg == NULL && optind < argc) {
        char *end = NULL;
        double v = strtod(argv[optind], &end);
        if (end != argv[optind] && *end == '\0') {
            arg = argv[optind++];
            (void)v;
        }
    }
    if (arg == NULL) {
        *watch = 1.0;
        return 0;
    }
    char *end = NULL;
    *watch = strtod(arg, &end);
    if (end == arg || *end != '\0' || !(*watch > 0) || *watch > 86400)
        return -1;
    return 0;
}

static const char *conn_transport(int t)
{
    return t == 1 ? "tcp" : t == 2 ? "unix" : t == 3 ? "shm" : "?";
}

void cli_conns_json(FILE *f, const char *name)
{
    ipcx_socket_conn c[IPCX_SOCKET_INFO_CONNS];
    size_t total = 0;
    int n = ipcx_socket_conns_read(name, c, IPCX_SOCKET_INFO_CONNS, &total);
    if (n < 0)
        return;
    fprintf(f, ",\"conns\":[");
    for (int i = 0; i < n; i++) {
        fprintf(f, "%s{\"transport\":\"%s\",\"peer_pid\":", i ? "," : "",
                conn_transport(c[i].transport));
        if (c[i].peer_pid >= 0)
            fprintf(f, "%" PRId64, c[i].peer_pid);
        else
            fprintf(f, "null");
        fprintf(f, ",\"peer_uid\":");
        if (c[i].peer_uid >= 0)
            fprintf(f, "%" PRId64, c[i].peer_uid);
        else
            fprintf(f, "null");
        fprintf(f, ",\"peer\":");
        cli_json_string(f, c[i].peer);
        fprintf(f,
                ",\"msgs_in\":%" PRIu64 ",\"msgs_out\":%" PRIu64 ",\"drops\":%" PRIu64
                ",\"rx_used\":%" PRIu64 ",\"rx_cap\":%" PRIu64 ",\"tx_used\":%" PRIu64
                ",\"tx_cap\":%" PRIu64 "}",
                c[i].msgs_in, c[i].msgs_out, c[i].drops, c[i].rx_used, c[i].rx_cap, c[i].tx_used,
                c[i].tx_cap);
    }
    fprintf(f, "],\"conns_total\":%zu", total);
}

static void fill_text(char *buf, size_t cap, uint64_t used, uint64_t size) /* cap >= 65 */
{
    char u[32], c[32];
    cli_human_size(u, sizeof(u), used);
    if (size == 0) {
        snprintf(buf, cap, "%s", u);
        return;
    }
    cli_human_size(c, sizeof(c), size);
    snprintf(buf, cap, "%s/%s", u, c);
}

/* A pid or uid, or "?" when unknown (negative). */
static void id_text(char *buf, size_t cap, int64_t v)
{
    if (v >= 0)
        snprintf(buf, cap, "%" PRId64, v);
    else
        snprintf(buf, cap, "?");
}

void cli_conns_text(FILE *f, const char *name, const char *indent)
{
    ipcx_socket_conn c[IPCX_SOCKET_INFO_CONNS];
    size_t total = 0;
    int n = ipcx_socket_conns_read(name, c, IPCX_SOCKET_INFO_CONNS, &total);
    if (n < 0)
        return;
    for (int i = 0; i < n; i++) {
        char pid[24], uid[24], rx[72], tx[72];
        id_text(pid, sizeof(pid), c[i].peer_pid);
        id_text(uid, sizeof(uid), c[i].peer_uid);
        fill_text(rx, sizeof(rx), c[i].rx_used, c[i].rx_cap);
        fill_text(tx, sizeof(tx), c[i].tx_used, c[i].tx_cap);
        fprintf(f,
                "%sconn %s pid %s uid %s%s%s: in %" PRIu64 ", out %" PRIu64 ", drops %" PRIu64
                "; rx %s, tx %s\n",
                indent, conn_transport(c[i].transport), pid, uid, c[i].peer[0] ? " peer " : "",
                c[i].peer, c[i].msgs_in, c[i].msgs_out, c[i].drops, rx, tx);
    }
    if (total > (size_t)n)
        fprintf(f, "%s(and %zu more connections)\n", indent, total - (size_t)n);
}
