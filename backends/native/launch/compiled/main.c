/* confine-launch [--root DIR] [--user NAME] [--shell] [--python PYTHON] [--check] SNAP.APP [--] [ARGS...]
 * confine [--root DIR] run [--shell] [--user NAME] SNAP.APP [--] [ARGS...]      (installed as `confine`)
 *
 * The compiled fast path of `confine run` (see launcher.h). `confine run` execs
 * it with --python naming its own interpreter, which runs the Python launcher
 * whenever this one hands a launch over. --check decides and reads everything,
 * changes nothing, and prints "compiled" (exit 0) or "python: WHY" (exit 3).
 *
 * The supervisor (this process) sets up the device cgroup, forks, releases the
 * child through a pipe once it is ready, forwards SIGINT/SIGTERM/SIGHUP/SIGQUIT,
 * waits, removes the cgroup and exits with the app's status (128+N when signal N
 * killed it). The child takes the plan's steps in order, joining the device
 * cgroup itself at the place of the first step that must come after it. */
#define _GNU_SOURCE
#include "launcher.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#define EXIT_LAUNCH_FAILED 126

static pid_t app_pid;

static int terminal_foreground(void)
{
    for (int fd = 0; fd < 3; fd++) {
        pid_t fg = tcgetpgrp(fd);
        if (fg >= 0) return fg == getpgrp();
    }
    return 0;
}

static void forward(int signum)
{
    /* ^C and ^\ reach the app by themselves when we are the terminal's foreground group */
    if ((signum == SIGINT || signum == SIGQUIT) && terminal_foreground()) return;
    if (app_pid > 0) kill(app_pid, signum);
}

static void usage(void)
{
    fputs("usage: confine-launch [--root DIR] [--user NAME] [--shell] [--python PYTHON] [--check] SNAP.APP "
          "[--] [ARGS...]\n", stderr);
    exit(2);
}

static void parse_args(struct launch *la, int argc, char **argv)
{
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--root") && i + 1 < argc) la->root = argv[++i];
        else if (!strncmp(a, "--root=", 7)) la->root = a + 7;
        else if (!strcmp(a, "--user") && i + 1 < argc) la->user_arg = argv[++i];
        else if (!strncmp(a, "--user=", 7)) la->user_arg = a + 7;
        else if (!strcmp(a, "--python") && i + 1 < argc) la->python = argv[++i];
        else if (!strcmp(a, "--shell")) la->shell = 1;
        else if (!strcmp(a, "--check")) la->check = 1;
        else if (a[0] == '-') usage();
        else break;
    }
    if (i >= argc) usage();
    la->target = argv[i++];
    if (i < argc && !strcmp(argv[i], "--")) i++;
    la->args = argv + i;
    la->nargs = argc - i;
    if (!la->root) la->root = getenv("CONFINE_ROOT");
    if (!la->root || !*la->root) la->root = "/var/lib/confine";
}

/* ---- installed as the `confine` command ----------------------------------------------------
 * `confine run` is taken here, without starting Python; every other command, and
 * `run` with --explain, --json or --help, goes to the Python CLI of the interpreter
 * that installed confine (compiled in as CONFINE_PYTHON). */

#ifndef CONFINE_PYTHON
#define CONFINE_PYTHON NULL
#endif

static void python_cli(int argc, char **argv)
{
    if (!CONFINE_PYTHON) {
        fputs("error: this confine was built without a Python interpreter to hand commands to\n", stderr);
        exit(1);
    }
    exec_python_cli(CONFINE_PYTHON, argc, argv);
}

/* the grammar of cli_run.parse; anything it would not take goes to Python */
static void front(struct launch *la, int argc, char **argv)
{
    int i = 1;
    while (i < argc && strcmp(argv[i], "run") != 0) {
        if (!strcmp(argv[i], "--root") && i + 1 < argc) {
            la->root = argv[i + 1];
            i += 2;
        } else if (!strncmp(argv[i], "--root=", 7)) {
            la->root = argv[i] + 7;
            i++;
        } else {
            python_cli(argc, argv);
        }
    }
    for (i++; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--")) python_cli(argc, argv);           /* no app named: Python says so */
        else if (!strcmp(a, "--shell")) la->shell = 1;
        else if (!strcmp(a, "--user") && i + 1 < argc) la->user_arg = argv[++i];
        else if (!strncmp(a, "--user=", 7)) la->user_arg = a + 7;
        else if (a[0] == '-') python_cli(argc, argv);           /* --explain, --json, --help, or a mistake */
        else break;
    }
    if (i >= argc) python_cli(argc, argv);
    la->target = argv[i++];
    if (i < argc && !strcmp(argv[i], "--")) i++;
    la->args = argv + i;
    la->nargs = argc - i;
    la->python = CONFINE_PYTHON;
    la->front_argc = argc;
    la->front_argv = argv;
    if (!la->root) la->root = getenv("CONFINE_ROOT");
    if (!la->root || !*la->root) {
        if (geteuid() != 0) python_cli(argc, argv);              /* the root of a user: the Python CLI knows it */
        la->root = "/var/lib/confine";
    }
}

