package cli

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/psremote/psremote/client"
	"github.com/psremote/psremote/client/trust"
	"github.com/psremote/psremote/internal/identity"
)

// connOptions are the flags shared by the client verbs.
type connOptions struct {
	hosts            []string
	user             string
	port             int
	useHTTP          bool
	allowUnencrypted bool
	caFile           string
	insecure         bool
	acceptChanged    bool
	clientConfigFile string
	urlPrefix        string
	operationTimeout time.Duration
	connectTimeout   time.Duration

	// Authentication (auth.go).
	authMethod   string
	spn          string
	certFile     string
	keyFile      string
	principal    string
	keytab       string
	passwordFile string

	sec   *security    // loaded once per invocation
	creds *credentials // read once per invocation
}

func (o *connOptions) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringSliceVarP(&o.hosts, "host", "H", nil, "target host(s), comma separated or repeated; host or host:port")
	f.StringVarP(&o.user, "user", "u", "", "user name (default: the local user name)")
	f.IntVar(&o.port, "port", 0, "port (default 5986, or 5985 with --http)")
	f.BoolVar(&o.useHTTP, "http", false, "use HTTP instead of HTTPS")
	f.BoolVar(&o.allowUnencrypted, "allow-unencrypted", false, "set AllowUnencrypted for this run (Basic over HTTP still needs the host in TrustedHosts)")
	f.StringVar(&o.caFile, "ca-file", "", "PEM file of CA certificates that verify the server (default: system roots)")
	f.BoolVar(&o.insecure, "insecure", false, "do not verify the server certificate (dangerous)")
	f.BoolVar(&o.acceptChanged, "accept-changed-cert", false, "accept and pin a server certificate that differs from the pinned one")
	f.StringVar(&o.clientConfigFile, "client-config", "", "client configuration file (default ~/.config/psremote/config.yaml)")
	f.StringVar(&o.urlPrefix, "url-prefix", "wsman", "URL path of the WinRM listener")
	f.DurationVar(&o.operationTimeout, "operation-timeout", client.DefaultOperationTimeout, "per-Receive long-poll timeout")
	f.DurationVar(&o.connectTimeout, "connect-timeout", client.DefaultConnectTimeout, "TCP connect and TLS handshake timeout")
	o.registerAuth(cmd)
}

// endpoint builds the listener URL for a host.
func (o *connOptions) endpoint(host string) (string, error) {
	scheme, port := "https", 5986
	if o.useHTTP {
		scheme, port = "http", 5985
	}
	if o.port != 0 {
		port = o.port
	}
	if strings.Contains(host, "://") {
		u, err := url.Parse(host)
		if err != nil {
			return "", &usageError{fmt.Errorf("host %q: %w", host, err)}
		}
		return u.String(), nil
	}
	h, p, err := net.SplitHostPort(host)
	if err != nil {
		h, p = strings.Trim(host, "[]"), strconv.Itoa(port)
	}
	return scheme + "://" + net.JoinHostPort(h, p) + "/" + strings.Trim(o.urlPrefix, "/"), nil
}

// security is the client's trust state for one invocation: the client
// configuration (TrustedHosts, AllowUnencrypted), the known-hosts file
// that pins certificates on first use, and the verification policy.
type security struct {
	cfg    *trust.Config
	known  *trust.KnownHosts
	policy trust.Policy
}

func (o *connOptions) loadSecurity(stdio IO) (*security, error) {
	if o.sec != nil {
		return o.sec, nil
	}
	cfg, err := trust.LoadConfig(o.clientConfigFile)
	if err != nil {
		return nil, err
	}
	if o.allowUnencrypted {
		cfg.AllowUnencrypted = true
	}
	known, err := trust.Open(cfg.KnownHostsFile)
	if err != nil {
		return nil, err
	}
	p := trust.DefaultPolicy()
	p.Insecure, p.AcceptChanged = o.insecure, o.acceptChanged
	ca := o.caFile
	if ca == "" {
		ca = cfg.CAFile
	}
	if ca != "" {
		if p.CARoots, err = trust.LoadCertPool(ca); err != nil {
			return nil, err
		}
	}
	var mu sync.Mutex
	p.OnAccept = func(hostport string, how trust.Outcome, fp string) {
		mu.Lock()
		defer mu.Unlock()
		switch how {
		case trust.OutcomeNew:
			fmt.Fprintf(stdio.Err, "psremote: %s: first connection, certificate %s pinned in %s\n", hostport, fp, known.Path())
		case trust.OutcomeReplaced:
			fmt.Fprintf(stdio.Err, "psremote: %s: changed certificate accepted, %s pinned in %s\n", hostport, fp, known.Path())
		}
	}
	o.sec = &security{cfg: cfg, known: known, policy: p}
	return o.sec, nil
}

