// SPDX-License-Identifier: MIT
/*
 * ipcx queue: inspect queues.  `ipcx queue dump NAME` prints every record a
 * queue still keeps, oldest first, without consuming anything: sequence
 * number, size and the first bytes (hex and printable text) - for durable
 * queues (NAME is the directory) after a crash above all, and for
 * in-memory queues.  `ipcx queue info NAME` prints what ipcx_queue_stat()
 * reports.  Public API only.
 */
#include <ctype.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ipcx/ipcx.h>

#include "cli.h"

struct dump_ctx {
    int json;
    size_t bytes;
};

static void usage(FILE *f)
{
    fputs("usage: ipcx queue dump [--json] [--bytes N] NAME\n"
          "       ipcx queue info [--json] NAME\n"
          "       ipcx queue send|recv [options] NAME   (ipcx queue send --help)\n\n"
          "NAME is an in-memory queue's name or a durable queue's directory (contains '/').\n\n"
          "  dump            print each record still kept: sequence, size, first bytes\n"
          "  info            segments, memory, sequences and each consumer's lag\n"
          "  -j, --json      one JSON object per line\n"
          "  -b, --bytes N   bytes of each record to show (default 16, max 256)\n"
          "  -h, --help      this text\n",
          f);
}

static int on_record(void *ctx, uint64_t seq, const void *data, size_t len)
{
    const struct dump_ctx *c = ctx;
    const unsigned char *p = data;
    size_t n = len < c->bytes ? len : c->bytes;
    if (c->json) {
        printf("{\"seq\":%" PRIu64 ",\"size\":%zu,\"hex\":\"", seq, len);
        for (size_t i = 0; i < n; i++)
            printf("%02x", p[i]);
        printf("\"}\n");
        return 0;
    }
    printf("%12" PRIu64 " %10zu  ", seq, len);
    for (size_t i = 0; i < n; i++)
        printf("%02x", p[i]);
    printf("%*s  ", (int)(2 * (c->bytes - n)), "");
    for (size_t i = 0; i < n; i++)
        putchar(isprint(p[i]) ? p[i] : '.');
    putchar('\n');
    return 0;
}

static int do_dump(const char *name, struct dump_ctx *c)
{
    ipcx_queue_info qi;
    int rc = ipcx_queue_stat(name, &qi); /* "x is a ring, not a queue" before any heading */
    if (rc < 0) {
        cli_open_error("queue", name, rc, "a queue");
        return CLI_FAIL;
    }
    if (!c->json)
        printf("%12s %10s  %s\n", "SEQ", "SIZE", "FIRST BYTES");
    rc = ipcx_queue_dump(name, on_record, c);
    if (rc < 0) {
        cli_open_error("queue", name, rc, "a queue");
        return CLI_FAIL;
    }
    return fflush(stdout) == 0 ? CLI_OK : CLI_FAIL;
}

static const char *json_alive(int alive)
{
    return alive > 0 ? "true" : alive == 0 ? "false" : "null";
}

static void info_consumers(const ipcx_queue_info *s, int json)
{
    for (uint32_t i = 0; i < s->nconsumer; i++) {
        const ipcx_queue_consumer_info *c = &s->consumer[i];
        if (json)
            printf("%s{\"id\":%u,\"pid\":%d,\"alive\":%s,\"next_seq\":%" PRIu64 ",\"lag\":%" PRIu64
                   ",\"msgs\":%" PRIu64 "}",
                   i ? "," : "", c->id, c->pid, json_alive(c->alive), c->next_seq, c->lag, c->msgs);
        else
            printf("consumer %u: pid %d%s, next seq %" PRIu64 ", lag %" PRIu64 ", released %" PRIu64
                   "\n",
                   c->id, c->pid,
                   c->alive > 0    ? ""
                   : c->alive == 0 ? " (gone)"
                                   : " (?)",
                   c->next_seq, c->lag, c->msgs);
    }
}

