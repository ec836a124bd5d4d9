// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the CURVE mechanism's handshake and framing parser, fed
 * the bytes of a hostile peer (tests/fuzz/mech_fuzz.h has the input layout).
 */
#include "mech_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fz_run(IPCX__MECH_CURVE, data, size);
}
