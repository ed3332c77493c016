package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/psremote/psremote/auth"
	"github.com/psremote/psremote/auth/accounts"
	"github.com/psremote/psremote/auth/cbt"
	"github.com/psremote/psremote/auth/certmap"
	"github.com/psremote/psremote/auth/kerberos"
	"github.com/psremote/psremote/auth/negotiate"
	"github.com/psremote/psremote/auth/pam"
	"github.com/psremote/psremote/auth/throttle"
	"github.com/psremote/psremote/auth/winbind"
	"github.com/psremote/psremote/client/trust"
	"github.com/psremote/psremote/internal/config"
	"github.com/psremote/psremote/internal/identity"
	"github.com/psremote/psremote/internal/listener"
	"github.com/psremote/psremote/internal/proc"
	"github.com/psremote/psremote/internal/service"
	"github.com/psremote/psremote/internal/shell"
	"github.com/psremote/psremote/wsman"
)

// Version is the psremote version, set at link time.
var Version = "0.1.0-dev"

// shutdownGrace bounds how long in-flight requests may take to finish
// after SIGTERM, once every child process has been ended.
const shutdownGrace = 15 * time.Second

type serveOptions struct {
	configFile string
	stateDir   string
	logLevel   string
}

func newServeCmd(stdio IO) *cobra.Command {
	opts := &serveOptions{}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the WinRM / WS-Management server",
		Long: `Run the WinRM server. Without --config it listens on HTTPS 127.0.0.1:5986 with a
self-signed certificate created once in the state directory, and accepts
Negotiate (NTLM against the psremote account store, see "psremote user add";
Kerberos when /etc/krb5.keytab exists) and Basic (the account store and, when
run as root, PAM). SIGTERM or SIGINT drains in-flight requests, ends every
child process and exits 0; a second signal exits at once.`,
		Args:        cobra.NoArgs,
		Annotations: map[string]string{annotSignals: "own"},
		RunE: func(cmd *cobra.Command, args []string) error {
			return serveRun(cmd.Context(), stdio, opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.configFile, "config", "", "YAML configuration file (WinRM setting names; see docs/psremote.yaml)")
	f.StringVar(&opts.stateDir, "state-dir", "", "state directory (overrides StateDir)")
	f.StringVar(&opts.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	return cmd
}

func loadConfig(file, stateDir string) (*config.Config, error) {
	var cfg *config.Config
	var err error
	if file != "" {
		cfg, err = config.Load(file)
		if err != nil {
			return nil, err
		}
	} else {
		cfg = config.Default()
	}
	if stateDir != "" {
		cfg.StateDir = stateDir
		if !strings.HasPrefix(cfg.Service.CertificateDirectory, "/") || file == "" {
			cfg.Service.CertificateDirectory = filepath.Join(stateDir, "certs")
		}
	}
	return cfg, nil
}

func serveRun(ctx context.Context, stdio IO, opts *serveOptions) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(opts.logLevel)); err != nil {
		return &usageError{fmt.Errorf("--log-level: %w", err)}
	}
	logger := slog.New(slog.NewTextHandler(stdio.Err, &slog.HandlerOptions{Level: level}))
	cfg, err := loadConfig(opts.configFile, opts.stateDir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(cfg.StateDir, 0o700); err != nil {
		return fmt.Errorf("state directory: %w", err)
	}
	self, err := identity.Current()
	if err != nil {
		return err
	}

	host := proc.NewHost(self)
	mechs, closeMechs, err := buildMechanisms(cfg, self, host, logger)
	if err != nil {
		return err
	}
	defer closeMechs()
	endpoints, err := buildEndpoints(cfg)
	if err != nil {
		return err
	}

	eng := shell.New(shell.Config{
		AllowRemoteShellAccess: cfg.Winrs.AllowRemoteShellAccess,
		IdleTimeout:            cfg.IdleTimeout(),
		MaxShellsPerUser:       cfg.Winrs.MaxShellsPerUser,
		MaxConcurrentUsers:     cfg.Winrs.MaxConcurrentUsers,
		MaxOperationsPerUser:   cfg.Service.MaxConcurrentOperationsPerUser,
		OutputBuffer:           int(cfg.Winrs.MaxOutputBufferKB) << 10,
	}, host)
	svc := service.New(service.Config{
		Machine:          cfg.Service.Machine,
		MaxEnvelopeSize:  int(cfg.MaxEnvelopeSizekb) << 10,
		MaxTimeout:       cfg.MaxTimeout(),
		MaxBatchItems:    int(cfg.MaxBatchItems),
		AdminGroups:      cfg.Service.AdministratorGroups,
		ServerUser:       self,
		ProductVendor:    "psremote",
		ProductVersion:   productVersion(),
		SecurityProfiles: securityProfiles(mechs),
		Logger:           logger,
	}, eng)
	cas, err := clientCAs(cfg)
	if err != nil {
		return err
	}
	var limiter *throttle.Limiter
	if cfg.Service.Auth.LoginThrottle {
		limiter = throttle.New(throttle.Config{})
	}
	srv := listener.New(listener.Config{
		Endpoints:          endpoints,
		Mechanisms:         mechs,
		ClientCAs:          cas,
		Limiter:            limiter,
		MaxEnvelopeSize:    int(cfg.MaxEnvelopeSizekb) << 10,
		MaxPacketRetrieval: time.Duration(cfg.Service.MaxPacketRetrievalTimeSeconds) * time.Second,
		Service:            svc,
		AllowUnencrypted:   cfg.Service.AllowUnencrypted,
		Logger:             logger,
	})

	// Our own signal handling: the first SIGTERM/SIGINT drains, the second
	// ends everything at once.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)

	bound, err := srv.Start()
	if err != nil {
		closeCtx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		eng.Close(closeCtx)
		host.Close(closeCtx)
		return err
	}
	for _, b := range bound {
		line := fmt.Sprintf("psremote: listening %s %s", b.Transport, b.URL)
		if b.Thumbprint != "" {
			line += " thumbprint=" + b.Thumbprint + " sha256=" + b.Fingerprint256
		}
		fmt.Fprintln(stdio.Err, line)
	}
	warnUnusableHTTP(stdio, cfg, mechs)

	var serveErr error
	select {
	case <-sigs:
	case <-ctx.Done():
	case serveErr = <-srv.Err():
	}
	fmt.Fprintln(stdio.Err, "psremote: shutting down")
	go func() {
		<-sigs
		fmt.Fprintln(stdio.Err, "psremote: second signal, exiting now")
		killCtx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		host.Close(killCtx)
		os.Exit(1)
	}()

	// Stop accepting and let in-flight requests finish; end the shells
	// (and every child) at once so long-polls complete promptly.
	shutCtx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- srv.Shutdown(shutCtx) }()
	eng.Close(shutCtx)
	if err := host.Close(shutCtx); err != nil {
		logger.Error("children did not exit", "err", err)
	}
	if err := <-done; err != nil {
		logger.Warn("shutdown", "err", err)
	}
	return serveErr
}

