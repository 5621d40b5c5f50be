/* modargs.c - see modargs.h. */
#include "modargs.h"

int tp_arg_number(const char *v, int64_t max, int64_t *out)
{
    int64_t n = 0;
    if (*v == '\0')
        return -1;
    for (; *v != '\0'; v++) {
        if (*v < '0' || *v > '9')
            return -1;
        n = n * 10 + (*v - '0');
        if (n > max)
            return -1;
    }
    *out = n;
    return 0;
}
