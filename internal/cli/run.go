package cli

import (
	"context"
	"encoding/json"
	"fmt"
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

	sec *security // loaded once per invocation
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
// CA verification or pinning on HTTPS; on HTTP, Basic credentials only to
// trusted hosts with AllowUnencrypted (winrm-protocol.md 8.2).
func (s *security) secure(cfg *client.Config, sendsPassword bool) error {
	u, err := url.Parse(cfg.Endpoint)
	if err != nil {
		return &usageError{fmt.Errorf("endpoint %q: %w", cfg.Endpoint, err)}
	}
	if u.Scheme == "http" {
		if sendsPassword {
			if err := s.cfg.PermitUnencrypted(u.Hostname()); err != nil {
				return &usageError{err}
			}
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

func (o *connOptions) clientConfig(ctx context.Context, stdio IO, endpoint string, needPassword bool) (client.Config, error) {
	cfg := client.Config{Endpoint: endpoint, OperationTimeout: o.operationTimeout, ConnectTimeout: o.connectTimeout}
	sec, err := o.loadSecurity(stdio)
	if err != nil {
		return cfg, err
	}
	if err := sec.secure(&cfg, needPassword); err != nil {
		return cfg, err
	}
	if needPassword {
		cfg.Username = o.userName(stdio)
		pw, err := readLoginPassword(ctx, stdio, cfg.Username)
		if err != nil {
			return cfg, err
		}
		cfg.Password = pw
	}
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
	return "", &usageError{fmt.Errorf("no password: set %s or run on a terminal", passwordEnv)}
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
			cfg, err := opts.conn.clientConfig(cmd.Context(), stdio, ep, opts.authenticated)
			if err != nil {
				return err
			}
			c, err := client.New(cfg)
			if err != nil {
				return err
			}
			defer c.Close()
			info, err := c.Identify(cmd.Context(), !opts.authenticated)
			if err != nil {
				return err
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