func productVersion() string {
	var u syscall.Utsname
	rel := "0.0.0"
	if err := syscall.Uname(&u); err == nil {
		b := make([]byte, 0, len(u.Release))
		for _, c := range u.Release {
			if c == 0 {
				break
			}
			b = append(b, byte(c))
		}
		// Keep the numeric part: "6.1.0-18-amd64" -> "6.1.0".
		rel = string(b)
		if i := strings.IndexFunc(rel, func(r rune) bool { return r != '.' && (r < '0' || r > '9') }); i > 0 {
			rel = rel[:i]
		}
	}
	return "OS: " + rel + " SP: 0.0 Stack: 3.0"
}

// securityProfiles lists the security profiles of authenticated Identify
// replies (MS-WSMV 3.1.4.1.29.2), for the request's transport, in the
// order Windows lists them: basic, spnego-kerberos (for Negotiate or
// Kerberos; MS-WSMV defines no NTLM profile), mutual.
func securityProfiles(mechs []auth.Mechanism) func(secure bool) []string {
	return func(secure bool) []string {
		transport := "http/"
		if secure {
			transport = "https/"
		}
		var basic, spnego, mutual bool
		for _, m := range mechs {
			switch m.Scheme() {
			case "Basic":
				basic = true
			case negotiate.SchemeNegotiate, negotiate.SchemeKerberos:
				spnego = true
			case certmap.AuthorizationURI:
				mutual = secure
			}
		}
		var out []string
		if basic {
			out = append(out, wsman.SecProfilePrefix+transport+"basic")
		}
		if spnego {
			out = append(out, wsman.SecProfilePrefix+transport+"spnego-kerberos")
		}
		if mutual {
			out = append(out, certmap.AuthorizationURI)
		}
		return out
	}
}

