/*
 * storeconf.c - the store configuration file: trex-pam.conf in the
 * directory that holds the configuration directory (/etc/trex-pam.conf
 * beside /etc/trex-pam.d), naming the store once for every module line and
 * command that names none (store.h: tp_store_location).
 *
 *   # where TRex::PAM keeps users, sessions and failed logins
 *   store = postgresql://trex@db1.example.org/trex
 *
 * Blank lines and lines starting with '#' are skipped; "store" is the one
 * setting. A file that cannot be trusted is refused, as sshd's StrictModes
 * refuses (strict.h): owned by neither root nor this user, writable by its
 * group or by others, not a regular file, or open to others while its
 * location holds a password.
 *
 * The process keeps the last file it read and reads it again only when its
 * stat data changed, asked at most every RECHECK_NS.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include "store.h"
#include "secret.h"
#include "strict.h"

#define CONF_NAME "trex-pam.conf"
#define RECHECK_NS 1000000LL            /* 1 ms, as the pam.d files */
#define MAX_FILE 16384

static pthread_mutex_t conf_mutex = PTHREAD_MUTEX_INITIALIZER;
static struct {
    char *path;                 /* the file asked for last */
    int exists;
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime, ctime;
    long long checked;          /* CLOCK_MONOTONIC ns of the last stat */
    char *location;             /* NULL: none, or a problem (err) */
    char err[4096 + 512];
} conf;

static long long mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* The file beside confdir, into buf: its parent directory's trex-pam.conf. */
int tp_store_conf_path(const char *confdir, char *buf, size_t size)
{
    size_t n = strlen(confdir);
    const char *slash;

    while (n > 1 && confdir[n - 1] == '/')
        n--;
    for (slash = confdir + n; slash > confdir && slash[-1] != '/'; slash--)
        ;
    if (slash == confdir)               /* a name in the current directory */
        return (size_t)snprintf(buf, size, "%s", CONF_NAME) < size ? 0 : -1;
    n = (size_t)(slash - confdir);      /* up to and with the '/' */
    return (size_t)snprintf(buf, size, "%.*s%s", (int)n, confdir, CONF_NAME) < size ? 0 : -1;
}

int tp_store_location_has_secret(const char *location)
{
    const char *sep = strstr(location, "://"), *at, *end;

    if (sep != NULL) {                  /* scheme://user:password@host */
        end = sep + 3 + strcspn(sep + 3, "/?#");
        at = memchr(sep + 3, '@', (size_t)(end - (sep + 3)));
        if (at != NULL && memchr(sep + 3, ':', (size_t)(at - (sep + 3))) != NULL)
            return 1;
    }
    for (const char *p = location; (p = strstr(p, "password=")) != NULL; p++)
        if (p == location || p[-1] == ' ' || p[-1] == '?' || p[-1] == '&' || p[-1] == ':')
            return 1;                   /* a keyword or a query parameter */
    return 0;
}

/* Whether a file with this stat data may name the store; the reason in err. */
static int trusted(const char *path, const struct stat *sb, const char *location, char *err,
                   size_t errlen)
{
    const unsigned int rules = TP_STRICT_OWNER | TP_STRICT_GROUP_W;
    size_t n = (size_t)snprintf(err, errlen, "%s: ", path);

    if (n >= errlen || tp_strict_file(path, sb, rules, err + n, errlen - n) != 0)
        return 0;
    if (location != NULL && tp_store_location_has_secret(location))
        n = (size_t)snprintf(err, errlen, "%s: its location holds a password and it is ", path);
    else
        n = 0;                          /* only the rules above */
    if (n == 0 || (n < errlen && tp_strict_file(path, sb, rules | TP_STRICT_OTHERS, err + n,
                                                errlen - n) == 0)) {
        err[0] = '\0';                 /* the caller reads an empty err as trusted */
        return 1;
    }
    if ((n = strlen(err)) < errlen)
        snprintf(err + n, errlen - n, " (or keep the password in .pgpass)");
    return 0;
}

