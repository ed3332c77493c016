package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDefaultsAreWindows(t *testing.T) {
	c, err := Parse(nil)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"MaxEnvelopeSizekb", c.MaxEnvelopeSizekb, uint32(500)},
		{"MaxTimeoutms", c.MaxTimeoutms, uint32(60000)},
		{"MaxConcurrentOperationsPerUser", c.Service.MaxConcurrentOperationsPerUser, uint32(1500)},
		{"AllowUnencrypted", c.Service.AllowUnencrypted, false},
		{"Basic (psremote keeps true)", c.Service.Auth.Basic, true},
		{"Negotiate", c.Service.Auth.Negotiate, true},
		{"Kerberos", c.Service.Auth.Kerberos, true},
		{"CbtHardeningLevel", c.Service.Auth.CbtHardeningLevel, "Relaxed"},
		{"NTLMSources", strings.Join(c.Service.Auth.NTLMSources, ","), "store"},
		{"Keytab", c.Service.Auth.Keytab, ""},
		{"Certificate", c.Service.Auth.Certificate, false},
		{"IdleTimeout", c.Winrs.IdleTimeout, uint32(7200000)},
		{"MaxConcurrentUsers", c.Winrs.MaxConcurrentUsers, uint32(10)},
		{"MaxShellsPerUser", c.Winrs.MaxShellsPerUser, uint32(30)},
		{"AllowRemoteShellAccess", c.Winrs.AllowRemoteShellAccess, true},
		{"listener transport", c.Listeners[0].Transport, "HTTPS"},
		{"listener address", c.Listeners[0].Address, "127.0.0.1"},
		{"listener port", *c.Listeners[0].Port, 5986},
		{"listener prefix", c.Listeners[0].URLPrefix, "wsman"},
	}
	for _, ch := range checks {
		if ch.got != ch.want {
			t.Errorf("%s = %v; want %v", ch.name, ch.got, ch.want)
		}
	}
}

func TestParseOverridesAndValidation(t *testing.T) {
	c, err := Parse([]byte(`
MaxEnvelopeSizekb: 8192
Winrs: {MaxShellsPerUser: 0, AllowRemoteShellAccess: false}
Service: {Auth: {Basic: false}}
Listeners:
  - {Transport: http}
  - {Transport: HTTPS, Port: 0, URLPrefix: custom/path}
`))
	if err != nil {
		t.Fatal(err)
	}
	if c.MaxEnvelopeSizekb != 8192 || c.Winrs.MaxShellsPerUser != 0 || c.Winrs.AllowRemoteShellAccess || c.Service.Auth.Basic {
		t.Errorf("overrides not applied: %+v", c)
	}
	if *c.Listeners[0].Port != 5985 || c.Listeners[0].Transport != "HTTP" || *c.Listeners[1].Port != 0 {
		t.Errorf("listener defaults: %+v %+v", c.Listeners[0], c.Listeners[1])
	}
	bad := map[string]string{
		"unknown key":        "MaxEnvelopeSizeKB: 10",
		"envelope too small": "MaxEnvelopeSizekb: 31",
		"timeout too small":  "MaxTimeoutms: 499",
		"bad transport":      "Listeners: [{Transport: FTP}]",
		"bad prefix":         "Listeners: [{URLPrefix: /wsman}]",
		"cert on http":       "Listeners: [{Transport: HTTP, CertificateFile: a, KeyFile: b}]",
		"duplicate":          "Listeners: [{Port: 1}, {Port: 1}]",
		"bad source":         "Service: {Auth: {BasicSources: [ldap]}}",
		"bad cbt level":      "Service: {Auth: {CbtHardeningLevel: Medium}}",
		"bad ntlm source":    "Service: {Auth: {NTLMSources: [pam]}}",
		"misspelt keytab":    "Service: {Auth: {KeyTab: /etc/krb5.keytab}}",
	}
	for name, doc := range bad {
		if _, err := Parse([]byte(doc)); err == nil {
			t.Errorf("%s: accepted %q", name, doc)
		}
	}
}

// TestDocumentedExampleParses keeps docs/psremote.yaml, the documented
// reference of every setting, valid and complete.
func TestDocumentedExampleParses(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "docs", "psremote.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Parse(data); err != nil {
		t.Fatalf("docs/psremote.yaml: %v", err)
	}
	for _, key := range []string{"MaxEnvelopeSizekb", "MaxTimeoutms", "MaxConcurrentOperationsPerUser", "AllowUnencrypted",
		"IdleTimeout", "MaxConcurrentUsers", "MaxShellsPerUser", "AllowRemoteShellAccess", "CertificateThumbprint",
		"MaxPacketRetrievalTimeSeconds", "AdministratorGroups", "BasicSources", "URLPrefix", "MaxOutputBufferKB",
		"Negotiate", "Kerberos", "CbtHardeningLevel", "Keytab", "PrincipalMapFile", "NTLMSources"} {
		if !strings.Contains(string(data), key+":") {
			t.Errorf("docs/psremote.yaml does not document %s", key)
		}
	}
}

// TestAuthSettings: the Negotiate-related settings parse, and an explicit
// empty NTLMSources (NTLM off) is kept rather than defaulted.
func TestAuthSettings(t *testing.T) {
	c, err := Parse([]byte(`
Service:
  Auth:
    Negotiate: false
    Kerberos: false
    CbtHardeningLevel: strict
    Keytab: /etc/psremote/http.keytab
    PrincipalMapFile: /etc/psremote/principals
    NTLMSources: []
`))
	if err != nil {
		t.Fatal(err)
	}
	a := c.Service.Auth
	if a.Negotiate || a.Kerberos || a.CbtHardeningLevel != "strict" || a.Keytab != "/etc/psremote/http.keytab" ||
		a.PrincipalMapFile != "/etc/psremote/principals" || a.NTLMSources == nil || len(a.NTLMSources) != 0 {
		t.Errorf("auth settings: %+v", a)
	}
}
