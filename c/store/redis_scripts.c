/*
 * redis_scripts.c - the Lua scripts of the Redis backend (redis.h): each
 * change is one of them, run atomically by the server. Keys the caller
 * cannot name in advance (a user's set, a session of a set) are built from
 * the prefix passed in ARGV.
 */
#include "redis.h"

/* KEYS: s:hex, u:user. ARGV: user, created, last_used, idle, expires, ttl
 * (0: none), hex[, rhost]. 1 added, 0 the digest is taken. */
#define SES_ADD \
    "if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end\n" \
    "redis.call('HSET', KEYS[1], 'user', ARGV[1], 'created', ARGV[2], 'last_used', ARGV[3],\n" \
    "           'idle', ARGV[4], 'expires', ARGV[5])\n" \
    "if #ARGV >= 8 then redis.call('HSET', KEYS[1], 'rhost', ARGV[8]) end\n" \
    "local fresh = redis.call('EXISTS', KEYS[2]) == 0\n" \
    "redis.call('SADD', KEYS[2], ARGV[7])\n" \
    "local ttl = tonumber(ARGV[6])\n" \
    "if ttl > 0 then\n" \
    "  redis.call('EXPIRE', KEYS[1], ttl)\n" \
    "  local st = redis.call('TTL', KEYS[2])\n" \
    "  if fresh or (st >= 0 and st < ttl) then redis.call('EXPIRE', KEYS[2], ttl) end\n" \
    "else\n" \
    "  redis.call('PERSIST', KEYS[2])\n" \
    "end\n" \
    "return 1\n"

/* KEYS: s:hex. ARGV: now, threshold, prefix, read-only ("1"/"0").
 * -1 gone, 0 fresh enough, 1 written, 2 a write was needed (read-only). */
#define SES_TOUCH \
    "local v = redis.call('HMGET', KEYS[1], 'last_used', 'idle', 'expires', 'user')\n" \
    "if not v[1] or not v[4] then return -1 end\n" \
    "if tonumber(v[1]) >= tonumber(ARGV[2]) then return 0 end\n" \
    "if ARGV[4] == '1' then return 2 end\n" \
    "local now = tonumber(ARGV[1])\n" \
    "redis.call('HSET', KEYS[1], 'last_used', ARGV[1])\n" \
    "local idle, exp = tonumber(v[2]) or 0, tonumber(v[3]) or 0\n" \
    "local ttl, has = 0, false\n" \
    "if idle > 0 then ttl, has = idle, true end\n" \
    "if exp > 0 and (not has or exp - now < ttl) then ttl, has = exp - now, true end\n" \
    "if has then\n" \
    "  if ttl < 1 then ttl = 1 end\n" \
    "  redis.call('EXPIRE', KEYS[1], ttl)\n" \
    "  local sk = ARGV[3] .. 'u:' .. v[4]\n" \
    "  local st = redis.call('TTL', sk)\n" \
    "  if st >= 0 and st < ttl then redis.call('EXPIRE', sk, ttl) end\n" \
    "end\n" \
    "return 1\n"

/* KEYS: s:hex. ARGV: prefix, hex. 1 deleted, 0 none. */
#define SES_DELETE \
    "local u = redis.call('HGET', KEYS[1], 'user')\n" \
    "if not u then return 0 end\n" \
    "redis.call('DEL', KEYS[1])\n" \
    "redis.call('SREM', ARGV[1] .. 'u:' .. u, ARGV[2])\n" \
    "return 1\n"

/* KEYS: u:user. ARGV: prefix, user, hex to keep or "". How many deleted. */
#define SES_DELETE_USER \
    "local n = 0\n" \
    "for _, d in ipairs(redis.call('SMEMBERS', KEYS[1])) do\n" \
    "  if d ~= ARGV[3] then\n" \
    "    local k = ARGV[1] .. 's:' .. d\n" \
    "    if redis.call('HGET', k, 'user') == ARGV[2] then n = n + redis.call('DEL', k) end\n" \
    "    redis.call('SREM', KEYS[1], d)\n" \
    "  end\n" \
    "end\n" \
    "return n\n"

#define SES_FIELDS "'user', 'created', 'last_used', 'idle', 'expires', 'rhost'"

/* KEYS: u:user. ARGV: prefix, user, clean ("1": take expired digests out).
 * { hex, user, created, last_used, idle, expires, rhost or nil } each. */
#define SES_LIST_USER \
    "local out = {}\n" \
    "for _, d in ipairs(redis.call('SMEMBERS', KEYS[1])) do\n" \
    "  local v = redis.call('HMGET', ARGV[1] .. 's:' .. d, " SES_FIELDS ")\n" \
    "  if v[1] == ARGV[2] then\n" \
    "    out[#out + 1] = { d, v[1], v[2], v[3], v[4], v[5], v[6] }\n" \
    "  elseif ARGV[3] == '1' then\n" \
    "    redis.call('SREM', KEYS[1], d)\n" \
    "  end\n" \
    "end\n" \
    "return out\n"

