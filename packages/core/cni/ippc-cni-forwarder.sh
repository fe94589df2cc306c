#!/bin/sh
# @NAME@: a CNI plugin of ippc, portable flavour (POSIX sh + curl) of ippc-cni-forwarder.
# Installed by installCniForwarder() in @ippc/core, which fills in the settings below; the
# native flavour (ippc-cni-forwarder.c, a static binary) keeps the same contract and is about
# 12-15 ms faster per call: curl alone takes that long to start.
#
# It forwards the CNI call (CNI_* environment as X-Cni-* headers, the config on stdin as the
# body) to the node daemon over its unix socket and prints the answer: 2xx = exit 0, anything
# else exit 1 with the daemon's CNI error JSON, code 11 when the daemon does not answer.
# VERSION is answered here. The socket key is matched by its last name anywhere in the config
# (first occurrence); the native flavour follows the key's path in the JSON structure.
name='@NAME@'
daemon='@DAEMON@'
hint='@HINT@'
sock='@DEFAULT_SOCKET@'
key='@SOCKET_KEY_LAST@'
url='http://@HOST@@URL_PATH@'
timeout='@TIMEOUT_S@'
supported='@VERSIONS@'
ver=1.0.0

# Read stdin with shell builtins only (no cat): one exec fewer per call.
conf=
while IFS= read -r line || [ -n "$line" ]; do
  conf="$conf$line
"
done

case $conf in
  *"\"$key\":"* | *"\"$key\" :"*)
    rest=${conf#*\""$key"\"}; rest=${rest#*:}; rest=${rest#*\"}; sock=${rest%%\"*} ;;
esac
case $conf in
  *'"cniVersion":'* | *'"cniVersion" :'*)
    rest=${conf#*\"cniVersion\"}; rest=${rest#*:}; rest=${rest#*\"}; ver=${rest%%\"*} ;;
esac

if [ "${CNI_COMMAND:-}" = VERSION ]; then
  printf '{"cniVersion":"%s","supportedVersions":%s}\n' "$ver" "$supported"
  exit 0
fi

# curl leaves out a header whose value is empty ("X-A;" would send it empty: not wanted).
set --
[ -n "${CNI_COMMAND:-}" ] && set -- "$@" -H "X-Cni-Command: $CNI_COMMAND"
[ -n "${CNI_CONTAINERID:-}" ] && set -- "$@" -H "X-Cni-ContainerId: $CNI_CONTAINERID"
[ -n "${CNI_NETNS:-}" ] && set -- "$@" -H "X-Cni-Netns: $CNI_NETNS"
[ -n "${CNI_IFNAME:-}" ] && set -- "$@" -H "X-Cni-IfName: $CNI_IFNAME"
[ -n "${CNI_ARGS:-}" ] && set -- "$@" -H "X-Cni-Args: $CNI_ARGS"
[ -n "${CNI_PATH:-}" ] && set -- "$@" -H "X-Cni-Path: $CNI_PATH"

printf '%s' "$conf" | curl -sS --http1.0 --fail-with-body --max-time "$timeout" --unix-socket "$sock" \
  -H 'Content-Type: application/json' "$@" --data-binary @- "$url" 2>/dev/null
rc=$?
[ "$rc" -eq 0 ] && exit 0
# 22: the daemon answered with an error status; its CNI error JSON is already printed.
[ "$rc" -eq 22 ] && exit 1
printf '{"cniVersion":"%s","code":11,"msg":"%s: no answer from %s at %s (curl exit %s): %s","details":"curl exit %s"}\n' "$ver" "$name" "$daemon" "$sock" "$rc" "$hint" "$rc"
exit 1
