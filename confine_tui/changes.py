"""What the admin asks the console to change, as one small value.

A ChangeRequest names the engine call and its arguments; it can say what it does in
words, give the equivalent `confine` command, preview its profile diff and run. The
console runs `run` and `preview` in thread workers only.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ChangeRequest:
    verb: str                       # connect, disconnect, reset
    plug: str | None = None         # SNAP:PLUG
    slot: str | None = None         # SNAP:SLOT or :SLOT
    snap: str | None = None         # for reset
    interface: str | None = None    # the interface a connect grants (for the confirmation)
    forget: bool = False
    replace: str | None = None      # connect: the slot the plug leaves for the new one

    def title(self) -> str:
        if self.verb == "connect":
            return f"connect {self.plug} to {self.slot or ':' + (self.interface or '')}"
        if self.verb == "disconnect":
            return f"disconnect {self.plug}" + (f" from {self.slot}" if self.slot else "")
        if self.verb == "reset":
            return f"reset {self.snap} to its declaration"
        return self.verb

    def command(self) -> str:
        """The same change from a shell."""
        if self.verb == "connect":
            first = f"confine connect {self.plug}" + (f" {self.slot}" if self.slot else "")
            return first + (f" && confine disconnect {self.plug} {self.replace}" if self.replace else "")
        if self.verb == "disconnect":
            return f"confine disconnect {self.plug}" + (f" {self.slot}" if self.slot else "") + \
                (" --forget" if self.forget else "")
        if self.verb == "reset":
            return f"confine reset {self.snap}"
        return f"confine {self.verb}"

    @property
    def grants(self) -> bool:
        return self.verb == "connect"

    def run(self, backend) -> str:
        """Apply the change; returns what happened, in words. Raises the engine's errors."""
        if self.verb == "connect":
            c = backend.connect(self.plug, self.slot)
            text = f"connected {c.plug.ref} to {c.slot.ref}" + (" (granted by the admin)" if c.granted else "")
            if self.replace:
                backend.disconnect(self.plug, self.replace)
                text += f", instead of {self.replace}"
            return text
        if self.verb == "disconnect":
            gone = backend.disconnect(self.plug, self.slot, forget=self.forget)
            if not gone:
                return "forgot the undesired mark"
            return "; ".join(f"disconnected {c.plug.ref} from {c.slot.ref}" + (" (kept as undesired)" if c.auto and not self.forget else "")
                             for c in gone)
        if self.verb == "reset":
            dropped, restored = backend.reset(self.snap)
            parts = [f"disconnected {c.plug.ref}" for c in dropped] + [f"connected {c.plug.ref}" for c in restored]
            return f"{self.snap}: " + (", ".join(parts) if parts else "already as its declaration has it")
        raise ValueError(f"unknown change {self.verb!r}")

    def preview(self, backend) -> dict[str, str]:
        """The profile diffs the change would make, per artifact."""
        if self.verb == "connect":
            return backend.preview_connect(self.plug, self.slot).diffs
        if self.verb == "disconnect":
            return backend.preview_disconnect(self.plug, self.slot, forget=self.forget).diffs
        if self.verb == "reset":
            return backend.preview_reset(self.snap).diffs
        raise ValueError(f"unknown change {self.verb!r}")
