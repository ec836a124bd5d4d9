/* SPDX-License-Identifier: MIT */
/*
 * Support for the region tests: a private region directory per test
 * process (so ctest -j never sees another test's regions), removed with
 * everything in it when the test process exits.
 */
#ifndef IPCX_REGION_TESTUTIL_H
#define IPCX_REGION_TESTUTIL_H

#include <stddef.h>

/* Create /dev/shm/ipcx-test-XXXXXX, export it as IPCX_SHM_DIR (helpers
 * started later inherit it) and remove it at exit.  Returns its path. */
const char *rt_private_dir(void);

/* The file that backs region @name in the private directory. */
const char *rt_region_path(const char *name, char *buf, size_t cap);

/* 1 if the file backing region @name exists. */
int rt_region_exists(const char *name);

#endif /* IPCX_REGION_TESTUTIL_H */
