/* SPDX-License-Identifier: MIT */
/*
 * The ring engine of shm:// pipes, shared by its two files: pipe_shm.c
 * (the data path: records in and out, waking, spinning) and shm_conn.c
 * (the connection: handshake, regions, broadcast ring, failure).  Messages
 * go straight into ring records in a memfd region the two sides share,
 * with no framing, no kernel copy and - while both sides are busy - no
 * system call.
 *
 * Design notes.
 *
 * The connection.  The listener creates one anonymous region (a memfd,
 * sealed against shrinking and growing) holding a 4 KiB connection block
 * and two single-producer single-consumer rings, one per direction, and
 * two eventfds, one per side to sleep on; it passes the three fds in its
 * hello (transport/shm.c, docs/transports.md).  The control socket then
 * carries nothing: it is watched only for the peer's hang-up, which the
 * kernel reports the moment the peer's process dies or closes.
 *
 * Layout of the connection block (offsets in bytes, little-endian host
 * order; side 0 is the listener, side 1 the dialer):
 *
 *     0 magic u32 "IPXC"  4 major u16  6 minor u16  8 hdr_size u32 (4096)
 *    12 flags u32 (0)     16 total u64 (bytes of the region's data)
 *    24 ring_off[2] u64   40 ring_size[2] u64   (ring_off[i]: the ring
 *                         side i receives from)
 *    56 creator_pid i32   60 ready u32 (the major version, stored last)
 *    64 side[0]: 64 posted u64 | 128 consumed u64 | 192 sleep_in u32,
 *                196 sleep_room u32 (each on its own 64-byte line)
 *   256 side[1]: the same, 192 bytes on
 *   448 .. 4096 zero
 *
 * Who writes what.  side[X].posted: the peer of X, after each record it
 * commits to X's ring (seq_cst fetch_add).  side[X].consumed: X, after
 * each record it releases (seq_cst store) - the sender's high-water mark
 * and room check.  side[X].sleep_in: X stores 1 when it found its ring
 * empty; the peer exchanges it back to 0 and writes X's eventfd after a
 * commit.  side[X].sleep_room: X stores 1 when it waits for room; the
 * peer exchanges it to 0 and writes X's eventfd after a release.  Each is
 * a Dekker pair of seq_cst operations (the flag, then the counter on one
 * side; the counter, then the flag on the other): at least one side sees
 * the other's write, so a sleeper is never missed, and a side that is
 * not registered asleep is never signalled - a busy stream makes no
 * system call.  Everything read from the block is a hint: a hostile peer
 * can make us wake or wait, never read out of bounds (the rings check
 * their own records and report -EPROTO).
 *
 * Records (the ring's payload; docs/transports.md):
 *
 *   MSG  u32 1, u32 n, n x u32 length, the n parts' bytes: a whole
 *        message in one record, delivered as a view into the ring
 *   FRAG u32 2, u32 flags (1: last chunk of its part, 2: more parts
 *        follow), bytes: a message too large for one record, in chunks
 *        the receiver assembles
 *   SUB / CANCEL  u32 3 / 4, u32 0, the topic (SUB to PUB)
 *
 * PUB/SUB.  A PUB socket writes each message once into its broadcast
 * ring (struct shm_bc_hdr; the overwrite policy: it never waits), passed
 * in its hello to every subscriber, which reads it instead of its own
 * inbound ring, copies each message out and keeps it only if the release
 * says it was not overwritten meanwhile; the PUB tells each subscriber
 * through its connection block as for any other record.
 *
 * Readiness.  A pipe keeps the next record peeked as its head whenever one
 * is there (consume looks ahead), and otherwise is registered asleep, so
 * the socket's pollable fd is readable while a message waits and the
 * eventfd wakes it when one comes.  Output the ring has no room for waits
 * in `q` (copied, as a stream's unsent bytes are) until a release wakes
 * us; out_len mirrors its length so that linger and flush_all see it.
 *
 * A crash at any step leaves only whole committed records (the ring's
 * guarantee); a message in fragments whose sender died is dropped with
 * the connection.  Nothing is named: the kernel frees the memory when the
 * last of the two processes unmaps it.
 */
#ifndef IPCX_SRC_SOCKET_SHM_INT_H
#define IPCX_SRC_SOCKET_SHM_INT_H

#include "ring/ring_int.h"
#include "socket/socket_int.h"

#define SHM_MAGIC        0x43585049u /* "IPXC" little-endian */
#define SHM_MAJOR        1
#define SHM_MINOR        0
#define SHM_HDR          4096u
#define SHM_RING_DEFAULT ((uint64_t)1 << 20)
#define SHM_RING_MIN     ((uint64_t)64 << 10)
#define SHM_RING_MAX     ((uint64_t)64 << 20)
#define SHM_PARTS_MAX    1024u

typedef struct sk_shm sk_shm;

enum { REC_MSG = 1, REC_FRAG = 2, REC_SUB = 3, REC_CANCEL = 4 };
enum { FRAG_LAST = 1, FRAG_MORE = 2 };

struct shm_side {
    ipcx_atomic_u64 posted;
    uint8_t pad0[56];
    ipcx_atomic_u64 consumed;
    uint8_t pad1[56];
    ipcx_atomic_u32 sleep_in;
    ipcx_atomic_u32 sleep_room;
    uint8_t pad2[56];
};