void cli_queue_print(const char *name, const ipcx_queue_info *s, const ipcx_queue_info *prev,
                     double dt, int json)
{
    double rate = prev != NULL && dt > 0 ? (double)(s->next_seq - prev->next_seq) / dt : -1;
    if (json) {
        printf("{\"name\":");
        cli_json_string(stdout, name);
        printf(",\"kind\":\"queue\",\"time\":%.3f", (double)cli_now_ns() / 1e9);
        if (rate >= 0)
            printf(",\"rate_msgs_in\":%.1f", rate);
        else
            printf(",\"rate_msgs_in\":null");
        printf(",\"durable\":%s,\"delivery\":\"%s\",\"segments\":%u,\"free_segments\":%u,"
               "\"bytes_used\":%" PRIu64 ",\"memory_limit\":%" PRIu64 ",\"head_seq\":%" PRIu64
               ",\"next_seq\":%" PRIu64 ",\"skipped\":%" PRIu64 ",\"limit_hits\":%" PRIu64
               ",\"producers\":%u,\"consumers\":[",
               s->durable ? "true" : "false", s->delivery ? "broadcast" : "queue", s->segments,
               s->free_segments, s->bytes_used, s->memory_limit, s->head_seq, s->next_seq,
               s->skipped, s->limit_hits, s->producers);
        info_consumers(s, 1);
        printf("]}\n");
    } else {
        char used[32], limit[32];
        cli_human_size(used, sizeof(used), s->bytes_used);
        cli_human_size(limit, sizeof(limit), s->memory_limit);
        printf("%s queue %s (%s delivery)\n", s->durable ? "durable" : "in-memory", name,
               s->delivery ? "broadcast" : "queue");
        printf("segments: %u in the chain, %u free; %s of %s\n", s->segments, s->free_segments,
               used, limit);
        printf("sequences: oldest kept %" PRIu64 ", next %" PRIu64 "; skipped %" PRIu64
               ", limit hits %" PRIu64 "; producers %u\n",
               s->head_seq, s->next_seq, s->skipped, s->limit_hits, s->producers);
        if (rate >= 0)
            printf("rate: %.0f msgs/s in\n", rate);
        info_consumers(s, 0);
    }
    fflush(stdout);
}

int cli_queue_info(const char *cmd, const char *name, int json)
{
    ipcx_queue_info s;
    int rc = ipcx_queue_stat(name, &s);
    if (rc < 0) {
        cli_open_error(cmd, name, rc, "a queue");
        return CLI_FAIL;
    }
    cli_queue_print(name, &s, NULL, 0, json);
    return ferror(stdout) ? CLI_FAIL : CLI_OK;
}

int cmd_queue(int argc, char **argv)
{
    static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
                                         {"bytes", required_argument, NULL, 'b'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    struct dump_ctx c = {.bytes = 16};
    int opt;
    if (argc > 1 && (strcmp(argv[1], "send") == 0 || strcmp(argv[1], "recv") == 0))
        return cli_shm_verb("queue", argc - 1, argv + 1);
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "jb:h", opts, NULL)) != -1) {
        if (opt == 'j') {
            c.json = 1;
        } else if (opt == 'b') {
            char *end = NULL;
            unsigned long v = strtoul(optarg, &end, 10);
            if (*optarg == '\0' || *end != '\0' || v > 256)
                return cli_usage_error("queue", "--bytes takes 0 to 256");
            c.bytes = v;
        } else if (opt == 'h') {
            usage(stdout);
            return CLI_OK;
        } else {
            return cli_usage_error("queue", "unknown option or missing argument");
        }
    }
    if (argc - optind != 2)
        return cli_usage_error("queue", "expects a subcommand (dump, info) and a NAME");
    if (strcmp(argv[optind], "dump") == 0)
        return do_dump(argv[optind + 1], &c);
    if (strcmp(argv[optind], "info") == 0)
        return cli_queue_info("queue", argv[optind + 1], c.json);
    return cli_usage_error("queue", "unknown subcommand");
}
