// SPDX-License-Identifier: MIT
/*
 * The ring engine of an shm:// pipe: messages go straight into ring
 * records in a memfd region the two sides share, with no framing, no
 * kernel copy and - while both sides are busy - no system call.
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
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "region/region.h"
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
    /* SUB of an shm:// PUB: its broadcast ring, read instead of `in` */
    ipcx_region *breg;
    ipcx_ring *bin;
    /* regions unmapped only once no thread spins on them (conn_close) */
    ipcx_region **parked;
    size_t nparked;
};

static void ev_write(int fd)
{
    uint64_t one = 1;
    ssize_t w = write(fd, &one, sizeof(one));
    (void)w; /* a full counter already wakes the reader */
}

static void ev_drain(int fd)
{
    uint64_t v;
    ssize_t r = read(fd, &v, sizeof(v));
    (void)r; /* EAGAIN: nothing was pending */
}

static uint32_t rd32(const uint8_t *b)
{
    uint32_t v;
    memcpy(&v, b, 4);
    return v;
}

static void wr32(uint8_t *b, uint32_t v)
{
    memcpy(b, &v, 4);
}

/* ------------------------------------------------------------ epoll */

static void ev_sync(sk_pipe *p)
{
    sk_shm *m = p->shm;
    ipcx_socket *s = p->s;
    if (m->ev_mine < 0)
        return;
    bool bg = s->drains_input || m->q_n > 0;
    if (bg != m->ev_bg) {
        int op = bg ? EPOLL_CTL_ADD : EPOLL_CTL_DEL;
        if (ipcx__sk_bg_epoll(s, op, m->ev_mine, p->id, EPOLLIN) == 0 || !bg)
            m->ev_bg = bg;
    }
}

static void q_mirror(sk_pipe *p)
{
    /* flush_all and the lingering close look at out_len - out_pos. */
    p->out_pos = 0;
    p->out_len = p->shm->q_n;
    ev_sync(p);
}

/* ------------------------------------------------------------ waking */

/* After committing @k records to the peer's ring. */
static void post(sk_shm *m, uint64_t k)
{
    m->sent += k;
    /* Publishes the count after the ring's commit; pairs with the
     * load_seq_cst in sleep_register (the peer): of this RMW and the load of
     * sleep_in below, and the peer's store of sleep_in and load of posted,
     * one side sees the other's write (seq_cst: a release would let the
     * load below pass it). */
    fetch_add_seq_cst(&m->peer->posted, k);
    /* Pairs with the store_seq_cst in sleep_register (the peer). */
    if (load_seq_cst(&m->peer->sleep_in) != 0 && exchange_seq_cst(&m->peer->sleep_in, 0) != 0)
        ev_write(m->ev_peer);
}

/* After releasing records of our ring. */
static void released(sk_shm *m, uint64_t k)
{
    m->released += k;
    /* Publishes the room made; pairs with the load_seq_cst in room_check
     * (the peer), a Dekker pair with sleep_room as in post(). */
    store_seq_cst(&m->mine->consumed, m->released);
    /* Pairs with the store_seq_cst of sleep_room in room_check (the peer). */
    if (load_seq_cst(&m->peer->sleep_room) != 0 && exchange_seq_cst(&m->peer->sleep_room, 0) != 0)
        ev_write(m->ev_peer);
}

/* Our ring is empty: register asleep.  Returns true when the peer posted
 * a record meanwhile (look again). */
static bool sleep_register(sk_shm *m, uint64_t *posted_out)
{
    /* Pairs with the exchange_seq_cst in post() (the peer): it took the
     * flag, so it wrote, or will write, our eventfd. */
    if (m->asleep && load_seq_cst(&m->mine->sleep_in) == 0)
        ev_drain(m->ev_mine);
    /* Pairs with the load_seq_cst of sleep_in in post() (the peer). */
    store_seq_cst(&m->mine->sleep_in, 1);
    m->asleep = true;
    /* Pairs with the fetch_add_seq_cst in post() (the peer). */
    uint64_t posted = load_seq_cst(&m->mine->posted);
    *posted_out = posted;
    return (int64_t)(posted - m->taken) > 0;
}

/* ------------------------------------------------------------ output */

static int ring_err(int rc)
{
    return rc == -EAGAIN ? 0 : -EPROTO;
}

/* Where records go: a pipe's own ring (its peer is told), or a PUB's
 * broadcast ring (every shm:// subscriber is told). */
typedef struct shm_tx {
    ipcx_ring *ring;
    uint64_t max_rec;
    sk_shm *m;
    ipcx_socket *bc;
} shm_tx;

static void bc_post(ipcx_socket *s);

static void tx_post(const shm_tx *t)
{
    if (t->bc != NULL)
        bc_post(t->bc);
    else
        post(t->m, 1);
}

static shm_tx tx_of(sk_pipe *p)
{
    shm_tx t = {.ring = p->shm->out, .max_rec = p->shm->max_rec, .m = p->shm};
    return t;
}

/* Write @parts from part *pi, byte *off on.  Returns 1 when all of it is
 * in the ring, 0 when the ring is full (progress kept), -EPROTO. */
static int emit(const shm_tx *t, const sk_part *parts, size_t n, uint32_t cmd, size_t *pi,
                size_t *off, bool *started)
{
    void *d;
    if (cmd != 0) {
        size_t len = parts[0].len;
        if (8 + len > t->max_rec)
            return 1; /* a topic longer than a record: not sent */
        int rc = ipcx_ring_reserve(t->ring, 8 + len, &d, 0);
        if (rc != 0)
            return ring_err(rc);
        wr32(d, cmd);
        wr32((uint8_t *)d + 4, 0);
        if (len > 0)
            memcpy((uint8_t *)d + 8, parts[0].data, len);
        if (ipcx_ring_commit(t->ring, d) < 0)
            return -EPROTO;
        tx_post(t);
        *pi = 1;
        return 1;
    }
    if (!*started && n <= SHM_PARTS_MAX) {
        uint64_t total = 8 + 4 * (uint64_t)n;
        for (size_t i = 0; i < n; i++)
            total += parts[i].len;
        if (total <= t->max_rec) {
            int rc = ipcx_ring_reserve(t->ring, (size_t)total, &d, 0);
            if (rc != 0)
                return ring_err(rc);
            uint8_t *b = d;
            wr32(b, REC_MSG);
            wr32(b + 4, (uint32_t)n);
            size_t at = 8 + 4 * n;
            for (size_t i = 0; i < n; i++) {
                wr32(b + 8 + 4 * i, (uint32_t)parts[i].len);
                if (parts[i].len > 0)
                    ipcx__copy_msg(b + at, parts[i].data, parts[i].len);
                at += parts[i].len;
            }
            if (ipcx_ring_commit(t->ring, d) < 0)
                return -EPROTO;
            tx_post(t);
            *pi = n;
            return 1;
        }
    }
    while (*pi < n) {
        size_t len = parts[*pi].len;
        size_t chunk = len - *off;
        if (chunk > t->max_rec - 8)
            chunk = (size_t)t->max_rec - 8;
        int rc = ipcx_ring_reserve(t->ring, 8 + chunk, &d, 0);
        if (rc != 0)
            return ring_err(rc);
        uint32_t fl = (*off + chunk == len ? FRAG_LAST : 0u) | (*pi + 1 < n ? FRAG_MORE : 0u);
        wr32(d, REC_FRAG);
        wr32((uint8_t *)d + 4, fl);
        if (chunk > 0)
            memcpy((uint8_t *)d + 8, parts[*pi].data + *off, chunk);
        if (ipcx_ring_commit(t->ring, d) < 0)
            return -EPROTO;
        tx_post(t);
        *started = true;
        *off += chunk;
        if (*off == len) {
            (*pi)++;
            *off = 0;
        }
    }
    return 1;
}

