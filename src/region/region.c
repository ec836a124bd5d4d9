// SPDX-License-Identifier: MIT
/*
 * Named and anonymous shared-memory regions: create, open, validate, close.
 *
 * Design note.  A region is one file (a tmpfs file under the region
 * directory, or a memfd) mapped MAP_SHARED in full.  Its first page holds
 * struct ipcx__region_hdr (src/region/region.h, docs/region.md).
 *
 *  - Who writes what: only the creator writes the header, once, before any
 *    other process can see a version: every field first, then `version`
 *    with store_release (ipcx__region_publish).  Nothing writes the header
 *    afterwards.  The data area belongs to the caller (or the ring/queue).
 *  - Readers (open, recv, stat) load `version` with acquire, then copy every
 *    other field once into a local view and validate the view; the handle
 *    keeps that validated snapshot and never re-reads the header.  A peer
 *    that scribbles over the header later cannot make us map or index
 *    outside the object: the mapping length is the object's fstat size,
 *    never a header field.
 *  - Crash during create: before the file exists, nothing is left; after
 *    O_EXCL but before the version is written, a file with version 0 stays
 *    behind (open answers -EAGAIN, `ipcx ls` shows it "not ready" with its
 *    creator dead once the pid was written; `ipcx rm` removes it).  On an
 *    ordinary failure the file is unlinked before returning.
 *
 * Thread safety: handles are immutable after creation apart from
 * ipcx__region_publish(), which the creator calls before sharing it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "platform/platform.h"
#include "region/region.h"

struct ipcx_region {
    int fd;
    uint8_t *base;         /* the whole object, map_len bytes */
    size_t map_len;        /* fstat size at open, or total_size at create */
    size_t data_off;       /* validated header_size */
    size_t data_size;      /* validated data_size */
    ipcx_region_info info; /* validated snapshot of the header */
    struct ipcx__region_hdr *hdr;
};

struct ipcx__region_fault ipcx__region_fault;

int ipcx__region_fault_hit(int op)
{
    struct ipcx__region_fault *f = &ipcx__region_fault;
    if (IPCX_LIKELY(f->op != op))
        return 0;
    if (--f->nth > 0)
        return 0;
    f->op = IPCX__RF_NONE;
    return f->err;
}

void *ipcx__region_map(int fd, size_t len, int *err)
{
    int e = ipcx__region_fault_hit(IPCX__RF_MMAP);
    if (e != 0) {
        *err = -e;
        return NULL;
    }
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        *err = -errno;
        return NULL;
    }
    return p;
}

/* ------------------------------------------------------------ header checks */

void ipcx__region_view_read(const struct ipcx__region_hdr *h, struct ipcx__region_view *v)
{
    /* Pairs with the store_release in ipcx__region_publish(): once a
     * non-zero version is seen, every header field the creator wrote before
     * it is visible.  Relaxed would let the reads below see stale zeros. */
    v->version = load_acquire(&h->version);
    v->magic = h->magic;
    v->header_size = h->header_size;
    v->kind = h->kind;
    v->flags = h->flags;
    v->total_size = h->total_size;
    v->data_size = h->data_size;
    v->creator_pid = h->creator_pid;
    v->creator_uid = h->creator_uid;
    v->creator_start = h->creator_start;
    v->created_ns = h->created_ns;
}

static int check_sizes(const struct ipcx__region_view *v, uint64_t st_size)
{
    if (v->header_size < IPCX__REGION_PAGE || v->header_size % IPCX__REGION_PAGE != 0)
        return -EPROTO;
    if (v->data_size == 0 || v->total_size < v->header_size)
        return -EPROTO;
    if (v->total_size - v->header_size < v->data_size)
        return -EPROTO;
    if (v->total_size > st_size || v->total_size > SIZE_MAX)
        return -EPROTO;
    return 0;
}

int ipcx__region_view_check(const struct ipcx__region_view *v, uint64_t st_size, int log)
{
    if (v->version == 0) {
        /* Still being created (the magic may not be written yet), unless
         * the magic says this is not an ipcx region at all. */
        return v->magic == 0 || v->magic == IPCX__REGION_MAGIC ? -EAGAIN : -EPROTO;
    }
    if (v->magic != IPCX__REGION_MAGIC)
        return -EPROTO;
    unsigned major = v->version >> 16, minor = v->version & 0xffffu;
    if (major != IPCX_REGION_LAYOUT_MAJOR) {
        if (log)
            IPCX_LOGE("region layout version %u.%u is not readable by this library, which "
                      "reads layout %u.x (writes %u.%u)",
                      major, minor, (unsigned)IPCX_REGION_LAYOUT_MAJOR,
                      (unsigned)IPCX_REGION_LAYOUT_MAJOR, (unsigned)IPCX_REGION_LAYOUT_MINOR);
        return -EPROTO;
    }
    if (v->kind == 0)
        return -EPROTO;
    return check_sizes(v, st_size);
}

