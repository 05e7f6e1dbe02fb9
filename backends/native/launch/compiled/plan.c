/* The launch before the fork: who runs what, the plan and profiles read and
 * trusted (as verify.py does), every step decided (as the units of steps.py
 * decide). Whatever the compiled launcher does not take, or any problem, ends in
 * fallback(): the Python runner takes over, before anything was changed. */
#define _GNU_SOURCE
#include "launcher.h"
#include "sha256.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

extern char **environ;

/* ---- helpers ------------------------------------------------------------------- */

static void oom(void)
{
    fputs("confine-launch: out of memory\n", stderr);
    exit(1);
}

char *xstrdup(const char *s)
{
    char *p = strdup(s);
    if (!p) oom();
    return p;
}

char *xasprintf(const char *fmt, ...)
{
    va_list ap;
    char *out;
    va_start(ap, fmt);
    int n = vasprintf(&out, fmt, ap);
    va_end(ap);
    if (n < 0) oom();
    return out;
}

/* a mount point as /proc/self/mountinfo writes it: \040 and the like back to bytes */
char *unescape_octal(const char *s)
{
    char *out = xstrdup(s), *o = out;
    for (; *s; s++) {
        if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
            *o++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
            s += 3;
        } else {
            *o++ = *s;
        }
    }
    *o = 0;
    return out;
}

int read_fd_all(int fd, char **out, size_t *len)
{
    size_t cap = 16384, n = 0;
    char *buf = malloc(cap + 1);
    if (!buf) oom();
    for (;;) {
        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap + 1);
            if (!buf) oom();
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0) {
            if (errno == EINTR) continue;
            free(buf);
            return -1;
        }
        if (r == 0) break;
        n += (size_t)r;
    }
    buf[n] = 0;
    *out = buf;
    *len = n;
    return 0;
}

/* ---- the hand-over to the Python runner ------------------------------------------ */

