// SPDX-License-Identifier: MIT
/*
 * Fuzz target for the shm:// hello (src/transport/shm.c): the first bytes a
 * peer of an shm:// control socket sends.
 *
 * Input: byte 0 chooses how many fds travel with the message (0 to 5,
 * eventfds), the rest is the message itself, sent over a real Unix
 * socketpair and received with ipcx__shm_recv_hello() expecting none (the
 * listener's side) and three (the dialer's).  Whatever is accepted must
 * decode to the same bytes when encoded again; whatever is refused must
 * leave no fd behind (counted before and after).
 *
 * Built as a libFuzzer target when IPCX_FUZZ is on; otherwise the replay
 * driver runs the committed corpus (tests/fuzz/corpus/shm_hello_fuzz)
 * under ctest, with the sanitizers of the build.
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "platform/platform.h"
#include "transport/transport.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fd_count(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    if (d == NULL)
        return -1;
    while (readdir(d) != NULL)
        n++;
    closedir(d);
    return n;
}

static void one(const uint8_t *msg, size_t len, size_t nfds, size_t want)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        return;
    int before = fd_count();
    int fds[5];
    size_t made = 0;
    for (; made < nfds; made++)
        if ((fds[made] = eventfd(0, EFD_CLOEXEC)) < 0)
            break;
    if (len > 0)
        (void)ipcx__sys_send_fds(sv[0], msg, len, fds, made);
    for (size_t i = 0; i < made; i++)
        close(fds[i]);
    shutdown(sv[0], SHUT_WR);
    ipcx__shm_hello h;
    int got[IPCX__SHM_FDS_MAX];
    size_t ngot = 0;
    int rc = ipcx__shm_recv_hello(sv[1], &h, got, want, &ngot);
    if (rc == 0) {
        uint8_t again[IPCX__SHM_HELLO_MAX];
        size_t n = ipcx__shm_hello_encode(&h, again);
        if (n != len || memcmp(again, msg, n) != 0)
            abort(); /* accepted bytes that do not round-trip */
        for (size_t i = 0; i < ngot; i++)
            close(got[i]);
    }
    if (fd_count() != before)
        abort(); /* an fd that came with the message was left open */
    close(sv[0]);
    close(sv[1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 1 + IPCX__SHM_HELLO_MAX + 8)
        return 0;
    size_t nfds = data[0] % 6;
    one(data + 1, size - 1, nfds, 0);
    one(data + 1, size - 1, nfds, IPCX__SHM_NFDS);
    ipcx__shm_hello h;
    (void)ipcx__shm_hello_decode(data + 1, size - 1, &h);
    return 0;
}
