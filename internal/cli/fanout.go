package cli

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/psremote/psremote/client"
	"github.com/psremote/psremote/internal/inventory"
)

// Exit statuses of `psremote run` with several hosts (Ansible's values).
const (
	exitHostsFailed  = 2   // a command exited non-zero (or timed out) on some host
	exitUnreachable  = 3   // some host could not be reached or refused the login
	exitInterrupted  = 130 // Ctrl-C
	exitSingleFailed = 255 // one host, which could not be reached (as ssh)
)

// defaultThrottle is Invoke-Command's ThrottleLimit.
const defaultThrottle = 32

type runOptions struct {
	conn      connOptions
	hostsFile string
	inventory string
	limit     string
	throttle  int
	script    string
	timeout   time.Duration
	json      bool
	progress  string
	// signals delivers SIGINT/SIGTERM; tests inject their own.
	signals <-chan os.Signal
}

// exitStatus carries a process exit status through Run's error.
type exitStatus int

func (e exitStatus) Error() string { return fmt.Sprintf("exit status %d", int(e)) }
func (e exitStatus) ExitCode() int { return int(e) }

func newRunCmd(stdio IO) *cobra.Command {
	opts := &runOptions{}
	cmd := &cobra.Command{
		Use:   "run [-H HOST,... | -f FILE | -i INVENTORY [--limit PATTERN]] [flags] -- COMMAND [ARGS...]",
		Short: "Run a command on one or many hosts (Invoke-Command)",
		Long: `Run a command through a WinRS shell on every target host, at most --throttle
hosts at a time.

Targets come from -H (host, host:port or a full URL, comma separated or
repeated), -f FILE (one host per line, or an Ansible inventory), and
-i INVENTORY (an Ansible INI or YAML inventory) narrowed by --limit (groups,
host names, globs, "web:&prod:!web3"). ansible_host, ansible_port,
ansible_user, ansible_winrm_scheme and ansible_winrm_path are honoured;
passwords never come from inventories.

--script FILE runs a local shell script on every host: it is sent on the
standard input of /bin/sh -s, and "-- arg1 arg2" become its arguments
(Linux and Unix targets).

Output: with one host, its stdout and stderr stream through unchanged. With
several, every line is prefixed with "host: ". With --json, one JSON object
per host is printed when it finishes: {"host", "exit_code", "stdout",
"stderr", "duration_ms", "error"} (stdout_base64/stderr_base64 replace
stdout/stderr for output that is not UTF-8); a progress line is shown on a
terminal. A summary goes to stderr when there are several hosts.

Ctrl-C sends ctrl_c to every running command; a second Ctrl-C terminates
them. Every shell is deleted on every path.

Exit status: with one host, the remote command's exit code, or 255 when
the host could not be reached or refused the login. With several hosts:
0 when every command exited 0, 2 when some command failed (non-zero exit
or --timeout), 3 when some host could not be reached, 130 after Ctrl-C.`,
		Annotations: map[string]string{annotSignals: "own"},
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 && opts.script == "" {
				return &usageError{errors.New("no command: give -- COMMAND [ARGS...] or --script FILE")}
			}
			if opts.throttle < 1 {
				return &usageError{errors.New("--throttle must be at least 1")}
			}
			return runRun(cmd.Context(), stdio, opts, args)
		},
	}
	opts.conn.register(cmd)
	f := cmd.Flags()
	f.StringVarP(&opts.hostsFile, "hosts-file", "f", "", "file of target hosts: one per line, or an Ansible inventory")
	f.StringVarP(&opts.inventory, "inventory", "i", "", "Ansible INI or YAML inventory")
	f.StringVar(&opts.limit, "limit", "all", "inventory host pattern (groups, hosts, globs; ':' union, '&' intersection, '!' exclusion)")
	f.IntVar(&opts.throttle, "throttle", defaultThrottle, "hosts handled at once")
	f.StringVar(&opts.script, "script", "", "local script file to run remotely through standard input")
	f.DurationVar(&opts.timeout, "timeout", 0, "overall deadline per host, e.g. 30s (0: none)")
	f.BoolVar(&opts.json, "json", false, "print one JSON object per host")
	f.StringVar(&opts.progress, "progress", "auto", "progress line on stderr with --json: auto (on a terminal), always, never")
	return cmd
}

