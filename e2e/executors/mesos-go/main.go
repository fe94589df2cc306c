// A Mesos custom executor whose protocol code is all mesos-go's (Debian's
// golang-github-mesos-mesos-go-dev, upstream 0.0.6, written by nobody here): the library reads the
// MESOS_* environment (executor/config), builds the calls (executor/calls), sends them to the agent's
// executor HTTP API with its protobuf codec (httpcli, httpexec, encoding/codecs), reads the RecordIO
// event stream and dispatches events (executor/events), and paces re-subscription (backoff). This
// program only decides what each event means for its tasks: a task's TaskInfo.data is a shell
// command run in the executor's container, so every task shares the executor's addresses.
//
// The e2e suite runs it as a custom executor on an ippc agent (e2e/src/scenarios/mesos-go-executor.ts);
// build.sh beside it builds the static binary.
package main

import (
	"context"
	"log"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/backoff"
	"github.com/mesos/mesos-go/api/v1/lib/encoding/codecs"
	"github.com/mesos/mesos-go/api/v1/lib/executor"
	"github.com/mesos/mesos-go/api/v1/lib/executor/calls"
	"github.com/mesos/mesos-go/api/v1/lib/executor/config"
	"github.com/mesos/mesos-go/api/v1/lib/executor/events"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli/httpexec"
)

// How long a first SUBSCRIBE may keep failing before the executor gives up (the agent's executor
// registration timeout ends it sooner anyway).
const firstSubscribeWindow = time.Minute

// What the executor knows: its configuration, its tasks, and what the agent has not acknowledged.
type state struct {
	cfg    config.Config
	sender calls.Sender

	mu sync.Mutex
	// Running tasks by id.
	tasks map[string]*task
	// Launched tasks none of whose updates the agent has acknowledged yet (SUBSCRIBE's unacknowledged_tasks).
	unackedTasks map[string]mesos.TaskInfo
	// Updates sent but not acknowledged, by uuid (SUBSCRIBE's unacknowledged_updates), in send order.
	unackedUpdates []executor.Call_Update
	// Whether the framework asked for TASK_KILLING (FrameworkInfo.capabilities, from SUBSCRIBED).
	killingState bool
	shuttingDown bool

	// Updates go out one at a time, in order, so a task's TASK_RUNNING always precedes its end.
	outbox  chan *executor.Call
	sending sync.WaitGroup
	// Closed when the executor is done; exitCode is then what it exits with.
	done     chan struct{}
	doneOnce sync.Once
	exitCode int
}

func main() {
	log.SetFlags(log.LstdFlags | log.Lmicroseconds | log.LUTC)
	cfg, err := config.FromEnv()
	if err != nil {
		log.Fatalf("mesos-go executor: %v", err)
	}
	log.Printf("executor %s of framework %s, agent at %s, sandbox %s, checkpoint %v, shutdown grace %v, recovery timeout %v",
		cfg.ExecutorID, cfg.FrameworkID, cfg.AgentEndpoint, cfg.Sandbox, cfg.Checkpoint, cfg.ExecutorShutdownGracePeriod, cfg.RecoveryTimeout)
	client := httpcli.New(
		httpcli.Endpoint("http://"+cfg.AgentEndpoint+"/api/v1/executor"),
		httpcli.Codec(codecs.ByMediaType[codecs.MediaTypeProtobuf]),
		httpcli.Do(httpcli.With(httpcli.Timeout(10*time.Second))),
	)
	s := &state{
		cfg:          cfg,
		sender:       calls.SenderWith(httpexec.NewSender(client.Send), calls.Framework(cfg.FrameworkID), calls.Executor(cfg.ExecutorID)),
		tasks:        map[string]*task{},
		unackedTasks: map[string]mesos.TaskInfo{},
		outbox:       make(chan *executor.Call, 1024),
		done:         make(chan struct{}),
	}
	go s.sendLoop()
	go s.subscribeLoop()
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	select {
	case sig := <-signals:
		// The agent destroys the container: end the tasks' process groups with it.
		log.Printf("%v: killing every task and exiting", sig)
		s.shutdown(0)
		<-s.done
	case <-s.done:
	}
	os.Exit(s.exitCode)
}

// finish ends the executor with code (the first call wins).
func (s *state) finish(code int) {
	s.doneOnce.Do(func() {
		s.exitCode = code
		close(s.done)
	})
}

// subscribeLoop subscribes, reads events until the stream ends, and subscribes again as Mesos's
// executor library does: an executor of a checkpointing framework retries (backing off up to
// MESOS_SUBSCRIPTION_BACKOFF_MAX) for MESOS_RECOVERY_TIMEOUT; any other one exits when its agent goes.
func (s *state) subscribeLoop() {
	maxWait := s.cfg.SubscriptionBackoffMax
	if maxWait < time.Second {
		maxWait = time.Second
	}
	pace := backoff.Notifier(250*time.Millisecond, maxWait, s.done)
	everSubscribed := false
	deadline := time.Now().Add(firstSubscribeWindow)
	for {
		subscribed, err := s.subscribeOnce()
		if s.isShuttingDown() {
			return
		}
		if subscribed {
			everSubscribed = true
			deadline = time.Now().Add(s.cfg.RecoveryTimeout)
		}
		log.Printf("disconnected from the agent: %v", err)
		if everSubscribed && !s.cfg.Checkpoint {
			log.Printf("the framework does not checkpoint: shutting down")
			s.shutdown(1)
			return
		}
		if time.Now().After(deadline) {
			log.Printf("could not (re-)subscribe in time: shutting down")
			s.shutdown(1)
			return
		}
		select {
		case <-pace:
		case <-s.done:
			return
		}
	}
}

