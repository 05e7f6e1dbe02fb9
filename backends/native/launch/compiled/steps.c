/* The steps the child takes, in the plan's order, as the units of steps.py do:
 * mounts, data directories, capabilities, user, no_new_privs, seccomp, exec.
 * A failure is written, as "STEP: what: why", to the close-on-exec error pipe
 * the supervisor reads, and the child exits 126. */
#define _GNU_SOURCE
#include "launcher.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef MOUNT_ATTR_RDONLY
#define MOUNT_ATTR_RDONLY 0x1
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x4
#define MOVE_MOUNT_T_EMPTY_PATH 0x40
#endif
#define NR_OPEN_TREE 428
#define NR_MOVE_MOUNT 429
#define NR_MOUNT_SETATTR 442

struct mount_attr_arg {
    unsigned long long attr_set, attr_clr, propagation, userns_fd;
};

int child_error_fd = -1;
static const char *current_step = "start";

void child_fail(const char *step, const char *fmt, ...)
{
    char msg[2048];
    int n = snprintf(msg, sizeof msg, "%s: ", step);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
    va_end(ap);
    if (child_error_fd >= 0) {
        ssize_t w = write(child_error_fd, msg, strlen(msg));
        (void)w;
    }
    _exit(126);
}

#define FAIL(...) child_fail(current_step, __VA_ARGS__)

static void do_mount(const char *src, const char *target, const char *fstype, unsigned long flags, const char *data)
{
    if (mount(src, target, fstype, flags, data) != 0)
        FAIL("mount %s on %s: %s", src ? src : fstype ? fstype : "(none)", target, strerror(errno));
}

/* ---- private /tmp --------------------------------------------------------------------- */

static void ensure_root_dir(const char *path, mode_t mode)
{
    struct stat st;
    if (mkdir(path, mode) != 0 && errno != EEXIST) FAIL("cannot create %s: %s", path, strerror(errno));
    if (lstat(path, &st) != 0) FAIL("%s: %s", path, strerror(errno));
    if (!S_ISDIR(st.st_mode)) FAIL("%s is not a directory", path);
    if (st.st_uid != 0) FAIL("%s is owned by uid %u, not root: refusing to use it", path, (unsigned)st.st_uid);
    if ((st.st_mode & 07777) != mode && chmod(path, mode) != 0) FAIL("chmod %s: %s", path, strerror(errno));
}

/* Open base/rel, creating each component, never following a symlink, each owned by us
 * (mounts.secure_mkdirs): an O_PATH fd of the last one. */
