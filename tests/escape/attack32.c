/* The 32-bit attack program of confine's escape suite (i386, through int 0x80,
   no libc). Each argument "NR,A,B,C" is one system call; it prints each result
   (a negative errno on failure) on a line of its own. bin/guard has checked that
   the process is confined before exec'ing it. */
static long sys3(long nr, long a, long b, long c) {
    long r;
    __asm__ volatile ("int $0x80" : "=a"(r) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
    return r;
}
static long num(const char **p) {
    long sign = 1, v = 0;
    if (**p == '-') { sign = -1; (*p)++; }
    while (**p >= '0' && **p <= '9') { v = v * 10 + (**p - '0'); (*p)++; }
    return sign * v;
}
static void put(long v) {
    char buf[24]; int i = 23; unsigned long u = v < 0 ? -v : v;
    buf[i--] = '\n';
    do { buf[i--] = '0' + u % 10; u /= 10; } while (u);
    if (v < 0) buf[i--] = '-';
    sys3(4, 1, (long)(buf + i + 1), 23 - i);
}
void cmain(long *sp) {
    long argc = sp[0];
    char **argv = (char **)(sp + 1);
    for (long k = 1; k < argc; k++) {
        const char *p = argv[k];
        long v[4] = {0, 0, 0, 0};
        for (int j = 0; j < 4 && *p; j++) { v[j] = num(&p); if (*p == ',') p++; }
        put(sys3(v[0], v[1], v[2], v[3]));
    }
    sys3(1, 0, 0, 0);
}
__asm__(".globl _start\n_start:\n  mov %esp, %eax\n  push %eax\n  call cmain\n  hlt\n");
