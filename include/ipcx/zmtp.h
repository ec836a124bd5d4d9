/* SPDX-License-Identifier: MIT */
/*
 * ipcx zmtp: the ZMTP 3.0/3.1 codec (RFC 23 and RFC 37, NULL mechanism).
 *
 * This is the message parser ipcx's byte-stream transports drive; it is
 * public because it is useful on its own, for example to speak ZMTP over a
 * socket the caller owns.  It does no I/O and keeps no global state.
 *
 * Decoding is incremental and caller-driven: hand the decoder whatever bytes
 * arrived, in any split, and it returns one event at a time together with the
 * number of bytes it consumed.  Fed the same stream in any split, down to one
 * byte per call, it yields the same events.  It never reads past the length
 * it was given.  A frame body that lies whole in the caller's buffer is
 * handed out as a pointer into that buffer; a body that straddles calls is
 * assembled into one malloc'd buffer of exactly the announced size, which is
 * allocated only after every limit was checked.
 *
 * Any malformed input is an error that names what was wrong
 * (ipcx_zmtp_err, ipcx_zmtp_strerror()); the decoder then stays in the error
 * state and the connection is to be dropped.
 *
 * Encoding writes the greeting, the commands and frame headers into small
 * caller buffers; a frame's payload stays where it is, ready for writev(),
 * or many small frames are copied back to back into one buffer.
 *
 * The wire format, the limits and where ipcx differs from libzmq are written
 * down byte by byte in docs/wire.md.
 *
 * Thread safety: a decoder is used by one thread at a time; the encoder
 * functions are pure and thread-safe.
 */
#ifndef IPCX_ZMTP_H
#define IPCX_ZMTP_H

#include <ipcx/core.h>

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Size of the ZMTP 3.x greeting. */
#define IPCX_ZMTP_GREETING_SIZE 64
/** Largest frame header: flags octet plus an 8-octet size. */
#define IPCX_ZMTP_HDR_MAX 9
/** Largest SUBSCRIBE/CANCEL header (frame header, name size, "SUBSCRIBE"). */
#define IPCX_ZMTP_SUB_HDR_MAX 19
/** Largest PING/PONG context (RFC 37). */
#define IPCX_ZMTP_PING_CONTEXT_MAX 16
/** Largest Identity value (RFC 23/37). */
#define IPCX_ZMTP_IDENTITY_MAX 255

/** Frame flag bits (RFC 23 "Framing"). */
#define IPCX_ZMTP_FLAG_MORE    0x01u
#define IPCX_ZMTP_FLAG_LONG    0x02u
#define IPCX_ZMTP_FLAG_COMMAND 0x04u

/** Default limits (used where a field of ipcx_zmtp_limits is zero). */
#define IPCX_ZMTP_DEFAULT_MAX_FRAME    ((uint64_t)64 << 20)
#define IPCX_ZMTP_DEFAULT_MAX_MESSAGE  ((uint64_t)64 << 20)
#define IPCX_ZMTP_DEFAULT_MAX_FRAMES   4096u
#define IPCX_ZMTP_DEFAULT_MAX_COMMAND  (64u << 10)
#define IPCX_ZMTP_DEFAULT_MAX_METADATA (64u << 10)

/**
 * ipcx_zmtp_limits - what a decoder accepts.  Zero-initialise it: every
 * field left at zero takes its default.  All limits are checked on the frame
 * header, before any byte of the body is buffered or any memory allocated.
 */