struct shm_conn {
    uint32_t magic;
    uint16_t major, minor;
    uint32_t hdr_size;
    uint32_t flags;
    uint64_t total;
    uint64_t ring_off[2];
    uint64_t ring_size[2];
    int32_t creator_pid;
    ipcx_atomic_u32 ready;
    struct shm_side side[2];
};

_Static_assert(sizeof(struct shm_side) == 192, "shm_side is three cache lines");
_Static_assert(offsetof(struct shm_side, consumed) == 64, "consumed on line 1");
_Static_assert(offsetof(struct shm_side, sleep_in) == 128, "sleep_in on line 2");
_Static_assert(offsetof(struct shm_side, sleep_room) == 132, "sleep_room beside sleep_in");
_Static_assert(offsetof(struct shm_conn, total) == 16, "total at 16");
_Static_assert(offsetof(struct shm_conn, ring_off) == 24, "ring_off at 24");
_Static_assert(offsetof(struct shm_conn, ring_size) == 40, "ring_size at 40");
_Static_assert(offsetof(struct shm_conn, creator_pid) == 56, "creator_pid at 56");
_Static_assert(offsetof(struct shm_conn, ready) == 60, "ready at 60");
_Static_assert(offsetof(struct shm_conn, side) == 64, "sides at 64");
_Static_assert(sizeof(struct shm_conn) == 448, "connection block is 448 bytes");
_Static_assert(sizeof(struct shm_conn) <= SHM_HDR, "connection block fits its page");

/*
 * A PUB's broadcast region: written once per message, read by every shm://
 * subscriber (a ring in broadcast delivery with the overwrite policy: the
 * PUB never waits, a subscriber that falls a lap behind loses the oldest
 * records and counts them in its drops).
 *
 *     0 magic u32 "IPXB"  4 major u16  6 minor u16  8 hdr_size u32 (4096)
 *    12 flags u32 (0)    16 ring_off u64 (4096)  24 ring_size u64
 *    32 creator_pid i32  36 ready u32 (the major, stored last)
 */
#define SHM_BC_MAGIC 0x42585049u /* "IPXB" little-endian */

struct shm_bc_hdr {
    uint32_t magic;
    uint16_t major, minor;
    uint32_t hdr_size;
    uint32_t flags;
    uint64_t ring_off;
    uint64_t ring_size;
    int32_t creator_pid;
    ipcx_atomic_u32 ready;
};

_Static_assert(offsetof(struct shm_bc_hdr, ring_off) == 16, "ring_off at 16");
_Static_assert(offsetof(struct shm_bc_hdr, ring_size) == 24, "ring_size at 24");
_Static_assert(offsetof(struct shm_bc_hdr, creator_pid) == 32, "creator_pid at 32");
_Static_assert(offsetof(struct shm_bc_hdr, ready) == 36, "ready at 36");
_Static_assert(sizeof(struct shm_bc_hdr) == 40, "broadcast header is 40 bytes");

/* The PUB socket's side of it (ipcx_socket.shm_bc). */
struct sk_shm_bc {
    ipcx_region *reg;
    ipcx_ring *ring;
    uint64_t max_rec;
};

/* Output the ring had no room for: a message (its parts copied into buf)
 * or a command, and how far it got. */
typedef struct shm_out {
    struct shm_out *next;
    uint32_t cmd; /* 0: a message; REC_SUB or REC_CANCEL */
    size_t n, pi, off;
    bool started; /* some of its records are in the ring already */
    sk_part *parts;
    uint8_t *buf;
} shm_out;

struct sk_shm {
    int ev_mine, ev_peer;
    ipcx_region *reg;
    struct shm_conn *c;
    struct shm_side *mine, *peer;
    ipcx_ring *in, *out;
    uint64_t max_rec;
    uint64_t sent, taken, released;
    bool peer_gone;
    bool asleep;   /* we stored mine->sleep_in = 1 and have not been woken */
    bool ctl_live; /* the control fd is in the epoll sets */
    bool ev_reg, ev_bg;
    /* the head, as a view into the ring */
    const void *held;
    ipcx_msg view;
    size_t vcap;
    /* a message arriving in fragments */
    ipcx_msg *asm_msg;
    uint8_t *frag;
    size_t frag_len, frag_cap;
    uint64_t asm_bytes;
    /* output waiting for room */
    shm_out *q_head, *q_tail;
    size_t q_n;
    /* a failure found while looking ahead (consume), for the next call */
    int err;
    /* looks in a row that found posted records of a point-to-point ring
     * missing (next_head in pipe_shm.c) */
    uint32_t unseen;
    /* SUB of an shm:// PUB: its broadcast ring, read instead of `in` */
    ipcx_region *breg;
    ipcx_ring *bin;
    /* regions unmapped only once no thread spins on them (conn_close) */
    ipcx_region **parked;
    size_t nparked;
};

/* pipe_shm.c, for shm_conn.c */
void ipcx__shm_ev_write(int fd);
void ipcx__shm_ev_sync(sk_pipe *p);
void ipcx__shm_q_mirror(sk_pipe *p);
void ipcx__shm_q_pop(sk_pipe *p);
int ipcx__shm_q_flush(sk_pipe *p);
const char *ipcx__shm_why(int err);
void ipcx__shm_asm_drop(sk_shm *m);

/* shm_conn.c, for pipe_shm.c */
uint64_t ipcx__shm_ring_cap(const ipcx_socket *s);
void ipcx__shm_handshake(sk_pipe *p);

#endif /* IPCX_SRC_SOCKET_SHM_INT_H */
