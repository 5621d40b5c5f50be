/* secret.c - see secret.h. */
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include "secret.h"

void tp_secret_wipe(void *p, size_t n)
{
    if (p != NULL && n > 0)
        sodium_memzero(p, n);
}

void tp_secret_drop(char **p)
{
    if (p == NULL || *p == NULL)
        return;
    sodium_memzero(*p, strlen(*p));
    free(*p);
    *p = NULL;
}

int tp_secret_equal(const void *a, const void *b, size_t n)
{
    if (n == 0)
        return 1;
    return sodium_memcmp(a, b, n) == 0;
}

int tp_secret_streq(const char *a, const char *b)
{
    size_t n, m;

    if (a == NULL || b == NULL)
        return 0;
    n = strlen(a);
    m = strlen(b);
    /* compare a with itself when the lengths differ: the same work */
    return (sodium_memcmp(a, n == m ? b : a, n) == 0) & (n == m);
}
