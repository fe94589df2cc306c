#!/bin/sh
# ippc-ipam: the CNI IPAM plugin executable of ippc, portable flavour (POSIX sh + curl).
# It forwards the CNI environment and standard input to the ippc-ipam node daemon over its unix
# socket and prints the answer. Same protocol as ippc-ipam.c (the native flavour, ~15 ms faster
# per call: curl alone takes that long to start). Socket: "daemonSocket" in the config's ipam
# section, else /run/ippc/ipam.sock.
cfg=$(cat)
version=1.0.0
case $cfg in *'"cniVersion"'*) v=${cfg#*\"cniVersion\"}; v=${v#*\"}; version=${v%%\"*};; esac
if [ "$CNI_COMMAND" = VERSION ]; then
  printf '{"cniVersion":"%s","supportedVersions":["0.1.0","0.2.0","0.3.0","0.3.1","0.4.0","1.0.0","1.1.0"]}\n' "$version"
  exit 0
fi
sock=/run/ippc/ipam.sock
case $cfg in *'"daemonSocket"'*) s=${cfg#*\"daemonSocket\"}; s=${s#*\"}; sock=${s%%\"*};; esac
curl -sS --max-time 60 --fail-with-body --unix-socket "$sock" \
  -H "X-Cni-Command: $CNI_COMMAND" -H "X-Cni-ContainerId: $CNI_CONTAINERID" -H "X-Cni-Netns: $CNI_NETNS" \
  -H "X-Cni-IfName: $CNI_IFNAME" -H "X-Cni-Args: $CNI_ARGS" -H "X-Cni-Path: $CNI_PATH" \
  -H 'Content-Type: application/json' --data-raw "$cfg" http://ippc-ipam/v1/cni 2>/dev/null
rc=$?
[ $rc -eq 0 ] && exit 0
[ $rc -eq 22 ] && exit 1
printf '{"cniVersion":"%s","code":11,"msg":"the ippc-ipam node daemon is not reachable at %s: start ippc-ipam-node (or the agent) and retry","details":"curl exit %s"}\n' "$version" "$sock" "$rc"
exit 1
