"""Denials: audit records about confinement, from the kernel to an explanation and a fix.

    sources     where records come from (audit netlink socket, /dev/kmsg, log files, stdin)
    parser      records decoded into backends.model.Denial
    attribute   the snap and app of a record that names only a process
    explain     one plain sentence per denial, and why it is blocked
    suggest     the interfaces whose policy would allow it, best first
    audit       the kernel's audit switch (--enable-audit), restored on exit
    feed        the API the faces use:

        from backends.native.denials import follow, read, parse_lines, summarize
        with follow(root, source="auto", enable_audit=True) as feed:
            for denial in feed:          # Denial with explanation and suggestions
                ...

Submodules are loaded on first use.
"""

__all__ = ["follow", "read", "parse_lines", "summarize", "Feed", "Enricher", "parse_since"]


def __getattr__(name):
    if name in __all__:
        from . import feed
        return getattr(feed, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