/* Queue what is left of a message (from part @pi, byte @off) or a command. */
static int q_push(sk_pipe *p, const sk_part *parts, size_t n, uint32_t cmd, size_t pi, size_t off,
                  bool started)
{
    sk_shm *m = p->shm;
    size_t k = n - pi, bytes = 0;
    for (size_t i = pi; i < n; i++)
        bytes += parts[i].len - (i == pi ? off : 0);
    shm_out *o = calloc(1, sizeof(*o));
    sk_part *v = malloc((k > 0 ? k : 1) * sizeof(*v));
    uint8_t *buf = malloc(bytes > 0 ? bytes : 1);
    if (o == NULL || v == NULL || buf == NULL) {
        free(o);
        free(v);
        free(buf);
        return -ENOMEM;
    }
    size_t at = 0;
    for (size_t i = pi; i < n; i++) {
        size_t skip = i == pi ? off : 0;
        size_t l = parts[i].len - skip;
        if (l > 0)
            memcpy(buf + at, parts[i].data + skip, l);
        v[i - pi] = (sk_part){buf + at, l};
        at += l;
    }
    o->cmd = cmd;
    o->n = k;
    o->parts = v;
    o->buf = buf;
    o->started = started;
    if (m->q_tail != NULL)
        m->q_tail->next = o;
    else
        m->q_head = o;
    m->q_tail = o;
    m->q_n++;
    q_mirror(p);
    return 0;
}

static void q_pop(sk_pipe *p)
{
    sk_shm *m = p->shm;
    shm_out *o = m->q_head;
    m->q_head = o->next;
    if (m->q_head == NULL)
        m->q_tail = NULL;
    m->q_n--;
    free(o->parts);
    free(o->buf);
    free(o);
}

/* Write what waits.  Returns 0 or -EPIPE (the pipe failed). */
static int q_flush(sk_pipe *p)
{
    sk_shm *m = p->shm;
    size_t before = m->q_n;
    bool registered = false;
    while (m->q_head != NULL) {
        shm_out *o = m->q_head;
        /* Pairs with the store_seq_cst in released() (the peer). */
        uint64_t c = load_seq_cst(&m->peer->consumed);
        shm_tx tx = tx_of(p);
        int r = emit(&tx, o->parts, o->n, o->cmd, &o->pi, &o->off, &o->started);
        if (r < 0) {
            ipcx__shm_fail(p, -EPROTO, "the peer's ring is corrupt");
            return -EPIPE;
        }
        if (r == 1) {
            q_pop(p);
            continue;
        }
        /* Full: ask for a wake-up when the peer makes room, then look
         * once more in case it did meanwhile (the Dekker pair of
         * room_check). */
        if (registered)
            break;
        /* Pairs with the load_seq_cst of sleep_room in released() (the peer). */
        store_seq_cst(&m->mine->sleep_room, 1);
        registered = true;
        /* Pairs with the store_seq_cst in released(). */
        if (load_seq_cst(&m->peer->consumed) == c)
            break;
    }
    if (m->q_n != before) {
        p->out_base += before - m->q_n;
        p->s->news = true;
        q_mirror(p);
    }
    return 0;
}

int ipcx__shm_put(sk_pipe *p, const sk_part *parts, size_t n, bool batch)
{
    (void)batch; /* a commit is as cheap as an append: nothing to batch */
    sk_shm *m = p->shm;
    size_t pi = 0, off = 0;
    bool started = false;
    if (p->state == P_ACTIVE && m->q_n == 0) {
        shm_tx tx = tx_of(p);
        int r = emit(&tx, parts, n, 0, &pi, &off, &started);
        if (r < 0) {
            ipcx__shm_fail(p, -EPROTO, "the peer's ring is corrupt");
            return -EPIPE;
        }
        if (r == 1)
            return 0;
    }
    return q_push(p, parts, n, 0, pi, off, started);
}

void ipcx__shm_send_sub(sk_pipe *p, bool subscribe, const void *topic, size_t len)
{
    sk_shm *m = p->shm;
    sk_part part = {(uint8_t *)topic, len};
    uint32_t cmd = subscribe ? REC_SUB : REC_CANCEL;
    size_t pi = 0, off = 0;
    bool started = false;
    if (p->state == P_ACTIVE && m->q_n == 0) {
        shm_tx tx = tx_of(p);
        int r = emit(&tx, &part, 1, cmd, &pi, &off, &started);
        if (r != 0) {
            if (r < 0)
                ipcx__shm_fail(p, -EPROTO, "the peer's ring is corrupt");
            return;
        }
    }
    (void)q_push(p, &part, 1, cmd, 0, 0, false);
}

int ipcx__shm_flush(sk_pipe *p)
{
    if (p->state != P_ACTIVE)
        return 0;
    return q_flush(p);
}

size_t ipcx__shm_queued(const sk_pipe *p)
{
    return p->shm->q_n;
}

/* Room for one more message now?  Registers for a wake-up when not. */
static bool room_check(sk_pipe *p)
{
    sk_shm *m = p->shm;
    uint64_t hwm = p->s->send_hwm;
    for (int pass = 0; pass < 2; pass++) {
        /* Pairs with the store_seq_cst in released() (the peer). */
        uint64_t c = load_seq_cst(&m->peer->consumed);
        if (m->q_n > 0 && q_flush(p) != 0)
            return false;
        bool ok = m->q_n == 0 && (hwm == 0 || (int64_t)(m->sent - c) < (int64_t)hwm);
        if (ok)
            return true;
        if (pass == 1)
            break;
        /* Pairs with the load_seq_cst of sleep_room in released() (the peer). */
        store_seq_cst(&m->mine->sleep_room, 1);
        /* Pairs with the store_seq_cst in released(): a release after our
         * first look shows here, or that side sees our flag. */
        if (load_seq_cst(&m->peer->consumed) == c)
            return false;
    }
    return false;
}

