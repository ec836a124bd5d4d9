// SPDX-License-Identifier: MIT
/*
 * ipcx rm: remove named regions (raw regions, rings, queues) by name.
 * Processes that have a region mapped keep it; the memory is freed when the
 * last one closes.  Public API only.
 */
#include <getopt.h>
#include <stdio.h>

#include <ipcx/ipcx.h>

#include "cli.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: ipcx rm [--force] NAME...\n\n"
               "Remove the named ipcx regions from the region directory ($IPCX_SHM_DIR,\n"
               "default /dev/shm).  Processes that have a region open keep using it.\n\n"
               "  -f, --force  do not complain about names that do not exist\n"
               "  -h, --help   show this help\n\n"
               "Exit status: 0 if every region was removed, 1 if any removal failed.\n");
}

int cmd_rm(int argc, char **argv)
{
    static const struct option opts[] = {
        {"force", no_argument, NULL, 'f'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
    int force = 0, opt;
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "fh", opts, NULL)) != -1) {
        if (opt == 'f') {
            force = 1;
        } else if (opt == 'h') {
            usage(stdout);
            return CLI_OK;
        } else {
            return cli_usage_error("rm", "unknown option");
        }
    }
    if (optind >= argc)
        return cli_usage_error("rm", "missing region name");
    int failed = 0;
    for (int i = optind; i < argc; i++) {
        int rc = ipcx_region_unlink(argv[i]);
        if (rc == 0 || (force && rc == -ENOENT))
            continue;
        cli_error("rm", argv[i], ipcx_strerror(rc));
        failed = 1;
    }
    return failed ? CLI_FAIL : CLI_OK;
}
