package interop

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// nodeResult is what node/run.js prints per case.
type nodeResult struct {
	Output   string `json:"output"`
	Stderr   string `json:"stderr"`
	Complete bool   `json:"complete"`
	Error    string `json:"error"`
}

// TestWinrmClient drives winrm-client 0.0.11 with Basic (a plain user name)
// over HTTP. The library trims output and never exposes the exit code:
// runCommand returns stdout, or stderr when stdout is empty, after one
// Receive. The "poll" cases use its exported Shell/Command functions and
// doReceiveOutputNonBlocking, which reports completion only when a
// stream element carries End="true".
// nodeCase is one operation of node/run.js.
type nodeCase struct {
	name string
	op   string
	cmd  string
	want nodeResult
}

var nodeCases = []nodeCase{
	{name: "echo", op: "run", cmd: "echo hello", want: nodeResult{Output: "hello"}},
	{name: "nonzero-exit", op: "run", cmd: "echo failing; exit 4", want: nodeResult{Output: "failing"}},
	{name: "stderr-only", op: "run", cmd: "echo only-err >&2", want: nodeResult{Output: "only-err"}},
	{name: "poll-until-end", op: "poll", cmd: "echo polled; echo polled-err >&2; exit 5",
		want: nodeResult{Output: "polled", Stderr: "polled-err", Complete: true}},
	{name: "whoami", op: "run", cmd: "id -un", want: nodeResult{Output: testUser}},
}

func TestWinrmClient(t *testing.T) {
	s := serverFor(t)
	needPeer(t, "winrm-client (node)", checkNode())
	runNode(t, s.httpPort, testUser, s.password, nodeCases)
}

// runNode runs the cases through node/run.js as user against the HTTP
// listener on port, and compares the results.
func runNode(t *testing.T, port int, user, password string, cases []nodeCase) {
	t.Helper()
	results := runNodeRaw(t, port, user, password, cases)
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := results[i]; got != c.want {
				t.Errorf("%s(%q) = %+v; want %+v", c.op, c.cmd, got, c.want)
			}
		})
	}
}

// runNodeRaw runs the cases through node/run.js and returns one result
// per case.
func runNodeRaw(t *testing.T, port int, user, password string, cases []nodeCase) []nodeResult {
	t.Helper()
	type in struct {
		Op      string `json:"op"`
		Command string `json:"command"`
	}
	var ins []in
	for _, c := range cases {
		ins = append(ins, in{c.op, c.cmd})
	}
	arg, err := json.Marshal(ins)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", filepath.Join(nodeDir, "run.js"), string(arg))
	cmd.Env = append(os.Environ(),
		"WINRM_HOST=127.0.0.1",
		"WINRM_PORT="+strconv.Itoa(port),
		"WINRM_USER="+user,
		"WINRM_PASSWORD="+password,
	)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node run.js: %v\nstdout: %s\nstderr: %s", err, stdout.Bytes(), stderr.Bytes())
	}
	var results []nodeResult
	if err := json.Unmarshal(stdout.Bytes(), &results); err != nil || len(results) != len(cases) {
		t.Fatalf("node run.js: bad output (%v): %s\nstderr: %s", err, stdout.Bytes(), stderr.Bytes())
	}
	return results
}