bool ipcx__shm_room(const sk_pipe *p)
{
    const sk_shm *m = p->shm;
    if (p->state != P_ACTIVE) {
        /* A dialled pipe between connections queues, as a stream does. */
        uint64_t hwm = p->s->send_hwm;
        return hwm == 0 || m->q_n < hwm;
    }
    /* Looking for room may write out what waits, and registers for the
     * wake-up that says room was made: the pipe changes, its caller's view
     * of it does not. */
    return room_check((sk_pipe *)p);
}

/* ------------------------------------------------------------ input */

static int view_parts(sk_shm *m, size_t n)
{
    if (n <= m->vcap)
        return 0;
    size_t ncap = m->vcap ? m->vcap : 4;
    while (ncap < n)
        ncap *= 2;
    sk_part *np = realloc(m->vcap ? m->view.parts : NULL, ncap * sizeof(*np));
    if (np == NULL)
        return -ENOMEM;
    m->view.parts = np;
    m->vcap = ncap;
    return 0;
}

/* The ring this pipe reads. */
static ipcx_ring *rx_ring(const sk_shm *m)
{
    return m->bin != NULL ? m->bin : m->in;
}

/* Returns 0, -EOVERFLOW (broadcast: the record was overwritten while we
 * read it) or -EPROTO. */
static int release_now(sk_pipe *p, const void *d)
{
    sk_shm *m = p->shm;
    int rc = ipcx_ring_release(rx_ring(m), d);
    if (rc == -EOVERFLOW && m->bin != NULL)
        return rc;
    if (rc < 0)
        return -EPROTO;
    if (m->bin == NULL)
        released(m, (uint64_t)rc); /* a PUB never waits for room */
    else
        m->released += (uint64_t)rc;
    return 0;
}

/* A subscriber fell behind: what it had of a message is lost too. */
static void bc_lost(sk_pipe *p, uint64_t records)
{
    sk_shm *m = p->shm;
    p->s->st.drops += records > 0 ? records : 1;
    ipcx_msg_destroy(m->asm_msg);
    m->asm_msg = NULL;
    free(m->frag);
    m->frag = NULL;
    m->frag_len = m->frag_cap = 0;
    m->asm_bytes = 0;
}

/* A whole message in one record: the head is a view into the ring. */
static int on_msg(sk_pipe *p, const uint8_t *d, size_t len)
{
    sk_shm *m = p->shm;
    uint32_t n = rd32(d + 4);
    if (m->asm_msg != NULL || n == 0 || n > SHM_PARTS_MAX || 8 + 4 * (uint64_t)n > len)
        return -EPROTO;
    if (len > p->s->max_msg + 8 + 4 * (uint64_t)n)
        return -EMSGSIZE;
    if (view_parts(m, n) != 0)
        return -ENOMEM;
    uint64_t at = 8 + 4 * (uint64_t)n;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t l = rd32(d + 8 + 4 * i);
        if (l > len - at)
            return -EPROTO;
        m->view.parts[i] = (sk_part){(uint8_t *)d + at, l};
        at += l;
    }
    if (at != len)
        return -EPROTO;
    if (m->bin != NULL) {
        /* Broadcast: the producer may overwrite the record under us, so
         * the message is copied out and kept only if release says it was
         * not (a seqlock read). */
        ipcx_msg *own = ipcx__msg_new();
        for (uint32_t i = 0; own != NULL && i < n; i++) {
            if (ipcx_msg_append(own, m->view.parts[i].data, m->view.parts[i].len) < 0) {
                ipcx_msg_destroy(own);
                own = NULL;
            }
        }
        int rc = release_now(p, d);
        if (own == NULL)
            return rc == -EPROTO ? rc : -ENOMEM;
        if (rc != 0) {
            ipcx_msg_destroy(own);
            if (rc != -EOVERFLOW)
                return rc;
            bc_lost(p, ipcx_ring_overrun(m->bin));
            return 0;
        }
        p->hm = own;
        p->head = H_MSG;
        return 1;
    }
    m->view.n = n;
    m->held = d;
    p->hm = &m->view;
    p->head = H_MSG;
    return 1;
}

/* A chunk of a large message: copied out, the record released at once. */
static int on_frag(sk_pipe *p, const uint8_t *d, size_t len)
{
    sk_shm *m = p->shm;
    uint32_t fl = rd32(d + 4);
    size_t bytes = len - 8;
    if (fl & ~(uint32_t)(FRAG_LAST | FRAG_MORE))
        return -EPROTO;
    if (m->asm_bytes + bytes > p->s->max_msg)
        return -EMSGSIZE;
    if (m->frag_len + bytes > m->frag_cap) {
        size_t ncap = m->frag_cap ? m->frag_cap : 4096;
        while (ncap < m->frag_len + bytes)
            ncap *= 2;
        uint8_t *nb = realloc(m->frag, ncap);
        if (nb == NULL)
            return -ENOMEM;
        m->frag = nb;
        m->frag_cap = ncap;
    }
    if (bytes > 0)
        memcpy(m->frag + m->frag_len, d + 8, bytes);
    m->frag_len += bytes;
    m->asm_bytes += bytes;
    int rc = release_now(p, d);
    if (rc == -EOVERFLOW) {
        bc_lost(p, ipcx_ring_overrun(m->bin));
        return 0;
    }
    if (rc != 0)
        return rc;
    if (!(fl & FRAG_LAST))
        return 0;
    if (m->asm_msg == NULL && (m->asm_msg = ipcx__msg_new()) == NULL)
        return -ENOMEM;
    uint8_t *part = m->frag_len > 0 ? m->frag : NULL;
    if (m->frag_len > 0 && m->frag_len < m->frag_cap) {
        uint8_t *fit = realloc(m->frag, m->frag_len);
        part = fit != NULL ? fit : m->frag;
    }
    if (ipcx__msg_push(m->asm_msg, part, m->frag_len) < 0)
        return -ENOMEM;
    if (m->frag_len == 0)
        free(m->frag);
    m->frag = NULL;
    m->frag_len = m->frag_cap = 0;
    if (fl & FRAG_MORE)
        return 0;
    p->hm = m->asm_msg;
    p->head = H_MSG;
    m->asm_msg = NULL;
    m->asm_bytes = 0;
    return 1;
}

static int on_cmd(sk_pipe *p, uint32_t kind, const uint8_t *d, size_t len)
{
    ipcx_socket *s = p->s;
    int rc = 0;
    if (s->pattern == IPCX_PUB) {
        if (kind == REC_SUB)
            rc = ipcx__topics_add(&p->subs, d + 8, len - 8);
        else
            (void)ipcx__topics_del(&p->subs, d + 8, len - 8);
    }
    int r = release_now(p, d);
    return rc != 0 ? rc : r;
}

