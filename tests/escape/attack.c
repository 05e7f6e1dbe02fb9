/* The attack program of confine's escape suite. It runs only as the app of the
   escape test snap, behind bin/guard, which has checked that the process is
   confined (seccomp filter, no_new_privs, a mount namespace of its own) before
   exec'ing this program.

   usage: attack ATTACK [ARGS...]; prints "self pid=PID", then one line per
   attempt: "LABEL ret=N errno=NAME", or "LABEL signal=N" when the attempt,
   made in a child, was killed. Exit status 0 once every attempt was reported. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#define X32_SYSCALL_BIT 0x40000000L

static const char *errname(int e) {
    switch (e) {
    case 0: return "0";
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case ESRCH: return "ESRCH";
    case EIO: return "EIO";
    case ENXIO: return "ENXIO";
    case EBADF: return "EBADF";
    case EAGAIN: return "EAGAIN";
    case EACCES: return "EACCES";
    case EFAULT: return "EFAULT";
    case EEXIST: return "EEXIST";
    case ENODEV: return "ENODEV";
    case ENOTDIR: return "ENOTDIR";
    case EINVAL: return "EINVAL";
    case ENOTTY: return "ENOTTY";
    case EROFS: return "EROFS";
    case ENOSYS: return "ENOSYS";
    case ESTALE: return "ESTALE";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    default: return "OTHER";
    }
}

static void report(const char *label, long r, int e) {
    printf("%s ret=%ld errno=%s\n", label, r, r < 0 ? errname(e) : "0");
}

/* Make one raw system call in a forked child: a seccomp kill, or a call that
   succeeds in making a new process (clone), never reaches this process. */
static void in_child(const char *label, long nr, long a, long b, long c, long d, long e) {
    int fds[2];
    if (pipe(fds) < 0) { perror("pipe"); exit(2); }
    pid_t pid = fork();
    if (pid < 0) { perror("fork"); exit(2); }
    if (pid == 0) {
        close(fds[0]);
        pid_t me = getpid();
        errno = 0;
        long r = syscall(nr, a, b, c, d, e);
        int err = errno;
        if (getpid() != me) _exit(0);           /* a new process: it made it out, it says nothing */
        char line[256];
        int n = snprintf(line, sizeof line, "%s pid=%d ret=%ld errno=%s\n", label, (int)me, r,
                         r < 0 ? errname(err) : "0");
        if (write(fds[1], line, n) != n) _exit(3);
        if (r > 0 && (nr == SYS_clone || nr == SYS_clone3)) waitpid(r, NULL, __WALL);
        _exit(0);
    }
    close(fds[1]);
    char buf[512];
    ssize_t n = read(fds[0], buf, sizeof buf - 1);
    close(fds[0]);
    int status;
    waitpid(pid, &status, 0);
    if (WIFSIGNALED(status))
        printf("%s pid=%d signal=%d\n", label, (int)pid, WTERMSIG(status));
    else if (n > 0) {
        buf[n] = 0;
        fputs(buf, stdout);
    } else
        printf("%s pid=%d exit=%d\n", label, (int)pid, WEXITSTATUS(status));
}

static int open_pty(int *master) {
    *master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_NONBLOCK);
    if (*master < 0) { report("open /dev/ptmx", -1, errno); return -1; }
    int unlock = 0;
    ioctl(*master, TIOCSPTLCK, &unlock);
    int slave = ioctl(*master, TIOCGPTPEER, O_RDWR | O_NOCTTY);
    if (slave < 0) { report("open pty slave", -1, errno); return -1; }
    return slave;
}

static void typed_back(int master) {
    char c;
    errno = 0;
    long n = read(master, &c, 1);
    report("read back from the pty", n, errno);
}

static int attack_tiocsti(int high) {
    int master, slave = open_pty(&master);
    if (slave < 0) return 1;
    struct winsize ws;
    report("ioctl TIOCGWINSZ", ioctl(slave, TIOCGWINSZ, &ws), errno);     /* the tty works */
    char c = 'x';
    unsigned long req = TIOCSTI;
    if (high) req |= 0xffffffff00000000UL;
    errno = 0;
    long r = syscall(SYS_ioctl, slave, req, &c);
    report(high ? "ioctl TIOCSTI|high-bits" : "ioctl TIOCSTI", r, errno);
    typed_back(master);                         /* nothing was pushed into the input */
    return 0;
}

