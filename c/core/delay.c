/*
 * delay.c - the fail delay, as Linux-PAM's pam_fail_delay.c: the largest
 * request since the last reset, randomised to [0.5, 1.5) of itself, handed
 * to the PAM_FAIL_DELAY function on every completion or slept on failure.
 * It does not count the time the call took.
 */
#include <errno.h>
#include <stdint.h>
#include <time.h>
#include <sys/random.h>
#include "impl.h"

int trex_pam_fail_delay(trex_pam_handle_t *h, unsigned int usec)
{
    unsigned int largest;

    if (!tp_handle_ok(h))
        return TREX_PAM_SYSTEM_ERR;
    if (h->delay_set) {
        largest = h->delay_base;
    } else {
        h->delay_set = 1;
        largest = 0;                      /* the stale base survives a request of 0 */
    }
    if (largest < usec)
        h->delay_base = usec;
    return TREX_PAM_SUCCESS;
}

/* base * (1 + u - 0.5), u the mean of three uniform [0,1) draws. */
static unsigned int compute_delay(unsigned int base)
{
    uint32_t r[3] = { 0, 0, 0 };
    double sum = 0;
    if (base == 0)
        return 0;
    if (getrandom(r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r) {
        r[0] = r[1] = r[2] = (uint32_t)time(NULL) * 2654435761u;   /* no entropy yet: still bounded */
    }
    for (int i = 0; i < 3; i++)
        sum += (double)(r[i] % 1000000u) / 1e6;
    sum = sum / 3.0 - 0.5;
    return (unsigned int)((double)base * (1.0 + sum));
}

/* The random draw (a getrandom system call) is made only when the delay is
 * used: handed to the delay function (on every completion), or slept on a
 * failure; a success without a delay function uses none. */
void tp_delay_finish(trex_pam_handle_t *h, int status)
{
    if (h->fail_delay_fn != NULL) {
        h->fail_delay_fn(status, compute_delay(h->delay_base), h->conv.appdata_ptr);
    } else if (status != TREX_PAM_SUCCESS && h->delay_set) {
        unsigned int delay = compute_delay(h->delay_base);
        if (delay > 0) {
            struct timespec ts = { delay / 1000000u, (long)(delay % 1000000u) * 1000L };
            while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
                ;
        }
    }
    h->delay_set = 0;
}