/* Returns 1 (a head), 0 (taken in: look for the next), or -errno. */
static int on_record(sk_pipe *p, const void *rec, size_t len)
{
    const uint8_t *d = rec;
    if (len < 8)
        return -EPROTO;
    uint32_t kind = rd32(d);
    switch (kind) {
    case REC_MSG:
        return on_msg(p, d, len);
    case REC_FRAG:
        return on_frag(p, d, len);
    case REC_SUB:
    case REC_CANCEL:
        return on_cmd(p, kind, d, len);
    default:
        return -EPROTO;
    }
}

static const char *why(int err)
{
    switch (err) {
    case -EMSGSIZE:
        return "message over the maximum size";
    case -ENOMEM:
        return "out of memory";
    case -EPIPE:
        return "peer closed the connection";
    default:
        return "the peer's ring is corrupt";
    }
}

static int next_fail(sk_pipe *p, int err, bool defer)
{
    sk_shm *m = p->shm;
    if (!defer) {
        ipcx__shm_fail(p, err, why(err));
        return -EPIPE;
    }
    if (m->err == 0) {
        m->err = err;
        ev_write(m->ev_mine); /* the next look (on_io) fails it */
    }
    return 0;
}

/* @defer: do not fail the pipe here (the caller's view may still point
 * into it): keep the error for the next call, and wake it. */
static int next_head(sk_pipe *p, bool defer)
{
    sk_shm *m = p->shm;
    if (p->head != H_NONE)
        return 1;
    if (p->state != P_ACTIVE || m->in == NULL)
        return 0;
    if (m->err != 0 && !defer) {
        int err = m->err;
        m->err = 0;
        ipcx__shm_fail(p, err, why(err));
        return -EPIPE;
    }
    bool retried = false;
    for (;;) {
        const void *d;
        size_t len;
        int rc = ipcx_ring_peek(rx_ring(m), &d, &len, 0);
        if (rc == -EAGAIN) {
            if (m->peer_gone)
                return next_fail(p, -EPIPE, defer);
            uint64_t posted;
            if (sleep_register(m, &posted)) {
                if (!retried) {
                    retried = true;
                    continue;
                }
                /* Posted, looked for after the count, and not there: not
                 * ours (a broadcast record from before we joined, or a
                 * peer's lie).  Count it seen, or every sleep would end at
                 * once. */
                m->taken = posted;
            }
            return 0;
        }
        if (rc == -EOVERFLOW && m->bin != NULL) {
            bc_lost(p, ipcx_ring_overrun(m->bin));
            continue;
        }
        if (rc < 0)
            return next_fail(p, -EPROTO, defer);
        m->taken++;
        int r = on_record(p, d, len);
        if (r == 1) {
            ipcx__pipe_update_buffered(p);
            p->s->news = true;
            return 1;
        }
        if (r < 0) {
            if (r == -ENOMEM)
                return r;
            return next_fail(p, r, defer);
        }
    }
}

int ipcx__shm_next(sk_pipe *p)
{
    return next_head(p, false);
}

void ipcx__shm_consume(sk_pipe *p)
{
    sk_shm *m = p->shm;
    int rc = 0;
    if (p->head == H_MSG && p->hm == &m->view) {
        if (m->held != NULL && rx_ring(m) != NULL)
            rc = release_now(p, m->held);
        m->held = NULL;
        m->view.n = 0;
    } else if (p->head == H_MSG) {
        ipcx_msg_destroy(p->hm);
    }
    p->hm = NULL;
    p->head = H_NONE;
    ipcx__pipe_update_buffered(p);
    if (rc != 0) {
        (void)next_fail(p, rc, true);
        return;
    }
    /* Look ahead: the next message becomes the head at once, so the socket
     * stays readable while one waits (or the pipe registers asleep).  Not
     * a failure here: the caller's view of this pipe's message is still
     * being finished. */
    (void)next_head(p, true);
}

/* ------------------------------------------------------------ connection */

/* A thread that leads the socket's sleep may be spinning on words of this
 * mapping (ipcx__shm_spin_begin): then it is unmapped later, by the first
 * close or free that finds no leader. */
static void park_or_close(sk_pipe *p, ipcx_region *reg)
{
    sk_shm *m = p->shm;
    if (!p->s->leader) {
        for (size_t i = 0; i < m->nparked; i++)
            ipcx_region_close(m->parked[i]);
        m->nparked = 0;
        ipcx_region_close(reg);
        return;
    }
    if (reg == NULL)
        return;
    ipcx_region **n = realloc(m->parked, (m->nparked + 1) * sizeof(*n));
    if (n == NULL) {
        /* Out of memory: the mapping is kept (lost until exit) rather than
         * pulled from under a thread that may be reading it. */
        IPCX_LOGW("socket: shm: out of memory: a connection's region stays mapped");
        return;
    }
    m->parked = n;
    m->parked[m->nparked++] = reg;
}

static void conn_close(sk_pipe *p)
{
    sk_shm *m = p->shm;
    ipcx_socket *s = p->s;
    if (p->fd >= 0) {
        if (m->ctl_live || p->registered) {
            (void)ipcx__sk_epoll(s, EPOLL_CTL_DEL, p->fd, &p->ep, 0);
            (void)ipcx__sk_bg_epoll(s, EPOLL_CTL_DEL, p->fd, 0, 0);
        }
        close(p->fd);
        p->fd = -1;
    }
    m->ctl_live = p->registered = false;
    if (m->ev_mine >= 0) {
        if (m->ev_reg)
            (void)ipcx__sk_epoll(s, EPOLL_CTL_DEL, m->ev_mine, &p->ep, 0);
        if (m->ev_bg)
            (void)ipcx__sk_bg_epoll(s, EPOLL_CTL_DEL, m->ev_mine, 0, 0);
        close(m->ev_mine);
    }
    if (m->ev_peer >= 0)
        close(m->ev_peer);
    m->ev_mine = m->ev_peer = -1;
    m->ev_reg = m->ev_bg = false;
    if (p->head == H_MSG && p->hm != &m->view)
        ipcx_msg_destroy(p->hm);
    p->hm = NULL;
    p->head = H_NONE;
    m->held = NULL;
    m->view.n = 0;
    ipcx__pipe_update_buffered(p);
    if (m->in != NULL)
        ipcx__ring_detach(m->in);
    if (m->out != NULL)
        ipcx__ring_detach(m->out);
    if (m->bin != NULL)
        ipcx__ring_detach(m->bin);
    m->in = m->out = m->bin = NULL;
    ipcx_region_close(m->breg); /* nobody spins on it: only the block is watched */
    m->breg = NULL;
    park_or_close(p, m->reg); /* unmapped; the kernel frees it with the last fd */
    m->reg = NULL;
    m->c = NULL;
    m->mine = m->peer = NULL;
    ipcx_msg_destroy(m->asm_msg);
    m->asm_msg = NULL;
    free(m->frag);
    m->frag = NULL;
    m->frag_len = m->frag_cap = 0;
    m->asm_bytes = 0;
    m->peer_gone = m->asleep = false;
    m->err = 0;
    m->sent = m->taken = m->released = 0;
}

