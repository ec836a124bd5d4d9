// SPDX-License-Identifier: MIT
/*
 * region_share: the smallest use of a named shared-memory region.
 *
 *   region_share write NAME "text"   create NAME and put text in it
 *   region_share read NAME           print the text, then remove NAME
 *
 * Run the two in different processes (or terminals).  The reader refuses a
 * region whose header is wrong, whose owner is another user, or that is
 * writable by others.
 */
#include <stdio.h>
#include <string.h>

#include <ipcx/ipcx.h>

int main(int argc, char **argv)
{
    if (argc < 3 || (strcmp(argv[1], "write") == 0 && argc < 4)) {
        fprintf(stderr, "usage: region_share write NAME TEXT | read NAME\n");
        return 2;
    }
    const char *name = argv[2];
    ipcx_region *r = NULL;
    int rc;
    if (strcmp(argv[1], "write") == 0) {
        size_t len = strlen(argv[3]) + 1;
        rc = ipcx_region_create(name, len, NULL, &r);
        if (rc < 0) {
            fprintf(stderr, "region_share: create %s: %s\n", name, ipcx_strerror(rc));
            return 1;
        }
        memcpy(ipcx_region_data(r), argv[3], len);
    } else {
        rc = ipcx_region_open(name, &r);
        if (rc < 0) {
            fprintf(stderr, "region_share: open %s: %s\n", name, ipcx_strerror(rc));
            return 1;
        }
        const char *text = ipcx_region_data(r);
        printf("%.*s\n", (int)strnlen(text, ipcx_region_size(r)), text);
        ipcx_region_unlink(name);
    }
    ipcx_region_close(r);
    return 0;
}
