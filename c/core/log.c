/*
 * log.c - the core's log: syslog (authpriv, ident = service) by default,
 * stderr or a callback on request. Callers never pass secrets.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include "impl.h"

/*
 * One datagram to /dev/log in the BSD syslog format, with the service as the
 * ident. We do not use openlog(3): it would change the host program's own
 * ident, a process-wide setting that a library must leave alone.
 */
static void send_syslog(const char *ident, int priority, const char *msg)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX, .sun_path = "/dev/log" };
    char buf[1280], stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    int fd, n;

    if (localtime_r(&now, &tm) == NULL || strftime(stamp, sizeof stamp, "%b %e %H:%M:%S", &tm) == 0)
        stamp[0] = '\0';
    n = snprintf(buf, sizeof buf, "<%d>%s %s[%ld]: %s", LOG_AUTHPRIV | (priority & LOG_PRIMASK),
                 stamp, ident, (long)getpid(), msg);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof buf)
        n = sizeof buf - 1;
    if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0)
        return;
    (void)sendto(fd, buf, (size_t)n, MSG_NOSIGNAL, (struct sockaddr *)&sa, sizeof sa);
    close(fd);
}

static int mode_from_env(void)
{
    const char *e = getenv("TREX_PAM_LOG");
    if (e == NULL || *e == '\0' || strcmp(e, "syslog") == 0)
        return TREX_PAM_LOG_SYSLOG;
    if (strcmp(e, "stderr") == 0)
        return TREX_PAM_LOG_STDERR;
    if (strcmp(e, "none") == 0)
        return TREX_PAM_LOG_NONE;
    return TREX_PAM_LOG_SYSLOG;
}

static const char *prio_name(int priority)
{
    switch (priority & LOG_PRIMASK) {
    case LOG_EMERG: case LOG_ALERT: case LOG_CRIT: case LOG_ERR: return "error";
    case LOG_WARNING: return "warning";
    case LOG_NOTICE: return "notice";
    case LOG_INFO: return "info";
    default: return "debug";
    }
}

/* One call, one line: a control character in what a line quotes (a user
 * name a client chose, a die message, the service) would otherwise let
 * whoever chose it write log lines of their own. */
static void one_line(char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            *s = '?';
}

static void vlog(const trex_pam_handle_t *h, int priority, const char *fmt, va_list ap)
{
    char line[1024], service[128];
    int mode = h ? h->log_mode : TREX_PAM_LOG_AUTO;

    if (mode == TREX_PAM_LOG_AUTO)
        mode = mode_from_env();
    if (mode == TREX_PAM_LOG_NONE)
        return;
    vsnprintf(line, sizeof line, fmt, ap);
    one_line(line);
    snprintf(service, sizeof service, "%s",
             h && h->item[TREX_PAM_SERVICE] ? h->item[TREX_PAM_SERVICE] : "trex-pam");
    one_line(service);
    switch (mode) {
    case TREX_PAM_LOG_CALLBACK:
        if (h->log_fn != NULL)
            h->log_fn(h->log_data, priority, line);
        break;
    case TREX_PAM_LOG_STDERR:
        fprintf(stderr, "%s(trex-pam) %s: %s\n", service, prio_name(priority), line);
        break;
    default:
        send_syslog(service, priority, line);
        break;
    }
}

void trex_pam_log(const trex_pam_handle_t *h, int priority, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(h, priority, fmt, ap);
    va_end(ap);
}
