/* t_imap.c - the imap module's url= parser (modules/imap.h); the logins
 * themselves are t/78-imap.t's, against a private Dovecot. */
#include <string.h>
#include "tap.h"
#include "imap.h"

static void good(const char *url, int tls, const char *host, unsigned int port)
{
    struct tp_imap_url u;
    char why[128] = "";

    if (!tap_ok(tp_imap_url_parse(url, &u, why, sizeof why) == 0, "%s parses", url)) {
        tap_diag("%s", why);
        return;
    }
    tap_is_int(u.implicit_tls, tls, "%s: implicit TLS %d", url, tls);
    tap_is_str(u.host, host, "%s: host", url);
    tap_is_int((long)u.port, (long)port, "%s: port", url);
}

static void bad(const char *url, const char *want)
{
    struct tp_imap_url u;
    char why[128] = "";

    tap_ok(tp_imap_url_parse(url, &u, why, sizeof why) == -1, "%s is refused", url);
    tap_ok(strstr(why, want) != NULL, "... %s (%s)", want, why);
    tap_ok(strstr(why, "secret") == NULL, "... the reason does not quote the url");
}

int main(void)
{
    char longhost[400];

    good("imaps://mail.example.org", 1, "mail.example.org", 993);
    good("imap://mail.example.org", 0, "mail.example.org", 143);
    good("imaps://127.0.0.1:10993/", 1, "127.0.0.1", 10993);
    good("imap://[::1]:1143", 0, "[::1]", 1143);
    good("imap://mail-1.example.org:65535", 0, "mail-1.example.org", 65535);

    bad("https://mail.example.org", "must start with imaps:// or imap://");
    bad("IMAPS://mail.example.org", "must start with");
    bad("imaps://", "no host name");
    bad("imaps://alice:secret@mail.example.org", "no user, path or query");
    bad("imaps://mail.example.org//", "only imap[s]://HOST[:PORT]");
    bad("imaps://mail.example.org/INBOX", "only imap[s]://HOST[:PORT]");
    bad("imaps://mail.example.org/?secret", "only imap[s]://HOST[:PORT]");
    bad("imaps://mail.example.org:0", "a bad port");
    bad("imaps://mail.example.org:65536", "a bad port");
    bad("imaps://mail.example.org:99999999999", "a bad port");
    bad("imaps://mail.example.org:", "a bad port");
    bad("imaps://mail.example.org:99x", "only imap[s]://HOST[:PORT]");
    bad("imaps://[::1", "a bad IPv6 address");
    bad("imaps://[]", "a bad IPv6 address");
    bad("imaps://mail example.org", "only imap[s]://HOST[:PORT]");
    memcpy(longhost, "imaps://", 8);
    memset(longhost + 8, 'a', 300);
    longhost[308] = '\0';
    bad(longhost, "too long");
    return tap_done();
}
