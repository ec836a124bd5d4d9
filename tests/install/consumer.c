// SPDX-License-Identifier: MIT
/* A program built against an installed ipcx: a region round trip through
 * the public API, so both libraries are really linked and usable. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <ipcx/ipcx.h>

int main(void)
{
    char name[64];
    snprintf(name, sizeof(name), "install-check-%d", (int)getpid());
    ipcx_region *w = NULL, *r = NULL;
    int rc = ipcx_region_create(name, 64, NULL, &w);
    if (rc < 0) {
        fprintf(stderr, "create: %s\n", ipcx_strerror(rc));
        return 1;
    }
    strcpy(ipcx_region_data(w), "installed");
    rc = ipcx_region_open(name, &r);
    int ok = rc == 0 && strcmp(ipcx_region_data(r), "installed") == 0;
    ipcx_region_close(r);
    ipcx_region_close(w);
    ipcx_region_unlink(name);
    printf("ipcx %s: %s\n", ipcx_version(), ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}