void ipcx__shm_fail(sk_pipe *p, int err, const char *reason)
{
    ipcx_socket *s = p->s;
    sk_shm *m = p->shm;
    if (p->state == P_DEAD || p->state == P_IDLE)
        return;
    bool was_active = p->state == P_ACTIVE;
    ipcx__pat_pipe_gone(s, p); /* before conn_close: a view may point into the ring */
    conn_close(p);
    ipcx__topics_free(&p->subs);
    if (was_active)
        IPCX_LOGI("socket: shm %s: connection lost: %s", p->peer_addr, reason);
    else
        IPCX_LOGW("socket: shm %s: connection dropped during the handshake: %s", p->peer_addr,
                  reason);
    if (was_active) {
        s->nactive--;
        s->st.disconnects++;
        ipcx__sk_event(s, IPCX_EV_DISCONNECTED, err, p, NULL, reason);
    } else {
        s->st.handshake_failures++;
        ipcx__sk_event(s, IPCX_EV_HANDSHAKE_FAILED, err, p, NULL, reason);
    }
    s->news = true;
    if (p->dialer != NULL) {
        /* A message whose first records went to the old connection is
         * lost with it; whole ones wait for the next. */
        if (m->q_head != NULL && m->q_head->started) {
            q_pop(p);
            s->st.drops++;
        }
        q_mirror(p);
        p->state = P_IDLE;
        sk_dialer *d = p->dialer;
        d->next_try = ipcx__now_ns() + d->ivl;
        d->ivl = d->ivl * 2 > s->reconnect_max ? s->reconnect_max : d->ivl * 2;
        ipcx__sk_timer_note(s, d->next_try);
        return;
    }
    s->st.drops += m->q_n;
    while (m->q_head != NULL)
        q_pop(p);
    q_mirror(p);
    p->state = P_DEAD;
    s->ndead++;
}

void ipcx__shm_free(sk_pipe *p)
{
    sk_shm *m = p->shm;
    conn_close(p);
    for (size_t i = 0; i < m->nparked; i++)
        ipcx_region_close(m->parked[i]); /* freed only with no leader (sk_reap) */
    free(m->parked);
    while (m->q_head != NULL)
        q_pop(p);
    if (m->vcap > 0)
        free(m->view.parts);
    free(m);
    p->shm = NULL;
    p->out_len = p->out_pos = 0;
}

/* 0 when @fd is an eventfd (made non-blocking), else -EPROTO. */
static int check_eventfd(int fd)
{
    char link[64], target[64];
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, target, sizeof(target) - 1);
    if (n < 0)
        return -EPROTO;
    target[n] = '\0';
    if (strcmp(target, "anon_inode:[eventfd]") != 0)
        return -EPROTO;
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0)
        return -EPROTO;
    return 0;
}

static uint64_t ring_cap(const ipcx_socket *s)
{
    uint64_t c = s->recv_buffer > 0 ? (uint64_t)s->recv_buffer : SHM_RING_DEFAULT;
    return c < SHM_RING_MIN ? SHM_RING_MIN : c > SHM_RING_MAX ? SHM_RING_MAX : c;
}

/* Map a connection region as side @me: check the block (read once, into
 * locals), attach both rings.  Takes @reg (closed on failure). */
static int conn_map(sk_pipe *p, ipcx_region *reg, int me)
{
    sk_shm *m = p->shm;
    uint8_t *base = ipcx_region_data(reg);
    uint64_t size = ipcx_region_size(reg);
    struct shm_conn *c = (struct shm_conn *)(void *)base;
    int rc = -EPROTO;
    if (size < SHM_HDR)
        goto fail;
    /* Pairs with the store_release of ready in conn_create (the listener). */
    if (load_acquire(&c->ready) != SHM_MAJOR || c->magic != SHM_MAGIC || c->major != SHM_MAJOR ||
        c->hdr_size != SHM_HDR)
        goto fail;
    uint64_t off[2], len[2];
    for (int i = 0; i < 2; i++) {
        off[i] = c->ring_off[i];
        len[i] = c->ring_size[i];
        if (off[i] < SHM_HDR || (off[i] & 63) != 0 || len[i] > size || off[i] > size - len[i])
            goto fail;
    }
    if (off[0] < off[1] ? off[0] + len[0] > off[1] : off[1] + len[1] > off[0])
        goto fail;
    ipcx_ring *in = NULL, *out = NULL;
    rc = ipcx__ring_attach(base + off[me], (size_t)len[me], &in);
    if (rc == 0)
        rc = ipcx__ring_attach(base + off[1 - me], (size_t)len[1 - me], &out);
    if (rc == 0)
        rc = ipcx_ring_join(in, IPCX_RING_CONSUMER);
    if (rc == 0)
        rc = ipcx_ring_join(out, IPCX_RING_PRODUCER);
    ipcx_ring_stat st;
    if (rc == 0)
        rc = ipcx_ring_stats(out, &st);
    if (rc == 0 && (st.max_msg < 64 || st.slot_size != 0 || st.delivery != IPCX_RING_QUEUE))
        rc = -EPROTO;
    if (rc != 0) {
        if (in != NULL)
            ipcx__ring_detach(in);
        if (out != NULL)
            ipcx__ring_detach(out);
        rc = rc == -ENOMEM ? rc : -EPROTO;
        goto fail;
    }
    m->reg = reg;
    m->c = c;
    m->mine = &c->side[me];
    m->peer = &c->side[1 - me];
    m->in = in;
    m->out = out;
    m->max_rec = st.max_msg;
    m->sent = m->taken = m->released = 0;
    return 0;
fail:
    ipcx_region_close(reg);
    return rc;
}

/* The listener: the region, its rings and the eventfds.  @fds gets what
 * the hello passes: region, the listener's eventfd, the dialer's. */
