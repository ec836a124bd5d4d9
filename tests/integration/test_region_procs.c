// SPDX-License-Identifier: MIT
/*
 * region across real processes (the test binary re-runs itself as the
 * helper): a named region written by one process and read by another, a
 * region whose creator has exited, and anonymous regions passed over a
 * socketpair - seals enforced in the receiver, extra fds closed and
 * reported, unsealed memfds refused, a closed peer reported, no fd leaks.
 */
#include "testutil.h"
#include "region_testutil.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ipcx/ipcx.h>

#include "platform/platform.h"
#include "region/region.h"

#define SZ     16384
#define WAITMS 20000

static const char parent_msg[] = "written by the parent";
static const char child_msg[] = "written by the child";

/* ------------------------------------------------------------ helpers */

/* Exit codes name the step that failed, so a failure says where. */
static int helper_reader(const char *name)
{
    ipcx_region *r = NULL;
    if (ipcx_region_open(name, &r) != 0)
        return 10;
    if (ipcx_region_size(r) != SZ)
        return 11;
    char *d = ipcx_region_data(r);
    if (strcmp(d, parent_msg) != 0)
        return 12;
    strcpy(d + 4096, child_msg);
    ipcx_region_close(r);
    return 0;
}

static int helper_creator(const char *name)
{
    ipcx_region *r = NULL;
    if (ipcx_region_create(name, SZ, NULL, &r) != 0)
        return 20;
    strcpy(ipcx_region_data(r), child_msg);
    ipcx_region_close(r);
    return 0; /* exits: the region outlives its creator */
}

static int helper_recv(int sock)
{
    int before = tu_fd_count();
    ipcx_region *r = NULL;
    if (ipcx_region_recv(sock, &r) != 0)
        return 30;
    int fd = ipcx_region_fd(r);
    if (ftruncate(fd, 4096) != -1 || errno != EPERM)
        return 31; /* shrinking a sealed region must fail */
    if (ftruncate(fd, 1 << 24) != -1 || errno != EPERM)
        return 32; /* and so must growing it */
    if (fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE) != -1 || errno != EPERM)
        return 33; /* F_SEAL_SEAL: no further seals either */
    char *d = ipcx_region_data(r);
    if (ipcx_region_size(r) != SZ || strcmp(d, parent_msg) != 0)
        return 34;
    strcpy(d + 100, child_msg);
    ipcx_region_close(r);
    if (tu_fd_count() != before)
        return 35;
    return write(sock, "k", 1) == 1 ? 0 : 36;
}

static int helper_send_extra(int sock)
{
    ipcx_region *r = NULL;
    int p[2];
    if (ipcx_region_create_anon(SZ, NULL, &r) != 0 || pipe(p) != 0)
        return 40;
    int fds[2] = {ipcx_region_fd(r), p[0]};
    int rc = ipcx__sys_send_fds(sock, "IPXR", 4, fds, 2);
    ipcx_region_close(r);
    return rc == 0 ? 0 : 41;
}

/* A memfd with a valid header but no seals: the sender could shrink it. */
static int helper_send_unsealed(int sock)
{
    int fd = ipcx__sys_memfd("unsealed");
    if (fd < 0 || ftruncate(fd, 8192) != 0)
        return 50;
    struct ipcx__region_hdr h = {.magic = IPCX__REGION_MAGIC,
                                 .version = IPCX__REGION_VERSION,
                                 .header_size = 4096,
                                 .kind = IPCX_REGION_RAW,
                                 .total_size = 8192,
                                 .data_size = 4096};
    if (pwrite(fd, &h, sizeof(h), 0) != (ssize_t)sizeof(h))
        return 51;
    return ipcx__sys_send_fds(sock, "IPXR", 4, &fd, 1) == 0 ? 0 : 52;
}

