"""confine-tui: the Textual administration console over confine's engine (see DESIGN.md).

Entry points: `confine-tui` and `python -m confine_tui` (confine_tui.main). The app is
confine_tui.app.ConfineApp; areas live in screens/, widgets in widgets/, styles in
the top-level styles/ directory.
"""
