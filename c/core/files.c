/*
 * files.c - reading configuration files, and remembering each file read
 * (or found missing) with its stat data, so that a cached configuration
 * can be checked against the disk before it is used again.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "conf.h"

#define TP_RACY_NSEC (20L * 1000000L)   /* file times tick in jiffies, not ns */

/* Remember that path was read (st non-NULL) or not found (err), so that a
 * cached configuration can be checked against the disk. 0 or ENOMEM. */
int tp_files_note(struct tp_conf *c, const char *path, const struct stat *st, int err)
{
    struct tp_dep *d;
    if (c == NULL)
        return 0;
    if ((d = calloc(1, sizeof *d)) == NULL || (d->path = strdup(path)) == NULL) {
        free(d);
        return ENOMEM;
    }
    d->err = err;
    if (st != NULL) {
        d->dev = st->st_dev;
        d->ino = st->st_ino;
        d->size = st->st_size;
        d->mtim = st->st_mtim;
        d->ctim = st->st_ctim;
    }
    d->next = c->deps;
    c->deps = d;
    return 0;
}

long long tp_files_ns(const struct timespec *t)
{
    return (long long)t->tv_sec * 1000000000LL + t->tv_nsec;
}

/* After reading: when was it checked, and can its stat data be trusted? A
 * file whose ctime is within TP_RACY_NSEC of now may change again with the
 * same stat data (the "racily clean" problem git's index has). */
void tp_files_checked(struct tp_conf *c)
{
    struct timespec real;
    long long now;

    clock_gettime(CLOCK_MONOTONIC, &c->checked);
    clock_gettime(CLOCK_REALTIME, &real);
    now = tp_files_ns(&real);
    c->racy = 0;
    for (const struct tp_dep *d = c->deps; d != NULL; d = d->next)
        if (d->err == 0 && (now - tp_files_ns(&d->ctim) < TP_RACY_NSEC ||
                            now - tp_files_ns(&d->mtim) < TP_RACY_NSEC))
            c->racy = 1;
}

/* Whether every file is as it was when c was read. */
int tp_files_unchanged(const struct tp_conf *c)
{
    for (const struct tp_dep *d = c->deps; d != NULL; d = d->next) {
        struct stat st;
        if (stat(d->path, &st) != 0) {
            if (d->err == 0 || errno != d->err)
                return 0;
        } else if (d->err != 0 || st.st_dev != d->dev || st.st_ino != d->ino ||
                   st.st_size != d->size ||
                   st.st_mtim.tv_sec != d->mtim.tv_sec || st.st_mtim.tv_nsec != d->mtim.tv_nsec ||
                   st.st_ctim.tv_sec != d->ctim.tv_sec || st.st_ctim.tv_nsec != d->ctim.tv_nsec) {
            return 0;
        }
    }
    return 1;
}

/* The whole file at path, recorded in c's dependencies. 0 or an errno
 * (ENODEV for anything but a regular file). */
int tp_files_read(struct tp_conf *c, const char *path, char **buf, size_t *len)
{
    size_t cap = 4096, n = 0;
    char *b, *nb;
    int fd, err = 0;
    struct stat st;

    *buf = NULL;
    *len = 0;
    /* O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused below) */
    if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) < 0) {
        err = errno;
        if ((err == ENOENT || err == ENOTDIR) && tp_files_note(c, path, NULL, err) != 0)
            return ENOMEM;
        return err;
    }
    /* stat before reading: a change during the read shows at the next check */
    if (fstat(fd, &st) != 0 || tp_files_note(c, path, &st, 0) != 0) {
        err = errno == ENOMEM ? ENOMEM : errno;
        close(fd);
        return err ? err : EIO;
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return EISDIR;
    }
    if (!S_ISREG(st.st_mode)) {          /* a FIFO, a device: no end to wait for */
        close(fd);
        return ENODEV;
    }
    if ((b = malloc(cap)) == NULL) {
        close(fd);
        return ENOMEM;
    }
    for (;;) {
        ssize_t r;
        if (n == cap) {
            if (cap > SIZE_MAX / 2 || (nb = realloc(b, cap * 2)) == NULL) {
                err = ENOMEM;
                break;
            }
            b = nb;
            cap *= 2;
        }
        r = read(fd, b + n, cap - n);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            err = errno;
            break;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    if (err != 0) {
        free(b);
        return err;
    }
    *buf = b;
    *len = n;
    return 0;
}


void tp_files_free(struct tp_conf *c)
{
    struct tp_dep *d, *next;

    for (d = c->deps; d != NULL; d = next) {
        next = d->next;
        free(d->path);
        free(d);
    }
    c->deps = NULL;
}
