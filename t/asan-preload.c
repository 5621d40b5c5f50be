/*
 * asan-preload.c - the sanitizer runtime for perl processes only, for
 * t/08-perl-asan.t, which builds this (without the sanitizers) and preloads
 * it into every process the suite starts.
 *
 * Perl is not instrumented, so the ASan runtime must come first through
 * LD_PRELOAD before perl can load the instrumented XS object. But the suite
 * also starts programs that cannot run with that runtime (postgres hangs at
 * start; Chromium's sandbox refuses it), and each perl process starts
 * others. So this library, harmless anywhere, acts in perl only, before
 * perl's main: a perl without the runtime execs itself again (the same
 * argv, from /proc/self/cmdline) with the runtime first in LD_PRELOAD; a
 * perl with it takes the runtime out of LD_PRELOAD again, so what it starts
 * gets only this library, and a perl among those comes back here. (A perl
 * module through PERL5OPT would come too late: perl loads the command
 * line's -M modules first, and one of them may be TRex::PAM.)
 *
 *   TREX_PAM_ASAN_PERL     perl's path, as /proc/self/exe names it
 *   TREX_PAM_ASAN_RUNTIME  the runtime (gcc -print-file-name=libasan.so)
 *   TREX_PAM_UBSAN_RUNTIME libubsan.so, and TREX_PAM_UBSAN_LOG its log_path
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* LD_PRELOAD without the word rt (words are separated by spaces or colons) */
static void drop_runtime(const char *rt)
{
    const char *pre = getenv("LD_PRELOAD");
    size_t rl = strlen(rt);
    char *out, *o;

    if (pre == NULL || (out = malloc(strlen(pre) + 1)) == NULL)
        return;
    o = out;
    for (const char *p = pre; *p != '\0';) {
        size_t n = strcspn(p, " :");
        if (n > 0 && !(n == rl && strncmp(p, rt, n) == 0)) {
            if (o != out)
                *o++ = ' ';
            memcpy(o, p, n);
            o += n;
        }
        p += n;
        p += strspn(p, " :");
    }
    *o = '\0';
    if (o == out)
        unsetenv("LD_PRELOAD");
    else
        setenv("LD_PRELOAD", out, 1);
    free(out);
}

/* argv again, from /proc/self/cmdline (NUL-separated); NULL on failure */
static char **own_argv(void)
{
    FILE *f = fopen("/proc/self/cmdline", "re");
    char *buf = NULL, **argv;
    size_t len = 0, cap = 0, argc = 0, i = 0;
    int c;

    if (f == NULL)
        return NULL;
    while ((c = getc(f)) != EOF) {
        if (len + 1 >= cap) {
            char *b = realloc(buf, cap = cap ? cap * 2 : 4096);
            if (b == NULL) {
                fclose(f);
                free(buf);
                return NULL;
            }
            buf = b;
        }
        buf[len++] = (char)c;
        argc += c == '\0';
    }
    fclose(f);
    if (len == 0 || (argv = calloc(argc + 1, sizeof *argv)) == NULL)
        return NULL;
    for (size_t off = 0; off < len && i < argc; off += strlen(buf + off) + 1)
        argv[i++] = buf + off;
    return argv;
}

/*
 * UBSan's reports to files too. gcc's libubsan is a library of its own,
 * beside libasan, and both define __sanitizer_set_report_path: libubsan's
 * own start-up call to it reaches libasan's, so UBSAN_OPTIONS' log_path never
 * becomes libubsan's and its reports go to standard error. Asked through a
 * handle of libubsan, dlsym gives libubsan's own.
 */
static void ubsan_log(void)
{
    const char *ub = getenv("TREX_PAM_UBSAN_RUNTIME"), *log = getenv("TREX_PAM_UBSAN_LOG");
    void *h;
    void (*set_path)(const char *);

    if (ub == NULL || log == NULL || (h = dlopen(ub, RTLD_NOW | RTLD_GLOBAL)) == NULL)
        return;
    *(void **)&set_path = dlsym(h, "__sanitizer_set_report_path");
    if (set_path != NULL)
        set_path(log);
}

__attribute__((constructor))
static void asan_for_perl(void)
{
    const char *perl = getenv("TREX_PAM_ASAN_PERL");
    const char *rt = getenv("TREX_PAM_ASAN_RUNTIME");
    const char *pre = getenv("LD_PRELOAD");
    char exe[4096], *both, **argv;
    ssize_t n;

    if (perl == NULL || rt == NULL || *rt == '\0')
        return;
    n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n < 0)
        return;
    exe[n] = '\0';
    if (strcmp(exe, perl) != 0)
        return;
    if (dlsym(RTLD_DEFAULT, "__asan_init") != NULL) {
        drop_runtime(rt);
        ubsan_log();
        return;
    }
    argv = own_argv();
    both = malloc(strlen(rt) + strlen(pre ? pre : "") + 2);
    if (argv == NULL || both == NULL) {
        fprintf(stderr, "asan-preload: out of memory\n");
        _exit(127);
    }
    sprintf(both, "%s %s", rt, pre ? pre : "");
    setenv("LD_PRELOAD", both, 1);
    execv(exe, argv);
    perror("asan-preload: execv");
    _exit(127);
}
