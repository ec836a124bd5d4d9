// SPDX-License-Identifier: MIT
/*
 * Where a queue's bytes live: the control block and the segment files, for
 * both kinds of queue, behind one small set of calls.
 *
 *  - In-memory queue "<name>": the control block is the data area of the
 *    named region "<name>" (kind IPCX_REGION_QUEUE) and segment n is the
 *    named region "<name>.seg.<n>" (kind IPCX_REGION_QSEG).  Named regions,
 *    not memfds: a process that attaches late (or a consumer that follows a
 *    link) must be able to open a segment by itself, and a memfd can only be
 *    reached through an fd passed over a socket by a live owner.  Named
 *    segments also show in `ipcx ls --all` and are removed by `ipcx rm`.
 *  - Durable queue "<dir>": the control block is the file <dir>/queue.ctl
 *    and segment n is <dir>/seg.<n as 8 hex digits>, plain files mapped
 *    MAP_SHARED (their first 128 bytes are the segment header itself).
 *
 * A handle caches up to IPCX__QCACHE segment mappings by file number.  A
 * file keeps its number for its whole life (numbers are never reused), so
 * a cached mapping stays valid while the file is recycled under a new chain
 * id; the header's id says which life it is in.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "queue/queue.h"
#include "region/region.h"

int ipcx__qname_durable(const char *name)
{
    return strchr(name, '/') != NULL;
}

static int seg_path(const ipcx_queue *q, uint32_t file, char *buf, size_t cap)
{
    int n = q->durable ? snprintf(buf, cap, "%s/seg.%08x", q->name, file)
                       : snprintf(buf, cap, "%s.seg.%u", q->name, file);
    return (n < 0 || (size_t)n >= cap) ? -ENAMETOOLONG : 0;
}

static int ctl_path(const char *dir, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "%s/queue.ctl", dir);
    return (n < 0 || (size_t)n >= cap) ? -ENAMETOOLONG : 0;
}

/* ------------------------------------------------------------ control block */

static int durable_map(int fd, size_t len, void **out)
{
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED)
        return -errno;
    *out = p;
    return 0;
}

int ipcx__qstore_ctl_create(ipcx_queue *q, size_t size)
{
    if (!q->durable) {
        struct ipcx__region_spec spec = {
            .name = q->name, .size = size, .kind = IPCX_REGION_QUEUE, .publish = 0};
        int rc = ipcx__region_make(&spec, &q->ctl_region);
        if (rc == 0)
            q->ctl = ipcx_region_data(q->ctl_region);
        return rc;
    }
    char path[4200];
    int rc = ctl_path(q->name, path, sizeof path);
    if (rc != 0)
        return rc;
    if (mkdir(q->name, 0700) != 0 && errno != EEXIST)
        return -errno;
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return -errno;
    rc = posix_fallocate(fd, 0, (off_t)size);
    if (rc == 0)
        rc = durable_map(fd, size, &q->ctl_map);
    else
        rc = -rc;
    close(fd);
    if (rc != 0) {
        unlink(path);
        return rc;
    }
    q->ctl_len = size;
    q->ctl = q->ctl_map;
    return 0;
}

int ipcx__qstore_ctl_open(ipcx_queue *q)
{
    if (!q->durable) {
        int rc = ipcx__region_open_kind(q->name, IPCX_REGION_QUEUE, &q->ctl_region);
        if (rc != 0)
            return rc;
        if (ipcx_region_size(q->ctl_region) < sizeof(struct ipcx__qctl))
            return -EPROTO;
        q->ctl = ipcx_region_data(q->ctl_region);
        q->ctl_len = ipcx_region_size(q->ctl_region);
        return 0;
    }
    char path[4200];
    int rc = ctl_path(q->name, path, sizeof path);
    if (rc != 0)
        return rc;
    int fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        rc = -errno;
    } else if (!S_ISREG(st.st_mode) || st.st_size < (off_t)sizeof(struct ipcx__qctl) ||
               st.st_size > (off_t)(1 << 20)) {
        rc = st.st_size == 0 ? -EAGAIN : -EPROTO;
    } else {
        rc = durable_map(fd, (size_t)st.st_size, &q->ctl_map);
        q->ctl_len = (size_t)st.st_size;
    }
    close(fd);
    if (rc == 0)
        q->ctl = q->ctl_map;
    return rc;
}

void ipcx__qstore_ctl_publish(ipcx_queue *q)
{
    /* Publishes every configuration field and the first segment's link;
     * pairs with the load_acquire of version in queue.c:check_ctl. */
    store_release(&q->ctl->version, IPCX__QVERSION);
    if (q->ctl_region != NULL)
        ipcx__region_publish(q->ctl_region);
    else
        ipcx__qstore_sync(q->ctl_map, 0, q->ctl_len);
}

