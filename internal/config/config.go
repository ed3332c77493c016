package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/psremote/psremote/auth/cbt"
)

// Transport names as WinRM spells them in listener selectors.
const (
	TransportHTTP  = "HTTP"
	TransportHTTPS = "HTTPS"
)

// Config is the whole server configuration. Field names follow WinRM's
// `winrm/config` tree (MS-WSMV 2.2.4.10, 2.2.4.36, 2.2.4.42, 2.2.4.19);
// psremote-only settings are marked as such.
type Config struct {
	// StateDir holds generated state: the self-signed certificate and the
	// account store (psremote only). Default /var/lib/psremote for root,
	// $XDG_STATE_HOME/psremote (or ~/.local/state/psremote) otherwise.
	StateDir string `yaml:"StateDir"`

	// MaxEnvelopeSizekb caps request bodies (HTTP 413 above it) and the
	// envelope size of replies. Default 500, range 32..1039440.
	MaxEnvelopeSizekb uint32 `yaml:"MaxEnvelopeSizekb"`
	// MaxTimeoutms caps every request's OperationTimeout. Default 60000, minimum 500.
	MaxTimeoutms uint32 `yaml:"MaxTimeoutms"`
	// MaxBatchItems caps enumeration batches. Default 32000.
	MaxBatchItems uint32 `yaml:"MaxBatchItems"`

	Service   Service    `yaml:"Service"`
	Winrs     Winrs      `yaml:"Winrs"`
	Listeners []Listener `yaml:"Listeners"`
	// CertMapping mirrors `winrm/config/service/certmapping`: which client
	// certificates log in as which local account (MS-WSMV 3.1.4.1.35).
	CertMapping []CertMappingRule `yaml:"CertMapping"`
}

// CertMappingRule is one certificate mapping. The client certificate's
// user principal name (subject alternative name) must match Subject, its
// issuing CA must have the SHA-1 thumbprint Issuer, and the request's
// resource URI must match URI; the longest Subject, then the longest URI,
// wins.
type CertMappingRule struct {
	// Issuer is the SHA-1 thumbprint of the issuing CA certificate.
	Issuer string `yaml:"Issuer"`
	// Subject is "*", "*@domain" or "*.suffix" style, or an exact UPN.
	Subject string `yaml:"Subject"`
	// URI is a resource URI pattern: "*", "prefix*" or exact. Default "*".
	URI string `yaml:"URI"`
	// UserName is the local account the certificate logs in as.
	UserName string `yaml:"UserName"`
	// Enabled; default true.
	Enabled *bool `yaml:"Enabled"`
}

// Service mirrors `winrm/config/service`.
type Service struct {
	// MaxConcurrentOperationsPerUser bounds in-flight operations (requests
	// and live commands) per user. Default 1500. Unlike Windows, a command
	// stops counting when it ends.
	MaxConcurrentOperationsPerUser uint32 `yaml:"MaxConcurrentOperationsPerUser"`
	// MaxPacketRetrievalTimeSeconds bounds how long a request body may take
	// to arrive. Default 120.
	MaxPacketRetrievalTimeSeconds uint32 `yaml:"MaxPacketRetrievalTimeSeconds"`
	// AllowUnencrypted permits plaintext SOAP on HTTP listeners: Basic,
	// and Negotiate or Kerberos without message encryption. When false
	// (the default), HTTP requests must be encrypted with the
	// connection's Negotiate or Kerberos context (MS-WSMV 2.2.9.1) and a
	// plaintext one gets HTTP 500, as on Windows.
	AllowUnencrypted bool `yaml:"AllowUnencrypted"`
	// Auth selects the authentication schemes.
	Auth ServiceAuth `yaml:"Auth"`
	// CertificateDirectory is searched for the PEM certificate whose SHA-1
	// thumbprint a listener names (psremote's stand-in for the Windows
	// certificate store). Default <StateDir>/certs.
	CertificateDirectory string `yaml:"CertificateDirectory"`
	// AdministratorGroups are the local groups whose members, with root,
	// form the Administrators role (psremote only). Default [sudo, wheel].
	AdministratorGroups []string `yaml:"AdministratorGroups"`
	// Machine is the host name reported in faults and shell owners
	// (psremote only). Default: the system host name.
	Machine string `yaml:"Machine"`
}

