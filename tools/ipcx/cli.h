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

#include <stdio.h>

enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

/* "ipcx: <cmd>: <what>: <why>" on stderr. */
void cli_error(const char *cmd, const char *what, const char *why);

/* Print "ipcx: <cmd>: <msg>" and a pointer to --help; returns CLI_USAGE. */
int cli_usage_error(const char *cmd, const char *msg);

/* Write s as a JSON string literal (with quotes) to f. */
void cli_json_string(FILE *f, const char *s);

/* Print a queue's figures (ipcx_queue_stat) as text or one JSON line;
 * errors are reported as coming from command cmd.  Defined in cmd_queue.c,
 * shared with `ipcx stat`. */
int cli_queue_info(const char *cmd, const char *name, int json);

#define CLI_COMMAND(name) int cmd_##name(int argc, char **argv) __attribute__((weak))
CLI_COMMAND(ls);
CLI_COMMAND(rm);
CLI_COMMAND(stat);
CLI_COMMAND(bench);
CLI_COMMAND(send);
CLI_COMMAND(recv);
CLI_COMMAND(keygen);
CLI_COMMAND(top);
CLI_COMMAND(queue);

#endif /* IPCX_CLI_H */
