/* The app's Landlock rules (profiles/landlock/TAG.json), as landlock/apply.py
 * resolves and enforces them: the rights table of the ABI used, network and scope
 * rules where the ABI has them, variables and last-component globs expanded, paths
 * that exist kept. Checked in the supervisor to decide (the paths not looked at
 * yet), resolved and enforced in the child, after the mounts. */
#define _GNU_SOURCE
#include "launcher.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define NR_CREATE_RULESET 444
#define NR_ADD_RULE 445
#define NR_RESTRICT_SELF 446

static const char *const FS_BITS[] = {
    "execute", "write_file", "read_file", "read_dir", "remove_dir", "remove_file", "make_char", "make_dir",
    "make_reg", "make_sock", "make_fifo", "make_block", "make_sym", "refer", "truncate", "ioctl_dev", NULL,
};
static const char *const NET_BITS[] = { "bind_tcp", "connect_tcp", NULL };
static const char *const SCOPE_BITS[] = { "abstract_unix_socket", "signal", NULL };

struct ruleset_attr {
    uint64_t handled_access_fs, handled_access_net, scoped;
};

struct path_beneath {
    uint64_t allowed_access;
    int32_t parent_fd;
} __attribute__((packed));

/* the bits of a list of right names; -1 on an unknown name */
static int bits_of(const struct json *names, const char *const table[], unsigned long long *out, char *err,
                   size_t errlen)
{
    *out = 0;
    for (size_t i = 0; i < json_len(names); i++) {
        const struct json *n = json_at(names, i);
        int k = 0;
        while (table[k] && (n->type != JSON_STRING || strcmp(table[k], n->string))) k++;
        if (!table[k]) {
            snprintf(err, errlen, "unknown Landlock right %s", n->type == JSON_STRING ? n->string : "?");
            return -1;
        }
        *out |= 1ULL << k;
    }
    return 0;
}

static long long int_or(const struct json *obj, const char *key, long long dflt)
{
    long long v;
    if (json_get_int(obj, key, &v)) return v;
    const char *s = json_get_str(obj, key);
    return s ? atoll(s) : dflt;
}

struct ctx {
    int ruleset;
    char *err;
    size_t errlen;
};

static int add_rule(struct ctx *c, const char *path, unsigned long long rights, unsigned long long file_mask)
{
    struct stat st;
    if (stat(path, &st) != 0) return 0;                   /* absent: skipped, as the rules say */
    unsigned long long r = S_ISDIR(st.st_mode) ? rights : rights & file_mask;
    if (!r) return 0;
    int fd = open(path, O_PATH | O_CLOEXEC);
    if (fd < 0) {
        snprintf(c->err, c->errlen, "Landlock rule %s: %s", path, strerror(errno));
        return -1;
    }
    struct path_beneath pb = { r, fd };
    long rc = syscall(NR_ADD_RULE, c->ruleset, 1 /* LANDLOCK_RULE_PATH_BENEATH */, &pb, 0U);
    int saved = errno;
    close(fd);
    if (rc != 0) {
        snprintf(c->err, c->errlen, "landlock_add_rule %s: %s", path, strerror(saved));
        return -1;
    }
    return 0;
}

