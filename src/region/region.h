/* SPDX-License-Identifier: MIT */
/*
 * Internal side of ipcx regions: the shared header layout and the helpers
 * the ring and queue parts build on.  See docs/region.md.
 *
 * Header layout (native byte order: a region never leaves its host).  The
 * header struct fills the first 128 bytes of a 4 KiB header page; the rest
 * of that page is zero and the caller's data starts at header_size (4096 in
 * layout 1.0).
 *
 *   offset  size  field
 *   0       8     magic          IPCX__REGION_MAGIC ("IPCXREGN")
 *   8       4     version        atomic: major << 16 | minor; 0 = not ready.
 *                                Written LAST by the creator (release).
 *   12      4     header_size    offset of the data; multiple of 4096
 *   16      4     kind           IPCX_REGION_*
 *   20      4     flags          free for the layer above
 *   24      8     total_size     bytes the creator reserved (header + data,
 *                                data rounded up to 4096)
 *   32      8     data_size      bytes usable at header_size
 *   40      4     creator_pid
 *   44      4     creator_uid
 *   48      8     creator_start  /proc/<pid>/stat start time (clock ticks)
 *   56      8     created_ns     CLOCK_REALTIME at creation, ns
 *   64      64    reserved       zero
 *   128           (end; the page is zero up to header_size)
 */
#ifndef IPCX_SRC_REGION_H
#define IPCX_SRC_REGION_H

#include <ipcx/region.h>

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "core/core.h"

/* "IPCXREGN" when the u64 is read on a little-endian host. */
#define IPCX__REGION_MAGIC 0x4e47455258435049ULL
/* Size of the header page and the alignment of the data and total size.
 * Fixed (not sysconf(_SC_PAGESIZE)) so the layout is the same on every
 * host; it is a multiple of every mmap granularity ipcx maps with offset 0. */
#define IPCX__REGION_PAGE 4096u
#define IPCX__REGION_VERSION                                                                       \
    ((uint32_t)IPCX_REGION_LAYOUT_MAJOR << 16 | (uint32_t)IPCX_REGION_LAYOUT_MINOR)

struct ipcx__region_hdr {
    uint64_t magic;
    ipcx_atomic_u32 version;
    uint32_t header_size;
    uint32_t kind;
    uint32_t flags;
    uint64_t total_size;
    uint64_t data_size;
    int32_t creator_pid;
    uint32_t creator_uid;
    uint64_t creator_start;
    int64_t created_ns;
    uint8_t reserved[64];
};

_Static_assert(sizeof(struct ipcx__region_hdr) == 128, "region header is 128 bytes");
_Static_assert(offsetof(struct ipcx__region_hdr, magic) == 0, "magic at 0");
_Static_assert(offsetof(struct ipcx__region_hdr, version) == 8, "version at 8");
_Static_assert(offsetof(struct ipcx__region_hdr, header_size) == 12, "header_size at 12");
_Static_assert(offsetof(struct ipcx__region_hdr, kind) == 16, "kind at 16");
_Static_assert(offsetof(struct ipcx__region_hdr, flags) == 20, "flags at 20");
_Static_assert(offsetof(struct ipcx__region_hdr, total_size) == 24, "total_size at 24");
_Static_assert(offsetof(struct ipcx__region_hdr, data_size) == 32, "data_size at 32");
_Static_assert(offsetof(struct ipcx__region_hdr, creator_pid) == 40, "creator_pid at 40");
_Static_assert(offsetof(struct ipcx__region_hdr, creator_uid) == 44, "creator_uid at 44");
_Static_assert(offsetof(struct ipcx__region_hdr, creator_start) == 48, "creator_start at 48");
_Static_assert(offsetof(struct ipcx__region_hdr, created_ns) == 56, "created_ns at 56");
_Static_assert(offsetof(struct ipcx__region_hdr, reserved) == 64, "reserved at 64");
_Static_assert(sizeof(struct ipcx__region_hdr) <= IPCX__REGION_PAGE, "header fits its page");

/* ------------------------------------------------------------ internal API */

/*
 * What ipcx__region_make() creates.  name == NULL makes an anonymous
 * (memfd) region.  mode 0 means 0600 (named regions only).  With
 * publish == 0 the header is complete except for its version, which stays 0
 * so that ipcx_region_open() answers -EAGAIN ("not ready") until the caller
 * has initialised its own structures in the data area and called
 * ipcx__region_publish().  This is how a ring or queue becomes visible
 * atomically.
 */
struct ipcx__region_spec {
    const char *name;
    size_t size;
    uint32_t kind;
    uint32_t flags;
    uint32_t mode;
    int publish;
};

/* Create a region as described by @spec.  Same results as
 * ipcx_region_create() / ipcx_region_create_anon(). */
int ipcx__region_make(const struct ipcx__region_spec *spec, ipcx_region **out);

/* Write the layout version (store_release), making a region created with
 * publish == 0 visible to ipcx_region_open().  Call once, after everything
 * in the data area that openers rely on has been written. */
void ipcx__region_publish(ipcx_region *r);

