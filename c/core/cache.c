/*
 * cache.c - configurations: read for a handle, shared through the
 * application's trex_pam_confcache while their files are unchanged
 * (checked again at most once per recheck interval), and freed with their
 * last reference.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "conf.h"

#define TP_DEFAULT_RECHECK_USEC 1000L

/* A configuration depends on the directory and the service (the key), and
 * on the registry its bare module names were looked up in (the slot's). */
static char *cache_key(const trex_pam_handle_t *h, const char *service)
{
    char *k;
    return asprintf(&k, "%s\n%s", h->confdir, service) < 0 ? NULL : k;
}

int tp_conf_load(trex_pam_handle_t *h, const char *service, struct tp_conf **out)
{
    struct trex_pam_confcache *cache;
    struct tp_cache_slot *slot = NULL;
    struct tp_conf *c;
    char *key = NULL;
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
        if ((key = cache_key(h, service)) == NULL)
            return TREX_PAM_BUF_ERR;
        for (int i = 0; i < TP_CACHE_SLOTS && slot == NULL; i++)
            if (cache->slot[i].key != NULL && cache->slot[i].registry == h->registry &&
                strcmp(cache->slot[i].key, key) == 0)
                slot = &cache->slot[i];
        if (slot != NULL && !slot->conf->racy) {
            struct timespec now;
            long long age;
            clock_gettime(CLOCK_MONOTONIC, &now);
            age = (tp_files_ns(&now) - tp_files_ns(&slot->conf->checked)) / 1000;
            if (age < cache->recheck_usec || tp_files_unchanged(slot->conf)) {
                if (age >= cache->recheck_usec)
                    slot->conf->checked = now;
                free(key);
                slot->conf->refs++;
                *out = slot->conf;
                return TREX_PAM_SUCCESS;
            }
        }
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
                if (cache->slot[i].key == NULL)
                    slot = &cache->slot[i];
            if (slot == NULL)
                slot = &cache->slot[cache->next++ % TP_CACHE_SLOTS];
        }
        free(slot->key);
        tp_conf_free(slot->conf);                        /* in-use copies live on */
        slot->key = key;
        slot->registry = h->registry;
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
        free(cache->slot[i].key);
        tp_conf_free(cache->slot[i].conf);
    }
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