/* Reads and checks the open file fd into conf (under the mutex). */
static void parse(const char *path, int fd, const struct stat *sb)
{
    char *text = NULL, *line, *next;
    ssize_t got;
    size_t len = 0;
    int lineno = 0;

    if (sb->st_size > MAX_FILE) {
        snprintf(conf.err, sizeof conf.err, "%s: larger than %d bytes", path, MAX_FILE);
        return;
    }
    if ((text = malloc((size_t)sb->st_size + 1)) == NULL) {
        snprintf(conf.err, sizeof conf.err, "%s: out of memory", path);
        return;
    }
    while (len < (size_t)sb->st_size
           && ((got = read(fd, text + len, (size_t)sb->st_size - len)) > 0
               || (got < 0 && errno == EINTR)))
        if (got > 0)
            len += (size_t)got;
    text[len] = '\0';
    for (line = text; line != NULL && conf.err[0] == '\0'; line = next) {
        char *key, *eq, *value, *end;

        lineno++;
        if ((next = strchr(line, '\n')) != NULL)
            *next++ = '\0';
        key = line + strspn(line, " \t\r");
        if (*key == '\0' || *key == '#')
            continue;
        end = key + strlen(key);
        while (end > key && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
            *--end = '\0';
        if ((eq = strchr(key, '=')) == NULL) {
            snprintf(conf.err, sizeof conf.err, "%s:%d: not a setting (want store = LOCATION)",
                     path, lineno);
            break;
        }
        value = eq + 1 + strspn(eq + 1, " \t");
        while (eq > key && (eq[-1] == ' ' || eq[-1] == '\t'))
            eq--;
        if ((size_t)(eq - key) != 5 || strncmp(key, "store", 5) != 0)
            snprintf(conf.err, sizeof conf.err, "%s:%d: unknown setting \"%.*s\" (the one setting"
                     " is store)", path, lineno, (int)(eq - key), key);
        else if (conf.location != NULL)
            snprintf(conf.err, sizeof conf.err, "%s:%d: store is set twice", path, lineno);
        else if (*value == '\0')
            snprintf(conf.err, sizeof conf.err, "%s:%d: store names no location", path, lineno);
        else if ((conf.location = strdup(value)) == NULL)
            snprintf(conf.err, sizeof conf.err, "%s: out of memory", path);
    }
    if (conf.err[0] == '\0' && conf.location == NULL)
        snprintf(conf.err, sizeof conf.err, "%s: names no store (want store = LOCATION)", path);
    if (conf.err[0] == '\0')
        (void)trusted(path, sb, conf.location, conf.err, sizeof conf.err);
    if (conf.err[0] != '\0')
        tp_secret_drop(&conf.location);
    tp_secret_wipe(text, len);
    free(text);
}

/* Reads path into conf afresh (under the mutex). */
static void load(const char *path, const struct stat *sb_path)
{
    struct stat sb;
    int fd;

    tp_secret_drop(&conf.location);
    conf.err[0] = '\0';
    conf.exists = 1;
    conf.dev = sb_path->st_dev;
    conf.ino = sb_path->st_ino;
    conf.size = sb_path->st_size;
    conf.mtime = sb_path->st_mtim;
    conf.ctime = sb_path->st_ctim;
    if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) < 0) {
        snprintf(conf.err, sizeof conf.err, "%s: cannot read: %s", path, strerror(errno));
        return;
    }
    if (fstat(fd, &sb) != 0)
        snprintf(conf.err, sizeof conf.err, "%s: cannot read: %s", path, strerror(errno));
    else if (trusted(path, &sb, NULL, conf.err, sizeof conf.err))
        parse(path, fd, &sb);           /* checked again once the location is known */
    close(fd);
}

static int same(const struct stat *sb)
{
    return conf.exists && conf.dev == sb->st_dev && conf.ino == sb->st_ino
        && conf.size == sb->st_size && conf.mtime.tv_sec == sb->st_mtim.tv_sec
        && conf.mtime.tv_nsec == sb->st_mtim.tv_nsec && conf.ctime.tv_sec == sb->st_ctim.tv_sec
        && conf.ctime.tv_nsec == sb->st_ctim.tv_nsec;
}

int tp_store_conf_location(const char *confdir, char *buf, size_t size, char *err, size_t errlen)
{
    char path[4096];
    struct stat sb;
    long long now;
    int rc;

    if (confdir == NULL || tp_store_conf_path(confdir, path, sizeof path) != 0)
        return 0;
    pthread_mutex_lock(&conf_mutex);
    now = mono_ns();
    if (conf.path == NULL || strcmp(conf.path, path) != 0 || now - conf.checked >= RECHECK_NS
        || now < conf.checked) {
        if (conf.path == NULL || strcmp(conf.path, path) != 0) {
            free(conf.path);
            conf.path = strdup(path);
            conf.exists = 0;
        }
        conf.checked = now;
        if (stat(path, &sb) != 0) {
            tp_secret_drop(&conf.location);
            conf.exists = 0;
            if (errno == ENOENT || errno == ENOTDIR)
                conf.err[0] = '\0';
            else
                snprintf(conf.err, sizeof conf.err, "%s: %s", path, strerror(errno));
        } else if (!same(&sb)) {
            load(path, &sb);
        }
        if (conf.path == NULL)          /* out of memory: ask again next time */
            conf.checked = 0;
    }
    if (conf.err[0] != '\0') {
        snprintf(err, errlen, "%s", conf.err);
        rc = -1;
    } else if (conf.location == NULL) {
        rc = 0;
    } else if (strlen(conf.location) >= size) {
        snprintf(err, errlen, "%s: the location is longer than %zu bytes", path, size - 1);
        rc = -1;
    } else {
        memcpy(buf, conf.location, strlen(conf.location) + 1);
        rc = 1;
    }
    pthread_mutex_unlock(&conf_mutex);
    return rc;
}
