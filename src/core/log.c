// SPDX-License-Identifier: MIT
/*
 * The log hook.  The library never prints: messages go to the hook the
 * caller installed, or nowhere.  The hook, its context and the level are
 * read with relaxed loads on every log call; installation is documented as
 * "before other threads use ipcx", so no stronger ordering is needed for
 * correctness, and the atomics only keep concurrent reads well-defined.
 */
#include <stdarg.h>
#include <stdio.h>

#include "core/core.h"

static _Atomic(ipcx_log_fn) log_fn;
static _Atomic(void *) log_ctx;
static _Atomic int log_level = IPCX_LOG_ERROR;

IPCX_API void ipcx_log_set(ipcx_log_fn fn, void *ctx, int max_level)
{
    store_relaxed(&log_ctx, ctx);
    store_relaxed(&log_level, max_level);
    store_relaxed(&log_fn, fn);
}

void ipcx__log(int level, const char *fmt, ...)
{
    ipcx_log_fn fn = load_relaxed(&log_fn);
    if (fn == NULL || level > load_relaxed(&log_level))
        return;
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    fn(load_relaxed(&log_ctx), level, buf);
}
