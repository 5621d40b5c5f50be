/* harness.c - see harness.h (the stores: harness_store.c). */
#include "harness.h"
#include <dirent.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>

/* ---- the temporary directory ------------------------------------------------ */

static char *dir;

const char *th_dir(void)
{
    if (dir == NULL && (dir = tap_tmpdir()) == NULL) {
        printf("Bail out! cannot make a temporary directory\n");
        fflush(stdout);
        exit(1);
    }
    return dir;
}

const char *th_path(const char *name)
{
    static char buf[16][PATH_MAX];
    static int k;
    k = (k + 1) % 16;
    snprintf(buf[k], sizeof buf[k], "%s/%s", th_dir(), name);
    return buf[k];
}

#define MAX_KEYS 16
static struct {
    char *key, *value;
} keys[MAX_KEYS];

void th_define(const char *key, const char *value)
{
    int i;
    for (i = 0; i < MAX_KEYS && keys[i].key != NULL; i++)
        if (strcmp(keys[i].key, key) == 0)
            break;
    if (i == MAX_KEYS) {
        tap_diag("th_define: more than %d keys", MAX_KEYS);
        return;
    }
    free(keys[i].key);
    free(keys[i].value);
    keys[i].key = strdup(key);
    keys[i].value = strdup(value);
}

/* text with every key (and @DIR@) replaced, malloc'd */
static char *expand(const char *text)
{
    size_t size = strlen(text) + 1, o = 0;
    char *out;

    /* every replacement at most this long: enough room */
    for (const char *p = text; *p; p++)
        if (*p == '@')
            size += PATH_MAX;
    for (int i = 0; i < MAX_KEYS && keys[i].key != NULL; i++)
        for (const char *p = text; (p = strstr(p, keys[i].key)) != NULL; p++)
            size += strlen(keys[i].value);
    if ((out = malloc(size)) == NULL)
        return NULL;
    while (*text != '\0') {
        const char *value = NULL;
        size_t klen = 0;
        if (strncmp(text, "@DIR@", 5) == 0) {
            value = th_dir();
            klen = 5;
        }
        for (int i = 0; value == NULL && i < MAX_KEYS && keys[i].key != NULL; i++)
            if (strncmp(text, keys[i].key, strlen(keys[i].key)) == 0) {
                value = keys[i].value;
                klen = strlen(keys[i].key);
            }
        if (value != NULL) {
            o += (size_t)snprintf(out + o, size - o, "%s", value);
            text += klen;
        } else {
            out[o++] = *text++;
        }
    }
    out[o] = '\0';
    return out;
}

int th_file(const char *name, const char *text)
{
    char *t = expand(text);
    int rc = t != NULL ? tap_write_file(th_dir(), name, t) : -1;
    if (rc != 0)
        tap_diag("cannot write %s", th_path(name));
    free(t);
    return rc;
}

void th_files(const struct th_text *files)
{
    for (const struct th_text *f = files; f->name != NULL; f++)
        if (th_file(f->name, f->text) != 0)
            th_bail("cannot write the test configuration");
}

void th_dir_clear(void)
{
    DIR *d = opendir(th_dir());
    struct dirent *de;
    struct stat sb;

    if (d == NULL)
        return;
    while ((de = readdir(d)) != NULL) {
        const char *p;
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        p = th_path(de->d_name);
        if (lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode))
            tap_rmtree(p);
        else
            unlink(p);
    }
    closedir(d);
}

