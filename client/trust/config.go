package trust

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// File names inside the psremote configuration directory.
const (
	configDirName  = "psremote"
	configFileName = "config.yaml"
	knownHostsName = "known_hosts"
)

// Errors wrapped by [*UnencryptedError], for errors.Is.
var (
	// ErrUnencryptedNotAllowed: the client's AllowUnencrypted is false.
	ErrUnencryptedNotAllowed = errors.New("trust: AllowUnencrypted is false")
	// ErrNotTrustedHost: the host does not match TrustedHosts.
	ErrNotTrustedHost = errors.New("trust: host is not in TrustedHosts")
)

// ConfigDir returns the psremote client configuration directory:
// $XDG_CONFIG_HOME/psremote, or ~/.config/psremote when XDG_CONFIG_HOME is
// unset or not absolute (the XDG Base Directory rule).
func ConfigDir() (string, error) {
	if d := os.Getenv("XDG_CONFIG_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, configDirName), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("trust: no configuration directory: %w", err)
	}
	return filepath.Join(home, ".config", configDirName), nil
}

// DefaultConfigPath returns [ConfigDir]/config.yaml.
func DefaultConfigPath() (string, error) {
	dir, err := ConfigDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, configFileName), nil
}

// DefaultKnownHostsPath returns [ConfigDir]/known_hosts.
func DefaultKnownHostsPath() (string, error) {
	dir, err := ConfigDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, knownHostsName), nil
}

// Config is the client configuration file, YAML with WinRM's names for the
// settings WinRM has ([MS-WSMV] 2.2.4.6, winrm-protocol.md 8.2):
//
//	# ~/.config/psremote/config.yaml
//	TrustedHosts: "web1,*.lab.example.com,192.168.56.*"   # quote: '*' is YAML syntax
//	AllowUnencrypted: true
//	KnownHostsFile: ~/.config/psremote/known_hosts
//	CAFile: /etc/pki/lab-ca.pem
//
// Unknown keys are errors.
type Config struct {
	// TrustedHosts lists the hosts Basic and NTLM credentials may be sent
	// to over plain HTTP, where those mechanisms cannot authenticate the
	// server, in WinRM's string form (see [TrustedHosts]). Default empty:
	// none.
	TrustedHosts string `yaml:"TrustedHosts"`
	// AllowUnencrypted permits unencrypted SOAP (HTTP without message
	// encryption) to trusted hosts. Default false, as on Windows.
	AllowUnencrypted bool `yaml:"AllowUnencrypted"`
	// KnownHostsFile is the trust-on-first-use fingerprint file. "~/"
	// means the home directory and a relative path is relative to the
	// configuration file's directory. LoadConfig makes it absolute;
	// default [DefaultKnownHostsPath].
	KnownHostsFile string `yaml:"KnownHostsFile"`
	// CAFile, if set, is a PEM file of CA certificates trusted instead of
	// the system roots (the default for --ca-file; see [LoadCertPool]).
	// Resolved like KnownHostsFile.
	CAFile string `yaml:"CAFile"`

	// Path is the file the configuration was loaded from, used in
	// messages that tell the user what to change. Not read from YAML.
	Path string `yaml:"-"`
}

// unquotedStar finds a "TrustedHosts: *..." line that YAML reads as an
// alias, to explain the parse error.
var unquotedStar = regexp.MustCompile(`(?m)^\s*TrustedHosts\s*:\s*\*`)

// LoadConfig reads the client configuration at path; an empty path means
// [DefaultConfigPath]. A missing file gives the defaults. The TrustedHosts
// list is checked, and KnownHostsFile (filled with its default) and CAFile
// are made absolute.
func LoadConfig(path string) (*Config, error) {
	if path == "" {
		p, err := DefaultConfigPath()
		if err != nil {
			return nil, err
		}
		path = p
	}
	c := &Config{}
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("trust: config: %w", err)
	default:
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
			if unquotedStar.Match(data) {
				return nil, fmt.Errorf(`trust: config %s: %w (a value starting with '*' must be quoted: TrustedHosts: "*")`, path, err)
			}
			return nil, fmt.Errorf("trust: config %s: %w", path, err)
		}
	}
	c.Path = path
	if _, err := ParseTrustedHosts(c.TrustedHosts); err != nil {
		return nil, fmt.Errorf("trust: config %s: %w", path, err)
	}
	if c.KnownHostsFile == "" {
		if c.KnownHostsFile, err = DefaultKnownHostsPath(); err != nil {
			return nil, err
		}
	}
	if c.KnownHostsFile, err = resolvePath(c.KnownHostsFile, filepath.Dir(path)); err != nil {
		return nil, fmt.Errorf("trust: config %s: KnownHostsFile: %w", path, err)
	}
	if c.CAFile != "" {
		if c.CAFile, err = resolvePath(c.CAFile, filepath.Dir(path)); err != nil {
			return nil, fmt.Errorf("trust: config %s: CAFile: %w", path, err)
		}
	}
	return c, nil
}

