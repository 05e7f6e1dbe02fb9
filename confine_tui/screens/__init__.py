"""The console's areas (one screen per file)."""