void th_settle(void)
{
    struct timespec ts = { 0, 30 * 1000000L };
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* ---- the conversation ---------------------------------------------------------- */

#define MAX_ANSWERS 16
static const char *queue[MAX_ANSWERS];
static int qn, qi;
static const char *always;
static int answer_always;
static void (*on_prompt)(const char *prompt);
static char seen[16384], infos[16384];
static int calls;

/* th_fail's answers: one byte each, recognised by their address */
#define MAX_FAIL 64
static const char fail_marks[MAX_FAIL];

const char *th_fail(int rc)
{
    return rc >= 0 && rc < MAX_FAIL ? &fail_marks[rc] : &fail_marks[TREX_PAM_CONV_ERR];
}

static int fail_code(const char *answer)
{
    uintptr_t a = (uintptr_t)answer, base = (uintptr_t)fail_marks;
    return answer != NULL && a >= base && a < base + MAX_FAIL ? (int)(a - base) : -1;
}

void th_seen_reset(void)
{
    seen[0] = infos[0] = '\0';
    calls = 0;
}

void th_answers(int n, ...)
{
    va_list ap;
    if (n > MAX_ANSWERS) {
        tap_diag("th_answers: more than %d answers", MAX_ANSWERS);
        n = MAX_ANSWERS;
    }
    va_start(ap, n);
    for (int i = 0; i < n; i++)
        queue[i] = va_arg(ap, const char *);
    va_end(ap);
    qn = n;
    qi = 0;
    answer_always = 0;
    th_seen_reset();
}

void th_answer_always(const char *answer)
{
    always = answer;
    answer_always = 1;
}

void th_on_prompt(void (*fn)(const char *prompt))
{
    on_prompt = fn;
}

static void append(char *buf, size_t size, const char *sep, const char *kind, const char *text)
{
    size_t n = strlen(buf);
    snprintf(buf + n, size - n, "%s%s%s", n ? sep : "", kind, text ? text : "(null)");
}

static void record(int style, const char *text)
{
    char kind[16];
    switch (style) {
    case TREX_PAM_PROMPT_ECHO_OFF: snprintf(kind, sizeof kind, "PROMPT:"); break;
    case TREX_PAM_PROMPT_ECHO_ON: snprintf(kind, sizeof kind, "ECHO:"); break;
    case TREX_PAM_ERROR_MSG: snprintf(kind, sizeof kind, "ERR:"); break;
    case TREX_PAM_TEXT_INFO: snprintf(kind, sizeof kind, "INFO:"); break;
    default: snprintf(kind, sizeof kind, "MSG%d:", style); break;
    }
    append(seen, sizeof seen, "|", kind, text);
    if (style == TREX_PAM_TEXT_INFO)
        append(infos, sizeof infos, ",", "", text);
}

int th_conv(int n, const struct trex_pam_message **msg, struct trex_pam_response **resp, void *data)
{
    struct trex_pam_response *out = calloc(n > 0 ? (size_t)n : 1, sizeof *out);
    int rc = TREX_PAM_SUCCESS;

    calls++;
    if (out == NULL)
        return TREX_PAM_BUF_ERR;
    for (int i = 0; i < n && rc == TREX_PAM_SUCCESS; i++) {
        const char *answer;
        record(msg[i]->msg_style, msg[i]->msg);
        if (msg[i]->msg_style != TREX_PAM_PROMPT_ECHO_OFF && msg[i]->msg_style != TREX_PAM_PROMPT_ECHO_ON)
            continue;
        if (on_prompt != NULL)
            on_prompt(msg[i]->msg);
        if (answer_always)
            answer = always != NULL ? always : th_fail(TREX_PAM_CONV_ERR);
        else
            answer = qi < qn ? queue[qi++] : th_fail(TREX_PAM_CONV_ERR);
        if (fail_code(answer) >= 0)
            rc = fail_code(answer);
        else if (answer != NULL && (out[i].resp = strdup(answer)) == NULL)
            rc = TREX_PAM_BUF_ERR;
    }
    if (rc != TREX_PAM_SUCCESS) {
        for (int i = 0; i < n; i++)
            free(out[i].resp);
        free(out);
        return rc;
    }
    *resp = out;
    return TREX_PAM_SUCCESS;
}

const char *th_seen(void)
{
    return seen;
}

const char *th_infos(void)
{
    return infos;
}

int th_seen_count(const char *entry)
{
    size_t len = strlen(entry);
    int count = 0;
    for (const char *p = seen; *p != '\0';) {
        const char *end = strchr(p, '|');
        size_t n = end != NULL ? (size_t)(end - p) : strlen(p);
        /* a message's text may hold '|': an entry ends where the next kind starts */
        while (end != NULL && strncmp(end + 1, "PROMPT:", 7) != 0 && strncmp(end + 1, "ECHO:", 5) != 0 &&
               strncmp(end + 1, "ERR:", 4) != 0 && strncmp(end + 1, "INFO:", 5) != 0 &&
               strncmp(end + 1, "MSG", 3) != 0) {
            end = strchr(end + 1, '|');
            n = end != NULL ? (size_t)(end - p) : strlen(p);
        }
        count += n == len && strncmp(p, entry, len) == 0;
        p += n + (end != NULL);
    }
    return count;
}

int th_conv_calls(void)
{
    return calls;
}

/* ---- the log --------------------------------------------------------------------- */

static char logbuf[TH_LOG_SIZE];
static size_t loglen, logmark;
static int loglines;

static void log_line(void *data, int prio, const char *line)
{
    size_t n = strlen(line);
    if (loglen + n + 2 > sizeof logbuf)
        return;
    memcpy(logbuf + loglen, line, n);
    loglen += n;
    logbuf[loglen++] = '\n';
    logbuf[loglen] = '\0';
    loglines++;
}

void th_log_reset(void)
{
    logmark = loglen;
    loglines = 0;
}

const char *th_log(void)
{
    return logbuf + logmark;
}

int th_logged(const char *text)
{
    return strstr(th_log(), text) != NULL;
}

int th_log_count(const char *text)
{
    int n = 0;
    size_t len = strlen(text);
    if (len == 0)
        return 0;
    for (const char *p = th_log(); (p = strstr(p, text)) != NULL; p += len)
        n++;
    return n;
}

int th_log_lines(void)
{
    return loglines;
}

const char *th_log_all(void)
{
    return logbuf;
}

size_t th_log_len(void)
{
    return loglen;
}

/* ---- the fail delay ------------------------------------------------------------------ */

static int delay_calls, delay_status = -1;
static unsigned int delay_usec;

void th_delay(int status, unsigned int usec, void *appdata)
{
    delay_calls++;
    delay_status = status;
    delay_usec = usec;
}

int th_delay_calls(void)
{
    return delay_calls;
}

unsigned int th_delay_usec(void)
{
    return delay_usec;
}

int th_delay_status(void)
{
    return delay_status;
}

/* ---- test:pw ------------------------------------------------------------------------- */

static int pw_calls;
static char pw_seen[256];

static int pw_auth(trex_pam_handle_t *h, int flags, int argc, const char **argv, void *inst)
{
    const char *tok = NULL;
    int rc = trex_pam_get_authtok(h, TREX_PAM_AUTHTOK, &tok, NULL);
    pw_calls++;
    if (rc != TREX_PAM_SUCCESS)
        return rc;
    snprintf(pw_seen, sizeof pw_seen, "%s", tok);
    return strcmp(tok, "secret") == 0 ? TREX_PAM_SUCCESS : TREX_PAM_AUTH_ERR;
}

static int pw_ok(trex_pam_handle_t *h, int flags, int argc, const char **argv, void *inst)
{
    return TREX_PAM_SUCCESS;
}

const struct trex_pam_module th_pw_module = {
    TREX_PAM_MODULE_ABI, "pw", pw_auth, pw_ok, pw_ok, pw_ok, pw_ok, pw_ok, NULL, NULL, NULL
};

int th_pw_calls(void)
{
    return pw_calls;
}

const char *th_pw_seen(void)
{
    return pw_seen;
}

/* ---- handles ---------------------------------------------------------------------------- */

static const struct th_module *modules;
static struct trex_pam_confcache *cache;
static const char *confdir;
static int no_resolver, start_rc;

void th_modules(const struct th_module *table)
{
    modules = table;
}

void th_cache(struct trex_pam_confcache *c)
{
    cache = c;
}

void th_confdir(const char *d)
{
    confdir = d;
}

void th_resolver(int on)
{
    no_resolver = !on;
}

static int resolve(trex_pam_handle_t *pamh, void *data, const char *name,
                   const struct trex_pam_module **mod, void **inst)
{
    *inst = NULL;
    *mod = NULL;
    for (const struct th_module *m = modules; m != NULL && m->name != NULL; m++)
        if (strcmp(m->name, name) == 0)
            *mod = m->mod;
    if (*mod == NULL && strcmp(name, "test:pw") == 0)
        *mod = &th_pw_module;
    if (*mod == NULL && strncmp(name, "test:", 5) == 0)
        *mod = trex_pam_builtin_registry()->lookup(name + 5);
    return *mod != NULL ? TREX_PAM_SUCCESS : TREX_PAM_MODULE_UNKNOWN;
}

trex_pam_handle_t *th_start(const char *service, const char *user)
{
    struct trex_pam_conv c = { th_conv, NULL };
    struct trex_pam_options o = {
        .size = sizeof o, .registry = trex_pam_builtin_registry(),
        .confdir = confdir != NULL ? confdir : th_dir(), .cache = cache,
        .log_mode = TREX_PAM_LOG_CALLBACK, .log_fn = log_line,
        .resolve = no_resolver ? NULL : resolve,
    };
    trex_pam_handle_t *h = NULL;

    th_seen_reset();
    delay_calls = 0;
    delay_status = -1;
    delay_usec = 0;
    pw_calls = 0;
    pw_seen[0] = '\0';
    start_rc = trex_pam_start_opts(service, user, &c, &o, &h);
    if (start_rc != TREX_PAM_SUCCESS) {
        tap_diag("start %s: %d", service, start_rc);
        return NULL;
    }
    trex_pam_set_item(h, TREX_PAM_FAIL_DELAY, (const void *)th_delay);
    return h;
}

int th_start_rc(void)
{
    return start_rc;
}

trex_pam_handle_t *th_start_pass(const char *service, const char *user, const char *pass)
{
    th_answer_always(pass);
    return th_start(service, user);
}

static int run(const char *service, const char *user, const char *pass, int flags, int acct)
{
    trex_pam_handle_t *h;
    int rc;

    if ((h = th_start_pass(service, user, pass)) == NULL)
        return -1;
    rc = trex_pam_authenticate(h, flags);
    if (acct && rc == TREX_PAM_SUCCESS)
        rc = trex_pam_acct_mgmt(h, 0);
    trex_pam_end(h, rc);
    return rc;
}

int th_auth(const char *service, const char *user, const char *pass, int flags)
{
    return run(service, user, pass, flags, 0);
}

int th_login(const char *service, const char *user, const char *pass)
{
    return run(service, user, pass, 0, 1);
}

/* ---- checks ------------------------------------------------------------------------------- */

int th_returns(void (*fn)(void *), void *arg, const char *fmt, ...)
{
    char what[512];
    va_list ap;
    int status = 0, ok;
    pid_t pid;

    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    fflush(stdout);
    fflush(stderr);
    if ((pid = fork()) == 0) {
        fn(arg);
        _exit(0);
    }
    ok = pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    tap_ok(ok, "%s", what);
    if (!ok) {
        if (pid < 0)
            tap_diag("fork failed");
        else if (WIFSIGNALED(status))
            tap_diag("the child was killed by signal %d", WTERMSIG(status));
        else if (WIFEXITED(status))
            tap_diag("the child exited with %d", WEXITSTATUS(status));
    }
    return ok;
}

int th_parallel(int n, int (*fn)(int k))
{
    pid_t *pids = calloc(n > 0 ? (size_t)n : 1, sizeof *pids);
    int go[2], sum = 0;

    if (pids == NULL || pipe(go) != 0) {
        free(pids);
        return 1000 * n;
    }
    fflush(stdout);
    fflush(stderr);
    for (int k = 0; k < n; k++) {
        if ((pids[k] = fork()) == 0) {
            char c;
            close(go[1]);
            if (read(go[0], &c, 1) < 0)   /* EOF when the parent closes its end: go */
                _exit(255);
            _exit(fn(k));
        }
    }
    close(go[0]);
    close(go[1]);
    for (int k = 0; k < n; k++) {
        int status = 0;
        if (pids[k] < 0 || waitpid(pids[k], &status, 0) != pids[k] || !WIFEXITED(status))
            sum += 1000;
        else
            sum += WEXITSTATUS(status);
    }
    free(pids);
    return sum;
}

static void cleanup(void)
{
    if (dir != NULL) {
        tap_rmtree(dir);
        free(dir);
        dir = NULL;
    }
    for (int i = 0; i < MAX_KEYS; i++) {
        free(keys[i].key);
        free(keys[i].value);
        keys[i].key = keys[i].value = NULL;
    }
}

/* A last TAP line (prefix, then the message), and the cleanup. */
static void last_line(const char *prefix, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
static void last_line(const char *prefix, const char *fmt, va_list ap)
{
    fputs(prefix, stdout);
    vprintf(fmt, ap);
    putchar('\n');
    fflush(stdout);
    cleanup();
}

void th_bail(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    last_line("Bail out! ", fmt, ap);
    va_end(ap);
    exit(1);
}

int th_skip_all(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    last_line("1..0 # SKIP ", fmt, ap);
    va_end(ap);
    return 0;
}

int th_done(void)
{
    cleanup();
    return tap_done();
}