typedef struct ipcx_zmtp_limits {
    /** Largest body of one message frame (like libzmq's ZMQ_MAXMSGSIZE,
     *  which is per frame).  Default 64 MiB.  Exceeding it: -EMSGSIZE. */
    uint64_t max_frame_size;
    /** Largest sum of the bodies of all frames of one multipart message.
     *  Default 64 MiB.  Exceeding it: -EMSGSIZE. */
    uint64_t max_message_size;
    /** Most frames in one multipart message.  Default 4096. */
    uint32_t max_frames;
    /** Largest command body (READY, ERROR, PING, SUBSCRIBE, ...).
     *  Default 64 KiB. */
    uint32_t max_command_size;
    /** Largest READY property list (the metadata).  Default 64 KiB.  On
     *  the header, a handshake command too large for a READY within this
     *  limit and for any ERROR (262 octets) is refused with
     *  IPCX_ZMTP_ERR_METADATA_TOO_LARGE before it is buffered. */
    uint32_t max_metadata_size;
} ipcx_zmtp_limits;

/** Socket types named by the Socket-Type property (RFC 37). */
typedef enum ipcx_zmtp_socket_type {
    IPCX_ZMTP_SOCKET_NONE = 0, /* no Socket-Type property was sent */
    IPCX_ZMTP_SOCKET_PAIR,
    IPCX_ZMTP_SOCKET_PUB,
    IPCX_ZMTP_SOCKET_SUB,
    IPCX_ZMTP_SOCKET_REQ,
    IPCX_ZMTP_SOCKET_REP,
    IPCX_ZMTP_SOCKET_DEALER,
    IPCX_ZMTP_SOCKET_ROUTER,
    IPCX_ZMTP_SOCKET_PULL,
    IPCX_ZMTP_SOCKET_PUSH,
    IPCX_ZMTP_SOCKET_XPUB,
    IPCX_ZMTP_SOCKET_XSUB,
    IPCX_ZMTP_SOCKET_STREAM,
    IPCX_ZMTP_SOCKET_SERVER,
    IPCX_ZMTP_SOCKET_CLIENT,
    IPCX_ZMTP_SOCKET_RADIO,
    IPCX_ZMTP_SOCKET_DISH,
    IPCX_ZMTP_SOCKET_GATHER,
    IPCX_ZMTP_SOCKET_SCATTER,
    IPCX_ZMTP_SOCKET_PEER,
    IPCX_ZMTP_SOCKET_CHANNEL,
    IPCX_ZMTP_SOCKET_COUNT_
} ipcx_zmtp_socket_type;

/**
 * ipcx_zmtp_err - what was wrong with the input.  Each malformed input has
 * its own code; ipcx_zmtp_strerror() describes it.  The decode call that
 * detects it returns -EPROTO, -EMSGSIZE (a limit) or -EPROTONOSUPPORT
 * (version or mechanism), as noted per code.
 */
