"""The denials API: records from a source, parsed, placed on their snap and app,
explained, with suggestions. What `confine denials` prints and the console shows.

    feed = follow(root, source="auto", enable_audit=False, snap=None, since=None)
    feed.start()              # opens the source (raises SourceUnavailable), enables
                              # audit if asked; then feed.ready is set
    for denial in feed:       # blocks; ends when feed.stop() is called (any thread)
        ...
    feed.close()              # also restores audit; `with follow(...) as feed:` does both

    read(root, source)        the same over what was logged before (a file, kmsg's ring
                              buffer, stdin): ends at the end of the input
    parse_lines(lines, root)  the same over lines a caller holds (every record kept)

A console runs `for d in feed` in a worker thread and calls `feed.stop()` to end it.
`feed.description` says which source is read; `feed.notes` (and `on_note`) carry
the warnings: kmsg's rate limit, audit switched on or off, losses, rotations.
"""
from __future__ import annotations

import atexit
import re
import threading
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from typing import Callable, Iterable, Iterator

from ...errors import UsageError
from ...model import Denial
from . import audit as _audit
from .attribute import Attributor
from .explain import explain
from .parser import DenialStream
from .sources import IterSource, NetlinkSource, Source, SourceUnavailable, open_source
from .suggest import Suggester, noise_reason

IDLE = 0.02          # seconds without a record before held-back records are released
IDLE_QUIET = 1.0     # the same when nothing is held back (process events are still drained)
MEMO_SECONDS = 1.0   # how long a decoded seccomp record is reused for the same text
T_SECCOMP = 1326
# fields an explanation names besides those the suggestions depend on
EXPLAINED_FIELDS = ("opid", "ocomm", "daddr", "dest", "dport", "saddr", "src", "sport", "signal", "peer",
                    "peer_label", "capname")
STAMP = re.compile(r"audit\((\d+\.\d+):(\d+)\):\s*")


def parse_since(text: str | float | None, now: float | None = None) -> float | None:
    """A time as epoch seconds: epoch seconds, an ISO 8601 date or time (local time
    unless it names a zone), "today", "yesterday", or an age such as 90s, 10m, 2h, 1d
    (also "10 min ago", "-2h")."""
    if text is None or text == "":
        return None
    if isinstance(text, (int, float)):
        return float(text)
    now = time.time() if now is None else now
    s = str(text).strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", s):
        return float(s)
    m = re.fullmatch(r"-?\s*(\d+(?:\.\d+)?)\s*(s|sec|secs|seconds?|m|min|mins|minutes?|h|hours?|d|days?)"
                     r"(?:\s+ago)?", s)
    if m:
        unit = m.group(2)[0]
        seconds = float(m.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit]
        return now - seconds
    if s in ("today", "yesterday"):
        day = datetime.fromtimestamp(now).replace(hour=0, minute=0, second=0, microsecond=0)
        if s == "yesterday":
            day -= timedelta(days=1)
        return day.timestamp()
    try:
        dt = datetime.fromisoformat(str(text).strip().replace("Z", "+00:00"))
    except ValueError:
        try:
            t = datetime.strptime(s, "%H:%M:%S" if s.count(":") == 2 else "%H:%M")
        except ValueError:
            raise UsageError(f"--since {text!r}: give epoch seconds, an ISO date or time "
                             "(2026-01-31T12:00), today, yesterday, or an age (10m, 2h, 1d)") from None
        base = datetime.fromtimestamp(now)
        dt = base.replace(hour=t.hour, minute=t.minute, second=t.second, microsecond=0)
    if dt.tzinfo is None:
        return dt.timestamp()
    return dt.astimezone(timezone.utc).timestamp()


def _backend(root):
    if root is None:
        return None
    try:
        from ..engine import NativeBackend

        return NativeBackend(root)
    except Exception:      # no such root, unreadable state: suggest from the catalogue alone
        return None


def keep(d: Denial, include_all: bool) -> bool:
    """Whether a record is shown: denials, complain-mode records and unparsed ones (status
    records too with include_all)."""
    if include_all:
        return True
    return d.kind == "unparsed" or d.mode in ("DENIED", "ALLOWED", "KILL")


