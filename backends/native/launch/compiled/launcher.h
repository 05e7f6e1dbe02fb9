/* confine-launch: the compiled fast path of `confine run`.
 *
 * It follows the same launch plan as the Python runner (backends/native/launch/
 * runner.py, the reference): the same files trusted the same way, the same steps
 * in the plan's order, the same process shape (a supervisor that owns the device
 * cgroup, a child that becomes the app). It takes only the common case: root
 * launching an app whose device cgroup is a cgroup v1 devices controller with
 * the common devices alone, on a kernel without AppArmor. Anything else (an
 * unprivileged invoker, device matches and hotplug, a cgroup v2 BPF program,
 * AppArmor, and every profile that is missing, stale or not trusted) is handed,
 * before anything changed, to the Python runner, which does it or reports it
 * in its own words. */
#ifndef CONFINE_LAUNCHER_H
#define CONFINE_LAUNCHER_H

#include <sys/types.h>
#include <stddef.h>

#include "json.h"

#define MAX_FILES 32
#define MAX_STEPS 64
#define MAX_VARS 128

enum step_kind {
    STEP_VERIFY, STEP_MOUNT_NS, STEP_PRIVATE_TMP, STEP_DEVPTS, STEP_READ_ONLY, STEP_MASKED,
    STEP_DATA_DIRS, STEP_ENVIRONMENT, STEP_DEVICE_CGROUP, STEP_HOTPLUG, STEP_APPARMOR, STEP_LANDLOCK,
    STEP_CAPABILITIES, STEP_SWITCH_USER, STEP_NO_NEW_PRIVS, STEP_SECCOMP, STEP_EXEC, STEP_UNKNOWN
};

struct user {
    char *name, *home;
    uid_t uid;
    gid_t gid;
    gid_t *groups;
    int ngroups;
};

struct file_data {
    const char *path;
    char *data;
    size_t len;
};

struct dir_todo {
    char *path;
    int as_user;
    mode_t mode;
};

struct landlock_plan {
    int restricts;
    int used_abi;
    unsigned long long handled_fs, handled_net, scoped, file_mask;
    unsigned restrict_flags;
};

struct seccomp_filter {
    const char *which;
    const char *data;
    size_t len;
    int log;
};

struct launch {
    /* the command line */
    const char *root, *target, *python, *user_arg;
    int shell, check;
    char **args;
    int nargs;
    int front_argc;            /* run as the `confine` command: its own command line, for the hand-over */
    char **front_argv;
    /* who, what */
    char snap[256], app[256], tag[600], plan_path[4096];
    struct user user;
    char *caller_cwd;
    struct json *plan;
    const struct json *steps;
    enum step_kind kinds[MAX_STEPS];
    int applies[MAX_STEPS];
    size_t nsteps;
    /* what verify-profiles read */
    struct file_data files[MAX_FILES];
    int nfiles;
    struct json *landlock_rules;
    int landlock_abi;
    /* variables and the app's environment */
    char *var_names[MAX_VARS], *var_values[MAX_VARS];
    int nvars;
    char **env;
    int nenv;
    /* decided steps */
    char devpts_options[512];
    const struct json *masked[64];
    int nmasked;
    struct dir_todo dirs[32];
    int ndirs;
    struct landlock_plan landlock;
    unsigned long long keep_caps;
    struct seccomp_filter filters[2];
    int nfilters;
    const char *program;
    char **argv;
    const char *cwds[3];
    /* the device cgroup (supervisor) */
    char cg_mount[4096], cg_path[4096];
    int cg_join_fd;
};

/* plan.c */
void exec_python_cli(const char *python, int argc, char **argv) __attribute__((noreturn));
void fallback(struct launch *la, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));
void prepare_launch(struct launch *la);
const char *var_get(const struct launch *la, const char *name);
char *expand(const struct launch *la, const char *value);
int layer_available(const char *name);
int landlock_kernel_abi(void);

/* steps.c: each raises through child_fail (never returns on error) */
void child_fail(const char *step, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));
void run_child_step(struct launch *la, size_t i);
extern int child_error_fd;

/* landlock.c */
int landlock_prepare(struct launch *la, struct landlock_plan *out, int enforce, char *err, size_t errlen);

/* devcgroup.c */
int devcgroup_find_v1(char *mount, size_t len);
int devcgroup_setup(struct launch *la, const struct json *spec, char *err, size_t errlen);
void devcgroup_join(struct launch *la);
int devcgroup_remove(struct launch *la, char *err, size_t errlen);

/* small helpers (plan.c) */
char *xstrdup(const char *s);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int read_fd_all(int fd, char **out, size_t *len);
char *unescape_octal(const char *s);

#endif
