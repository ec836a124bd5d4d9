// SPDX-License-Identifier: MIT
/*
 * ipcx_strerror() and ipcx_version().  ipcx reports failures as negative
 * errno values; most keep their usual meaning, a few carry an ipcx-specific
 * one that the text below spells out.  The strings are static, so the
 * function is thread-safe (unlike strerror(3)).
 */
#include <string.h>

#include "core/core.h"

#define STR2(x) #x
#define STR(x)  STR2(x)

IPCX_API const char *ipcx_version(void)
{
    return STR(IPCX_VERSION_MAJOR) "." STR(IPCX_VERSION_MINOR) "." STR(IPCX_VERSION_PATCH);
}

struct errname {
    int err;
    const char *text;
};

static const struct errname errnames[] = {
    {0, "success"},
    {EPERM, "operation not permitted"},
    {ENOENT, "no such object (no region, ring, queue or file of that name)"},
    {EINTR, "interrupted by a signal"},
    {EIO, "input/output error"},
    {EBADF, "bad file descriptor"},
    {EAGAIN, "not ready, or would block (nothing to receive, no room to send, or the object is "
             "still being created)"},
    {ENOMEM, "out of memory"},
    {EACCES, "permission denied (owner or mode of the object is not acceptable)"},
    {EFAULT, "bad address"},
    {EBUSY, "busy (every slot for that role is held by a live process)"},
    {EEXIST, "object already exists"},
    {ENODEV, "no such device"},
    {ENOTDIR, "not a directory"},
    {EISDIR, "is a directory"},
    {EINVAL, "invalid argument"},
    {EMFILE, "too many open files in this process"},
    {ENFILE, "too many open files in the system"},
    {EFBIG, "file too large"},
    {ENOSPC, "no space left (shared memory, disk or configured limit is full)"},
    {ESPIPE, "illegal seek"},
    {EROFS, "read-only file system"},
    {EPIPE, "peer is gone (closed, detached or died)"},
    {ERANGE, "value out of range"},
    {ENAMETOOLONG, "name too long"},
    {ENOSYS, "not supported by this kernel"},
    {ELOOP, "symbolic link refused"},
    {ENOTSUP, "operation not supported in this mode"},
    {EOVERFLOW, "consumer overrun: messages were lost (overwritten before they were read)"},
    {EPROTO, "protocol error: malformed shared-memory layout or wire data"},
    {EMEDIUMTYPE, "wrong kind of object (a ring opened as a queue, a raw region as a ring, ...)"},
    {EBADMSG, "bad message"},
    {EMSGSIZE, "message too large (over the configured maximum, or for the receive buffer: the "
               "message stays)"},
    {EPROTONOSUPPORT, "protocol, version or mechanism not supported"},
    {EADDRINUSE, "address already in use"},
    {EADDRNOTAVAIL, "address not available"},
    {ENETUNREACH, "network unreachable"},
    {ECONNABORTED, "connection aborted"},
    {ECONNRESET, "connection reset by peer"},
    {ENOBUFS, "no buffer space available"},
    {EISCONN, "already connected"},
    {ENOTCONN, "not connected"},
    {ESHUTDOWN, "endpoint shut down"},
    {ETIMEDOUT, "timed out"},
    {ECONNREFUSED, "connection refused"},
    {EHOSTUNREACH, "host unreachable"},
    {EALREADY, "operation already in progress"},
    {EINPROGRESS, "operation in progress"},
    {ESTALE, "stale object (its creator is gone)"},
    {ECANCELED, "operation cancelled"},
    {EOWNERDEAD, "owner died while holding the resource"},
    {EDEADLK, "would wait on itself: commit this handle's reservations first"},
    {ECHILD, "handle inherited across fork(): open it again in this process"},
    {ENOTSOCK, "not a socket"},
    {EDESTADDRREQ, "destination address required"},
    {EPROTOTYPE, "wrong socket type for this operation"},
    {EAFNOSUPPORT, "address family not supported"},
    {ENOTEMPTY, "not empty"},
    {EDOM, "argument out of domain"},
    {EILSEQ, "illegal byte sequence"},
    {EBADFD, "socket in the wrong state for this call (REQ and REP alternate send and recv)"},
};

IPCX_API const char *ipcx_strerror(int err)
{
    if (err < 0)
        err = -err;
    for (size_t i = 0; i < IPCX_ARRAY_LEN(errnames); i++) {
        if (errnames[i].err == err && errnames[i].text[0] != '\0')
            return errnames[i].text;
    }
    return "unknown error";
}