static int conn_create(sk_pipe *p, int fds[IPCX__SHM_NFDS])
{
    sk_shm *m = p->shm;
    ipcx_ring_opts ro = {.capacity = ring_cap(p->s)};
    size_t rs = ipcx__ring_size_for(&ro);
    if (rs == 0)
        return -EINVAL;
    rs = (rs + 4095) & ~(size_t)4095;
    ipcx_region *reg;
    int rc = ipcx_region_create_anon(SHM_HDR + 2 * rs, NULL, &reg);
    if (rc != 0)
        return rc;
    uint8_t *base = ipcx_region_data(reg);
    struct shm_conn *c = (struct shm_conn *)(void *)base;
    c->magic = SHM_MAGIC;
    c->major = SHM_MAJOR;
    c->minor = SHM_MINOR;
    c->hdr_size = SHM_HDR;
    c->total = ipcx_region_size(reg);
    c->creator_pid = (int32_t)getpid();
    for (int i = 0; i < 2; i++) {
        c->ring_off[i] = SHM_HDR + (uint64_t)i * rs;
        c->ring_size[i] = rs;
        if (rc == 0)
            rc = ipcx__ring_format(base + c->ring_off[i], rs, &ro);
    }
    int e0 = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    int e1 = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (rc == 0 && (e0 < 0 || e1 < 0))
        rc = -errno;
    if (rc != 0) {
        if (e0 >= 0)
            close(e0);
        if (e1 >= 0)
            close(e1);
        ipcx_region_close(reg);
        return rc;
    }
    /* Publishes the block; pairs with the load_acquire in conn_map. */
    store_release(&c->ready, SHM_MAJOR);
    fds[0] = ipcx_region_fd(reg);
    fds[1] = e0;
    fds[2] = e1;
    rc = conn_map(p, reg, 0);
    if (rc != 0) {
        close(e0);
        close(e1);
        return rc;
    }
    m->ev_mine = e0;
    m->ev_peer = e1;
    return 0;
}

/* The dialer: adopt what the listener passed.  Closes @fds on failure. */
static int conn_adopt(sk_pipe *p, int fds[IPCX__SHM_NFDS])
{
    sk_shm *m = p->shm;
    int rc = check_eventfd(fds[1]);
    if (rc == 0)
        rc = check_eventfd(fds[2]);
    if (rc != 0) {
        for (int i = 0; i < IPCX__SHM_NFDS; i++)
            close(fds[i]);
        return rc;
    }
    ipcx_region *reg;
    rc = ipcx__region_from_fd(fds[0], &reg); /* closes fds[0] on failure */
    if (rc == 0)
        rc = conn_map(p, reg, 1);
    if (rc != 0) {
        close(fds[1]);
        close(fds[2]);
        return rc == -ENOMEM ? rc : -EPROTO;
    }
    m->ev_mine = fds[2];
    m->ev_peer = fds[1];
    return 0;
}

static void activate(sk_pipe *p, const ipcx__shm_hello *h)
{
    ipcx_socket *s = p->s;
    sk_shm *m = p->shm;
    p->peer_type = h->socket_type;
    memcpy(p->ident, h->ident, h->ident_len);
    p->ident_len = h->ident_len;
    p->state = P_ACTIVE;
    p->was_active = true;
    s->nactive++;
    s->st.connects++;
    s->news = true;
    if (p->dialer != NULL) {
        p->dialer->ivl = s->reconnect_ivl;
        p->dialer->attempts = 0;
    }
    /* From now on the control socket says one thing: the peer is gone. */
    (void)ipcx__sk_epoll(s, EPOLL_CTL_MOD, p->fd, &p->ep, EPOLLRDHUP);
    (void)ipcx__sk_bg_epoll(s, EPOLL_CTL_MOD, p->fd, p->id, EPOLLRDHUP);
    m->ctl_live = true;
    if (ipcx__sk_epoll(s, EPOLL_CTL_ADD, m->ev_mine, &p->ep, EPOLLIN) == 0)
        m->ev_reg = true;
    ev_sync(p);
    ipcx__sk_event(s, IPCX_EV_CONNECTED, 0, p, NULL, "");
    ipcx__pat_pipe_ready(s, p);
    if (p->state == P_ACTIVE)
        (void)q_flush(p);
    if (p->state == P_ACTIVE && p->head == H_NONE)
        (void)ipcx__shm_next(p);
}

static bool type_ok(const ipcx_socket *s, int peer)
{
    return ipcx_zmtp_socket_compatible(s->zmtp_type, peer) == 1;
}

static void my_hello(const ipcx_socket *s, uint8_t status, ipcx__shm_hello *h)
{
    memset(h, 0, sizeof(*h));
    h->version = IPCX__SHM_VERSION;
    h->socket_type = (uint8_t)s->zmtp_type;
    h->status = status;
    h->ident_len = (uint8_t)s->identity_len;
    memcpy(h->ident, s->identity, s->identity_len);
}

static void refuse(sk_pipe *p, uint8_t status, int err, const char *reason)
{
    ipcx__shm_hello h;
    my_hello(p->s, status, &h);
    (void)ipcx__shm_send_hello(p->fd, &h, NULL, 0);
    ipcx__shm_fail(p, err, reason);
}

/* ------------------------------------------------------------ broadcast */

/* The PUB socket's broadcast region, made at its first shm:// subscriber. */
static int bc_get(ipcx_socket *s, struct sk_shm_bc **out)
{
    if (s->shm_bc != NULL) {
        *out = s->shm_bc;
        return 0;
    }
    struct sk_shm_bc *bc = calloc(1, sizeof(*bc));
    if (bc == NULL)
        return -ENOMEM;
    /* Eight times a connection's ring (8 MiB by default): a subscriber
     * loses only what is more than that behind the newest. */
    ipcx_ring_opts ro = {.capacity = 8 * ring_cap(s),
                         .delivery = IPCX_RING_BROADCAST,
                         .full = IPCX_RING_OVERWRITE,
                         .max_producers = 1};
    size_t rs = ipcx__ring_size_for(&ro);
    int rc = rs == 0 ? -EINVAL : ipcx_region_create_anon(SHM_HDR + rs, NULL, &bc->reg);
    if (rc != 0) {
        free(bc);
        return rc;
    }
    uint8_t *base = ipcx_region_data(bc->reg);
    struct shm_bc_hdr *h = (struct shm_bc_hdr *)(void *)base;
    h->magic = SHM_BC_MAGIC;
    h->major = SHM_MAJOR;
    h->minor = SHM_MINOR;
    h->hdr_size = SHM_HDR;
    h->ring_off = SHM_HDR;
    h->ring_size = rs;
    h->creator_pid = (int32_t)getpid();
    rc = ipcx__ring_format(base + SHM_HDR, rs, &ro);
    if (rc == 0)
        rc = ipcx__ring_attach(base + SHM_HDR, rs, &bc->ring);
    if (rc == 0)
        rc = ipcx_ring_join(bc->ring, IPCX_RING_PRODUCER);
    ipcx_ring_stat st;
    if (rc == 0)
        rc = ipcx_ring_stats(bc->ring, &st);
    if (rc != 0) {
        if (bc->ring != NULL)
            ipcx__ring_detach(bc->ring);
        ipcx_region_close(bc->reg);
        free(bc);
        return rc;
    }
    bc->max_rec = st.max_msg;
    /* Publishes the header; pairs with the load_acquire in bc_adopt. */
    store_release(&h->ready, SHM_MAJOR);
    s->shm_bc = bc;
    *out = bc;
    return 0;
}

