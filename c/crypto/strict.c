/*
 * strict.c - see strict.h. OpenSSH's safe_path() walks the directories the
 * same way; the sticky, root-owned exception above the file's own
 * directory is ours (a store under /tmp/x/ with x private is safe: nobody
 * else can rename x away in a sticky /tmp).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "strict.h"

#define MODE(sb) ((unsigned int)((sb)->st_mode & 07777))

/* "readable", "writable", "readable and writable" or "executable" for the
 * r, w, x bits of one class that mode grants. */
static const char *access_of(mode_t mode, mode_t r, mode_t w)
{
    if ((mode & r) && (mode & w))
        return "readable and writable";
    return (mode & r) ? "readable" : (mode & w) ? "writable" : "executable";
}

int tp_strict_file(const char *path, const struct stat *sb, unsigned int rules, char *err,
                   size_t errlen)
{
    mode_t m = sb->st_mode, group = m & S_IRWXG;

    if (!S_ISREG(m))
        snprintf(err, errlen, "not a regular file");
    else if ((rules & TP_STRICT_OWNER) && sb->st_uid != 0 && sb->st_uid != geteuid())
        snprintf(err, errlen, "owned by uid %ld, neither root nor this user (uid %ld):"
                 " run chown %ld %s", (long)sb->st_uid, (long)geteuid(), (long)geteuid(), path);
    else if ((rules & TP_STRICT_OTHERS) && (m & S_IRWXO))
        snprintf(err, errlen, "%s by others (mode %04o): run chmod o-rwx %s",
                 access_of(m, S_IROTH, S_IWOTH), MODE(sb), path);
    else if (m & S_IWOTH)
        snprintf(err, errlen, "writable by others (mode %04o): run chmod o-w %s", MODE(sb), path);
    else if ((rules & TP_STRICT_GROUP) && group)
        snprintf(err, errlen, "%s by its group (mode %04o): run chmod g-rwx %s",
                 access_of(m, S_IRGRP, S_IWGRP), MODE(sb), path);
    else if ((rules & TP_STRICT_SHARED) && group && group != (S_IRGRP | S_IWGRP))
        snprintf(err, errlen, "%s by its group (mode %04o): run chmod g-rwx %s, or chmod g=rw %s"
                 " for the group of services sharing it (the mode `trex-pam init --group`"
                 " gives)", access_of(m, S_IRGRP, S_IWGRP), MODE(sb), path, path);
    else if ((rules & TP_STRICT_GROUP_W) && (m & S_IWGRP))
        snprintf(err, errlen, "writable by its group (mode %04o): run chmod g-w %s", MODE(sb),
                 path);
    else
        return 0;
    return -1;
}

/* One directory of the chain; top: the file's own. 0, or -1 with err. */
static int strict_dir(const char *dir, int top, uid_t owner, char *err, size_t errlen)
{
    struct stat sb;
    uid_t me = geteuid();

    if (stat(dir, &sb) != 0) {
        snprintf(err, errlen, "directory %s: %s", dir, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(sb.st_mode)) {
        snprintf(err, errlen, "%s is not a directory", dir);
        return -1;
    }
    if (sb.st_uid != 0 && sb.st_uid != me && sb.st_uid != owner) {
        snprintf(err, errlen, "directory %s: owned by uid %ld, neither root nor this user"
                 " (uid %ld): run chown %ld %s", dir, (long)sb.st_uid, (long)me, (long)me, dir);
        return -1;
    }
    if (!(sb.st_mode & (S_IWGRP | S_IWOTH)))
        return 0;
    if (!top && sb.st_uid == 0 && (sb.st_mode & S_ISVTX))
        return 0;                       /* /tmp: nobody can replace what is below */
    if (top && (sb.st_mode & S_IWOTH))
        snprintf(err, errlen, "directory %s: writable by others (mode %04o): run chmod o-w %s,"
                 " or keep the file in a directory of its own", dir, MODE(&sb), dir);
    else
        snprintf(err, errlen, "directory %s: writable by %s (mode %04o): run chmod %s %s", dir,
                 (sb.st_mode & S_IWOTH) ? "others" : "its group", MODE(&sb),
                 (sb.st_mode & S_IWOTH) ? "go-w" : "g-w", dir);
    return -1;
}

int tp_strict_place(const char *path, uid_t owner, char *err, size_t errlen)
{
    char dir[PATH_MAX], *real;
    const char *slash = strrchr(path, '/');
    size_t n;
    int rc = 0;

    if (slash == NULL) {
        strcpy(dir, ".");
    } else {
        n = slash == path ? 1 : (size_t)(slash - path);
        if (n >= sizeof dir) {
            snprintf(err, errlen, "the path is too long");
            return -1;
        }
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    if ((real = realpath(dir, NULL)) == NULL) {
        snprintf(err, errlen, "directory %s: %s", dir, strerror(errno));
        return -1;
    }
    /* real is absolute without a link, "." or "..": cut it one name at a time */
    for (int top = 1; rc == 0; top = 0) {
        rc = strict_dir(real, top, owner, err, errlen);
        if (strcmp(real, "/") == 0)
            break;
        slash = strrchr(real, '/');
        real[slash == real ? 1 : (size_t)(slash - real)] = '\0';
    }
    free(real);
    return rc;
}