static int attack_tioclinux(void) {
    int master, slave = open_pty(&master);
    if (slave < 0) return 1;
    char sub = 12;                              /* TIOCL_GETKMSGREDIRECT: reads only */
    errno = 0;
    long r = syscall(SYS_ioctl, slave, TIOCLINUX, &sub);
    report("ioctl TIOCLINUX", r, errno);
    errno = 0;
    r = syscall(SYS_ioctl, slave, TIOCLINUX | 0xffffffff00000000UL, &sub);
    report("ioctl TIOCLINUX|high-bits", r, errno);
    return 0;
}

static int attack_open_by_handle(const char *type_hex) {
    /* TYPE:HEX, the handle of a host directory, as name_to_handle_at gave it to the test */
    int type = atoi(type_hex);
    const char *hex = strchr(type_hex, ':');
    if (!hex) return 2;
    hex++;
    size_t len = strlen(hex) / 2;
    struct file_handle *h = calloc(1, sizeof *h + len);
    h->handle_bytes = len;
    h->handle_type = type;
    for (size_t i = 0; i < len; i++) sscanf(hex + 2 * i, "%2hhx", &h->f_handle[i]);
    int mount_fd = open("/", O_RDONLY | O_DIRECTORY);
    errno = 0;
    long r = syscall(SYS_open_by_handle_at, mount_fd, h, O_RDONLY | O_DIRECTORY);
    report("open_by_handle_at", r, errno);
    struct file_handle probe = {.handle_bytes = 0};
    int mount_id;
    errno = 0;
    r = syscall(SYS_name_to_handle_at, AT_FDCWD, "/", &probe, &mount_id, 0);
    report("name_to_handle_at", r, errno);
    return 0;
}

static void ns_link(const char *label, const char *path) {
    char buf[128];
    ssize_t n = readlink(path, buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = 0;
    printf("%s %s\n", label, buf);
}

static int attack_unshare_user(void) {
    ns_link("userns before", "/proc/self/ns/user");
    errno = 0;
    long r = syscall(SYS_unshare, CLONE_NEWUSER);
    report("unshare CLONE_NEWUSER", r, errno);
    errno = 0;
    r = syscall(SYS_unshare, CLONE_NEWUSER | CLONE_NEWNS);
    report("unshare CLONE_NEWUSER|CLONE_NEWNS", r, errno);
    ns_link("userns after", "/proc/self/ns/user");
    return 0;
}

static int attack_clone_ns(void) {
    static const struct { const char *name; long flag; } flags[] = {
        {"CLONE_NEWNS", CLONE_NEWNS}, {"CLONE_NEWUSER", CLONE_NEWUSER}, {"CLONE_NEWPID", CLONE_NEWPID},
        {"CLONE_NEWNET", CLONE_NEWNET}, {"CLONE_NEWUTS", CLONE_NEWUTS}, {"CLONE_NEWIPC", CLONE_NEWIPC},
        {"CLONE_NEWCGROUP", CLONE_NEWCGROUP},
    };
    char label[64];
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) {
        snprintf(label, sizeof label, "clone %s", flags[i].name);
        in_child(label, SYS_clone, flags[i].flag | SIGCHLD, 0, 0, 0, 0);
    }
    static struct clone_args args;
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) {
        memset(&args, 0, sizeof args);
        args.flags = flags[i].flag;
        args.exit_signal = SIGCHLD;
        snprintf(label, sizeof label, "clone3 %s", flags[i].name);
        in_child(label, SYS_clone3, (long)&args, sizeof args, 0, 0, 0);
    }
    in_child("clone plain", SYS_clone, SIGCHLD, 0, 0, 0, 0);     /* forking itself works */
    return 0;
}