void ipcx__shm_socket_free(ipcx_socket *s)
{
    struct sk_shm_bc *bc = s->shm_bc;
    if (bc == NULL)
        return;
    ipcx__ring_detach(bc->ring);
    ipcx_region_close(bc->reg);
    free(bc);
    s->shm_bc = NULL;
}

/* After a broadcast record: every shm:// subscriber's peer side is told. */
static void bc_post(ipcx_socket *s)
{
    for (sk_pipe *p = s->pipes; p != NULL; p = p->next)
        if (p->shm != NULL && p->state == P_ACTIVE && p->shm->peer != NULL)
            post(p->shm, 1);
}

int ipcx__shm_pub_send(ipcx_socket *s, const sk_part *parts, size_t n)
{
    struct sk_shm_bc *bc = s->shm_bc;
    if (bc == NULL)
        return 0;
    /* Written once if anybody wants it (the subscribers filter again). */
    bool wanted = false;
    for (sk_pipe *p = s->pipes; p != NULL && !wanted; p = p->next)
        wanted = p->shm != NULL && p->state == P_ACTIVE &&
                 ipcx__topics_match(&p->subs, parts[0].data, parts[0].len);
    if (!wanted)
        return 0;
    shm_tx tx = {.ring = bc->ring, .max_rec = bc->max_rec, .bc = s};
    size_t pi = 0, off = 0;
    bool started = false;
    int r = emit(&tx, parts, n, 0, &pi, &off, &started);
    if (r == 1)
        return 0;
    /* The overwrite policy never waits: anything else is a broken ring
     * (a subscriber scribbled on it).  Its subscribers go; the next ones
     * get a new ring. */
    for (sk_pipe *p = s->pipes; p != NULL; p = p->next)
        if (p->shm != NULL && p->state == P_ACTIVE)
            ipcx__shm_fail(p, -EPROTO, "the broadcast ring is corrupt");
    ipcx__shm_socket_free(s);
    s->st.drops++;
    return 0;
}

/* A SUB: map the PUB's broadcast region and join its ring.  Takes @fd. */
static int bc_adopt(sk_pipe *p, int fd)
{
    sk_shm *m = p->shm;
    ipcx_region *reg;
    int rc = ipcx__region_from_fd(fd, &reg);
    if (rc != 0)
        return -EPROTO;
    uint8_t *base = ipcx_region_data(reg);
    uint64_t size = ipcx_region_size(reg);
    struct shm_bc_hdr *h = (struct shm_bc_hdr *)(void *)base;
    uint64_t off = 0, len = 0;
    rc = -EPROTO;
    /* Pairs with the store_release of ready in bc_get (the PUB). */
    if (size >= SHM_HDR && load_acquire(&h->ready) == SHM_MAJOR && h->magic == SHM_BC_MAGIC &&
        h->major == SHM_MAJOR && h->hdr_size == SHM_HDR) {
        off = h->ring_off;
        len = h->ring_size;
        if (off >= SHM_HDR && (off & 63) == 0 && len <= size && off <= size - len)
            rc = 0;
    }
    ipcx_ring *r = NULL;
    if (rc == 0)
        rc = ipcx__ring_attach(base + off, (size_t)len, &r);
    ipcx_ring_stat st;
    if (rc == 0)
        rc = ipcx_ring_join(r, IPCX_RING_CONSUMER);
    if (rc == 0)
        rc = ipcx_ring_stats(r, &st);
    if (rc == 0 && st.delivery != IPCX_RING_BROADCAST)
        rc = -EPROTO;
    if (rc != 0) {
        if (r != NULL)
            ipcx__ring_detach(r);
        ipcx_region_close(reg);
        return rc == -ENOMEM ? rc : -EPROTO;
    }
    m->breg = reg;
    m->bin = r;
    return 0;
}

/* ------------------------------------------------------------ handshake */

/* The fds of a hello past the connection's: a PUB's broadcast region,
 * taken by a SUB, closed by anyone else. */
static int take_bc(sk_pipe *p, const ipcx__shm_hello *h, int *fds, size_t nfds, size_t base)
{
    if (h->socket_type != IPCX__SHM_PUB || nfds <= base)
        return 0;
    if (p->s->pattern != IPCX_SUB) {
        close(fds[base]);
        return 0;
    }
    return bc_adopt(p, fds[base]);
}

static void handshake_listener(sk_pipe *p)
{
    ipcx_socket *s = p->s;
    ipcx__shm_hello h;
    int fds[IPCX__SHM_FDS_MAX];
    size_t nfds = 0;
    int rc = ipcx__shm_recv_hello(p->fd, &h, fds, 0, &nfds);
    if (rc == -EAGAIN)
        return;
    if (rc != 0) {
        ipcx__shm_fail(p, rc == -EPIPE ? -EPIPE : -EPROTO,
                       rc == -EPIPE ? "peer closed the connection" : "bad hello from the dialer");
        return;
    }
    if (!type_ok(s, h.socket_type)) {
        for (size_t i = 0; i < nfds; i++)
            close(fds[i]);
        refuse(p, IPCX__SHM_REFUSED_TYPE, -EPROTOTYPE, "peer socket type cannot talk to ours");
        return;
    }
    if (s->pattern == IPCX_PAIR && s->nactive > 0) {
        refuse(p, IPCX__SHM_REFUSED_BUSY, -EISCONN, "PAIR socket already has a peer");
        return;
    }
    rc = take_bc(p, &h, fds, nfds, 0);
    if (rc != 0) {
        refuse(p, IPCX__SHM_REFUSED_ERROR, rc, "the publisher's broadcast region was refused");
        return;
    }
    int out[IPCX__SHM_FDS_MAX];
    size_t nout = IPCX__SHM_NFDS;
    struct sk_shm_bc *bc = NULL;
    rc = conn_create(p, out);
    if (rc == 0 && s->pattern == IPCX_PUB && (rc = bc_get(s, &bc)) == 0)
        out[nout++] = ipcx_region_fd(bc->reg);
    if (rc != 0) {
        refuse(p, IPCX__SHM_REFUSED_ERROR, rc, "cannot create the connection's rings");
        return;
    }
    ipcx__shm_hello mine;
    my_hello(s, IPCX__SHM_OK, &mine);
    rc = ipcx__shm_send_hello(p->fd, &mine, out, nout);
    if (rc != 0) {
        ipcx__shm_fail(p, rc, "cannot send the hello");
        return;
    }
    activate(p, &h);
}