// ServiceAuth mirrors `winrm/config/service/auth`.
type ServiceAuth struct {
	// Basic enables HTTP Basic authentication. psremote default true,
	// unlike Windows (false): the committed `psremote run` client, `make
	// demo` and the benchmark scripts log in with Basic over HTTPS. Set it
	// false to offer only Negotiate and Kerberos.
	Basic bool `yaml:"Basic"`
	// Negotiate enables the Negotiate scheme: NTLM against NTLMSources
	// and, with a keytab, Kerberos, raw or in SPNEGO, with message
	// encryption on HTTP. Default true.
	Negotiate bool `yaml:"Negotiate"`
	// Kerberos enables the Kerberos scheme (raw Kerberos tokens, messages
	// encrypted with HTTP-Kerberos-session-encrypted). It needs a keytab;
	// without one it is not offered. Default true.
	Kerberos bool `yaml:"Kerberos"`
	// CbtHardeningLevel is how channel bindings of Negotiate and Kerberos
	// logins on HTTPS are checked: Strict (required and matching),
	// Relaxed (checked when sent) or None. Default Relaxed.
	CbtHardeningLevel string `yaml:"CbtHardeningLevel"`
	// Keytab names the keytab with the HTTP/<host> and WSMAN/<host> keys
	// Kerberos logins are verified with (psremote only; Windows uses the
	// machine account). Default /etc/krb5.keytab when it exists; without
	// a keytab Kerberos is not offered.
	Keytab string `yaml:"Keytab"`
	// PrincipalMapFile maps Kerberos principals to local users, one
	// "principal localuser" per line (psremote only). Without an entry, a
	// one-component principal of the keytab's realm maps to its name.
	PrincipalMapFile string `yaml:"PrincipalMapFile"`
	// NTLMSources orders the NTLM account sources: "store" (the psremote
	// account store's NT hashes). Default [store]; empty disables NTLM.
	NTLMSources []string `yaml:"NTLMSources"`
	// Winbind configures the "winbind" NTLM source (psremote only).
	Winbind Winbind `yaml:"Winbind"`
	// BasicSources orders the password sources Basic consults: "store"
	// (the psremote account store) and "pam" (psremote only). Default
	// [store, pam] when the server runs as root, [store] otherwise.
	BasicSources []string `yaml:"BasicSources"`
	// PAMService is the PAM service name used by the "pam" source. Default "psremote".
	PAMService string `yaml:"PAMService"`
	// Certificate enables client certificate authentication on HTTPS
	// listeners (the .../secprofile/https/mutual Authorization header),
	// mapped to accounts by CertMapping. Default false, as on Windows.
	Certificate bool `yaml:"Certificate"`
	// ClientCAFile names the PEM file of the CA certificates client
	// certificates must chain to (psremote only; Windows uses the machine's
	// trusted roots). Required when Certificate is true.
	ClientCAFile string `yaml:"ClientCAFile"`
	// LoginThrottle slows down repeated failed logins per client address
	// and per account, without locking out the account from other
	// addresses (psremote only). Default true.
	LoginThrottle bool `yaml:"LoginThrottle"`
}

// Winbind configures how the "winbind" NTLM source runs Samba's
// ntlm_auth helper to verify Active Directory users (psremote only). The
// host must be joined to the domain with winbind running; domain users
// log in as "DOMAIN\user", which must resolve to a local account through
// NSS (libnss-winbind).
type Winbind struct {
	// Helper is the ntlm_auth program. Default "ntlm_auth".
	Helper string `yaml:"Helper"`
	// Args are extra arguments, e.g. ["--configfile=/etc/samba/smb.conf"].
	Args []string `yaml:"Args"`
	// Env adds NAME=value entries to the helper's environment (which
	// otherwise holds only PATH and LANG).
	Env []string `yaml:"Env"`
	// DefaultDomain: users of this NetBIOS domain log in as the local
	// account with their bare name ("user" for "DOMAIN\user"), as Samba's
	// `winbind use default domain = yes` names them. Empty: the local
	// account is "DOMAIN\user".
	DefaultDomain string `yaml:"DefaultDomain"`
}

