// SPDX-License-Identifier: MIT
/*
 * region, in one process: names, create/open/close/unlink, options, every
 * header check open makes (each corruption its own test, run under ASan by
 * make test), ownership and mode refusals, symlinks, a full /dev/shm (the
 * fault hook and, as root, a real 1 MiB tmpfs), anonymous regions and
 * their seals, stat and list, and the internal helpers the ring uses.
 */
#include "testutil.h"
#include "region_testutil.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ipcx/ipcx.h>

#include "region/region.h"

#define SZ 8192

/* A fresh unique name; the last 16 stay valid. */
static const char *uname_(void)
{
    static char bufs[16][128];
    static unsigned next;
    char *b = bufs[next++ % 16];
    return tu_unique(b, sizeof(bufs[0]), "rt");
}

static ipcx_region *create_ok(const char *name, size_t size)
{
    ipcx_region *r = NULL;
    assert_int_equal(ipcx_region_create(name, size, NULL, &r), 0);
    assert_non_null(r);
    return r;
}

/* Open the file behind a region and write @len bytes at @off. */
static void poke(const char *name, off_t off, const void *buf, size_t len)
{
    char p[512];
    int fd = open(rt_region_path(name, p, sizeof(p)), O_RDWR);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, buf, len, off), (ssize_t)len);
    close(fd);
}

static void poke_u32(const char *name, off_t off, uint32_t v)
{
    poke(name, off, &v, sizeof(v));
}

static void poke_u64(const char *name, off_t off, uint64_t v)
{
    poke(name, off, &v, sizeof(v));
}

/* ------------------------------------------------------------ names */

/* @name is refused with @err by the check and by every call taking a name,
 * and nothing is created. */
static void expect_bad_name(const char *name, int err)
{
    ipcx_region *r = NULL;
    ipcx_region_info info;
    assert_int_equal(ipcx_region_name_valid(name), err);
    assert_int_equal(ipcx_region_create(name, 100, NULL, &r), err);
    assert_int_equal(ipcx_region_open(name, &r), err);
    assert_int_equal(ipcx_region_unlink(name), err);
    assert_int_equal(ipcx_region_stat(name, &info), err);
    assert_null(r);
}

static void test_name_empty(void **state)
{
    (void)state;
    expect_bad_name(NULL, -EINVAL);
    expect_bad_name("", -EINVAL);
}

static void test_name_too_long(void **state)
{
    (void)state;
    char name[IPCX_REGION_NAME_MAX + 2];
    memset(name, 'a', sizeof(name) - 1);
    name[IPCX_REGION_NAME_MAX + 1] = '\0';
    expect_bad_name(name, -ENAMETOOLONG);
    /* 200 is the longest accepted, and works end to end. */
    name[IPCX_REGION_NAME_MAX] = '\0';
    ipcx_region *r = create_ok(name, 10);
    ipcx_region_close(r);
    assert_int_equal(ipcx_region_open(name, &r), 0);
    ipcx_region_close(r);
    assert_int_equal(ipcx_region_unlink(name), 0);
}

static void test_name_leading_dot(void **state)
{
    (void)state;
    expect_bad_name(".", -EINVAL);
    expect_bad_name("..", -EINVAL);
    expect_bad_name(".hidden", -EINVAL);
}

static void test_name_slash(void **state)
{
    (void)state;
    expect_bad_name("a/b", -EINVAL);
    expect_bad_name("/abs", -EINVAL);
    expect_bad_name("x/../../etc/passwd", -EINVAL);
    expect_bad_name("trailing/", -EINVAL);
}

