package testkdc

import (
	"context"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func klist(t *testing.T, k *KDC, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "klist", args...)
	cmd.Env = k.Environ()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("klist %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func TestStart(t *testing.T) {
	k := Start(t)
	if out := klist(t, k); !strings.Contains(out, "Default principal: user1@EXAMPLE.TEST") || !strings.Contains(out, "krbtgt/EXAMPLE.TEST@EXAMPLE.TEST") {
		t.Errorf("ccache does not hold user1's TGT:\n%s", out)
	}
	kt := klist(t, k, "-k", "-e", k.Keytab)
	for _, s := range Services() {
		if !strings.Contains(kt, s+"@EXAMPLE.TEST") {
			t.Errorf("keytab lacks %s:\n%s", s, kt)
		}
	}
	for _, want := range []string{"KRB5_CONFIG=" + k.Krb5Conf, "KRB5CCNAME=FILE:" + k.CCache, "KRB5_KTNAME=FILE:" + k.Keytab} {
		if !strings.Contains(strings.Join(k.Env(), "\n"), want) {
			t.Errorf("Env() lacks %q", want)
		}
	}
	if b, err := os.ReadFile(k.Krb5Conf); err != nil || !strings.Contains(string(b), "kdc = "+k.Addr) {
		t.Errorf("krb5.conf does not name %s: %v\n%s", k.Addr, err, b)
	}

	// A second principal can log in with its password; a wrong one cannot.
	if err := k.AddPrincipal("alice", "alicepw"); err != nil {
		t.Fatal(err)
	}
	cc := t.TempDir() + "/alice.cc"
	if err := k.Kinit("alice", "alicepw", cc); err != nil {
		t.Fatal(err)
	}
	if err := k.Kinit("alice", "wrong", cc); err == nil {
		t.Error("kinit with a wrong password succeeded")
	}
	if err := k.AddPrincipal("bad name", "x"); err == nil {
		t.Error("AddPrincipal accepted a name with a space")
	}
}

// TestStopped checks that cleanup leaves no krb5kdc behind.
func TestStopped(t *testing.T) {
	var addr string
	t.Run("kdc", func(t *testing.T) {
		addr = Start(t, DisablePAC()).Addr
	})
	if addr == "" {
		t.Skip("no KDC started")
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		c, err := (&net.Dialer{Timeout: 100 * time.Millisecond}).Dial("tcp", addr)
		if err != nil {
			return
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatalf("KDC still listening on %s after cleanup", addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