class Enricher:
    """Place, explain and suggest, for one root (shared by the feeds of a process)."""

    def __init__(self, root=None, backend=None, suggestions: bool = True):
        self.backend = backend if backend is not None else _backend(root)
        self.suggester = Suggester(self.backend) if suggestions else None
        snaps = (lambda: self.backend.snaps()) if self.backend is not None else []
        self.attributor = Attributor(snaps)
        self.lock = threading.Lock()
        self._explained: dict[tuple, str] = {}

    def warm(self) -> None:
        """Load the catalogue and index what installed snaps would be granted, so the
        first denial is as quick as the others."""
        from .explain import capability_reasons, syscall_reasons
        from .suggest import likely_arguments, noise_table

        syscall_reasons(), capability_reasons(), noise_table(), likely_arguments()
        if self.suggester is None:
            return
        self.suggester.refresh()
        catalogue = self.suggester.catalogue
        for iface in catalogue.values():
            self.suggester.grants(iface, None, None)
        # Per snap, the interfaces it plugs (where its attributes matter): on a root of a
        # thousand snaps, every interface for every snap is 50,000 policies to index (tens
        # of seconds); the others are built when a denial of that snap first needs them.
        for snap in list(self.suggester._snaps.values()):
            for name in {p.interface for p in snap.plugs.values()}:
                if name in catalogue:
                    self.suggester.grants(catalogue[name], snap, None)
        self.attributor.snaps()

    def stamp(self) -> object:
        """Changes when the state on disk changed (connections made or removed)."""
        if self.suggester is None:
            return None
        self.suggester.refresh()
        return self.suggester._stamp

    def __call__(self, d: Denial) -> Denial:
        with self.lock:
            found = self.attributor.locate(d)
            changes: dict = {}
            if found is not None:
                snap, app, how = found
                fields = dict(d.fields)
                fields["attributed-by"] = how
                changes.update(snap=snap, app=app or None, fields=fields)
                placed = _with(d, **changes)
            else:
                placed = d
            if d.kind == "unparsed":
                changes["explanation"] = explain(placed)
                return _with(d, **changes)
            if self.suggester is None:
                changes["explanation"] = explain(placed, harmless=noise_reason(placed))
                return _with(d, **changes)
            key = self.suggester.key(placed)
            sugg, already = self.suggester.suggest_full(placed, key)
            f = placed.fields or {}
            ekey = (key, placed.pid if not placed.snap else None, placed.comm if not placed.snap else None,
                    placed.arch, placed.action, placed.profile, placed.syscall_nr,
                    tuple(f.get(k) for k in EXPLAINED_FIELDS))
            text = self._explained.get(ekey)
            if text is None:
                text = explain(placed, already, noise_reason(placed), suggested=any(s.interface for s in sugg))
                if len(self._explained) > 20000:
                    self._explained.clear()
                self._explained[ekey] = text
            changes["suggestions"] = sugg
            changes["explanation"] = text
            return _with(d, **changes)


def _holding(stream: DenialStream) -> bool:
    """Whether the parser holds records back (a Landlock record waiting for its SYSCALL
    record, the first half of a split D-Bus record)."""
    pending = getattr(stream, "pending", None)
    if pending is not None:
        return bool(pending() if callable(pending) else pending)
    return bool(getattr(stream, "_pending", True)) or getattr(stream, "_join", None) is not None


def _with(d: Denial, **changes) -> Denial:
    """A copy of the frozen `d` with some fields changed (dataclasses.replace re-runs
    __init__ over every field: ten times slower on this hot path)."""
    new = object.__new__(type(d))
    new.__dict__.update(d.__dict__)
    new.__dict__.update(changes)
    return new


