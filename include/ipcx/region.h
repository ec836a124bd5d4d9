/* SPDX-License-Identifier: MIT */
/*
 * ipcx regions: shared memory that several processes map.
 *
 * A region is either *named* - a file /dev/shm/ipcx.<name> that any process
 * of the same user can open by name - or *anonymous* - a memfd that is shared
 * by passing its file descriptor over a Unix-domain socket
 * (ipcx_region_send() / ipcx_region_recv()).  Every region starts with a
 * versioned header (docs/region.md) that open checks.  The header occupies
 * the first 4 KiB page of the object; the caller's bytes follow it at a
 * 4 KiB-aligned offset and are reached with ipcx_region_data().  The object
 * is the header page plus the requested size rounded up to 4 KiB.
 *
 * Names: 1 to 200 characters of [A-Za-z0-9._-], not starting with '.'.
 * Who may open: the creating user, and with mode 0660 its group.
 * The directory is /dev/shm unless the environment variable IPCX_SHM_DIR
 * names another (used by tests; it must be a tmpfs for shared mappings to
 * be cheap).
 *
 * Thread safety: a region handle may be used by several threads at once for
 * reading its properties; close must not race with other uses of the same
 * handle.  The mapped memory itself is the caller's to synchronise.
 */
#ifndef IPCX_REGION_H
#define IPCX_REGION_H

#include <ipcx/core.h>

#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Longest region name accepted, in bytes, without the terminating NUL. */
#define IPCX_REGION_NAME_MAX 200

/** What a region holds; stored in its header and shown by `ipcx ls`. */
enum {
    IPCX_REGION_RAW = 1,    /**< plain shared memory (ipcx_region_* API) */
    IPCX_REGION_RING = 2,   /**< an ipcx_ring */
    IPCX_REGION_QUEUE = 3,  /**< an ipcx_queue control region */
    IPCX_REGION_QSEG = 4,   /**< an ipcx_queue segment */
    IPCX_REGION_SOCKET = 5, /**< an exposed socket's figures (ipcx_socket_expose) */
    IPCX_REGION_POOL = 6,   /**< an exposed pool's figures (ipcx_pool_expose) */
};

/** Region layout version this library writes; open refuses another major. */
#define IPCX_REGION_LAYOUT_MAJOR 1
#define IPCX_REGION_LAYOUT_MINOR 0

/**
 * Options for ipcx_region_create() and ipcx_region_create_anon().
 * All-zero means the defaults.
 */
typedef struct ipcx_region_opts {
    /** IPCX_REGION_*; 0 means IPCX_REGION_RAW. */
    uint32_t kind;
    /** Free for the layer above (the ring stores its mode bits here); 0 by
     *  default.  Shown by `ipcx ls`. */
    uint32_t flags;
    /** File mode for named regions; 0 means 0600.  Only owner and group
     *  bits are accepted (anything for "other" is -EINVAL).  Applied with
     *  fchmod, so the umask does not matter.  0660 shares the region with
     *  the members of the creator's group (see ipcx_region_open()). */
    uint32_t mode;
    uint32_t reserved[5]; /**< must be zero */
} ipcx_region_opts;

/** What a region's header says; filled by ipcx_region_get_info(), ipcx_region_stat() and
 * ipcx_region_list(). */
typedef struct ipcx_region_info {
    char name[IPCX_REGION_NAME_MAX + 1]; /**< "" for anonymous regions */
    uint32_t kind;                       /**< IPCX_REGION_* */
    uint32_t flags;
    uint16_t version_major; /**< 0 while the creator has not finished */
    uint16_t version_minor;
    uint32_t header_size; /**< offset of the caller's data */
    uint64_t total_size;  /**< header + data, bytes */
    uint64_t data_size;   /**< bytes usable at ipcx_region_data() */
    int32_t creator_pid;
    uint32_t creator_uid;
    uint64_t creator_start; /**< creator's start time, clock ticks since boot */
    int64_t created_ns;     /**< creation time, CLOCK_REALTIME nanoseconds */
    int creator_alive;      /**< 1 alive, 0 gone, -1 cannot tell */
    int status;             /**< 0, or the -errno open would give (e.g. -EPROTO) */
} ipcx_region_info;

typedef struct ipcx_region ipcx_region;

/**
 * ipcx_region_create - create a named region of @size usable bytes.
 * @name: the region's name (see above).
 * @size: bytes available at ipcx_region_data(); >= 1.
 * @opts: NULL or options; all-zero means defaults.
 * @out:  on success, the new handle; untouched on failure.
 *
 * The file is created with O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600 (or
 * opts->mode) whatever the umask, and its whole size is reserved with
 * posix_fallocate(), so a full /dev/shm fails here with -ENOSPC rather than
 * with SIGBUS later.  The memory is zeroed.  On any failure the file is
 * removed again.
 *
 * Returns 0, or -EINVAL (bad name, size or options), -EEXIST (the name is
 * taken), -ENOSPC, -ENOMEM, -EACCES or another -errno.
 */
IPCX_API int ipcx_region_create(const char *name, size_t size, const ipcx_region_opts *opts,
                                ipcx_region **out);

