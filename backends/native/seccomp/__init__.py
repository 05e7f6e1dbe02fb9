"""seccomp: the line grammar of snap-confine's profiles, its compiler to classic BPF,
the default template, a BPF interpreter for tests, and the loader the launcher uses.

Modules, one concern each:

    grammar    text -> Policy (rules, explicit denials, @unrestricted, @complain)
    compiler   Policy -> raw BPF through libseccomp (pyseccomp); pseudo-code export
    template   the default allow list and a tag's full source from its TagContext
    bpf        a classic-BPF interpreter over seccomp_data (decisions without the kernel)
    load       prctl(NO_NEW_PRIVS) + seccomp(SET_MODE_FILTER): standard library only

Importing this package imports none of them: the launcher reaches `load` without
paying for libseccomp.
"""