static int secure_mkdirs(const char *base, const char *rel, mode_t mode)
{
    int fd = open(base, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) FAIL("%s: %s", base, strerror(errno));
    char *copy = xstrdup(rel), *save = NULL;
    for (char *part = strtok_r(copy, "/", &save); part; part = strtok_r(NULL, "/", &save)) {
        if (!strcmp(part, ".") || !strcmp(part, "..")) FAIL("%s/%s: '.' and '..' are not allowed", base, rel);
        int created = mkdirat(fd, part, mode) == 0;
        if (!created && errno != EEXIST) FAIL("%s/%s: mkdir %s: %s", base, rel, part, strerror(errno));
        int nfd = openat(fd, part, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (nfd < 0) FAIL("%s/%s: %s: %s", base, rel, part, strerror(errno));
        struct stat st;
        if (fstat(nfd, &st) != 0 || st.st_uid != geteuid())
            FAIL("%s/%s: %s is owned by uid %u, not by us: refusing to use it", base, rel, part, (unsigned)st.st_uid);
        if (created) {
            char proc[64];
            snprintf(proc, sizeof proc, "/proc/self/fd/%d", nfd);
            chmod(proc, mode);
        }
        close(fd);
        fd = nfd;
    }
    free(copy);
    return fd;
}

static void step_private_tmp(const struct json *spec)
{
    const char *target = json_get_str(spec, "target");
    if (!target) target = "/tmp";
    size_t tl = strlen(target);
    while (tl > 1 && target[tl - 1] == '/') tl--;
    const struct json *keep = json_get(spec, "keep-visible");
    int fds[32];
    const char *paths[32];
    int nkeep = 0;
    for (size_t i = 0; i < json_len(keep) && nkeep < 32; i++) {
        const struct json *k = json_at(keep, i);
        const char *path = json_get_str(k, "path");
        if (!path || strncmp(path, target, tl) != 0 || path[tl] != '/') continue;
        int fd = (int)syscall(NR_OPEN_TREE, AT_FDCWD, path, OPEN_TREE_CLONE | O_CLOEXEC | AT_RECURSIVE);
        if (fd < 0) FAIL("open_tree %s: %s", path, strerror(errno));
        if (json_truthy(json_get(k, "read-only"))) {
            struct mount_attr_arg attr = { MOUNT_ATTR_RDONLY, 0, 0, 0 };
            if (syscall(NR_MOUNT_SETATTR, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) != 0)
                FAIL("mount_setattr (detached tree): %s", strerror(errno));
        }
        paths[nkeep] = path;
        fds[nkeep++] = fd;
    }
    const struct json *parent = json_get(spec, "parent");
    const char *ppath = json_get_str(parent, "path");
    if (ppath) {
        char up[PATH_MAX];
        snprintf(up, sizeof up, "%s", ppath);
        char *slash = strrchr(up, '/');
        if (slash && slash != up) {
            *slash = 0;
            ensure_root_dir(up, 0755);
        }
        const char *pm = json_get_str(parent, "mode");
        ensure_root_dir(ppath, (mode_t)strtoul(pm ? pm : "0700", NULL, 8));
    }
    const char *src = json_get_str(spec, "source");
    const char *m = json_get_str(spec, "mode");
    if (!src) FAIL("the plan names no source");
    ensure_root_dir(src, (mode_t)strtoul(m ? m : "1777", NULL, 8));
    do_mount(src, target, NULL, MS_BIND | MS_REC, NULL);
    for (int i = 0; i < nkeep; i++) {
        int dfd = secure_mkdirs(target, paths[i] + tl + 1, 0755);
        if (syscall(NR_MOVE_MOUNT, fds[i], "", dfd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) != 0)
            FAIL("move_mount onto %s: %s", paths[i], strerror(errno));
        close(dfd);
        close(fds[i]);
    }
}

/* ---- devpts, read-only, masks ---------------------------------------------------------- */

static int is_symlink(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0 && S_ISLNK(st.st_mode);
}

static void step_devpts(struct launch *la, const struct json *spec)
{
    const char *target = json_get_str(spec, "target"), *fstype = json_get_str(spec, "fstype");
    do_mount("devpts", target ? target : "/dev/pts", fstype ? fstype : "devpts", MS_NOSUID | MS_NOEXEC,
             la->devpts_options);
    const struct json *ptmx = json_get(spec, "ptmx");
    const char *src = json_get_str(ptmx, "source"), *dst = json_get_str(ptmx, "target");
    if (ptmx && src && dst && !is_symlink(dst)) do_mount(src, dst, NULL, MS_BIND, NULL);
}

/* where mount_setattr is missing: remount read-only each mount at or below `path` */
static void remount_each_read_only(const char *path)
{
    FILE *f = fopen("/proc/self/mountinfo", "re");
    if (!f) FAIL("/proc/self/mountinfo: %s", strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    size_t pl = strlen(path);
    while (pl > 1 && path[pl - 1] == '/') pl--;
    while (getline(&line, &cap, f) > 0) {
        char *field[6] = { 0 }, *save = NULL, *tok = strtok_r(line, " ", &save);
        for (int i = 0; i < 6 && tok; i++, tok = strtok_r(NULL, " ", &save)) field[i] = tok;
        if (!field[5]) continue;
        char *mp = unescape_octal(field[4]);
        if (strncmp(mp, path, pl) == 0 && (mp[pl] == 0 || mp[pl] == '/' || pl == 1)) {
            unsigned long flags = MS_BIND | MS_REMOUNT | MS_RDONLY;
            char *osave = NULL;
            for (char *o = strtok_r(field[5], ",", &osave); o; o = strtok_r(NULL, ",", &osave)) {
                if (!strcmp(o, "nosuid")) flags |= MS_NOSUID;
                if (!strcmp(o, "nodev")) flags |= MS_NODEV;
                if (!strcmp(o, "noexec")) flags |= MS_NOEXEC;
            }
            do_mount(NULL, mp, NULL, flags, NULL);
        }
        free(mp);
    }
    free(line);
    fclose(f);
}

static void step_read_only(const struct json *spec)
{
    const struct json *paths = json_get(spec, "paths");
    for (size_t i = 0; i < json_len(paths); i++) {
        const struct json *p = json_at(paths, i);
        if (p->type != JSON_STRING) continue;
        do_mount(p->string, p->string, NULL, MS_BIND | MS_REC, NULL);
        struct mount_attr_arg attr = { MOUNT_ATTR_RDONLY, 0, 0, 0 };
        if (syscall(NR_MOUNT_SETATTR, AT_FDCWD, p->string, AT_RECURSIVE, &attr, sizeof attr) == 0) continue;
        if (errno != ENOSYS && errno != EINVAL) FAIL("mount_setattr %s: %s", p->string, strerror(errno));
        remount_each_read_only(p->string);
    }
}

static void step_masked(struct launch *la)
{
    for (int i = 0; i < la->nmasked; i++) {
        const char *path = json_get_str(la->masked[i], "path");
        const char *with = json_get_str(la->masked[i], "with");
        struct stat st;
        if (lstat(path, &st) != 0) continue;
        if (with && strcmp(with, "tmpfs-ro") == 0)
            do_mount("tmpfs", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0555");
        else
            do_mount(with ? with : "/dev/null", path, NULL, MS_BIND, NULL);
    }
}

/* ---- data directories ---------------------------------------------------------------- */

static int exists_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static void make_dir(const char *path, mode_t mode)
{
    char parent[PATH_MAX];
    snprintf(parent, sizeof parent, "%s", path);
    char *slash = strrchr(parent, '/');
    if (slash && slash != parent) {
        *slash = 0;
        if (!exists_dir(parent)) make_dir(parent, 0755);
    }
    if (mkdir(path, mode) != 0) {
        if (errno == EEXIST) return;
        FAIL("cannot create %s: %s", path, strerror(errno));
    }
    chmod(path, mode);
}

static void step_data_dirs(struct launch *la)
{
    const struct user *u = &la->user;
    for (int i = 0; i < la->ndirs; i++) {
        int as_user = la->dirs[i].as_user && u->uid != 0;
        gid_t saved_groups[256];
        int nsaved = 0;
        if (as_user) {
            /* the user's effective ids for the mkdir; real and saved stay root (users.as_user) */
            nsaved = getgroups(256, saved_groups);
            if (setgroups((size_t)u->ngroups, u->groups) || setresgid((gid_t)-1, u->gid, (gid_t)-1)
                || setresuid((uid_t)-1, u->uid, (uid_t)-1))
                FAIL("cannot take the ids of %s: %s", u->name, strerror(errno));
        }
        make_dir(la->dirs[i].path, la->dirs[i].mode);
        if (as_user && (setresuid((uid_t)-1, 0, (uid_t)-1) || setresgid((gid_t)-1, 0, (gid_t)-1)
                        || setgroups(nsaved > 0 ? (size_t)nsaved : 0, saved_groups)))
            FAIL("cannot return to root's ids: %s", strerror(errno));
    }
}

/* ---- capabilities, user, no_new_privs, seccomp, exec ------------------------------------ */

static int last_cap(void)
{
    int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
    char buf[16] = { 0 };
    if (fd >= 0) {
        ssize_t n = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (n > 0) return atoi(buf);
    }
    return 40;
}

static void step_capabilities(struct launch *la)
{
    int last = last_cap();
    for (int n = 0; n <= last && n < 64; n++) {
        if ((la->keep_caps >> n) & 1 || prctl(PR_CAPBSET_READ, n, 0, 0, 0) != 1) continue;
        if (prctl(PR_CAPBSET_DROP, n, 0, 0, 0) != 0)
            FAIL("dropping capability %d from the bounding set: %s", n, strerror(errno));
    }
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);   /* fails only where there are none */
    struct __user_cap_header_struct header = { _LINUX_CAPABILITY_VERSION_3, 0 };
    struct __user_cap_data_struct data[2];
    if (syscall(SYS_capget, &header, data) != 0) FAIL("capget: %s", strerror(errno));
    data[0].inheritable &= (unsigned)(la->keep_caps & 0xffffffffU);
    data[1].inheritable &= (unsigned)(la->keep_caps >> 32);
    if (syscall(SYS_capset, &header, data) != 0) FAIL("capset: %s", strerror(errno));
}

static void step_switch_user(struct launch *la)
{
    const struct user *u = &la->user;
    if (setgroups((size_t)u->ngroups, u->groups) != 0) FAIL("setgroups: %s", strerror(errno));
    if (setresgid(u->gid, u->gid, u->gid) != 0) FAIL("setresgid %u: %s", (unsigned)u->gid, strerror(errno));
    if (setresuid(u->uid, u->uid, u->uid) != 0) FAIL("setresuid %u: %s", (unsigned)u->uid, strerror(errno));
    uid_t r, e, s;
    gid_t gr, ge, gs;
    if (getresuid(&r, &e, &s) || getresgid(&gr, &ge, &gs) || r != u->uid || e != u->uid || s != u->uid
        || gr != u->gid || ge != u->gid || gs != u->gid)
        FAIL("could not become %s (uid %u, gid %u)", u->name, (unsigned)u->uid, (unsigned)u->gid);
}

static void step_seccomp(struct launch *la)
{
    for (int i = 0; i < la->nfilters; i++) {
        const struct seccomp_filter *f = &la->filters[i];
        struct sock_filter *insns = malloc(f->len);
        if (!insns) FAIL("out of memory");
        memcpy(insns, f->data, f->len);
        struct sock_fprog prog = { (unsigned short)(f->len / 8), insns };
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) FAIL("the %s filter: prctl(PR_SET_NO_NEW_PRIVS): %s",
                                                              f->which, strerror(errno));
        if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, f->log ? SECCOMP_FILTER_FLAG_LOG : 0, &prog) != 0)
            FAIL("the %s filter: seccomp(SECCOMP_SET_MODE_FILTER): %s", f->which, strerror(errno));
        free(insns);
    }
}

