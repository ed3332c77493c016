package kerberos

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/psremote/psremote/auth/cbt"
	"github.com/psremote/psremote/internal/testkdc"
)

// The interop tests drive MIT krb5 through Debian's python3-gssapi and
// python3-kerberos with /usr/bin/python3 (the python3 on PATH may be
// another build that cannot see them).
const systemPython = "/usr/bin/python3"

var recordMIT = flag.Bool("record-mit", false, "record testdata/mit_wrap_*.json from MIT krb5")

var (
	pythonOnce sync.Once
	pythonErr  error
)

// needPython skips the test unless /usr/bin/python3 can import gssapi and
// kerberos (fails instead with PSREMOTE_INTEROP=1).
func needPython(t *testing.T) {
	t.Helper()
	pythonOnce.Do(func() {
		out, err := exec.Command(systemPython, "-c", "import gssapi, gssapi.raw.ext_dce, kerberos").CombinedOutput()
		if err != nil {
			pythonErr = errors.New(strings.TrimSpace(string(out)))
		}
	})
	if pythonErr != nil {
		msg := "python3-gssapi/python3-kerberos not usable with " + systemPython + ": " + pythonErr.Error()
		if os.Getenv("PSREMOTE_INTEROP") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
}

// peer is a running testdata/gsspeer.py.
type peer struct {
	t      *testing.T
	in     io.WriteCloser
	out    *bufio.Scanner
	stderr *bytes.Buffer
}

func startPeer(t *testing.T, k *testkdc.KDC, args ...string) *peer {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	cmd := exec.CommandContext(ctx, systemPython, append([]string{"testdata/gsspeer.py"}, args...)...)
	cmd.Env = k.Environ()
	p := &peer{t: t, stderr: new(bytes.Buffer)}
	cmd.Stderr = p.stderr
	var err error
	if p.in, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.out = bufio.NewScanner(stdout)
	p.out.Buffer(nil, 16<<20)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.in.Close()
		_ = cmd.Wait()
		cancel()
	})
	return p
}

func (p *peer) send(words ...string) {
	p.t.Helper()
	if _, err := io.WriteString(p.in, strings.Join(words, " ")+"\n"); err != nil {
		p.t.Fatalf("writing to the python peer: %v (stderr: %s)", err, p.stderr)
	}
}

func (p *peer) recv() []string {
	p.t.Helper()
	if !p.out.Scan() {
		p.t.Fatalf("python peer ended: %v; stderr:\n%s", p.out.Err(), p.stderr)
	}
	w := strings.Fields(p.out.Text())
	if len(w) == 0 || w[0] == "error" {
		p.t.Fatalf("python peer: %s; stderr:\n%s", p.out.Text(), p.stderr)
	}
	return w
}

func (p *peer) recvHex() []byte {
	p.t.Helper()
	w := p.recv()
	b, err := hex.DecodeString(w[0])
	if err != nil {
		p.t.Fatalf("python peer sent %q", w)
	}
	return b
}

func (p *peer) expect(word string) {
	p.t.Helper()
	if w := p.recv(); w[0] != word {
		p.t.Fatalf("python peer said %q, want %q", w, word)
	}
}

func hexOrDash(b []byte) string {
	if len(b) == 0 {
		return "-"
	}
	return hex.EncodeToString(b)
}

