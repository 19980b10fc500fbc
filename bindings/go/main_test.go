package llmux_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	llmux "github.com/llmux/llmux/bindings/go"
)

// fakeBaseURL is the base URL of the llmux_fake_server TestMain started.
var fakeBaseURL string

// testSecret is the api_key of every test deployment: it must never come back.
const testSecret = "sk-go-test-secret"

// TestMain runs the suite against one llmux_fake_server process (real HTTP on
// loopback). Configs reach it through os.environ/LLMUX_FAKE_BASE_URL.
func TestMain(m *testing.M) {
	os.Exit(runWithFakeServer(m))
}

func runWithFakeServer(m *testing.M) int {
	path, err := fakeServerPath()
	if err != nil {
		fmt.Fprintln(os.Stderr, "llmux go tests:", err)
		return 1
	}
	server := exec.Command(path)
	server.Stderr = os.Stderr
	stdin, err := server.StdinPipe()
	if err != nil {
		fmt.Fprintln(os.Stderr, "llmux go tests:", err)
		return 1
	}
	stdout, err := server.StdoutPipe()
	if err != nil {
		fmt.Fprintln(os.Stderr, "llmux go tests:", err)
		return 1
	}
	if err := server.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "llmux go tests: starting %s: %v\n", path, err)
		return 1
	}
	// Closing stdin is how the fake server is told to stop.
	defer func() {
		stdin.Close()
		server.Wait()
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		fmt.Fprintf(os.Stderr, "llmux go tests: reading the fake server's address: %v\n", err)
		return 1
	}
	go io.Copy(io.Discard, stdout)
	var ready struct {
		BaseURL string `json:"base_url"`
	}
	if err := json.Unmarshal([]byte(line), &ready); err != nil || ready.BaseURL == "" {
		fmt.Fprintf(os.Stderr, "llmux go tests: unexpected first line from the fake server: %q\n", line)
		return 1
	}
	fakeBaseURL = ready.BaseURL
	os.Setenv("LLMUX_FAKE_BASE_URL", fakeBaseURL)
	return m.Run()
}

// fakeServerPath is LLMUX_FAKE_SERVER, else the one in <repo>/build.
func fakeServerPath() (string, error) {
	if path := os.Getenv("LLMUX_FAKE_SERVER"); path != "" {
		if _, err := os.Stat(path); err != nil {
			return "", fmt.Errorf("LLMUX_FAKE_SERVER=%s: %w", path, err)
		}
		return path, nil
	}
	path, err := filepath.Abs(filepath.Join("..", "..", "build", "tests", "support", "llmux_fake_server"))
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(path); err != nil {
		return "", fmt.Errorf("llmux_fake_server not found: set LLMUX_FAKE_SERVER or build it into %s "+
			"(bindings/go/test.sh <build-dir> does both)", path)
	}
	return path, nil
}

// deploymentYAML is one deployment served by the fake server, which answers
// by `model` (see tests/support/fake_server_main.cpp).
func deploymentYAML(group, model, id string) string {
	return fmt.Sprintf("model_name: %s\nlitellm_params:\n  model: openai/%s\n"+
		"  api_base: os.environ/LLMUX_FAKE_BASE_URL\n  api_key: %s\nmodel_info: {id: %s}\n", group, model, testSecret, id)
}

// deployment is deploymentYAML as an item of model_list.
func deployment(group, model, id string) string {
	lines := strings.Split(strings.TrimSuffix(deploymentYAML(group, model, id), "\n"), "\n")
	return "  - " + strings.Join(lines, "\n    ") + "\n"
}

// testConfig is the router most tests use: one deployment per behaviour and
// no retries, so every failure surfaces at once.
var testConfig = "model_list:\n" +
	deployment("gpt", "ok-gpt", "gpt-1") +
	deployment("backup", "ok-backup", "backup-1") +
	deployment("embed", "ok-embed", "embed-1") +
	deployment("hang", "hang-1", "hang-1") +
	deployment("rate-limited", "status-429-retry-after", "rate-limited-1") +
	deployment("denied", "status-401", "denied-1") +
	deployment("missing", "status-404", "missing-1") +
	deployment("broken", "status-500", "broken-1") +
	deployment("small", "context-window", "small-1") +
	deployment("refused", "content-policy", "refused-1") +
	deployment("reset", "reset-1", "reset-1") +
	"router_settings: {num_retries: 0}\n"

// testDeploymentCount is the number of deployments in testConfig.
var testDeploymentCount = strings.Count(testConfig, "model_name:")

func newTestRouter(t testing.TB) *llmux.Router {
	t.Helper()
	return newRouterFrom(t, testConfig)
}

func newRouterFrom(t testing.TB, config string) *llmux.Router {
	t.Helper()
	router, err := llmux.NewRouter(config)
	if err != nil {
		t.Fatalf("NewRouter: %v", err)
	}
	t.Cleanup(func() { router.Close() })
	return router
}

func userMessage(text string) []llmux.Message {
	return []llmux.Message{{Role: "user", Content: text}}
}

// waitInFlight waits until the deployments of group have n calls in flight,
// so that a test acts on calls the router really started. The test's
// deadline bounds the wait.
func waitInFlight(t *testing.T, router *llmux.Router, group string, n int64) {
	t.Helper()
	for {
		count, err := inFlight(router, group)
		if err != nil {
			t.Fatalf("Health(%q): %v", group, err)
		}
		if count == n {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// inFlight is the number of calls in flight on the deployments of group.
func inFlight(router *llmux.Router, group string) (int64, error) {
	health, err := router.Health(group)
	var count int64
	for _, h := range health {
		count += h.InFlight
	}
	return count, err
}

// assertNoSecret fails when the test api_key occurs in text.
func assertNoSecret(t *testing.T, what, text string) {
	t.Helper()
	if strings.Contains(text, testSecret) {
		t.Errorf("%s contains the api_key: %s", what, text)
	}
}