static int attack_keyctl(void) {
    errno = 0;
    long r = syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3 /* KEY_SPEC_SESSION_KEYRING */, 1);
    report("keyctl KEYCTL_GET_KEYRING_ID", r, errno);
    errno = 0;
    r = syscall(SYS_add_key, "user", "confine-escape", "x", 1, -3);
    report("add_key", r, errno);
    errno = 0;
    r = syscall(SYS_request_key, "user", "confine-escape", NULL, 0);
    report("request_key", r, errno);
    return 0;
}

static int attack_ptrace(pid_t target) {
    errno = 0;
    long r = syscall(SYS_ptrace, 16 /* PTRACE_ATTACH */, target, 0, 0);
    report("ptrace PTRACE_ATTACH", r, errno);
    errno = 0;
    r = syscall(SYS_ptrace, 0x4206 /* PTRACE_SEIZE */, target, 0, 0);
    report("ptrace PTRACE_SEIZE", r, errno);
    char buf[16];
    struct iovec local = {buf, sizeof buf}, remote = {(void *)0x400000, sizeof buf};
    errno = 0;
    r = syscall(SYS_process_vm_readv, target, &local, 1, &remote, 1, 0);
    report("process_vm_readv", r, errno);
    errno = 0;
    r = syscall(SYS_kill, target, 0);
    report("kill 0", r, errno);
    return 0;
}

static int do_write(const char *path, const char *data, int create) {
    errno = 0;
    int fd = open(path, O_WRONLY | O_CLOEXEC | (create ? O_CREAT | O_EXCL : 0), 0644);
    report("open for writing", fd, errno);
    if (fd < 0) return 0;
    errno = 0;
    long r = write(fd, data, strlen(data));
    report("write", r, errno);
    close(fd);
    return 0;
}

static int do_open(const char *path, const char *mode) {
    int flags = strcmp(mode, "rw") == 0 ? O_RDWR : O_RDONLY;
    errno = 0;
    int fd = open(path, flags | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    report("open", fd, errno);
    if (fd >= 0) {
        char c;
        errno = 0;
        long r = read(fd, &c, 1);
        report("read", r, errno);
        close(fd);
    }
    return 0;
}

static int do_list(const char *path) {
    DIR *d = opendir(path);
    if (!d) { report("opendir", -1, errno); return 0; }
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            printf("entry %s\n", e->d_name);
    closedir(d);
    report("opendir", 0, 0);
    return 0;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    if (argc < 2) { fprintf(stderr, "usage: attack ATTACK [ARGS...]\n"); return 2; }
    const char *a = argv[1];
    printf("self pid=%d\n", (int)getpid());
    if (!strcmp(a, "unlisted")) {
        errno = 0;
        long r = syscall(SYS_syslog, 10 /* SYSLOG_ACTION_SIZE_BUFFER: reads a number */, NULL, 0);
        report("syslog", r, errno);
        return 0;
    }
    if (!strcmp(a, "x32")) {
        in_child("getpid", SYS_getpid, 0, 0, 0, 0, 0);
        in_child("x32 getpid", X32_SYSCALL_BIT | SYS_getpid, 0, 0, 0, 0, 0);
        return 0;
    }
    if (!strcmp(a, "tiocsti")) return attack_tiocsti(0);
    if (!strcmp(a, "tiocsti-high")) return attack_tiocsti(1);
    if (!strcmp(a, "tioclinux")) return attack_tioclinux();
    if (!strcmp(a, "open-by-handle") && argc > 2) return attack_open_by_handle(argv[2]);
    if (!strcmp(a, "unshare-user")) return attack_unshare_user();
    if (!strcmp(a, "clone-ns")) return attack_clone_ns();
    if (!strcmp(a, "keyctl")) return attack_keyctl();
    if (!strcmp(a, "ptrace") && argc > 2) return attack_ptrace(atoi(argv[2]));
    if (!strcmp(a, "write") && argc > 3) return do_write(argv[2], argv[3], 0);
    if (!strcmp(a, "create") && argc > 3) return do_write(argv[2], argv[3], 1);
    if (!strcmp(a, "open") && argc > 3) return do_open(argv[2], argv[3]);
    if (!strcmp(a, "list") && argc > 2) return do_list(argv[2]);
    fprintf(stderr, "attack: unknown attack or missing argument: %s\n", a);
    return 2;
}