/**
 * ipcx_region_open - map an existing named region.
 *
 * Before mapping, fstat() must show a regular file with no permission
 * bits for "other", owned by the calling user - or, when its mode gives
 * the group read and write (a region created with mode 0660), by another
 * user whose file's group the caller is a member of (effective or
 * supplementary groups): group sharing.  The file's group is its
 * creator's effective gid.  A symbolic link at the name is refused
 * (-ELOOP).  The header is then checked: magic, layout version
 * (loaded with acquire; 0 means the creator has not finished: -EAGAIN), a
 * major version this library reads (a mismatch logs both versions at
 * IPCX_LOG_ERROR and returns -EPROTO), and sizes that fit the object
 * (-EPROTO otherwise).
 *
 * Returns 0, -ENOENT, -EINVAL (bad name), -EACCES (owner or mode refused),
 * -ELOOP, -EAGAIN (not ready), -EPROTO (bad header) or another -errno.
 */
IPCX_API int ipcx_region_open(const char *name, ipcx_region **out);

/**
 * ipcx_region_create_anon - create an anonymous region (a sealed memfd).
 *
 * The memfd is created with MFD_CLOEXEC|MFD_ALLOW_SEALING and sealed against
 * shrinking and growing (F_SEAL_SHRINK|F_SEAL_GROW|F_SEAL_SEAL), so a peer
 * that receives it can neither truncate it under us nor extend it.
 * Share it with ipcx_region_send().
 */
IPCX_API int ipcx_region_create_anon(size_t size, const ipcx_region_opts *opts, ipcx_region **out);

/**
 * ipcx_region_send - pass a region's fd over a connected Unix socket.
 * @sock: a connected AF_UNIX socket.
 *
 * Sends one small message carrying the fd (SCM_RIGHTS).  The region stays
 * open on this side.  Returns 0 or -errno (-EPIPE if the peer is gone).
 */
IPCX_API int ipcx_region_send(int sock, const ipcx_region *r);

/**
 * ipcx_region_recv - receive a region sent with ipcx_region_send().
 *
 * Blocks on @sock (honouring O_NONBLOCK: -EAGAIN).  The fd arrives
 * close-on-exec.  A message without exactly one fd, a truncated control
 * message, or extra fds is -EPROTO; every fd that arrived is closed.  An
 * anonymous region must carry the grow/shrink seals (-EPROTO otherwise);
 * the header is checked as by ipcx_region_open() (a header whose version is
 * still 0 is -EPROTO here: senders publish before they send).  Another file
 * than a memfd must pass open's owner and mode checks (-EACCES).  Returns 0,
 * -EPIPE (peer closed), -EPROTO, -EACCES or another -errno.
 */
IPCX_API int ipcx_region_recv(int sock, ipcx_region **out);

/** ipcx_region_close - unmap and close; accepts NULL.  Does not unlink. */
IPCX_API void ipcx_region_close(ipcx_region *r);

/**
 * ipcx_region_unlink - remove a named region.  Processes that have it
 * mapped keep their mapping; the memory is freed when the last one closes.
 * Returns 0, -ENOENT, -EINVAL or another -errno.
 */
IPCX_API int ipcx_region_unlink(const char *name);

/** ipcx_region_data - the caller's bytes (page aligned, ipcx_region_size() long). */
IPCX_API void *ipcx_region_data(const ipcx_region *r);

/** ipcx_region_size - bytes available at ipcx_region_data(). */
IPCX_API size_t ipcx_region_size(const ipcx_region *r);

/** ipcx_region_fd - the region's file descriptor, owned by the handle. */
IPCX_API int ipcx_region_fd(const ipcx_region *r);

/**
 * ipcx_region_get_info - what the header of an open region says, as
 * validated when the handle was made (later writes to the header by another
 * process are not seen), with creator_alive looked up now.  Returns 0.
 */
IPCX_API int ipcx_region_get_info(const ipcx_region *r, ipcx_region_info *out);

/**
 * ipcx_region_stat - read a named region's header without opening it for
 * use.  Works for regions open() would refuse (out->status says why), so
 * tools can show broken regions.  Returns 0 when the header could be read
 * at all, or -ENOENT, -EINVAL, -EACCES, -errno.
 */
IPCX_API int ipcx_region_stat(const char *name, ipcx_region_info *out);

/**
 * ipcx_region_list_fn - called once per region by ipcx_region_list().
 * Return 0 to continue, anything else to stop the listing (it is returned).
 */
typedef int (*ipcx_region_list_fn)(void *ctx, const ipcx_region_info *info);

/**
 * ipcx_region_list - call @fn for every ipcx region in the directory, in
 * name order, with what ipcx_region_stat() would give.  Returns the number
 * of regions listed, @fn's non-zero result, or -errno.
 */
IPCX_API int ipcx_region_list(ipcx_region_list_fn fn, void *ctx);

/**
 * ipcx_region_name_valid - 0 if @name is an acceptable region name, else
 * -EINVAL (or -ENAMETOOLONG for more than IPCX_REGION_NAME_MAX bytes).
 */
IPCX_API int ipcx_region_name_valid(const char *name);

#ifdef __cplusplus
}
#endif
#endif /* IPCX_REGION_H */