typedef enum ipcx_zmtp_err {
    IPCX_ZMTP_OK = 0,
    IPCX_ZMTP_ERR_SIGNATURE,    /* greeting octet 0 is not 0xFF or octet 9 not 0x7F (EPROTO) */
    IPCX_ZMTP_ERR_VERSION,      /* major version < 3: ZMTP 1.0/2.0 peer (EPROTONOSUPPORT) */
    IPCX_ZMTP_ERR_MECHANISM,    /* mechanism is not "NULL" (EPROTONOSUPPORT) */
    IPCX_ZMTP_ERR_AS_SERVER,    /* as-server octet not zero under NULL (EPROTO) */
    IPCX_ZMTP_ERR_FLAGS,        /* reserved flag bits 7-3 set (EPROTO) */
    IPCX_ZMTP_ERR_COMMAND_MORE, /* MORE set on a command frame (EPROTO) */
    IPCX_ZMTP_ERR_SIZE_INVALID, /* long size >= 2^63 (EPROTO) */
    IPCX_ZMTP_ERR_FRAME_BEFORE_READY, /* message frame before the handshake completed (EPROTO) */
    IPCX_ZMTP_ERR_COMMAND_EMPTY,      /* command body empty or its name empty (EPROTO) */
    IPCX_ZMTP_ERR_COMMAND_NAME,       /* command name longer than its frame (EPROTO) */
    IPCX_ZMTP_ERR_COMMAND_NAME_CHAR,  /* command name not all ALPHA (EPROTO) */
    IPCX_ZMTP_ERR_UNEXPECTED_COMMAND, /* a command other than READY/ERROR in the handshake (EPROTO)
                                       */
    IPCX_ZMTP_ERR_DUPLICATE_READY,    /* READY after the handshake (EPROTO) */
    IPCX_ZMTP_ERR_PROPERTY_NAME,   /* property name empty, bad char, or past its command (EPROTO) */
    IPCX_ZMTP_ERR_PROPERTY_LENGTH, /* property value length past its command (EPROTO) */
    IPCX_ZMTP_ERR_PROPERTY_DUPLICATE, /* Socket-Type or Identity given twice (EPROTO) */
    IPCX_ZMTP_ERR_SOCKET_TYPE,        /* unknown Socket-Type value (EPROTO) */
    IPCX_ZMTP_ERR_IDENTITY_SIZE,      /* Identity longer than 255 octets (EPROTO) */
    IPCX_ZMTP_ERR_IDENTITY_RESERVED,  /* Identity starting with a zero octet (EPROTO) */
    IPCX_ZMTP_ERR_ERROR_MALFORMED,    /* ERROR reason size does not match its frame (EPROTO) */
    IPCX_ZMTP_ERR_PING_MALFORMED,     /* PING without TTL, or context > 16 octets (EPROTO) */
    IPCX_ZMTP_ERR_PONG_MALFORMED,     /* PONG context > 16 octets (EPROTO) */
    IPCX_ZMTP_ERR_PEER_ERROR,         /* input after the peer's ERROR command (EPROTO) */
    IPCX_ZMTP_ERR_FRAME_TOO_LARGE,    /* frame body over max_frame_size (EMSGSIZE) */
    IPCX_ZMTP_ERR_MESSAGE_TOO_LARGE,  /* multipart total over max_message_size (EMSGSIZE) */
    IPCX_ZMTP_ERR_TOO_MANY_FRAMES,    /* more than max_frames frames in a message (EMSGSIZE) */
    IPCX_ZMTP_ERR_COMMAND_TOO_LARGE,  /* command body over max_command_size (EMSGSIZE) */
    IPCX_ZMTP_ERR_METADATA_TOO_LARGE, /* READY metadata over max_metadata_size (EMSGSIZE) */
    IPCX_ZMTP_ERR_COUNT_
} ipcx_zmtp_err;

/** Decoder events: the positive results of ipcx_zmtp_decode(). */
typedef enum ipcx_zmtp_event_type {
    IPCX_ZMTP_EV_NONE = 0,  /* all input consumed, need more */
    IPCX_ZMTP_EV_GREETING,  /* a valid 64-octet greeting: major, minor */
    IPCX_ZMTP_EV_READY,     /* READY: socket_type, identity, data/len = metadata */
    IPCX_ZMTP_EV_FRAME,     /* a message frame: data/len, more, owned */
    IPCX_ZMTP_EV_PING,      /* PING: ttl, data/len = context */
    IPCX_ZMTP_EV_PONG,      /* PONG: data/len = context */
    IPCX_ZMTP_EV_SUBSCRIBE, /* subscription: data/len = topic, legacy */
    IPCX_ZMTP_EV_CANCEL,    /* cancel a subscription: data/len = topic, legacy */
    IPCX_ZMTP_EV_ERROR,     /* the peer's ERROR: data/len = reason; the peer closes */
    IPCX_ZMTP_EV_COMMAND,   /* any other command after the handshake: name, data */
    IPCX_ZMTP_EV_BODY,      /* a large frame body for the caller to read: len, more
                               (ipcx_zmtp_decoder_direct) */
} ipcx_zmtp_event_type;

/**
 * ipcx_zmtp_event - one decoded event.  Only the fields named for its type
 * are set; the others keep whatever they held.
 *
 * Pointers (data, name, identity) point either into the buffer given to the
 * decode call that returned the event, or into memory the decoder owns; both
 * stay valid until the next call on the decoder (or until the caller's buffer
 * changes, whichever comes first).  The exception is @owned.
 */