// buildMechanisms returns the enabled schemes in the order their
// challenges are advertised, Windows' order: Negotiate, Kerberos, Basic
// (then the certificate scheme, which advertises none).
func buildMechanisms(cfg *config.Config, self identity.User, host *proc.Host, logger *slog.Logger) (mechs []auth.Mechanism, closeFn func(), err error) {
	closeFn = func() {}
	neg, wb, err := buildNegotiate(cfg, self, host, logger)
	if err != nil {
		return nil, closeFn, err
	}
	if wb != nil {
		closeFn = wb.Close
	}
	if neg != nil {
		if cfg.Service.Auth.Negotiate {
			mechs = append(mechs, neg)
		}
		if k := neg.KerberosScheme(); k != nil && cfg.Service.Auth.Kerberos {
			mechs = append(mechs, k)
		}
	}
	if cfg.Service.Auth.Basic {
		var sources []auth.PasswordVerifier
		for _, src := range cfg.Service.Auth.BasicSources {
			switch src {
			case "store":
				sources = append(sources, accounts.Open(filepath.Join(cfg.StateDir, "accounts")))
			case "pam":
				sources = append(sources, pam.New(cfg.Service.Auth.PAMService))
			}
		}
		mechs = append(mechs, auth.NewBasic(auth.BasicConfig{
			Sources:          sources,
			Resolve:          resolver(self),
			AllowUnencrypted: cfg.Service.AllowUnencrypted,
		}))
	}
	if cfg.Service.Auth.Certificate {
		rules := make([]certmap.Rule, len(cfg.CertMapping))
		for i, m := range cfg.CertMapping {
			rules[i] = certmap.Rule{Issuer: m.Issuer, Subject: m.Subject, URI: m.URI, UserName: m.UserName, Enabled: *m.Enabled}
		}
		mapper, err := certmap.NewMapper(rules)
		if err != nil {
			closeFn()
			return nil, func() {}, fmt.Errorf("CertMapping: %w", err)
		}
		// Mapped accounts are real local accounts whatever user the
		// server runs as.
		mechs = append(mechs, certmap.NewMechanism(mapper, func(principal, _ string) (identity.User, error) {
			return identity.Lookup(principal)
		}))
	}
	return mechs, closeFn, nil
}