static void handshake_dialer(sk_pipe *p)
{
    ipcx_socket *s = p->s;
    ipcx__shm_hello h;
    int fds[IPCX__SHM_FDS_MAX];
    size_t nfds = 0;
    int rc = ipcx__shm_recv_hello(p->fd, &h, fds, IPCX__SHM_NFDS, &nfds);
    if (rc == -EAGAIN)
        return;
    if (rc != 0) {
        ipcx__shm_fail(p, rc == -EPIPE ? -ECONNREFUSED : -EPROTO,
                       rc == -EPIPE ? "the listener closed the connection"
                                    : "bad hello from the listener");
        return;
    }
    if (h.status != IPCX__SHM_OK) {
        int err = h.status == IPCX__SHM_REFUSED_TYPE   ? -EPROTOTYPE
                  : h.status == IPCX__SHM_REFUSED_BUSY ? -EISCONN
                                                       : -ECONNREFUSED;
        ipcx__shm_fail(p, err, "the listener refused the connection");
        return;
    }
    if (!type_ok(s, h.socket_type)) {
        for (size_t i = 0; i < nfds; i++)
            close(fds[i]);
        ipcx__shm_fail(p, -EPROTOTYPE, "peer socket type cannot talk to ours");
        return;
    }
    rc = take_bc(p, &h, fds, nfds, IPCX__SHM_NFDS);
    if (rc != 0) {
        for (int i = 0; i < IPCX__SHM_NFDS; i++)
            close(fds[i]);
        ipcx__shm_fail(p, rc, "the publisher's broadcast region was refused");
        return;
    }
    rc = conn_adopt(p, fds);
    if (rc != 0) {
        ipcx__shm_fail(p, rc, "the listener's region was refused");
        return;
    }
    activate(p, &h);
}

int ipcx__shm_attach(sk_pipe *p, int fd)
{
    ipcx_socket *s = p->s;
    if (p->shm == NULL) {
        p->shm = calloc(1, sizeof(*p->shm));
        if (p->shm == NULL)
            return -ENOMEM;
        p->shm->ev_mine = p->shm->ev_peer = -1;
    }
    p->tp_kind = IPCX__TP_SHM;
    p->conn_gen++;
    p->peer_type = 0;
    p->peer_minor = -1;
    p->ident_len = 0;
    if (p->listener == NULL) {
        ipcx__shm_hello h;
        my_hello(s, IPCX__SHM_OK, &h);
        int bfd[1];
        size_t nb = 0;
        struct sk_shm_bc *bc;
        if (s->pattern == IPCX_PUB) {
            int rc = bc_get(s, &bc);
            if (rc != 0)
                return rc;
            bfd[nb++] = ipcx_region_fd(bc->reg);
        }
        int rc = ipcx__shm_send_hello(fd, &h, bfd, nb);
        if (rc != 0)
            return rc; /* the caller closes fd */
    }
    int rc = ipcx__sk_epoll(s, EPOLL_CTL_ADD, fd, &p->ep, EPOLLIN);
    if (rc != 0)
        return rc;
    (void)ipcx__sk_bg_epoll(s, EPOLL_CTL_ADD, fd, p->id, EPOLLIN);
    p->fd = fd;
    p->registered = true;
    p->state = P_HANDSHAKE;
    p->hs_deadline = ipcx__now_ns() + s->hs_timeout;
    ipcx__sk_timer_note(s, p->hs_deadline);
    return 0;
}

void ipcx__shm_on_io(sk_pipe *p, uint32_t events)
{
    sk_shm *m = p->shm;
    if (p->fd < 0)
        return;
    if (p->state == P_HANDSHAKE) {
        if (p->listener != NULL)
            handshake_listener(p);
        else
            handshake_dialer(p);
        return;
    }
    if (p->state != P_ACTIVE)
        return;
    if ((events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) && m->ctl_live) {
        /* The peer is gone.  Messages it committed are still ours: a
         * receiver is given them, and the pipe fails once they are taken
         * (next, on the empty ring). */
        (void)ipcx__sk_epoll(p->s, EPOLL_CTL_DEL, p->fd, &p->ep, 0);
        (void)ipcx__sk_bg_epoll(p->s, EPOLL_CTL_DEL, p->fd, 0, 0);
        m->ctl_live = false;
        p->registered = false;
        m->peer_gone = true;
        if (p->s->drains_input)
            ipcx__shm_fail(p, -EPIPE, why(-EPIPE));
        else if (p->head == H_NONE)
            (void)ipcx__shm_next(p);
        return;
    }
    if (events & EPOLLIN) {
        ev_drain(m->ev_mine);
        m->asleep = false;
    }
    if (q_flush(p) != 0)
        return;
    if (p->head == H_NONE)
        (void)ipcx__shm_next(p);
}

int64_t ipcx__shm_timers(sk_pipe *p, int64_t now)
{
    if (p->state != P_HANDSHAKE || p->fd < 0)
        return 0;
    if (now >= p->hs_deadline) {
        ipcx__shm_fail(p, -ETIMEDOUT, "handshake timed out");
        return 0;
    }
    return p->hs_deadline;
}

/* ------------------------------------------------------------ spinning */

size_t ipcx__shm_spin_begin(ipcx_socket *s, ipcx__shm_spin *sp)
{
    sp->n = 0;
    for (sk_pipe *p = s->pipes; p != NULL && sp->n < IPCX__SHM_SPIN_MAX; p = p->next) {
        sk_shm *m = p->shm;
        if (m == NULL || p->state != P_ACTIVE || m->in == NULL || p->head != H_NONE || m->err != 0)
            continue;
        sp->w[sp->n].posted = &m->mine->posted;
        sp->w[sp->n].sleep_in = &m->mine->sleep_in;
        sp->w[sp->n].taken = m->taken;
        sp->n++;
        /* While we spin the peer need not signal: a commit shows in posted.
         * Pairs with the load_seq_cst of sleep_in in post() (the peer); an
         * eventfd write it made already is drained by on_io later. */
        store_seq_cst(&m->mine->sleep_in, 0);
        m->asleep = false;
    }
    return sp->n;
}

bool ipcx__shm_spin_ready(const ipcx__shm_spin *sp)
{
    for (size_t i = 0; i < sp->n; i++)
        /* Pairs with the fetch_add_seq_cst in post() (the peer); a hint:
         * the caller looks again under the mutex. */
        if ((int64_t)(load_acquire(sp->w[i].posted) - sp->w[i].taken) > 0)
            return true;
    return false;
}

bool ipcx__shm_spin_end(const ipcx__shm_spin *sp)
{
    bool came = false;
    for (size_t i = 0; i < sp->n; i++) {
        /* As in sleep_register: the Dekker pair with post() (the peer). */
        store_seq_cst(sp->w[i].sleep_in, 1);
        if ((int64_t)(load_seq_cst(sp->w[i].posted) - sp->w[i].taken) > 0)
            came = true;
    }
    return came;
}
