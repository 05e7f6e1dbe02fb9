"""The default seccomp allow list of confined apps, and a tag's full source.

The template lets an ordinary dynamically linked program run: a shell, python,
the coreutils, a GUI toolkit's non-privileged calls. What it leaves out is what
interfaces grant: network sockets (network, network-bind), listening sockets,
namespaces and mounts, module loading, clock setting, tracing, raw I/O, SysV IPC.

i386 programs run under the compat arch of the same filter, so the 32-bit names
(mmap2, fcntl64, getuid32, the *_time64 calls...) are listed too. Names libseccomp
does not know are skipped by the compiler and reported, never an error.

Two requests of ioctl are refused outright through explicit denials (`~` lines,
EACCES), whatever an interface allows: TIOCSTI pushes bytes into the input of
the terminal (a confined app could type commands into the user's shell) and
TIOCLINUX reaches the console's selection and buffers. An explicit denial compares
the request on its low 32 bits (see grammar), so the form with high bits set in
the 64-bit argument, which the kernel truncates to the same request, is refused
too.

New namespaces are refused as well, because a process that makes a user namespace
is root inside it and reaches kernel code that ordinary programs never touch:
`unshare` is not in the template, and `clone` with a CLONE_NEW* flag is refused
by explicit denials (EACCES, as every explicit denial answers).
`clone3` passes its flags in memory that seccomp cannot read, so it is refused
whole with ENOSYS, which makes the C library fall back to `clone`. An interface
that grants `unshare` (docker-support, browser-support's sandbox, network-control)
lets the app make those namespaces anyway, so for the flags it grants the denials
are left out: they would stop `clone` without stopping `unshare`. Where AppArmor is
absent the launcher also drops the capabilities no interface grants, so only the
user namespace stays reachable without these denials.
"""
from __future__ import annotations

from .grammar import parse_line

TEMPLATE = """\
# Default allow list of confine for ordinary programs.

# Process life: creating, running and ending processes and threads.
arch_prctl
clone
clone3
execve
execveat
exit
exit_group
fork
get_robust_list
get_thread_area
restart_syscall
rseq
set_robust_list
set_thread_area
set_tid_address
vfork
wait4
waitid
waitpid

# Process identity and attributes (reading them, and one's own process group).
capget
getegid
getegid32
geteuid
geteuid32
getgid
getgid32
getgroups
getgroups32
getpgid
getpgrp
getpid
getppid
getresgid
getresgid32
getresuid
getresuid32
getsid
gettid
getuid
getuid32
prctl
setpgid
setsid

# Personality: query, and the Linux, 32-bit and uname-2.6 personas only.
personality 0
personality 8
personality 131072
personality 4294967295

# Resource limits and usage (prlimit64 on the calling process only).
getrlimit
getrusage
prlimit64 0
setrlimit
times
ugetrlimit

# Scheduling: reading it, yielding, lowering one's own priority.
getcpu
getpriority
ioprio_get
sched_get_priority_max
sched_get_priority_min
sched_getaffinity
sched_getattr
sched_getparam
sched_getscheduler
sched_rr_get_interval
sched_rr_get_interval_time64
sched_yield
setpriority PRIO_PROCESS 0 >=0

# Memory.
brk
get_mempolicy
madvise
membarrier
memfd_create
mincore
mlock
mlock2
mmap
mmap2
mprotect
mremap
msync
munlock
munlockall
munmap
pkey_alloc
pkey_free
pkey_mprotect

# Synchronisation.
futex
futex_time64
futex_waitv

# Signals.
alarm
kill
pause
pidfd_open
pidfd_send_signal
rt_sigaction
rt_sigpending
rt_sigprocmask
rt_sigqueueinfo
rt_sigreturn
rt_sigsuspend
rt_sigtimedwait
rt_sigtimedwait_time64
rt_tgsigqueueinfo
sigaction
sigaltstack
signal
sigpending
sigprocmask
sigreturn
sigsuspend
tgkill
tkill

# Time and timers.
clock_getres
clock_getres_time64
clock_gettime
clock_gettime64
clock_nanosleep
clock_nanosleep_time64
getitimer
gettimeofday
nanosleep
setitimer
time
timer_create
timer_delete
timer_getoverrun
timer_gettime
timer_gettime64
timer_settime
timer_settime64
timerfd_create
timerfd_gettime
timerfd_gettime64
timerfd_settime
timerfd_settime64

# File descriptors: opening, reading, writing, duplicating, closing.
close
close_range
creat
dup
dup2
dup3
fcntl
fcntl64
flock
ioctl
open
openat
openat2
pread64
preadv
preadv2
pwrite64
pwritev
pwritev2
read
readv
write
writev

# Offsets, sizes, syncing and copying.
_llseek
copy_file_range
fadvise64
fadvise64_64
fallocate
fdatasync
fsync
ftruncate
ftruncate64
lseek
readahead
sendfile
sendfile64
splice
sync
sync_file_range
syncfs
tee
truncate
truncate64
vmsplice

# File metadata and directories.
access
chdir
faccessat
faccessat2
fchdir
fstat
fstat64
fstatat64
fstatfs
fstatfs64
getcwd
getdents
getdents64
lstat
lstat64
newfstatat
readlink
readlinkat
stat
stat64
statfs
statfs64
statx
umask

# Changing files: names, links, modes, owners, times, extended attributes.
chmod
chown
chown32
fchmod
fchmodat
fchmodat2
fchown
fchown32
fchownat
fgetxattr
flistxattr
fremovexattr
fsetxattr
futimesat
getxattr
lchown
lchown32
lgetxattr
link
linkat
listxattr
llistxattr
lremovexattr
lsetxattr
mkdir
mkdirat
removexattr
rename
renameat
renameat2
rmdir
setxattr
symlink
symlinkat
unlink
unlinkat
utime
utimensat
utimensat_time64
utimes

# Special files: regular files, FIFOs and sockets only (never devices).
mknod - |S_IFREG -
mknod - |S_IFIFO -
mknod - |S_IFSOCK -
mknodat - - |S_IFREG -
mknodat - - |S_IFIFO -
mknodat - - |S_IFSOCK -

# Waiting for events.
_newselect
epoll_create
epoll_create1
epoll_ctl
epoll_pwait
epoll_pwait2
epoll_wait
eventfd
eventfd2
inotify_add_watch
inotify_init
inotify_init1
inotify_rm_watch
io_cancel
io_destroy
io_getevents
io_pgetevents
io_setup
io_submit
pipe
pipe2
poll
ppoll
ppoll_time64
pselect6
pselect6_time64
select
signalfd
signalfd4

# Local sockets: Unix domain only; network families come with interfaces.
connect
getpeername
getsockname
getsockopt
recvfrom
recvmmsg
recvmmsg_time64
recvmsg
sendmmsg
sendmsg
sendto
setsockopt
shutdown
socket AF_UNIX
socketpair AF_UNIX

# Restricting oneself further.
landlock_add_rule
landlock_create_ruleset
landlock_restrict_self
seccomp

# System information and randomness.
getrandom
sysinfo
uname

# Explicit denials, whatever an interface allows: typing into another terminal
# and reaching into the console.
~ioctl - TIOCSTI
~ioctl - TIOCLINUX
"""


