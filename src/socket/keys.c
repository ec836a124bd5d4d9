// SPDX-License-Identifier: MIT
/*
 * CURVE keys: pairs from libsodium, the raw/Z85 option forms, secret-key
 * files (created 0600, refused when others may read them) and allow-lists
 * (a file or a directory of files of public keys).  include/ipcx/security.h
 * documents the file layouts.  Every buffer that held a secret key is
 * wiped with sodium_memzero() before it is released.
 */
#include <ipcx/security.h>

#include <dirent.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "socket/mech.h"

#define KEYFILE_MAX (64u << 10) /* larger files are not key files */

int ipcx__sodium_init(void)
{
    /* sodium_init() is thread-safe and returns 1 once it already ran. */
    return sodium_init() < 0 ? -EIO : 0;
}

IPCX_API int ipcx_curve_keypair(uint8_t pub[IPCX_CURVE_KEY_SIZE], uint8_t sec[IPCX_CURVE_KEY_SIZE])
{
    if (pub == NULL || sec == NULL)
        return -EINVAL;
    if (ipcx__sodium_init() != 0)
        return -EIO;
    return crypto_box_keypair(pub, sec) == 0 ? 0 : -EIO;
}

IPCX_API int ipcx_curve_public(uint8_t pub[IPCX_CURVE_KEY_SIZE],
                               const uint8_t sec[IPCX_CURVE_KEY_SIZE])
{
    if (pub == NULL || sec == NULL)
        return -EINVAL;
    if (ipcx__sodium_init() != 0)
        return -EIO;
    return crypto_scalarmult_base(pub, sec) == 0 ? 0 : -EIO;
}

IPCX_API int ipcx_curve_key_parse(uint8_t key[IPCX_CURVE_KEY_SIZE], const void *data, size_t len)
{
    if (key == NULL || data == NULL)
        return -EINVAL;
    if (len == IPCX_CURVE_KEY_SIZE) {
        memcpy(key, data, len);
        return 0;
    }
    if (len == IPCX_CURVE_Z85_SIZE)
        return ipcx_z85_decode(key, IPCX_CURVE_KEY_SIZE, data, len) == IPCX_CURVE_KEY_SIZE
                   ? 0
                   : -EINVAL;
    return -EINVAL;
}

static int write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, buf, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        buf += w;
        len -= (size_t)w;
    }
    return 0;
}

