package interop

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// pyCase is one command run through pywinrm's Session.run_cmd.
type pyCase struct {
	name     string
	command  string
	args     []string
	wantOut  string
	wantErr  string
	wantCode int
}

var pyCases = []pyCase{
	{name: "echo", command: "echo hello", wantOut: "hello\n"},
	{name: "stderr", command: "echo oops >&2", wantErr: "oops\n"},
	{name: "exit7", command: "exit 7", wantCode: 7},
	{name: "args", command: "printf", args: []string{"%s-%s", "a", "b"}, wantOut: "a-b"},
	{name: "multiline", command: "for i in 1 2 3; do echo line$i; done; echo; echo end", wantOut: "line1\nline2\nline3\n\nend\n"},
	{name: "binary", command: `printf '\001\377\000\200\r\n'`, wantOut: "\x01\xff\x00\x80\r\n"},
	{name: "mixed", command: "echo out; echo err >&2; exit 2", wantOut: "out\n", wantErr: "err\n", wantCode: 2},
}

// pyResult is what testdata/pywinrm_run.py prints per case; []byte fields
// arrive base64-encoded.
type pyResult struct {
	StdOut     []byte `json:"std_out"`
	StdErr     []byte `json:"std_err"`
	StatusCode int    `json:"status_code"`
	Error      string `json:"error"`
}

func TestPywinrm(t *testing.T) {
	s := serverFor(t)
	needPeer(t, "pywinrm", checkPywinrm())

	transports := []struct {
		name     string
		endpoint string
		ca       string
		env      map[string]string
	}{
		{"plaintext", s.httpURL, "", nil},
		{"ssl", s.httpsURL, s.caFile, nil},
		// Client certificate (https/mutual), mapped by CertMapping.
		{"certificate", s.httpsURL, s.caFile, map[string]string{"WINRM_CERT": s.clientCert, "WINRM_KEY": s.clientKey, "WINRM_PASSWORD": ""}},
	}
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			t.Parallel()
			results := runPywinrm(t, s, tr.name, tr.endpoint, tr.ca, pyCases, tr.env)
			for i, c := range pyCases {
				t.Run(c.name, func(t *testing.T) {
					r := results[i]
					if r.Error != "" {
						t.Fatalf("run_cmd(%q, %q) raised:\n%s", c.command, c.args, r.Error)
					}
					if string(r.StdOut) != c.wantOut {
						t.Errorf("std_out = %q; want %q", r.StdOut, c.wantOut)
					}
					if string(r.StdErr) != c.wantErr {
						t.Errorf("std_err = %q; want %q", r.StdErr, c.wantErr)
					}
					if r.StatusCode != c.wantCode {
						t.Errorf("status_code = %d; want %d", r.StatusCode, c.wantCode)
					}
				})
			}
		})
	}
}

// runPywinrm runs all cases in one interpreter and returns one result per case.
func runPywinrm(t *testing.T, s *server, transport, endpoint, ca string, cases []pyCase, extraEnv ...map[string]string) []pyResult {
	t.Helper()
	type in struct {
		Command string   `json:"command"`
		Args    []string `json:"args"`
	}
	var ins []in
	for _, c := range cases {
		ins = append(ins, in{c.command, append([]string{}, c.args...)})
	}
	arg, err := json.Marshal(ins)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, pythonBin, "testdata/pywinrm_run.py", string(arg))
	cmd.Env = pyEnv(mergeEnv(map[string]string{
		"WINRM_ENDPOINT":  endpoint,
		"WINRM_TRANSPORT": transport,
		"WINRM_USER":      testUser,
		"WINRM_PASSWORD":  s.password,
		"WINRM_CA":        ca,
	}, extraEnv...))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("pywinrm_run.py (%s): %v\nstdout: %s\nstderr: %s", transport, err, stdout.Bytes(), stderr.Bytes())
	}
	var results []pyResult
	if err := json.Unmarshal(stdout.Bytes(), &results); err != nil || len(results) != len(cases) {
		t.Fatalf("pywinrm_run.py (%s): bad output (%v): %s\nstderr: %s", transport, err, stdout.Bytes(), stderr.Bytes())
	}
	return results
}

func mergeEnv(base map[string]string, extra ...map[string]string) map[string]string {
	for _, e := range extra {
		for k, v := range e {
			base[k] = v
		}
	}
	return base
}

// pyEnv is the environment for pywinrm: requests would let
// REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE override ca_trust_path, and must not
// send loopback traffic to a proxy.
func pyEnv(extra map[string]string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch strings.ToUpper(name) {
		case "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "NO_PROXY", "PYTHONPATH", "PYTHONHOME":
			continue
		}
		env = append(env, kv)
	}
	env = append(env, "NO_PROXY=127.0.0.1,localhost", "no_proxy=127.0.0.1,localhost")
	for k, v := range extra {
		env = append(env, k+"="+v)
	}
	return env
}
