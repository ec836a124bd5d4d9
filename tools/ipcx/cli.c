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
