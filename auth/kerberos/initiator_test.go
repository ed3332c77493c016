package kerberos

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/iana/errorcode"
	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
)

func TestCompleteErrors(t *testing.T) {
	a := testAcceptor(t, AcceptorConfig{})
	reply := func(t *testing.T, i *Initiator) []byte {
		tok, err := i.InitToken()
		if err != nil {
			t.Fatal(err)
		}
		_, rep, err := a.Accept(t.Context(), tok, ChannelBinding{})
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	krbErr := func(t *testing.T) []byte {
		e := messages.NewKRBError(types.PrincipalName{NameString: []string{"HTTP", "host"}}, testRealm, errorcode.KRB_AP_ERR_SKEW, "skew")
		b, err := e.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, tc := range []struct {
		name string
		// reply returns the token Complete gets after one InitToken.
		reply func(t *testing.T, i *Initiator) []byte
		want  []error
		msg   string
	}{
		{"tampered AP-REP", func(t *testing.T, i *Initiator) []byte {
			r := reply(t, i)
			r[len(r)-3] ^= 1
			return r
		}, []error{ErrMutualAuth, ErrIntegrity}, "does not decrypt"},
		{"reply to an older InitToken", func(t *testing.T, i *Initiator) []byte {
			old := reply(t, i)
			if _, err := i.InitToken(); err != nil {
				t.Fatal(err)
			}
			return old
		}, []error{ErrMutualAuth}, ""},
		{"KRB-ERROR framed", func(t *testing.T, i *Initiator) []byte {
			if _, err := i.InitToken(); err != nil {
				t.Fatal(err)
			}
			return frameToken(oidKRB5, tokKRBError, krbErr(t))
		}, []error{ErrRejected}, "KRB_AP_ERR_SKEW"},
		{"KRB-ERROR bare", func(t *testing.T, i *Initiator) []byte {
			if _, err := i.InitToken(); err != nil {
				t.Fatal(err)
			}
			return krbErr(t)
		}, []error{ErrRejected}, "KRB_AP_ERR_SKEW"},
		{"AP-REQ token instead", func(t *testing.T, i *Initiator) []byte {
			tok, err := i.InitToken()
			if err != nil {
				t.Fatal(err)
			}
			return tok
		}, []error{ErrMutualAuth, ErrMalformed}, "TOK_ID 0100"},
		{"garbage", func(t *testing.T, i *Initiator) []byte {
			if _, err := i.InitToken(); err != nil {
				t.Fatal(err)
			}
			return []byte{0x6f, 0x03, 0x02, 0x01}
		}, []error{ErrMutualAuth, ErrMalformed}, ""},
		{"empty", func(t *testing.T, i *Initiator) []byte {
			if _, err := i.InitToken(); err != nil {
				t.Fatal(err)
			}
			return nil
		}, []error{ErrMutualAuth, ErrMalformed}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now := testNow
			tick := func() time.Time { now = now.Add(time.Millisecond); return now }
			i := testInitiator(t, ticketOpts{}, InitiatorConfig{Now: tick})
			_, err := i.Complete(tc.reply(t, i))
			if err == nil {
				t.Fatal("Complete succeeded")
			}
			for _, w := range tc.want {
				if !errors.Is(err, w) {
					t.Errorf("error %q does not wrap %q", err, w)
				}
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q lacks %q", err, tc.msg)
			}
		})
	}
	t.Run("without InitToken", func(t *testing.T) {
		if _, err := testInitiator(t, ticketOpts{}, InitiatorConfig{}).Complete(nil); err == nil {
			t.Error("Complete without InitToken succeeded")
		}
	})
	t.Run("bare AP-REP", func(t *testing.T) {
		i := testInitiator(t, ticketOpts{}, InitiatorConfig{})
		rep := reply(t, i)
		_, _, inner, err := unframeToken(rep)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := i.Complete(inner); err != nil {
			t.Errorf("Complete(bare AP-REP): %v", err)
		}
	})
}

func TestInitiatorConfigErrors(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "krb5.conf")
	if err := os.WriteFile(conf, []byte("[libdefaults]\n default_realm = EXAMPLE.TEST\n[realms]\n EXAMPLE.TEST = {\n  kdc = 127.0.0.1:1\n }\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	for _, tc := range []struct {
		name string
		ctx  context.Context
		cfg  InitiatorConfig
		msg  string
	}{
		{"no SPN or host", ctx, InitiatorConfig{Krb5ConfPath: conf}, "needs an SPN or a Host"},
		{"bad SPN", ctx, InitiatorConfig{Krb5ConfPath: conf, SPN: "HTTP"}, "is not service/host"},
		{"missing krb5.conf", ctx, InitiatorConfig{Krb5ConfPath: filepath.Join(dir, "none"), Host: "h"}, "none"},
		{"missing ccache", ctx, InitiatorConfig{Krb5ConfPath: conf, Host: "h", CCachePath: filepath.Join(dir, "nocc")}, "credential cache"},
		{"keyring ccache", ctx, InitiatorConfig{Krb5ConfPath: conf, Host: "h", CCachePath: "KEYRING:persistent:0"}, "only FILE: caches"},
		{"corrupt ccache", ctx, InitiatorConfig{Krb5ConfPath: conf, Host: "h", CCachePath: conf}, "credential cache"},
		{"missing client keytab", ctx, InitiatorConfig{Krb5ConfPath: conf, Host: "h", Principal: "u", KeytabPath: filepath.Join(dir, "kt")}, "keytab"},
		{"principal without realm", ctx, InitiatorConfig{Krb5ConfPath: conf, Host: "h", Principal: "@", Password: "p"}, "want user@REALM"},
		{"canceled", canceled, InitiatorConfig{Krb5ConfPath: conf, Host: "h", Principal: "u", Password: "p"}, "context canceled"},
		{"unreachable KDC", ctx, InitiatorConfig{Krb5ConfPath: conf, Host: "h", Principal: "u", Password: "p"}, "service ticket for HTTP/h"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewInitiator(tc.ctx, tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("NewInitiator = %v, want an error containing %q", err, tc.msg)
			}
			if tc.cfg.Password != "" && strings.Contains(err.Error(), tc.cfg.Password+"\"") {
				t.Errorf("error shows the password: %v", err)
			}
		})
	}
}

