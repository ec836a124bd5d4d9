/* SPDX-License-Identifier: MIT */
/*
 * ipcx security: keys for the CURVE mechanism (CurveZMQ, RFC 26) and their
 * text form, Z85 (RFC 32), as libzmq writes them.
 *
 * A CURVE key is 32 bytes: a Curve25519 public or secret key.  In text it
 * is 40 characters of Z85.  ipcx_curve_keypair() makes a pair with
 * libsodium; nothing here is home-made cryptography.  Sockets take keys by
 * option (IPCX_OPT_CURVE_*, ipcx/socket.h) or from key files:
 *
 *   a secret-key file    (ipcx_curve_secret_file_write(), `ipcx keygen -s`)
 *       #   ipcx CURVE secret key: never give this file to anyone
 *       curve
 *           public-key = "<40 characters of Z85>"
 *           secret-key = "<40 characters of Z85>"
 *     the layout of czmq's zcert "_secret" files, so those load too.  It is
 *     created 0600 and refused when group or others may read or write it
 *     (-EACCES), as ssh refuses a private key.
 *
 *   an allow-list        (ipcx_socket_curve_allow_path())
 *       a file, or a directory of files, each line either a bare 40-character
 *       Z85 public key (authorized_keys style) or `public-key = "..."` (a
 *       czmq certificate); blank lines and lines starting with '#' are
 *       ignored.
 *
 * docs/security.md has the threat model and how to distribute keys.
 *
 * Thread safety: every function here is thread-safe.
 */
#ifndef IPCX_SECURITY_H
#define IPCX_SECURITY_H

#include <ipcx/core.h>

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Bytes of a CURVE key. */
#define IPCX_CURVE_KEY_SIZE 32
/** Characters of a CURVE key in Z85 (without the terminating NUL). */
#define IPCX_CURVE_Z85_SIZE 40

/**
 * ipcx_z85_encode - write @len bytes of @data (a multiple of 4) as Z85
 * text, NUL-terminated, into @out.
 * Returns the characters written (@len * 5 / 4, not counting the NUL),
 * -EINVAL (@len not a multiple of 4, NULL pointers) or -ENOSPC (@cap
 * smaller than that plus one).
 */
IPCX_API int ipcx_z85_encode(char *out, size_t cap, const void *data, size_t len);

/**
 * ipcx_z85_decode - decode @len characters of Z85 text (a multiple of 5)
 * into @out.  Strict: a character outside the Z85 alphabet or a group worth
 * more than 2^32 - 1 is -EINVAL.
 * Returns the bytes written (@len * 4 / 5), -EINVAL or -ENOSPC.
 */
IPCX_API int ipcx_z85_decode(void *out, size_t cap, const char *text, size_t len);

/** A new CURVE key pair from libsodium's generator.  Returns 0, or -EIO
 *  when libsodium cannot be initialised. */
IPCX_API int ipcx_curve_keypair(uint8_t pub[IPCX_CURVE_KEY_SIZE], uint8_t sec[IPCX_CURVE_KEY_SIZE]);

/** The public key of secret key @sec (like libzmq's zmq_curve_public()).
 *  Returns 0 or -EIO. */
IPCX_API int ipcx_curve_public(uint8_t pub[IPCX_CURVE_KEY_SIZE],
                               const uint8_t sec[IPCX_CURVE_KEY_SIZE]);

/**
 * ipcx_curve_key_parse - a key given as 32 raw bytes or as 40 characters of
 * Z85 (the two forms libzmq's ZMQ_CURVE_* options take).
 * Returns 0 or -EINVAL.
 */
IPCX_API int ipcx_curve_key_parse(uint8_t key[IPCX_CURVE_KEY_SIZE], const void *data, size_t len);

/**
 * ipcx_curve_secret_file_write - create @path (O_EXCL, mode 0600) holding
 * the pair.  Returns 0, -EEXIST, or another -errno of open/write.
 */
IPCX_API int ipcx_curve_secret_file_write(const char *path, const uint8_t pub[IPCX_CURVE_KEY_SIZE],
                                          const uint8_t sec[IPCX_CURVE_KEY_SIZE]);

/** Create @path (O_EXCL, mode 0644) holding only the public key, a line the
 *  allow-list reads.  Returns 0 or -errno. */
IPCX_API int ipcx_curve_public_file_write(const char *path, const uint8_t pub[IPCX_CURVE_KEY_SIZE]);

/**
 * ipcx_curve_secret_file_read - load a secret-key file.  The public key is
 * derived from the secret one; a public-key line that disagrees is -EINVAL.
 * Returns 0, -EACCES (the file may be read or written by group or others,
 * or is not a regular file), -EINVAL (no valid secret-key line), -ENOENT,
 * or another -errno.  The bytes read are wiped before returning.
 */
IPCX_API int ipcx_curve_secret_file_read(const char *path, uint8_t pub[IPCX_CURVE_KEY_SIZE],
                                         uint8_t sec[IPCX_CURVE_KEY_SIZE]);

/**
 * ipcx_curve_public_file_read - the one public key of @path (a file an
 * allow-list would read: a bare Z85 line or a public-key line).
 * Returns 0, -EINVAL (no key, a malformed one, or more than one), or
 * another -errno.
 */
IPCX_API int ipcx_curve_public_file_read(const char *path, uint8_t pub[IPCX_CURVE_KEY_SIZE]);

#ifdef __cplusplus
}
#endif
#endif /* IPCX_SECURITY_H */
