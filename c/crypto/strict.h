/*
 * strict.h - whether a file that holds secrets (a site key, the embedded
 * store) or says where they are (trex-pam.conf) may be trusted, decided as
 * sshd's StrictModes decides: its owner, its mode, and the directories
 * above it. The one check the key files (token.c), the store configuration
 * file (storeconf.c) and the embedded store's files (sqlite_open.c) share,
 * so that each refusal reads alike and says what to change:
 *
 *   readable by others (mode 0644): run chmod o-rwx /srv/x/users.db
 *
 * The caller puts the name before it ("/srv/x/users.db: readable by ...").
 * Group access to a store is allowed in one shape only, the one `trex-pam
 * init --group` makes: the file 0660 (read and write for the group of the
 * services sharing it), its directory 0750; never a group-writable
 * directory.
 */
#ifndef TP_STRICT_H
#define TP_STRICT_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

/* tp_strict_file rules. Others may never write; a file must be a regular one. */
#define TP_STRICT_OWNER   0x01   /* owned by root or this process's euid */
#define TP_STRICT_OTHERS  0x02   /* others: no access at all (o-rwx) */
#define TP_STRICT_GROUP_W 0x04   /* its group: no write */
#define TP_STRICT_GROUP   0x08   /* its group: no access at all */
#define TP_STRICT_SHARED  0x10   /* its group: no access, or read and write (0660) */

/*
 * Whether the file path with stat data sb keeps rules: 0, or -1 with the
 * reason and what to change in err ("writable by its group (mode 0620):
 * run chmod g-w PATH"; not the name before it).
 */
int tp_strict_file(const char *path, const struct stat *sb, unsigned int rules, char *err,
                   size_t errlen);

/*
 * Whether the directories holding path may be trusted with it: resolved
 * (realpath), every one from the file's own up to / a directory owned by
 * root, this process's euid or owner (the file's), and writable by
 * neither its group nor others. Above the file's own directory, one owned
 * by root with the sticky bit (/tmp) may be writable by everyone: others
 * can make names in it but not replace the directory below. 0, or -1 with
 * "directory DIR: reason: what to change" in err.
 */
int tp_strict_place(const char *path, uid_t owner, char *err, size_t errlen);

#endif /* TP_STRICT_H */
