// SPDX-License-Identifier: MIT
/*
 * Liveness: is the process that holds something (a slot, a claim, a lock, a
 * cursor) still there?  The one place ipcx answers that (docs/ring.md, "Crash
 * safety"); the ring, the queue and the region all ask here.
 *
 * Three answers.  ALIVE: /proc shows the pid with the recorded start time.
 * DEAD, proven: no process has that pid (kill(pid, 0) says ESRCH), or
 * /proc shows it a zombie, or shows another process under that pid (its
 * start time differs: the pid was reused).  UNKNOWN: anything else - /proc
 * cannot be read (out of file descriptors, EMFILE/ENFILE; no /proc; an
 * entry that is unreadable or hidden by hidepid while kill() says the pid
 * exists), or the owner may live in another pid namespace (then the pid
 * number it recorded means nothing here: "no such pid" and "another
 * process" prove nothing).  Callers reclaim only on DEAD; UNKNOWN holds,
 * exactly as ALIVE does.
 *
 * Pid namespaces are told apart by the inode of /proc/self/ns/pid.  A
 * shared object records its creator's namespace; whoever attaches from
 * another one marks the object "mixed", and from then on a check made for
 * that object passes same_ns = 0 (ring: layout.c; queue: queue.c).
 *
 * The checks cost one open/read/close of /proc/<pid>/stat (kill() only
 * when that fails); callers rate-limit them.
 *
 * Where the holder and the checker share a file (a named ring's region, a
 * ring passed by fd), a lock the kernel drops with its holder is a better
 * proof than any pid: it needs no /proc, no free fd at check time, and
 * holds across pid namespaces.  ipcx__live_lock_*() below: the ring takes
 * one per slot it holds (layout.c) and asks it first.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "platform/platform.h"

int ipcx__proc_stat(int pid, char *state, uint64_t *start)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT || errno == ESRCH ? -ENOENT : -errno;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    int err = n < 0 ? errno : 0;
    close(fd);
    if (n <= 0)
        return err == ESRCH || n == 0 ? -ENOENT : -err;
    buf[n] = '\0';
    /* The command name (field 2) may contain spaces and parentheses: skip to
     * the last ')' and count fields from there.  Field 3 follows it. */
    char *p = strrchr(buf, ')');
    if (p == NULL || p[1] != ' ' || p[2] == '\0')
        return -EPROTO;
    *state = p[2];
    int field = 2;
    for (p++; *p != '\0'; p++) {
        if (*p == ' ' && ++field == 22)
            break;
    }
    unsigned long long v = 0;
    if (field != 22 || sscanf(p + 1, "%llu", &v) != 1)
        return -EPROTO;
    *start = (uint64_t)v;
    return 0;
}

uint64_t ipcx__proc_start_time(int pid)
{
    char state;
    uint64_t start;
    return ipcx__proc_stat(pid, &state, &start) == 0 ? start : 0;
}

/* Does a process with this pid exist here?  1 yes (or it exists and is not
 * ours to signal: EPERM), 0 no (ESRCH), -1 cannot tell. */
static int pid_exists(int pid)
{
    if (kill(pid, 0) == 0 || errno == EPERM)
        return 1;
    return errno == ESRCH ? 0 : -1;
}

int ipcx__live_check(int32_t pid, uint64_t start, unsigned start_bits, int same_ns)
{
#ifdef IPCX_MUTANT_ALWAYS_DEAD
    /* scripts/mutants.sh: every owner "dead"; some test must fail. */
    (void)pid, (void)start, (void)start_bits, (void)same_ns;
    return IPCX_LIVE_DEAD;
#endif
    if (pid <= 0)
        return IPCX_LIVE_DEAD; /* not a process: nothing is held by it */
    /* "Nothing here" only proves death when the pid means the same here. */
    int gone = same_ns ? IPCX_LIVE_DEAD : IPCX_LIVE_UNKNOWN;
    char st;
    uint64_t now = 0;
    int rc = ipcx__proc_stat(pid, &st, &now);
    if (rc == 0) {
        /* A zombie or dead task can no longer touch anything. */
        if (st == 'Z' || st == 'X' || st == 'x')
            return gone;
        uint64_t mask = start_bits >= 64 ? UINT64_MAX : (UINT64_C(1) << start_bits) - 1;
        if (start_bits != 0 && (now & mask) != (start & mask))
            return gone; /* another process under a reused pid */
        return IPCX_LIVE_ALIVE;
    }
    /* /proc could not tell: no entry (perhaps hidden by hidepid), out of
     * fds, unreadable, not mounted.  kill() needs no fd and sees hidden
     * processes: only its ESRCH is an answer; a pid that exists but cannot
     * be matched with its start time is UNKNOWN (it may be a reuse). */
    int e = pid_exists(pid);
    if (e == 0)
        return gone;
    if (e == 1 && start_bits == 0)
        return IPCX_LIVE_ALIVE; /* nothing more to match */
    return IPCX_LIVE_UNKNOWN;
}

