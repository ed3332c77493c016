package encrypt

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// stubWrapper mirrors the stub security context of
// testdata/pywinrm_golden.py: message s of a direction is XORed with
// 0x5a+s; NTLM has a 16-byte and Kerberos a 60-byte header of
// pattern(n, s); CredSSP produces a fake TLS 1.2 AES-GCM record whose
// first 16 bytes (the trailer length) are the header.
type stubWrapper struct {
	mode       string // "ntlm", "kerberos" or "credssp"
	send, recv int
	wrapErr    error
}

var errStub = errors.New("stub: bad security header")

func pattern(n, s int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(16*s + i)
	}
	return b
}

func xorWith(data []byte, s int) []byte {
	out := make([]byte, len(data))
	for i, c := range data {
		out[i] = c ^ byte(0x5a+s)
	}
	return out
}

func (w *stubWrapper) WrapWinRM(plaintext []byte) (header, ciphertext []byte, err error) {
	if w.wrapErr != nil {
		return nil, nil, w.wrapErr
	}
	s := w.send
	w.send++
	switch w.mode {
	case "ntlm":
		return pattern(16, s), xorWith(plaintext, s), nil
	case "kerberos":
		return pattern(60, s), xorWith(plaintext, s), nil
	}
	payload := binary.BigEndian.AppendUint64(nil, uint64(s))
	payload = append(payload, xorWith(plaintext, s)...)
	payload = append(payload, pattern(16, s)...)
	rec := append([]byte{0x17, 0x03, 0x03}, byte(len(payload)>>8), byte(len(payload)))
	rec = append(rec, payload...)
	return rec[:16], rec[16:], nil
}

func (w *stubWrapper) UnwrapWinRM(header, ciphertext []byte) ([]byte, error) {
	s := w.recv
	w.recv++
	switch w.mode {
	case "ntlm", "kerberos":
		if !bytes.Equal(header, pattern(len(header), s)) || len(header) != map[string]int{"ntlm": 16, "kerberos": 60}[w.mode] {
			return nil, fmt.Errorf("message %d: %w", s, errStub)
		}
		return xorWith(ciphertext, s), nil
	}
	rec := append(append([]byte{}, header...), ciphertext...)
	if len(header) != 16 || len(rec) < 29 || !bytes.Equal(rec[:3], []byte{0x17, 3, 3}) ||
		int(rec[3])<<8|int(rec[4]) != len(rec)-5 ||
		binary.BigEndian.Uint64(rec[5:13]) != uint64(s) || !bytes.Equal(rec[len(rec)-16:], pattern(16, s)) {
		return nil, fmt.Errorf("message %d: %w", s, errStub)
	}
	return xorWith(rec[13:len(rec)-16], s), nil
}

// gen is the plaintext of the large cases, generated() in the script.
func gen(n int) []byte {
	var out []byte
	for i := 0; len(out) < n; i++ {
		out = fmt.Appendf(out, "<rsp:Stream Name=\"stdin\" CommandId=\"%08d\">line</rsp:Stream>\r\n", i)
	}
	return out[:n]
}

// pyCase is one entry of testdata/pywinrm.json.
type pyCase struct {
	Name        string `json:"name"`
	Mode        string `json:"mode"`
	Plaintext   string `json:"plaintext"`
	Message     int    `json:"message"`
	ContentType string `json:"content_type"`
	Body        string `json:"body"`

	plain, body []byte
}

// protocol is the Go protocol for the case: pywinrm's Kerberos transport
// uses the SPNEGO protocol string.
func (c pyCase) protocol() string {
	if c.Mode == "credssp" {
		return ProtocolCredSSP
	}
	return ProtocolSPNEGO
}

func loadPyCases(tb testing.TB) []pyCase {
	tb.Helper()
	raw, err := os.ReadFile("testdata/pywinrm.json")
	if err != nil {
		tb.Fatal(err)
	}
	var cases []pyCase
	if err := json.Unmarshal(raw, &cases); err != nil {
		tb.Fatal(err)
	}
	if len(cases) < 9 {
		tb.Fatalf("only %d cases", len(cases))
	}
	for i := range cases {
		c := &cases[i]
		if n, ok := strings.CutPrefix(c.Plaintext, "gen:"); ok {
			k, err := strconv.Atoi(n)
			if err != nil {
				tb.Fatal(err)
			}
			c.plain = gen(k)
		} else if c.plain, err = os.ReadFile(filepath.Join("testdata", c.Plaintext)); err != nil {
			tb.Fatal(err)
		}
		if c.body, err = os.ReadFile(filepath.Join("testdata", c.Body)); err != nil {
			tb.Fatal(err)
		}
	}
	return cases
}

// parts counts the metadata/data pairs Seal makes for the case.
func (c pyCase) parts() int {
	if c.Mode == "credssp" && len(c.plain) > CredSSPChunk {
		return (len(c.plain) + CredSSPChunk - 1) / CredSSPChunk
	}
	return 1
}

// TestSealMatchesPywinrm: Seal with the Go stub produces pywinrm's bodies
// and Content-Types byte for byte.
func TestSealMatchesPywinrm(t *testing.T) {
	for _, c := range loadPyCases(t) {
		t.Run(c.Name, func(t *testing.T) {
			w := &stubWrapper{mode: c.Mode, send: c.Message}
			body, ct, err := Seal(w, c.protocol(), "UTF-8", c.plain)
			if err != nil {
				t.Fatal(err)
			}
			if ct != c.ContentType {
				t.Errorf("Content-Type %q, pywinrm %q", ct, c.ContentType)
			}
			if !bytes.Equal(body, c.body) {
				i := 0
				for i < len(body) && i < len(c.body) && body[i] == c.body[i] {
					i++
				}
				t.Errorf("body differs from pywinrm's at offset %d (len %d vs %d)", i, len(body), len(c.body))
			}
			if w.send != c.Message+c.parts() {
				t.Errorf("wrapped %d messages, want %d", w.send-c.Message, c.parts())
			}
		})
	}
}

