// A program of its own module that uses an installed llmux: bindings/go/test.sh builds it in a fresh
// directory, once with only PKG_CONFIG_PATH pointing at the installation's llmux.pc
// (no CGO_* flags), once installed in /usr/local with no environment variable at all.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	llmux "github.com/llmux/llmux/bindings/go"
)

func main() {
	router, err := llmux.NewRouter(`
model_list:
  - model_name: chat
    litellm_params: {model: openai/gpt-4o, mock_response: "Hi from an installed llmux"}
  - model_name: limited
    litellm_params: {model: openai/gpt-4o, mock_response: litellm.RateLimitError}
router_settings: {num_retries: 0}
`)
	if err != nil {
		fail("NewRouter: %v", err)
	}
	defer router.Close()
	ask := func(model string) (*llmux.ChatCompletionResponse, error) {
		return router.Completion(context.Background(), &llmux.ChatCompletionRequest{
			Model: model, Messages: []llmux.Message{{Role: "user", Content: "Hello"}},
		})
	}
	resp, err := ask("chat")
	if err != nil || resp.Choices[0].Message.Content != "Hi from an installed llmux" {
		fail("Completion: %v, %+v", err, resp)
	}
	_, err = ask("limited")
	var e *llmux.Error
	if !errors.As(err, &e) || e.Type != "RateLimitError" {
		fail("Completion on a rate-limited group: %v, want a RateLimitError", err)
	}
	fmt.Printf("llmux %s: %q, then %s\n", llmux.Version(), resp.Choices[0].Message.Content, e.Type)
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "install consumer: "+format+"\n", args...)
	os.Exit(1)
}
