package winbind

import (
	"bufio"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/psremote/psremote/auth/ntlm"
	"github.com/psremote/psremote/internal/identity"
	"github.com/psremote/psremote/internal/proc"
	"github.com/psremote/psremote/internal/testsamba"
)

// handshake runs our NTLM client against an NTLM server that verifies
// through v, and returns both contexts.
func handshake(t *testing.T, v ntlm.Validator, user, domain, password string) (*ntlm.ClientContext, *ntlm.ServerContext, error) {
	t.Helper()
	srv, err := ntlm.NewServer(ntlm.ServerConfig{Validator: v, NetBIOSDomain: testsamba.Domain, NetBIOSComputer: "PSREMOTE"})
	if err != nil {
		t.Fatal(err)
	}
	sc := srv.NewContext(ntlm.ChannelBinding{})
	cl, err := ntlm.NewClient(ntlm.ClientConfig{User: user, Domain: domain, Password: password})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	chal, _, err := sc.Step(ctx, cl.Negotiate())
	if err != nil {
		t.Fatal(err)
	}
	auth, err := cl.Authenticate(chal)
	if err != nil {
		t.Fatal(err)
	}
	_, done, err := sc.Step(ctx, auth)
	if err == nil && !done {
		t.Fatal("handshake not done")
	}
	return cl, sc, err
}

// TestWinbindDomainUser verifies a real AD user's NTLMv2 login through a
// Samba domain controller, and that the session key winbind returns is
// the right one: messages sealed by the client open on the server and
// the other way round.
func TestWinbindDomainUser(t *testing.T) {
	dc := testsamba.Start(t)
	if err := dc.AddUser("alice", "Al1ce-Passw0rd!"); err != nil {
		t.Fatal(err)
	}
	self, err := identity.Current()
	if err != nil {
		t.Fatal(err)
	}
	host := proc.NewHost(self)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		host.Close(ctx)
	})
	v := New(Config{Host: host, User: self, Args: []string{"--configfile=" + dc.SMBConf}, Env: dc.HelperEnv()})
	t.Cleanup(v.Close)

	for _, domain := range []string{testsamba.Domain, strings.ToLower(testsamba.Domain)} {
		cl, sc, err := handshake(t, v, "alice", domain, "Al1ce-Passw0rd!")
		if err != nil {
			t.Fatalf("domain %q: right password refused: %v", domain, err)
		}
		if sc.User() != testsamba.Domain+`\alice` {
			t.Errorf("account %q", sc.User())
		}
		for i := range 3 {
			msg := []byte(strings.Repeat("sealed message ", i+1))
			hdr, ct, err := cl.Session().WrapWinRM(msg)
			if err != nil {
				t.Fatal(err)
			}
			got, err := sc.Session().UnwrapWinRM(hdr, ct)
			if err != nil || string(got) != string(msg) {
				t.Fatalf("client->server message %d: %q, %v", i, got, err)
			}
			hdr, ct, err = sc.Session().WrapWinRM(msg)
			if err != nil {
				t.Fatal(err)
			}
			if got, err = cl.Session().UnwrapWinRM(hdr, ct); err != nil || string(got) != string(msg) {
				t.Fatalf("server->client message %d: %q, %v", i, got, err)
			}
		}
	}
	for _, tc := range []struct{ user, password string }{{"alice", "wrong"}, {"nobody", "Al1ce-Passw0rd!"}} {
		if _, _, err := handshake(t, v, tc.user, testsamba.Domain, tc.password); !errors.Is(err, ntlm.ErrBadCredentials) {
			t.Errorf("%s/%s: err = %v; want ErrBadCredentials", tc.user, tc.password, err)
		}
	}
	// Concurrent logins share the helper pool.
	errs := make(chan error, 8)
	for range 8 {
		go func() { _, _, err := handshake(t, v, "alice", testsamba.Domain, "Al1ce-Passw0rd!"); errs <- err }()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Errorf("concurrent login: %v", err)
		}
	}
}

// TestHelperFailures: a helper that cannot start, dies or talks nonsense
// is ErrHelper (the source is down), never a successful login.
func TestHelperFailures(t *testing.T) {
	self, err := identity.Current()
	if err != nil {
		t.Fatal(err)
	}
	host := proc.NewHost(self)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		host.Close(ctx)
	})
	resp := make([]byte, 48)
	for _, tc := range []struct {
		name string
		path string
		args []string
	}{
		{"missing", "/nonexistent/ntlm_auth", nil},
		{"exits", "/bin/true", nil},
		{"nonsense", "/bin/sh", []string{"-c", "read x; echo garbage; sleep 5"}},
		{"no key", "/bin/sh", []string{"-c", "while read l; do [ \"$l\" = . ] && printf 'Authenticated: Yes\\n.\\n'; done"}},
		{"silent", "/bin/sh", []string{"-c", "sleep 30"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := New(Config{Host: host, User: self, Path: tc.path, Timeout: 2 * time.Second})
			if tc.args != nil {
				v.cfg.Args = nil
				v.cfg.Path = tc.path
				v.argv = append([]string{tc.path}, tc.args...)
			}
			defer v.Close()
			_, _, err := v.Validate(context.Background(), "alice", "D", [8]byte{}, resp)
			if !errors.Is(err, ErrHelper) {
				t.Fatalf("err = %v; want ErrHelper", err)
			}
		})
	}
}

func TestReadReply(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want map[string]string
		err  bool
	}{
		{"Authenticated: Yes\nUser-Session-Key: 00112233445566778899AABBCCDDEEFF\n.\n", map[string]string{"Authenticated": "Yes", "User-Session-Key": "00112233445566778899AABBCCDDEEFF"}, false},
		{"Authentication-Error:: " + "YmFkIHBhc3N3b3Jk" + "\n.\n", map[string]string{"Authentication-Error": "bad password"}, false},
		{"no colon\n.\n", nil, true},
		{"A:: !!!\n.\n", nil, true},
		{"Authenticated: Yes\n", nil, true},
		{strings.Repeat("A: b\n", 40) + ".\n", nil, true},
		{strings.Repeat("x", 5000) + "\n.\n", nil, true},
	} {
		got, err := readReply(bufio.NewReaderSize(strings.NewReader(tc.in), 16))
		if (err != nil) != tc.err {
			t.Errorf("%q: err %v", tc.in[:min(len(tc.in), 30)], err)
			continue
		}
		for k, v := range tc.want {
			if got[k] != v {
				t.Errorf("%q: %s = %q; want %q", tc.in[:min(len(tc.in), 30)], k, got[k], v)
			}
		}
	}
}

func FuzzReadReply(f *testing.F) {
	f.Add("Authenticated: Yes\nUser-Session-Key: 00\n.\n")
	f.Add("A:: YQ==\n.\n")
	f.Fuzz(func(t *testing.T, in string) {
		readReply(bufio.NewReaderSize(strings.NewReader(in), 16))
	})
}