func unhexOrDash(t *testing.T, s string) []byte {
	if s == "-" {
		return nil
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// testMessages are the payloads exchanged in both directions.
var testMessages = [][]byte{
	[]byte(`<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body/></s:Envelope>`),
	{},
	[]byte("x"),
	bytes.Repeat([]byte("0123456789abcdef"), 1<<13), // 128 KiB
}

// wrapBothWays sends every message from c to the peer and back.
func wrapBothWays(t *testing.T, c *Context, p *peer) {
	t.Helper()
	for n, m := range testMessages {
		hdr, ct, err := c.WrapWinRM(m)
		if err != nil {
			t.Fatal(err)
		}
		p.send("unwrap", hex.EncodeToString(hdr), hexOrDash(ct))
		if got := unhexOrDash(t, p.recv()[0]); !bytes.Equal(got, m) {
			t.Fatalf("message %d: MIT unwrapped %d bytes, want %d", n, len(got), len(m))
		}
		p.send("wrap", hexOrDash(m))
		w := p.recv()
		hdr, ct = unhexOrDash(t, w[0]), unhexOrDash(t, w[1])
		got, err := c.UnwrapWinRM(hdr, ct)
		if err != nil {
			t.Fatalf("message %d: UnwrapWinRM of MIT's token: %v", n, err)
		}
		if !bytes.Equal(got, m) {
			t.Fatalf("message %d: unwrapped %d bytes, want %d", n, len(got), len(m))
		}
	}
	// A replayed MIT token is refused.
	p.send("wrap", "616263")
	w := p.recv()
	hdr, ct := unhexOrDash(t, w[0]), unhexOrDash(t, w[1])
	if _, err := c.UnwrapWinRM(hdr, ct); err != nil {
		t.Fatal(err)
	}
	if _, err := c.UnwrapWinRM(hdr, ct); !errors.Is(err, ErrSequence) {
		t.Errorf("replayed MIT token: %v, want ErrSequence", err)
	}
}

// TestMIT runs this package against MIT krb5 1.20: a KDC from testkdc,
// and python3-gssapi / pykerberos as the other side.
func TestMIT(t *testing.T) {
	needPython(t)
	k := testkdc.Start(t)
	ctx := t.Context()
	appData := []byte("tls-server-end-point:" + strings.Repeat("\x5a", 32))

	newAcceptor := func(t *testing.T) *Acceptor {
		a, err := NewAcceptor(AcceptorConfig{KeytabPath: k.Keytab})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}

	// (1) python gssapi initiates, our Acceptor accepts, python verifies
	// the AP-REP (mutual authentication), then wrap_iov both ways.
	for _, tc := range []struct {
		name   string
		peerCB []byte
		cb     ChannelBinding
		want   error
	}{
		{name: "no bindings"},
		{name: "bindings strict", peerCB: appData, cb: ChannelBinding{Policy: cbt.Strict, Secure: true, AppData: appData}},
		{name: "bindings mismatch", peerCB: []byte("tls-server-end-point:other"),
			cb: ChannelBinding{Policy: cbt.Relaxed, Secure: true, AppData: appData}, want: cbt.ErrMismatch},
		{name: "bindings missing strict", cb: ChannelBinding{Policy: cbt.Strict, Secure: true, AppData: appData}, want: cbt.ErrMissing},
	} {
		t.Run("python initiator/"+tc.name, func(t *testing.T) {
			args := []string{"initiate", "HTTP@localhost"}
			if tc.peerCB != nil {
				args = append(args, hex.EncodeToString(tc.peerCB))
			}
			p := startPeer(t, k, args...)
			c, rep, err := newAcceptor(t).Accept(ctx, p.recvHex(), tc.cb)
			if tc.want != nil {
				if !errors.Is(err, tc.want) {
					t.Fatalf("Accept: %v, want %v", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatalf("Accept: %v", err)
			}
			if c.Principal() != "user1@EXAMPLE.TEST" {
				t.Errorf("Principal = %q", c.Principal())
			}
			p.send(hex.EncodeToString(rep))
			p.expect("complete")
			wrapBothWays(t, c, p)
		})
	}

	// (2) our Initiator (from the ccache, and from the password) with a
	// python gssapi acceptor using the KDC's keytab.
	for _, tc := range []struct {
		name string
		cfg  InitiatorConfig
	}{
		{"ccache", InitiatorConfig{CCachePath: "FILE:" + k.CCache}},
		{"password", InitiatorConfig{Principal: "user1", Password: k.Password}},
		{"password with bindings", InitiatorConfig{Principal: "user1@EXAMPLE.TEST", Password: k.Password, ChannelBindings: appData}},
	} {
		t.Run("python acceptor/"+tc.name, func(t *testing.T) {
			tc.cfg.Krb5ConfPath = k.Krb5Conf
			tc.cfg.SPN = "HTTP/localhost"
			i, err := NewInitiator(ctx, tc.cfg)
			if err != nil {
				t.Fatal(err)
			}
			if i.Principal() != "user1@EXAMPLE.TEST" {
				t.Errorf("Principal = %q", i.Principal())
			}
			tok, err := i.InitToken()
			if err != nil {
				t.Fatal(err)
			}
			args := []string{"accept"}
			if tc.cfg.ChannelBindings != nil {
				args = append(args, hex.EncodeToString(tc.cfg.ChannelBindings))
			}
			p := startPeer(t, k, args...)
			p.send(hex.EncodeToString(tok))
			rep := p.recvHex()
			p.expect("complete")
			c, err := i.Complete(rep)
			if err != nil {
				t.Fatalf("Complete: %v", err)
			}
			wrapBothWays(t, c, p)
		})
	}
	t.Run("python acceptor/bindings mismatch", func(t *testing.T) {
		i, err := NewInitiator(ctx, InitiatorConfig{Krb5ConfPath: k.Krb5Conf, CCachePath: k.CCache, SPN: "HTTP/localhost", ChannelBindings: appData})
		if err != nil {
			t.Fatal(err)
		}
		tok, err := i.InitToken()
		if err != nil {
			t.Fatal(err)
		}
		p := startPeer(t, k, "accept", hex.EncodeToString([]byte("tls-server-end-point:other")))
		p.send(hex.EncodeToString(tok))
		// MIT answers with a KRB-ERROR token (TOK_ID 03 00).
		_, err = i.Complete(p.recvHex())
		if !errors.Is(err, ErrRejected) {
			t.Fatalf("Complete after MIT saw mismatched bindings: %v, want ErrRejected", err)
		}
		t.Logf("MIT's answer: %v", err)
	})

	// (3) our Initiator with our Acceptor, for both service names.
	for _, spn := range []string{"HTTP/localhost", "WSMAN/localhost"} {
		t.Run("go both sides/"+spn, func(t *testing.T) {
			i, err := NewInitiator(ctx, InitiatorConfig{Krb5ConfPath: k.Krb5Conf, CCachePath: k.CCache, SPN: spn, ChannelBindings: appData})
			if err != nil {
				t.Fatal(err)
			}
			ini, acc := establish(t, i, newAcceptor(t), ChannelBinding{Policy: cbt.Strict, Secure: true, AppData: appData})
			if acc.Principal() != "user1@EXAMPLE.TEST" || acc.Expiry().Before(time.Now()) {
				t.Errorf("Principal %q, Expiry %v", acc.Principal(), acc.Expiry())
			}
			for _, m := range testMessages {
				hdr, ct, err := ini.WrapWinRM(m)
				if err != nil {
					t.Fatal(err)
				}
				if got, err := acc.UnwrapWinRM(hdr, ct); err != nil || !bytes.Equal(got, m) {
					t.Fatalf("UnwrapWinRM: %v", err)
				}
			}
		})
	}

	// pywinrm's client: pykerberos with mutual authentication must accept
	// our AP-REP.
	t.Run("pykerberos", func(t *testing.T) {
		p := startPeer(t, k, "pykerberos", "HTTP@localhost")
		c, rep, err := newAcceptor(t).Accept(ctx, p.recvHex(), ChannelBinding{})
		if err != nil {
			t.Fatalf("Accept: %v", err)
		}
		if !c.MutualAuth() {
			t.Error("pykerberos asked for mutual authentication, context says no")
		}
		p.send(hex.EncodeToString(rep))
		p.expect("complete")
	})

	// A tampered AP-REP must fail MIT's mutual authentication.
	t.Run("python initiator/tampered AP-REP", func(t *testing.T) {
		p := startPeer(t, k, "initiate", "HTTP@localhost")
		_, rep, err := newAcceptor(t).Accept(ctx, p.recvHex(), ChannelBinding{})
		if err != nil {
			t.Fatal(err)
		}
		rep[len(rep)-1] ^= 1
		p.send(hex.EncodeToString(rep))
		if p.out.Scan() && p.out.Text() == "complete" {
			t.Fatal("MIT completed the context with a tampered AP-REP")
		}
	})

	if *recordMIT {
		recordWrapTokens(t, k, "testdata/mit_wrap_aes256-cts-hmac-sha1-96.json")
	}
}

// TestMITEnctypes repeats the python-initiator exchange in realms whose
// only encryption type is AES-128 (RFC 3962) or AES-256 with SHA-384
// (RFC 8009), and without a PAC.
func TestMITEnctypes(t *testing.T) {
	needPython(t)
	for _, tc := range []struct {
		name string
		opts []testkdc.Option
	}{
		{"aes128-cts-hmac-sha1-96", []testkdc.Option{testkdc.Enctypes("aes128-cts-hmac-sha1-96:normal")}},
		{"aes256-cts-hmac-sha384-192", []testkdc.Option{testkdc.Enctypes("aes256-cts-hmac-sha384-192:normal")}},
		{"aes128-cts-hmac-sha256-128", []testkdc.Option{testkdc.Enctypes("aes128-cts-hmac-sha256-128:normal")}},
		{"no PAC", []testkdc.Option{testkdc.DisablePAC()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := testkdc.Start(t, tc.opts...)
			a, err := NewAcceptor(AcceptorConfig{KeytabPath: k.Keytab})
			if err != nil {
				t.Fatal(err)
			}
			p := startPeer(t, k, "initiate", "HTTP@localhost")
			c, rep, err := a.Accept(t.Context(), p.recvHex(), ChannelBinding{})
			if err != nil {
				t.Fatalf("Accept: %v", err)
			}
			p.send(hex.EncodeToString(rep))
			p.expect("complete")
			wrapBothWays(t, c, p)
			if *recordMIT && strings.HasPrefix(tc.name, "aes") {
				recordWrapTokens(t, k, "testdata/mit_wrap_"+tc.name+".json")
			}
			if strings.HasPrefix(tc.name, "aes") {
				p.send("key")
				if w := p.recv(); etypeName(c.accSubkey.KeyType) != tc.name {
					t.Errorf("acceptor subkey type %d (MIT says %s), want %s", c.accSubkey.KeyType, w[0], tc.name)
				}
			}
		})
	}
}

// wrapRecord is one testdata/mit_wrap_*.json file: wrap_iov tokens MIT
// krb5 produced on both sides of one context, and that context's key.
type wrapRecord struct {
	Enctype int32  `json:"enctype"`
	Key     string `json:"key"`
	Tokens  []struct {
		Sender string `json:"sender"`
		Plain  string `json:"plain"`
		Header string `json:"header"`
		Data   string `json:"data"`
	} `json:"tokens"`
}

func recordWrapTokens(t *testing.T, k *testkdc.KDC, file string) {
	cmd := exec.CommandContext(t.Context(), systemPython, "testdata/gsspeer.py", "record", "HTTP@localhost")
	cmd.Env = k.Environ()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("recording: %v", err)
	}
	var rec wrapRecord
	if err := json.Unmarshal(out, &rec); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, out, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("recorded %d tokens into %s", len(rec.Tokens), file)
}
