// SPDX-License-Identifier: MIT
/* Private region directories for the region tests; see region_testutil.h. */
#include "region_testutil.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[256];
static pid_t owner;

static void cleanup(void)
{
    if (dir[0] == '\0' || getpid() != owner)
        return;
    DIR *d = opendir(dir);
    if (d != NULL) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char p[512];
            snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
            unlink(p);
        }
        closedir(d);
    }
    rmdir(dir);
}

const char *rt_private_dir(void)
{
    if (dir[0] != '\0')
        return dir;
    snprintf(dir, sizeof(dir), "/dev/shm/ipcx-test-XXXXXX");
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        abort();
    }
    owner = getpid();
    setenv("IPCX_SHM_DIR", dir, 1);
    atexit(cleanup);
    return dir;
}

const char *rt_region_path(const char *name, char *buf, size_t cap)
{
    const char *d = getenv("IPCX_SHM_DIR");
    snprintf(buf, cap, "%s/ipcx.%s", d != NULL ? d : "/dev/shm", name);
    return buf;
}

int rt_region_exists(const char *name)
{
    char p[512];
    struct stat st;
    return lstat(rt_region_path(name, p, sizeof(p)), &st) == 0;
}
