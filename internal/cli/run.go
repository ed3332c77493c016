package cli

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
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
	urlPrefix        string
	operationTimeout time.Duration
	connectTimeout   time.Duration
}

func (o *connOptions) register(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringSliceVarP(&o.hosts, "host", "H", nil, "target host(s), comma separated or repeated; host or host:port")
	f.StringVarP(&o.user, "user", "u", "", "user name (default: the local user name)")
	f.IntVar(&o.port, "port", 0, "port (default 5986, or 5985 with --http)")
	f.BoolVar(&o.useHTTP, "http", false, "use HTTP instead of HTTPS")
	f.BoolVar(&o.allowUnencrypted, "allow-unencrypted", false, "allow Basic authentication and plaintext SOAP over HTTP")
	f.StringVar(&o.caFile, "ca-file", "", "PEM file of CA certificates that verify the server (default: system roots)")
	f.BoolVar(&o.insecure, "insecure", false, "do not verify the server certificate (dangerous)")
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

func (o *connOptions) clientConfig(ctx context.Context, stdio IO, endpoint string, needPassword bool) (client.Config, error) {
	cfg := client.Config{Endpoint: endpoint, OperationTimeout: o.operationTimeout, ConnectTimeout: o.connectTimeout}
	if strings.HasPrefix(endpoint, "http://") && needPassword && !o.allowUnencrypted {
		return cfg, &usageError{errors.New("Basic authentication over HTTP sends the password in clear text: use HTTPS, or pass --allow-unencrypted")}
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if o.caFile != "" {
		pem, err := os.ReadFile(o.caFile)
		if err != nil {
			return cfg, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return cfg, fmt.Errorf("--ca-file %s: no PEM certificates", o.caFile)
		}
		tc.RootCAs = pool
	}
	tc.InsecureSkipVerify = o.insecure
	cfg.TLSConfig = tc
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

type runOptions struct {
	conn    connOptions
	timeout time.Duration
}

// exitStatus carries a process exit status through Run's error.
type exitStatus int

func (e exitStatus) Error() string { return fmt.Sprintf("exit status %d", int(e)) }
func (e exitStatus) ExitCode() int { return int(e) }

func newRunCmd(stdio IO) *cobra.Command {
	opts := &runOptions{}
	cmd := &cobra.Command{
		Use:   "run -H HOST[,HOST...] [flags] -- COMMAND [ARGS...]",
		Short: "Run a command on one or more hosts (Invoke-Command)",
		Long: `Run a command through a WinRS shell on each host, in parallel.

With one host, its stdout and stderr are copied as they arrive and psremote
exits with the remote exit code. With several hosts each output line is
prefixed with the host name; the exit status is 0 when every host ran the
command with exit code 0, 1 when any command failed or any host could not
be reached. The password comes from $PSREMOTE_PASSWORD or a prompt.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(opts.conn.hosts) == 0 {
				return &usageError{errors.New("no host: give -H HOST")}
			}
			return runRun(cmd.Context(), stdio, opts, args)
		},
	}
	opts.conn.register(cmd)
	cmd.Flags().DurationVar(&opts.timeout, "timeout", 0, "overall deadline per host (0: none)")
	return cmd
}

func runRun(ctx context.Context, stdio IO, opts *runOptions, args []string) error {
	cfgs := make([]client.Config, len(opts.conn.hosts))
	var pw *string
	for i, h := range opts.conn.hosts {
		ep, err := opts.conn.endpoint(h)
		if err != nil {
			return err
		}
		cfg, err := opts.conn.clientConfig(ctx, stdio, ep, pw == nil)
		if err != nil {
			return err
		}
		if pw == nil {
			pw = &cfg.Password
		} else {
			cfg.Username, cfg.Password = opts.conn.userName(stdio), *pw
		}
		cfgs[i] = cfg
	}
	single := len(cfgs) == 1
	var outMu sync.Mutex
	failed := 0
	lastCode := 0
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for i, cfg := range cfgs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			host := opts.conn.hosts[i]
			var stdout, stderr io.Writer = stdio.Out, stdio.Err
			var lw1, lw2 *lineWriter
			if !single {
				lw1 = &lineWriter{mu: &outMu, w: stdio.Out, prefix: host + ": "}
				lw2 = &lineWriter{mu: &outMu, w: stdio.Err, prefix: host + ": "}
				stdout, stderr = lw1, lw2
			}
			code, err := runOne(ctx, cfg, opts.timeout, args, stdout, stderr)
			if lw1 != nil {
				lw1.Flush()
				lw2.Flush()
			}
			outMu.Lock()
			defer outMu.Unlock()
			if err != nil {
				failed++
				fmt.Fprintf(stdio.Err, "psremote: %s: %v\n", host, err)
				lastCode = 1
				return
			}
			if code != 0 {
				failed++
				lastCode = code
			}
		}()
	}
	wg.Wait()
	if single && lastCode != 0 {
		return exitStatus(lastCode)
	}
	if failed > 0 {
		return exitStatus(1)
	}
	return nil
}

// runOne runs the command on one host, always deleting the shell.
func runOne(ctx context.Context, cfg client.Config, timeout time.Duration, args []string, stdout, stderr io.Writer) (int, error) {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	c, err := client.New(cfg)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	sh, err := c.CreateShell(ctx, client.ShellOptions{})
	if err != nil {
		return 0, err
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		sh.Close(dctx)
	}()
	cmd := sh.Command(args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	err = cmd.Run(ctx)
	var ee *client.ExitError
	if errors.As(err, &ee) {
		return ee.Code, nil
	}
	return 0, err
}

// lineWriter prefixes each complete line, holding a partial one.
type lineWriter struct {
	mu     *sync.Mutex
	w      io.Writer
	prefix string
	buf    bytes.Buffer
}

func (l *lineWriter) Write(p []byte) (int, error) {
	l.buf.Write(p)
	for {
		i := bytes.IndexByte(l.buf.Bytes(), '\n')
		if i < 0 {
			return len(p), nil
		}
		line := l.buf.Next(i + 1)
		l.mu.Lock()
		_, err := fmt.Fprintf(l.w, "%s%s", l.prefix, line)
		l.mu.Unlock()
		if err != nil {
			return 0, err
		}
	}
}

// Flush writes a final unterminated line.
func (l *lineWriter) Flush() {
	if l.buf.Len() > 0 {
		l.mu.Lock()
		fmt.Fprintf(l.w, "%s%s\n", l.prefix, l.buf.Bytes())
		l.mu.Unlock()
		l.buf.Reset()
	}
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
