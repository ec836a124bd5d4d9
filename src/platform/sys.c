// SPDX-License-Identifier: MIT
/*
 * memfd, CPU pinning and process identity.  Thin wrappers that turn errno
 * into a negative return value.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <linux/membarrier.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "platform/platform.h"

int ipcx__sys_memfd(const char *name)
{
    int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
    return fd >= 0 ? fd : -errno;
}

int ipcx__sys_membarrier_register(void)
{
    return syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED, 0, 0) == 0 ? 0
                                                                                        : -errno;
}

int ipcx__sys_membarrier_global(void)
{
    return syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL_EXPEDITED, 0, 0) == 0 ? 0 : -errno;
}

int ipcx__sys_pin_cpu(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(0, sizeof(set), &set) == 0 ? 0 : -errno;
}

int ipcx__sys_cpu_count(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) != 0)
        return 1;
    int n = CPU_COUNT(&set);
    return n > 0 ? n : 1;
}

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

int ipcx__proc_alive(int pid, uint64_t start_time)
{
    if (pid <= 0)
        return 0;
    char state;
    uint64_t start;
    int rc = ipcx__proc_stat(pid, &state, &start);
    if (rc == -ENOENT)
        return 0;
    if (rc == 0) {
        /* A zombie (killed, not yet reaped) or dead task holds no locks and
         * will never make progress: it counts as gone. */
        if (state == 'Z' || state == 'X' || state == 'x')
            return 0;
        return start_time == 0 || start == start_time ? 1 : 0;
    }
    /* /proc cannot tell (not mounted, say): fall back to a signal probe. */
    if (kill(pid, 0) != 0 && errno == ESRCH)
        return 0;
    return start_time == 0 ? 1 : rc;
}
