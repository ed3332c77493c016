package winbind

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/psremote/psremote/auth/ntlm"
	"github.com/psremote/psremote/internal/identity"
	"github.com/psremote/psremote/internal/proc"
)

// Defaults.
const (
	// DefaultPath is the helper looked up in the PATH of Config.Env.
	DefaultPath = "ntlm_auth"
	// DefaultWorkers is how many helper processes may run at once.
	DefaultWorkers = 2
	// DefaultTimeout bounds one verification.
	DefaultTimeout = 15 * time.Second
	// maxReplyLine bounds one line of helper output.
	maxReplyLine = 4096
	// maxReplyLines bounds one reply.
	maxReplyLines = 32
)

// ErrHelper means the helper failed (could not start, died, answered
// nonsense or not in time): the account source is unavailable, which is
// not the same as bad credentials.
var ErrHelper = errors.New("winbind: ntlm_auth helper failed")

// Starter starts a process; *proc.Host is one.
type Starter interface {
	Start(ctx context.Context, spec proc.Spec) (*proc.Process, error)
}

// Config configures [New].
type Config struct {
	// Host starts the helper processes.
	Host Starter
	// User is the identity the helpers run as: the server's own (winbind's
	// privileged pipe needs root or the winbindd_priv group).
	User identity.User
	// Path is the helper program; default [DefaultPath].
	Path string
	// Args are extra arguments, such as "--configfile=/etc/samba/smb.conf".
	Args []string
	// Env is the helpers' whole environment; default a minimal PATH.
	Env []string
	// Workers bounds concurrent helpers; default [DefaultWorkers].
	Workers int
	// Timeout bounds one verification; default [DefaultTimeout].
	Timeout time.Duration
}

// Validator is an ntlm.Validator backed by winbind. It is safe for
// concurrent use; Close ends its helpers.
type Validator struct {
	cfg  Config
	argv []string      // helper argv; tests replace it
	sem  chan struct{} // one token per helper that may run
	mu   sync.Mutex
	idle []*helper // guarded by mu
	done bool      // guarded by mu
}

var _ ntlm.Validator = (*Validator)(nil)