void ipcx__qstore_ctl_close(ipcx_queue *q)
{
    ipcx_region_close(q->ctl_region);
    q->ctl_region = NULL;
    if (q->ctl_map != NULL)
        munmap(q->ctl_map, q->ctl_len);
    q->ctl_map = NULL;
    q->ctl = NULL;
}

/* ------------------------------------------------------------ segment cache */

static void cache_release(struct ipcx__qmap *m)
{
    if (m->region != NULL)
        ipcx_region_close(m->region);
    else if (m->base != NULL)
        munmap(m->base, m->map_len);
    memset(m, 0, sizeof *m);
}

static struct ipcx__qmap *cache_lookup(ipcx_queue *q, uint32_t file)
{
    for (int i = 0; i < IPCX__QCACHE; i++) {
        struct ipcx__qmap *m = &q->cache[i];
        if (m->used && m->file == file) {
            m->lru = ++q->lru_clock;
            return m;
        }
    }
    return NULL;
}

/* An empty entry, or the least recently used one that is not the
 * producer's or the consumer's current segment (unmapped first). */
static struct ipcx__qmap *cache_victim(ipcx_queue *q)
{
    struct ipcx__qmap *best = NULL;
    for (int i = 0; i < IPCX__QCACHE; i++) {
        struct ipcx__qmap *m = &q->cache[i];
        if (!m->used)
            return m;
        if (m == q->pseg || m == q->cseg)
            continue;
        if (best == NULL || m->lru < best->lru)
            best = m;
    }
    cache_release(best);
    return best;
}

void ipcx__qstore_cache_drop_all(ipcx_queue *q)
{
    for (int i = 0; i < IPCX__QCACHE; i++)
        if (q->cache[i].used)
            cache_release(&q->cache[i]);
    q->pseg = q->cseg = NULL;
}

static int check_hdr(const struct ipcx__qmap *m)
{
    const struct ipcx__qseg *h = (const struct ipcx__qseg *)m->base;
    if (h->magic != IPCX__QSEG_MAGIC || h->size != m->size || h->file != m->file)
        return -EPROTO;
    return 0;
}

/* A sparse segment file (copied with `cp --sparse`, restored from a
 * backup, or grown by a peer with ftruncate) has holes: a store into a hole
 * on a full disk raises SIGBUS instead of returning an error.  Allocate
 * them now, where ENOSPC can be reported; files we created were allocated
 * whole by posix_fallocate already and are left alone. */
static int fill_holes(int fd, const struct stat *st)
{
    if ((uint64_t)st->st_blocks * 512 >= (uint64_t)st->st_size)
        return 0;
    return -posix_fallocate(fd, 0, st->st_size);
}

static int map_file(ipcx_queue *q, uint32_t file, uint64_t create_size, struct ipcx__qmap *m)
{
    char path[4200];
    int rc = seg_path(q, file, path, sizeof path);
    if (rc != 0)
        return rc;
    if (!q->durable) {
        struct ipcx__region_spec spec = {
            .name = path, .size = create_size, .kind = IPCX_REGION_QSEG, .publish = 1};
        rc = create_size ? ipcx__region_make(&spec, &m->region)
                         : ipcx__region_open_kind(path, IPCX_REGION_QSEG, &m->region);
        if (rc != 0)
            return rc;
        m->base = ipcx_region_data(m->region);
        m->size = ipcx_region_size(m->region);
        return 0;
    }
    int fl = create_size ? O_CREAT | O_EXCL : 0;
    int fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW | fl, 0600);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (create_size) {
        rc = -posix_fallocate(fd, 0, (off_t)create_size);
        st.st_size = (off_t)create_size;
    } else {
        rc = fstat(fd, &st) != 0 ? -errno : 0;
        if (rc == 0 && (!S_ISREG(st.st_mode) || st.st_size < (off_t)IPCX__QPAGE ||
                        st.st_size > (off_t)IPCX__QMAX_SEGMENT))
            rc = -EPROTO; /* truncated or absurd: never map past the end */
        if (rc == 0)
            rc = fill_holes(fd, &st);
    }
    void *p = NULL;
    if (rc == 0)
        rc = durable_map(fd, (size_t)st.st_size, &p);
    close(fd);
    if (rc != 0) {
        if (create_size)
            unlink(path);
        return rc;
    }
    m->base = p;
    m->size = m->map_len = (size_t)st.st_size;
    return 0;
}

/* Whether the queue's control file is still there: a queue removed while
 * handles are open must not grow new files nobody would remove. */
static int ctl_exists(const ipcx_queue *q)
{
    char path[4200];
    int rc = q->durable ? ctl_path(q->name, path, sizeof path)
                        : ipcx__region_path(q->name, path, sizeof path);
    return rc == 0 && access(path, F_OK) == 0;
}

