/*
 * cache.c - configurations: read for a handle, shared through the
 * application's trex_pam_confcache while their files are unchanged
 * (checked again at most once per recheck interval), and freed with their
 * last reference; and the name of the directory a handle reads, shared
 * with the cache so that a start naming the same directory as the last
 * one allocates nothing for it.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "conf.h"

#define TP_DEFAULT_RECHECK_USEC 1000L

/* ---- the directory's name, shared -------------------------------------------- */

/* A handle's h->confdir is the path of one of these, counted by the handles
 * and the cache holding it. */
struct tp_dirname {
    unsigned long refs;
    char path[];
};

static struct tp_dirname *dirname_of(const char *path)
{
    return (struct tp_dirname *)(void *)(path - offsetof(struct tp_dirname, path));
}

static const char *dir_share(const char *path)
{
    dirname_of(path)->refs++;
    return path;
}

const char *tp_confdir_hold(struct trex_pam_confcache *cache, const char *path)
{
    struct tp_dirname *d;
    size_t n;

    if (cache != NULL && cache->dir != NULL && strcmp(cache->dir, path) == 0)
        return dir_share(cache->dir);           /* the same name as last time */
    n = strlen(path) + 1;
    if ((d = malloc(offsetof(struct tp_dirname, path) + n)) == NULL)
        return NULL;
    d->refs = 1;
    memcpy(d->path, path, n);
    if (cache != NULL) {
        tp_confdir_drop(cache->dir);
        cache->dir = dir_share(d->path);
    }
    return d->path;
}

void tp_confdir_drop(const char *path)
{
    struct tp_dirname *d;

    if (path == NULL)
        return;
    d = dirname_of(path);
    if (--d->refs == 0)
        free(d);
}

/* ---- configurations ---------------------------------------------------------- */

/* A configuration depends on the directory and the service (the key), on
 * whether the directory was named (a missing one is an error then, else
 * the registry's default stack), and on the registry its bare module names
 * were looked up in. Compared in place: a hit allocates nothing. */
static struct tp_cache_slot *find_slot(struct trex_pam_confcache *cache,
                                       const trex_pam_handle_t *h, const char *service)
{
    for (int i = 0; i < TP_CACHE_SLOTS; i++) {
        struct tp_cache_slot *s = &cache->slot[i];
        if (s->conf != NULL && s->registry == h->registry &&
            s->confdir_explicit == h->confdir_explicit && strcmp(s->service, service) == 0 &&
            (s->confdir == h->confdir || strcmp(s->confdir, h->confdir) == 0))
            return s;
    }
    return NULL;
}

int tp_conf_load(trex_pam_handle_t *h, const char *service, struct tp_conf **out)
{
    struct trex_pam_confcache *cache;
    struct tp_cache_slot *slot = NULL;
    struct tp_conf *c;
    char *key = NULL;                    /* the service, copied for a new slot */
    int rc;

    if (out == NULL)
        return TREX_PAM_SYSTEM_ERR;
    *out = NULL;
    if (h == NULL || h->confdir == NULL)
        return TREX_PAM_SYSTEM_ERR;
    if (service == NULL)
        return TREX_PAM_BAD_ITEM;
    cache = h->cache;
    if (cache != NULL) {
        slot = find_slot(cache, h, service);
        if (slot != NULL && !slot->conf->racy) {
            struct timespec now;
            long long age;
            clock_gettime(CLOCK_MONOTONIC, &now);
            age = (tp_files_ns(&now) - tp_files_ns(&slot->conf->checked)) / 1000;
            if (age < cache->recheck_usec || tp_files_unchanged(slot->conf)) {
                if (age >= cache->recheck_usec)
                    slot->conf->checked = now;
                slot->conf->refs++;
                *out = slot->conf;
                return TREX_PAM_SUCCESS;
            }
        }
        if (slot == NULL && (key = strdup(service)) == NULL)
            return TREX_PAM_BUF_ERR;
    }
    if ((c = calloc(1, sizeof *c)) == NULL) {
        free(key);
        return TREX_PAM_BUF_ERR;
    }
    c->refs = 1;
    if ((rc = tp_parse_service(h, service, c)) != TREX_PAM_SUCCESS) {
        tp_conf_free(c);
        free(key);
        return rc;
    }
    if (cache != NULL) {
        tp_files_checked(c);
        if (slot == NULL) {                              /* a free slot, else round-robin */
            for (int i = 0; i < TP_CACHE_SLOTS && slot == NULL; i++)
                if (cache->slot[i].conf == NULL)
                    slot = &cache->slot[i];
            if (slot == NULL)
                slot = &cache->slot[cache->next++ % TP_CACHE_SLOTS];
        }
        if (key != NULL) {                               /* a new key for this slot */
            free(slot->service);
            tp_confdir_drop(slot->confdir);
            slot->service = key;
            slot->confdir = dir_share(h->confdir);
            slot->confdir_explicit = h->confdir_explicit;
            slot->registry = h->registry;
        }
        tp_conf_free(slot->conf);                        /* in-use copies live on */
        slot->conf = c;
        c->refs++;
    }
    *out = c;
    return TREX_PAM_SUCCESS;
}

struct trex_pam_confcache *trex_pam_confcache_new(void)
{
    struct trex_pam_confcache *cache = calloc(1, sizeof *cache);
    if (cache != NULL)
        cache->recheck_usec = TP_DEFAULT_RECHECK_USEC;
    return cache;
}

long trex_pam_confcache_recheck(struct trex_pam_confcache *cache, long usec)
{
    long old;
    if (cache == NULL)
        return -1;
    old = cache->recheck_usec;
    cache->recheck_usec = usec < 0 ? 0 : usec;
    return old;
}

void trex_pam_confcache_free(struct trex_pam_confcache *cache)
{
    if (cache == NULL)
        return;
    for (int i = 0; i < TP_CACHE_SLOTS; i++) {
        free(cache->slot[i].service);
        tp_confdir_drop(cache->slot[i].confdir);
        tp_conf_free(cache->slot[i].conf);
    }
    tp_confdir_drop(cache->dir);
    free(cache);
}

void tp_conf_free(struct tp_conf *c)
{
    if (c == NULL || --c->refs > 0)
        return;
    tp_files_free(c);
    tp_parse_free(c);
    tp_load_free(c->mods);
    free(c);
}
