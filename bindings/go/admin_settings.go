package llmux

/*
#include <stdlib.h>
#include "bridge.h"
*/
import "C"

import (
	"encoding/json"
	"fmt"
	"runtime"
	"unsafe"
)

// PickOptions says how Pick reads its request.
type PickOptions struct {
	// SpecificDeployment: the request's model is a litellm_params.model and
	// the pick is among the deployments with it (LiteLLM's
	// specific_deployment); else a deployment id, returned as it is.
	SpecificDeployment bool
	// IncludeSecrets keeps api_key and other secrets in the returned
	// deployment (by default they read "***").
	IncludeSecrets bool
}

// PickedDeployment is the deployment a call would be sent to first.
type PickedDeployment struct {
	ID         string `json:"id"`
	ModelGroup string `json:"model_group"`
	// Deployment is the model_list entry: {"model_name", "litellm_params",
	// "model_info"}.
	Deployment json.RawMessage `json:"deployment"`
}

// ModelGroupUsage is one model group's use in the current minute, summed over
// its deployments (fleet-wide with shared state).
type ModelGroupUsage struct {
	ModelGroup string `json:"model_group"`
	TPM        int64  `json:"tpm"`
	RPM        int64  `json:"rpm"`
	// The sums of the deployments' limits; nil when none has one.
	TPMLimit *int64 `json:"tpm_limit"`
	RPMLimit *int64 `json:"rpm_limit"`
	// Headers holds LiteLLM's x-ratelimit-remaining-tokens / -requests and
	// x-ratelimit-limit-tokens / -requests for the limits set.
	Headers map[string]int64 `json:"headers"`
}

// Pick returns the deployment a call with request (an OpenAI request body;
// messages may be left out) would try first: the same group resolution,
// filters (cooldown, rpm/tpm, max_parallel_requests, tags, budgets, context
// window, order) and routing strategy as a call. It sends nothing and counts
// nothing. An unknown model is KindBadRequest; every deployment filtered out
// is the call's own error (KindNoDeploymentsAvailable ...).
func (r *Router) Pick(request []byte, options PickOptions) (*PickedDeployment, error) {
	if len(request) == 0 {
		return nil, invalidArgument("the request is empty")
	}
	var flags C.uint
	if options.SpecificDeployment {
		flags |= C.LLMUX_PICK_SPECIFIC_DEPLOYMENT
	}
	if options.IncludeSecrets {
		flags |= C.LLMUX_PICK_INCLUDE_SECRETS
	}
	picked := &PickedDeployment{}
	err := r.query(picked, func(c *C.llmux_router, out **C.char, cerr **C.llmux_error) C.llmux_status {
		status := C.llmux_router_pick(c, (*C.char)(unsafe.Pointer(&request[0])), C.size_t(len(request)), flags, out, cerr)
		runtime.KeepAlive(request)
		return status
	})
	if err != nil {
		return nil, err
	}
	return picked, nil
}

// ModelGroupUsage reports the current minute's use of a model group (an
// alias resolves to its target). An unknown group is KindNotFound.
func (r *Router) ModelGroupUsage(group string) (*ModelGroupUsage, error) {
	usage := &ModelGroupUsage{}
	err := r.query(usage, func(c *C.llmux_router, out **C.char, cerr **C.llmux_error) C.llmux_status {
		cgroup := C.CString(group)
		defer C.free(unsafe.Pointer(cgroup))
		return C.llmux_router_model_group_usage(c, cgroup, out, cerr)
	})
	if err != nil {
		return nil, err
	}
	return usage, nil
}

// Settings returns the settings in force, keyed by LiteLLM's Router argument
// names (routing_strategy, num_retries, timeout, fallbacks,
// model_group_alias, ...), as decoded JSON.
func (r *Router) Settings() (map[string]any, error) {
	var settings map[string]any
	err := r.query(&settings, func(c *C.llmux_router, out **C.char, cerr **C.llmux_error) C.llmux_status {
		return C.llmux_router_settings(c, out, cerr)
	})
	if err != nil {
		return nil, err
	}
	return settings, nil
}

// UpdateSettings changes settings at run time, all or nothing: the keys are
// those Settings reports (a nil value restores a key's default). Calls in
// flight keep the settings they started with. A wrong key or value is
// KindInvalidArgument naming it, and then nothing changed.
func (r *Router) UpdateSettings(settings map[string]any) error {
	text, err := json.Marshal(settings)
	if err != nil {
		return fmt.Errorf("llmux: encoding the settings: %w", err)
	}
	return r.UpdateSettingsJSON(text)
}

// UpdateSettingsJSON is UpdateSettings with the settings as a JSON object.
func (r *Router) UpdateSettingsJSON(settings []byte) error {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.c == nil {
		return ErrClosed
	}
	if len(settings) == 0 {
		return invalidArgument("the settings are empty")
	}
	var cerr *C.llmux_error
	status := C.llmux_router_update_settings(r.c, (*C.char)(unsafe.Pointer(&settings[0])), C.size_t(len(settings)), &cerr)
	runtime.KeepAlive(settings)
	if status != C.LLMUX_OK {
		return takeError(status, cerr)
	}
	return nil
}