int ipcx__qstore_seg_create(ipcx_queue *q, uint32_t file, uint64_t size, struct ipcx__qmap **out)
{
    if (!ctl_exists(q))
        return -EIDRM;
    struct ipcx__qmap *m = cache_victim(q);
    int rc = map_file(q, file, size, m);
    if (rc != 0) {
        memset(m, 0, sizeof *m);
        return rc;
    }
    m->file = file;
    m->used = 1;
    m->lru = ++q->lru_clock;
    *out = m;
    return 0;
}

int ipcx__qstore_seg_map(ipcx_queue *q, uint32_t file, struct ipcx__qmap **out)
{
    struct ipcx__qmap *m = cache_lookup(q, file);
    if (m == NULL) {
        m = cache_victim(q);
        int rc = map_file(q, file, 0, m);
        if (rc != 0) {
            memset(m, 0, sizeof *m);
            /* A file the chain names is gone: the chain is broken. */
            if (rc == -ENOENT)
                IPCX_LOGE("queue %s: segment file %u is missing", q->name, file);
            return rc == -ENOENT ? -EPROTO : rc;
        }
        m->file = file;
        m->used = 1;
        m->lru = ++q->lru_clock;
    }
    if (check_hdr(m) != 0) {
        IPCX_LOGE("queue %s: segment file %u has a bad header", q->name, file);
        return -EPROTO;
    }
    *out = m;
    return 0;
}

void ipcx__qstore_seg_unlink(ipcx_queue *q, uint32_t file)
{
    struct ipcx__qmap *m = cache_lookup(q, file);
    if (m != NULL && m != q->pseg && m != q->cseg)
        cache_release(m);
    char path[4200];
    if (seg_path(q, file, path, sizeof path) != 0)
        return;
    if (q->durable)
        unlink(path);
    else
        ipcx_region_unlink(path);
}

/* ------------------------------------------------------------ durability */

int (*ipcx__qsync_hook)(const void *addr, size_t len, const char *dir);

int ipcx__qstore_sync(void *base, uint64_t off, uint64_t len)
{
    uint64_t start = off & ~(uint64_t)(IPCX__QPAGE - 1);
    uint64_t end = off + len;
#ifdef IPCX_MUTANT_NO_SYNC
    /* scripts/mutants.sh: msync and fsync are no-ops (the test hook, which
     * stands for the kernel's msync, is not called either); some test
     * must fail. */
    (void)base, (void)start, (void)end;
    return 0;
#else
    if (IPCX_UNLIKELY(ipcx__qsync_hook != NULL)) {
        int rc = ipcx__qsync_hook((uint8_t *)base + start, (size_t)(end - start), NULL);
        if (rc != 0)
            return rc;
    }
    if (msync((uint8_t *)base + start, end - start, MS_SYNC) != 0)
        return -errno;
    return 0;
#endif
}

int ipcx__qstore_sync_dir(ipcx_queue *q)
{
#ifdef IPCX_MUTANT_NO_SYNC
    (void)q; /* scripts/mutants.sh: fsync is a no-op */
    return 0;
#else
    if (IPCX_UNLIKELY(ipcx__qsync_hook != NULL)) {
        int rc = ipcx__qsync_hook(NULL, 0, q->name);
        if (rc != 0)
            return rc;
    }
    int fd = open(q->name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = fsync(fd) != 0 ? -errno : 0;
    close(fd);
    return rc;
#endif
}

/* ------------------------------------------------------------ removal */

static int unlink_durable(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return -errno;
    int found = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "seg.", 4) != 0 && strcmp(e->d_name, "queue.ctl") != 0)
            continue;
        unlinkat(dirfd(d), e->d_name, 0);
        found = 1;
    }
    closedir(d);
    rmdir(dir); /* only when nothing else is in it */
    return found ? 0 : -ENOENT;
}

static int unlink_memory(const char *name)
{
    int rc = ipcx_region_unlink(name);
    DIR *d = opendir(ipcx__region_dir());
    if (d == NULL)
        return rc;
    char prefix[256];
    int n = snprintf(prefix, sizeof prefix, "ipcx.%s.seg.", name);
    struct dirent *e;
    while (n > 0 && (size_t)n < sizeof prefix && (e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, prefix, (size_t)n) == 0) {
            ipcx_region_unlink(e->d_name + 5);
            if (rc == -ENOENT)
                rc = 0;
        }
    }
    closedir(d);
    return rc;
}

int ipcx__qstore_unlink_all(const char *name)
{
    if (name == NULL)
        return -EINVAL;
    if (ipcx__qname_durable(name))
        return unlink_durable(name);
    int rc = ipcx_region_name_valid(name);
    return rc != 0 ? rc : unlink_memory(name);
}
