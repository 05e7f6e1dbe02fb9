/* The setuid-root helper of confine's escape suite: installed owned by root with
   mode 4755, run by an app running as another user. It reports its ids, whether
   its file system honours setuid bits, tries setuid(0), and execs id(1). Under
   no_new_privs the setuid bit raises nothing: every id stays the caller's. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

static void ids(const char *when) {
    uid_t r, e, s;
    getresuid(&r, &e, &s);
    printf("%s ruid=%d euid=%d suid=%d\n", when, (int)r, (int)e, (int)s);
}

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    printf("self pid=%d\n", (int)getpid());
    struct statvfs v;
    if (statvfs("/proc/self/exe", &v) == 0)      /* the helper's own file system */
        printf("nosuid=%d\n", (v.f_flag & ST_NOSUID) ? 1 : 0);
    ids("start");
    errno = 0;
    int r = setuid(0);
    printf("setuid(0) ret=%d errno=%s\n", r, r < 0 ? (errno == EPERM ? "EPERM" : strerror(errno)) : "0");
    ids("after");
    execl("/usr/bin/id", "id", (char *)NULL);
    printf("exec id failed errno=%d\n", errno);
    return 1;
}
