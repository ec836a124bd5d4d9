/* SPDX-License-Identifier: MIT */
/*
 * The Linux system calls the parts share: futex, memfd, fd passing over
 * Unix sockets, CPU pinning, process identity.  Everything here is a thin,
 * errno-to-return-value wrapper with policy in the callers - except
 * liveness (liveness.c), whose policy lives here so that there is one.
 *
 * Layering note: platform sits beside core at the bottom of the stack; it
 * calls nothing else in ipcx.
 */
#ifndef IPCX_SRC_PLATFORM_H
#define IPCX_SRC_PLATFORM_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* FUTEX_WAIT_BITSET on a process-shared word with an absolute
 * CLOCK_MONOTONIC timeout (NULL: no timeout).  Returns 0, -EAGAIN (value
 * changed), -ETIMEDOUT, -EINTR or another -errno. */
int ipcx__sys_futex_wait(void *word, uint32_t expected, const struct timespec *abs_mono);

/* FUTEX_WAKE on a process-shared word.  Returns the number woken or -errno. */
int ipcx__sys_futex_wake(void *word, int n);

/* memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING).  Returns fd or -errno. */
int ipcx__sys_memfd(const char *name);

/* membarrier(2) as the heavy side of an asymmetric fence between
 * processes: after ipcx__sys_membarrier_global() returns, every thread of
 * every process that called ipcx__sys_membarrier_register() has passed a
 * full memory barrier (or was not running).  Both return 0 or -errno
 * (-ENOSYS, -EINVAL, -EPERM where the kernel does not offer it). */
int ipcx__sys_membarrier_register(void);
int ipcx__sys_membarrier_global(void);

/* Pin the calling thread to one CPU.  Returns 0 or -errno. */
int ipcx__sys_pin_cpu(int cpu);

/* Number of CPUs the calling thread may run on. */
int ipcx__sys_cpu_count(void);

/* ---- liveness (liveness.c: the one module that says whether a process
 * that holds something is still there; docs/ring.md, "Crash safety") ---- */

/* The three answers.  Only DEAD, proven, allows reclaiming what the
 * process holds; UNKNOWN holds exactly as ALIVE does. */
#define IPCX_LIVE_DEAD    0
#define IPCX_LIVE_ALIVE   1
#define IPCX_LIVE_UNKNOWN (-1)

/* Is process pid, started at start (clock ticks since boot; only its low
 * start_bits bits are compared, 0: start not known), alive?  same_ns: the
 * process is known to live in this process's pid namespace (else "no such
 * pid" and "another process under that pid" prove nothing).  Returns
 * IPCX_LIVE_ALIVE, IPCX_LIVE_DEAD (no such pid, a zombie, or a reused pid)
 * or IPCX_LIVE_UNKNOWN (out of fds, /proc unreadable or hidden, another
 * namespace).  One /proc read; kill(pid, 0) when it fails. */
int ipcx__live_check(int32_t pid, uint64_t start, unsigned start_bits, int same_ns);

/* The same with kill(pid, 0) only (no start time, no /proc read): for
 * paths where a reused pid reading as alive only delays a reclaim. */
int ipcx__live_probe(int32_t pid, int same_ns);

/* Kernel-held proof of life: an open-file-description lock (F_OFD_SETLK)
 * on one byte of a shared file, which the kernel drops when the last
 * descriptor of the holder's open file description closes - when the
 * holder dies, whatever killed it, in whatever pid namespace it lives.  A
 * holder takes it before it publishes that it holds a slot and drops it
 * after it gave the slot up; a checker that finds it free while the slot
 * still names the holder has proof that the holder is gone (a forked child
 * shares the description and keeps the lock: that only reads as alive).
 * Keys are byte offsets above IPCX_LIVE_LOCK_BASE, beyond any data. */
#define IPCX_LIVE_LOCK_BASE (UINT64_C(1) << 40)

/* A private open file description of the file behind fd (through
 * /proc/self/fd: a passed memfd shares its sender's description, whose
 * locks would not conflict with ours), O_CLOEXEC.  The new fd, or -errno
 * (no /proc, out of fds: then there is no lock proof, and the pid checks
 * decide alone). */
int ipcx__live_lock_open(int fd);
/* Take the lock on byte key (non-blocking): 0, -EAGAIN when another
 * description holds it, another -errno. */
int ipcx__live_lock_take(int lfd, uint64_t key);
/* Drop our lock on byte key. */
void ipcx__live_lock_drop(int lfd, uint64_t key);
/* Is byte key locked by another open file description?  IPCX_LIVE_ALIVE
 * (held), IPCX_LIVE_DEAD (free), IPCX_LIVE_UNKNOWN (the query failed).
 * One fcntl, no new fd. */
int ipcx__live_lock_state(int lfd, uint64_t key);

/* This process's pid namespace (the inode of /proc/self/ns/pid), 0 when it
 * cannot be read. */
uint64_t ipcx__live_self_ns(void);

/* Start time of a process in clock ticks since boot (field 22 of
 * /proc/<pid>/stat), or 0 when it cannot be read.  With the pid it names a
 * process across pid reuse. */
uint64_t ipcx__proc_start_time(int pid);

/* Reads /proc/<pid>/stat: its state letter (field 3: 'Z' zombie, 'X' dead,
 * ...) and start time (field 22).  Returns 0, -ENOENT when there is no such
 * entry, or another -errno when /proc cannot tell. */
int ipcx__proc_stat(int pid, char *state, uint64_t *start);

/* ipcx__live_check(pid, start_time, 64 or 0, same namespace): 1 alive,
 * 0 dead, -1 cannot tell. */
int ipcx__proc_alive(int pid, uint64_t start_time);

/* ---- fork (liveness.c): a handle's identity (pid, start time, slots) is
 * its process's; a child that inherits it across fork() must not act as
 * the parent.  The fork generation is bumped by a pthread_atfork() child
 * handler; a handle records it at attach and compares it on every call:
 * one relaxed load, no system call.  Processes made without the atfork
 * handlers (a raw clone(2) or vfork(2) that does more than exec) are not
 * seen. ---- */

/* Register the atfork handler (once per process) and return the current
 * generation, or -ENOMEM when it cannot be registered. */
int ipcx__fork_watch(uint32_t *gen);

extern _Atomic uint32_t ipcx__fork_gen_word;

/* The current fork generation.  Relaxed: written only by the child
 * handler (liveness.c fork_child()), which runs in the new process before
 * fork() returns there, i.e. before any call of that process can load it;
 * nothing else is published through it. */
static inline uint32_t ipcx__fork_gen(void)
{
    return atomic_load_explicit(&ipcx__fork_gen_word, memory_order_relaxed);
}

/* Send fds[0..nfds) over a connected Unix socket with SCM_RIGHTS, with the
 * payload bytes data[0..len) (len >= 1).  Retries EINTR.  Returns 0 or -errno. */
int ipcx__sys_send_fds(int sock, const void *data, size_t len, const int *fds, size_t nfds);

/* Receive up to len payload bytes and exactly max_fds fds or fewer.  With
 * MSG_CMSG_CLOEXEC.  Stores the fds received in fds[] and their count in
 * *nfds.  A truncated control message (MSG_CTRUNC) or more fds than max_fds
 * is -EPROTO, and every fd that did arrive is closed.  Returns the number
 * of payload bytes (0: peer closed) or -errno. */
int ipcx__sys_recv_fds(int sock, void *data, size_t len, int *fds, size_t max_fds, size_t *nfds);

#endif /* IPCX_SRC_PLATFORM_H */
