// SPDX-License-Identifier: MIT
/* ipcx bench: the benchmark harness lives in bench/; this is its command. */
#include "bench.h"
#include "cli.h"

int cmd_bench(int argc, char **argv)
{
    return bench_main(argc, argv);
}
