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
#include <sys/mman.h>
#include <unistd.h>

#include "platform/platform.h"

int ipcx__sys_memfd(const char *name)
{
    int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
    return fd >= 0 ? fd : -errno;
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

uint64_t ipcx__proc_start_time(int pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    /* The command name (field 2) may contain spaces and parentheses: skip to
     * the last ')' and count fields from there.  Field 3 follows it. */
    char *p = strrchr(buf, ')');
    if (p == NULL)
        return 0;
    int field = 2;
    for (p++; *p != '\0'; p++) {
        if (*p == ' ' && ++field == 22)
            break;
    }
    if (field != 22)
        return 0;
    unsigned long long v = 0;
    if (sscanf(p + 1, "%llu", &v) != 1)
        return 0;
    return (uint64_t)v;
}

int ipcx__proc_alive(int pid, uint64_t start_time)
{
    if (pid <= 0)
        return 0;
    if (kill(pid, 0) != 0) {
        if (errno == ESRCH)
            return 0;
        if (errno != EPERM)
            return -errno;
        /* EPERM: it exists but belongs to someone else; fall through. */
    }
    if (start_time == 0)
        return 1;
    uint64_t now = ipcx__proc_start_time(pid);
    if (now == 0)
        return 0; /* exited between the two checks */
    return now == start_time ? 1 : 0;
}
