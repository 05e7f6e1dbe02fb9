"""Small doors from the console to engine APIs that may be missing on a build.

Each adapter imports its engine module lazily and, when it is absent, says so in
`available()` instead of raising: the screen that needs it shows the message.
"""
