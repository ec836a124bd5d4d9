// SPDX-License-Identifier: MIT
/*
 * Fuzz target for the region header checks: the bytes another process can
 * write before we map its region.
 *
 * Input: byte 0 and 1 choose the object's length ((in[0] % 4) pages plus
 * in[1] * 17 bytes), the rest (up to 128 bytes) is the header at offset 0,
 * the remainder of the object is zero.  The object is a sealed memfd, so
 * the whole open path runs: fstat, mmap of the fstat size, the acquire load
 * of the version, the read-once view and every check.  When the header is
 * accepted, every byte the handle claims is written, so a check that let a
 * size past the object would fault here.
 *
 * Built as a libFuzzer target when IPCX_FUZZ is on; otherwise main() below
 * replays the committed corpus (tests/fuzz/corpus/region_hdr_fuzz) under
 * ctest, with the sanitizers of the build.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ipcx/ipcx.h>

#include "platform/platform.h"
#include "region/region.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int make_object(const uint8_t *data, size_t size)
{
    size_t len = (size_t)(data[0] % 4) * 4096 + (size_t)data[1] * 17;
    int fd = ipcx__sys_memfd("fuzz");
    if (fd < 0)
        return -1;
    uint8_t hdr[128] = {0};
    size_t n = size - 2 < sizeof(hdr) ? size - 2 : sizeof(hdr);
    memcpy(hdr, data + 2, n);
    if (ftruncate(fd, (off_t)len) != 0 || pwrite(fd, hdr, n < len ? n : len, 0) < 0 ||
        fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    int fd = make_object(data, size);
    if (fd < 0)
        return 0;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return 0;
    }
    ipcx_region *r = NULL;
    if (ipcx__region_adopt(fd, NULL, &st, &r) == 0) {
        memset(ipcx_region_data(r), 0x5a, ipcx_region_size(r));
        ipcx_region_info info;
        ipcx_region_get_info(r, &info);
        if (info.total_size > (uint64_t)st.st_size || info.data_size == 0)
            abort();
        ipcx_region_close(r);
    }
    return 0;
}
