/*
 * pg.h - the PostgreSQL store: users, sessions and failure tallies kept by
 * a PostgreSQL server (store.h for the contract). Private to c/store/:
 * what its parts share.
 *
 *   pg_lib.c       libpq, loaded with dlopen at the first PostgreSQL open
 *   pg_loc.c       locations: what they say, naming them without the
 *                  password, libpq's messages checked for it
 *   pg_open.c      connecting, the schema and its migrations, closing;
 *                  the backend table
 *   pg_sql.c       the statements' names and texts
 *   pg_rows.c      the columns of results into users, sessions, failures
 *   pg_exec.c      running statements, waits bounded by the command
 *                  timeout, errors, pipelines
 *   pg_tx.c        transactions and their retries, read scopes
 *   pg_users.c     users and their attributes
 *   pg_sessions.c  sessions
 *   pg_tallies.c   failure tallies
 *
 * libpq: not linked. A process on the SQLite store never loads libpq and
 * what it pulls in (libssl, gssapi, ldap); the first open of a PostgreSQL
 * location dlopens libpq.so.5 (RTLD_LOCAL, once per process) and takes
 * the functions used here into tp_pq. libpq-fe.h only gives the types.
 *
 * Locations: "postgresql://..." and "postgres://..." (libpq's URI), and
 * "postgresql:" followed by a libpq keyword/value string ("postgresql:
 * host=/run/pg dbname=trex", "postgresql:service=trex"). Both go to libpq
 * as they are (PGSERVICE, ~/.pgpass, sslmode ... work as usual), except
 * one parameter of ours taken out first: command_timeout=SECONDS (1 to
 * 3600, default 5), the longest wait for any answer of the server.
 * libpq's connect_timeout (1 to 3600 here, default 5) is ours too: see
 * Waits. st->where, the
 * prefix of every message, is the location without its password (URI
 * user:password@, password= in a query or a keyword string); the copies
 * of the raw location are wiped once connected.
 *
 * Waits: the connect is libpq's non-blocking one (PQconnectStartParams,
 * PQconnectPoll) under one deadline of connect_timeout seconds for all of
 * it: every host and address tried, TLS, authentication (libpq's own
 * connect_timeout counts per address and never below 2 s, and a server
 * whose kernel accepts the connection while the server is stopped would
 * hold a blocking connect that long per address). Only the lookup of a
 * host name by the system's resolver happens before the clock starts
 * (name the server by its address where that matters). A connect that
 * ran out: "cannot connect: no answer from the server in N s
 * (connect_timeout)", TP_STORE_UNAVAIL, tp_store_timed_out.
 * Every command is sent non-blocking and its answer awaited with
 * poll() for at most command_timeout; no answer by then closes the
 * connection ("no answer from the server in N s", TP_STORE_UNAVAIL,
 * tp_store_timed_out). The
 * server is told the same bound (statement_timeout, lock_timeout), so no
 * lock can hold a statement forever. A server down, restarting, refusing
 * the login, or a connection lost: TP_STORE_UNAVAIL, and the connection
 * is of no further use (the pool above opens another). A server that
 * keeps a row locked past the bound: TP_STORE_ERR ("stayed locked").
 *
 * Schema: everything in the PostgreSQL schema trex_pam; trex_pam.meta
 * holds ('application', 'TRex::PAM') and ('schema_version', N).
 * migrations[i] takes version i to i + 1 (version 1: the tables as in the
 * SQLite store, text keys in the "C" collation so every list is in the
 * same byte order as SQLite's). TP_STORE_CREATE makes schema and tables in
 * one transaction when absent; a read-write open upgrades an older
 * version in one transaction. Both take pg_advisory_xact_lock(ADVISORY_KEY)
 * first and look again, so processes doing it at once wait for each other
 * and nothing is done twice. Without CREATE, a database without the schema
 * is TP_STORE_UNAVAIL; a newer version is TP_STORE_UNAVAIL and never
 * modified. A read-only open never writes (default_transaction_read_only
 * is set on its session); TP_STORE_GROUP means nothing for a server.
 *
 * Statements: prepared on first use (named tp_<what>) and kept with the
 * connection. Parameters go as text, except digests: binary bytea (32
 * bytes, no escaping). Results come as text (bytea as hex, which the
 * session reads decode). The session's search_path is pg_catalog only:
 * every name is qualified, no other schema can shadow a function or an
 * operator.
 *
 * Transactions: every change is BEGIN ... COMMIT (durable when COMMIT is
 * answered; a server whose default is synchronous_commit = off is
 * overruled for this session), run again after a serialization failure (40001) or a
 * deadlock (40P01), up to RETRY_TIMES times after a short random pause. A
 * session's touch commits with synchronous_commit off (store.h allows it).
 * Failure tallies lock the user's row (FOR NO KEY UPDATE) before adding,
 * so concurrent adds for one user are counted one after another.
 *
 * Read scopes: one snapshot for the reads between tp_store_read_begin and
 * the outermost tp_store_read_end, at one round trip a statement. The
 * scope's first statement runs alone (one statement is one snapshot by
 * itself) and is kept, with its arguments and a checksum of its rows. A
 * second statement in the scope sends BEGIN ISOLATION LEVEL REPEATABLE
 * READ READ ONLY, the first statement again, and itself, in one round trip
 * (libpq's pipeline mode): when the first finds the same rows in the new
 * snapshot, every read of the scope is of that snapshot, and later ones
 * use it; when it does not (another process wrote them in between), the
 * read fails with TP_STORE_CONFLICT ("the store changed between two reads
 * of one call"), as a serializable transaction would. The outermost end
 * commits the transaction, if one was begun, without waiting for the
 * answer: the server ends it when it reads the COMMIT, and the answer is
 * read before the connection's next command (tp_pg_ready). A write inside
 * a scope ends the scope's snapshot first and is its own transaction; the
 * next read starts over. Outside a scope a read is one statement
 * (autocommit). A check that makes one read per service call (a session
 * ID, then the account) thus costs what the bare statements cost.
 *
 * A change's BEGIN goes with its first statement (one round trip); its
 * COMMIT is waited for (durable when answered). A libpq without pipeline
 * mode (13 and older) gets the same statements one after the other.
 *
 * Fork: a connection belongs to the process that opened it. Closed in
 * another process (a child dropping what it inherited), the socket is
 * replaced by /dev/null before PQfinish, so nothing is written to the
 * parent's connection; any other use there is TP_STORE_ERR "used after
 * fork".
 */