static void child(struct launch *la, int sync_r)
{
    static const int reset[] = { SIGPIPE, SIGXFSZ, SIGINT, SIGTERM, SIGHUP, SIGQUIT };
    for (size_t i = 0; i < sizeof reset / sizeof *reset; i++) signal(reset[i], SIG_DFL);
    int waited = 0;
    for (size_t i = 0; i < la->nsteps; i++) {
        enum step_kind k = la->kinds[i];
        if (!waited && (k == STEP_DEVICE_CGROUP || k == STEP_HOTPLUG || k == STEP_APPARMOR || k == STEP_LANDLOCK
                        || k == STEP_SWITCH_USER || k == STEP_NO_NEW_PRIVS || k == STEP_SECCOMP || k == STEP_EXEC)) {
            devcgroup_join(la);
            char go = 0;
            if (read(sync_r, &go, 1) != 1 || go != 'g') _exit(EXIT_LAUNCH_FAILED);   /* the supervisor gave up */
            close(sync_r);
            waited = 1;
        }
        if (la->applies[i]) run_child_step(la, i);
    }
    child_fail("exec", "the plan has no exec step");
}

int main(int argc, char **argv)
{
    struct launch la;
    memset(&la, 0, sizeof la);
    la.cg_join_fd = -1;
    const char *base = strrchr(argv[0], '/');
    base = base ? base + 1 : argv[0];
    if (!strcmp(base, "confine")) front(&la, argc, argv);
    else parse_args(&la, argc, argv);
    const char *forced = getenv("CONFINE_LAUNCHER");
    if (forced && !strcmp(forced, "python")) fallback(&la, "CONFINE_LAUNCHER=python");
    prepare_launch(&la);
    if (la.check) {
        printf("compiled\n");
        return 0;
    }

    char err[1024];
    size_t dev = 0;
    while (dev < la.nsteps && la.kinds[dev] != STEP_DEVICE_CGROUP) dev++;
    if (dev < la.nsteps && la.applies[dev] && devcgroup_setup(&la, json_at(la.steps, dev), err, sizeof err) != 0)
        fallback(&la, "device-cgroup: %s", err);

    int sync_pipe[2], err_pipe[2];
    if (pipe2(sync_pipe, O_CLOEXEC) || pipe2(err_pipe, O_CLOEXEC)) {
        fprintf(stderr, "error: pipe: %s\n", strerror(errno));
        devcgroup_remove(&la, NULL, 0);
        return 1;
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "error: fork: %s\n", strerror(errno));
        devcgroup_remove(&la, NULL, 0);
        return 1;
    }
    if (pid == 0) {
        close(sync_pipe[1]);
        close(err_pipe[0]);
        child_error_fd = err_pipe[1];
        child(&la, sync_pipe[0]);
    }
    close(sync_pipe[0]);
    close(err_pipe[1]);
    app_pid = pid;
    if (la.cg_join_fd >= 0) {            /* the child holds its own copy */
        close(la.cg_join_fd);
        la.cg_join_fd = -1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = forward;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    int forwarded[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
    for (size_t i = 0; i < 4; i++) sigaction(forwarded[i], &sa, NULL);

    signal(SIGPIPE, SIG_IGN);            /* a child that failed early closed its end: EPIPE, not death */
    ssize_t w = write(sync_pipe[1], "g", 1);
    (void)w;
    close(sync_pipe[1]);
    char failure[4096];
    size_t flen = 0;
    for (;;) {
        ssize_t r = read(err_pipe[0], failure + flen, sizeof failure - 1 - flen);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        flen += (size_t)r;
        if (flen == sizeof failure - 1) break;
    }
    failure[flen] = 0;
    close(err_pipe[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    app_pid = 0;
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 1;
    if (devcgroup_remove(&la, err, sizeof err) != 0) fprintf(stderr, "confine: device-cgroup: cleanup failed: %s\n", err);
    if (flen) {
        fprintf(stderr, "error: %s\n", failure);
        return 1;
    }
    return code;
}