// Winrs mirrors `winrm/config/winrs`.
type Winrs struct {
	// AllowRemoteShellAccess enables shell creation. Default true.
	AllowRemoteShellAccess bool `yaml:"AllowRemoteShellAccess"`
	// IdleTimeout in milliseconds after which an untouched shell and its
	// processes are removed. Default 7200000.
	IdleTimeout uint32 `yaml:"IdleTimeout"`
	// MaxConcurrentUsers bounds the distinct users owning shells. Default 10.
	MaxConcurrentUsers uint32 `yaml:"MaxConcurrentUsers"`
	// MaxShellsPerUser bounds the shells one user may own. Default 30; 0 = unlimited.
	MaxShellsPerUser uint32 `yaml:"MaxShellsPerUser"`
	// MaxOutputBufferKB bounds the unread output buffered per command
	// stream before the child is slowed by pipe back-pressure (psremote
	// only). Default 1024.
	MaxOutputBufferKB uint32 `yaml:"MaxOutputBufferKB"`
}

// Listener mirrors `winrm/config/listener` (MS-WSMV 2.2.4.19).
type Listener struct {
	// Transport is HTTP or HTTPS.
	Transport string `yaml:"Transport"`
	// Address is the local address to bind: "*" for all, an IP, or
	// WinRM's "IP:a.b.c.d" form. Default 127.0.0.1.
	Address string `yaml:"Address"`
	// Port defaults to 5985 for HTTP and 5986 for HTTPS; 0 picks a free port.
	Port *int `yaml:"Port"`
	// URLPrefix is the URL path, default "wsman".
	URLPrefix string `yaml:"URLPrefix"`
	// Enabled defaults to true.
	Enabled *bool `yaml:"Enabled"`
	// CertificateThumbprint selects, by SHA-1 thumbprint (40 hex digits),
	// a certificate from Service.CertificateDirectory.
	CertificateThumbprint string `yaml:"CertificateThumbprint"`
	// CertificateFile and KeyFile name a PEM certificate chain and key
	// (psremote only; an alternative to CertificateThumbprint).
	CertificateFile string `yaml:"CertificateFile"`
	KeyFile         string `yaml:"KeyFile"`
}

// Windows defaults (MS-WSMV 2.2.4.10, 2.2.4.36, 2.2.4.42 and Windows Server 2016+).
const (
	DefaultMaxEnvelopeSizekb              = 500
	DefaultMaxTimeoutms                   = 60000
	DefaultMaxBatchItems                  = 32000
	DefaultMaxConcurrentOperationsPerUser = 1500
	DefaultMaxPacketRetrievalTimeSeconds  = 120
	DefaultIdleTimeoutms                  = 7200000
	DefaultMaxConcurrentUsers             = 10
	DefaultMaxShellsPerUser               = 30
	DefaultMaxOutputBufferKB              = 1024
	DefaultHTTPPort                       = 5985
	DefaultHTTPSPort                      = 5986
	DefaultURLPrefix                      = "wsman"
	DefaultPAMService                     = "psremote"
	DefaultCbtHardeningLevel              = "Relaxed"
	// DefaultKeytab is used for Kerberos when Service.Auth.Keytab is
	// unset and the file exists.
	DefaultKeytab = "/etc/krb5.keytab"
)

// Default returns the zero-config configuration: one HTTPS listener on
// 127.0.0.1:5986 with a generated certificate.
func Default() *Config {
	c := defaults()
	c.Listeners = []Listener{{Transport: TransportHTTPS}}
	c.finish()
	return c
}