// target is one host to run on.
type target struct {
	name     string // as shown in output
	endpoint string
	user     string // from the inventory, when -u is absent
}

func (o *runOptions) targets(stdio IO) ([]target, error) {
	var out []target
	seen := map[string]bool{}
	add := func(t target) {
		if !seen[t.endpoint] {
			seen[t.endpoint] = true
			out = append(out, t)
		}
	}
	for _, h := range o.conn.hosts {
		ep, err := o.conn.endpoint(h)
		if err != nil {
			return nil, err
		}
		add(target{name: h, endpoint: ep})
	}
	for _, file := range []string{o.hostsFile, o.inventory} {
		if file == "" {
			continue
		}
		inv, err := inventory.Load(file)
		if err != nil {
			return nil, err
		}
		pattern := "all"
		if file == o.inventory {
			pattern = o.limit
		}
		hosts, err := inv.Select(pattern)
		if err != nil {
			return nil, err
		}
		for _, h := range hosts {
			ep, err := o.inventoryEndpoint(h)
			if err != nil {
				return nil, fmt.Errorf("%s: host %s: %w", file, h.Name, err)
			}
			add(target{name: h.Name, endpoint: ep, user: h.Connection().User})
		}
		for _, w := range inv.Warnings() {
			fmt.Fprintf(stdio.Err, "psremote: %s: %s\n", file, w)
		}
	}
	if len(out) == 0 {
		return nil, &usageError{errors.New("no target hosts: give -H, -f or -i")}
	}
	return out, nil
}

// inventoryEndpoint builds the listener URL of an inventory host,
// honouring the ansible_winrm_* variables over the command-line defaults.
func (o *runOptions) inventoryEndpoint(h inventory.Host) (string, error) {
	c := o.conn
	conn := h.Connection()
	switch conn.Scheme {
	case "http":
		c.useHTTP = true
	case "https":
		c.useHTTP = false
	}
	if conn.Path != "" {
		c.urlPrefix = strings.Trim(conn.Path, "/")
	}
	if h.Port != 0 {
		c.port = h.Port
	}
	host := h.Address
	if host == "" {
		host = h.Name
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]" // IPv6 literal
	}
	return c.endpoint(host)
}

// hostResult is the outcome on one host; it is also the --json record.
type hostResult struct {
	Host         string  `json:"host"`
	ExitCode     *int    `json:"exit_code"`
	Stdout       *string `json:"stdout,omitempty"`
	Stderr       *string `json:"stderr,omitempty"`
	StdoutBase64 string  `json:"stdout_base64,omitempty"`
	StderrBase64 string  `json:"stderr_base64,omitempty"`
	DurationMS   int64   `json:"duration_ms"`
	Error        string  `json:"error,omitempty"`

	unreachable bool
}

func setOutput(text **string, b64 *string, data []byte) {
	if utf8.Valid(data) {
		s := string(data)
		*text = &s
		return
	}
	*b64 = base64.StdEncoding.EncodeToString(data)
}

// running tracks the commands in flight, to forward Ctrl-C to them.
type running struct {
	mu          sync.Mutex
	cmds        map[*client.Cmd]struct{}
	interrupted bool // a Ctrl-C was forwarded
}

// add registers a started command; it reports false when a Ctrl-C was
// already forwarded, which the caller must then forward itself.
func (r *running) add(c *client.Cmd) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cmds[c] = struct{}{}
	return !r.interrupted
}

func (r *running) remove(c *client.Cmd) {
	r.mu.Lock()
	delete(r.cmds, c)
	r.mu.Unlock()
}

func (r *running) ctrlC() {
	r.mu.Lock()
	r.interrupted = true
	cmds := make([]*client.Cmd, 0, len(r.cmds))
	for c := range r.cmds {
		cmds = append(cmds, c)
	}
	r.mu.Unlock()
	var wg sync.WaitGroup
	for _, c := range cmds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = c.Signal(sctx, client.SignalCtrlC)
		}()
	}
	wg.Wait()
}

