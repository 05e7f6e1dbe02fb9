/* The app's device cgroup on a cgroup v1 devices controller, as devcgroup.py's
 * V1DeviceCgroup makes it: `<mount>/confine/<tag>.<pid>`, "a" written to
 * devices.deny, then one devices.allow line per common device; the child joins
 * it by writing 0 to `tasks` (a thread moving itself skips the RCU wait that a pid
 * written to cgroup.procs costs); removed when the app exits. */
#define _GNU_SOURCE
#include "launcher.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int has_word(const char *list, const char *word)
{
    size_t wl = strlen(word);
    for (const char *p = list; p && *p;) {
        const char *comma = strchr(p, ',');
        size_t l = comma ? (size_t)(comma - p) : strlen(p);
        if (l == wl && strncmp(p, word, wl) == 0) return 1;
        p = comma ? comma + 1 : NULL;
    }
    return 0;
}

/* 1 and the mount point when a writable devices controller is mounted (find_mounts) */
int devcgroup_find_v1(char *mount, size_t len)
{
    FILE *f = fopen("/proc/self/mountinfo", "re");
    if (!f) return 0;
    char *line = NULL;
    size_t cap = 0;
    int found = 0;
    while (!found && getline(&line, &cap, f) > 0) {
        line[strcspn(line, "\n")] = 0;
        char *sep = strstr(line, " - ");
        if (!sep) continue;
        *sep = 0;
        char *left[6] = { 0 }, *right[3] = { 0 }, *save = NULL;
        char *tok = strtok_r(line, " ", &save);
        for (int i = 0; i < 6 && tok; i++, tok = strtok_r(NULL, " ", &save)) left[i] = tok;
        tok = strtok_r(sep + 3, " ", &save);
        for (int i = 0; i < 3 && tok; i++, tok = strtok_r(NULL, " ", &save)) right[i] = tok;
        if (!left[5] || !right[2] || strcmp(right[0], "cgroup") != 0 || !has_word(right[2], "devices")) continue;
        char *mp = unescape_octal(left[4]);
        found = 1;                  /* the first devices mount decides, as find_mounts() has it */
        if (has_word(left[5], "ro") || access(mp, W_OK) != 0 || strlen(mp) >= len) {
            free(mp);
            free(line);
            fclose(f);
            return 0;
        }
        strcpy(mount, mp);
        free(mp);
    }
    free(line);
    fclose(f);
    return found;
}

static int write_text(const char *dir, const char *name, const char *text)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = write(fd, text, strlen(text));
    int saved = errno;
    close(fd);
    errno = saved;
    return n == (ssize_t)strlen(text) ? 0 : -1;
}

/* "1", "*" -> the text of a major or minor; NULL when neither */
static const char *number_text(const struct json *v, char *buf, size_t len)
{
    if (!v || v->type == JSON_NULL || (v->type == JSON_STRING && !strcmp(v->string, "*"))) return "*";
    if (v->type == JSON_NUMBER && v->integral && v->integer >= 0 && v->integer < (1LL << 32)) {
        snprintf(buf, len, "%lld", v->integer);
        return buf;
    }
    return NULL;
}

