// SPDX-License-Identifier: MIT
/*
 * ipcx - the command-line tool.  Dispatches `ipcx <command> [args]` to one
 * file per command; `ipcx help` and `ipcx version` live here.  The tool uses
 * only the public API (it links the shared library).
 */
#include <stdio.h>
#include <string.h>

#include <ipcx/ipcx.h>

#include "cli.h"

struct command {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
};

static int cmd_help(int argc, char **argv);
static int cmd_version(int argc, char **argv);

static const struct command *commands(size_t *n)
{
    static struct command table[16];
    static size_t count;
    if (count == 0) {
        const struct command all[] = {
            {"help", cmd_help, "show this help, or a command's help"},
            {"version", cmd_version, "print the library and tool version"},
            {"ls", cmd_ls, "list shared-memory regions, rings and queues"},
            {"rm", cmd_rm, "remove regions, rings and queues (--stale: what dead processes left)"},
            {"stat", cmd_stat, "show a ring's, queue's or socket's live statistics"},
            {"bench", cmd_bench, "run the benchmarks against kernel and peer baselines"},
            {"send", cmd_send, "send messages to a ZeroMQ-compatible peer (tcp://, unix://)"},
            {"recv", cmd_recv, "print the messages a ZeroMQ-compatible peer sends"},
            {"keygen", cmd_keygen, "make a CURVE key pair (Z85), optionally key files"},
            {"ring", cmd_ring, "feed, drain or follow a ring (ring send|recv|tail NAME)"},
            {"queue", cmd_queue, "feed, drain or inspect a queue (queue send|recv|dump|info NAME)"},
            {"worker", cmd_worker, "join an ipcx pool on tcp:// or unix:// as a remote worker"},
        };
        for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
            if (all[i].fn != NULL) /* weak: absent commands are skipped */
                table[count++] = all[i];
        }
    }
    *n = count;
    return table;
}

static void usage(FILE *f)
{
    size_t n;
    const struct command *c = commands(&n);
    fprintf(f, "usage: ipcx <command> [options] [args]\n\n"
               "ipcx is a toolbox for ipcx shared memory, rings, queues and sockets.\n\n"
               "commands:\n");
    for (size_t i = 0; i < n; i++)
        fprintf(f, "  %-8s %s\n", c[i].name, c[i].summary);
    fprintf(f, "\nRun 'ipcx <command> --help' for a command's options.\n"
               "Exit status: 0 success, 1 failure, 2 usage error.\n");
}

static int cmd_help(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--help") != 0 && strcmp(argv[1], "-h") != 0) {
        size_t n;
        const struct command *c = commands(&n);
        for (size_t i = 0; i < n; i++) {
            if (strcmp(c[i].name, argv[1]) == 0) {
                char help[] = "--help";
                char *sub[] = {argv[1], help, NULL};
                return c[i].fn(2, sub);
            }
        }
        fprintf(stderr, "ipcx: help: %s: no such command\n", argv[1]);
        return CLI_USAGE;
    }
    usage(stdout);
    return CLI_OK;
}

static int cmd_version(int argc, char **argv)
{
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: ipcx version\n\nPrint the version of the ipcx library in use.\n");
        return CLI_OK;
    }
    if (argc > 1)
        return cli_usage_error("version", "takes no arguments");
    printf("ipcx %s\n", ipcx_version());
    return CLI_OK;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CLI_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return CLI_OK;
    }
    if (strcmp(argv[1], "--version") == 0)
        return cmd_version(1, argv + 1);
    size_t n;
    const struct command *c = commands(&n);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(c[i].name, argv[1]) == 0)
            return c[i].fn(argc - 1, argv + 1);
    }
    fprintf(stderr, "ipcx: %s: no such command (try 'ipcx help')\n", argv[1]);
    return CLI_USAGE;
}