// secure fills the transport security of cfg for its endpoint: TLS with
// CA verification or pinning on HTTPS; on plain HTTP, the rules of the
// client configuration for mechanisms that cannot prove the server's
// identity (winrm-protocol.md 8.2): Basic only to trusted hosts with
// AllowUnencrypted, NTLM only to trusted hosts. method is the
// authentication method ("" for none); ntlmNow says that Negotiate will
// use NTLM without trying Kerberos.
func (s *security) secure(cfg *client.Config, method string, ntlmNow bool) error {
	u, err := url.Parse(cfg.Endpoint)
	if err != nil {
		return &usageError{fmt.Errorf("endpoint %q: %w", cfg.Endpoint, err)}
	}
	cfg.TrustedHosts, cfg.AllowUnencrypted = s.cfg.TrustedHosts, s.cfg.AllowUnencrypted
	if u.Scheme == "http" {
		var err error
		switch {
		case method == authBasic:
			err = s.cfg.PermitUnencrypted(u.Hostname())
		case method == authNTLM, ntlmNow && (method == authNegotiate || method == authAuto):
			err = s.cfg.PermitNTLM(u.Hostname())
		case method == authCertificate:
			err = fmt.Errorf("certificate authentication needs HTTPS: %s is a plain HTTP endpoint", cfg.Endpoint)
		}
		if err != nil {
			return &usageError{err}
		}
		return nil
	}
	hp := u.Host
	if u.Port() == "" {
		hp = net.JoinHostPort(u.Hostname(), "443")
	}
	tc, err := s.known.TLSConfig(hp, s.policy)
	if err != nil {
		return err
	}
	cfg.TLSConfig = tc
	return nil
}

// clientConfig returns the client configuration for endpoint, with the
// invocation's credentials (read once: one prompt for all hosts) when
// authenticate is set. user, when not empty and -u is absent, is the
// account to log in as (an inventory's ansible_user).
func (o *connOptions) clientConfig(ctx context.Context, stdio IO, endpoint string, authenticate bool, user string) (client.Config, error) {
	cfg := client.Config{Endpoint: endpoint, OperationTimeout: o.operationTimeout, ConnectTimeout: o.connectTimeout}
	sec, err := o.loadSecurity(stdio)
	if err != nil {
		return cfg, err
	}
	if !authenticate {
		return cfg, sec.secure(&cfg, "", false)
	}
	creds, err := o.credentials(ctx, stdio)
	if err != nil {
		return cfg, err
	}
	if o.user != "" || user == "" {
		user = creds.user
	}
	if err := sec.secure(&cfg, creds.method, creds.ntlmNow(user)); err != nil {
		return cfg, err
	}
	cfg.Auth = creds.auth(user)
	return cfg, nil
}

// userName is --user, else $USER, else the local account name.
func (o *connOptions) userName(stdio IO) string {
	if o.user != "" {
		return o.user
	}
	if u := stdio.Getenv("USER"); u != "" {
		return u
	}
	if u, err := identity.Current(); err == nil {
		return u.Name
	}
	return ""
}

// readLoginPassword reads the password from $PSREMOTE_PASSWORD or a
// no-echo prompt on the terminal; never from argv.
func readLoginPassword(ctx context.Context, stdio IO, user string) (string, error) {
	if pw := stdio.Getenv(passwordEnv); pw != "" {
		return pw, nil
	}
	if f, ok := stdio.In.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return promptPassword(ctx, stdio.Err, int(f.Fd()), fmt.Sprintf("Password for %s: ", user))
	}
	return "", &usageError{fmt.Errorf("no password: set %s, give --password-file, or run on a terminal", passwordEnv)}
}

type identifyOptions struct {
	conn          connOptions
	authenticated bool
	json          bool
}