void fallback(struct launch *la, const char *fmt, ...)
{
    char why[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    if (la->check) {
        printf("python: %s\n", why);
        fflush(stdout);
        exit(3);
    }
    if (getenv("CONFINE_LAUNCHER_TRACE"))
        fprintf(stderr, "confine-launch: %s: handing over to the Python launcher\n", why);
    if (!la->python) {
        fprintf(stderr, "error: %s: this launch needs the Python launcher: use `confine run`\n", why);
        exit(1);
    }
    setenv("CONFINE_LAUNCHER", "python", 1);
    if (la->front_argv)            /* the `confine` command: the same command line, to the Python CLI */
        exec_python_cli(la->python, la->front_argc, la->front_argv);
    /* confine-launch: the `confine run` command line it was given */
    char **argv = calloc((size_t)la->nargs + 12, sizeof *argv);
    if (!argv) oom();
    int n = 0;
    argv[n++] = "confine";
    argv[n++] = "--root";
    argv[n++] = (char *)la->root;
    argv[n++] = "run";
    if (la->shell) argv[n++] = "--shell";
    if (la->user_arg) {
        argv[n++] = "--user";
        argv[n++] = (char *)la->user_arg;
    }
    argv[n++] = (char *)la->target;
    argv[n++] = "--";
    for (int i = 0; i < la->nargs; i++) argv[n++] = la->args[i];
    exec_python_cli(la->python, n, argv);
}

void exec_python_cli(const char *python, int argc, char **argv)
{
    /* -P: no current directory on sys.path, as a console script has it; argv[0] stays ours */
    static const char code[] = "import sys; del sys.argv[0]; from backends.cli import main; sys.exit(main())";
    char **args = calloc((size_t)argc + 5, sizeof *args);
    if (!args) oom();
    int n = 0;
    args[n++] = (char *)python;
    args[n++] = "-P";
    args[n++] = "-c";
    args[n++] = (char *)code;
    for (int i = 0; i < argc; i++) args[n++] = argv[i];
    args[n] = NULL;
    execv(python, args);
    fprintf(stderr, "error: cannot start %s: %s\n", python, strerror(errno));
    exit(1);
}

/* ---- names and the user ------------------------------------------------------------ */

static int bad_name(const char *s)
{
    return !*s || *s == '.' || *s == '-' || strchr(s, '/') != NULL;
}

static void split_target(struct launch *la)
{
    const char *dot = strchr(la->target, '.');
    size_t sl = dot ? (size_t)(dot - la->target) : strlen(la->target);
    const char *app = dot ? dot + 1 : la->target;
    if (sl >= sizeof la->snap || strlen(app) >= sizeof la->app) fallback(la, "the app's name is too long");
    memcpy(la->snap, la->target, sl);
    la->snap[sl] = 0;
    strcpy(la->app, app);
    if (bad_name(la->snap) || bad_name(la->app)) fallback(la, "not a SNAP.APP name");
    snprintf(la->tag, sizeof la->tag, "snap.%s.%s", la->snap, la->app);
}

static void user_from_pw(struct user *u, const struct passwd *pw)
{
    u->name = xstrdup(pw->pw_name);
    u->home = xstrdup(pw->pw_dir && *pw->pw_dir ? pw->pw_dir : "/");
    u->uid = pw->pw_uid;
    u->gid = pw->pw_gid;
    int n = 64;
    for (int tries = 0; tries < 4; tries++) {
        u->groups = realloc(u->groups, (size_t)n * sizeof(gid_t));
        if (!u->groups) oom();
        int want = n;
        if (getgrouplist(pw->pw_name, pw->pw_gid, u->groups, &want) >= 0) {
            u->ngroups = want;
            return;
        }
        n = want > n ? want : n * 2;
    }
    u->groups[0] = pw->pw_gid;
    u->ngroups = 1;
}

static void resolve_user(struct launch *la)
{
    struct passwd *pw;
    const char *name = la->user_arg;
    if (!name) {
        pw = getpwuid(getuid());
        if (!pw) fallback(la, "the invoking uid has no passwd entry");
    } else {
        int digits = *name != 0;
        for (const char *c = name; *c; c++) digits &= *c >= '0' && *c <= '9';
        pw = digits ? getpwuid((uid_t)strtoul(name, NULL, 10)) : getpwnam(name);
        if (!pw) fallback(la, "--user %s: no such user", name);
    }
    user_from_pw(&la->user, pw);
}

/* ---- trusted files (verify.py) ------------------------------------------------------- */

static char checked_dirs[64][PATH_MAX];
static int nchecked;

static int parents_trusted(const char *path)
{
    char d[PATH_MAX];
    if (strlen(path) >= sizeof d) return 0;
    strcpy(d, path);
    for (;;) {
        char *slash = strrchr(d, '/');
        if (!slash) return 0;
        if (slash == d) d[1] = 0;
        else *slash = 0;
        int seen = 0;
        for (int i = 0; i < nchecked && !seen; i++) seen = strcmp(checked_dirs[i], d) == 0;
        if (!seen) {
            struct stat st;
            if (lstat(d, &st) != 0) return 0;
            if (S_ISLNK(st.st_mode)) {
                char real[PATH_MAX], probe[PATH_MAX + 2];
                if (!realpath(d, real)) return 0;
                snprintf(probe, sizeof probe, "%s/x", strcmp(real, "/") ? real : "");
                if (!parents_trusted(probe)) return 0;
            } else if (st.st_uid != 0) {
                return 0;
            } else if ((st.st_mode & 022) && !(st.st_mode & S_ISVTX)) {
                return 0;
            }
            if (nchecked < 64) strcpy(checked_dirs[nchecked++], d);
        }
        if (strcmp(d, "/") == 0) return 1;
    }
}

/* 0 and the bytes when `path` is a regular root-owned file nobody else may write,
 * under trusted directories; -1 with errno ENOENT when missing, else -1. */
static int read_trusted(const char *path, char **data, size_t *len)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return -1;
    struct stat st;
    int ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == 0 && !(st.st_mode & 022)
             && parents_trusted(path) && read_fd_all(fd, data, len) == 0;
    close(fd);
    if (!ok) errno = EPERM;
    return ok ? 0 : -1;
}