void ipcx__region_info_fill(ipcx_region_info *info, const struct ipcx__region_view *v)
{
    info->kind = v->kind;
    info->flags = v->flags;
    info->version_major = (uint16_t)(v->version >> 16);
    info->version_minor = (uint16_t)(v->version & 0xffffu);
    info->header_size = v->header_size;
    info->total_size = v->total_size;
    info->data_size = v->data_size;
    info->creator_pid = v->creator_pid;
    info->creator_uid = v->creator_uid;
    info->creator_start = v->creator_start;
    info->created_ns = v->created_ns;
}

int ipcx__region_alive(int32_t pid, uint64_t start)
{
    if (pid <= 0)
        return -1;
    int a = ipcx__proc_alive(pid, start);
    return a < 0 ? -1 : a;
}

/* 1 if this process is a member of group @g (effective or supplementary). */
static int in_group(gid_t g)
{
    if (getegid() == g)
        return 1;
    gid_t list[256];
    int n = getgroups((int)IPCX_ARRAY_LEN(list), list);
    for (int i = 0; i < n; i++) {
        if (list[i] == g)
            return 1;
    }
    return 0;
}

int ipcx__region_stat_check(const struct stat *st)
{
    if (!S_ISREG(st->st_mode))
        return -EPROTO;
    /* Nothing for "other", ever.  The owner, or a member of the file's
     * group when the mode gives the group read and write (a region
     * created with mode 0660 is shared with the creator's group, as
     * iceoryx2 allows). */
    if ((st->st_mode & S_IRWXO) != 0)
        return -EACCES;
    if (st->st_uid != geteuid() &&
        (!in_group(st->st_gid) || (st->st_mode & (S_IRGRP | S_IWGRP)) != (S_IRGRP | S_IWGRP)))
        return -EACCES;
    /* Empty: a creator between O_EXCL and posix_fallocate (tmpfs sets the
     * size in one step), so "not ready" rather than "broken". */
    if (st->st_size == 0)
        return -EAGAIN;
    if (st->st_size < (off_t)IPCX__REGION_PAGE)
        return -EPROTO;
    return 0;
}

/* ------------------------------------------------------------ handles */

static void set_name(ipcx_region *r, const char *name)
{
    if (name != NULL) {
        size_t n = strnlen(name, IPCX_REGION_NAME_MAX);
        memcpy(r->info.name, name, n);
        r->info.name[n] = '\0';
    }
}

int ipcx__region_adopt(int fd, const char *name, const struct stat *st, ipcx_region **out)
{
    int rc = -ENOMEM;
    ipcx_region *r = calloc(1, sizeof(*r));
    if (r == NULL)
        goto fail;
    if ((uint64_t)st->st_size > SIZE_MAX || st->st_size < (off_t)IPCX__REGION_PAGE) {
        rc = -EPROTO;
        goto fail;
    }
    r->map_len = (size_t)st->st_size;
    r->base = ipcx__region_map(fd, r->map_len, &rc);
    if (r->base == NULL)
        goto fail;
    r->hdr = (struct ipcx__region_hdr *)r->base;
    struct ipcx__region_view v;
    ipcx__region_view_read(r->hdr, &v);
    rc = ipcx__region_view_check(&v, (uint64_t)st->st_size, 1);
    if (rc != 0)
        goto fail;
    r->fd = fd;
    r->data_off = v.header_size;
    r->data_size = (size_t)v.data_size;
    ipcx__region_info_fill(&r->info, &v);
    set_name(r, name);
    *out = r;
    return 0;
fail:
    if (r != NULL && r->base != NULL)
        munmap(r->base, r->map_len);
    free(r);
    close(fd);
    return rc;
}

/* Every header field except the version, which ipcx__region_publish()
 * writes last.  The memory is fresh from posix_fallocate: zero. */
