"""udev: the rules that tag the devices an app may use, the same matches in a form
the launcher evaluates against /sys itself, and installing the rules into the host.

`rules` generates (pure: contexts in, text out) and matches devices; `load` writes
the rules into the udev rules directory and has udevd apply them where it runs.
"""
from .rules import DEVICE_HELPER, device_matches, generate_rules, matches, matching_devices, udev_tag

__all__ = ["DEVICE_HELPER", "device_matches", "generate_rules", "matches", "matching_devices", "udev_tag"]