static int helper_send_badtag(int sock)
{
    ipcx_region *r = NULL;
    if (ipcx_region_create_anon(SZ, NULL, &r) != 0)
        return 60;
    int fd = ipcx_region_fd(r);
    int rc = ipcx__sys_send_fds(sock, "XXXX", 4, &fd, 1);
    ipcx_region_close(r);
    return rc == 0 ? 0 : 61;
}

static int helper_send_nofd(int sock)
{
    return write(sock, "IPXR", 4) == 4 ? 0 : 70;
}

static int run_helper(int argc, char **argv)
{
    if (argc < 2)
        return 99;
    const char *what = argv[0];
    if (strcmp(what, "reader") == 0)
        return helper_reader(argv[1]);
    if (strcmp(what, "creator") == 0)
        return helper_creator(argv[1]);
    int sock = atoi(argv[1]);
    if (strcmp(what, "recv") == 0)
        return helper_recv(sock);
    if (strcmp(what, "extra") == 0)
        return helper_send_extra(sock);
    if (strcmp(what, "unsealed") == 0)
        return helper_send_unsealed(sock);
    if (strcmp(what, "badtag") == 0)
        return helper_send_badtag(sock);
    if (strcmp(what, "nofd") == 0)
        return helper_send_nofd(sock);
    if (strcmp(what, "close") == 0)
        return 0; /* exits without sending: the parent sees the peer close */
    return 98;
}

/* Start helper @what with one end of a new socketpair; returns the
 * parent's end (close-on-exec) and the helper's pid. */
static int spawn_with_socket(const char *what, pid_t *pid)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    assert_int_equal(fcntl(sv[0], F_SETFD, FD_CLOEXEC), 0);
    char arg[16];
    snprintf(arg, sizeof(arg), "%d", sv[1]);
    *pid = tu_spawn("--helper", what, arg, NULL);
    close(sv[1]);
    return sv[0];
}

/* ------------------------------------------------------------ tests */

static void test_two_processes_share_named(void **state)
{
    (void)state;
    char name[128];
    tu_unique(name, sizeof(name), "procs");
    ipcx_region *r = NULL;
    assert_int_equal(ipcx_region_create(name, SZ, NULL, &r), 0);
    strcpy(ipcx_region_data(r), parent_msg);
    pid_t pid = tu_spawn("--helper", "reader", name, NULL);
    assert_int_equal(tu_wait(pid, WAITMS), 0);
    /* The child's write is visible here: same pages. */
    assert_string_equal((char *)ipcx_region_data(r) + 4096, child_msg);
    ipcx_region_close(r);
    assert_int_equal(ipcx_region_unlink(name), 0);
    assert_false(rt_region_exists(name));
}

static void test_region_outlives_creator(void **state)
{
    (void)state;
    char name[128];
    tu_unique(name, sizeof(name), "orphan");
    pid_t pid = tu_spawn("--helper", "creator", name, NULL);
    assert_int_equal(tu_wait(pid, WAITMS), 0);
    ipcx_region *r = NULL;
    assert_int_equal(ipcx_region_open(name, &r), 0);
    assert_string_equal(ipcx_region_data(r), child_msg);
    ipcx_region_info info;
    ipcx_region_get_info(r, &info);
    assert_int_equal(info.creator_pid, pid);
    assert_int_equal(info.creator_alive, 0); /* reaped above */
    ipcx_region_close(r);
    assert_int_equal(ipcx_region_stat(name, &info), 0);
    assert_int_equal(info.creator_alive, 0);
    assert_int_equal(ipcx_region_unlink(name), 0);
}

static void test_fd_passing_sealed(void **state)
{
    (void)state;
    int before = tu_fd_count();
    ipcx_region *r = NULL;
    assert_int_equal(ipcx_region_create_anon(SZ, NULL, &r), 0);
    strcpy(ipcx_region_data(r), parent_msg);
    pid_t pid;
    int sock = spawn_with_socket("recv", &pid);
    assert_int_equal(ipcx_region_send(sock, r), 0);
    char ack;
    assert_int_equal(read(sock, &ack, 1), 1);
    assert_int_equal(tu_wait(pid, WAITMS), 0);
    assert_string_equal((char *)ipcx_region_data(r) + 100, child_msg);
    close(sock);
    ipcx_region_close(r);
    assert_int_equal(tu_fd_count(), before);
}

