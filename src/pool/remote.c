// SPDX-License-Identifier: MIT
/* Remote workers (placeholder until the tcp:// side lands). */
#include "pool/pool_int.h"

int ipcx__pool_remote_open(ipcx_pool *p)
{
    (void)p;
    return -ENOTSUP;
}

void ipcx__pool_remote_close(ipcx_pool *p, int say_stop)
{
    (void)p;
    (void)say_stop;
}

int ipcx__pool_remote_pump(ipcx_pool *p)
{
    (void)p;
    return 0;
}

void ipcx__pool_remote_dispatch(ipcx_pool *p)
{
    (void)p;
}
