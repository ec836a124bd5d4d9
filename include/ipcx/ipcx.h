/* SPDX-License-Identifier: MIT */
/*
 * ipcx - inter-process communication for co-operating processes.
 *
 * This umbrella header is the whole public API; it includes one header per
 * part.  Nothing else is API.
 */
#ifndef IPCX_IPCX_H
#define IPCX_IPCX_H

#include <ipcx/core.h>
#include <ipcx/region.h>
#include <ipcx/ring.h>
#include <ipcx/queue.h>
#include <ipcx/zmtp.h>
#include <ipcx/socket.h>
#include <ipcx/pool.h>
#include <ipcx/security.h>

#endif /* IPCX_IPCX_H */