/* The parent receives what a helper sends and expects @want. */
static void recv_from(const char *what, int want)
{
    int before = tu_fd_count();
    pid_t pid;
    int sock = spawn_with_socket(what, &pid);
    ipcx_region *r = NULL;
    int rc = ipcx_region_recv(sock, &r);
    assert_int_equal(tu_wait(pid, WAITMS), 0);
    close(sock);
    assert_int_equal(rc, want);
    assert_null(r);
    assert_int_equal(tu_fd_count(), before); /* every fd that arrived is closed */
}

static void test_extra_fd_closed_and_reported(void **state)
{
    (void)state;
    recv_from("extra", -EPROTO);
}

static void test_unsealed_memfd_refused(void **state)
{
    (void)state;
    recv_from("unsealed", -EPROTO);
}

static void test_bad_tag_refused(void **state)
{
    (void)state;
    recv_from("badtag", -EPROTO);
}

static void test_no_fd_refused(void **state)
{
    (void)state;
    recv_from("nofd", -EPROTO);
}

static void test_peer_closed(void **state)
{
    (void)state;
    recv_from("close", -EPIPE);
}

static void test_named_region_over_socket(void **state)
{
    (void)state;
    /* A named region's fd can be passed too: the receiver applies the
     * owner/mode checks instead of the seal check. */
    char name[128];
    tu_unique(name, sizeof(name), "passnamed");
    ipcx_region *r = NULL, *got = NULL;
    assert_int_equal(ipcx_region_create(name, SZ, NULL, &r), 0);
    strcpy(ipcx_region_data(r), parent_msg);
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    assert_int_equal(ipcx_region_send(sv[0], r), 0);
    assert_int_equal(ipcx_region_recv(sv[1], &got), 0);
    assert_string_equal(ipcx_region_data(got), parent_msg);
    assert_true(fcntl(ipcx_region_fd(got), F_GETFD) & FD_CLOEXEC);
    ipcx_region_close(got);
    /* A named region's fd that open() would refuse is refused here too. */
    int before = tu_fd_count();
    assert_int_equal(fchmod(ipcx_region_fd(r), 0666), 0);
    assert_int_equal(ipcx_region_send(sv[0], r), 0);
    assert_int_equal(ipcx_region_recv(sv[1], &got), -EACCES);
    assert_int_equal(tu_fd_count(), before);
    /* Non-blocking socket with nothing queued. */
    assert_int_equal(fcntl(sv[1], F_SETFL, O_NONBLOCK), 0);
    assert_int_equal(ipcx_region_recv(sv[1], &got), -EAGAIN);
    close(sv[1]);
    assert_int_equal(ipcx_region_send(sv[0], r), -EPIPE);
    close(sv[0]);
    ipcx_region_close(r);
    ipcx_region_unlink(name);
}

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--helper") == 0)
        return run_helper(argc - 2, argv + 2);
    rt_private_dir();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_processes_share_named),
        cmocka_unit_test(test_region_outlives_creator),
        cmocka_unit_test(test_fd_passing_sealed),
        cmocka_unit_test(test_extra_fd_closed_and_reported),
        cmocka_unit_test(test_unsealed_memfd_refused),
        cmocka_unit_test(test_bad_tag_refused),
        cmocka_unit_test(test_no_fd_refused),
        cmocka_unit_test(test_peer_closed),
        cmocka_unit_test(test_named_region_over_socket),
    };
    return cmocka_run_group_tests_name("region_procs", tests, NULL, NULL);
}