#ifndef TP_STORE_PG_H
#define TP_STORE_PG_H

#include <stdint.h>
#include <sys/types.h>
#include <libpq-fe.h>
#include "backend.h"

#define FAIL_KEEP           1024    /* failure rows kept per user (the newest) */
#define RETRY_TIMES         5       /* runs of a transaction after 40001/40P01 */
#define DEFAULT_TIMEOUT     5       /* command_timeout, seconds */
#define MAX_TIMEOUT         3600
#define ADVISORY_KEY        0x5452585053434845LL    /* "TRXPSCHE": schema changes */
/* The first key of the two-key advisory locks that order the failures of
 * one name (the second: hashtext of the name); "TRXF" */
#define FAIL_LOCK_SPACE     "1414682694"

#define RETRY (-1)                  /* internal: 40001/40P01, run it again */
#define MAX_PARAMS 10

/* ---- pg_lib.c -------------------------------------------------------------------- */
#define TP_PQ_FUNCS(X) \
    X(PQconnectdbParams) X(PQconnectStartParams) X(PQconnectPoll) X(PQconninfoParse) X(PQconninfoFree) X(PQstatus) \
    X(PQerrorMessage) X(PQfinish) X(PQsocket) X(PQsetnonblocking) X(PQsendQuery) \
    X(PQsendPrepare) X(PQsendQueryPrepared) X(PQflush) X(PQconsumeInput) X(PQisBusy) \
    X(PQgetResult) X(PQclear) X(PQresultStatus) X(PQresultErrorField) \
    X(PQresultErrorMessage) X(PQntuples) X(PQgetvalue) X(PQgetisnull) X(PQgetlength) \
    X(PQcmdTuples) X(PQtransactionStatus) X(PQsetNoticeProcessor) X(PQsendQueryParams) \
    X(PQnfields)