static void test_name_bad_characters(void **state)
{
    (void)state;
    const char *bad[] = {"sp ace",  "tab\t",  "nl\n",    "star*",       "caf\xc3\xa9", "colon:",
                         "ctl\x01", "tilde~", "q\"uote", "back\\slash", "per%cent"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_bad_name(bad[i], -EINVAL);
}

static void test_name_valid_edges(void **state)
{
    (void)state;
    const char *good[] = {"a", "Z", "0", "Az09._-x", "a.b..c", "-dash", "x.", "_", "a..b"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        assert_int_equal(ipcx_region_name_valid(good[i]), 0);
}

/* ------------------------------------------------------------ basics */

static void test_create_open_close_unlink(void **state)
{
    (void)state;
    const char *name = uname_();
    ipcx_region *a = create_ok(name, 1000);
    assert_int_equal(ipcx_region_size(a), 1000);
    assert_int_equal((uintptr_t)ipcx_region_data(a) % 4096, 0);
    unsigned char *d = ipcx_region_data(a);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(d[i], 0); /* zeroed */
    memcpy(d, "hello", 6);

    ipcx_region *b = NULL;
    assert_int_equal(ipcx_region_open(name, &b), 0);
    assert_int_equal(ipcx_region_size(b), 1000);
    assert_string_equal(ipcx_region_data(b), "hello");
    assert_true(ipcx_region_fd(b) >= 0);
    assert_true(fcntl(ipcx_region_fd(b), F_GETFD) & FD_CLOEXEC);

    ipcx_region_info info;
    assert_int_equal(ipcx_region_get_info(b, &info), 0);
    assert_string_equal(info.name, name);
    assert_int_equal(info.kind, IPCX_REGION_RAW);
    assert_int_equal(info.version_major, IPCX_REGION_LAYOUT_MAJOR);
    assert_int_equal(info.version_minor, IPCX_REGION_LAYOUT_MINOR);
    assert_int_equal(info.header_size, 4096);
    assert_int_equal(info.data_size, 1000);
    assert_int_equal(info.total_size, 8192);
    assert_int_equal(info.creator_pid, getpid());
    assert_int_equal(info.creator_uid, geteuid());
    assert_true(info.creator_start != 0);
    assert_true(info.created_ns > 0);
    assert_int_equal(info.creator_alive, 1);
    assert_int_equal(info.status, 0);

    ipcx_region_close(b);
    ipcx_region_close(a);
    ipcx_region_close(NULL);
    assert_int_equal(ipcx_region_unlink(name), 0);
    assert_int_equal(ipcx_region_open(name, &b), -ENOENT);
    assert_int_equal(ipcx_region_unlink(name), -ENOENT);
}

static void test_unlink_keeps_mappings(void **state)
{
    (void)state;
    const char *name = uname_();
    ipcx_region *a = create_ok(name, 64);
    ipcx_region *b = NULL;
    assert_int_equal(ipcx_region_open(name, &b), 0);
    assert_int_equal(ipcx_region_unlink(name), 0);
    strcpy(ipcx_region_data(a), "still");
    assert_string_equal(ipcx_region_data(b), "still");
    ipcx_region_close(a);
    ipcx_region_close(b);
}

static void test_open_missing(void **state)
{
    (void)state;
    ipcx_region *r = NULL;
    assert_int_equal(ipcx_region_open(uname_(), &r), -ENOENT);
    assert_null(r);
}

static void test_create_existing(void **state)
{
    (void)state;
    const char *name = uname_();
    ipcx_region *a = create_ok(name, 100);
    ipcx_region *b = NULL;
    assert_int_equal(ipcx_region_create(name, 100, NULL, &b), -EEXIST);
    assert_null(b);
    /* The failed create must not have removed the existing region. */
    assert_true(rt_region_exists(name));
    ipcx_region_close(a);
    assert_int_equal(ipcx_region_unlink(name), 0);
}

static void test_bad_options(void **state)
{
    (void)state;
    ipcx_region *r = NULL;
    const char *name = uname_();
    assert_int_equal(ipcx_region_create(name, 0, NULL, &r), -EINVAL);
    assert_int_equal(ipcx_region_create(name, SIZE_MAX, NULL, &r), -EINVAL);
    ipcx_region_opts o = {.mode = 0666};
    assert_int_equal(ipcx_region_create(name, 10, &o, &r), -EINVAL);
    o.mode = 0604;
    assert_int_equal(ipcx_region_create(name, 10, &o, &r), -EINVAL);
    o.mode = 04600;
    assert_int_equal(ipcx_region_create(name, 10, &o, &r), -EINVAL);
    o.mode = 0400; /* the owner must be able to read and write */
    assert_int_equal(ipcx_region_create(name, 10, &o, &r), -EINVAL);
    ipcx_region_opts z = {.reserved = {0, 0, 1}};
    assert_int_equal(ipcx_region_create(name, 10, &z, &r), -EINVAL);
    assert_int_equal(ipcx_region_create(name, 10, NULL, NULL), -EINVAL);
    assert_null(r);
    assert_false(rt_region_exists(name));
}

static void test_mode_ignores_umask(void **state)
{
    (void)state;
    const char *name = uname_();
    mode_t old = umask(0077);
    ipcx_region_opts o = {.mode = 0660, .kind = IPCX_REGION_RING, .flags = 0x55};
    ipcx_region *r = NULL;
    assert_int_equal(ipcx_region_create(name, 10, &o, &r), 0);
    umask(old);
    struct stat st;
    assert_int_equal(fstat(ipcx_region_fd(r), &st), 0);
    assert_int_equal(st.st_mode & 0777, 0660);
    ipcx_region_close(r);

    old = umask(0);
    const char *n2 = uname_();
    assert_int_equal(ipcx_region_create(n2, 10, NULL, &r), 0);
    umask(old);
    assert_int_equal(fstat(ipcx_region_fd(r), &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    ipcx_region_close(r);

    /* kind and flags round-trip through the header. */
    assert_int_equal(ipcx_region_open(name, &r), 0);
    ipcx_region_info info;
    ipcx_region_get_info(r, &info);
    assert_int_equal(info.kind, IPCX_REGION_RING);
    assert_int_equal(info.flags, 0x55);
    ipcx_region_close(r);
}

/* ------------------------------------------------------------ bad headers */

/* Create a region, close it, and return its name for corruption. */
static const char *make_victim(void)
{
    const char *name = uname_();
    ipcx_region *r = create_ok(name, SZ);
    memset(ipcx_region_data(r), 0xab, SZ);
    ipcx_region_close(r);
    return name;
}

static void expect_open(const char *name, int want)
{
    ipcx_region *r = NULL;
    assert_int_equal(ipcx_region_open(name, &r), want);
    assert_null(r);
    ipcx_region_info info;
    assert_int_equal(ipcx_region_stat(name, &info), 0);
    assert_int_equal(info.status, want);
}

static void test_bad_magic(void **state)
{
    (void)state;
    const char *name = make_victim();
    poke_u64(name, 0, 0x1122334455667788ULL);
    expect_open(name, -EPROTO);
}

static char logged[512];

static void log_hook(void *ctx, int level, const char *msg)
{
    (void)ctx;
    if (level == IPCX_LOG_ERROR)
        snprintf(logged, sizeof(logged), "%s", msg);
}

static void test_bad_major_version(void **state)
{
    (void)state;
    const char *name = make_victim();
    poke_u32(name, 8, (uint32_t)(IPCX_REGION_LAYOUT_MAJOR + 6) << 16 | 3);
    logged[0] = '\0';
    ipcx_log_set(log_hook, NULL, IPCX_LOG_ERROR);
    expect_open(name, -EPROTO);
    ipcx_log_set(NULL, NULL, 0);
    char theirs[32], ours[32];
    snprintf(theirs, sizeof(theirs), "%d.3", IPCX_REGION_LAYOUT_MAJOR + 6);
    snprintf(ours, sizeof(ours), "%d.", IPCX_REGION_LAYOUT_MAJOR);
    assert_non_null(strstr(logged, theirs));
    assert_non_null(strstr(logged, ours));
}

static void test_newer_minor_accepted(void **state)
{
    (void)state;
    const char *name = make_victim();
    poke_u32(name, 8, (uint32_t)IPCX_REGION_LAYOUT_MAJOR << 16 | 77);
    ipcx_region *r = NULL;
    assert_int_equal(ipcx_region_open(name, &r), 0);
    ipcx_region_info info;
    ipcx_region_get_info(r, &info);
    assert_int_equal(info.version_minor, 77);
    ipcx_region_close(r);
}

static void test_size_larger_than_object(void **state)
{
    (void)state;
    /* The file is truncated behind the header: total_size now lies. */
    const char *name = make_victim();
    char p[512];
    assert_int_equal(truncate(rt_region_path(name, p, sizeof(p)), 4096 + 4096), 0);
    expect_open(name, -EPROTO);
    /* And the header claims more than the file even without truncation. */
    const char *n2 = make_victim();
    poke_u64(n2, 24, (uint64_t)1 << 40);
    expect_open(n2, -EPROTO);
    const char *n3 = make_victim();
    poke_u64(n3, 32, (uint64_t)SZ + 4096 + 1); /* data larger than total - header */
    expect_open(n3, -EPROTO);
    const char *n4 = make_victim();
    poke_u64(n4, 32, UINT64_MAX);
    expect_open(n4, -EPROTO);
}

static void test_bad_header_size(void **state)
{
    (void)state;
    const uint32_t bad[] = {0, 128, 4095, 4097, 0xfffff000u};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *name = make_victim();
        poke_u32(name, 12, bad[i]);
        expect_open(name, -EPROTO);
    }
    const char *name = make_victim();
    poke_u32(name, 16, 0); /* kind 0 */
    expect_open(name, -EPROTO);
}

static void test_file_smaller_than_header(void **state)
{
    (void)state;
    const char *name = make_victim();
    char p[512];
    assert_int_equal(truncate(rt_region_path(name, p, sizeof(p)), 100), 0);
    expect_open(name, -EPROTO);
    /* Empty is what a creator looks like before posix_fallocate: not ready. */
    assert_int_equal(truncate(p, 0), 0);
    expect_open(name, -EAGAIN);
}

static void test_version_zero_not_ready(void **state)
{
    (void)state;
    const char *name = make_victim();
    poke_u32(name, 8, 0);
    expect_open(name, -EAGAIN);
    /* A crash right after O_EXCL leaves an all-zero file: not ready either. */
    const char *n2 = make_victim();
    char zero[128] = {0};
    poke(n2, 0, zero, sizeof(zero));
    expect_open(n2, -EAGAIN);
}

static void test_random_header_garbage(void **state)
{
    (void)state;
    /* Many random headers: open must return an error or succeed with sizes
     * inside the object, and never crash (ASan watches the accesses). */
    uint64_t seed = tu_seed();
    const char *name = make_victim();
    for (int i = 0; i < 300; i++) {
        unsigned char h[128];
        for (size_t k = 0; k < sizeof(h); k += 8) {
            uint64_t x = tu_rand(&seed);
            memcpy(h + k, &x, 8);
        }
        uint64_t magic = IPCX__REGION_MAGIC;
        uint32_t ver = IPCX__REGION_VERSION;
        if (i % 2 == 0)
            memcpy(h, &magic, 8);
        if (i % 4 == 0)
            memcpy(h + 8, &ver, 4);
        poke(name, 0, h, sizeof(h));
        ipcx_region *r = NULL;
        int rc = ipcx_region_open(name, &r);
        if (rc == 0) {
            memset(ipcx_region_data(r), 1, ipcx_region_size(r));
            ipcx_region_close(r);
        } else {
            assert_true(rc == -EPROTO || rc == -EAGAIN);
        }
    }
}

/* ------------------------------------------------------------ ownership */

static void test_other_uid_refused(void **state)
{
    (void)state;
    if (geteuid() != 0) {
        fprintf(stderr, "# not root: cannot chown a region to another uid; test skipped\n");
        skip();
        return;
    }
    const char *name = make_victim();
    char p[512];
    assert_int_equal(chown(rt_region_path(name, p, sizeof(p)), 65534, 65534), 0);
    expect_open(name, -EACCES);
    ipcx_region_info info;
    assert_int_equal(ipcx_region_stat(name, &info), 0);
    assert_int_equal(info.status, -EACCES);
    assert_int_equal(info.kind, IPCX_REGION_RAW); /* the header is still shown */
}

/* Group sharing: another user's region whose group is ours opens when the
 * mode gives the group read and write (0660), not with 0640 or 0600, and
 * never when "other" has any bit. */
static void test_group_member_allowed(void **state)
{
    (void)state;
    if (geteuid() != 0) {
        fprintf(stderr, "# not root: cannot chown a region to another uid; test skipped\n");
        skip();
        return;
    }
    const char *name = make_victim();
    char p[512];
    rt_region_path(name, p, sizeof(p));
    assert_int_equal(chown(p, 65534, getegid()), 0);
    assert_int_equal(chmod(p, 0660), 0);
    ipcx_region *r = NULL;
    assert_int_equal(ipcx_region_open(name, &r), 0);
    ipcx_region_close(r);
    assert_int_equal(chmod(p, 0640), 0);
    expect_open(name, -EACCES);
    assert_int_equal(chmod(p, 0600), 0);
    expect_open(name, -EACCES);
    assert_int_equal(chmod(p, 0664), 0);
    expect_open(name, -EACCES);
    /* Not our group: refused whatever the group bits. */
    assert_int_equal(chown(p, 65534, 65534), 0);
    assert_int_equal(chmod(p, 0660), 0);
    expect_open(name, -EACCES);
}

static void test_mode_0666_refused(void **state)
{
    (void)state;
    const char *name = make_victim();
    char p[512];
    assert_int_equal(chmod(rt_region_path(name, p, sizeof(p)), 0666), 0);
    expect_open(name, -EACCES);
    assert_int_equal(chmod(p, 0604), 0);
    expect_open(name, -EACCES);
    assert_int_equal(chmod(p, 0660), 0); /* group access is allowed */
    ipcx_region *r = NULL;
    assert_int_equal(ipcx_region_open(name, &r), 0);
    ipcx_region_close(r);
}

static void test_symlink_refused(void **state)
{
    (void)state;
    const char *target = make_victim();
    char tp[512], lp[512];
    rt_region_path(target, tp, sizeof(tp));
    char lname[128];
    tu_unique(lname, sizeof(lname), "link");
    assert_int_equal(symlink(tp, rt_region_path(lname, lp, sizeof(lp))), 0);
    ipcx_region *r = NULL;
    assert_int_equal(ipcx_region_open(lname, &r), -ELOOP);
    ipcx_region_info info;
    assert_int_equal(ipcx_region_stat(lname, &info), -ELOOP);
    assert_int_equal(info.status, -ELOOP);
    /* Create does not follow it either, and leaves the link alone. */
    assert_int_equal(ipcx_region_create(lname, 10, NULL, &r), -EEXIST);
    /* A dangling link is not followed to create a file elsewhere. */
    char dname[128], dp[512];
    tu_unique(dname, sizeof(dname), "dangle");
    char far[600];
    snprintf(far, sizeof(far), "%s/elsewhere-%s", rt_private_dir(), dname);
    assert_int_equal(symlink(far, rt_region_path(dname, dp, sizeof(dp))), 0);
    assert_int_equal(ipcx_region_create(dname, 10, NULL, &r), -EEXIST);
    assert_int_equal(access(far, F_OK), -1);
    assert_null(r);
}

static void test_not_a_regular_file(void **state)
{
    (void)state;
    char n[128], p[512];
    tu_unique(n, sizeof(n), "fifo");
    assert_int_equal(mkfifo(rt_region_path(n, p, sizeof(p)), 0600), 0);
    ipcx_region_info info;
    assert_int_equal(ipcx_region_stat(n, &info), 0); /* O_NONBLOCK: no hang */
    assert_int_equal(info.status, -EPROTO);
    ipcx_region *r = NULL;
    assert_int_equal(ipcx_region_open(n, &r), -EPROTO);
    unlink(p);
}

/* ------------------------------------------------------------ full /dev/shm */

static void test_enospc_injected(void **state)
{
    (void)state;
    const char *name = uname_();
    ipcx__region_fault = (struct ipcx__region_fault){IPCX__RF_FALLOCATE, 1, ENOSPC};
    ipcx_region *r = NULL;
    assert_int_equal(ipcx_region_create(name, SZ, NULL, &r), -ENOSPC);
    assert_null(r);
    assert_false(rt_region_exists(name));
    assert_int_equal(ipcx__region_fault.op, IPCX__RF_NONE); /* disarmed */
    /* The next create works. */
    r = create_ok(name, SZ);
    ipcx_region_close(r);
}

static void test_mmap_failure_injected(void **state)
{
    (void)state;
    const char *name = uname_();
    ipcx__region_fault = (struct ipcx__region_fault){IPCX__RF_MMAP, 1, ENOMEM};
    ipcx_region *r = NULL;
    assert_int_equal(ipcx_region_create(name, SZ, NULL, &r), -ENOMEM);
    assert_false(rt_region_exists(name));
    r = create_ok(name, SZ);
    ipcx_region_close(r);
    /* Open's mmap failing leaves the region intact. */
    ipcx__region_fault = (struct ipcx__region_fault){IPCX__RF_MMAP, 1, ENOMEM};
    int fds = tu_fd_count();
    assert_int_equal(ipcx_region_open(name, &r), -ENOMEM);
    assert_int_equal(tu_fd_count(), fds);
    assert_int_equal(ipcx_region_open(name, &r), 0);
    ipcx_region_close(r);
    /* Anonymous: ftruncate and the second mmap. */
    ipcx__region_fault = (struct ipcx__region_fault){IPCX__RF_FTRUNCATE, 1, EFBIG};
    assert_int_equal(ipcx_region_create_anon(SZ, NULL, &r), -EFBIG);
    ipcx__region_fault = (struct ipcx__region_fault){IPCX__RF_FALLOCATE, 1, ENOSPC};
    assert_int_equal(ipcx_region_create_anon(SZ, NULL, &r), -ENOSPC);
    assert_int_equal(tu_fd_count(), fds);
}

static void test_enospc_real_tmpfs(void **state)
{
    (void)state;
    if (geteuid() != 0) {
        fprintf(stderr, "# not root: cannot mount a 1 MiB tmpfs; real-ENOSPC variant skipped "
                        "(the injected variant still runs)\n");
        skip();
        return;
    }
    char mnt[] = "/tmp/ipcx-tmpfs-XXXXXX";
    assert_non_null(mkdtemp(mnt));
    if (mount("tmpfs", mnt, "tmpfs", 0, "size=1m,mode=0700") != 0) {
        fprintf(stderr, "# cannot mount a tmpfs here (%s); real-ENOSPC variant skipped\n",
                strerror(errno));
        rmdir(mnt);
        skip();
        return;
    }
    char *saved = strdup(getenv("IPCX_SHM_DIR"));
    setenv("IPCX_SHM_DIR", mnt, 1);
    const char *name = uname_();
    ipcx_region *r = NULL;
    int rc = ipcx_region_create(name, 4u << 20, NULL, &r);
    int gone = !rt_region_exists(name);
    int ok_small = ipcx_region_create("small", 100000, NULL, &r);
    if (ok_small == 0)
        ipcx_region_close(r);
    ipcx_region_unlink("small");
    setenv("IPCX_SHM_DIR", saved, 1);
    free(saved);
    umount(mnt);
    rmdir(mnt);
    assert_int_equal(rc, -ENOSPC);
    assert_true(gone);
    assert_int_equal(ok_small, 0);
}

/* ------------------------------------------------------------ anonymous */

static void test_anon_sealed(void **state)
{
    (void)state;
    ipcx_region *r = NULL;
    assert_int_equal(ipcx_region_create_anon(5000, NULL, &r), 0);
    int fd = ipcx_region_fd(r);
    int seals = fcntl(fd, F_GET_SEALS);
    assert_true(seals & F_SEAL_SHRINK);
    assert_true(seals & F_SEAL_GROW);
    assert_true(seals & F_SEAL_SEAL);
    assert_int_equal(ftruncate(fd, 4096), -1);
    assert_int_equal(errno, EPERM);
    assert_int_equal(ftruncate(fd, 1 << 20), -1);
    assert_int_equal(errno, EPERM);
    ipcx_region_info info;
    ipcx_region_get_info(r, &info);
    assert_string_equal(info.name, "");
    assert_int_equal(info.data_size, 5000);
    assert_int_equal(info.total_size, 4096 + 8192);
    memset(ipcx_region_data(r), 7, 5000);
    ipcx_region_close(r);
    ipcx_region_opts o = {.mode = 0600};
    assert_int_equal(ipcx_region_create_anon(5000, &o, &r), -EINVAL);
    assert_int_equal(ipcx_region_create_anon(0, NULL, &r), -EINVAL);
}

/* ------------------------------------------------------------ stat, list */

struct seen {
    char names[8][IPCX_REGION_NAME_MAX + 1];
    int status[8];
    int n;
};

static int collect(void *ctx, const ipcx_region_info *info)
{
    struct seen *s = ctx;
    if (s->n < 8) {
        snprintf(s->names[s->n], sizeof(s->names[0]), "%s", info->name);
        s->status[s->n] = info->status;
    }
    s->n++;
    return 0;
}

static int stop_at_first(void *ctx, const ipcx_region_info *info)
{
    (void)ctx;
    (void)info;
    return 42;
}

static void test_stat_and_list(void **state)
{
    (void)state;
    /* A directory of its own so only these entries are listed. */
    char dir[] = "/dev/shm/ipcx-list-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char *saved = strdup(getenv("IPCX_SHM_DIR"));
    setenv("IPCX_SHM_DIR", dir, 1);
    ipcx_region *b = create_ok("b-region", 10), *a = create_ok("a-region", 10);
    ipcx_region *c = create_ok("c-broken", 10);
    poke_u64("c-broken", 0, 1);
    char p[600];
    snprintf(p, sizeof(p), "%s/not-ours", dir);
    close(open(p, O_CREAT | O_WRONLY, 0600));

    ipcx_region_info info;
    assert_int_equal(ipcx_region_stat("a-region", &info), 0);
    assert_int_equal(info.status, 0);
    assert_int_equal(info.creator_alive, 1);
    assert_int_equal(info.data_size, 10);
    assert_string_equal(info.name, "a-region");
    assert_int_equal(ipcx_region_stat("zz-missing", &info), -ENOENT);

    struct seen s = {0};
    assert_int_equal(ipcx_region_list(collect, &s), 3);
    assert_int_equal(s.n, 3);
    assert_string_equal(s.names[0], "a-region");
    assert_string_equal(s.names[1], "b-region");
    assert_string_equal(s.names[2], "c-broken");
    assert_int_equal(s.status[0], 0);
    assert_int_equal(s.status[2], -EPROTO);
    assert_int_equal(ipcx_region_list(stop_at_first, NULL), 42);
    assert_int_equal(ipcx_region_list(NULL, NULL), -EINVAL);

    ipcx_region_close(a);
    ipcx_region_close(b);
    ipcx_region_close(c);
    ipcx_region_unlink("a-region");
    ipcx_region_unlink("b-region");
    ipcx_region_unlink("c-broken");
    unlink(p);
    rmdir(dir);
    setenv("IPCX_SHM_DIR", "/nonexistent-ipcx-dir", 1);
    assert_int_equal(ipcx_region_list(collect, &s), -ENOENT);
    setenv("IPCX_SHM_DIR", saved, 1);
    free(saved);
}

/* ------------------------------------------------------------ internal API */

static void test_unpublished_then_publish(void **state)
{
    (void)state;
    const char *name = uname_();
    struct ipcx__region_spec spec = {
        .name = name, .size = 100, .kind = IPCX_REGION_QUEUE, .flags = 3, .publish = 0};
    ipcx_region *c = NULL, *o = NULL;
    assert_int_equal(ipcx__region_make(&spec, &c), 0);
    assert_int_equal(ipcx_region_open(name, &o), -EAGAIN);
    ipcx__region_publish(c);
    assert_int_equal(ipcx__region_open_kind(name, IPCX_REGION_RING, &o), -EMEDIUMTYPE);
    assert_int_equal(ipcx__region_open_kind(name, IPCX_REGION_QUEUE, &o), 0);
    assert_int_equal(ipcx__region_kind(o), IPCX_REGION_QUEUE);
    assert_int_equal(ipcx__region_flags(o), 3);
    int32_t pid;
    uint64_t start;
    ipcx__region_creator(o, &pid, &start);
    assert_int_equal(pid, getpid());
    assert_true(start != 0);
    assert_int_equal(ipcx__region_creator_alive(o), 1);
    ipcx_region_info info;
    ipcx_region_get_info(c, &info);
    assert_int_equal(info.version_major, IPCX_REGION_LAYOUT_MAJOR);
    ipcx_region_close(o);
    ipcx_region_close(c);
}

int main(void)
{
    rt_private_dir();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_name_empty),
        cmocka_unit_test(test_name_too_long),
        cmocka_unit_test(test_name_leading_dot),
        cmocka_unit_test(test_name_slash),
        cmocka_unit_test(test_name_bad_characters),
        cmocka_unit_test(test_name_valid_edges),
        cmocka_unit_test(test_create_open_close_unlink),
        cmocka_unit_test(test_unlink_keeps_mappings),
        cmocka_unit_test(test_open_missing),
        cmocka_unit_test(test_create_existing),
        cmocka_unit_test(test_bad_options),
        cmocka_unit_test(test_mode_ignores_umask),
        cmocka_unit_test(test_bad_magic),
        cmocka_unit_test(test_bad_major_version),
        cmocka_unit_test(test_newer_minor_accepted),
        cmocka_unit_test(test_size_larger_than_object),
        cmocka_unit_test(test_bad_header_size),
        cmocka_unit_test(test_file_smaller_than_header),
        cmocka_unit_test(test_version_zero_not_ready),
        cmocka_unit_test(test_random_header_garbage),
        cmocka_unit_test(test_other_uid_refused),
        cmocka_unit_test(test_group_member_allowed),
        cmocka_unit_test(test_mode_0666_refused),
        cmocka_unit_test(test_symlink_refused),
        cmocka_unit_test(test_not_a_regular_file),
        cmocka_unit_test(test_enospc_injected),
        cmocka_unit_test(test_mmap_failure_injected),
        cmocka_unit_test(test_enospc_real_tmpfs),
        cmocka_unit_test(test_anon_sealed),
        cmocka_unit_test(test_stat_and_list),
        cmocka_unit_test(test_unpublished_then_publish),
    };
    return cmocka_run_group_tests_name("region", tests, NULL, NULL);
}
