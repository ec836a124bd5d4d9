// SPDX-License-Identifier: MIT
/*
 * ipcx rm: remove named objects - raw regions, rings, queues (a queue
 * whole: its control region and every segment; a durable queue by its
 * directory) - by name, or every stale one (--stale).  Processes that have
 * a region mapped keep it; the memory is freed when the last one closes.
 * Public API only.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <ipcx/ipcx.h>

#include "cli.h"

#define NAME_RULE                                                                                  \
    "a name is 1 to 200 characters of A-Z a-z 0-9 . _ -, not starting with '.'; a durable "        \
    "queue is named by its directory (a path with a '/')"

static void usage(FILE *f)
{
    fprintf(f, "usage: ipcx rm [-f] NAME...\n"
               "       ipcx rm --stale [-n]\n\n"
               "Remove the named ipcx objects from the region directory ($IPCX_SHM_DIR,\n"
               "default /dev/shm): raw regions, rings, exposed sockets' figures, and queues\n"
               "whole (the control region and every segment).  A durable queue is named by\n"
               "its directory (any NAME with a '/'); its files are removed, and the\n"
               "directory when nothing else is in it.  Processes that have an object open\n"
               "keep using it.\n\n"
               "Names: 1 to 200 characters of A-Z a-z 0-9 . _ -, not starting with '.'.\n\n"
               "  -f, --force    do not complain about names that do not exist\n"
               "  -s, --stale    remove every object `ipcx ls` shows as stale: its creator\n"
               "                 is gone and no live process is attached (and queue\n"
               "                 segments whose queue is gone)\n"
               "  -n, --dry-run  with --stale: only print what would be removed\n"
               "  -h, --help     show this help\n\n"
               "Exit status: 0 if every object was removed, 1 if any removal failed.\n");
}

/* A durable queue's directory: it holds queue.ctl.  Nothing else named
 * with a '/' is touched. */
static int rm_durable(const char *dir)
{
    char ctl[4096];
    struct stat st;
    if ((size_t)snprintf(ctl, sizeof(ctl), "%s/queue.ctl", dir) >= sizeof(ctl))
        return -ENAMETOOLONG;
    if (stat(dir, &st) != 0)
        return -errno;
    if (!S_ISDIR(st.st_mode) || stat(ctl, &st) != 0 || !S_ISREG(st.st_mode))
        return -EMEDIUMTYPE;
    return ipcx_queue_unlink(dir);
}

static int rm_one(const char *name)
{
    if (strchr(name, '/') != NULL)
        return rm_durable(name);
    int rc = ipcx_region_name_valid(name);
    if (rc != 0)
        return rc;
    ipcx_region_info ri;
    if (ipcx_region_stat(name, &ri) == 0 && ri.kind == IPCX_REGION_QUEUE)
        return ipcx_queue_unlink(name); /* control region and every segment */
    return ipcx_region_unlink(name);
}

static void rm_error(const char *name, int rc)
{
    if (rc == -EINVAL || rc == -ENAMETOOLONG) {
        char what[512];
        snprintf(what, sizeof(what), "invalid name (%s)", NAME_RULE);
        cli_error("rm", name, what);
    } else if (rc == -EMEDIUMTYPE) {
        cli_error("rm", name, "not a durable queue directory (it has no queue.ctl)");
    } else {
        cli_error("rm", name, ipcx_strerror(rc));
    }
}

static int rm_stale(int dry_run)
{
    cli_region_set all;
    int rc = cli_region_collect(&all);
    if (rc < 0) {
        cli_error("rm", "region directory", ipcx_strerror(rc));
        return CLI_FAIL;
    }
    int failed = 0;
    for (size_t i = 0; i < all.n; i++) {
        const ipcx_region_info *ri = &all.v[i];
        if (cli_stale(ri, &all) != 1)
            continue;
        if (!dry_run) {
            rc = ri->kind == IPCX_REGION_QUEUE ? ipcx_queue_unlink(ri->name)
                                               : ipcx_region_unlink(ri->name);
            if (rc < 0 && rc != -ENOENT) { /* ENOENT: a queue took it along */
                rm_error(ri->name, rc);
                failed = 1;
                continue;
            }
        }
        printf("%s %s (%s, creator pid %d gone)\n", dry_run ? "would remove" : "removed", ri->name,
               cli_kind_name(ri->kind), (int)ri->creator_pid);
    }
    free(all.v);
    return failed || fflush(stdout) != 0 ? CLI_FAIL : CLI_OK;
}

int cmd_rm(int argc, char **argv)
{
    static const struct option opts[] = {{"force", no_argument, NULL, 'f'},
                                         {"stale", no_argument, NULL, 's'},
                                         {"dry-run", no_argument, NULL, 'n'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int force = 0, stale = 0, dry_run = 0, opt;
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "fsnh", opts, NULL)) != -1) {
        if (opt == 'f') {
            force = 1;
        } else if (opt == 's') {
            stale = 1;
        } else if (opt == 'n') {
            dry_run = 1;
        } else if (opt == 'h') {
            usage(stdout);
            return CLI_OK;
        } else {
            return cli_usage_error("rm", "unknown option");
        }
    }
    if (stale) {
        if (optind < argc)
            return cli_usage_error("rm", "--stale takes no names");
        return rm_stale(dry_run);
    }
    if (dry_run)
        return cli_usage_error("rm", "--dry-run goes with --stale");
    if (optind >= argc)
        return cli_usage_error("rm", "missing region name");
    int failed = 0;
    for (int i = optind; i < argc; i++) {
        int rc = rm_one(argv[i]);
        if (rc == 0 || (force && rc == -ENOENT))
            continue;
        rm_error(argv[i], rc);
        failed = 1;
    }
    return failed ? CLI_FAIL : CLI_OK;
}
