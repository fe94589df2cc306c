// The per-container supervisor and the holder, as small scripts run by perl (perl-base is part of
// every Debian system, including the ippc images) and sh.
//
// Why a supervisor: a task must outlive the agent (kill -9 included) and its exit status must
// still be known afterwards. The agent spawns the supervisor detached (its own session, stdio on
// sandbox files), so the agent's death does not touch it; the supervisor forks the task into a
// session of its own, waits for it, and writes the exact exit status (code or signal) to
// `<run>/status` atomically. After a restart the agent reads that file.
//
// Why a holder: Mesos's launch model. The task's first process is created in its new namespaces
// (`unshare --net --uts --mount --propagation slave`, no fork, so the pid stays the same), reports
// its pid on fd 3 and blocks reading fd 4; the containerizer runs the isolators' `isolate(pid)`
// and then writes `go` (or `abort`) to fd 4. Only on `go` does the holder exec the task. Both fds
// are socket pairs to the agent that are closed once the task runs, so nothing ties the task to
// the agent afterwards; if the agent dies before `go`, the holder reads EOF and exits 125 without
// running anything.

/** Exit code of a holder that never started its task (abort, or the agent went away). */
export const NOT_STARTED_EXIT_CODE = 125;

/**
 * perl -e SUPERVISOR <run dir> <argv...>: fork; in the child a process group of its own and exec
 * argv; in the parent write `<run>/supervised`, close the launch channels, wait, and write
 * `<run>/status` as JSON `{"exitCode":N}` or `{"signal":N}`. Only perl built-ins (no modules), so
 * it starts in about 2 ms.
 */
export const SUPERVISOR = String.raw`
use strict;
my $run = shift @ARGV;
sub put {
  my ($name, $text) = @_;
  open(my $fh, '>', "$run/$name.tmp") or die "cannot write $run/$name.tmp: $!";
  print $fh $text;
  close($fh);
  rename("$run/$name.tmp", "$run/$name") or die "cannot rename $run/$name.tmp: $!";
}
# Signals meant for the task (or a terminal) must not end the supervisor before it records the end.
$SIG{$_} = 'IGNORE' for qw(TERM INT HUP QUIT PIPE);
my $pid = fork();
if (!defined $pid) { print STDERR "ippc-supervisor: fork failed: $!\n"; put('status', '{"exitCode":${NOT_STARTED_EXIT_CODE}}'); exit 1; }
if ($pid == 0) {
  $SIG{$_} = 'DEFAULT' for qw(TERM INT HUP QUIT PIPE);
  # A process group of its own: the containerizer signals the whole task with kill(-pid).
  setpgrp(0, 0);
  exec { $ARGV[0] } @ARGV;
  print STDERR "ippc-supervisor: cannot execute $ARGV[0]: $!\n";
  exit 127;
}
put('supervised', "$pid\n");
# Only the task keeps the launch channels (fds 3 and 4) open.
for my $fd (3, 4) { if (open(my $h, '<&=', $fd)) { close($h); } }
waitpid($pid, 0);
my $st = $?;
if ($st & 127) { put('status', '{"signal":' . ($st & 127) . '}'); }
else { put('status', '{"exitCode":' . ($st >> 8) . '}'); }
exit 0;
`;

/** sh -c HOLDER ippc-holder <argv...>: report `$$` on fd 3, wait for `go` on fd 4, exec argv. */
export const HOLDER = `echo $$ >&3 || exit ${NOT_STARTED_EXIT_CODE}
exec 3>&-
IFS= read -r go <&4 || exit ${NOT_STARTED_EXIT_CODE}
exec 4<&-
[ "$go" = go ] || exit ${NOT_STARTED_EXIT_CODE}
exec "$@"`;