static int key_file_write(const char *path, mode_t mode, const uint8_t *pub, const uint8_t *sec)
{
    if (path == NULL || pub == NULL)
        return -EINVAL;
    char zp[IPCX_CURVE_Z85_SIZE + 1], zs[IPCX_CURVE_Z85_SIZE + 1];
    char text[512];
    (void)ipcx_z85_encode(zp, sizeof(zp), pub, IPCX_CURVE_KEY_SIZE);
    int n;
    if (sec != NULL) {
        (void)ipcx_z85_encode(zs, sizeof(zs), sec, IPCX_CURVE_KEY_SIZE);
        n = snprintf(text, sizeof(text),
                     "#   ipcx CURVE secret key: never give this file to anyone\n"
                     "curve\n    public-key = \"%s\"\n    secret-key = \"%s\"\n",
                     zp, zs);
        sodium_memzero(zs, sizeof(zs));
    } else {
        n = snprintf(text, sizeof(text),
                     "#   ipcx CURVE public key (a line of an allow-list)\n"
                     "curve\n    public-key = \"%s\"\n",
                     zp);
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
    int rc = fd < 0 ? -errno : 0;
    if (rc == 0) {
        /* The umask may have taken bits away, never added them; make the
         * mode exact so a public file is readable as documented. */
        if (fchmod(fd, mode) != 0)
            rc = -errno;
        if (rc == 0)
            rc = write_all(fd, text, (size_t)n);
        if (close(fd) != 0 && rc == 0)
            rc = -errno;
        if (rc != 0)
            (void)unlink(path);
    }
    sodium_memzero(text, sizeof(text));
    return rc;
}

IPCX_API int ipcx_curve_secret_file_write(const char *path, const uint8_t pub[IPCX_CURVE_KEY_SIZE],
                                          const uint8_t sec[IPCX_CURVE_KEY_SIZE])
{
    if (sec == NULL)
        return -EINVAL;
    return key_file_write(path, 0600, pub, sec);
}

IPCX_API int ipcx_curve_public_file_write(const char *path, const uint8_t pub[IPCX_CURVE_KEY_SIZE])
{
    return key_file_write(path, 0644, pub, NULL);
}

/* Read a whole small file into a NUL-terminated malloc'd buffer.  With
 * @secret, refuse one that group or others may read or write. */
static int file_slurp(const char *path, bool secret, char **out, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | (secret ? O_NOFOLLOW : 0));
    if (fd < 0)
        return -errno;
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) != 0)
        rc = -errno;
    else if (!S_ISREG(st.st_mode))
        rc = secret ? -EACCES : -EINVAL;
    else if (secret && (st.st_mode & 077) != 0)
        rc = -EACCES;
    else if (st.st_size > (off_t)KEYFILE_MAX)
        rc = -EFBIG;
    char *buf = NULL;
    size_t n = 0;
    if (rc == 0) {
        buf = malloc(KEYFILE_MAX + 1);
        if (buf == NULL)
            rc = -ENOMEM;
    }
    while (rc == 0) {
        ssize_t r = read(fd, buf + n, KEYFILE_MAX - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            rc = -errno;
        else if (r == 0)
            break;
        else if ((n += (size_t)r) == KEYFILE_MAX)
            rc = -EFBIG;
    }
    close(fd);
    if (rc != 0) {
        if (buf != NULL) {
            sodium_memzero(buf, n);
            free(buf);
        }
        return rc;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
}

/* The key on one line: `NAME = "Z85"` (czmq) for @name, or, when @bare, a
 * line that is only 40 characters of Z85.  Returns 1 and the key, 0 when
 * the line is not such a line, -EINVAL when it names the key but the key
 * is malformed. */
static int line_key(const char *l, size_t len, const char *name, bool bare, uint8_t key[32])
{
    while (len > 0 && (*l == ' ' || *l == '\t')) {
        l++;
        len--;
    }
    while (len > 0 && (l[len - 1] == ' ' || l[len - 1] == '\t' || l[len - 1] == '\r'))
        len--;
    if (len == 0 || l[0] == '#')
        return 0;
    size_t nl = strlen(name);
    if (len > nl && memcmp(l, name, nl) == 0 && (l[nl] == ' ' || l[nl] == '=')) {
        const char *q = memchr(l, '"', len);
        if (q == NULL || (size_t)(l + len - q) != IPCX_CURVE_Z85_SIZE + 2 || l[len - 1] != '"')
            return -EINVAL;
        return ipcx_curve_key_parse(key, q + 1, IPCX_CURVE_Z85_SIZE) == 0 ? 1 : -EINVAL;
    }
    if (bare && len == IPCX_CURVE_Z85_SIZE)
        return ipcx_curve_key_parse(key, l, len) == 0 ? 1 : 0;
    return 0;
}

IPCX_API int ipcx_curve_secret_file_read(const char *path, uint8_t pub[IPCX_CURVE_KEY_SIZE],
                                         uint8_t sec[IPCX_CURVE_KEY_SIZE])
{
    if (path == NULL || pub == NULL || sec == NULL)
        return -EINVAL;
    char *buf;
    size_t len;
    int rc = file_slurp(path, true, &buf, &len);
    if (rc != 0)
        return rc;
    uint8_t s[32], p[32], derived[32];
    int have_s = 0, have_p = 0;
    for (char *l = buf; l < buf + len && rc == 0;) {
        char *e = memchr(l, '\n', (size_t)(buf + len - l));
        size_t ll = e != NULL ? (size_t)(e - l) : (size_t)(buf + len - l);
        int r = line_key(l, ll, "secret-key", false, s);
        if (r < 0)
            rc = r;
        have_s |= r > 0;
        r = line_key(l, ll, "public-key", false, p);
        if (r < 0)
            rc = r;
        have_p |= r > 0;
        l += ll + 1;
    }
    if (rc == 0 && !have_s)
        rc = -EINVAL;
    if (rc == 0 && ipcx_curve_public(derived, s) != 0)
        rc = -EIO;
    if (rc == 0 && have_p && sodium_memcmp(derived, p, 32) != 0)
        rc = -EINVAL;
    if (rc == 0) {
        memcpy(sec, s, 32);
        memcpy(pub, derived, 32);
    }
    sodium_memzero(s, sizeof(s));
    sodium_memzero(buf, len);
    free(buf);
    return rc;
}

/* Append every public key of one file to @list. */
static int allow_file(const char *path, ipcx__keylist *list)
{
    char *buf;
    size_t len;
    int rc = file_slurp(path, false, &buf, &len);
    if (rc != 0)
        return rc;
    for (char *l = buf; l < buf + len && rc == 0;) {
        char *e = memchr(l, '\n', (size_t)(buf + len - l));
        size_t ll = e != NULL ? (size_t)(e - l) : (size_t)(buf + len - l);
        uint8_t k[32];
        int r = line_key(l, ll, "public-key", true, k);
        if (r < 0)
            rc = r;
        else if (r > 0)
            rc = ipcx__keylist_add(list, k);
        l += ll + 1;
    }
    free(buf);
    return rc;
}

int ipcx__keylist_add(ipcx__keylist *list, const uint8_t key[32])
{
    for (size_t i = 0; i < list->n; i++)
        if (memcmp(list->keys[i], key, 32) == 0)
            return 0;
    if (list->n == list->cap) {
        size_t ncap = list->cap ? list->cap * 2 : 8;
        uint8_t(*n)[32] = realloc(list->keys, ncap * 32);
        if (n == NULL)
            return -ENOMEM;
        list->keys = n;
        list->cap = ncap;
    }
    memcpy(list->keys[list->n++], key, 32);
    return 0;
}

bool ipcx__keylist_has(const ipcx__keylist *list, const uint8_t key[32])
{
    for (size_t i = 0; i < list->n; i++)
        if (sodium_memcmp(list->keys[i], key, 32) == 0)
            return true;
    return false;
}

void ipcx__keylist_free(ipcx__keylist *list)
{
    free(list->keys);
    memset(list, 0, sizeof(*list));
}

int ipcx__keylist_load(ipcx__keylist *list, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return -errno;
    if (!S_ISDIR(st.st_mode))
        return allow_file(path, list);
    DIR *d = opendir(path);
    if (d == NULL)
        return -errno;
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue; /* ., .. and hidden files (editors' backups) */
        char full[4096];
        if ((size_t)snprintf(full, sizeof(full), "%s/%s", path, e->d_name) >= sizeof(full)) {
            rc = -ENAMETOOLONG;
            break;
        }
        struct stat fs;
        if (stat(full, &fs) != 0 || !S_ISREG(fs.st_mode))
            continue;
        rc = allow_file(full, list);
    }
    closedir(d);
    return rc;
}

IPCX_API int ipcx_curve_public_file_read(const char *path, uint8_t pub[IPCX_CURVE_KEY_SIZE])
{
    if (path == NULL || pub == NULL)
        return -EINVAL;
    ipcx__keylist l = {0};
    int rc = allow_file(path, &l);
    if (rc == 0 && l.n != 1)
        rc = -EINVAL;
    if (rc == 0)
        memcpy(pub, l.keys[0], 32);
    ipcx__keylist_free(&l);
    return rc;
}
