package accounts

import (
	"context"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/psremote/psremote/auth"
	"github.com/psremote/psremote/auth/ntlm"
)

// ntHex is the NT hash field the store writes for password.
func ntHex(password string) string {
	h := ntlm.NTHash(password)
	return hex.EncodeToString(h[:])
}

// TestNTHashVector checks the stored field against MS-NLMP 4.2.2.1.2
// (NTOWFv1 of "Password").
func TestNTHashVector(t *testing.T) {
	if got, want := ntHashField("Password"), "a4f49c406510bdcab6824ee7c30fd852"; got != want {
		t.Errorf("ntHashField(Password) = %s; want %s", got, want)
	}
}

func TestNTHashLookup(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	mustAdd(t, s, "alice", "Password")
	mustAdd(t, s, "Bob", "pw-b")
	mustAdd(t, s, "carol", "pw-c")
	mustAdd(t, s, "CAROL", "pw-C")

	want, _ := hex.DecodeString("a4f49c406510bdcab6824ee7c30fd852")
	tests := []struct {
		name, user, account string
		hash                []byte
		bad                 bool
	}{
		{name: "exact", user: "alice", account: "alice", hash: want},
		{name: "case-insensitive unique", user: "ALICE", account: "alice", hash: want},
		{name: "case-insensitive to upper", user: "bob", account: "Bob", hash: ntBytes("pw-b")},
		{name: "exact wins over folding", user: "CAROL", account: "CAROL", hash: ntBytes("pw-C")},
		{name: "ambiguous fold", user: "Carol", bad: true},
		{name: "unknown", user: "dave", bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, account, err := s.NTHash(ctx, tt.user)
			if tt.bad {
				if !errors.Is(err, auth.ErrBadCredentials) {
					t.Fatalf("NTHash(%q) err = %v; want ErrBadCredentials", tt.user, err)
				}
				return
			}
			if err != nil || account != tt.account || string(h[:]) != string(tt.hash) {
				t.Fatalf("NTHash(%q) = %x, %q, %v; want %x, %q", tt.user, h, account, err, tt.hash, tt.account)
			}
		})
	}

	// A password change replaces the NT hash.
	if err := s.SetPassword("alice", "pw-new"); err != nil {
		t.Fatal(err)
	}
	if h, _, err := s.NTHash(ctx, "alice"); err != nil || string(h[:]) != string(ntBytes("pw-new")) {
		t.Errorf("after SetPassword: %x, %v", h, err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, _, err := s.NTHash(cctx, "alice"); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled context: err = %v", err)
	}
}

// TestNTHashMissing covers accounts written before the store kept NT
// hashes: NTLM refuses them with a hint, Basic still works.
func TestNTHashMissing(t *testing.T) {
	s := openTest(t)
	line := "old:" + newHash("pw", testParams).String() + "::\n"
	if err := os.MkdirAll(filepath.Dir(s.Path()), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.Path(), []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	_, _, err := s.NTHash(ctx, "old")
	if !errors.Is(err, auth.ErrBadCredentials) || !strings.Contains(err.Error(), "psremote user passwd") {
		t.Errorf("NTHash of an account without one: %v", err)
	}
	if err := s.VerifyPassword(ctx, "old", "pw"); err != nil {
		t.Errorf("Basic for the same account: %v", err)
	}
	// The error never carries hash material.
	if strings.Contains(err.Error(), "$argon2id") {
		t.Errorf("error leaks the hash: %v", err)
	}
}

func ntBytes(password string) []byte {
	h := ntlm.NTHash(password)
	return h[:]
}