// buildNegotiate returns the Negotiate mechanism (whose KerberosScheme is
// the Kerberos scheme), or nil when neither scheme is enabled or neither
// NTLM nor Kerberos is available.
func buildNegotiate(cfg *config.Config, self identity.User, host *proc.Host, logger *slog.Logger) (*negotiate.Mechanism, *winbind.Validator, error) {
	a := cfg.Service.Auth
	if !a.Negotiate && !a.Kerberos {
		return nil, nil, nil
	}
	policy, err := cbt.ParsePolicy(a.CbtHardeningLevel)
	if err != nil {
		return nil, nil, fmt.Errorf("Service.Auth.CbtHardeningLevel: %w", err)
	}
	var wb *winbind.Validator
	nc := negotiate.Config{CBT: policy, Resolve: resolverWith(self, a.Winbind.DefaultDomain)}
	if a.Negotiate {
		for _, src := range a.NTLMSources {
			switch src {
			case "store":
				store := accounts.Open(filepath.Join(cfg.StateDir, "accounts"))
				nc.NTLMSources = append(nc.NTLMSources, negotiate.StoreSource(store.NTHash))
			case "winbind":
				// Active Directory users: Samba's ntlm_auth asks winbindd,
				// which asks a domain controller.
				env := append([]string{"PATH=/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin", "LANG=C"}, a.Winbind.Env...)
				wb = winbind.New(winbind.Config{Host: host, User: self, Path: a.Winbind.Helper, Args: a.Winbind.Args, Env: env})
				nc.NTLMSources = append(nc.NTLMSources, negotiate.NTLMSource{Name: "winbind", Validator: wb})
			}
		}
	}
	fail := func(err error) (*negotiate.Mechanism, *winbind.Validator, error) {
		if wb != nil {
			wb.Close()
		}
		return nil, nil, err
	}
	nc.Kerberos, nc.PrincipalMap, err = kerberosAcceptor(cfg, logger)
	if err != nil {
		return fail(err)
	}
	if len(nc.NTLMSources) == 0 && nc.Kerberos == nil {
		logger.Warn("Negotiate is not offered: no NTLM account source and no Kerberos keytab")
		return fail(nil)
	}
	neg, err := negotiate.New(nc)
	if err != nil {
		return fail(err)
	}
	return neg, wb, nil
}

// kerberosAcceptor loads the keytab for Kerberos: Service.Auth.Keytab, or
// /etc/krb5.keytab when it exists. Without a usable keytab Kerberos is not
// offered (an explicitly named keytab that cannot be read is an error).
// The principal map's default realm is the keytab's.
func kerberosAcceptor(cfg *config.Config, logger *slog.Logger) (*kerberos.Acceptor, *kerberos.PrincipalMap, error) {
	path, explicit := cfg.Service.Auth.Keytab, cfg.Service.Auth.Keytab != ""
	if !explicit {
		if _, err := os.Stat(config.DefaultKeytab); err != nil {
			logger.Info("Kerberos is not offered: no keytab (set Service.Auth.Keytab)", "default", config.DefaultKeytab)
			return nil, nil, nil
		}
		path = config.DefaultKeytab
	}
	fail := func(err error) (*kerberos.Acceptor, *kerberos.PrincipalMap, error) {
		if explicit {
			return nil, nil, fmt.Errorf("Service.Auth.Keytab: %w", err)
		}
		logger.Warn("Kerberos is not offered", "keytab", path, "err", err)
		return nil, nil, nil
	}
	kt, err := kerberos.LoadKeytab(path)
	if err != nil {
		return fail(err)
	}
	realm := ""
	for _, e := range kt.Entries {
		if len(e.Principal.Components) == 2 && (strings.EqualFold(e.Principal.Components[0], "HTTP") ||
			strings.EqualFold(e.Principal.Components[0], "WSMAN")) {
			realm = e.Principal.Realm
			break
		}
	}
	if realm == "" {
		return fail(fmt.Errorf("%s holds no HTTP/<host> or WSMAN/<host> key", path))
	}
	acc, err := kerberos.NewAcceptor(kerberos.AcceptorConfig{Keytab: kt})
	if err != nil {
		return fail(err)
	}
	pmap := kerberos.NewPrincipalMap(realm, nil)
	if f := cfg.Service.Auth.PrincipalMapFile; f != "" {
		if pmap, err = kerberos.LoadPrincipalMap(f, realm); err != nil {
			return nil, nil, fmt.Errorf("Service.Auth.PrincipalMapFile: %w", err)
		}
	}
	logger.Info("Kerberos is offered", "keytab", path, "realm", realm)
	return acc, pmap, nil
}

