"""confine-tui: the Textual administration console (built in a later issue; see DESIGN.md)."""
