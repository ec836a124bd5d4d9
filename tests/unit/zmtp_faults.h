/* SPDX-License-Identifier: MIT */
/*
 * The ZMTP codec's review regressions: fault injection on the assembly
 * allocation, ownership on every path, and encoder/decoder agreement.
 * Run from test_zmtp's main().
 */
#ifndef IPCX_TEST_ZMTP_FAULTS_H
#define IPCX_TEST_ZMTP_FAULTS_H

/* Runs the group; returns the number of failed tests. */
int zf_run(void);

#endif /* IPCX_TEST_ZMTP_FAULTS_H */