static int read_plain(const char *path, char **data, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    int rc = read_fd_all(fd, data, len);
    close(fd);
    return rc;
}

static const struct file_data *file_of(const struct launch *la, const char *path)
{
    for (int i = 0; path && i < la->nfiles; i++)
        if (strcmp(la->files[i].path, path) == 0) return &la->files[i];
    return NULL;
}

/* whether a seccomp source has `~` lines (so a deny filter must exist), as verify.py says */
static int source_has_denials(const char *source)
{
    char *text;
    size_t len;
    if (read_plain(source, &text, &len) != 0) return 1;
    int unrestricted = 0, denials = 0;
    for (char *line = text; line && *line;) {
        char *next = strchr(line, '\n');
        if (next) *next++ = 0;
        while (*line == ' ' || *line == '\t' || *line == '\r') line++;
        char *end = line + strlen(line);
        while (end > line && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r')) *--end = 0;
        if (strcmp(line, "@unrestricted") == 0) unrestricted = 1;
        if (*line == '~') denials = 1;
        line = next;
    }
    free(text);
    return !unrestricted && denials;
}

/* ---- layers of this kernel (runner._probe) --------------------------------------------- */

int landlock_kernel_abi(void)
{
    long abi = syscall(444, NULL, 0, 1U);   /* landlock_create_ruleset(NULL, 0, VERSION) */
    return abi > 0 ? (int)abi : 0;
}

static int apparmor_in_kernel(void)
{
    struct stat st;
    if (stat("/sys/kernel/security/apparmor", &st) == 0 && S_ISDIR(st.st_mode)) return 1;
    char *text;
    size_t len;
    if (read_plain("/sys/module/apparmor/parameters/enabled", &text, &len) == 0) {
        int on = len > 0 && text[0] == 'Y';
        free(text);
        return on;
    }
    return 0;
}

int layer_available(const char *name)
{
    if (strcmp(name, "landlock") == 0) return landlock_kernel_abi() > 0;
    if (strcmp(name, "seccomp") == 0) return prctl(PR_GET_SECCOMP, 0, 0, 0, 0) >= 0;
    if (strcmp(name, "apparmor-kernel") == 0) return apparmor_in_kernel();
    if (strcmp(name, "mount-namespace") == 0) return access("/proc/self/ns/mnt", F_OK) == 0;
    if (strcmp(name, "user-namespace") == 0) {
        char *text;
        size_t len;
        int on = 0;
        if (read_plain("/proc/sys/user/max_user_namespaces", &text, &len) == 0) {
            on = atoi(text) > 0;
            free(text);
        }
        return on;
    }
    return 0;
}

/* ---- variables (env.py, landlock/apply.py expand) ------------------------------------- */

const char *var_get(const struct launch *la, const char *name)
{
    for (int i = la->nvars - 1; i >= 0; i--)
        if (strcmp(la->var_names[i], name) == 0) return la->var_values[i];
    return NULL;
}

static void var_set(struct launch *la, const char *name, const char *value)
{
    for (int i = 0; i < la->nvars; i++)
        if (strcmp(la->var_names[i], name) == 0) {
            la->var_values[i] = xstrdup(value);
            return;
        }
    if (la->nvars == MAX_VARS) fallback(la, "too many variables in the plan");
    la->var_names[la->nvars] = xstrdup(name);
    la->var_values[la->nvars++] = xstrdup(value);
}

/* `$NAME` and `${NAME}` replaced; NULL when a name is unknown or malformed */
char *expand(const struct launch *la, const char *value)
{
    size_t cap = strlen(value) + 1, n = 0;
    char *out = malloc(cap);
    if (!out) oom();
    for (const char *p = value; *p;) {
        const char *add;
        size_t addlen;
        char name[256];
        if (*p != '$') {
            add = p++;
            addlen = 1;
        } else {
            size_t nl;
            if (p[1] == '{') {
                const char *end = strchr(p + 2, '}');
                if (!end) { free(out); return NULL; }
                nl = (size_t)(end - p - 2);
                if (nl >= sizeof name) { free(out); return NULL; }
                memcpy(name, p + 2, nl);
                p = end + 1;
            } else {
                const char *q = p + 1;
                while (*q == '_' || (*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9'))
                    q++;
                nl = (size_t)(q - p - 1);
                if (nl >= sizeof name) { free(out); return NULL; }
                memcpy(name, p + 1, nl);
                p = q;
            }
            name[nl] = 0;
            add = nl ? var_get(la, name) : NULL;
            if (!add) { free(out); return NULL; }
            addlen = strlen(add);
        }
        if (n + addlen + 1 > cap) {
            cap = (n + addlen + 1) * 2;
            out = realloc(out, cap);
            if (!out) oom();
        }
        memcpy(out + n, add, addlen);
        n += addlen;
    }
    out[n] = 0;
    return out;
}

/* ---- deciding the steps ------------------------------------------------------------ */

static const struct { const char *name; enum step_kind kind; } STEP_NAMES[] = {
    { "verify-profiles", STEP_VERIFY }, { "mount-namespace", STEP_MOUNT_NS },
    { "private-tmp", STEP_PRIVATE_TMP }, { "devpts", STEP_DEVPTS }, { "read-only", STEP_READ_ONLY },
    { "masked-paths", STEP_MASKED }, { "data-directories", STEP_DATA_DIRS },
    { "environment", STEP_ENVIRONMENT }, { "device-cgroup", STEP_DEVICE_CGROUP }, { "hotplug", STEP_HOTPLUG },
    { "apparmor", STEP_APPARMOR }, { "landlock", STEP_LANDLOCK }, { "capabilities", STEP_CAPABILITIES },
    { "switch-user", STEP_SWITCH_USER }, { "no-new-privs", STEP_NO_NEW_PRIVS }, { "seccomp", STEP_SECCOMP },
    { "exec", STEP_EXEC },
};

static const struct json *step_spec(const struct launch *la, enum step_kind kind)
{
    for (size_t i = 0; i < la->nsteps; i++)
        if (la->kinds[i] == kind) return json_at(la->steps, i);
    return NULL;
}

static const char *must_str(struct launch *la, const struct json *spec, const char *key)
{
    const char *s = json_get_str(spec, key);
    if (!s) fallback(la, "the plan's %s step has no string %s", json_get_str(spec, "step"), key);
    return s;
}

static mode_t mode_of(struct launch *la, const struct json *spec, const char *key, const char *dflt)
{
    const char *s = json_get_str(spec, key);
    char *end;
    unsigned long m = strtoul(s ? s : dflt, &end, 8);
    if (*end || m > 07777) fallback(la, "the plan's mode %s is not octal", s);
    return (mode_t)m;
}

static void decide_verify(struct launch *la, const struct json *spec)
{
    const struct json *files = json_get(spec, "files");
    const struct json *seccomp = step_spec(la, STEP_SECCOMP);
    const char *deny_path = json_get_str(json_get(seccomp, "deny"), "path");
    const char *allow_path = json_get_str(json_get(seccomp, "allow"), "path");
    for (size_t i = 0; i < json_len(files); i++) {
        const struct json *f = json_at(files, i);
        const char *path = json_get_str(f, "path");
        if (!path) fallback(la, "a profile file without a path");
        if (strcmp(path, la->plan_path) == 0) continue;
        const char *only_if = json_get_str(f, "only-if");
        if (only_if && !layer_available(only_if)) continue;
        if (only_if) fallback(la, "%s is needed here (%s): the Python launcher loads it", path, only_if);
        char *data;
        size_t len;
        if (read_trusted(path, &data, &len) != 0) {
            int missing = errno == ENOENT;
            if (missing && deny_path && strcmp(path, deny_path) == 0) {
                /* absent is right when the allow filter's source has no explicit denials */
                const char *allow_src = NULL;
                for (size_t j = 0; j < json_len(files); j++) {
                    const struct json *g = json_at(files, j);
                    const char *gp = json_get_str(g, "path");
                    if (gp && allow_path && strcmp(gp, allow_path) == 0)
                        allow_src = json_get_str(json_get(g, "fresh"), "source");
                }
                if (allow_src && !source_has_denials(allow_src)) continue;
            }
            fallback(la, "%s cannot be trusted or read", path);
        }
        const struct json *fresh = json_get(f, "fresh");
        if (fresh) {
            const char *source = json_get_str(fresh, "source"), *stamp = json_get_str(fresh, "stamp");
            char *src, *want, hex[65];
            size_t srclen, wantlen;
            if (!source || !stamp || read_plain(source, &src, &srclen) != 0 || read_plain(stamp, &want, &wantlen) != 0)
                fallback(la, "%s: no source or stamp to check its freshness", path);
            sha256_hex(src, srclen, hex);
            char *w = want;
            while (*w == ' ' || *w == '\t' || *w == '\n' || *w == '\r') w++;
            if (strncmp(w, hex, 64) != 0) fallback(la, "%s is stale", path);
            for (w += 64; *w; w++)
                if (*w != ' ' && *w != '\t' && *w != '\n' && *w != '\r') fallback(la, "%s is stale", path);
            free(src);
            free(want);
        }
        if (la->nfiles == MAX_FILES) fallback(la, "too many profile files");
        la->files[la->nfiles++] = (struct file_data){ path, data, len };
    }
    const char *rules_path = json_get_str(step_spec(la, STEP_LANDLOCK), "rules");
    const struct file_data *rules = file_of(la, rules_path);
    if (rules) {
        char err[128];
        la->landlock_rules = json_parse(rules->data, rules->len, err, sizeof err);
        if (!la->landlock_rules) fallback(la, "%s: %s", rules_path, err);
    }
}

static void decide_devpts(struct launch *la, const struct json *spec)
{
    const char *opts = json_get_str(spec, "options");
    const char *group = json_get_str(spec, "gid-of-group");
    snprintf(la->devpts_options, sizeof la->devpts_options, "%s", opts ? opts : "newinstance");
    if (group) {
        struct group *g = getgrnam(group);
        if (g) snprintf(la->devpts_options, sizeof la->devpts_options, "%s,gid=%u", opts ? opts : "newinstance",
                        (unsigned)g->gr_gid);
    }
}

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static void decide_data_dirs(struct launch *la, const struct json *spec)
{
    const struct json *dirs = json_get(spec, "directories");
    const char *home = var_get(la, "REAL_HOME");
    int home_ok = home && *home && is_dir(home);
    for (size_t i = 0; i < json_len(dirs); i++) {
        const struct json *d = json_at(dirs, i);
        char *path = expand(la, must_str(la, d, "path"));
        if (!path) fallback(la, "a data directory names an unknown variable");
        mode_t mode = mode_of(la, d, "mode", "0755");
        const char *owner = json_get_str(d, "owner");
        int user = owner && strcmp(owner, "user") == 0;
        if (is_dir(path)) continue;
        const char *ipm = json_get_str(d, "if-parent-missing");
        if (ipm && strcmp(ipm, "skip") == 0) {
            char parent[PATH_MAX];
            snprintf(parent, sizeof parent, "%s", path);
            char *slash = strrchr(parent, '/');
            if (slash) { if (slash == parent) slash[1] = 0; else *slash = 0; }
            if (!is_dir(parent)) continue;
        }
        if (user && !home_ok && home && *home) {
            size_t hl = strlen(home);
            while (hl > 1 && home[hl - 1] == '/') hl--;
            if (strncmp(path, home, hl) == 0 && (path[hl] == '/' || path[hl] == 0)) continue;
        }
        if (la->ndirs == 32) fallback(la, "too many data directories");
        la->dirs[la->ndirs++] = (struct dir_todo){ path, user, mode };
    }
}

static int kept(const char *name, size_t namelen, const struct json *keep)
{
    for (size_t i = 0; i < json_len(keep); i++) {
        const struct json *k = json_at(keep, i);
        if (!k || k->type != JSON_STRING) continue;
        size_t kl = strlen(k->string);
        if (kl && k->string[kl - 1] == '*') {
            if (namelen >= kl - 1 && strncmp(name, k->string, kl - 1) == 0) return 1;
        } else if (kl == namelen && strncmp(name, k->string, kl) == 0) {
            return 1;
        }
    }
    return 0;
}

static void env_put(struct launch *la, const char *name, const char *value, size_t *cap)
{
    size_t nl = strlen(name);
    for (int i = 0; i < la->nenv; i++)
        if (strncmp(la->env[i], name, nl) == 0 && la->env[i][nl] == '=') {
            la->env[i] = xasprintf("%s=%s", name, value);
            return;
        }
    if ((size_t)la->nenv + 2 > *cap) {
        *cap = *cap * 2 + 8;
        la->env = realloc(la->env, *cap * sizeof *la->env);
        if (!la->env) oom();
    }
    la->env[la->nenv++] = xasprintf("%s=%s", name, value);
    la->env[la->nenv] = NULL;
}

static void decide_environment(struct launch *la, const struct json *spec)
{
    size_t cap = 64;
    la->env = calloc(cap, sizeof *la->env);
    if (!la->env) oom();
    const struct json *keep = json_get(spec, "keep");
    for (char **e = environ; *e; e++) {
        const char *eq = strchr(*e, '=');
        if (eq && kept(*e, (size_t)(eq - *e), keep)) {
            char *name = strndup(*e, (size_t)(eq - *e));
            if (!name) oom();
            env_put(la, name, eq + 1, &cap);
        }
    }
    const struct json *set = json_get(spec, "set");
    for (size_t i = 0; i < json_len(set); i++) {
        const struct json *n = json_at(json_at(set, i), 0);
        const char *name = n && n->type == JSON_STRING ? n->string : NULL;
        if (name) env_put(la, name, var_get(la, name), &cap);
    }
    env_put(la, "SNAP_SECURITY_TAG", la->tag, &cap);
}

static void decide_variables(struct launch *la, const struct json *env_step)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%u", (unsigned)la->user.uid);
    var_set(la, "UID", buf);
    snprintf(buf, sizeof buf, "%u", (unsigned)la->user.gid);
    var_set(la, "GID", buf);
    var_set(la, "USER", la->user.name);
    var_set(la, "REAL_HOME", la->user.home);
    const struct json *set = json_get(env_step, "set");
    for (size_t i = 0; i < json_len(set); i++) {
        const struct json *pair = json_at(set, i);
        const struct json *n = json_at(pair, 0), *v = json_at(pair, 1);
        if (json_len(pair) != 2 || n->type != JSON_STRING || v->type != JSON_STRING)
            fallback(la, "a malformed environment variable in the plan");
        char *value = expand(la, v->string);
        if (!value) fallback(la, "environment variable %s: an unknown variable", n->string);
        var_set(la, n->string, value);
        free(value);
    }
}

static int decide_capabilities(struct launch *la, const struct json *spec)
{
    const struct json *keep = json_get(spec, "keep");
    if (keep && keep->type == JSON_STRING && strcmp(keep->string, "all") == 0) return 0;
    /* the plan gives the numbers of the names in `keep` (capability_names.py) */
    const struct json *numbers = json_get(spec, "numbers");
    if (!numbers || json_len(numbers) != json_len(keep)) fallback(la, "the capabilities step has no numbers");
    la->keep_caps = 0;
    for (size_t i = 0; i < json_len(numbers); i++) {
        const struct json *n = json_at(numbers, i);
        if (n->type != JSON_NUMBER || !n->integral || n->integer < 0 || n->integer > 63)
            fallback(la, "a capability number out of range");
        la->keep_caps |= 1ULL << n->integer;
    }
    return 1;
}

static int decide_seccomp(struct launch *la, const struct json *spec)
{
    const struct json *allow = json_get(spec, "allow"), *deny = json_get(spec, "deny");
    const struct file_data *allow_bpf = file_of(la, json_get_str(allow, "path"));
    if (!allow_bpf) fallback(la, "the allow filter was not read");
    if (allow_bpf->len == 14 && memcmp(allow_bpf->data, "@unrestricted\n", 14) == 0) return 0;
    const struct json *order = json_get(spec, "order");
    const char *dflt[] = { "deny", "allow" };
    size_t n = order ? json_len(order) : 2;
    for (size_t i = 0; i < n; i++) {
        const struct json *o = json_at(order, i);
        const char *which = order ? (o && o->type == JSON_STRING ? o->string : "") : dflt[i];
        const struct json *f = strcmp(which, "deny") == 0 ? deny : strcmp(which, "allow") == 0 ? allow : NULL;
        if (!f) fallback(la, "a seccomp filter named %s", which);
        const struct file_data *bpf = file_of(la, json_get_str(f, "path"));
        if (!bpf) continue;                  /* a deny filter that is rightly absent */
        if (bpf->len % 8 || bpf->len == 0 || bpf->len / 8 > 4096) fallback(la, "%s is not a seccomp filter", bpf->path);
        int log = 0;
        const struct json *flags = json_get(f, "flags");
        for (size_t j = 0; j < json_len(flags); j++) {
            const struct json *fl = json_at(flags, j);
            log |= fl->type == JSON_STRING && strcmp(fl->string, "log") == 0;
        }
        if (la->nfilters == 2) fallback(la, "more than two seccomp filters");
        la->filters[la->nfilters++] = (struct seccomp_filter){ which, bpf->data, bpf->len, log };
    }
    return 1;
}

static void decide_exec(struct launch *la, const struct json *spec)
{
    int n = 0;
    const struct json *args = json_get(spec, "args");
    la->argv = calloc(json_len(args) + (size_t)la->nargs + 2, sizeof *la->argv);
    if (!la->argv) oom();
    if (la->shell) {
        la->program = "/bin/sh";
        la->argv[n++] = "/bin/sh";
        for (int i = 0; i < la->nargs; i++) la->argv[n++] = la->args[i];
    } else {
        la->program = must_str(la, spec, "program");
        const char *argv0 = json_get_str(spec, "argv0");
        la->argv[n++] = (char *)(argv0 && *argv0 ? argv0 : la->program);
        for (size_t i = 0; i < json_len(args); i++) {
            const struct json *a = json_at(args, i);
            if (a->type != JSON_STRING) fallback(la, "a non-string argument in the plan");
            la->argv[n++] = a->string;
        }
        const struct json *append = json_get(spec, "append-user-args");
        if (!append || json_truthy(append))
            for (int i = 0; i < la->nargs; i++) la->argv[n++] = la->args[i];
    }
    la->argv[n] = NULL;
    const struct json *cwd = json_get(spec, "cwd");
    const char *fb = json_get_str(cwd, "fallback");
    char *fallback_dir = expand(la, fb ? fb : "/");
    if (!fallback_dir) fallback(la, "the exec step's cwd names an unknown variable");
    int c = 0;
    if (la->caller_cwd) la->cwds[c++] = la->caller_cwd;
    if (*fallback_dir) la->cwds[c++] = fallback_dir;
    la->cwds[c++] = "/";
}

static void decide_step(struct launch *la, size_t i)
{
    const struct json *spec = json_at(la->steps, i);
    switch (la->kinds[i]) {
    case STEP_VERIFY:
        decide_verify(la, spec);
        break;
    case STEP_DEVPTS:
        decide_devpts(la, spec);
        break;
    case STEP_MASKED: {
        const struct json *paths = json_get(spec, "paths");
        for (size_t j = 0; j < json_len(paths); j++) {
            const struct json *m = json_at(paths, j);
            struct stat st;
            const char *p = must_str(la, m, "path");
            if (lstat(p, &st) == 0 && la->nmasked < 64) la->masked[la->nmasked++] = m;
        }
        if (!la->nmasked) la->applies[i] = 0;
        break;
    }
    case STEP_DATA_DIRS:
        decide_data_dirs(la, spec);
        break;
    case STEP_ENVIRONMENT:
        decide_environment(la, spec);
        break;
    case STEP_DEVICE_CGROUP:
        if (json_len(json_get(spec, "matches")))
            fallback(la, "the app has device matches (matched against /sys, and hotplug)");
        if (!devcgroup_find_v1(la->cg_mount, sizeof la->cg_mount))
            fallback(la, "no writable cgroup v1 devices controller (the cgroup v2 device program is the Python launcher's)");
        break;
    case STEP_HOTPLUG:
        fallback(la, "hotplug applies");
    case STEP_APPARMOR:
        fallback(la, "AppArmor applies");
    case STEP_LANDLOCK: {
        char err[512];
        if (!la->landlock_rules) fallback(la, "the Landlock rules were not read");
        if (landlock_prepare(la, &la->landlock, 0, err, sizeof err) != 0) fallback(la, "Landlock: %s", err);
        if (!la->landlock.restricts) la->applies[i] = 0;
        break;
    }
    case STEP_CAPABILITIES:
        la->applies[i] = decide_capabilities(la, spec);
        break;
    case STEP_SECCOMP:
        la->applies[i] = decide_seccomp(la, spec);
        break;
    case STEP_EXEC:
        decide_exec(la, spec);
        break;
    default:
        break;
    }
}

void prepare_launch(struct launch *la)
{
    if (geteuid() != 0)
        fallback(la, "an unprivileged invoker (the user-namespace launch is the Python launcher's)");
    split_target(la);
    resolve_user(la);
    char cwd[PATH_MAX];
    la->caller_cwd = getcwd(cwd, sizeof cwd) ? xstrdup(cwd) : NULL;
    char root[PATH_MAX];
    if (!realpath(la->root, root) && strlen(la->root) < sizeof root) strcpy(root, la->root);
    snprintf(la->plan_path, sizeof la->plan_path, "%s/profiles/launch/%s.json", root, la->tag);
    char *text;
    size_t len;
    if (read_trusted(la->plan_path, &text, &len) != 0) fallback(la, "the launch plan cannot be trusted or read");
    char err[128];
    la->plan = json_parse(text, len, err, sizeof err);
    long long schema;
    if (!la->plan || !json_get_int(la->plan, "schema", &schema) || schema != 1
        || !json_get_str(la->plan, "tag") || strcmp(json_get_str(la->plan, "tag"), la->tag) != 0)
        fallback(la, "not a launch plan of schema 1 for %s", la->tag);
    la->steps = json_get(la->plan, "steps");
    la->nsteps = json_len(la->steps);
    if (!la->steps || la->steps->type != JSON_ARRAY || la->nsteps > MAX_STEPS) fallback(la, "the plan's steps");
    for (size_t i = 0; i < la->nsteps; i++) {
        const char *name = json_get_str(json_at(la->steps, i), "step");
        la->kinds[i] = STEP_UNKNOWN;
        for (size_t k = 0; name && k < sizeof STEP_NAMES / sizeof *STEP_NAMES; k++)
            if (strcmp(STEP_NAMES[k].name, name) == 0) la->kinds[i] = STEP_NAMES[k].kind;
        if (la->kinds[i] == STEP_UNKNOWN) fallback(la, "a step unknown to this launcher: %s", name ? name : "?");
    }
    decide_variables(la, step_spec(la, STEP_ENVIRONMENT));
    /* verify first (it reads what the others use), then the rest in order */
    for (size_t pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < la->nsteps; i++) {
            const struct json *spec = json_at(la->steps, i);
            if ((la->kinds[i] == STEP_VERIFY) != (pass == 0)) continue;
            la->applies[i] = 1;
            if (json_truthy(json_get(spec, "skip"))) {
                la->applies[i] = 0;
                continue;
            }
            const struct json *req = json_get(spec, "requires");
            if (json_len(req) && la->kinds[i] != STEP_DEVICE_CGROUP) {
                int any = 0;
                for (size_t r = 0; r < json_len(req); r++) {
                    const struct json *name = json_at(req, r);
                    any |= name->type == JSON_STRING && layer_available(name->string);
                }
                if (!any) {
                    la->applies[i] = 0;
                    continue;
                }
            }
            decide_step(la, i);
        }
    if (!step_spec(la, STEP_EXEC)) fallback(la, "the plan has no exec step");
}
