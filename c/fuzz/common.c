/* common.c - see fuzz.h. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "fuzz.h"

unsigned int fuzz_byte(struct fuzz_in *in)
{
    if (in->n == 0)
        return 0;
    in->n--;
    return *in->p++;
}

char *fuzz_str(struct fuzz_in *in, size_t max)
{
    size_t want = fuzz_byte(in) % (max + 1), n = 0;
    char *s;

    while (n < want && n < in->n && in->p[n] != '\0')
        n++;
    if ((s = malloc(n + 1)) == NULL)
        return NULL;
    memcpy(s, in->p, n);
    s[n] = '\0';
    in->p += n;
    in->n -= n;
    return s;
}

char *fuzz_rest(struct fuzz_in *in)
{
    const uint8_t *nul = memchr(in->p, '\0', in->n);
    size_t n = nul != NULL ? (size_t)(nul - in->p) : in->n;
    char *s = malloc(n + 1);

    if (s == NULL)
        return NULL;
    memcpy(s, in->p, n);
    s[n] = '\0';
    in->p += n < in->n ? n + 1 : n;
    in->n -= n < in->n ? n + 1 : n;
    return s;
}

static char dir[64];

static void remove_dir(void)
{
    DIR *d = opendir(dir);
    struct dirent *e;

    if (d == NULL)
        return;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            (void)unlinkat(dirfd(d), e->d_name, 0);
    closedir(d);
    (void)rmdir(dir);
}

const char *fuzz_dir(void)
{
    if (dir[0] == '\0') {
        /* memory, not a disk: a file rewritten at every run would wait for
         * the disk at close (ext4 flushes a truncated file) */
        const char *t = getenv("TMPDIR");
        if (t == NULL || strlen(t) >= 40)
            t = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        snprintf(dir, sizeof dir, "%s/trex-fuzz-XXXXXX", t);
        if (mkdtemp(dir) == NULL) {
            perror("fuzz: mkdtemp");
            abort();
        }
        atexit(remove_dir);
    }
    return dir;
}

void fuzz_write(const char *name, const void *data, size_t len)
{
    char path[128];
    int fd;

    snprintf(path, sizeof path, "%s/%s", fuzz_dir(), name);
    if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0
        || write(fd, data, len) != (ssize_t)len || close(fd) != 0) {
        perror(path);
        abort();
    }
}

static void drop_line(void *data, int priority, const char *line)
{
    (void)data;
    (void)priority;
    (void)line;
}

void fuzz_options(struct trex_pam_options *o, const struct trex_pam_registry *registry)
{
    memset(o, 0, sizeof *o);
    o->size = sizeof *o;
    o->confdir = fuzz_dir();
    o->log_mode = TREX_PAM_LOG_CALLBACK;
    o->log_fn = drop_line;
    o->registry = registry;
}

static volatile size_t seen;               /* keeps the reads of the messages */

int fuzz_conv(int n, const struct trex_pam_message **msg, struct trex_pam_response **resp,
              void *appdata)
{
    struct fuzz_in *in = appdata;
    struct trex_pam_response *r;
    unsigned int how = fuzz_byte(in);

    for (int i = 0; i < n; i++)           /* what a real conversation does first */
        if (msg[i]->msg != NULL)
            seen += strlen(msg[i]->msg) + (size_t)msg[i]->msg_style;
    switch (how % 8) {
    case 0:
        return TREX_PAM_CONV_ERR;
    case 1:
        return TREX_PAM_CONV_AGAIN;
    case 2:
        *resp = NULL;                     /* SUCCESS without answers */
        return TREX_PAM_SUCCESS;
    case 3:
        return (int)fuzz_byte(in) - 64;   /* any status, even one out of range */
    default:
        break;
    }
    if ((r = malloc((size_t)n * sizeof *r)) == NULL)
        return TREX_PAM_BUF_ERR;
    for (int i = 0; i < n; i++) {
        unsigned int b = fuzz_byte(in);
        r[i].resp_retcode = (int)(b >> 4);
        r[i].resp = (b & 3) == 0 ? NULL : fuzz_str(in, b & 1 ? 16 : 600);
    }
    *resp = r;
    return TREX_PAM_SUCCESS;
}
