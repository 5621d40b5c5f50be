/*
 * secret.h - wiping and comparing secrets (passwords, hashes, session IDs,
 * keys), over libsodium. This is the only code in the library that does
 * either: every other layer calls these, and the public trex_pam_wipe(),
 * trex_pam_secret_equal() and trex_pam_drop_secret() are these functions.
 * None needs sodium_init(); all are safe in any thread.
 */
#ifndef TP_SECRET_H
#define TP_SECRET_H

#include <stddef.h>

/* Overwrite n bytes at p with zeros in a way the compiler cannot drop
 * (sodium_memzero). p NULL or n 0: nothing. */
void tp_secret_wipe(void *p, size_t n);

/* Wipe the string *p (its strlen), free it and set *p to NULL. p or *p
 * NULL: nothing. */
void tp_secret_drop(char **p);

/* 1 if the n bytes at a and b are equal, else 0, in time that depends on n
 * only (sodium_memcmp). */
int tp_secret_equal(const void *a, const void *b, size_t n);

/* 1 if the strings a and b are equal, else 0. The time depends on the
 * lengths only, never on where they differ: a is the string whose length
 * may be known (a value computed here), b the one being checked. NULL is
 * equal to nothing. */
int tp_secret_streq(const char *a, const char *b);

#endif /* TP_SECRET_H */