// New returns a Validator. Helpers start on first use.
func New(cfg Config) *Validator {
	if cfg.Path == "" {
		cfg.Path = DefaultPath
	}
	if cfg.Env == nil {
		cfg.Env = []string{"PATH=/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin", "LANG=C"}
	}
	if cfg.Workers <= 0 {
		cfg.Workers = DefaultWorkers
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	argv := append([]string{cfg.Path, "--helper-protocol=ntlm-server-1"}, cfg.Args...)
	return &Validator{cfg: cfg, argv: argv, sem: make(chan struct{}, cfg.Workers)}
}

// helper is one running ntlm_auth.
type helper struct {
	p  *proc.Process
	in *os.File
	r  *bufio.Reader
}

func (h *helper) close() {
	h.p.Kill()
	h.in.Close()
	h.p.Stdout.Close()
	h.p.Stderr.Close()
}

// Validate implements ntlm.Validator. The account returned is
// "DOMAIN\user" with the domain upper-cased, as winbind names domain
// users.
func (v *Validator) Validate(ctx context.Context, user, domain string, serverChallenge [8]byte, ntResponse []byte) ([16]byte, string, error) {
	var key [16]byte
	if user == "" || len(ntResponse) <= 24 {
		// Anonymous and NTLMv1 never reach the domain controller.
		return key, "", fmt.Errorf("%w: not an NTLMv2 response", ntlm.ErrBadCredentials)
	}
	for _, s := range []string{user, domain} {
		if strings.ContainsAny(s, "\r\n\x00") || len(s) > 256 {
			return key, "", fmt.Errorf("%w: invalid user or domain name", ntlm.ErrBadCredentials)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, v.cfg.Timeout)
	defer cancel()
	select {
	case v.sem <- struct{}{}:
	case <-ctx.Done():
		return key, "", fmt.Errorf("%w: %w", ErrHelper, ctx.Err())
	}
	defer func() { <-v.sem }()

	h, err := v.get(ctx)
	if err != nil {
		return key, "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Username:: %s\n", base64.StdEncoding.EncodeToString([]byte(user)))
	fmt.Fprintf(&b, "NT-Domain:: %s\n", base64.StdEncoding.EncodeToString([]byte(domain)))
	fmt.Fprintf(&b, "LANMAN-Challenge: %s\n", hex.EncodeToString(serverChallenge[:]))
	fmt.Fprintf(&b, "NT-Response: %s\n", hex.EncodeToString(ntResponse))
	b.WriteString("Request-User-Session-Key: Yes\n.\n")

	rep, err := h.exchange(ctx, b.String())
	if err != nil {
		h.close()
		return key, "", fmt.Errorf("%w: %w", ErrHelper, err)
	}
	if !strings.EqualFold(rep["Authenticated"], "Yes") {
		// ntlm_auth follows a refusal with a stray "." line: a helper
		// that refused is not reused, so no reply is ever read out of
		// step.
		h.close()
		if rep["Authenticated"] == "" {
			return key, "", fmt.Errorf("%w: no Authenticated line", ErrHelper)
		}
		reason := rep["Authentication-Error"]
		if reason == "" {
			reason = "no reason given"
		}
		return key, "", fmt.Errorf("%w: domain controller refused the response: %s", ntlm.ErrBadCredentials, truncate(reason))
	}
	v.put(h)
	raw, err := hex.DecodeString(rep["User-Session-Key"])
	if err != nil || len(raw) != 16 {
		return key, "", fmt.Errorf("%w: no usable User-Session-Key", ErrHelper)
	}
	copy(key[:], raw)
	return key, strings.ToUpper(domain) + `\` + user, nil
}

// exchange writes one request and reads the reply up to ".". The reply
// must arrive before ctx ends; if it does not, the helper is killed by
// the caller (its protocol state is unknown).
func (h *helper) exchange(ctx context.Context, req string) (map[string]string, error) {
	type result struct {
		m   map[string]string
		err error
	}
	ch := make(chan result, 1)
	go func() {
		if _, err := io.WriteString(h.in, req); err != nil {
			ch <- result{nil, err}
			return
		}
		m, err := readReply(h.r)
		ch <- result{m, err}
	}()
	select {
	case r := <-ch:
		return r.m, r.err
	case <-ctx.Done():
		// Killing the helper closes its pipes and ends the goroutine.
		h.p.Kill()
		<-ch
		return nil, ctx.Err()
	}
}

// readReply reads "Name: value" and "Name:: base64" lines up to ".".
func readReply(r *bufio.Reader) (map[string]string, error) {
	m := map[string]string{}
	for range maxReplyLines {
		line, err := readLine(r)
		if err != nil {
			return nil, err
		}
		if line == "." {
			if len(m) == 0 {
				continue // a stray terminator left from an earlier reply
			}
			return m, nil
		}
		name, val, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("malformed line %q", truncate(line))
		}
		if rest, b64 := strings.CutPrefix(val, ":"); b64 {
			dec, err := base64.StdEncoding.DecodeString(strings.TrimSpace(rest))
			if err != nil {
				return nil, fmt.Errorf("malformed base64 in %q", name)
			}
			val = string(dec)
		}
		m[strings.TrimSpace(name)] = strings.TrimSpace(val)
	}
	return nil, errors.New("reply too long")
}

func readLine(r *bufio.Reader) (string, error) {
	var line []byte
	for {
		frag, err := r.ReadSlice('\n')
		line = append(line, frag...)
		if len(line) > maxReplyLine {
			return "", errors.New("reply line too long")
		}
		if err == nil {
			return strings.TrimRight(string(line), "\r\n"), nil
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return "", err
		}
	}
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

// get returns an idle helper or starts one.
func (v *Validator) get(ctx context.Context) (*helper, error) {
	v.mu.Lock()
	if v.done {
		v.mu.Unlock()
		return nil, fmt.Errorf("%w: closed", ErrHelper)
	}
	for n := len(v.idle); n > 0; n = len(v.idle) {
		h := v.idle[n-1]
		v.idle = v.idle[:n-1]
		select {
		case <-h.p.Done():
			h.close() // it exited while idle (winbindd restarted, ...)
		default:
			v.mu.Unlock()
			return h, nil
		}
	}
	v.mu.Unlock()
	p, err := v.cfg.Host.Start(ctx, proc.Spec{User: v.cfg.User, Path: v.cfg.Path, Args: v.argv, Env: v.cfg.Env, Dir: "/"})
	if err != nil {
		return nil, fmt.Errorf("%w: starting %s: %w", ErrHelper, v.cfg.Path, err)
	}
	// Its stderr is not read: keep it from filling up by discarding it.
	go io.Copy(io.Discard, p.Stderr)
	return &helper{p: p, in: p.Stdin, r: bufio.NewReaderSize(p.Stdout, maxReplyLine)}, nil
}

// put returns a helper to the idle list.
func (v *Validator) put(h *helper) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.done || len(v.idle) >= v.cfg.Workers {
		h.close()
		return
	}
	v.idle = append(v.idle, h)
}

// Close ends every idle helper; helpers in use end when their request
// does. Later calls to Validate fail.
func (v *Validator) Close() {
	v.mu.Lock()
	idle := v.idle
	v.idle, v.done = nil, true
	v.mu.Unlock()
	for _, h := range idle {
		h.close()
	}
}