// clientCAs loads Service.Auth.ClientCAFile when certificate
// authentication is on.
func clientCAs(cfg *config.Config) (*x509.CertPool, error) {
	if !cfg.Service.Auth.Certificate {
		return nil, nil
	}
	pool, err := trust.LoadCertPool(cfg.Service.Auth.ClientCAFile)
	if err != nil {
		return nil, fmt.Errorf("Service.Auth.ClientCAFile: %w", err)
	}
	return pool, nil
}

// resolver maps an authenticated name to a local identity. On a root
// server every account must be a real local account. On a non-root
// server, account-store users are the server's own delegates and act as
// the server's user; PAM users are themselves.
func resolver(self identity.User) auth.Resolver {
	return resolverWith(self, "")
}

// resolverWith is resolver with winbind's default domain: a "winbind"
// login DOMAIN\user of that domain is the local account "user", as with
// Samba's `winbind use default domain`.
func resolverWith(self identity.User, winbindDefaultDomain string) auth.Resolver {
	return func(principal, source string) (identity.User, error) {
		if !self.IsRoot() && source == "store" {
			return self, nil
		}
		if source == "winbind" && winbindDefaultDomain != "" {
			if dom, user, ok := strings.Cut(principal, `\`); ok && strings.EqualFold(dom, winbindDefaultDomain) {
				principal = user
			}
		}
		return identity.Lookup(principal)
	}
}

func buildEndpoints(cfg *config.Config) ([]listener.Endpoint, error) {
	var eps []listener.Endpoint
	var selfSigned *tls.Certificate
	for i, l := range cfg.Listeners {
		if !*l.Enabled {
			continue
		}
		ep := listener.Endpoint{Transport: l.Transport, URLPrefix: l.URLPrefix,
			Addr: net.JoinHostPort(bindHost(l.Address), strconv.Itoa(*l.Port))}
		if l.Transport == config.TransportHTTPS {
			var cert tls.Certificate
			var err error
			switch {
			case l.CertificateFile != "":
				cert, err = listener.LoadKeyPair(l.CertificateFile, l.KeyFile)
			case l.CertificateThumbprint != "":
				cert, err = listener.FindByThumbprint(cfg.Service.CertificateDirectory, l.CertificateThumbprint)
			default:
				if selfSigned == nil {
					c, e := listener.SelfSigned(cfg.StateDir)
					cert, err = c, e
					selfSigned = &c
				} else {
					cert = *selfSigned
				}
			}
			if err != nil {
				return nil, fmt.Errorf("Listeners[%d]: %w", i, err)
			}
			ep.Certificate = &cert
		}
		eps = append(eps, ep)
	}
	if len(eps) == 0 {
		return nil, fmt.Errorf("config: no enabled listener")
	}
	return eps, nil
}

// bindHost turns WinRM's listener Address ("*", "IP:a.b.c.d") into a
// host to bind.
func bindHost(addr string) string {
	switch {
	case addr == "*":
		return ""
	case strings.HasPrefix(strings.ToUpper(addr), "IP:"):
		return addr[3:]
	}
	return addr
}

func warnUnusableHTTP(stdio IO, cfg *config.Config, mechs []auth.Mechanism) {
	for _, l := range cfg.Listeners {
		if *l.Enabled && l.Transport == config.TransportHTTP {
			usable := false
			for _, m := range mechs {
				if _, ok := m.Challenge(false); ok {
					usable = true
				}
			}
			if !usable {
				fmt.Fprintln(stdio.Err, "psremote: warning: no authentication scheme is usable on the HTTP listener (enable Service.Auth.Negotiate; Basic needs Service.AllowUnencrypted: true)")
			}
			return
		}
	}
}