static int add_glob(struct ctx *c, const char *path, unsigned long long rights, unsigned long long file_mask)
{
    const char *slash = strrchr(path, '/');
    if (!slash) return 0;
    char *parent = strndup(path, (size_t)(slash - path));
    const char *pat = slash + 1;
    DIR *d = opendir(*parent ? parent : "/");
    if (!d) {
        free(parent);
        return 0;
    }
    int rc = 0;
    for (struct dirent *e; rc == 0 && (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        if (e->d_name[0] == '.' && pat[0] != '.') continue;
        if (fnmatch(pat, e->d_name, FNM_NOESCAPE) != 0) continue;
        char *full = xasprintf("%s/%s", parent, e->d_name);
        rc = add_rule(c, full, rights, file_mask);
        free(full);
    }
    closedir(d);
    free(parent);
    return rc;
}

int landlock_prepare(struct launch *la, struct landlock_plan *out, int enforce, char *err, size_t errlen)
{
    const struct json *rules = la->landlock_rules;
    long long schema;
    memset(out, 0, sizeof *out);
    if (!json_get_int(rules, "schema", &schema) || schema != 1) {
        snprintf(err, errlen, "Landlock rules of another schema: this launcher reads schema 1");
        return -1;
    }
    if (!la->landlock_abi) la->landlock_abi = landlock_kernel_abi();
    int used = (int)int_or(rules, "max-abi", 1);
    if (la->landlock_abi < used) used = la->landlock_abi;
    out->used_abi = used;
    char key[16];
    snprintf(key, sizeof key, "%d", used);
    const struct json *table = json_get(json_get(rules, "rights"), key);
    if (!table) {
        snprintf(err, errlen, "no rights table for ABI %d", used);
        return -1;
    }
    if (bits_of(json_get(table, "handled"), FS_BITS, &out->handled_fs, err, errlen)) return -1;
    unsigned long long file_rights;
    if (bits_of(json_get(rules, "file-rights"), FS_BITS, &file_rights, err, errlen)) return -1;
    out->file_mask = file_rights & out->handled_fs;
    const struct json *net = json_get(rules, "network");
    if (json_len(net) && used >= int_or(net, "min-abi", 4)
        && bits_of(json_get(net, "handled"), NET_BITS, &out->handled_net, err, errlen)) return -1;
    const struct json *scope = json_get(rules, "scope");
    if (json_len(scope) && used >= int_or(scope, "min-abi", 6)
        && bits_of(json_get(scope, "handled"), SCOPE_BITS, &out->scoped, err, errlen)) return -1;
    const struct json *restrict_self = json_get(rules, "restrict-self");
    if (json_len(restrict_self) && used >= int_or(restrict_self, "min-abi", 7)) {
        const struct json *flags = json_get(restrict_self, "flags");
        for (size_t i = 0; i < json_len(flags); i++) {
            const char *f = json_at(flags, i)->string;
            if (f && !strcmp(f, "log_same_exec_off")) out->restrict_flags |= 1;
            else if (f && !strcmp(f, "log_new_exec_on")) out->restrict_flags |= 2;
            else if (f && !strcmp(f, "log_subdomains_off")) out->restrict_flags |= 4;
            else {
                snprintf(err, errlen, "unknown restrict-self flag %s", f ? f : "?");
                return -1;
            }
        }
    }
    /* an app that may mount: no filesystem right handled (Landlock would refuse every mount) */
    int mounts = json_len(json_get(rules, "mount-granted-by")) > 0;
    if (mounts) out->handled_fs = 0;
    out->restricts = out->handled_fs || out->handled_net || out->scoped;

    struct ctx c = { -1, err, errlen };
    if (enforce) {
        struct ruleset_attr attr = { out->handled_fs, out->handled_net, out->scoped };
        size_t size = used >= 6 ? 24 : used >= 4 ? 16 : 8;
        c.ruleset = (int)syscall(NR_CREATE_RULESET, &attr, size, 0U);
        if (c.ruleset < 0) {
            snprintf(err, errlen, "landlock_create_ruleset: %s", strerror(errno));
            return -1;
        }
    }
    const struct json *fs = mounts ? NULL : json_get(rules, "fs");
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < json_len(fs); i++) {
        const struct json *r = json_at(fs, i);
        const char *written = json_get_str(r, "path"), *access = json_get_str(r, "access");
        char *path = written ? expand(la, written) : NULL;
        if (!path || !access) {
            snprintf(err, errlen, "Landlock rule %s: an unknown variable", written ? written : "?");
            rc = -1;
            break;
        }
        unsigned long long rights = 0;
        for (const char *l = access; *l && rc == 0; l++) {
            char letter[2] = { *l, 0 };
            unsigned long long b;
            const struct json *names = json_get(table, letter);
            if (!names) {
                snprintf(err, errlen, "Landlock rule %s: unknown access letter %c", written, *l);
                rc = -1;
            } else if (bits_of(names, FS_BITS, &b, err, errlen) == 0) {
                rights |= b;
            } else {
                rc = -1;
            }
        }
        /* deciding checks the rules only; the paths are looked at once, inside, after the mounts */
        if (rc == 0 && enforce)
            rc = json_truthy(json_get(r, "pattern")) ? add_glob(&c, path, rights, out->file_mask)
                                                     : add_rule(&c, path, rights, out->file_mask);
        free(path);
    }
    if (enforce) {
        if (rc == 0 && syscall(NR_RESTRICT_SELF, c.ruleset, out->restrict_flags) != 0) {
            snprintf(err, errlen, "landlock_restrict_self: %s", strerror(errno));
            rc = -1;
        }
        close(c.ruleset);
    }
    return rc;
}