// TestOpenPywinrmBodies: Open parses pywinrm's bodies and unwraps every
// part in order.
func TestOpenPywinrmBodies(t *testing.T) {
	for _, c := range loadPyCases(t) {
		t.Run(c.Name, func(t *testing.T) {
			w := &stubWrapper{mode: c.Mode, recv: c.Message}
			plain, otype, err := Open(w, c.ContentType, c.body, 64<<10)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(plain, c.plain) {
				t.Errorf("plaintext differs (%d bytes, want %d)", len(plain), len(c.plain))
			}
			if otype != "application/soap+xml;charset=UTF-8" {
				t.Errorf("original type %q", otype)
			}
			if w.recv != c.Message+c.parts() {
				t.Errorf("unwrapped %d messages, want %d", w.recv-c.Message, c.parts())
			}
			// The stub checks the header it is given: a receiver one
			// message behind fails with the wrapper's error.
			_, _, err = Open(&stubWrapper{mode: c.Mode, recv: c.Message + 1}, c.ContentType, c.body, 64<<10)
			if !errors.Is(err, errStub) {
				t.Errorf("out-of-order unwrap: %v", err)
			}
		})
	}
}

// pywinrmAvailable returns the reason pywinrm cannot be run, or "".
func pywinrmAvailable() string {
	if _, err := os.Stat("/usr/bin/python3"); err != nil {
		return "/usr/bin/python3 not installed"
	}
	if err := exec.Command("/usr/bin/python3", "-c", "import winrm.encryption, requests").Run(); err != nil {
		return "pywinrm (Debian python3-winrm) not importable: " + err.Error()
	}
	return ""
}

// pywinrmDecrypt runs pywinrm's Encryption._decrypt_response on body.
func pywinrmDecrypt(t *testing.T, mode string, body []byte, skip int) ([]byte, error) {
	t.Helper()
	f := filepath.Join(t.TempDir(), "body")
	if err := os.WriteFile(f, body, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), "/usr/bin/python3", "testdata/pywinrm_golden.py", "decrypt", mode, f, strconv.Itoa(skip))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%v: %s", err, lastLine(stderr.String()))
	}
	return out, nil
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// TestPywinrmDecryptsSeal runs pywinrm's real decoder on Seal's output,
// including variants pywinrm itself never sends (UTF-16, the Kerberos
// protocol string), and checks that it rejects a tampered Length.
func TestPywinrmDecryptsSeal(t *testing.T) {
	if reason := pywinrmAvailable(); reason != "" {
		if os.Getenv("PSREMOTE_INTEROP") == "1" {
			t.Fatal("pywinrm cross-check: " + reason)
		}
		t.Skip("skipping the pywinrm cross-check: " + reason)
	}
	type tc struct {
		name, mode, protocol, charset string
		plain                         []byte
		skip                          int
	}
	env, err := os.ReadFile("testdata/envelope.xml")
	if err != nil {
		t.Fatal(err)
	}
	cases := []tc{
		{"ntlm", "ntlm", ProtocolSPNEGO, "UTF-8", env, 0},
		{"ntlm third message", "ntlm", ProtocolSPNEGO, "UTF-8", env, 2},
		{"ntlm utf-16", "ntlm", ProtocolSPNEGO, "UTF-16", env, 0},
		{"ntlm empty", "ntlm", ProtocolSPNEGO, "UTF-8", []byte{}, 0},
		{"ntlm 40000", "ntlm", ProtocolSPNEGO, "UTF-8", gen(40000), 0},
		{"kerberos protocol string", "kerberos", ProtocolKerberos, "UTF-8", env, 0},
		{"credssp", "credssp", ProtocolCredSSP, "UTF-8", env, 0},
		{"credssp 16385", "credssp", ProtocolCredSSP, "UTF-8", gen(16385), 0},
		{"credssp 50000", "credssp", ProtocolCredSSP, "UTF-8", gen(50000), 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body, _, err := Seal(&stubWrapper{mode: c.mode, send: c.skip}, c.protocol, c.charset, c.plain)
			if err != nil {
				t.Fatal(err)
			}
			got, err := pywinrmDecrypt(t, c.mode, body, c.skip)
			if err != nil {
				t.Fatalf("pywinrm rejected Seal's body: %v", err)
			}
			if !bytes.Equal(got, c.plain) {
				t.Errorf("pywinrm decrypted %d bytes, want %d", len(got), len(c.plain))
			}
		})
	}
	// The cross-check can fail: pywinrm refuses a wrong Length.
	body, _, err := Seal(&stubWrapper{mode: "ntlm"}, ProtocolSPNEGO, "UTF-8", env)
	if err != nil {
		t.Fatal(err)
	}
	bad := bytes.Replace(body, []byte("Length=1320"), []byte("Length=1321"), 1)
	if _, err := pywinrmDecrypt(t, "ntlm", bad, 0); err == nil || !strings.Contains(err.Error(), "tampered") {
		t.Errorf("pywinrm accepted a wrong Length: %v", err)
	}
}
