/* SPDX-License-Identifier: MIT */
/*
 * Shared conventions of the ipcx commands:
 *  - each command is `int cmd_<name>(int argc, char **argv)` with argv[0]
 *    the command's name, parsed with getopt_long;
 *  - --help prints usage to stdout and exits 0;
 *  - errors go to stderr as "ipcx: <command>: <what>: <why>";
 *  - exit codes: 0 ok, 1 failure, 2 usage.
 * Commands are declared weak so a command whose file is absent is left out
 * of the build's command table.
 */
#ifndef IPCX_CLI_H
#define IPCX_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <ipcx/ipcx.h>

enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

/* "ipcx: <cmd>: <what>: <why>" on stderr. */
void cli_error(const char *cmd, const char *what, const char *why);

/* Print "ipcx: <cmd>: <msg>" and a pointer to --help; returns CLI_USAGE. */
int cli_usage_error(const char *cmd, const char *msg);

/* Write s as a JSON string literal (with quotes) to f. */
void cli_json_string(FILE *f, const char *s);

/* @n bytes as "512B", "4.0K", "64.0M", "5.7G" (powers of 1024). */
void cli_human_size(char *buf, size_t cap, uint64_t n);

/* An exposed socket's connections (ipcx_socket_conns_read): as JSON
 * members `,"conns":[...],"conns_total":N` (nothing when they cannot be
 * read), or as one line per connection, each starting with @indent. */
void cli_conns_json(FILE *f, const char *name);
void cli_conns_text(FILE *f, const char *name, const char *indent);

/* CLOCK_REALTIME in nanoseconds. */
int64_t cli_now_ns(void);

/* A region kind as `ipcx ls` spells it: raw, ring, queue, qseg, socket, ?. */
const char *cli_kind_name(uint32_t kind);

/* Report a failure to open @name as @wanted ("a ring", "a queue"): for
 * -EMEDIUMTYPE "ipcx: <cmd>: rr is a ring, not a queue", else the usual
 * error line. */
void cli_open_error(const char *cmd, const char *name, int rc, const char *wanted);

/* Inside a getopt_long loop, for an option with an optional argument:
 * the watch interval from optarg, or from the next argument when it is a
 * number ("--watch 2" as well as "--watch=2"), else 1 second.  Returns 0,
 * or -1 when the value is not a positive number of seconds. */
int cli_watch_arg(int argc, char **argv, double *watch);

/* Every region of the directory, in natural name order (q.seg.2 before
 * q.seg.10).  Free v with free().  Returns 0 or -errno. */
typedef struct cli_region_set {
    ipcx_region_info *v;
    size_t n, cap;
} cli_region_set;
int cli_region_collect(cli_region_set *s);

/* 1 when the object is stale: its creator is gone and no live process is
 * attached (rings: no live producer or consumer slot; queues: no live
 * producer and no live consumer; raw regions and sockets: the creator
 * only, as nothing else is recorded), or a queue segment whose queue is
 * gone (@all: the directory's regions, to look for it).  0 otherwise,
 * including when it cannot be told.  Defined in cmd_ls.c. */
int cli_stale(const ipcx_region_info *ri, const cli_region_set *all);

/* Print a queue's figures (ipcx_queue_stat) as text or one JSON line;
 * errors are reported as coming from command cmd.  Defined in cmd_queue.c,
 * shared with `ipcx stat`. */
int cli_queue_info(const char *cmd, const char *name, int json);

/* One sample of a queue's figures, with the rate since @prev (NULL: none)
 * over @dt seconds; JSON is one object per line with a "time".  Flushed. */
void cli_queue_print(const char *name, const ipcx_queue_info *s, const ipcx_queue_info *prev,
                     double dt, int json);

#define CLI_COMMAND(name) int cmd_##name(int argc, char **argv) __attribute__((weak))
CLI_COMMAND(ls);
CLI_COMMAND(rm);
CLI_COMMAND(stat);
CLI_COMMAND(bench);
CLI_COMMAND(send);
CLI_COMMAND(recv);
CLI_COMMAND(keygen);
CLI_COMMAND(queue);
CLI_COMMAND(ring);
CLI_COMMAND(worker);

/* ipcx ring send|recv|tail and ipcx queue send|recv (cmd_shm.c): @cmd is
 * "ring" or "queue", argv[0] the subcommand. */
int cli_shm_verb(const char *cmd, int argc, char **argv);

#endif /* IPCX_CLI_H */
