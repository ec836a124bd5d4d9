// SPDX-License-Identifier: MIT
/*
 * Local workers, the parent's side: their rings, starting them (fork, or
 * posix_spawn of opts.exec_path), noticing their deaths through pidfds,
 * reaping them, and stopping them (docs/pool.md, "Failures").
 *
 * Design note.  Only the thread that uses the pool runs this.  Each worker
 * gets a fresh task ring (an anonymous region) when it starts, so a dead
 * worker's ring, with whatever it had peeked, is simply dropped.  Every
 * worker is reaped through its pidfd (waitid P_PIDFD), never through
 * SIGCHLD or a wait for any child, so the application's own children and
 * its SIGCHLD handling are left alone; a worker reaped by someone else
 * (SIGCHLD ignored, a wait(-1) in the application) is simply gone, with
 * no signal to report.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pool/pool_int.h"
#include "region/region.h"
#include "ring/ring_int.h"

extern char **environ;

#define POOL_STOP_NS   (1000 * 1000 * 1000LL)
#define POOL_QUICK_MAX 8u /* deaths in a row of a slot's idle workers before it is left empty */

static int pidfd_open_(pid_t pid)
{
    long fd = syscall(SYS_pidfd_open, pid, 0);
    return fd < 0 ? -errno : (int)fd;
}

uint64_t ipcx__pool_pow2(uint64_t v)
{
    uint64_t c = IPCX_RING_MIN_CAPACITY;
    while (c < v)
        c <<= 1;
    return c;
}

/* A ring in a fresh anonymous region. */
int ipcx__pool_ring_anon(const ipcx_ring_opts *ro, ipcx_ring **out)
{
    size_t size = ipcx__ring_size_for(ro);
    if (size == 0)
        return -EINVAL;
    ipcx_region_opts rgo = {.kind = IPCX_REGION_RING};
    ipcx_region *reg;
    int rc = ipcx_region_create_anon(size, &rgo, &reg);
    if (rc != 0)
        return rc;
    rc = ipcx__ring_format(ipcx_region_data(reg), ipcx_region_size(reg), ro);
    ipcx_ring *r = NULL;
    if (rc == 0)
        rc = ipcx__ring_attach(ipcx_region_data(reg), ipcx_region_size(reg), &r);
    if (rc != 0) {
        ipcx_region_close(reg);
        return rc;
    }
    r->region = reg;
    ipcx__ring_use_lock(r, ipcx_region_fd(reg)); /* slot liveness proven by OFD locks */
    *out = r;
    return 0;
}

static void task_ring_opts(const ipcx_pool *p, ipcx_ring_opts *ro)
{
    memset(ro, 0, sizeof(*ro));
    uint64_t rec = 16 + sizeof(struct pool_task_rec) + p->o.max_task + 8;
    ro->capacity = ipcx__pool_pow2(rec * 4 > 65536 ? rec * 4 : 65536);
    ro->max_msg = (uint32_t)(sizeof(struct pool_task_rec) + p->o.max_task);
    ro->liveness_ms = 5;
}

static void close_worker(ipcx_pool *p, struct pworker *w)
{
    if (w->pidfd >= 0)
        close(w->pidfd);
    w->pidfd = -1;
    ipcx_ring_close(w->tring);
    w->tring = NULL;
    w->kind = W_NONE;
    w->pid = 0;
    (void)p;
}

/* posix_spawn opts.exec_path with the fds of its rings and regions kept
 * open (a dup2 onto itself clears close-on-exec) and named in the
 * environment. */
static int spawn_worker(ipcx_pool *p, uint32_t slot, pid_t *pid)
{
    int tfd = ipcx_region_fd(p->w[slot].tring->region);
    int rfd = ipcx_region_fd(p->rring->region);
    int ifd = p->inreg != NULL ? ipcx_region_fd(p->inreg) : p->in_map != NULL ? p->o.input_fd : 0;
    int ofd = p->outreg != NULL ? ipcx_region_fd(p->outreg) : 0;
    char var[256];
    snprintf(var, sizeof(var), IPCX__POOL_ENV "=1:%u:%d:%d:%d:%d:%zu:%d:%zu:%u", slot,
             (int)getpid(), tfd, rfd, ifd, ifd > 0 ? p->input_len : 0, ofd,
             p->outreg != NULL ? ipcx_region_size(p->outreg) : 0, p->o.max_result);
    size_t n = 0;
    while (environ[n] != NULL)
        n++;
    char **envp = calloc(n + 2, sizeof(*envp));
    if (envp == NULL)
        return -ENOMEM;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (strncmp(environ[i], IPCX__POOL_ENV "=", sizeof(IPCX__POOL_ENV)) != 0)
            envp[k++] = environ[i];
    }
    envp[k] = var;
    posix_spawn_file_actions_t fa;
    int rc = posix_spawn_file_actions_init(&fa);
    int fds[4] = {tfd, rfd, ifd, ofd};
    for (int i = 0; rc == 0 && i < 4; i++) {
        if (fds[i] > 0)
            rc = posix_spawn_file_actions_adddup2(&fa, fds[i], fds[i]);
    }
    char *const def_argv[] = {(char *)p->o.exec_path, NULL};
    if (rc == 0)
        rc = posix_spawn(pid, p->o.exec_path, &fa, NULL,
                         p->o.exec_argv != NULL ? p->o.exec_argv : def_argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    free(envp);
    return -rc;
}

