package llmux_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"strings"

	llmux "github.com/llmux/llmux/bindings/go"
)

// A router over one deployment, answered by the test suite's fake provider
// (LLMUX_FAKE_BASE_URL).
func Example() {
	router, err := llmux.NewRouter(`
model_list:
  - model_name: chat
    litellm_params: {model: openai/ok-example, api_base: os.environ/LLMUX_FAKE_BASE_URL, api_key: sk-example}
    model_info: {id: example-1}
router_settings: {num_retries: 2}
`)
	if err != nil {
		log.Fatal(err)
	}
	defer router.Close()

	resp, err := router.Completion(context.Background(), &llmux.ChatCompletionRequest{
		Model:    "chat",
		Messages: []llmux.Message{{Role: "user", Content: "Hello"}},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.Choices[0].Message.Content)
	fmt.Println("served by", resp.Metadata.DeploymentID, "after", resp.Metadata.Attempts, "attempt(s)")
	// Output:
	// Hello from ok-example.
	// served by example-1 after 1 attempt(s)
}

// A completion answered offline by mock_response: no provider, no network.
func ExampleRouter_Completion() {
	router, err := llmux.NewRouter(`
model_list:
  - model_name: gpt-4o
    litellm_params: {model: openai/gpt-4o, mock_response: "Hi there, how can I help?"}
    model_info: {id: gpt-4o-mock}
`)
	if err != nil {
		log.Fatal(err)
	}
	defer router.Close()

	resp, err := router.Completion(context.Background(), &llmux.ChatCompletionRequest{
		Model:    "gpt-4o",
		Messages: []llmux.Message{{Role: "user", Content: "Hello"}},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.Choices[0].Message.Content)
	fmt.Println("deployment:", resp.Metadata.DeploymentID, "tokens out:", resp.Usage.CompletionTokens)
	// Output:
	// Hi there, how can I help?
	// deployment: gpt-4o-mock tokens out: 6
}

// A stream, read chunk by chunk; its router metadata comes at the end.
func ExampleRouter_Stream() {
	router, err := llmux.NewRouter(`
model_list:
  - model_name: gpt-4o
    litellm_params: {model: openai/gpt-4o, mock_response: "One chunk at a time."}
`)
	if err != nil {
		log.Fatal(err)
	}
	defer router.Close()

	stream, err := router.Stream(context.Background(), &llmux.ChatCompletionRequest{
		Model:    "gpt-4o",
		Messages: []llmux.Message{{Role: "user", Content: "Hello"}},
	})
	if err != nil {
		log.Fatal(err)
	}
	var text strings.Builder
	for chunk, err := range stream.Chunks() { // breaking out of the loop cancels the call
		if err != nil {
			log.Fatal(err)
		}
		if len(chunk.Choices) > 0 {
			text.WriteString(chunk.Choices[0].Delta.Content)
		}
	}
	fmt.Println(text.String())
	fmt.Println("attempts:", stream.Metadata().Attempts)
	// Output:
	// One chunk at a time.
	// attempts: 1
}

// A failure is an *llmux.Error: its LiteLLM class name, HTTP status and the
// router metadata of the failed call. errors.Is matches its kind.
func ExampleError() {
	router, err := llmux.NewRouter(`
model_list:
  - model_name: gpt-4o
    litellm_params: {model: openai/gpt-4o, mock_response: litellm.RateLimitError}
router_settings: {num_retries: 0}
`)
	if err != nil {
		log.Fatal(err)
	}
	defer router.Close()

	_, err = router.Completion(context.Background(), &llmux.ChatCompletionRequest{
		Model:    "gpt-4o",
		Messages: []llmux.Message{{Role: "user", Content: "Hello"}},
	})
	var e *llmux.Error
	if errors.As(err, &e) {
		fmt.Println(e.Type, e.Status, "on", e.Metadata.DeploymentModel)
	}
	fmt.Println("rate limited:", errors.Is(err, llmux.ErrRateLimit))
	// Output:
	// RateLimitError 429 on gpt-4o
	// rate limited: true
}

// When a group fails, the call falls back to the next group of its
// fallbacks; the metadata says which group served.
func Example_fallbacks() {
	router, err := llmux.NewRouter(`
model_list:
  - model_name: primary
    litellm_params: {model: openai/gpt-4o, mock_response: litellm.InternalServerError}
  - model_name: backup
    litellm_params: {model: openai/gpt-4o-mini, mock_response: "Served by the backup."}
router_settings:
  num_retries: 0
  fallbacks: [{primary: [backup]}]
`)
	if err != nil {
		log.Fatal(err)
	}
	defer router.Close()

	resp, err := router.Completion(context.Background(), &llmux.ChatCompletionRequest{
		Model:    "primary",
		Messages: []llmux.Message{{Role: "user", Content: "Hello"}},
	})
	if err != nil {
		log.Fatal(err)
	}
	m := resp.Metadata
	fmt.Println(resp.Choices[0].Message.Content)
	fmt.Println("group:", m.ModelGroup, "fallbacks:", m.Fallbacks, "attempts:", m.Attempts)
	for i, a := range m.AttemptLog {
		fmt.Printf("attempt %d: %s %q\n", i, a.ModelGroup, a.ErrorType)
	}
	// Output:
	// Served by the backup.
	// group: backup fallbacks: 1 attempts: 2
	// attempt 0: primary "InternalServerError"
	// attempt 1: backup ""
}
