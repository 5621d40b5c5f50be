/*
 * modargs.h - reading the arguments of a pam.d line, shared by the
 * built-in modules.
 */
#ifndef TP_MODARGS_H
#define TP_MODARGS_H
#include <stdint.h>

/* A decimal number 0..max, digits only (no sign, no blanks): 0 and *out set,
 * or -1 leaving *out alone. */
int tp_arg_number(const char *v, int64_t max, int64_t *out);
#endif