func runRun(ctx context.Context, stdio IO, opts *runOptions, args []string) error {
	targets, err := opts.targets(stdio)
	if err != nil {
		return err
	}
	var script []byte
	if opts.script != "" {
		if script, err = os.ReadFile(opts.script); err != nil {
			return fmt.Errorf("--script: %w", err)
		}
		// The script runs under /bin/sh; "-- a b" are its arguments. The
		// server runs the command line through sh -c, so each argument
		// is quoted to arrive as exactly one word.
		quoted := make([]string, len(args))
		for i, a := range args {
			quoted[i] = shellQuote(a)
		}
		args = append([]string{"/bin/sh", "-s", "--"}, quoted...)
	}
	// One set of credentials for every host (one prompt).
	if _, err := opts.conn.loadSecurity(stdio); err != nil {
		return err
	}
	if _, err := opts.conn.credentials(ctx, stdio); err != nil {
		return err
	}
	// Each host gets its own transport security (pinning is per host:port;
	// NTLM and Basic over HTTP need TrustedHosts); refuse the whole run
	// before sending anything if any host may not receive the password.
	cfgs := make([]client.Config, len(targets))
	for i, t := range targets {
		cfg, err := opts.conn.clientConfig(ctx, stdio, t.endpoint, true, t.user)
		if err != nil {
			return fmt.Errorf("%s: %w", t.name, err)
		}
		cfgs[i] = cfg
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sigs := opts.signals
	if sigs == nil {
		ch := make(chan os.Signal, 2)
		signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
		defer signal.Stop(ch)
		sigs = ch
	}
	live := &running{cmds: map[*client.Cmd]struct{}{}}
	var interrupted sync.Once
	interruptedFlag := make(chan struct{})
	sigDone := make(chan struct{})
	defer close(sigDone)
	go func() {
		ctrlCs := 0
		for {
			select {
			case <-sigDone:
				return
			case s := <-sigs:
				interrupted.Do(func() { close(interruptedFlag) })
				if s == syscall.SIGTERM || ctrlCs > 0 {
					cancel()
					continue
				}
				ctrlCs++
				fmt.Fprintln(stdio.Err, "psremote: sending ctrl_c to the running commands; Ctrl-C again to terminate them")
				go live.ctrlC()
			}
		}
	}()

	single := len(targets) == 1 && !opts.json
	var outMu sync.Mutex
	prog := newProgress(stdio, opts, len(targets))
	results := make([]hostResult, len(targets))
	var wg sync.WaitGroup
	sem := make(chan struct{}, opts.throttle)
	start := time.Now()
	for i, t := range targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				results[i] = hostResult{Host: t.name, Error: "not started: " + ctx.Err().Error()}
				return
			case <-interruptedFlag:
				results[i] = hostResult{Host: t.name, Error: "not started: interrupted"}
				return
			}
			defer func() { <-sem }()
			select {
			case <-interruptedFlag:
				// Interrupted while this host waited for a slot.
				results[i] = hostResult{Host: t.name, Error: "not started: interrupted"}
				return
			default:
			}
			cfg := cfgs[i]
			var stdout, stderr io.Writer
			var bufOut, bufErr bytes.Buffer
			var lw1, lw2 *lineWriter
			switch {
			case opts.json:
				stdout, stderr = &bufOut, &bufErr
			case single:
				stdout, stderr = stdio.Out, stdio.Err
			default:
				lw1 = &lineWriter{mu: &outMu, w: stdio.Out, prefix: t.name + ": "}
				lw2 = &lineWriter{mu: &outMu, w: stdio.Err, prefix: t.name + ": "}
				stdout, stderr = lw1, lw2
			}
			t0 := time.Now()
			code, started, err := runOne(ctx, cfg, opts.timeout, args, script, stdout, stderr, live)
			if lw1 != nil {
				lw1.Flush()
				lw2.Flush()
			}
			r := hostResult{Host: t.name, DurationMS: time.Since(t0).Milliseconds()}
			if err != nil {
				r.Error = opts.conn.sec.describe(err, t.endpoint)
				r.unreachable = !started
			} else {
				r.ExitCode = &code
			}
			if opts.json {
				setOutput(&r.Stdout, &r.StdoutBase64, bufOut.Bytes())
				setOutput(&r.Stderr, &r.StderrBase64, bufErr.Bytes())
			}
			results[i] = r
			outMu.Lock()
			defer outMu.Unlock()
			prog.clear()
			if opts.json {
				line, _ := json.Marshal(r)
				stdio.Out.Write(append(line, '\n'))
			} else if err != nil {
				fmt.Fprintf(stdio.Err, "psremote: %s: %s\n", t.name, opts.conn.sec.describe(err, t.endpoint))
			}
			prog.done(r)
		}()
	}
	wg.Wait()
	prog.clear()

	var ok, failed, unreachable int
	lastCode := 0
	for _, r := range results {
		switch {
		case r.unreachable:
			unreachable++
		case r.Error != "" || r.ExitCode == nil || *r.ExitCode != 0:
			failed++
			if r.ExitCode != nil {
				lastCode = *r.ExitCode
			}
		default:
			ok++
		}
	}
	if len(targets) > 1 || opts.json {
		fmt.Fprintf(stdio.Err, "psremote: %d succeeded, %d failed, %d unreachable (%d hosts, %.1fs)\n",
			ok, failed, unreachable, len(targets), time.Since(start).Seconds())
	}
	select {
	case <-interruptedFlag:
		return exitStatus(exitInterrupted)
	default:
	}
	if len(targets) == 1 {
		switch {
		case unreachable > 0 || (failed > 0 && results[0].ExitCode == nil):
			return exitStatus(exitSingleFailed)
		case lastCode != 0:
			return exitStatus(lastCode)
		}
		return nil
	}
	switch {
	case unreachable > 0:
		return exitStatus(exitUnreachable)
	case failed > 0:
		return exitStatus(exitHostsFailed)
	}
	return nil
}