/* libpq 14 and later: used when present (pg_exec.c: one round trip for a
 * transaction's BEGIN and its first statement) */
#define TP_PQ_PIPELINE_FUNCS(X) \
    X(PQenterPipelineMode) X(PQexitPipelineMode) X(PQpipelineSync)

struct tp_pq {
#define TP_PQ_MEMBER(f) __typeof__(f) *f;
    TP_PQ_FUNCS(TP_PQ_MEMBER)
    TP_PQ_PIPELINE_FUNCS(TP_PQ_MEMBER)     /* all NULL with an older libpq */
#undef TP_PQ_MEMBER
};

/* The functions, filled in by tp_pg_load. */
extern struct tp_pq tp_pq;
/* Loads libpq once per process: 0, or -1 with the reason in why. */
int tp_pg_load(char *why, size_t n);
/* libpq's message as one line: newlines and the indentation after them
 * become one space, trailing space is dropped. */
void tp_pg_one_line(char *m);

/* ---- pg_loc.c: locations -------------------------------------------------------- */
struct pg_loc {
    char *conninfo;                 /* for libpq: without command_timeout (wiped, freed) */
    size_t size;                    /* of conninfo's allocation */
    char *where;                    /* for messages: without any password */
    int timeout;
    const char *secret[8];          /* passwords inside conninfo, to keep out of messages */
    size_t secret_len[8];
    int nsecret;
};

int tp_pg_claims(const char *location);
/* Fills l from location: NULL, or what is wrong with it (no secret in it);
 * tp_pg_loc_free wipes and frees it either way. */
const char *tp_pg_loc_parse(struct pg_loc *l, const char *location);
void tp_pg_loc_free(struct pg_loc *l);
/* "5" -> 5; anything but 1..MAX_TIMEOUT in digits: -1. */
int tp_pg_parse_timeout(const char *v, size_t n);
/* libpq's message m as one line into buf, or a stand-in if it would show
 * one of l's passwords. */
void tp_pg_clean_message(const struct pg_loc *l, const char *m, char *buf, size_t n);

/* ---- the connection ---------------------------------------------------------------- */
enum pg_stmt {
    P_USER_GET, P_USER_EXISTS, P_USER_ADD, P_USER_UPDATE, P_USER_SET_HASH, P_USER_DELETE,
    P_USER_LIST, P_ATTR_PUT, P_ATTR_DELETE,
    P_SES_ADD, P_SES_GET, P_SES_LAST, P_SES_TOUCH, P_SES_DELETE, P_SES_DELETE_USER,
    P_SES_PURGE, P_SES_LIST_ALL, P_SES_LIST_USER,
    P_FAIL_LOCK_ADD, P_FAIL_TRIM_COUNT, P_FAIL_COUNT, P_FAIL_RESET, P_FAIL_LIST_ALL,
    P_FAIL_LIST_USER, P_FAIL_PURGE,
    P_COUNT
};

/* Parameters of one statement: text, an integer (as text), or a digest
 * (binary bytea); the integers are formatted into buf. */
struct pg_args {
    int n;
    const char *v[MAX_PARAMS];
    int len[MAX_PARAMS];
    int fmt[MAX_PARAMS];
    char buf[MAX_PARAMS][24];
};

#define TP_PG_SUM_LEN 32