typedef struct ipcx_zmtp_event {
    int type;            /* ipcx_zmtp_event_type */
    int err;             /* ipcx_zmtp_err after a failed decode, else 0 */
    const uint8_t *data; /* see ipcx_zmtp_event_type */
    size_t len;
    /* FRAME: NULL when @data points into the caller's buffer (zero copy).
     * Otherwise the body was assembled across calls into a malloc'd buffer
     * of exactly @len octets (@owned == @data); the caller now owns it and
     * releases it with free(). */
    void *owned;
    uint8_t more;   /* FRAME: more frames of this message follow */
    uint8_t legacy; /* SUBSCRIBE/CANCEL: came as a 3.0 message (first octet 1/0) */
    uint16_t ttl;   /* PING: time to live in tenths of a second */
    uint8_t major;  /* GREETING: the peer's version */
    uint8_t minor;
    uint8_t socket_type;     /* READY: ipcx_zmtp_socket_type */
    uint8_t has_identity;    /* READY: an Identity property was present */
    const uint8_t *identity; /* READY: Identity value, identity_len octets */
    size_t identity_len;
    const uint8_t *name; /* COMMAND: the command name, name_len octets */
    size_t name_len;
} ipcx_zmtp_event;

/** A READY property, as produced by ipcx_zmtp_prop_next() or given to
 *  ipcx_zmtp_encode_ready(). */
typedef struct ipcx_zmtp_prop {
    const char *name; /* not NUL-terminated when decoded */
    size_t name_len;
    const void *value;
    size_t value_len;
} ipcx_zmtp_prop;

typedef struct ipcx_zmtp_decoder ipcx_zmtp_decoder;

/**
 * ipcx_zmtp_decoder_create - a decoder for one connection, expecting the
 * peer's greeting first.
 * @lim: limits, NULL or zero fields for the defaults.
 * @out: the new decoder.
 *
 * Returns 0, -EINVAL (@out NULL) or -ENOMEM.
 */
IPCX_API int ipcx_zmtp_decoder_create(const ipcx_zmtp_limits *lim, ipcx_zmtp_decoder **out);

/** Free a decoder and any partial frame it holds.  Accepts NULL. */
IPCX_API void ipcx_zmtp_decoder_destroy(ipcx_zmtp_decoder *d);

/**
 * ipcx_zmtp_decode - decode the next event from @buf.
 * @d:        the decoder.
 * @buf:      the next bytes of the stream (may be NULL when @len is 0).
 * @len:      how many.
 * @consumed: set to the number of bytes of @buf used (always set).  The
 *            caller passes the rest, buf + *consumed, in the next call.
 * @ev:       the event (always written; ev->err on failure).
 *
 * Returns an ipcx_zmtp_event_type > 0 when an event was decoded (more may be
 * in the remaining bytes), 0 when all of @buf was consumed without
 * completing an event, or a negative errno: -EPROTO for malformed input,
 * -EMSGSIZE for a limit, -EPROTONOSUPPORT for a ZMTP 1.0/2.0 peer or a
 * mechanism other than NULL, with ev->err naming the cause; the decoder
 * then stays in that error and every later call returns the same.
 * -ENOMEM (an allocation for an assembled body failed) is not sticky:
 * ev->type is IPCX_ZMTP_EV_NONE, ev->err 0, nothing is handed out, the
 * frame header stays consumed (counted in @consumed) and the next call
 * with the remaining bytes retries the allocation.  -EINVAL for NULL
 * arguments (@ev and @consumed are then written only where non-NULL).
 *
 * Ownership: an IPCX_ZMTP_EV_FRAME with ev->owned != NULL hands that buffer
 * to the caller; nothing else ever does, and no failure leaves the caller
 * owning anything.  A partial body the decoder holds is freed by
 * ipcx_zmtp_decoder_destroy().
 */
IPCX_API int ipcx_zmtp_decode(ipcx_zmtp_decoder *d, const void *buf, size_t len, size_t *consumed,
                              ipcx_zmtp_event *ev);