func newIdentifyCmd(stdio IO) *cobra.Command {
	opts := &identifyOptions{}
	cmd := &cobra.Command{
		Use:   "identify HOST",
		Short: "Ask a WinRM host who it is (Test-WSMan)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ep, err := opts.conn.endpoint(args[0])
			if err != nil {
				return err
			}
			cfg, err := opts.conn.clientConfig(cmd.Context(), stdio, ep, opts.authenticated, "")
			if err != nil {
				return err
			}
			c, err := client.New(cfg)
			if err != nil {
				return opts.conn.explain(err, ep)
			}
			defer c.Close()
			info, err := c.Identify(cmd.Context(), !opts.authenticated)
			if err != nil {
				return opts.conn.explain(err, ep)
			}
			if opts.json {
				return json.NewEncoder(stdio.Out).Encode(info)
			}
			fmt.Fprintf(stdio.Out, "wsmid           : %s\nProtocolVersion : %s\nProductVendor   : %s\nProductVersion  : %s\n",
				"http://schemas.dmtf.org/wbem/wsman/identity/1/wsmanidentity.xsd", info.ProtocolVersion, info.ProductVendor, info.ProductVersion)
			for _, p := range info.SecurityProfiles {
				fmt.Fprintf(stdio.Out, "SecurityProfile : %s\n", p)
			}
			return nil
		},
	}
	opts.conn.register(cmd)
	cmd.Flags().BoolVarP(&opts.authenticated, "authenticate", "a", false, "authenticate (reports the real OS version and security profiles)")
	cmd.Flags().BoolVar(&opts.json, "json", false, "print JSON")
	return cmd
}

// Authentication methods of --auth.
const (
	authAuto        = "auto"
	authNegotiate   = "negotiate"
	authKerberos    = "kerberos"
	authNTLM        = "ntlm"
	authBasic       = "basic"
	authCertificate = "certificate"
)

// authHelp is the part of the client verbs' help about authentication.
const authHelp = `Authentication (--auth):
  auto         the default: as negotiate, but a server that offers only
               Basic (a psremote server with Basic alone) gets Basic, under
               the same rules as --auth basic
  negotiate    Kerberos when a ticket can be had, else NTLM (Windows'
               default, Invoke-Command -Authentication Negotiate)
  kerberos     Kerberos only; mutual authentication is required
  ntlm         NTLM only (NTLMv2; user as DOMAIN\user, user@domain or user)
  basic        user and password in every request (Windows enables it only
               for local accounts; the choice for psremote servers whose
               accounts log in through PAM)
  certificate  TLS client certificate (--cert, --key), HTTPS only

Credentials: with no password source ($PSREMOTE_PASSWORD, --password-file)
and a Kerberos ticket cache ($KRB5CCNAME, else /tmp/krb5cc_<uid>, as kinit
leaves it), auto, negotiate and kerberos use the cache and ask nothing, as
ssh does with GSSAPI. Otherwise the password comes from $PSREMOTE_PASSWORD,
--password-file or a no-echo prompt, never from the command line. With a
password, Kerberos logs in when the user names a realm (user@REALM or
DOMAIN\user, or --principal); a plain user name is a local account of the
server and uses NTLM. --keytab logs --principal in from a client keytab.
krb5.conf is $KRB5_CONFIG, else /etc/krb5.conf; the service principal is
--spn, default HTTP/<host> (WSMAN/<host> is the other usual one).

Plain HTTP: Kerberos proves the server and goes to any host; NTLM and Basic
do not, so they go only to hosts in TrustedHosts of the client
configuration (Basic also needs AllowUnencrypted). NTLM and Kerberos seal
every message on HTTP; on HTTPS they bind the login to the server's
certificate (channel binding).`

// registerAuth adds the authentication flags.
func (o *connOptions) registerAuth(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.authMethod, "auth", authAuto, "authentication: auto, negotiate, kerberos, ntlm, basic or certificate")
	f.StringVar(&o.spn, "spn", "", "Kerberos service principal of the server (default HTTP/<host>; WSMAN/<host> is the other usual one)")
	f.StringVar(&o.principal, "principal", "", "Kerberos principal (user@REALM) for a password or --keytab login")
	f.StringVar(&o.keytab, "keytab", "", "client keytab file that logs --principal in")
	f.StringVar(&o.certFile, "cert", "", "client certificate PEM file (--auth certificate)")
	f.StringVar(&o.keyFile, "key", "", "private key PEM file of --cert (default: the --cert file)")
	f.StringVar(&o.passwordFile, "password-file", "", "file whose first line is the password; must not be readable by group or others")
	long := cmd.Long
	if long == "" {
		long = cmd.Short + "."
	}
	cmd.Long = long + "\n\n" + authHelp
}