class Feed:
    """Denials from one source; iterate it (see the module's docstring)."""

    def __init__(self, root=None, source: str | Source = "auto", *, follow: bool = True,
                 since: float | str | None = None, snap: str | None = None, enable_audit: bool = False,
                 include_all: bool = False, suggestions: bool = True,
                 on_note: Callable[[str], None] | None = None, on_wait: Callable[[], None] | None = None,
                 backend=None, enricher: Enricher | None = None):
        self.root = root
        self.spec = source
        self.follow = follow
        self.since = parse_since(since)
        self.snap = snap
        self.enable_audit = enable_audit
        self.include_all = include_all
        self.on_note = on_note
        self.on_wait = on_wait                 # called whenever the source is about to wait
        self.notes: list[str] = []
        self.enrich = enricher or Enricher(root, backend, suggestions)
        self.source: Source | None = None
        self.history: Source | None = None
        self.audit: _audit.AuditEnabled | None = None
        self.ready = threading.Event()
        self.description = ""
        self.count = 0
        self._stopped = False
        self._closed = False
        self._stream = DenialStream()
        self._memo: dict[str, tuple[float, Denial, object]] = {}

    # ---- life ------------------------------------------------------------------------------

    def note(self, text: str) -> None:
        self.notes.append(text)
        if self.on_note is not None:
            try:
                self.on_note(text)
            except Exception:
                pass

    def start(self) -> "Feed":
        if self.source is not None:
            return self
        try:
            if isinstance(self.spec, Source):
                self.source = self.spec
                self.source.on_note = self.note
                if not self.source.opened:
                    self.source.open(follow=self.follow, since=self.since)
            else:
                self.source = open_source(self.spec, follow=self.follow, since=self.since, on_note=self.note)
            self.source.idle = IDLE
            self.source.on_wait = self.on_wait
            self.description = self.source.description
            if self.follow and self.since is not None and isinstance(self.source, NetlinkSource):
                try:
                    self.history = open_source("auto", follow=False, since=self.since, on_note=self.note)
                    self.history.on_wait = self.on_wait
                    self.description += f"; before it, records since --since from {self.history.description}"
                except SourceUnavailable as exc:
                    self.note(f"--since: no earlier records can be read ({exc})")
            try:
                _audit.recover(self.note)          # a follower killed while holding audit on
            except (OSError, _audit.AuditError):
                pass
            if self.enable_audit:
                self.audit = _audit.AuditEnabled(report=self.note)
                self.audit.enable()
                atexit.register(self.close)
            elif self.follow:
                self._check_audit()
            if self.follow and not self.enrich.attributor.start_tracking():
                self.note(self.enrich.attributor.tracking_problem or "process events unavailable")
            self.enrich.warm()
        except BaseException:
            self.close()
            raise
        self.ready.set()
        return self

    def _check_audit(self) -> None:
        try:
            st = _audit.get_status()
        except (OSError, _audit.AuditError):
            return
        if st.enabled == 0:
            self.note("audit is disabled: Landlock denials are not logged (--enable-audit switches it on "
                      "while this runs)")

    def stop(self) -> None:
        """End the iteration soon (callable from any thread)."""
        self._stopped = True
        for src in (self.history, self.source):
            if src is not None:
                src.stop()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.stop()
        for src in (self.history, self.source):
            if src is not None:
                try:
                    src.close()
                except Exception:
                    pass
        self.enrich.attributor.close()
        if self.audit is not None:
            try:
                self.audit.restore()
            except _audit.AuditError:
                pass
            try:
                atexit.unregister(self.close)
            except Exception:
                pass

    def __enter__(self) -> "Feed":
        return self.start()

    def __exit__(self, *exc) -> bool:
        self.close()
        return False

    # ---- records ---------------------------------------------------------------------------

    def _denials(self, src: Source) -> Iterator[Denial]:
        """Parsed, kept, enriched denials of one source."""
        stream = self._stream
        memo = self._memo
        fast = isinstance(src, NetlinkSource)
        include_all, since = self.include_all, self.since
        for rec in src.records():
            if rec is None:
                self.enrich.attributor.drain()
                out = stream.flush()
            else:
                if fast and rec.type == T_SECCOMP:
                    # A seccomp record is complete on its own, and the audit socket never
                    # repeats one: a record whose text (after its stamp) was seen a moment
                    # ago decodes, places and explains the same way. Reuse that work.
                    m = STAMP.match(rec.text)
                    if m is not None:
                        body = rec.text[m.end():]
                        hit = memo.get(body)
                        if hit is not None and hit[0] > time.monotonic() and hit[2] == self.enrich.stamp():
                            stream.line += 1
                            d = _with(hit[1], epoch=float(m.group(1)), serial=int(m.group(2)), raw=rec.text,
                                      line=stream.line)
                            d.__dict__["_template"] = hit[1]   # same but stamp, raw, line
                            if since is None or d.epoch >= since:
                                yield d
                            if self._stopped:
                                break
                            continue
                        out = stream.feed_netlink(rec.type, rec.text)
                        for d in out:
                            if not keep(d, include_all):
                                continue
                            d = self.enrich(d)
                            if len(memo) > 4096:
                                memo.clear()
                            memo[body] = (time.monotonic() + MEMO_SECONDS, d, self.enrich.stamp())
                            if since is None or d.epoch is None or d.epoch >= since:
                                yield d
                        if self._stopped:
                            break
                        continue
                if rec.source == "netlink":
                    out = stream.feed_netlink(rec.type or 0, rec.text)
                else:
                    out = stream.feed(rec.text, rec.line)
            for d in out:
                if not keep(d, include_all):
                    continue
                if since is not None and d.epoch is not None and d.epoch < since:
                    continue
                yield self.enrich(d)
            # wake up soon only while the parser holds records back for their event's end
            src.idle = IDLE if _holding(stream) else IDLE_QUIET
            if self._stopped:
                break
        for d in stream.flush():
            if keep(d, include_all) and (since is None or d.epoch is None or d.epoch >= since):
                yield self.enrich(d)

    def __iter__(self) -> Iterator[Denial]:
        self.start()
        sources = [s for s in (self.history, self.source) if s is not None]
        for src in sources:
            for d in self._denials(src):
                if self.snap and d.snap != self.snap:
                    continue
                self.count += 1
                yield d
                if self._stopped:
                    return
            if self._stopped:
                return