// defaults returns every scalar at its Windows default; YAML decoding then
// overwrites only the keys a file names.
func defaults() *Config {
	return &Config{
		MaxEnvelopeSizekb: DefaultMaxEnvelopeSizekb,
		MaxTimeoutms:      DefaultMaxTimeoutms,
		MaxBatchItems:     DefaultMaxBatchItems,
		Service: Service{
			MaxConcurrentOperationsPerUser: DefaultMaxConcurrentOperationsPerUser,
			MaxPacketRetrievalTimeSeconds:  DefaultMaxPacketRetrievalTimeSeconds,
			Auth: ServiceAuth{Basic: true, Negotiate: true, Kerberos: true, CbtHardeningLevel: DefaultCbtHardeningLevel,
				PAMService: DefaultPAMService, LoginThrottle: true},
		},
		Winrs: Winrs{
			AllowRemoteShellAccess: true,
			IdleTimeout:            DefaultIdleTimeoutms,
			MaxConcurrentUsers:     DefaultMaxConcurrentUsers,
			MaxShellsPerUser:       DefaultMaxShellsPerUser,
			MaxOutputBufferKB:      DefaultMaxOutputBufferKB,
		},
	}
}

// Load reads a YAML configuration file, applies defaults and validates it.
// Unknown keys are errors, so a misspelt WinRM name is reported rather
// than ignored.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(data)
}

// Parse decodes a YAML configuration, applies defaults and validates it.
// An empty document is the default configuration.
func Parse(data []byte) (*Config, error) {
	c := defaults()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("config: %w", err)
	}
	if len(c.Listeners) == 0 {
		c.Listeners = []Listener{{Transport: TransportHTTPS}}
	}
	c.finish()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// finish fills the defaults that depend on other values.
func (c *Config) finish() {
	if c.Service.Auth.BasicSources == nil {
		if os.Geteuid() == 0 {
			c.Service.Auth.BasicSources = []string{"store", "pam"}
		} else {
			c.Service.Auth.BasicSources = []string{"store"}
		}
	}
	if c.Service.Auth.NTLMSources == nil {
		c.Service.Auth.NTLMSources = []string{"store"}
	}
	if c.Service.AdministratorGroups == nil {
		c.Service.AdministratorGroups = []string{"sudo", "wheel"}
	}
	if c.StateDir == "" {
		c.StateDir = DefaultStateDir()
	}
	if c.Service.CertificateDirectory == "" {
		c.Service.CertificateDirectory = filepath.Join(c.StateDir, "certs")
	}
	if c.Service.Machine == "" {
		c.Service.Machine, _ = os.Hostname()
	}
	for i := range c.Listeners {
		l := &c.Listeners[i]
		l.Transport = strings.ToUpper(l.Transport)
		if l.Transport == "" {
			l.Transport = TransportHTTPS
		}
		if l.Address == "" {
			l.Address = "127.0.0.1"
		}
		if l.Port == nil {
			p := DefaultHTTPSPort
			if l.Transport == TransportHTTP {
				p = DefaultHTTPPort
			}
			l.Port = &p
		}
		if l.URLPrefix == "" {
			l.URLPrefix = DefaultURLPrefix
		}
		if l.Enabled == nil {
			l.Enabled = ptr(true)
		}
	}
	for i := range c.CertMapping {
		m := &c.CertMapping[i]
		if m.Enabled == nil {
			m.Enabled = ptr(true)
		}
		if m.URI == "" {
			m.URI = "*"
		}
	}
}

func ptr[T any](v T) *T { return &v }