// credentials are what the invocation authenticates with.
type credentials struct {
	method   string
	user     string // -u, $USER or the local account name
	password string // "" when none was read
	krb      client.KerberosOptions
	cert     tls.Certificate
}

// auth returns the client authentication for user.
func (c *credentials) auth(user string) client.Auth {
	switch c.method {
	case authBasic:
		return client.Basic(user, c.password)
	case authNTLM:
		return client.NTLM(user, c.password)
	case authKerberos:
		k := c.krb
		if k.Password != "" || k.Keytab != "" {
			if k.Principal == "" {
				k.Principal = user
			}
		}
		return client.Kerberos(k)
	case authNegotiate:
		return client.Negotiate(user, c.password, c.krb)
	case authCertificate:
		return client.Certificate(c.cert)
	}
	return client.Auto(user, c.password, c.krb)
}

// ntlmNow reports whether Negotiate (or auto) goes to NTLM at once for
// user: a password, a user name without realm, and no Kerberos options.
func (c *credentials) ntlmNow(user string) bool {
	if c.password == "" || c.krb.Password != "" || c.krb.Keytab != "" {
		return false
	}
	return !strings.Contains(user, "@") && !strings.Contains(user, `\`)
}

// credentials reads the invocation's credentials once.
func (o *connOptions) credentials(ctx context.Context, stdio IO) (*credentials, error) {
	if o.creds != nil {
		return o.creds, nil
	}
	c := &credentials{method: strings.ToLower(o.authMethod), user: o.userName(stdio)}
	if c.method == "" {
		c.method = authAuto
	}
	switch c.method {
	case authAuto, authNegotiate, authKerberos, authNTLM, authBasic, authCertificate:
	default:
		return nil, &usageError{fmt.Errorf("--auth %q: want auto, negotiate, kerberos, ntlm, basic or certificate", o.authMethod)}
	}
	if (o.certFile != "" || o.keyFile != "") && c.method != authCertificate {
		return nil, &usageError{errors.New("--cert and --key go with --auth certificate")}
	}
	if c.method == authCertificate {
		if o.certFile == "" {
			return nil, &usageError{errors.New("--auth certificate needs --cert FILE (and --key FILE unless the key is in it)")}
		}
		key := o.keyFile
		if key == "" {
			key = o.certFile
		}
		cert, err := tls.LoadX509KeyPair(o.certFile, key)
		if err != nil {
			return nil, fmt.Errorf("--cert %s, --key %s: %w", o.certFile, key, err)
		}
		c.cert = cert
		o.creds = c
		return c, nil
	}
	kerberosy := c.method == authAuto || c.method == authNegotiate || c.method == authKerberos
	if !kerberosy && (o.spn != "" || o.principal != "" || o.keytab != "") {
		return nil, &usageError{fmt.Errorf("--spn, --principal and --keytab are Kerberos options; --auth %s does not use them", c.method)}
	}
	c.krb = client.KerberosOptions{SPN: o.spn, Principal: o.principal, Keytab: o.keytab,
		CCache: stdio.Getenv("KRB5CCNAME"), Krb5Conf: krb5Conf(stdio)}
	if o.spn != "" {
		if svc, host, ok := strings.Cut(o.spn, "/"); !ok || svc == "" || host == "" {
			return nil, &usageError{fmt.Errorf("--spn %q: want service/host, e.g. HTTP/web1.example.com", o.spn)}
		}
	}

	pw, given, err := o.givenPassword(stdio)
	if err != nil {
		return nil, err
	}
	switch {
	case given:
	case kerberosy && o.keytab != "":
		// The keytab is the credential.
	case c.method == authKerberos && o.principal == "":
		// The credential cache.
	case kerberosy && o.principal == "" && hasCCache(stdio):
		// A ticket cache and no password: Kerberos, asking nothing.
	default:
		who := c.user
		if o.principal != "" {
			who = o.principal
		}
		if pw, err = readLoginPassword(ctx, stdio, who); err != nil {
			return nil, err
		}
	}
	c.password = pw
	if c.method == authKerberos && pw != "" {
		c.krb.Password = pw
		if c.krb.Principal == "" {
			c.krb.Principal = c.user
		}
	}
	if kerberosy && c.method != authKerberos && o.principal != "" && pw != "" && o.keytab == "" {
		c.krb.Password = pw
	}
	o.creds = c
	return c, nil
}

// givenPassword returns the password of $PSREMOTE_PASSWORD or
// --password-file, and whether one was given.
func (o *connOptions) givenPassword(stdio IO) (string, bool, error) {
	if o.passwordFile != "" {
		pw, err := readPasswordFile(o.passwordFile)
		return pw, err == nil, err
	}
	if pw := stdio.Getenv(passwordEnv); pw != "" {
		return pw, true, nil
	}
	return "", false, nil
}

// maxPasswordFile bounds a password file.
const maxPasswordFile = 4096

// readPasswordFile reads the first line of a password file that only its
// owner can read.
func readPasswordFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", &usageError{fmt.Errorf("--password-file: %w", err)}
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", &usageError{fmt.Errorf("--password-file: %w", err)}
	}
	if !st.Mode().IsRegular() || st.Mode().Perm()&0o077 != 0 {
		return "", &usageError{fmt.Errorf("--password-file %s: must be a regular file readable by its owner only (chmod 600 %s)", path, path)}
	}
	data, err := io.ReadAll(io.LimitReader(f, maxPasswordFile+1))
	if err != nil {
		return "", &usageError{fmt.Errorf("--password-file: %w", err)}
	}
	if len(data) > maxPasswordFile {
		return "", &usageError{fmt.Errorf("--password-file %s: larger than %d bytes", path, maxPasswordFile)}
	}
	line, _, _ := strings.Cut(string(data), "\n")
	line = strings.TrimSuffix(line, "\r")
	if line == "" {
		return "", &usageError{fmt.Errorf("--password-file %s: the first line is empty", path)}
	}
	return line, nil
}

// krb5Conf returns the first existing file of $KRB5_CONFIG, "" for the
// default.
func krb5Conf(stdio IO) string {
	for _, p := range strings.Split(stdio.Getenv("KRB5_CONFIG"), ":") {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// hasCCache reports whether a file credential cache exists: $KRB5CCNAME
// ("FILE:" prefix allowed), else /tmp/krb5cc_<uid>.
func hasCCache(stdio IO) bool {
	p := stdio.Getenv("KRB5CCNAME")
	if p == "" {
		p = fmt.Sprintf("/tmp/krb5cc_%d", os.Getuid())
	}
	p = strings.TrimPrefix(p, "FILE:")
	if !strings.HasPrefix(p, "/") {
		return false
	}
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular() && st.Size() > 0
}

// describe adds what the user can do about an error, where there is
// something to do.
func (s *security) describe(err error, endpoint string) string {
	var ce *trust.ChangedError
	if errors.As(err, &ce) {
		return err.Error() + "\n  If the new certificate is legitimate (the host was reinstalled or its certificate renewed), run again with --accept-changed-cert to pin it."
	}
	if s == nil {
		return err.Error()
	}
	host := endpoint
	if u, perr := url.Parse(endpoint); perr == nil && u.Hostname() != "" {
		host = u.Hostname()
	}
	var ue *client.UntrustedHostError
	if errors.As(err, &ue) {
		var nt *trust.NotTrustedError
		if errors.As(s.cfg.PermitNTLM(host), &nt) {
			return err.Error() + "\n  To trust it: " + nt.Fix() + "."
		}
	}
	if errors.Is(err, trust.ErrUnencryptedNotAllowed) || errors.Is(err, trust.ErrNotTrustedHost) {
		if perr := s.cfg.PermitUnencrypted(host); perr != nil {
			return err.Error() + "\n  " + perr.Error()
		}
	}
	return err.Error()
}

// hintError is an error with advice appended to its text.
type hintError struct {
	err  error
	text string
}

func (e *hintError) Error() string { return e.text }
func (e *hintError) Unwrap() error { return e.err }

// explain returns err with the advice of [security.describe], if any.
func (o *connOptions) explain(err error, endpoint string) error {
	if err == nil || o.sec == nil {
		return err
	}
	if text := o.sec.describe(err, endpoint); text != err.Error() {
		return &hintError{err: err, text: text}
	}
	return err
}