/* A scope's first statement, run alone: to run again in the snapshot. */
struct pg_first {
    int set;
    enum pg_stmt id;
    struct pg_args args;            /* v[] point into mem */
    char *mem;                      /* the arguments' copy (wiped, freed) */
    size_t memlen;
    unsigned char sum[TP_PG_SUM_LEN];   /* of its rows (tp_pg_result_sum) */
};

/* Statements sent before a statement in one pipeline (tp_pg_exec). */
struct pg_pipe {
    const char *pre[2];             /* BEGIN ..., and one more (NULL: none) */
    const struct pg_first *again;   /* run again after them (NULL: none) */
    int n;                          /* statements in the pipeline */
    int began;                      /* out: pre[0] succeeded */
    int summed;                     /* out: again's rows are summed in sum */
    unsigned char sum[TP_PG_SUM_LEN];
};

struct pg {
    struct tp_store base;           /* first: store.c sees only this */
    PGconn *conn;                   /* NULL once broken and closed */
    char *where;                    /* the location without its password */
    pid_t pid;                      /* the process that opened it */
    int timeout;                    /* command_timeout, seconds */
    int rdonly;
    uint64_t rng;                   /* for the pauses between retries */
    int scope;                      /* depth of tp_store_read_begin */
    int reading;                    /* the scope's read transaction is open */
    int in_read;                    /* a scoped read's body is running */
    int opening;                    /* a change's BEGIN goes with the next statement */
    const char *opening_also;       /* and this after it (NULL: nothing) */
    int ending;                     /* a COMMIT is sent, its answer unread */
    struct pg_first first;          /* the scope's first statement (pg_tx.c) */
    char sqlstate[6];               /* of the last server error, "" if none */
    unsigned char prepared[P_COUNT];
};

static inline struct pg *pg_of(struct tp_store *st)
{
    return (struct pg *)st;         /* base is the first member */
}


/* ---- pg_rows.c --------------------------------------------------------------------- */
/* Column helpers: an integer (0 for NULL), a copy of a text (NULL for SQL
 * NULL; *oom set when malloc fails), a bytea of exactly n bytes (0, -1). */
int64_t tp_pg_int(PGresult *r, int row, int col);
char *tp_pg_dup(PGresult *r, int row, int col, int *oom);
int tp_pg_bytes(PGresult *r, int row, int col, unsigned char *out, size_t n);
/* Wipes a column's text in the result (a hash) before PQclear frees it. */
void tp_pg_wipe_col(PGresult *r, int col);
/* A result's rows into the store's structs. P_USER_GET's rows into u, the
 * name given (its hash column wiped in r): 1, 0 for no row, -1 out of
 * memory or a row that cannot be one (u cleared). P_SES_GET's into x:
 * the same. P_USER_LIST's, P_SES_LIST_*'s and P_FAIL_LIST_*'s appended to
 * the vector: 0, or -1 (a users' or sessions' vector cleared). */
int tp_pg_user_rows(PGresult *r, const char *name, struct tp_user *u);
int tp_pg_user_list_rows(PGresult *r, struct tp_user_vec *uv);
int tp_pg_session_rows(PGresult *r, const unsigned char *digest, struct tp_session *x);
int tp_pg_session_list_rows(PGresult *r, struct tp_session_vec *sv);
int tp_pg_fail_list_rows(PGresult *r, struct tp_fail_rows *rows);

/* ---- pg_exec.c --------------------------------------------------------------------- */
void pg_arg_text(struct pg_args *a, const char *v);     /* NULL: SQL NULL */
void pg_arg_int(struct pg_args *a, int64_t v);
void pg_arg_digest(struct pg_args *a, const unsigned char *d);  /* NULL: SQL NULL */