// shellQuote quotes s for a POSIX shell: 'it'\”s'.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// runOne runs the command on one host, always deleting the shell. started
// reports whether the host was reached (the shell was created).
func runOne(ctx context.Context, cfg client.Config, timeout time.Duration, args []string, script []byte,
	stdout, stderr io.Writer, live *running) (code int, started bool, err error) {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	c, err := client.New(cfg)
	if err != nil {
		return 0, false, err
	}
	defer c.Close()
	sh, err := c.CreateShell(ctx, client.ShellOptions{})
	if err != nil {
		return 0, false, err
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		sh.Close(dctx)
	}()
	cmd := sh.Command(args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if script != nil {
		cmd.Stdin = bytes.NewReader(script)
	}
	if err := cmd.Start(ctx); err != nil {
		return 0, true, err
	}
	if !live.add(cmd) {
		// Ctrl-C came while this command was starting.
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_ = cmd.Signal(sctx, client.SignalCtrlC)
		cancel()
	}
	err = cmd.Wait()
	live.remove(cmd)
	var ee *client.ExitError
	if errors.As(err, &ee) {
		return ee.Code, true, nil
	}
	if errors.Is(err, context.DeadlineExceeded) && timeout > 0 {
		return 0, true, fmt.Errorf("timed out after %v", timeout)
	}
	return 0, true, err
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

// progress draws "[####......] 12/100  ok 10  failed 1  unreachable 1"
// on stderr. All methods are called with the output lock held.
type progress struct {
	w                 io.Writer
	on                bool
	total, n          int
	ok, bad, down     int
	lastDraw          time.Time
	drawn             bool
	minRedrawInterval time.Duration
}

func newProgress(stdio IO, opts *runOptions, total int) *progress {
	p := &progress{w: stdio.Err, total: total, minRedrawInterval: 100 * time.Millisecond}
	switch opts.progress {
	case "always":
		p.on = opts.json
	case "never":
	default:
		if f, ok := stdio.Err.(*os.File); ok && opts.json && total > 1 && term.IsTerminal(int(f.Fd())) {
			p.on = true
		}
	}
	return p
}

func (p *progress) done(r hostResult) {
	if !p.on {
		return
	}
	p.n++
	switch {
	case r.unreachable:
		p.down++
	case r.Error != "" || r.ExitCode == nil || *r.ExitCode != 0:
		p.bad++
	default:
		p.ok++
	}
	if p.n < p.total && time.Since(p.lastDraw) < p.minRedrawInterval {
		return
	}
	const width = 30
	fill := p.n * width / p.total
	fmt.Fprintf(p.w, "\r[%s%s] %s/%d  ok %d  failed %d  unreachable %d", strings.Repeat("#", fill), strings.Repeat(".", width-fill),
		strconv.Itoa(p.n), p.total, p.ok, p.bad, p.down)
	p.lastDraw = time.Now()
	p.drawn = true
}

// clear erases the progress line before other output.
func (p *progress) clear() {
	if p.on && p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
		p.drawn = false
	}
}
