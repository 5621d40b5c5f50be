/*
 * bench/imap_floor.c - the floor under an IMAP password login, for
 * bench/password: the login the imap module makes, with libcurl alone and
 * no TRex::PAM code: an easy handle with the module's options
 * (CURLOPT_CONNECT_ONLY: connect, TLS, CAPABILITY, STARTTLS when asked,
 * LOGIN), perform, cleanup.
 *
 *   imap_floor URL CAFILE SECONDS [MAX]
 *       URL      imaps://HOST:PORT, or imap://HOST:PORT (STARTTLS required)
 *       CAFILE   the server's CA (PEM)
 *       the user is $BENCH_IMAP_USER, the password $BENCH_IMAP_PASSWORD
 *       (never on the command line); logins for SECONDS (at least one, at
 *       most MAX): prints the time of each, in ms, one a line.
 * Exit status 1 when a login fails.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <curl/curl.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int login(const char *url, const char *cafile, const char *user, const char *pw)
{
    CURL *c = curl_easy_init();
    CURLcode rc = CURLE_OK;

    if (c == NULL)
        return -1;
#define SET(opt, val) \
    if (rc == CURLE_OK) \
        rc = curl_easy_setopt(c, opt, val)
    SET(CURLOPT_URL, url);
    SET(CURLOPT_PROTOCOLS_STR, "imap,imaps");
    SET(CURLOPT_CONNECT_ONLY, 1L);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_FORBID_REUSE, 1L);
    SET(CURLOPT_TIMEOUT_MS, 10000L);
    SET(CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    SET(CURLOPT_SERVER_RESPONSE_TIMEOUT, 10L);
    SET(CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
    SET(CURLOPT_SSL_VERIFYPEER, 1L);
    SET(CURLOPT_SSL_VERIFYHOST, 2L);
    SET(CURLOPT_CAINFO, cafile);
    SET(CURLOPT_USERNAME, user);
    SET(CURLOPT_PASSWORD, pw);
#undef SET
    if (rc == CURLE_OK)
        rc = curl_easy_perform(c);
    curl_easy_cleanup(c);
    if (rc != CURLE_OK)
        fprintf(stderr, "imap_floor: %s\n", curl_easy_strerror(rc));
    return rc == CURLE_OK ? 0 : -1;
}

int main(int argc, char **argv)
{
    const char *user = getenv("BENCH_IMAP_USER"), *pw = getenv("BENCH_IMAP_PASSWORD");
    double secs, t0, t, *times;
    long max, n = 0;

    if (argc < 4 || argc > 5 || user == NULL || pw == NULL) {
        fprintf(stderr, "usage: imap_floor URL CAFILE SECONDS [MAX]"
                        " (BENCH_IMAP_USER, BENCH_IMAP_PASSWORD)\n");
        return 2;
    }
    secs = atof(argv[3]);
    max = argc == 5 ? atol(argv[4]) : 1000000;
    if (max < 1 || (times = malloc(sizeof *times * (size_t)max)) == NULL)
        return 2;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    t0 = t = now();
    while (n < max && (n == 0 || t < t0 + secs)) {
        double s = t;
        if (login(argv[1], argv[2], user, pw) != 0)
            return 1;
        t = now();
        times[n++] = t - s;
    }
    for (long i = 0; i < n; i++)
        printf("%.4f\n", times[i] * 1e3);
    free(times);
    curl_global_cleanup();
    return 0;
}
