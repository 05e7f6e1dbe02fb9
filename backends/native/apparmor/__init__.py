"""AppArmor: generate a profile per security tag, compile it with apparmor_parser, load it
where the kernel has AppArmor."""