/**
 * ipcx_zmtp_decoder_direct - let the caller read large bodies itself.
 * @min: a message frame whose body is at least @min octets and does not lie
 *       whole in the buffer given to decode is not assembled: the decode
 *       call consumes its header (checked against every limit) and returns
 *       IPCX_ZMTP_EV_BODY with ev->len the body's size and ev->more its MORE
 *       flag.  The next ev->len octets of the stream are the body: the
 *       caller reads them where it likes (for example straight into the
 *       buffer the message is wanted in), then calls
 *       ipcx_zmtp_decoder_body_done() before decoding on.  0 (the default)
 *       turns this off.  Never used for commands, nor for a SUB/XSUB peer
 *       (whose frames may be 3.0 subscriptions).
 * Returns 0 or -EINVAL.
 */
IPCX_API int ipcx_zmtp_decoder_direct(ipcx_zmtp_decoder *d, uint64_t min);

/** The body announced by IPCX_ZMTP_EV_BODY has been read by the caller;
 *  decoding goes on.  Until then ipcx_zmtp_decode() returns -EINVAL.
 *  Returns 0, or -EINVAL when no body is owed. */
IPCX_API int ipcx_zmtp_decoder_body_done(ipcx_zmtp_decoder *d);

/** The decoder's sticky error (IPCX_ZMTP_OK while healthy). */
IPCX_API int ipcx_zmtp_decoder_error(const ipcx_zmtp_decoder *d);

/** The peer's minor version once its greeting was accepted (0 for ZMTP
 *  3.0, 1 for 3.1 or later), -EAGAIN before that or when the greeting was
 *  refused. */
IPCX_API int ipcx_zmtp_decoder_peer_minor(const ipcx_zmtp_decoder *d);

/** Describe an ipcx_zmtp_err.  Static string, never NULL. */
IPCX_API const char *ipcx_zmtp_strerror(int err);

/** The Socket-Type name ("PAIR", "PUB", ...) or NULL for NONE/unknown. */
IPCX_API const char *ipcx_zmtp_socket_name(int socket_type);

/** 1 when RFC 37 allows @a to talk to @b (PUB-SUB, REQ-ROUTER, ...), else 0. */
IPCX_API int ipcx_zmtp_socket_compatible(int a, int b);

/**
 * ipcx_zmtp_prop_next - walk a READY property list (ev->data/len of a
 * READY event).
 * @pos: cursor, 0 to start.
 *
 * Returns 1 and fills @p, 0 at the end, -EPROTO if the list is malformed
 * (never for a list the decoder delivered: it validated it).
 */
IPCX_API int ipcx_zmtp_prop_next(const void *meta, size_t len, size_t *pos, ipcx_zmtp_prop *p);

/** Find a property by name, ignoring case.  Returns 1 and fills @p, or 0:
 *  not found, a malformed list (searched up to the fault), or a NULL
 *  @name or @p. */
IPCX_API int ipcx_zmtp_prop_find(const void *meta, size_t len, const char *name, ipcx_zmtp_prop *p);

/* ------------------------------------------------------------ encoder */

/**
 * ipcx_zmtp_encode_greeting - write ipcx's 64-octet greeting: signature
 * (padding zero), version 3.1, mechanism "NULL", as-server 0 (RFC 37: NULL
 * gives the field no meaning and it must be zero), zero filler.
 * Returns IPCX_ZMTP_GREETING_SIZE.
 */
IPCX_API size_t ipcx_zmtp_encode_greeting(uint8_t out[IPCX_ZMTP_GREETING_SIZE]);

/**
 * ipcx_zmtp_encode_header - write a frame header for a body of @size octets.
 * @flags: IPCX_ZMTP_FLAG_MORE and/or IPCX_ZMTP_FLAG_COMMAND (LONG is chosen
 *         here: short form up to 255 octets).
 * Returns the header length (2 or 9).  The body follows it on the wire.
 */
