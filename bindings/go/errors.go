package llmux

/*
#include "llmux.h"
*/
import "C"

import (
	"encoding/json"
	"errors"
	"strconv"
	"time"
)

// Kind classifies a failure. The values are llmux_status's (stable across
// versions); the names are LiteLLM's exception classes.
//
// A Kind is also an error value so that errors.Is can match on it:
// errors.Is(err, llmux.KindRateLimit) (or llmux.ErrRateLimit) is true for any
// *Error of that kind.
type Kind int

// The kinds, mirroring llmux_status.
const (
	KindBadRequest             Kind = C.LLMUX_ERR_BAD_REQUEST              // 400 / 422 / invalid request
	KindContextWindowExceeded  Kind = C.LLMUX_ERR_CONTEXT_WINDOW_EXCEEDED  // 400, prompt longer than the context
	KindContentPolicyViolation Kind = C.LLMUX_ERR_CONTENT_POLICY_VIOLATION // 400, the provider's safety system refused
	KindAuthentication         Kind = C.LLMUX_ERR_AUTHENTICATION           // 401
	KindPermissionDenied       Kind = C.LLMUX_ERR_PERMISSION_DENIED        // 403
	KindNotFound               Kind = C.LLMUX_ERR_NOT_FOUND                // 404 / model not found
	KindTimeout                Kind = C.LLMUX_ERR_TIMEOUT                  // 408 / 504 / an llmux deadline
	KindRateLimit              Kind = C.LLMUX_ERR_RATE_LIMIT               // 429
	KindNoDeploymentsAvailable Kind = C.LLMUX_ERR_NO_DEPLOYMENTS_AVAILABLE // all candidates cooling down or filtered
	KindBudgetExceeded         Kind = C.LLMUX_ERR_BUDGET_EXCEEDED          // all candidates over budget
	KindInternalServer         Kind = C.LLMUX_ERR_INTERNAL_SERVER          // 500
	KindBadGateway             Kind = C.LLMUX_ERR_BAD_GATEWAY              // 502
	KindServiceUnavailable     Kind = C.LLMUX_ERR_SERVICE_UNAVAILABLE      // 503
	KindAPI                    Kind = C.LLMUX_ERR_API                      // any other HTTP status
	KindConnection             Kind = C.LLMUX_ERR_CONNECTION               // no HTTP response: refused, reset, DNS
	KindMidStream              Kind = C.LLMUX_ERR_MID_STREAM               // a stream failed after content was delivered
	KindCancelled              Kind = C.LLMUX_ERR_CANCELLED                // the call was cancelled
	KindInvalidConfig          Kind = C.LLMUX_ERR_INVALID_CONFIG           // the configuration is wrong
	KindInvalidArgument        Kind = C.LLMUX_ERR_INVALID_ARGUMENT         // the request or an argument is wrong
	KindOutOfMemory            Kind = C.LLMUX_ERR_OUT_OF_MEMORY            // the library ran out of memory
	KindInternal               Kind = C.LLMUX_ERR_INTERNAL                 // a bug in llmux
)

// Sentinels for errors.Is, one per Kind.
var (
	ErrBadRequest             error = KindBadRequest
	ErrContextWindowExceeded  error = KindContextWindowExceeded
	ErrContentPolicyViolation error = KindContentPolicyViolation
	ErrAuthentication         error = KindAuthentication
	ErrPermissionDenied       error = KindPermissionDenied
	ErrNotFound               error = KindNotFound
	ErrTimeout                error = KindTimeout
	ErrRateLimit              error = KindRateLimit
	ErrNoDeploymentsAvailable error = KindNoDeploymentsAvailable
	ErrBudgetExceeded         error = KindBudgetExceeded
	ErrInternalServer         error = KindInternalServer
	ErrBadGateway             error = KindBadGateway
	ErrServiceUnavailable     error = KindServiceUnavailable
	ErrAPI                    error = KindAPI
	ErrConnection             error = KindConnection
	ErrMidStream              error = KindMidStream
	ErrCancelled              error = KindCancelled
	ErrInvalidConfig          error = KindInvalidConfig
	ErrInvalidArgument        error = KindInvalidArgument
	ErrOutOfMemory            error = KindOutOfMemory
	ErrInternal               error = KindInternal
)

