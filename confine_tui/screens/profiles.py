"""Profiles: per app, the generated AppArmor, seccomp, compiled filter, udev, modules,
Landlock and launch plan, highlighted, with the diff against the version shown before."""
from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label, TabbedContent, TabPane

from ..history import ProfileHistory
from ..messages import LoadFailed, ProfileLoaded, SnapsLoaded
from ..widgets.fast_table import Column, FastTable, Row
from ..widgets.search_input import SearchInput
from ..widgets.profile_view import ProfileView
from .base import AreaScreen

KINDS = (("apparmor", "AppArmor"), ("seccomp", "seccomp"), ("pfc", "Filter"), ("udev", "udev"),
         ("modules", "Modules"), ("landlock", "Landlock"), ("launch", "Launch"))


class ProfilesScreen(AreaScreen):
    AREA = "profiles"
    HELP = """\
## Profiles

Pick an app on the left; the tabs show what the engine generates for it: the AppArmor
profile, the seccomp policy, the compiled filter as pseudo-code (pfc), the udev rules
and kernel modules of its snap, the Landlock rules and the launch plan.
**d** shows the diff against the version shown before the last change;
**[** and **]** switch tabs."""

    BINDINGS = [
        Binding("d", "diff", "Diff", id="profiles.diff"),
        Binding("left_square_bracket", "tab(-1)", "Prev tab", id="profiles.prev-tab"),
        Binding("right_square_bracket", "tab(1)", "Next tab", id="profiles.next-tab"),
        Binding("slash", "search", "Search", id="profiles.search"),
        Binding("escape", "to_table", "Apps", show=False, id="profiles.to-table"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.targets: list[str] = []
        self.target: str | None = None
        self.history: ProfileHistory | None = None
        self.loaded: dict[tuple[str, str], int] = {}

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="profiles-body"):
            with Vertical(id="profiles-left", classes="left-pane"):
                yield SearchInput(placeholder="search apps  (/)", id="app-search",
                                  on_value=lambda value: self.apply_filter())
                yield FastTable([Column("App")], id="app-table", empty="Loading...")
            with Vertical(id="profiles-right"):
                yield Label("", id="profile-status", classes="status")
                with TabbedContent(id="profile-tabs"):
                    for kind, title in KINDS:
                        with TabPane(title, id=f"tab-{kind}"):
                            yield ProfileView(kind)

    def on_mount(self) -> None:
        self.history = ProfileHistory(self.app.root)
        super().on_mount()
        self.query_one("#app-table", FastTable).focus()

    def reload(self) -> None:
        super().reload()
        self.loaded = {}

        def work() -> None:
            try:
                self.post_message(SnapsLoaded(self.app.backend.snaps(), [], self.app.state_serial))
            except Exception as exc:  # noqa: BLE001
                self.post_message(LoadFailed("apps", str(exc)))

        self.run_worker(work, name="load apps", group="profiles-apps", exclusive=True, thread=True)

    def on_snaps_loaded(self, message: SnapsLoaded) -> None:
        targets = []
        for snap in message.snaps:
            targets += [f"{snap.name}.{app}" for app in sorted(snap.apps)]
            targets += [f"{snap.name}.hook.{hook}" for hook in sorted(snap.hooks)]
        self.targets = targets
        self.apply_filter()
        if self.target in targets:
            self.load_current()

    def on_load_failed(self, message: LoadFailed) -> None:
        table = self.query_one("#app-table", FastTable)
        table.empty_text = f"Cannot read the apps: {message.error}"
        table.set_rows([])

    def apply_filter(self) -> None:
        q = self.query_one("#app-search", Input).value.strip().lower()
        table = self.query_one("#app-table", FastTable)
        table.empty_text = "No app matches." if self.targets else "No apps are installed."
        table.set_rows([Row(t, (t,)) for t in self.targets if q in t.lower()])

    @on(Input.Submitted, "#app-search")
    def search_submitted(self) -> None:
        self.query_one("#app-table", FastTable).focus()

    @on(FastTable.Highlighted, "#app-table")
    def app_highlighted(self, event: FastTable.Highlighted) -> None:
        if event.key is not None and event.key != self.target:
            self.target = event.key
            self.loaded = {}
            self.load_current()

    @on(TabbedContent.TabActivated, "#profile-tabs")
    def tab_activated(self) -> None:
        self.load_current()
        self.show_status()

    def current_kind(self) -> str:
        active = self.query_one("#profile-tabs", TabbedContent).active or "tab-apparmor"
        return active.removeprefix("tab-")

    def load_current(self) -> None:
        if not self.target:
            return
        target, kind = self.target, self.current_kind()
        if self.loaded.get((target, kind)) == self.app.state_serial:
            return
        self.loaded[(target, kind)] = self.app.state_serial
        backend, history = self.app.backend, self.history

        def work() -> None:
            try:
                text = backend.profile(target, kind)
            except Exception as exc:  # noqa: BLE001
                self.post_message(ProfileLoaded(target, kind, "", str(exc)))
                return
            self.post_message(ProfileLoaded(target, kind, text))

        self.run_worker(work, name=f"load profile {target} {kind}", group=f"profile-{kind}", exclusive=True,
                        thread=True)

    def on_profile_loaded(self, message: ProfileLoaded) -> None:
        if message.target != self.target:
            return
        view = self.query_one(f"#pv-{message.kind}", ProfileView)
        if message.error:
            view.show_error(f"Cannot generate the {message.kind} profile of {message.target}: {message.error}")
        else:
            previous, changed = self.history.record(message.target, message.kind, message.text)
            view.show(message.target, message.text, previous, changed)
        self.show_status()

    def show_status(self) -> None:
        view = self.query_one(f"#pv-{self.current_kind()}", ProfileView)
        self.query_one("#profile-status", Label).update(view.status() or "Select an app.")

    def action_diff(self) -> None:
        self.query_one(f"#pv-{self.current_kind()}", ProfileView).toggle_diff()
        self.show_status()

    def action_tab(self, step: int) -> None:
        kinds = [k for k, _ in KINDS]
        i = (kinds.index(self.current_kind()) + step) % len(kinds)
        self.query_one("#profile-tabs", TabbedContent).active = f"tab-{kinds[i]}"

    def action_search(self) -> None:
        self.query_one("#app-search", Input).focus()

    def action_to_table(self) -> None:
        self.query_one("#app-table", FastTable).focus()

    def show_target(self, target: str) -> None:
        table = self.query_one("#app-table", FastTable)
        for i, row in enumerate(table.rows):
            if row.key == target:
                table.move_to(i)
                return

    def commands(self):
        out = [("Profiles: Search", "Narrow the list of apps", self.action_search)]
        if self.target:
            out.append((f"Profiles: Diff {self.target}", "Show the change since the version shown before",
                        self.action_diff))
        return out