int devcgroup_setup(struct launch *la, const struct json *spec, char *err, size_t errlen)
{
    char parent[PATH_MAX];
    snprintf(parent, sizeof parent, "%s/confine", la->cg_mount);
    if (mkdir(parent, 0755) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create %s: %s", parent, strerror(errno));
        return -1;
    }
    /* <tag>.<pid>, or -N after it when a live run holds that name */
    snprintf(la->cg_path, sizeof la->cg_path, "%s/%s.%d", parent, la->tag, (int)getpid());
    for (int n = 1; access(la->cg_path, F_OK) == 0; n++) {
        if (rmdir(la->cg_path) == 0) break;       /* empty: a dead run's */
        snprintf(la->cg_path, sizeof la->cg_path, "%s/%s.%d-%d", parent, la->tag, (int)getpid(), n);
    }
    if (mkdir(la->cg_path, 0755) != 0) {
        snprintf(err, errlen, "cannot create %s: %s", la->cg_path, strerror(errno));
        la->cg_path[0] = 0;
        return -1;
    }
    if (write_text(la->cg_path, "devices.deny", "a") != 0) goto failed;
    char allow[PATH_MAX];
    snprintf(allow, sizeof allow, "%s/devices.allow", la->cg_path);
    int fd = open(allow, O_WRONLY | O_CLOEXEC);
    if (fd < 0) goto failed;
    const struct json *common = json_get(spec, "common");
    for (size_t i = 0; i < json_len(common); i++) {
        const struct json *d = json_at(common, i);
        const char *type = json_get_str(d, "type"), *access_s = json_get_str(d, "access");
        char mj[24], mn[24], rule[96], acc[4] = { 0 };
        const char *major = number_text(json_get(d, "major"), mj, sizeof mj);
        const char *minor = number_text(json_get(d, "minor"), mn, sizeof mn);
        int k = 0;
        for (const char *l = "rwm"; *l; l++)
            if (strchr(access_s ? access_s : "rwm", *l)) acc[k++] = *l;
        if (!type || !major || !minor || (strcmp(type, "a") && strcmp(type, "b") && strcmp(type, "c"))
            || (!strcmp(major, "*") && strcmp(minor, "*")) || strspn(access_s ? access_s : "rwm", "rwm")
            != strlen(access_s ? access_s : "rwm")) {
            close(fd);
            errno = EINVAL;
            snprintf(err, errlen, "a common device rule of the plan is malformed");
            devcgroup_remove(la, NULL, 0);
            return -1;
        }
        const char *types = !strcmp(type, "a") ? "cb" : type;
        for (const char *t = types; *t; t++) {
            snprintf(rule, sizeof rule, "%c %s:%s %s", *t, major, minor, acc);
            if (write(fd, rule, strlen(rule)) != (ssize_t)strlen(rule)) {
                close(fd);
                goto failed;
            }
        }
    }
    close(fd);
    char tasks[PATH_MAX];
    snprintf(tasks, sizeof tasks, "%s/tasks", la->cg_path);
    la->cg_join_fd = open(tasks, O_WRONLY | O_CLOEXEC);
    if (la->cg_join_fd < 0) goto failed;
    return 0;
failed:
    snprintf(err, errlen, "cannot set up the cgroup at %s: %s", la->cg_path, strerror(errno));
    devcgroup_remove(la, NULL, 0);
    return -1;
}

void devcgroup_join(struct launch *la)
{
    if (la->cg_join_fd < 0) return;
    if (write(la->cg_join_fd, "0", 1) != 1) child_fail("device-cgroup", "joining %s: %s", la->cg_path, strerror(errno));
    close(la->cg_join_fd);
    la->cg_join_fd = -1;
}

/* our own devices cgroup directory (where processes left inside go back) */
static void home_cgroup(const struct launch *la, char *out, size_t len)
{
    snprintf(out, len, "%s", la->cg_mount);
    FILE *f = fopen("/proc/self/cgroup", "re");
    if (!f) return;
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
        line[strcspn(line, "\n")] = 0;
        char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2) continue;
        *c2 = 0;
        if (has_word(c1 + 1, "devices")) {
            snprintf(out, len, "%s%s", la->cg_mount, strcmp(c2 + 1, "/") ? c2 + 1 : "");
            break;
        }
    }
    free(line);
    fclose(f);
}

int devcgroup_remove(struct launch *la, char *err, size_t errlen)
{
    if (la->cg_join_fd >= 0) {
        close(la->cg_join_fd);
        la->cg_join_fd = -1;
    }
    if (!la->cg_path[0]) return 0;
    struct timespec start, now, pause = { 0, 5 * 1000 * 1000 };
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        if (rmdir(la->cg_path) == 0 || errno == ENOENT) break;
        int why = errno;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if ((why != EBUSY && why != ENOTEMPTY) || now.tv_sec - start.tv_sec >= 2) {
            if (err) snprintf(err, errlen, "cannot remove %s: %s", la->cg_path, strerror(why));
            return -1;
        }
        /* processes the app left behind: back where we are */
        char procs[PATH_MAX], home[PATH_MAX], home_procs[PATH_MAX + 16];
        snprintf(procs, sizeof procs, "%s/cgroup.procs", la->cg_path);
        home_cgroup(la, home, sizeof home);
        if (strcmp(home, la->cg_path) == 0) snprintf(home, sizeof home, "%s", la->cg_mount);
        snprintf(home_procs, sizeof home_procs, "%s/cgroup.procs", home);
        FILE *f = fopen(procs, "re");
        int any = 0;
        if (f) {
            long pid;
            while (fscanf(f, "%ld", &pid) == 1) {
                char text[32];
                any = 1;
                snprintf(text, sizeof text, "%ld", pid);
                int fd = open(home_procs, O_WRONLY | O_CLOEXEC);
                if (fd >= 0) {
                    ssize_t w = write(fd, text, strlen(text));
                    (void)w;
                    close(fd);
                }
            }
            fclose(f);
        }
        if (!any) nanosleep(&pause, NULL);
    }
    la->cg_path[0] = 0;
    return 0;
}