/* KEYS: s: keys (a SCAN batch). ARGV: length of prefix .. "s:". As above. */
#define SES_READ \
    "local out = {}\n" \
    "local skip = tonumber(ARGV[1])\n" \
    "for _, k in ipairs(KEYS) do\n" \
    "  local v = redis.call('HMGET', k, " SES_FIELDS ")\n" \
    "  if v[1] then\n" \
    "    out[#out + 1] = { string.sub(k, skip + 1), v[1], v[2], v[3], v[4], v[5], v[6] }\n" \
    "  end\n" \
    "end\n" \
    "return out\n"

/* KEYS: s: keys (a SCAN batch). ARGV: prefix, idle_before, created_before,
 * length of prefix .. "s:". How many deleted. */
#define SES_PURGE \
    "local n = 0\n" \
    "local ib, cb, skip = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])\n" \
    "for _, k in ipairs(KEYS) do\n" \
    "  local v = redis.call('HMGET', k, 'user', 'created', 'last_used')\n" \
    "  if v[1] and ((tonumber(v[3]) or 0) < ib or (tonumber(v[2]) or 0) < cb) then\n" \
    "    n = n + redis.call('DEL', k)\n" \
    "    redis.call('SREM', ARGV[1] .. 'u:' .. v[1], string.sub(k, skip + 1))\n" \
    "  end\n" \
    "end\n" \
    "return n\n"

/* KEYS: u: keys (a SCAN batch). ARGV: prefix. Takes out the digests of
 * sessions gone (expired). How many taken out. */
#define SES_CLEAN_SETS \
    "local n = 0\n" \
    "for _, k in ipairs(KEYS) do\n" \
    "  local user = string.sub(k, #ARGV[1] + 3)\n" \
    "  for _, d in ipairs(redis.call('SMEMBERS', k)) do\n" \
    "    if redis.call('HGET', ARGV[1] .. 's:' .. d, 'user') ~= user then\n" \
    "      n = n + redis.call('SREM', k, d)\n" \
    "    end\n" \
    "  end\n" \
    "end\n" \
    "return n\n"

/* KEYS: f:user. ARGV: now, since, member, ttl, keep. The failures at or
 * after since, this one included. */
#define FAIL_ADD \
    "redis.call('ZADD', KEYS[1], ARGV[1], ARGV[3])\n" \
    "local n, keep = redis.call('ZCARD', KEYS[1]), tonumber(ARGV[5])\n" \
    "if n > keep then redis.call('ZREMRANGEBYRANK', KEYS[1], 0, n - keep - 1) end\n" \
    "redis.call('EXPIRE', KEYS[1], ARGV[4])\n" \
    "return redis.call('ZCOUNT', KEYS[1], ARGV[2], '+inf')\n"

/* KEYS: f:user. ARGV: since. { count, latest time or "0" }. */
#define FAIL_COUNT \
    "local c = redis.call('ZCOUNT', KEYS[1], ARGV[1], '+inf')\n" \
    "local l = redis.call('ZREVRANGEBYSCORE', KEYS[1], '+inf', ARGV[1], 'WITHSCORES', 'LIMIT', 0, 1)\n" \
    "return { c, l[2] or '0' }\n"

/* KEYS: f: keys (a SCAN batch, or one user's). ARGV: length of prefix ..
 * "f:". { user, time, time ... } for each key with failures, oldest first. */
#define FAIL_READ \
    "local out = {}\n" \
    "local skip = tonumber(ARGV[1])\n" \
    "for _, k in ipairs(KEYS) do\n" \
    "  local v = redis.call('ZRANGE', k, 0, -1, 'WITHSCORES')\n" \
    "  if #v > 0 then\n" \
    "    local t = { string.sub(k, skip + 1) }\n" \
    "    for i = 2, #v, 2 do t[#t + 1] = v[i] end\n" \
    "    out[#out + 1] = t\n" \
    "  end\n" \
    "end\n" \
    "return out\n"

const char *const tp_rd_script_text[RS_COUNT] = {
    [RS_SES_ADD] = SES_ADD,
    [RS_SES_TOUCH] = SES_TOUCH,
    [RS_SES_DELETE] = SES_DELETE,
    [RS_SES_DELETE_USER] = SES_DELETE_USER,
    [RS_SES_LIST_USER] = SES_LIST_USER,
    [RS_SES_READ] = SES_READ,
    [RS_SES_PURGE] = SES_PURGE,
    [RS_SES_CLEAN_SETS] = SES_CLEAN_SETS,
    [RS_FAIL_ADD] = FAIL_ADD,
    [RS_FAIL_COUNT] = FAIL_COUNT,
    [RS_FAIL_READ] = FAIL_READ,
};
