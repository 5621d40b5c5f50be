/* tap.c - see tap.h. */
#include "tap.h"
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int tests_run, tests_failed;

static void vreport(int cond, const char *fmt, va_list ap)
{
    tests_run++;
    if (!cond)
        tests_failed++;
    printf("%s %d - ", cond ? "ok" : "not ok", tests_run);
    vprintf(fmt, ap);
    putchar('\n');
    fflush(stdout);
}

int tap_ok(int cond, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(cond, fmt, ap);
    va_end(ap);
    return cond;
}

int tap_is_int(long got, long want, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(got == want, fmt, ap);
    va_end(ap);
    if (got != want)
        printf("#   got: %ld\n#   expected: %ld\n", got, want);
    return got == want;
}

int tap_is_str(const char *got, const char *want, const char *fmt, ...)
{
    int same = (got == NULL && want == NULL) ||
               (got != NULL && want != NULL && strcmp(got, want) == 0);
    va_list ap;
    va_start(ap, fmt);
    vreport(same, fmt, ap);
    va_end(ap);
    if (!same)
        printf("#   got: %s%s%s\n#   expected: %s%s%s\n", got ? "'" : "", got ? got : "NULL",
               got ? "'" : "", want ? "'" : "", want ? want : "NULL", want ? "'" : "");
    return same;
}

void tap_skip(const char *why, ...)
{
    va_list ap;
    tests_run++;
    printf("ok %d # SKIP ", tests_run);
    va_start(ap, why);
    vprintf(why, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

void tap_diag(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("# ", stdout);
    vprintf(fmt, ap);
    putchar('\n');
    va_end(ap);
}

int tap_done(void)
{
    printf("1..%d\n", tests_run);
    fflush(stdout);
    return tests_failed ? 1 : 0;
}

char *tap_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char *p;
    if (base == NULL || *base == '\0')
        base = "/tmp";
    if ((p = malloc(strlen(base) + 20)) == NULL)
        return NULL;
    sprintf(p, "%s/tpt.XXXXXX", base);
    if (mkdtemp(p) == NULL) {
        free(p);
        return NULL;
    }
    return p;
}

int tap_write_file(const char *dir, const char *name, const char *text)
{
    char path[4096];
    FILE *f;
    size_t n = strlen(text);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if ((f = fopen(path, "w")) == NULL)
        return -1;
    if (fwrite(text, 1, n, f) != n) {
        fclose(f);
        return -1;
    }
    return fclose(f) == 0 ? 0 : -1;
}

void tap_rmtree(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char path[4096];
    struct stat st;
    if (d == NULL)
        return;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
            tap_rmtree(path);
        else
            unlink(path);
    }
    closedir(d);
    rmdir(dir);
}
