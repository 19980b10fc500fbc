package llmux_test

import (
	"context"
	"fmt"
	"log"

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