IPCX_API size_t ipcx_zmtp_encode_header(uint8_t out[IPCX_ZMTP_HDR_MAX], uint64_t size,
                                        unsigned flags);

/**
 * ipcx_zmtp_encode_frame - copy one message frame (header and body) into
 * @out; the call for many small frames written back to back.
 * @more: nonzero sets MORE.
 * Returns the octets written, -ENOSPC when they do not fit in @cap
 * (nothing written), or -EMSGSIZE when @len + 9 exceeds INT_MAX.
 */
IPCX_API int ipcx_zmtp_encode_frame(void *out, size_t cap, const void *data, size_t len, int more);

/** A part of a multipart message for ipcx_zmtp_encode_msg(). */
typedef struct ipcx_zmtp_part {
    const void *data;
    size_t len;
} ipcx_zmtp_part;

/**
 * ipcx_zmtp_encode_msg - copy a whole message of @n parts (MORE on all but
 * the last) into @out.  Returns the octets written, -ENOSPC when the message
 * does not fit (nothing written), -EMSGSIZE when it would exceed INT_MAX
 * octets, or -EINVAL when @parts is NULL or @n is 0.
 */
IPCX_API int ipcx_zmtp_encode_msg(void *out, size_t cap, const ipcx_zmtp_part *parts, size_t n);

/**
 * ipcx_zmtp_encode_ready - write a whole READY command.
 * @socket_type: ours (ipcx_zmtp_socket_type, not NONE).
 * @identity:    NULL for no Identity property, else @identity_len (<= 255)
 *               octets, not starting with a zero octet.
 * @extra:       more properties (names 1-255 of ALPHA, DIGIT, "-_.+"; not
 *               Socket-Type or Identity in any case, which come from the
 *               arguments above), or NULL.
 * Returns the octets written, -ENOSPC if @cap is too small, -EINVAL for an
 * invalid socket type, identity or property, -EMSGSIZE when the command
 * would exceed INT_MAX octets.
 */
IPCX_API int ipcx_zmtp_encode_ready(void *out, size_t cap, int socket_type, const void *identity,
                                    size_t identity_len, const ipcx_zmtp_prop *extra,
                                    size_t n_extra);

/** Write an ERROR command with a reason of at most 255 octets (longer is
 *  -EINVAL).  Returns the octets written or -ENOSPC. */
IPCX_API int ipcx_zmtp_encode_error(void *out, size_t cap, const char *reason);

/** Write a PING command: @ttl in tenths of a second (0: no hint), @ctx up
 *  to 16 octets.  PING/PONG are ZMTP 3.1 commands; libzmq sends and accepts
 *  them with 3.0 peers too (docs/wire.md).
 *  Returns the octets written, -ENOSPC, or -EINVAL (context too long). */
IPCX_API int ipcx_zmtp_encode_ping(void *out, size_t cap, uint16_t ttl, const void *ctx,
                                   size_t ctx_len);

/** Write a PONG command echoing @ctx (up to 16 octets). */
IPCX_API int ipcx_zmtp_encode_pong(void *out, size_t cap, const void *ctx, size_t ctx_len);

/**
 * ipcx_zmtp_encode_subscribe - the header of a subscription; the topic
 * (@topic_len octets) follows it on the wire (writev).
 * @subscribe: 1 for SUBSCRIBE, 0 for CANCEL.
 * @peer_minor: the peer's minor version (ipcx_zmtp_decoder_peer_minor()):
 *              1 writes the ZMTP 3.1 command, 0 the ZMTP 3.0 form, a
 *              message frame whose first octet is 1 or 0 (so does a
 *              negative value: call only after the greeting).
 * Returns the header length.
 */
IPCX_API size_t ipcx_zmtp_encode_subscribe(uint8_t out[IPCX_ZMTP_SUB_HDR_MAX], int subscribe,
                                           size_t topic_len, int peer_minor);

#ifdef __cplusplus
}
#endif
#endif /* IPCX_ZMTP_H */