static void step_exec(struct launch *la)
{
    for (int i = 0; i < 3 && la->cwds[i]; i++)
        if (chdir(la->cwds[i]) == 0) break;
    static char *no_env[] = { NULL };
    execve(la->program, la->argv, la->env ? la->env : no_env);
    FAIL("execve %s: %s", la->program, strerror(errno));
}

void run_child_step(struct launch *la, size_t i)
{
    const struct json *spec = json_at(la->steps, i);
    current_step = json_get_str(spec, "step");
    switch (la->kinds[i]) {
    case STEP_MOUNT_NS:
        if (unshare(CLONE_NEWNS) != 0) FAIL("unshare(CLONE_NEWNS): %s", strerror(errno));
        do_mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
        break;
    case STEP_PRIVATE_TMP:
        step_private_tmp(spec);
        break;
    case STEP_DEVPTS:
        step_devpts(la, spec);
        break;
    case STEP_READ_ONLY:
        step_read_only(spec);
        break;
    case STEP_MASKED:
        step_masked(la);
        break;
    case STEP_DATA_DIRS:
        step_data_dirs(la);
        break;
    case STEP_LANDLOCK: {
        char err[512];
        struct landlock_plan p;
        if (landlock_prepare(la, &p, 1, err, sizeof err) != 0) FAIL("%s", err);
        break;
    }
    case STEP_CAPABILITIES:
        step_capabilities(la);
        break;
    case STEP_SWITCH_USER:
        step_switch_user(la);
        break;
    case STEP_NO_NEW_PRIVS:
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) FAIL("prctl(PR_SET_NO_NEW_PRIVS): %s", strerror(errno));
        break;
    case STEP_SECCOMP:
        step_seccomp(la);
        break;
    case STEP_EXEC:
        step_exec(la);
        break;
    default:                     /* verify, environment: decided before; device cgroup: joined at the sync */
        break;
    }
}