/* pg_sql.c: the name and the text of a statement (for preparing). */
const char *tp_pg_stmt_name(enum pg_stmt id);
const char *tp_pg_sql(enum pg_stmt id);
/* Runs statement id (prepared on first use) after pipe's (NULL: none) in
 * one round trip; *res gets its result (PQclear it) when TP_STORE_OK. On
 * a server error the code comes from its SQLSTATE (kept in p->sqlstate:
 * the caller may turn 23505 into EXISTS ...), with p->base.err set; RETRY
 * for 40001/40P01. */
int tp_pg_exec(struct pg *p, struct pg_pipe *pipe, enum pg_stmt id, const struct pg_args *a,
               PGresult **res, const char *what);
/* Sends sql without waiting for its answer, which tp_pg_ready reads
 * before the next command (a failure there is rolled back; a lost
 * connection is the next command's). The caller's message stays. */
void tp_pg_unwaited(struct pg *p, const char *sql);
/* A checksum of a result's rows and values. */
void tp_pg_result_sum(PGresult *r, unsigned char out[TP_PG_SUM_LEN]);
/* Runs sql (no parameters, any number of statements) as a simple query;
 * the last result in *res if res is not NULL. */
int tp_pg_simple(struct pg *p, const char *sql, PGresult **res, const char *what);
/* The rows a statement changed (PQcmdTuples). */
int tp_pg_changes(PGresult *r);
int tp_pg_nomem(struct pg *p, const char *what);
/* The connection is usable from here (same process, not broken; the
 * answer to a read's COMMIT sent earlier read): OK, or the code with the
 * message. */
int tp_pg_ready(struct pg *p);
/* CLOCK_MONOTONIC in milliseconds. */
int64_t tp_pg_now_ms(void);
/* Waits until the connection's socket (asked afresh: it may change while
 * connecting) is ready for events (POLLIN, POLLOUT) or deadline
 * (tp_pg_now_ms) passes: 1 ready, 0 deadline, -1 error. */
int tp_pg_wait(struct pg *p, short events, int64_t deadline);
/* Closes a connection that cannot be trusted any more (timeout, lost). */
void tp_pg_drop(struct pg *p);

/* ---- pg_tx.c ------------------------------------------------------------------------ */
/* What a body runs its statements with: tp_pg_exec inside the body's
 * transaction or read scope (above); tp_pg_run_sql, tp_pg_simple inside
 * the body's transaction (a change's BEGIN sent first when it is the
 * body's first statement). */
int tp_pg_run(struct pg *p, enum pg_stmt id, const struct pg_args *a, PGresult **res,
              const char *what);
int tp_pg_run_sql(struct pg *p, const char *sql, PGresult **res, const char *what);
/* Forgets the scope's first statement (wiped). */
void tp_pg_first_clear(struct pg *p);

typedef int (*tp_pg_body)(struct pg *p, void *arg);
/* body inside BEGIN ... COMMIT, all of it again after 40001/40P01. A body
 * returning anything but TP_STORE_OK is rolled back. The read transaction
 * of a scope, if open, is committed first. */
int tp_pg_write(struct pg *p, tp_pg_body body, void *arg, const char *what);
/* The same, committed with synchronous_commit off (a session's touch). */
int tp_pg_write_lazy(struct pg *p, tp_pg_body body, void *arg, const char *what);
/* A read: alone outside a scope; inside one, in its snapshot (above). */
int tp_pg_read(struct pg *p, tp_pg_body body, void *arg, const char *what);
/* A read that decides a change (a touch's check), never the scope's:
 * alone, or in the scope's transaction when one is open. */
int tp_pg_read_alone(struct pg *p, tp_pg_body body, void *arg, const char *what);
int tp_pg_read_begin(struct tp_store *st);
void tp_pg_read_end(struct tp_store *st);

/* ---- the groups of calls (pg_users.c, pg_sessions.c, pg_tallies.c) ---------------- */
extern const struct tp_store_users tp_pg_users;
extern const struct tp_store_sessions tp_pg_sessions;
extern const struct tp_store_tallies tp_pg_tallies;

#endif /* TP_STORE_PG_H */