int ipcx__live_probe(int32_t pid, int same_ns)
{
#ifdef IPCX_MUTANT_ALWAYS_DEAD
    (void)pid, (void)same_ns;
    return IPCX_LIVE_DEAD;
#endif
    if (pid <= 0)
        return IPCX_LIVE_DEAD;
    int e = pid_exists(pid);
    if (e == 0)
        return same_ns ? IPCX_LIVE_DEAD : IPCX_LIVE_UNKNOWN;
    return e == 1 ? IPCX_LIVE_ALIVE : IPCX_LIVE_UNKNOWN;
}

int ipcx__proc_alive(int pid, uint64_t start_time)
{
    return ipcx__live_check(pid, start_time, start_time != 0 ? 64 : 0, 1);
}

uint64_t ipcx__live_self_ns(void)
{
    /* Not cached: a process that unshared its pid namespace has children
     * in another one, and this is called once per attach, not per check. */
    struct stat sb;
    if (stat("/proc/self/ns/pid", &sb) != 0)
        return 0;
    return (uint64_t)sb.st_ino;
}

/* ------------------------------------------------------------ fork */

_Atomic uint32_t ipcx__fork_gen_word;
static pthread_once_t g_fork_once = PTHREAD_ONCE_INIT;
static int g_fork_err;

static void fork_child(void)
{
    /* Relaxed: see ipcx__fork_gen() (platform.h); the child has one thread. */
    atomic_fetch_add_explicit(&ipcx__fork_gen_word, 1, memory_order_relaxed);
}

static void fork_register(void)
{
    g_fork_err = pthread_atfork(NULL, NULL, fork_child);
}

int ipcx__fork_watch(uint32_t *gen)
{
    /* pthread_once orders g_fork_err for every caller after the first. */
    if (pthread_once(&g_fork_once, fork_register) != 0 || g_fork_err != 0)
        return -ENOMEM;
    *gen = ipcx__fork_gen();
    return 0;
}

/* ------------------------------------------------------------ lock proof */

int ipcx__live_lock_open(int fd)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    int lfd = open(path, O_RDWR | O_CLOEXEC);
    return lfd >= 0 ? lfd : -errno;
}

static struct flock lock_at(short type, uint64_t key)
{
    struct flock fl;
    memset(&fl, 0, sizeof(fl));
    fl.l_type = type;
    fl.l_whence = SEEK_SET;
    fl.l_start = (off_t)(IPCX_LIVE_LOCK_BASE + key);
    fl.l_len = 1;
    return fl;
}

int ipcx__live_lock_take(int lfd, uint64_t key)
{
    struct flock fl = lock_at(F_WRLCK, key);
    if (fcntl(lfd, F_OFD_SETLK, &fl) == 0)
        return 0;
    return errno == EACCES || errno == EAGAIN ? -EAGAIN : -errno;
}

void ipcx__live_lock_drop(int lfd, uint64_t key)
{
    struct flock fl = lock_at(F_UNLCK, key);
    (void)fcntl(lfd, F_OFD_SETLK, &fl);
}

int ipcx__live_lock_state(int lfd, uint64_t key)
{
#ifdef IPCX_MUTANT_ALWAYS_DEAD
    (void)lfd, (void)key;
    return IPCX_LIVE_DEAD;
#endif
    struct flock fl = lock_at(F_WRLCK, key);
    if (fcntl(lfd, F_OFD_GETLK, &fl) != 0)
        return IPCX_LIVE_UNKNOWN;
    return fl.l_type == F_UNLCK ? IPCX_LIVE_DEAD : IPCX_LIVE_ALIVE;
}
