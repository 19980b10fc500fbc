package llmux

/*
#include "bridge.h"
*/
import "C"

import (
	"encoding/json"
	"runtime/cgo"
	"sync"
	"time"
)

// LogLevel is how serious a log message of the library is.
type LogLevel int

// The library's log levels (llmux_log_level).
const (
	LogDebug LogLevel = C.LLMUX_LOG_DEBUG
	LogInfo  LogLevel = C.LLMUX_LOG_INFO
	LogWarn  LogLevel = C.LLMUX_LOG_WARN // e.g. a config key llmux accepts but does not use
	LogError LogLevel = C.LLMUX_LOG_ERROR
)

func (l LogLevel) String() string {
	switch l {
	case LogDebug:
		return "debug"
	case LogInfo:
		return "info"
	case LogWarn:
		return "warning"
	case LogError:
		return "error"
	}
	return "log"
}

// EventType names a routing event.
type EventType string

// The routing events.
const (
	EventSuccess   EventType = "success"   // a call succeeded (once per call)
	EventFailure   EventType = "failure"   // a call failed (once per call)
	EventRetry     EventType = "retry"     // an attempt failed; the call tries again in the same group
	EventFallback  EventType = "fallback"  // the call moves on to a fallback group
	EventCooldown  EventType = "cooldown"  // a deployment was cooled down
	EventRecovered EventType = "recovered" // a half-open deployment's probe succeeded
	// EventSharedStateDown: the shared state (Redis) is unreachable; routing goes
	// on with this router's own state. Not part of a call (CallID 0); Error says why.
	EventSharedStateDown EventType = "shared_state_down"
	// EventSharedStateUp: the shared state (Redis) is reachable (again). CallID 0.
	EventSharedStateUp EventType = "shared_state_up"
)

// Event is one routing decision, as the library reports it.
type Event struct {
	Type   EventType
	CallID uint64 // the call (Metadata.CallID of its response or error)
	// ModelGroup is the group of the attempt (for EventFallback: the group that failed).
	ModelGroup    string
	DeploymentID  string        // the deployment concerned; empty when none
	FallbackGroup string        // EventFallback: the group entered
	Cooldown      time.Duration // EventCooldown: its length
	RetryIn       time.Duration // EventRetry: the wait before the next attempt
	ResponseCost  float64       // EventSuccess, EventFailure: the call's cost
	// Err is the cause (EventFailure, EventRetry, EventFallback,
	// EventCooldown); nil otherwise.
	Err *Error
	// Metadata is the call's router metadata (EventSuccess, EventFailure);
	// nil otherwise.
	Metadata *Metadata
	// Usage is the token usage of the attempt that served (EventSuccess); nil otherwise.
	Usage *Usage
	// Raw is the event JSON as the library wrote it.
	Raw json.RawMessage
}

type eventWire struct {
	Type            EventType `json:"type"`
	CallID          uint64    `json:"call_id"`
	ModelGroup      string    `json:"model_group"`
	DeploymentID    string    `json:"deployment_id"`
	FallbackGroup   string    `json:"fallback_group"`
	CooldownSeconds float64   `json:"cooldown_seconds"`
	RetryInSeconds  float64   `json:"retry_in_seconds"`
	ResponseCost    float64   `json:"response_cost"`
	Error           *struct {
		Type    string `json:"type"`
		Message string `json:"message"`
		Status  int    `json:"status"`
		Kind    int    `json:"kind"`
	} `json:"error"`
	Metadata *Metadata `json:"metadata"`
	Usage    *Usage    `json:"usage"`
}

// decodeEvent decodes the library's event JSON.
func decodeEvent(raw []byte) (Event, error) {
	var w eventWire
	if err := json.Unmarshal(raw, &w); err != nil {
		return Event{}, err
	}
	ev := Event{
		Type: w.Type, CallID: w.CallID, ModelGroup: w.ModelGroup, DeploymentID: w.DeploymentID,
		FallbackGroup: w.FallbackGroup, Cooldown: seconds(w.CooldownSeconds), RetryIn: seconds(w.RetryInSeconds),
		ResponseCost: w.ResponseCost, Metadata: w.Metadata, Usage: w.Usage, Raw: raw,
	}
	if w.Error != nil {
		var detail struct {
			Error json.RawMessage `json:"error"`
		}
		_ = json.Unmarshal(raw, &detail)
		ev.Err = newError(callOutcome{status: C.llmux_status(w.Error.Kind), errType: w.Error.Type,
			errMsg: w.Error.Message, errStatus: w.Error.Status, errJSON: detail.Error})
	}
	return ev, nil
}

// RouterOptions are the optional parts of a Router (NewRouterWithOptions).
type RouterOptions struct {
	// OnEvent receives every routing event (success, failure, retry,
	// fallback, cooldown, recovered), one at a time and in order, on a
	// goroutine of the router: never on the library's I/O thread, and never
	// blocking the delivery of any call's outcome. A call's events may still
	// be delivered after the call returned. It must not call Close.
	OnEvent func(Event)
	// Log receives the library's log messages for this router: the config
	// warnings on the goroutine calling NewRouterWithOptions (before it
	// returns), later messages on the router's event goroutine. nil: the
	// library's process-wide log (stderr by default).
	Log func(level LogLevel, message string)
	// RandomSeed seeds the routing randomness; 0 = random.
	RandomSeed uint64
}

// observed is one item for the user's callbacks.
type observed struct {
	log   bool
	level LogLevel
	data  []byte
}

// observer runs a router's OnEvent and Log callbacks on its own goroutine, in
// the order the library reported them, so that a slow callback delays only
// its own router's observations.
type observer struct {
	options RouterOptions
	mu      sync.Mutex
	items   []observed
	closed  bool
	ready   chan struct{} // a token whenever items or closed may have changed
}

func newObserver(options RouterOptions) *observer {
	o := &observer{options: options, ready: make(chan struct{}, 1)}
	go o.run()
	return o
}

func (o *observer) push(item observed, closed bool) {
	o.mu.Lock()
	if closed {
		o.closed = true
	} else {
		o.items = append(o.items, item)
	}
	o.mu.Unlock()
	select {
	case o.ready <- struct{}{}:
	default:
	}
}

func (o *observer) run() {
	for range o.ready {
		o.mu.Lock()
		items, closed := o.items, o.closed
		o.items = nil
		o.mu.Unlock()
		for _, item := range items {
			o.handle(item)
		}
		if closed {
			return
		}
	}
}

func (o *observer) handle(item observed) {
	if item.log {
		if o.options.Log != nil {
			o.options.Log(item.level, string(item.data))
		}
		return
	}
	if o.options.OnEvent == nil {
		return
	}
	ev, err := decodeEvent(item.data)
	if err == nil {
		o.options.OnEvent(ev)
	}
}

// deliverObserved hands an observer's event (from the bridge's queue) on.
func deliverObserved(event *C.llmuxgo_event) {
	handle := cgo.Handle(event.call)
	o := handle.Value().(*observer)
	switch event.about {
	case C.LLMUXGO_ROUTER_EVENT:
		o.push(observed{data: copyBytes(event.data, event.data_len)}, false)
	case C.LLMUXGO_LOG:
		o.push(observed{log: true, level: LogLevel(event.level), data: copyBytes(event.data, event.data_len)}, false)
	case C.LLMUXGO_ROUTER_CLOSED:
		// Everything the router reported came before: the handle's last use.
		handle.Delete()
		o.push(observed{}, true)
	}
}