int ipcx__pool_start_local(ipcx_pool *p, uint32_t slot)
{
    struct pworker *w = &p->w[slot];
    ipcx_ring_opts ro;
    task_ring_opts(p, &ro);
    int rc = ipcx__pool_ring_anon(&ro, &w->tring);
    if (rc != 0)
        return rc;
    rc = ipcx_ring_join(w->tring, IPCX_RING_PRODUCER);
    if (rc != 0) {
        ipcx_ring_close(w->tring);
        w->tring = NULL;
        return rc;
    }
    pid_t parent = getpid();
    pid_t pid;
    if (p->o.exec_path != NULL) {
        rc = spawn_worker(p, slot, &pid);
    } else {
        pid = fork();
        rc = pid < 0 ? -errno : 0;
        if (pid == 0)
            ipcx__pool_worker_main(p, slot, parent);
    }
    if (rc != 0) {
        ipcx_ring_close(w->tring);
        w->tring = NULL;
        return rc;
    }
    int fd = pidfd_open_(pid);
    if (fd < 0) { /* cannot watch it: do not keep it */
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        ipcx_ring_close(w->tring);
        w->tring = NULL;
        return fd;
    }
    w->kind = W_LOCAL;
    w->pid = pid;
    w->pidfd = fd;
    w->running = 0;
    store_relaxed(&p->kill_pids[slot], (uint32_t)pid); /* for ipcx_pool_kill */
    return 0;
}

/* Reap a local worker whose pidfd is readable: the signal that ended it. */
static int reap(struct pworker *w)
{
    siginfo_t si;
    memset(&si, 0, sizeof(si));
    if (waitid((idtype_t)P_PIDFD, (id_t)w->pidfd, &si, WEXITED) != 0)
        return 0; /* reaped by someone else (SIGCHLD ignored or a wait(-1)) */
    return si.si_code == CLD_KILLED || si.si_code == CLD_DUMPED ? si.si_status : 0;
}

static void local_died(ipcx_pool *p, uint32_t slot)
{
    struct pworker *w = &p->w[slot];
    int sig = reap(w);
    /* Deaths in a row of a worker that held no task: it cannot even start
     * (a task that kills its worker is bounded by the retry limit instead). */
    uint32_t idle = w->running == 0 && w->done == 0 ? w->quick + 1 : 0;
    store_relaxed(&p->kill_pids[slot], 0u);
    close_worker(p, w);
    p->deaths++;
    ipcx__pool_requeue(p, (int)slot, sig);
    w->done = 0;
    if (idle >= POOL_QUICK_MAX) {
        p->gave_up = 1;
        return;
    }
    if (ipcx__pool_start_local(p, slot) == 0)
        p->restarts++;
    else
        p->gave_up = 1; /* fork failed: the slot stays empty */
    w->quick = idle;
}

void ipcx__pool_check_deaths(ipcx_pool *p)
{
    struct pollfd fds[IPCX_POOL_MAX_WORKERS];
    uint32_t slot[IPCX_POOL_MAX_WORKERS];
    nfds_t n = 0;
    for (uint32_t i = 0; i < p->nslots && n < IPCX_POOL_MAX_WORKERS; i++) {
        if (p->w[i].kind == W_LOCAL) {
            fds[n] = (struct pollfd){.fd = p->w[i].pidfd, .events = POLLIN};
            slot[n++] = i;
        }
    }
    if (n == 0 || poll(fds, n, 0) <= 0)
        return;
    for (nfds_t i = 0; i < n; i++) {
        if (fds[i].revents != 0)
            local_died(p, slot[i]);
    }
}

/* SIGKILL and reap every local worker (waits for each). */
void ipcx__pool_kill_all(ipcx_pool *p)
{
    for (uint32_t i = 0; i < p->nslots; i++) {
        struct pworker *w = &p->w[i];
        if (w->kind != W_LOCAL)
            continue;
        kill(w->pid, SIGKILL);
        reap(w);
        store_relaxed(&p->kill_pids[i], 0u);
        close_worker(p, w);
    }
}

void ipcx__pool_stop_local(ipcx_pool *p)
{
    int64_t until = ipcx__now_ns() + POOL_STOP_NS;
    for (uint32_t i = 0; i < p->nslots; i++) {
        struct pworker *w = &p->w[i];
        if (w->kind != W_LOCAL)
            continue;
        struct pool_task_rec h = {.kind = POOL_REC_STOP};
        if (ipcx_ring_send(w->tring, &h, sizeof(h), 0) != 0)
            kill(w->pid, SIGKILL);
    }
    for (uint32_t i = 0; i < p->nslots; i++) {
        struct pworker *w = &p->w[i];
        if (w->kind != W_LOCAL)
            continue;
        int64_t left = until - ipcx__now_ns();
        struct pollfd pf = {.fd = w->pidfd, .events = POLLIN};
        if (left <= 0 || poll(&pf, 1, (int)(left / 1000000) + 1) <= 0)
            kill(w->pid, SIGKILL);
    }
    ipcx__pool_kill_all(p); /* reaps; SIGKILL to a process that exited is harmless */
}