/* Open a named region and require its header's kind to be @kind
 * (-EMEDIUMTYPE otherwise, the "wrong kind" error that is distinct from a
 * corrupt header's -EPROTO, with a log line naming both kinds). */
int ipcx__region_open_kind(const char *name, uint32_t kind, ipcx_region **out);

/* Unlink the named region only if the name still refers to the file @fd
 * has open (a replace-if-stale must not remove a successor another process
 * made meanwhile): 0, -ESTALE (it is another file now), or -errno. */
int ipcx__region_unlink_same(const char *name, int fd);

/* "raw", "ring", "queue", "queue segment", "socket" or "unknown kind". */
const char *ipcx__region_kind_name(uint32_t kind);

/* The kind and flags recorded in the header, as validated when the handle
 * was made (a snapshot: later writes by a peer do not change them). */
uint32_t ipcx__region_kind(const ipcx_region *r);
uint32_t ipcx__region_flags(const ipcx_region *r);

/* The creator's pid and start time as validated at open (snapshot). */
void ipcx__region_creator(const ipcx_region *r, int32_t *pid, uint64_t *start);

/* 1 if the creator is still running, 0 if it is gone, -1 if unknown. */
int ipcx__region_creator_alive(const ipcx_region *r);

/* ------------------------------------------------------------ test hooks */

/*
 * Fault injection, for tests that link the static library only.  Set
 * ipcx__region_fault = (struct ipcx__region_fault){op, nth, err}: the nth
 * (1-based) following call of that operation inside the region code fails
 * with errno @err, then the hook disarms itself.  Not thread-safe; costs
 * one predictable branch on paths that already make a system call.
 */
enum {
    IPCX__RF_NONE = 0,
    IPCX__RF_FALLOCATE,
    IPCX__RF_MMAP,
    IPCX__RF_FTRUNCATE,
};

struct ipcx__region_fault {
    int op;
    int nth;
    int err;
};

extern struct ipcx__region_fault ipcx__region_fault;

/* ------------------------------------------------------------ shared by the region files */

/* The header fields, each read once from shared memory into a local. */
struct ipcx__region_view {
    uint64_t magic;
    uint32_t version;
    uint32_t header_size;
    uint32_t kind;
    uint32_t flags;
    uint64_t total_size;
    uint64_t data_size;
    int32_t creator_pid;
    uint32_t creator_uid;
    uint64_t creator_start;
    int64_t created_ns;
};

/* Copy the header at @h into @v, loading the version first with acquire. */
void ipcx__region_view_read(const struct ipcx__region_hdr *h, struct ipcx__region_view *v);

/* Check a view against the object's real size.  Returns 0, -EAGAIN (not
 * ready) or -EPROTO.  With @log, a major version mismatch is logged. */
int ipcx__region_view_check(const struct ipcx__region_view *v, uint64_t st_size, int log);

/* Fill the header-derived fields of @info from @v (name, creator_alive and
 * status are left alone). */
void ipcx__region_info_fill(ipcx_region_info *info, const struct ipcx__region_view *v);

/* 1 alive, 0 gone, -1 cannot tell (pid unknown or /proc unreadable). */
int ipcx__region_alive(int32_t pid, uint64_t start);

/* The owner and mode rules for a named region's file: a regular file owned
 * by the effective uid, nothing for "other", at least one header page.
 * Returns 0, -EACCES or -EPROTO (too small / not a regular file). */
int ipcx__region_stat_check(const struct stat *st);

/* "<dir>/ipcx.<name>" into @buf; validates the name.  Returns 0, -EINVAL,
 * -ENAMETOOLONG. */
int ipcx__region_path(const char *name, char *buf, size_t cap);

/* open() the file of region @name with @flags | O_NOFOLLOW | O_CLOEXEC.
 * Returns the fd, -EINVAL / -ENAMETOOLONG (bad name) or -errno (a symlink
 * at the name gives -ELOOP). */
int ipcx__region_open_file(const char *name, int flags);

/* The directory named regions live in: $IPCX_SHM_DIR or /dev/shm. */
const char *ipcx__region_dir(void);

/* Map @fd (its whole st_size) and validate it into a new handle.  @name is
 * copied into the handle's info ("" or NULL for anonymous).  @fd is owned by
 * the handle on success and closed on failure.  @st is the fstat result the
 * caller already checked. */
int ipcx__region_adopt(int fd, const char *name, const struct stat *st, ipcx_region **out);

/* A region received as an fd by other means than ipcx_region_recv() (the
 * shm:// handshake): the same checks (sealed memfd, or a file passing
 * open's owner and mode rules; a valid, published header), then mapped.
 * @fd is owned by the handle on success and closed on failure.  Returns 0,
 * -EPROTO, -EACCES or another -errno. */
int ipcx__region_from_fd(int fd, ipcx_region **out);

/* mmap(NULL, len, RW, MAP_SHARED, fd, 0) honouring the fault hook.  Returns
 * the mapping or NULL with *err set to a negative errno. */
void *ipcx__region_map(int fd, size_t len, int *err);

/* Returns the errno to inject for @op now, or 0. */
int ipcx__region_fault_hit(int op);

#endif /* IPCX_SRC_REGION_H */