// Validate checks ranges and combinations that WinRM itself refuses.
func (c *Config) Validate() error {
	var errs []error
	if c.MaxEnvelopeSizekb < 32 || c.MaxEnvelopeSizekb > 1039440 {
		errs = append(errs, fmt.Errorf("MaxEnvelopeSizekb %d out of range 32..1039440", c.MaxEnvelopeSizekb))
	}
	if c.MaxTimeoutms < 500 {
		errs = append(errs, fmt.Errorf("MaxTimeoutms %d below 500", c.MaxTimeoutms))
	}
	for _, s := range c.Service.Auth.BasicSources {
		if s != "store" && s != "pam" {
			errs = append(errs, fmt.Errorf("Service.Auth.BasicSources: unknown source %q (want store or pam)", s))
		}
	}
	if _, err := cbt.ParsePolicy(c.Service.Auth.CbtHardeningLevel); err != nil {
		errs = append(errs, fmt.Errorf("Service.Auth.CbtHardeningLevel %q: want Strict, Relaxed or None", c.Service.Auth.CbtHardeningLevel))
	}
	for _, s := range c.Service.Auth.NTLMSources {
		if s != "store" && s != "winbind" {
			errs = append(errs, fmt.Errorf("Service.Auth.NTLMSources: unknown source %q (want store or winbind)", s))
		}
	}
	for _, kv := range c.Service.Auth.Winbind.Env {
		if name, _, ok := strings.Cut(kv, "="); !ok || name == "" {
			errs = append(errs, fmt.Errorf("Service.Auth.Winbind.Env: %q is not NAME=value", kv))
		}
	}
	if c.Service.Auth.Certificate && c.Service.Auth.ClientCAFile == "" {
		errs = append(errs, errors.New("Service.Auth.Certificate needs Service.Auth.ClientCAFile (the CAs client certificates chain to)"))
	}
	for i, m := range c.CertMapping {
		if m.Issuer == "" || m.Subject == "" || m.UserName == "" {
			errs = append(errs, fmt.Errorf("CertMapping[%d]: Issuer, Subject and UserName are required", i))
		}
	}
	seen := map[string]bool{}
	for i, l := range c.Listeners {
		if l.Transport != TransportHTTP && l.Transport != TransportHTTPS {
			errs = append(errs, fmt.Errorf("Listeners[%d]: Transport %q (want HTTP or HTTPS)", i, l.Transport))
		}
		if *l.Port < 0 || *l.Port > 65535 {
			errs = append(errs, fmt.Errorf("Listeners[%d]: Port %d out of range", i, *l.Port))
		}
		if strings.Trim(l.URLPrefix, "/") != l.URLPrefix || strings.ContainsFunc(l.URLPrefix, badPrefixRune) {
			errs = append(errs, fmt.Errorf("Listeners[%d]: URLPrefix %q: only a-z A-Z 0-9 _ / and no leading or trailing /", i, l.URLPrefix))
		}
		if l.Transport == TransportHTTP && (l.CertificateThumbprint != "" || l.CertificateFile != "") {
			errs = append(errs, fmt.Errorf("Listeners[%d]: an HTTP listener takes no certificate", i))
		}
		if (l.CertificateFile == "") != (l.KeyFile == "") {
			errs = append(errs, fmt.Errorf("Listeners[%d]: CertificateFile and KeyFile go together", i))
		}
		if l.CertificateThumbprint != "" && l.CertificateFile != "" {
			errs = append(errs, fmt.Errorf("Listeners[%d]: give CertificateThumbprint or CertificateFile, not both", i))
		}
		key := fmt.Sprintf("%s:%d", l.Address, *l.Port)
		if *l.Port != 0 && seen[key] {
			errs = append(errs, fmt.Errorf("Listeners[%d]: %s is already used by another listener", i, key))
		}
		seen[key] = true
	}
	if len(errs) > 0 {
		return fmt.Errorf("config: %w", errors.Join(errs...))
	}
	return nil
}

func badPrefixRune(r rune) bool {
	return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '/')
}

// IdleTimeout returns Winrs.IdleTimeout as a duration.
func (c *Config) IdleTimeout() time.Duration {
	return time.Duration(c.Winrs.IdleTimeout) * time.Millisecond
}

// MaxTimeout returns MaxTimeoutms as a duration.
func (c *Config) MaxTimeout() time.Duration {
	return time.Duration(c.MaxTimeoutms) * time.Millisecond
}

// DefaultStateDir returns where generated state lives when StateDir is unset.
func DefaultStateDir() string {
	if os.Geteuid() == 0 {
		return "/var/lib/psremote"
	}
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "psremote")
	}
	if h, err := os.UserHomeDir(); err == nil {
		return filepath.Join(h, ".local", "state", "psremote")
	}
	return filepath.Join(os.TempDir(), "psremote-state")
}
