package encrypt

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/psremote/psremote/auth/kerberos"
	"github.com/psremote/psremote/auth/ntlm"
)

// The security contexts of this repository implement Wrapper.
var (
	_ Wrapper = (*ntlm.Session)(nil)
	_ Wrapper = (*kerberos.Context)(nil)
)

// ntlmPair runs a real NTLM handshake (package ntlm) and returns the
// client's and the server's sessions.
func ntlmPair(t *testing.T) (client, server *ntlm.Session) {
	t.Helper()
	hash := ntlm.NTHash("Passw0rd-1")
	srv, err := ntlm.NewServer(ntlm.ServerConfig{
		Validator: ntlm.HashValidator{Lookup: func(context.Context, string) ([16]byte, error) { return hash, nil }},
	})
	if err != nil {
		t.Fatal(err)
	}
	cli, err := ntlm.NewClient(ntlm.ClientConfig{User: "user1", Password: "Passw0rd-1"})
	if err != nil {
		t.Fatal(err)
	}
	sc := srv.NewContext(ntlm.ChannelBinding{})
	challenge, _, err := sc.Step(t.Context(), cli.Negotiate())
	if err != nil {
		t.Fatal(err)
	}
	auth, err := cli.Authenticate(challenge)
	if err != nil {
		t.Fatal(err)
	}
	if _, done, err := sc.Step(t.Context(), auth); err != nil || !done {
		t.Fatalf("AUTHENTICATE: done %v, %v", done, err)
	}
	return cli.Session(), sc.Session()
}

// TestNTLMSessions frames messages sealed by real NTLM sessions in both
// directions, several in a row (RC4 state and sequence numbers carry
// over), and checks that a flipped ciphertext bit fails integrity.
func TestNTLMSessions(t *testing.T) {
	client, server := ntlmPair(t)
	for i, plain := range [][]byte{gen(1320), gen(0), gen(40000), gen(7)} {
		body, ct, err := Seal(client, ProtocolSPNEGO, "UTF-8", plain)
		if err != nil {
			t.Fatal(err)
		}
		got, _, err := Open(server, ct, body, 1<<20)
		if err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("request %d: %v", i, err)
		}
		reply := append([]byte("reply "), plain...)
		body, ct, err = Seal(server, ProtocolSPNEGO, "UTF-16", reply)
		if err != nil {
			t.Fatal(err)
		}
		got, otype, err := Open(client, ct, body, 1<<20)
		if err != nil || !bytes.Equal(got, reply) || otype != "application/soap+xml;charset=UTF-16" {
			t.Fatalf("reply %d: %v %q", i, err, otype)
		}
	}
	body, ct, err := Seal(client, ProtocolSPNEGO, "UTF-8", gen(100))
	if err != nil {
		t.Fatal(err)
	}
	body[len(body)-len("--Encrypted Boundary--\r\n")-1] ^= 1
	if _, _, err := Open(server, ct, body, 1<<20); !errors.Is(err, ntlm.ErrIntegrity) {
		t.Errorf("tampered message: %v", err)
	}
}
