package llmux

/*
#include <stdlib.h>
#include "llmux.h"
*/
import "C"

import (
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"unsafe"
)

// ModelInfoQuery names what ModelInfo describes: exactly one of DeploymentID
// (one deployment; ReceivedModelName resolves a wildcard deployment's model),
// ModelGroup (use ModelGroupInfo) or Model (the model map alone, e.g.
// "gpt-4o" or "anthropic/claude-haiku-4-5"; CustomLLMProvider names the
// provider of a bare name).
type ModelInfoQuery struct {
	DeploymentID      string `json:"deployment_id,omitempty"`
	ReceivedModelName string `json:"received_model_name,omitempty"`
	ModelGroup        string `json:"model_group,omitempty"`
	Model             string `json:"model,omitempty"`
	CustomLLMProvider string `json:"custom_llm_provider,omitempty"`
}

// ModelInfo is LiteLLM's model info of a deployment or model: the model
// map's entry, with the deployment's model_info over it and the custom
// prices of its litellm_params over both. Nil pointers are values nobody
// set. Supports holds the supports_* flags ("supports_vision": true);
// Fields holds every key of the answer, the deployment's other model_info
// keys included.
type ModelInfo struct {
	Key                         string          `json:"key"`
	Mapped                      bool            `json:"mapped"`
	ID                          string          `json:"id"`
	ModelGroup                  string          `json:"model_group"`
	MaxTokens                   *int64          `json:"max_tokens"`
	MaxInputTokens              *int64          `json:"max_input_tokens"`
	MaxOutputTokens             *int64          `json:"max_output_tokens"`
	InputCostPerToken           float64         `json:"input_cost_per_token"`
	OutputCostPerToken          float64         `json:"output_cost_per_token"`
	CacheReadInputTokenCost     *float64        `json:"cache_read_input_token_cost"`
	CacheCreationInputTokenCost *float64        `json:"cache_creation_input_token_cost"`
	LiteLLMProvider             string          `json:"litellm_provider"`
	Mode                        *string         `json:"mode"`
	TPM                         *float64        `json:"tpm"`
	RPM                         *float64        `json:"rpm"`
	Supports                    map[string]bool `json:"-"`
	Fields                      map[string]any  `json:"-"`
}

// ModelGroupInfo is LiteLLM's ModelGroupInfo: every provider of the group
// once, its largest limits and prices, the first deployment's mode, summed
// TPM/RPM, and supports_* flags true when any deployment's is.
type ModelGroupInfo struct {
	ModelGroup         string          `json:"model_group"`
	Providers          []string        `json:"providers"`
	MaxInputTokens     *int64          `json:"max_input_tokens"`
	MaxOutputTokens    *int64          `json:"max_output_tokens"`
	InputCostPerToken  *float64        `json:"input_cost_per_token"`
	OutputCostPerToken *float64        `json:"output_cost_per_token"`
	Mode               *string         `json:"mode"`
	TPM                *int64          `json:"tpm"`
	RPM                *int64          `json:"rpm"`
	DeploymentIDs      []string        `json:"deployment_ids"`
	Supports           map[string]bool `json:"-"`
}

func supportsOf(fields map[string]any) map[string]bool {
	out := map[string]bool{}
	for k, v := range fields {
		if b, ok := v.(bool); ok && strings.HasPrefix(k, "supports_") {
			out[k] = b
		}
	}
	return out
}

// ModelInfo describes one deployment (query.DeploymentID) or one model of
// the map (query.Model). Errors: KindNotFound for an unknown deployment or
// an unmapped model, KindInvalidArgument for a bad query.
func (r *Router) ModelInfo(query ModelInfoQuery) (*ModelInfo, error) {
	if query.ModelGroup != "" {
		return nil, invalidArgument("use ModelGroupInfo for a model group")
	}
	raw, err := r.modelInfoRaw(query)
	if err != nil {
		return nil, err
	}
	info := &ModelInfo{}
	if err := json.Unmarshal(raw, info); err != nil {
		return nil, fmt.Errorf("llmux: decoding the library's JSON: %w", err)
	}
	if err := json.Unmarshal(raw, &info.Fields); err != nil {
		return nil, fmt.Errorf("llmux: decoding the library's JSON: %w", err)
	}
	info.Supports = supportsOf(info.Fields)
	return info, nil
}

// DeploymentModelInfo is ModelInfo of the deployment with this id.
func (r *Router) DeploymentModelInfo(id string) (*ModelInfo, error) {
	if id == "" {
		return nil, invalidArgument("the deployment id is empty")
	}
	return r.ModelInfo(ModelInfoQuery{DeploymentID: id})
}

// ModelGroupInfo describes a model group (or an alias of one).
// KindNotFound for a name no deployment has.
func (r *Router) ModelGroupInfo(group string) (*ModelGroupInfo, error) {
	if group == "" {
		return nil, invalidArgument("the model group is empty")
	}
	raw, err := r.modelInfoRaw(ModelInfoQuery{ModelGroup: group})
	if err != nil {
		return nil, err
	}
	info := &ModelGroupInfo{}
	if err := json.Unmarshal(raw, info); err != nil {
		return nil, fmt.Errorf("llmux: decoding the library's JSON: %w", err)
	}
	var fields map[string]any
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, fmt.Errorf("llmux: decoding the library's JSON: %w", err)
	}
	info.Supports = supportsOf(fields)
	return info, nil
}

// modelInfoRaw returns the library's JSON answer to query.
func (r *Router) modelInfoRaw(query ModelInfoQuery) ([]byte, error) {
	body, err := json.Marshal(query)
	if err != nil {
		return nil, invalidArgument(err.Error())
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.c == nil {
		return nil, ErrClosed
	}
	var text *C.char
	var cerr *C.llmux_error
	status := C.llmux_router_model_info(r.c, (*C.char)(unsafe.Pointer(unsafe.SliceData(body))), C.size_t(len(body)),
		&text, &cerr)
	runtime.KeepAlive(body)
	if status != C.LLMUX_OK {
		return nil, takeError(status, cerr)
	}
	return []byte(takeString(text)), nil
}

// Reset is LiteLLM's Router.reset for routing state: every cooldown ends,
// failure counts and the rpm/tpm minute counters start afresh. Deployments,
// prices, settings and calls in flight are untouched.
func (r *Router) Reset() error {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.c == nil {
		return ErrClosed
	}
	var cerr *C.llmux_error
	if status := C.llmux_router_reset(r.c, &cerr); status != C.LLMUX_OK {
		return takeError(status, cerr)
	}
	return nil
}
