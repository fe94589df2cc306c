package main

import (
	"crypto/rand"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/mesos/mesos-go/api/v1/lib"
)

// Mesos's default grace between SIGTERM and SIGKILL when a KILL names no kill policy (the command
// executor's, src/launcher/executor.cpp).
const defaultKillGrace = 3 * time.Second

// A task: its shell command, run in its own process group so a kill reaches every process it started.
type task struct {
	info   mesos.TaskInfo
	cmd    *exec.Cmd
	killed bool
	// Closed once the task's terminal update is queued.
	ended chan struct{}
}

// launch runs the task's data as `sh -c` in a directory of its own in the sandbox (so two tasks
// serving files do not share them) and reports TASK_RUNNING, or TASK_FAILED if it cannot start.
func (s *state) launch(info mesos.TaskInfo) {
	id := info.TaskID.Value
	s.mu.Lock()
	_, running := s.tasks[id]
	refused := s.shuttingDown
	s.unackedTasks[id] = info
	s.mu.Unlock()
	if running || refused {
		reason := "a task with this id is running"
		if refused {
			reason = "the executor is shutting down"
		}
		s.update(id, mesos.TASK_FAILED, "Cannot launch task: "+reason)
		return
	}
	dir := filepath.Join(s.cfg.Sandbox, id)
	cmd := exec.Command("sh", "-c", string(info.Data))
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "MESOS_TASK_ID="+id)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	err := os.MkdirAll(dir, 0o755)
	var out *os.File
	if err == nil {
		out, err = os.Create(dir + ".log")
	}
	if err == nil {
		cmd.Stdout, cmd.Stderr = out, out
		err = cmd.Start()
	}
	if err != nil {
		if out != nil {
			out.Close()
		}
		s.update(id, mesos.TASK_FAILED, "Failed to launch task: "+err.Error())
		return
	}
	t := &task{info: info, cmd: cmd, ended: make(chan struct{})}
	s.mu.Lock()
	s.tasks[id] = t
	s.mu.Unlock()
	log.Printf("task %s running as pid %d: %s", id, cmd.Process.Pid, string(info.Data))
	s.update(id, mesos.TASK_RUNNING, "")
	go s.wait(t, out)
}

// wait reports the task's end: KILLED if it was killed, else FINISHED or FAILED by its exit.
func (s *state) wait(t *task, out *os.File) {
	err := t.cmd.Wait()
	out.Close()
	id := t.info.TaskID.Value
	s.mu.Lock()
	delete(s.tasks, id)
	killed := t.killed
	s.mu.Unlock()
	state, message := mesos.TASK_FINISHED, "Command exited with status 0"
	if ws, ok := t.cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		message = fmt.Sprintf("Command terminated with signal %s", ws.Signal())
	} else if err != nil {
		message = fmt.Sprintf("Command exited with status %d", t.cmd.ProcessState.ExitCode())
	}
	switch {
	case killed:
		state = mesos.TASK_KILLED
	case err != nil:
		state = mesos.TASK_FAILED
	}
	log.Printf("task %s: %s (%s)", id, state, message)
	s.update(id, state, message)
	close(t.ended)
}

// kill sends SIGTERM to the task's process group, then SIGKILL after grace if it is still there.
func (s *state) kill(id string, grace time.Duration) {
	s.mu.Lock()
	t := s.tasks[id]
	killing := s.killingState
	if t != nil {
		t.killed = true
	}
	s.mu.Unlock()
	if t == nil {
		// The agent answers for tasks it never handed over; a task that already ended has reported it.
		log.Printf("KILL for task %s, which is not running: ignored", id)
		return
	}
	if killing {
		s.update(id, mesos.TASK_KILLING, "")
	}
	pgid := t.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	go func() {
		select {
		case <-t.ended:
		case <-time.After(grace):
			log.Printf("task %s still there after %v: SIGKILL", id, grace)
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
		}
	}()
}

// shutdown kills every task, waits (within the agent's shutdown grace period) for their last
// updates to go out, and ends the executor with code.
func (s *state) shutdown(code int) {
	s.mu.Lock()
	if s.shuttingDown {
		s.mu.Unlock()
		return
	}
	s.shuttingDown = true
	tasks := make([]*task, 0, len(s.tasks))
	for _, t := range s.tasks {
		tasks = append(tasks, t)
	}
	s.mu.Unlock()
	// Leave a second of the agent's grace for the updates to reach it before it kills the container.
	grace := s.cfg.ExecutorShutdownGracePeriod - time.Second
	if grace < time.Second {
		grace = time.Second
	}
	for _, t := range tasks {
		s.kill(t.info.TaskID.Value, grace-500*time.Millisecond)
	}
	go func() {
		deadline := time.After(grace)
		for _, t := range tasks {
			select {
			case <-t.ended:
			case <-deadline:
			}
		}
		sent := make(chan struct{})
		go func() { s.sending.Wait(); close(sent) }()
		select {
		case <-sent:
		case <-deadline:
		}
		s.finish(code)
	}()
}

// killGrace is the grace period of a KILL's kill policy, or Mesos's default.
func killGrace(policy *mesos.KillPolicy) time.Duration {
	if d := policy.GetGracePeriod(); d != nil {
		return time.Duration(d.GetNanoseconds())
	}
	return defaultKillGrace
}

// newUUID is a random (version 4) UUID's 16 bytes, as TaskStatus.uuid carries it.
func newUUID() []byte {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return b
}
