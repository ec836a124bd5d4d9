// SPDX-License-Identifier: MIT
/*
 * The region directory: names, paths, unlink, and the read-only look at a
 * region's header that `ipcx ls` uses (stat and list).
 *
 * stat never maps: it reads the header page with pread(), so a file that
 * shrinks while we look cannot raise SIGBUS, and it opens with O_NONBLOCK
 * and O_NOFOLLOW so a FIFO or a symlink planted in the directory neither
 * blocks nor redirects it.  Whatever open() would refuse (owner, mode, a bad
 * header) is reported in info->status instead of being fatal.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "region/region.h"

#define PREFIX     "ipcx."
#define PREFIX_LEN (sizeof(PREFIX) - 1)

static int name_char_ok(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}

IPCX_API int ipcx_region_name_valid(const char *name)
{
    if (name == NULL || name[0] == '\0' || name[0] == '.')
        return -EINVAL;
    size_t n = strnlen(name, IPCX_REGION_NAME_MAX + 1);
    if (n > IPCX_REGION_NAME_MAX)
        return -ENAMETOOLONG;
    for (size_t i = 0; i < n; i++) {
        if (!name_char_ok(name[i]))
            return -EINVAL;
    }
    return 0;
}

const char *ipcx__region_dir(void)
{
    /* secure_getenv: a set-uid program must not be redirected. */
    const char *d = secure_getenv("IPCX_SHM_DIR");
    return d != NULL && d[0] != '\0' ? d : "/dev/shm";
}

int ipcx__region_path(const char *name, char *buf, size_t cap)
{
    int rc = ipcx_region_name_valid(name);
    if (rc != 0)
        return rc;
    int n = snprintf(buf, cap, "%s/" PREFIX "%s", ipcx__region_dir(), name);
    if (n < 0 || (size_t)n >= cap)
        return -ENAMETOOLONG;
    return 0;
}

int ipcx__region_open_file(const char *name, int flags)
{
    char path[4096];
    int rc = ipcx__region_path(name, path, sizeof(path));
    if (rc != 0)
        return rc;
    int fd = open(path, flags | O_NOFOLLOW | O_CLOEXEC);
    return fd >= 0 ? fd : -errno;
}

IPCX_API int ipcx_region_unlink(const char *name)
{
    char path[4096];
    int rc = ipcx__region_path(name, path, sizeof(path));
    if (rc != 0)
        return rc;
    return unlink(path) == 0 ? 0 : -errno;
}

int ipcx__region_unlink_same(const char *name, int fd)
{
    char path[4096];
    struct stat a, b;
    int rc = ipcx__region_path(name, path, sizeof(path));
    if (rc != 0)
        return rc;
    if (fstat(fd, &a) != 0 || lstat(path, &b) != 0)
        return -errno;
    /* Another process may have replaced it already: leave theirs. */
    if (a.st_dev != b.st_dev || a.st_ino != b.st_ino)
        return -ESTALE;
    return unlink(path) == 0 ? 0 : -errno;
}

/* Reads and validates the header of an open file into @info. */
static void stat_fd(int fd, ipcx_region_info *info)
{
    struct stat st;
    if (fstat(fd, &st) != 0) {
        info->status = -errno;
        return;
    }
    int perm = ipcx__region_stat_check(&st);
    if (!S_ISREG(st.st_mode) || st.st_size < (off_t)sizeof(struct ipcx__region_hdr)) {
        info->status = perm != 0 ? perm : -EPROTO; /* what open() would say */
        return;
    }
    /* Aligned local copy of the header; the view reads it field by field. */
    struct ipcx__region_hdr h;
    ssize_t n = pread(fd, &h, sizeof(h), 0);
    if (n != (ssize_t)sizeof(h)) {
        info->status = n < 0 ? -errno : -EPROTO;
        return;
    }
    struct ipcx__region_view v;
    ipcx__region_view_read(&h, &v);
    int hdr = ipcx__region_view_check(&v, (uint64_t)st.st_size, 0);
    if (v.magic == IPCX__REGION_MAGIC) {
        ipcx__region_info_fill(info, &v);
        info->creator_alive = ipcx__region_alive(v.creator_pid, v.creator_start);
    }
    /* A permission refusal is what open() reports first. */
    info->status = perm != 0 ? perm : hdr;
}

IPCX_API int ipcx_region_stat(const char *name, ipcx_region_info *out)
{
    if (out == NULL)
        return -EINVAL;
    int fd = ipcx__region_open_file(name, O_RDONLY | O_NONBLOCK);
    if (fd == -EINVAL || fd == -ENAMETOOLONG)
        return fd;
    memset(out, 0, sizeof(*out));
    out->creator_alive = -1;
    snprintf(out->name, sizeof(out->name), "%s", name);
    if (fd < 0) {
        out->status = fd;
        return fd;
    }
    stat_fd(fd, out);
    close(fd);
    return 0;
}

static int is_region_entry(const struct dirent *e)
{
    return strncmp(e->d_name, PREFIX, PREFIX_LEN) == 0 &&
           ipcx_region_name_valid(e->d_name + PREFIX_LEN) == 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

IPCX_API int ipcx_region_list(ipcx_region_list_fn fn, void *ctx)
{
    if (fn == NULL)
        return -EINVAL;
    struct dirent **ents = NULL;
    int n = scandir(ipcx__region_dir(), &ents, is_region_entry, by_name);
    if (n < 0)
        return -errno;
    int listed = 0, stop = 0;
    for (int i = 0; i < n; i++) {
        ipcx_region_info info;
        int rc = stop ? 0 : ipcx_region_stat(ents[i]->d_name + PREFIX_LEN, &info);
        /* A region removed since scandir is simply not listed; any other
         * failure (a symlink, an unreadable file) is shown with its status. */
        if (!stop && rc != -ENOENT) {
            listed++;
            stop = fn(ctx, &info);
        }
        free(ents[i]);
    }
    free(ents);
    return stop != 0 ? stop : listed;
}