def follow(root=None, source: str | Source = "auto", **kwargs) -> Feed:
    """A Feed of new denials as they happen (call start(), or use it in a with block)."""
    return Feed(root, source, follow=True, **kwargs)


def read(root=None, source: str | Source = "auto", **kwargs) -> Feed:
    """A Feed of what was logged before (a file, kmsg's ring buffer, stdin)."""
    return Feed(root, source, follow=False, **kwargs)


def parse_lines(lines: Iterable[str], root=None, *, name: str = "lines", include_all: bool = True,
                **kwargs) -> Feed:
    """A Feed over lines already at hand (every record kept, as `confine denials parse`)."""
    return Feed(root, IterSource(lines, name), follow=False, include_all=include_all, **kwargs)


# ---- summary -----------------------------------------------------------------------------------

def target(d: Denial) -> str:
    """What a denial was about, for counting: a path, syscall, capability, address, member."""
    f = d.fields or {}
    if d.kind == "seccomp":
        return d.syscall or f"#{d.syscall_nr}"
    if d.capability:
        return f"capability {d.capability}"
    if d.kind == "dbus":
        return ".".join(x for x in (f.get("interface"), f.get("member")) if x) or (f.get("path") or "?")
    if d.cls == "network" and not d.name:
        return " ".join(x for x in (d.family, f.get("sock_type")) if x) or "network"
    return d.name or d.operation or "?"


def summarize(denials: Iterable[Denial]) -> list[dict]:
    """Counts per snap, app, kind, operation and target, most frequent first."""
    counts: Counter = Counter()
    first: dict[tuple, Denial] = {}
    for d in denials:
        key = (d.snap or "", d.app or "", d.kind, d.operation or "", target(d))
        counts[key] += 1
        first.setdefault(key, d)
    rows = []
    for key, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        snap, app, kind, op, tgt = key
        d = first[key]
        best = next((s for s in d.suggestions if getattr(s, "interface", None)), None)
        rows.append({"snap": snap or None, "app": app or None, "kind": kind, "operation": op or None,
                     "target": tgt, "count": n, "suggestion": best.interface if best else None})
    return rows
