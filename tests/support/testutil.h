/* SPDX-License-Identifier: MIT */
/*
 * Shared test support.  Tests are real: they start real processes, so a
 * test binary re-runs itself as its helper (libuv style):
 *
 *     int main(int argc, char **argv) {
 *         if (argc > 1 && strcmp(argv[1], "--helper") == 0)
 *             return run_helper(argc - 2, argv + 2);
 *         ... cmocka tests ...
 *     }
 *
 * and a test starts helpers with tu_spawn("--helper", "writer", name, NULL).
 *
 * Every resource a test creates carries a unique name (tu_unique()), so
 * ctest -j can run everything at once.  Waits are bounded: nothing here
 * sleeps to synchronise; tu_wait() kills a helper that outlives its bound.
 */
#ifndef IPCX_TESTUTIL_H
#define IPCX_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <cmocka.h>

/* A unique name "<prefix>-<pid>-<counter>-<random>", [A-Za-z0-9._-] only. */
const char *tu_unique(char *buf, size_t cap, const char *prefix);

/* The path of the running test binary (/proc/self/exe resolved). */
const char *tu_self(void);

/* fork + exec tu_self() with the given NULL-terminated arguments.  Returns
 * the child's pid; fails the test on error.  The child is killed
 * (PR_SET_PDEATHSIG) if the test process dies first. */
pid_t tu_spawn(const char *arg0, ...);

/* Same with an argv array (argv[0] is the first argument, not the program). */
pid_t tu_spawnv(char *const args[]);

/* Wait for a child for at most timeout_ms.  Returns its exit status
 * (0..255), 128+signal when it was killed by a signal, or -1 after killing
 * it with SIGKILL because it did not finish in time. */
int tu_wait(pid_t pid, int timeout_ms);

/* Number of open fds in this process (counted from /proc/self/fd). */
int tu_fd_count(void);

/* A pipe used to hand a line of text (e.g. "ready") from a helper to the
 * test: tu_line_read() waits at most timeout_ms. */
int tu_line_read(int fd, char *buf, size_t cap, int timeout_ms);

/* Seed for random tests: IPCX_TEST_SEED from the environment or a fixed
 * default; printed once so a failure can be replayed. */
uint64_t tu_seed(void);

/* xorshift64* generator over a caller-held state. */
uint64_t tu_rand(uint64_t *state);

/* Run a command line with /bin/sh, capture up to cap-1 bytes of stdout
 * into out (NUL-terminated).  Returns the exit status (0..255, 128+sig). */
int tu_run_capture(const char *cmdline, char *out, size_t cap);

/* Path of a program in the build tree, e.g. tu_build_path("tools/ipcx/ipcx"). */
const char *tu_build_path(const char *rel, char *buf, size_t cap);

#endif /* IPCX_TESTUTIL_H */
