/*
 * util.c - what every part of the core leans on: whether a handle may be
 * used (fork detection), and the secret helpers of the module API, which
 * are c/crypto's (secret.h).
 */
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include "impl.h"

void trex_pam_wipe(void *p, size_t n)
{
    tp_secret_wipe(p, n);
}

int trex_pam_secret_equal(const void *a, const void *b, size_t n)
{
    return tp_secret_equal(a, b, n);
}

void trex_pam_drop_secret(char **p)
{
    tp_secret_drop(p);
}

/*
 * Fork detection without a system call per use: a child handler registered
 * once with pthread_atfork counts the forks. This counter is the core's one
 * mutable global, on purpose: having been forked is a fact about the whole
 * process, and it is only written in a child just after fork(), while that
 * child has a single thread.
 */
static volatile unsigned int fork_generation;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void count_fork(void)
{
    fork_generation++;
}

static void register_atfork(void)
{
    (void)pthread_atfork(NULL, NULL, count_fork);
}

unsigned int tp_fork_generation(void)
{
    (void)pthread_once(&atfork_once, register_atfork);
    return fork_generation;
}

int tp_handle_ok(const trex_pam_handle_t *h)
{
    return h != NULL && h->fork_gen == fork_generation;
}