# The namespace flags `clone` refuses unless an interface grants them through `unshare`.
NAMESPACE_FLAGS = ("CLONE_NEWCGROUP", "CLONE_NEWIPC", "CLONE_NEWNET", "CLONE_NEWNS", "CLONE_NEWPID",
                   "CLONE_NEWUSER", "CLONE_NEWUTS")


def namespace_denials(granted_lines) -> list[str]:
    """The `~clone` and `~clone3` lines for the namespace flags that `granted_lines`
    (the interfaces' rule lines) do not grant through `unshare`: an `unshare` line
    without arguments grants every flag, `unshare FLAG` or `unshare |FLAG` one."""
    granted: set[str] = set()
    for line in granted_lines:
        words = line.split()
        if not words or words[0] != "unshare":
            continue
        if len(words) == 1 or words[1] == "-":
            return []
        granted.add(words[1].lstrip("|"))
    refused = [flag for flag in NAMESPACE_FLAGS if flag not in granted]
    if not refused:
        return []
    return [f"~clone |{flag}" for flag in refused] + ["~clone3 errno=ENOSYS"]


def template_rules() -> list[str]:
    """The template's rule lines (no comments, no blanks), in order."""
    out = []
    for n, line in enumerate(TEMPLATE.split("\n"), start=1):
        if parse_line(line, n, "template") is not None:
            out.append(line.strip())
    return out


def _normal(line: str) -> str:
    return " ".join(line.split())


def _interface_blocks(ctx) -> list[tuple[str, list[str], list[str]]]:
    """(interface, ends, rule lines) per interface granting seccomp lines, by name."""
    blocks: dict[str, tuple[list[str], set[str]]] = {}
    for grant, text in ctx.bodies("seccomp"):
        ends, lines = blocks.setdefault(grant.interface, ([], set()))
        where = f"{grant.side.replace('-', ' ')} {grant.end}" + (f" to {grant.peer}" if grant.peer else "")
        if where not in ends:
            ends.append(where)
        for raw in str(text or "").split("\n"):
            line = _normal(raw)
            if line and not line.startswith("#"):
                lines.add(line)
    return [(name, ends, sorted(lines)) for name, (ends, lines) in sorted(blocks.items())]


def generate_source(ctx) -> str:
    """The full seccomp source of one security tag, from its TagContext.

    Classic snaps get `@unrestricted` alone; devmode snaps get `@complain` before
    the rules. After the template come the lines of each connected interface,
    sorted, without the ones the template already has, under a comment naming the
    interface and the plugs or slots that granted them.
    """
    confinement = getattr(ctx.snap, "confinement", "strict")
    out = [f"# seccomp profile of {ctx.tag}, generated by confine: do not edit, it is rewritten",
           f"# whenever the snap or its connections change. Confinement: {confinement}.", ""]
    if confinement == "classic":
        out += ["# Classic confinement: no syscall filter.", "@unrestricted", ""]
        return "\n".join(out)
    if confinement == "devmode":
        out += ["# Developer mode: calls outside the policy are logged, not refused.", "@complain", ""]
    out.append(TEMPLATE.rstrip("\n"))
    blocks = _interface_blocks(ctx)
    denials = namespace_denials(line for _, _, lines in blocks for line in lines)
    if denials:
        out += ["", "# New namespaces: clone with these flags is refused (no interface grants unshare",
                "# for them); clone3 hides its flags from seccomp and answers ENOSYS (the C library",
                "# then falls back to clone)."] + denials
    have = {_normal(line) for line in template_rules()}
    for name, ends, lines in blocks:
        new = [line for line in lines if line not in have]
        out.append("")
        out.append(f"# interface {name}: " + "; ".join(ends))
        if new:
            out.extend(new)
        else:
            out.append("# (nothing beyond the lines above)")
    return "\n".join(out) + "\n"