// ErrClosed is returned by calls on a closed Router, and is the cause of the
// KindCancelled error of calls that were in flight when Close ran.
var ErrClosed = errors.New("llmux: router is closed")

// String is the LiteLLM exception class name of the kind ("RateLimitError",
// "Timeout", ...), as the library names it.
func (k Kind) String() string { return C.GoString(C.llmux_status_string(C.llmux_status(k))) }

// Error makes a Kind usable as an errors.Is target. It is String, so that
// fmt prints a Kind the same way whichever method it picks.
func (k Kind) Error() string { return k.String() }

// Error is every failure the library reports: a value, never a panic.
// Use errors.As(err, &llmuxErr) to read it.
type Error struct {
	Kind Kind
	// Status is the HTTP status LiteLLM would report (429, 408, ...).
	Status int
	// Type is the LiteLLM exception class name ("RateLimitError", ...).
	Type string
	// Message includes the provider's own message when there is one. It never
	// contains an API key.
	Message string
	// LLMProvider is the provider family of the deployment that failed
	// ("openai", ...), if any.
	LLMProvider string
	// RetryAfter is how long the caller may wait before trying again (the
	// provider's Retry-After, or the time until a deployment recovers); zero
	// when unknown.
	RetryAfter time.Duration
	// Metadata is the router metadata of the call at the time it failed.
	Metadata Metadata
	// Raw is the library's error JSON as received.
	Raw json.RawMessage

	// cause is why a KindCancelled call was cancelled (the context's error or
	// ErrClosed); nil otherwise.
	cause error
}

func (e *Error) Error() string {
	msg := "llmux: " + e.Type
	if e.Status != 0 {
		msg += " (" + strconv.Itoa(e.Status) + ")"
	}
	if e.Message != "" {
		msg += ": " + e.Message
	}
	if e.cause != nil {
		msg += ": " + e.cause.Error()
	}
	return msg
}

// Unwrap gives the cause of a cancellation (context.Canceled,
// context.DeadlineExceeded or ErrClosed), so errors.Is sees it.
func (e *Error) Unwrap() error { return e.cause }

// Is reports whether target is the error's Kind (or its Err* sentinel).
func (e *Error) Is(target error) bool {
	kind, ok := target.(Kind)
	return ok && kind == e.Kind
}

// errorDetail is the library's error JSON (llmux_error_json).
type errorDetail struct {
	LLMProvider       string   `json:"llm_provider"`
	RetryAfterSeconds *float64 `json:"retry_after_seconds"`
	Metadata          Metadata `json:"_llmux"`
}

// newError builds an Error from a failed call's outcome.
func newError(o callOutcome) *Error {
	e := &Error{Kind: Kind(o.status), Status: o.errStatus, Type: o.errType, Message: o.errMsg, Raw: o.errJSON}
	if e.Type == "" {
		e.Type = e.Kind.String()
	}
	var detail errorDetail
	if len(o.errJSON) > 0 && json.Unmarshal(o.errJSON, &detail) == nil {
		e.LLMProvider = detail.LLMProvider
		if detail.RetryAfterSeconds != nil {
			e.RetryAfter = seconds(*detail.RetryAfterSeconds)
		}
		e.Metadata = detail.Metadata
	}
	return e
}

// takeError converts (and frees) the rich error of a synchronous C call.
func takeError(status C.llmux_status, cerr *C.llmux_error) *Error {
	defer C.llmux_error_free(cerr)
	o := callOutcome{status: status}
	o.copyError(cerr)
	return newError(o)
}

// invalidArgument is an error the binding detects before calling the library.
func invalidArgument(message string) *Error {
	return &Error{Kind: KindInvalidArgument, Status: 400, Type: KindInvalidArgument.String(), Message: message}
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

func milliseconds(ms float64) time.Duration { return time.Duration(ms * float64(time.Millisecond)) }