static void write_header(struct ipcx__region_hdr *h, const struct ipcx__region_spec *spec,
                         size_t total)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    h->magic = IPCX__REGION_MAGIC;
    h->header_size = IPCX__REGION_PAGE;
    h->kind = spec->kind != 0 ? spec->kind : IPCX_REGION_RAW;
    h->flags = spec->flags;
    h->total_size = total;
    h->data_size = spec->size;
    h->creator_pid = (int32_t)getpid();
    h->creator_uid = (uint32_t)geteuid();
    h->creator_start = ipcx__proc_start_time((int)getpid());
    h->created_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Maps a freshly reserved object, writes its header and builds the handle;
 * publishes it when the spec says so.  The caller cleans up @fd on error. */
static int setup(int fd, const struct ipcx__region_spec *spec, size_t total, ipcx_region **out)
{
    ipcx_region *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return -ENOMEM;
    int rc = -EIO; /* set by ipcx__region_map on failure */
    r->base = ipcx__region_map(fd, total, &rc);
    if (r->base == NULL) {
        free(r);
        return rc;
    }
    r->hdr = (struct ipcx__region_hdr *)r->base;
    write_header(r->hdr, spec, total);
    r->fd = fd;
    r->map_len = total;
    r->data_off = IPCX__REGION_PAGE;
    r->data_size = spec->size;
    struct ipcx__region_view v;
    ipcx__region_view_read(r->hdr, &v); /* version still 0: info says "not published" */
    ipcx__region_info_fill(&r->info, &v);
    set_name(r, spec->name);
    if (spec->publish)
        ipcx__region_publish(r);
    *out = r;
    return 0;
}

void ipcx__region_publish(ipcx_region *r)
{
    /* Pairs with the load_acquire in ipcx__region_view_read(): publishes
     * every header field (and whatever the caller wrote in the data area)
     * before a reader can see a non-zero version.  Relaxed could expose a
     * version with a half-written header or ring. */
    store_release(&r->hdr->version, IPCX__REGION_VERSION);
    r->info.version_major = IPCX_REGION_LAYOUT_MAJOR;
    r->info.version_minor = IPCX_REGION_LAYOUT_MINOR;
}

/* ------------------------------------------------------------ create */

static int check_spec(const struct ipcx__region_spec *spec, size_t *total)
{
    size_t max = (size_t)INT64_MAX - 2 * (size_t)IPCX__REGION_PAGE;
    if (spec->size == 0 || spec->size > max)
        return -EINVAL;
    uint32_t mode = spec->mode != 0 ? spec->mode : 0600;
    if ((mode & ~(uint32_t)0770) != 0 || (mode & 0600) != 0600)
        return -EINVAL;
    *total = IPCX__REGION_PAGE + IPCX_ALIGN_UP(spec->size, (size_t)IPCX__REGION_PAGE);
    return 0;
}

/* Reserve the whole object so a full tmpfs fails now, not with SIGBUS. */
static int reserve(int fd, size_t total)
{
    int e = ipcx__region_fault_hit(IPCX__RF_FALLOCATE);
    if (e == 0)
        e = posix_fallocate(fd, 0, (off_t)total); /* returns the error, no errno */
    return -e;
}

static int create_named(const struct ipcx__region_spec *spec, size_t total, ipcx_region **out)
{
    char path[4096];
    int rc = ipcx__region_path(spec->name, path, sizeof(path));
    if (rc != 0)
        return rc;
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    mode_t mode = spec->mode != 0 ? (mode_t)spec->mode : 0600;
    rc = fchmod(fd, mode) == 0 ? 0 : -errno;
    if (rc == 0)
        rc = reserve(fd, total);
    if (rc == 0)
        rc = setup(fd, spec, total, out);
    if (rc != 0) {
        unlink(path);
        close(fd);
    }
    return rc;
}

static int create_anon(const struct ipcx__region_spec *spec, size_t total, ipcx_region **out)
{
    int fd = ipcx__sys_memfd("ipcx-region");
    if (fd < 0)
        return fd;
    int rc = -ipcx__region_fault_hit(IPCX__RF_FTRUNCATE);
    if (rc == 0 && ftruncate(fd, (off_t)total) != 0)
        rc = -errno;
    if (rc == 0)
        rc = reserve(fd, total);
    if (rc == 0 && fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0)
        rc = -errno;
    if (rc == 0)
        rc = setup(fd, spec, total, out);
    if (rc != 0)
        close(fd);
    return rc;
}

int ipcx__region_make(const struct ipcx__region_spec *spec, ipcx_region **out)
{
    if (spec == NULL || out == NULL)
        return -EINVAL;
    size_t total;
    int rc = check_spec(spec, &total);
    if (rc != 0)
        return rc;
    return spec->name != NULL ? create_named(spec, total, out) : create_anon(spec, total, out);
}