func TestResolveSPN(t *testing.T) {
	for _, tc := range []struct{ spn, host, want string }{
		{"", "server.example.test", "HTTP/server.example.test"},
		{"WSMAN/server", "", "WSMAN/server"},
		{"HTTP@server", "", "HTTP/server"},
	} {
		if got, err := resolveSPN(tc.spn, tc.host); err != nil || got != tc.want {
			t.Errorf("resolveSPN(%q, %q) = %q, %v", tc.spn, tc.host, got, err)
		}
	}
}

func TestLoadKrb5ConfFromEnv(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "krb5.conf")
	if err := os.WriteFile(conf, []byte("[libdefaults]\n default_realm = ENV.TEST\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KRB5_CONFIG", filepath.Join(dir, "missing")+":"+conf)
	c, err := loadKrb5Conf("")
	if err != nil || c.LibDefaults.DefaultRealm != "ENV.TEST" {
		t.Fatalf("loadKrb5Conf from KRB5_CONFIG: %v", err)
	}
}

func TestInitTokenFields(t *testing.T) {
	appData := []byte("tls-server-end-point:abc")
	i := testInitiator(t, ticketOpts{}, InitiatorConfig{ChannelBindings: appData, Now: func() time.Time { return testNow }})
	tok, err := i.InitToken()
	if err != nil {
		t.Fatal(err)
	}
	req, oid, err := parseAPReqToken(tok)
	if err != nil || string(oid) != string(oidKRB5) {
		t.Fatal(err)
	}
	if !bitSet(req.APOptions, 2) || bitSet(req.APOptions, 1) {
		t.Errorf("AP options %x: want mutual-required only", req.APOptions.Bytes)
	}
	pt, err := decrypt(i.session, 11, req.EncryptedAuthenticator.Cipher)
	if err != nil {
		t.Fatal(err)
	}
	var auth types.Authenticator
	if err := auth.Unmarshal(pt); err != nil {
		t.Fatal(err)
	}
	c, err := parseGSSChecksum(auth.Cksum.Checksum)
	if err != nil || auth.Cksum.CksumType != checksumGSS {
		t.Fatalf("checksum type %#x: %v", auth.Cksum.CksumType, err)
	}
	if want := uint32(flagMutual | flagReplay | flagSequence | flagConf | flagInteg); c.flags != want {
		t.Errorf("GSS flags %#x, want %#x", c.flags, want)
	}
	if c.bnd != i.bnd || c.bnd == [16]byte{} {
		t.Errorf("Bnd %x", c.bnd)
	}
	if auth.SubKey.KeyType != i.session.KeyType || len(auth.SubKey.KeyValue) != 32 || auth.SeqNumber == 0 {
		t.Errorf("subkey type %d (%d bytes), seq %d", auth.SubKey.KeyType, len(auth.SubKey.KeyValue), auth.SeqNumber)
	}
	if !auth.CTime.Equal(testNow.Truncate(time.Second)) || auth.Cusec != 678000 {
		t.Errorf("ctime %v cusec %d", auth.CTime, auth.Cusec)
	}
}