// subscribeOnce sends SUBSCRIBE (with what the agent has not acknowledged) and handles the events
// of its stream until it ends; it reports whether SUBSCRIBED came.
func (s *state) subscribeOnce() (bool, error) {
	s.mu.Lock()
	tasks := make([]mesos.TaskInfo, 0, len(s.unackedTasks))
	for _, t := range s.unackedTasks {
		tasks = append(tasks, t)
	}
	updates := append([]executor.Call_Update(nil), s.unackedUpdates...)
	s.mu.Unlock()
	resp, err := s.sender.Send(context.Background(), calls.NonStreaming(calls.Subscribe(tasks, updates)))
	if resp != nil {
		defer resp.Close()
	}
	if err != nil {
		return false, err
	}
	handler := s.handlers()
	subscribed := false
	for {
		var e executor.Event
		if err := resp.Decode(&e); err != nil {
			return subscribed, err
		}
		if e.GetType() == executor.Event_SUBSCRIBED {
			subscribed = true
		}
		if err := handler.HandleEvent(context.Background(), &e); err != nil {
			log.Printf("event %v: %v", e.GetType(), err)
		}
	}
}

// handlers maps each event type to what the executor does with it.
func (s *state) handlers() events.Handler {
	return events.HandlerFuncs{
		executor.Event_SUBSCRIBED: func(_ context.Context, e *executor.Event) error {
			sub := e.GetSubscribed()
			s.mu.Lock()
			s.killingState = false
			for _, c := range sub.FrameworkInfo.GetCapabilities() {
				if c.GetType() == mesos.FrameworkInfo_Capability_TASK_KILLING_STATE {
					s.killingState = true
				}
			}
			s.mu.Unlock()
			log.Printf("subscribed: container %s on agent %s", sub.GetContainerID().GetValue(), sub.AgentInfo.GetHostname())
			return nil
		},
		executor.Event_LAUNCH: func(_ context.Context, e *executor.Event) error {
			s.launch(e.GetLaunch().Task)
			return nil
		},
		executor.Event_KILL: func(_ context.Context, e *executor.Event) error {
			k := e.GetKill()
			s.kill(k.TaskID.Value, killGrace(k.GetKillPolicy()))
			return nil
		},
		executor.Event_ACKNOWLEDGED: func(_ context.Context, e *executor.Event) error {
			s.acknowledged(e.GetAcknowledged())
			return nil
		},
		executor.Event_SHUTDOWN: func(_ context.Context, _ *executor.Event) error {
			log.Printf("SHUTDOWN: killing every task and exiting")
			s.shutdown(0)
			return nil
		},
		executor.Event_MESSAGE: func(_ context.Context, e *executor.Event) error {
			log.Printf("message from the framework (%d bytes)", len(e.GetMessage().Data))
			return nil
		},
		executor.Event_ERROR: func(_ context.Context, e *executor.Event) error {
			log.Printf("error from the agent: %s", e.GetError().Message)
			return nil
		},
	}.Otherwise(func(_ context.Context, e *executor.Event) error {
		// LAUNCH_GROUP is for executors of task groups, which this one is not. HEARTBEAT (9) came
		// after mesos-go 0.0.6: its protobuf decoder keeps the number, and there is nothing to do.
		if e.GetType() != 9 {
			log.Printf("ignoring event %v", e.GetType())
		}
		return nil
	})
}

func (s *state) isShuttingDown() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.shuttingDown
}

// update records a status of task id and queues its UPDATE call; it stays unacknowledged (and is
// sent again on re-subscription) until the agent's ACKNOWLEDGED.
func (s *state) update(id string, st mesos.TaskState, message string) {
	status := mesos.TaskStatus{
		TaskID:     mesos.TaskID{Value: id},
		State:      st.Enum(),
		Source:     mesos.SOURCE_EXECUTOR.Enum(),
		ExecutorID: &mesos.ExecutorID{Value: s.cfg.ExecutorID},
		UUID:       newUUID(),
		Timestamp:  float64Ptr(float64(time.Now().UnixNano()) / 1e9),
	}
	if message != "" {
		status.Message = &message
	}
	call := calls.Update(status)
	s.mu.Lock()
	s.unackedUpdates = append(s.unackedUpdates, *call.Update)
	s.mu.Unlock()
	s.sending.Add(1)
	s.outbox <- call
}

// sendLoop sends queued UPDATE calls in order. A call the agent does not take stays unacknowledged:
// SUBSCRIBE hands it over again, as Mesos's executor library does.
func (s *state) sendLoop() {
	for call := range s.outbox {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := calls.SendNoData(ctx, s.sender, calls.NonStreaming(call)); err != nil {
			log.Printf("UPDATE %s of task %s not taken (sent again on re-subscription): %v", call.Update.Status.GetState(), call.Update.Status.TaskID.Value, err)
		}
		cancel()
		s.sending.Done()
	}
}

func (s *state) acknowledged(ack *executor.Event_Acknowledged) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.unackedTasks, ack.TaskID.Value)
	kept := s.unackedUpdates[:0]
	for _, u := range s.unackedUpdates {
		if string(u.Status.UUID) != string(ack.UUID) {
			kept = append(kept, u)
		}
	}
	s.unackedUpdates = kept
}

func float64Ptr(f float64) *float64 { return &f }