static int spec_from_opts(struct ipcx__region_spec *spec, const ipcx_region_opts *opts)
{
    if (opts == NULL)
        return 0;
    for (size_t i = 0; i < IPCX_ARRAY_LEN(opts->reserved); i++) {
        if (opts->reserved[i] != 0)
            return -EINVAL;
    }
    spec->kind = opts->kind;
    spec->flags = opts->flags;
    spec->mode = opts->mode;
    return 0;
}

IPCX_API int ipcx_region_create(const char *name, size_t size, const ipcx_region_opts *opts,
                                ipcx_region **out)
{
    struct ipcx__region_spec spec = {.name = name, .size = size, .publish = 1};
    int rc = ipcx_region_name_valid(name);
    if (rc == 0)
        rc = spec_from_opts(&spec, opts);
    return rc != 0 ? rc : ipcx__region_make(&spec, out);
}

IPCX_API int ipcx_region_create_anon(size_t size, const ipcx_region_opts *opts, ipcx_region **out)
{
    struct ipcx__region_spec spec = {.name = NULL, .size = size, .publish = 1};
    int rc = spec_from_opts(&spec, opts);
    if (rc == 0 && opts != NULL && opts->mode != 0)
        rc = -EINVAL; /* a memfd has no meaningful mode */
    return rc != 0 ? rc : ipcx__region_make(&spec, out);
}

/* ------------------------------------------------------------ open */

IPCX_API int ipcx_region_open(const char *name, ipcx_region **out)
{
    if (out == NULL)
        return -EINVAL;
    int fd = ipcx__region_open_file(name, O_RDWR);
    if (fd < 0)
        return fd;
    struct stat st;
    int rc = fstat(fd, &st) == 0 ? 0 : -errno;
    if (rc == 0)
        rc = ipcx__region_stat_check(&st);
    if (rc != 0) {
        close(fd);
        return rc;
    }
    return ipcx__region_adopt(fd, name, &st, out);
}

const char *ipcx__region_kind_name(uint32_t kind)
{
    switch (kind) {
    case IPCX_REGION_RAW:
        return "raw region";
    case IPCX_REGION_RING:
        return "ring";
    case IPCX_REGION_QUEUE:
        return "queue";
    case IPCX_REGION_QSEG:
        return "queue segment";
    case IPCX_REGION_SOCKET:
        return "socket";
    default:
        return "unknown kind";
    }
}

int ipcx__region_open_kind(const char *name, uint32_t kind, ipcx_region **out)
{
    ipcx_region *r = NULL;
    int rc = ipcx_region_open(name, &r);
    if (rc != 0)
        return rc;
    if (r->info.kind != kind) {
        IPCX_LOGE("region %s holds kind %u (%s), expected kind %u (%s)", name,
                  (unsigned)r->info.kind, ipcx__region_kind_name(r->info.kind), (unsigned)kind,
                  ipcx__region_kind_name(kind));
        ipcx_region_close(r);
        return -EMEDIUMTYPE;
    }
    *out = r;
    return 0;
}

/* ------------------------------------------------------------ accessors */

IPCX_API void ipcx_region_close(ipcx_region *r)
{
    if (r == NULL)
        return;
    munmap(r->base, r->map_len);
    close(r->fd);
    free(r);
}

IPCX_API void *ipcx_region_data(const ipcx_region *r)
{
    return r->base + r->data_off;
}

IPCX_API size_t ipcx_region_size(const ipcx_region *r)
{
    return r->data_size;
}

IPCX_API int ipcx_region_fd(const ipcx_region *r)
{
    return r->fd;
}

IPCX_API int ipcx_region_get_info(const ipcx_region *r, ipcx_region_info *out)
{
    *out = r->info;
    out->creator_alive = ipcx__region_alive(r->info.creator_pid, r->info.creator_start);
    out->status = 0;
    return 0;
}

uint32_t ipcx__region_kind(const ipcx_region *r)
{
    return r->info.kind;
}

uint32_t ipcx__region_flags(const ipcx_region *r)
{
    return r->info.flags;
}

void ipcx__region_creator(const ipcx_region *r, int32_t *pid, uint64_t *start)
{
    *pid = r->info.creator_pid;
    *start = r->info.creator_start;
}

int ipcx__region_creator_alive(const ipcx_region *r)
{
    return ipcx__region_alive(r->info.creator_pid, r->info.creator_start);
}
