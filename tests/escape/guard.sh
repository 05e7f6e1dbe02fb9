#!/bin/sh
# The app of confine's escape suite: runs the attack program named in its
# arguments only when this very process is confined: a seccomp filter
# (Seccomp: 2), no_new_privs, and a mount namespace other than the host's, whose
# id the test passes first. Unconfined, an attack could really change the host.
#   usage: guard HOST-MOUNT-NAMESPACE PROGRAM [ARGS...]
host=$1
shift
status=/proc/$$/status
seccomp=$(sed -n 's/^Seccomp:[[:space:]]*//p' "$status")
nnp=$(sed -n 's/^NoNewPrivs:[[:space:]]*//p' "$status")
mnt=$(readlink /proc/$$/ns/mnt)
case $host in
  'mnt:['*']') ;;
  *) host= ;;
esac
if [ "$seccomp" != 2 ] || [ "$nnp" != 1 ] || [ -z "$host" ] || [ -z "$mnt" ] || [ "$mnt" = "$host" ]; then
  echo "guard: NOT CONFINED (Seccomp: ${seccomp:-?}, NoNewPrivs: ${nnp:-?}, mount namespace ${mnt:-?}," \
       "host's ${host:-?}): the attack is not run" >&2
  exit 99
fi
echo "guard: confined (Seccomp: $seccomp, NoNewPrivs: $nnp, mount namespace $mnt, host's $host)"
exec "$@"