// resolvePath expands a leading "~/" and makes p absolute relative to base.
func resolvePath(p, base string) (string, error) {
	if p == "~" || strings.HasPrefix(p, "~/") {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		p = filepath.Join(home, strings.TrimPrefix(p[1:], "/"))
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(base, p)
	}
	return filepath.Abs(p)
}

// UnencryptedError explains why [Config.PermitUnencrypted] refused a host:
// which of the two conditions failed and what to set in which file. It
// wraps [ErrUnencryptedNotAllowed] and/or [ErrNotTrustedHost].
type UnencryptedError struct {
	Host             string // host as given
	File             string // configuration file to edit
	AllowUnencrypted bool   // the setting's value
	Trusted          bool   // whether Host matched TrustedHosts
	entry            string // what to add to TrustedHosts for Host
}

// Error lists the failed conditions, each with the setting to change.
func (e *UnencryptedError) Error() string {
	var why []string
	if !e.AllowUnencrypted {
		why = append(why, fmt.Sprintf(`AllowUnencrypted is false (set "AllowUnencrypted: true" in %s)`, e.File))
	}
	if !e.Trusted {
		why = append(why, fmt.Sprintf(`%s is not in TrustedHosts (add %q to TrustedHosts in %s)`, e.Host, e.entry, e.File))
	}
	return fmt.Sprintf("trust: refusing to send Basic credentials to %s over unencrypted HTTP: %s; or connect over HTTPS",
		e.Host, strings.Join(why, ", and "))
}

// Unwrap returns the sentinels of the failed conditions.
func (e *UnencryptedError) Unwrap() []error {
	var errs []error
	if !e.AllowUnencrypted {
		errs = append(errs, ErrUnencryptedNotAllowed)
	}
	if !e.Trusted {
		errs = append(errs, ErrNotTrustedHost)
	}
	return errs
}

// PermitUnencrypted reports whether Basic authentication over plain HTTP
// may go to host ("host", "host:port", "[v6]:port"): nil only when
// AllowUnencrypted is true and host matches TrustedHosts, as the Windows
// client requires ([MS-WSMV] 2.2.4.6). Otherwise the error is a
// [*UnencryptedError] naming the failed conditions and the fix, or an
// error for a malformed host or TrustedHosts list.
func (c *Config) PermitUnencrypted(host string) error {
	file := c.file()
	trusted, entry, err := c.trusted(host)
	if err != nil {
		return err
	}
	e := &UnencryptedError{
		Host:             host,
		File:             file,
		AllowUnencrypted: c.AllowUnencrypted,
		Trusted:          trusted,
		entry:            entry,
	}
	if e.AllowUnencrypted && e.Trusted {
		return nil
	}
	return e
}

// file names the configuration file in messages.
func (c *Config) file() string {
	if c.Path != "" {
		return c.Path
	}
	if p, err := DefaultConfigPath(); err == nil {
		return p
	}
	return "the client configuration file"
}

// trusted matches host against TrustedHosts and returns the entry that
// would trust it.
func (c *Config) trusted(host string) (ok bool, entry string, err error) {
	th, err := ParseTrustedHosts(c.TrustedHosts)
	if err != nil {
		return false, "", fmt.Errorf("trust: config %s: %w", c.file(), err)
	}
	t, err := parseTarget(host)
	if err != nil {
		return false, "", fmt.Errorf("trust: bad host: %w", err)
	}
	entry = t.host()
	if t.ip.Is6() {
		entry = "[" + t.ip.String() + "]"
	}
	return th.match(t), entry, nil
}

// NotTrustedError explains why [Config.PermitNTLM] refused a host. It
// wraps [ErrNotTrustedHost].
type NotTrustedError struct {
	Host  string // host as given
	File  string // configuration file to edit
	entry string // what to add to TrustedHosts for Host
}

// Error names the host, the rule, the setting to change and the
// alternatives.
func (e *NotTrustedError) Error() string {
	return fmt.Sprintf("trust: refusing to send NTLM credentials to %s over plain HTTP: NTLM does not prove the server's identity and %s is not in TrustedHosts (%s); or connect over HTTPS, or use Kerberos",
		e.Host, e.Host, e.Fix())
}

// Fix returns the configuration change that trusts the host, e.g.
// `add "web1" to TrustedHosts in /home/u/.config/psremote/config.yaml`.
func (e *NotTrustedError) Fix() string {
	return fmt.Sprintf("add %q to TrustedHosts in %s", e.entry, e.File)
}

// Unwrap returns [ErrNotTrustedHost].
func (e *NotTrustedError) Unwrap() error { return ErrNotTrustedHost }

// PermitNTLM reports whether NTLM credentials may go to host over plain
// HTTP: nil only when host matches TrustedHosts. NTLM does not
// authenticate the server, so Windows sends it over HTTP only to trusted
// hosts; the messages are still sealed, so AllowUnencrypted does not
// matter. Otherwise the error is a [*NotTrustedError] naming the fix, or
// an error for a malformed host or TrustedHosts list.
func (c *Config) PermitNTLM(host string) error {
	trusted, entry, err := c.trusted(host)
	if err != nil {
		return err
	}
	if trusted {
		return nil
	}
	return &NotTrustedError{Host: host, File: c.file(), entry: entry}
}
