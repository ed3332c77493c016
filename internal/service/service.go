package service

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/psremote/psremote/auth"
	"github.com/psremote/psremote/internal/identity"
	"github.com/psremote/psremote/internal/shell"
	"github.com/psremote/psremote/wsman"
)

// Config configures a [Service].
type Config struct {
	// Machine is reported in faults (f:WSManFault/@Machine).
	Machine string
	// MaxEnvelopeSize is the server's cap on reply size in bytes
	// (MaxEnvelopeSizekb × 1024).
	MaxEnvelopeSize int
	// MaxTimeout caps every OperationTimeout (MaxTimeoutms).
	MaxTimeout time.Duration
	// MaxBatchItems caps enumeration batches.
	MaxBatchItems int
	// EnumerationTimeout expires idle enumeration contexts.
	EnumerationTimeout time.Duration
	// AdminGroups are the groups whose members, with root, may use shells.
	AdminGroups []string
	// ServerUser is the identity the server runs as. When it is not root,
	// every command runs as it, and it counts as an administrator.
	ServerUser identity.User
	// ProductVendor and ProductVersion are reported by Identify.
	ProductVendor, ProductVersion string
	// SecurityProfiles returns the profile URIs for authenticated Identify.
	SecurityProfiles func(secure bool) []string
	// Logger receives operational messages; nil means slog.Default().
	Logger *slog.Logger
}

// Service is the WS-Management service: it decodes envelopes, authorizes,
// routes (Action, ResourceURI) pairs to the shell engine and encodes
// replies and faults. It knows nothing of HTTP transport details beyond
// the status code it asks for.
type Service struct {
	cfg    Config
	eng    *shell.Engine
	enums  *enumStore
	logger *slog.Logger
	bufs   sync.Pool // *bytes.Buffer for reply envelopes
}

// New returns a service over eng.
func New(cfg Config, eng *shell.Engine) *Service {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.MaxBatchItems <= 0 {
		cfg.MaxBatchItems = 32000
	}
	if cfg.EnumerationTimeout <= 0 {
		cfg.EnumerationTimeout = 60 * time.Second
	}
	svc := &Service{cfg: cfg, eng: eng, enums: newEnumStore(), logger: cfg.Logger}
	svc.bufs.New = func() any { return new(bytes.Buffer) }
	return svc
}

// Request is one SOAP request as the listener hands it over.
type Request struct {
	// Body is the raw HTTP body (already decrypted, if it was sealed).
	Body        []byte
	ContentType string
	// Chunked reports Transfer-Encoding: chunked on the request.
	Chunked bool
	// Auth is the authenticated caller; nil only for anonymous Identify.
	Auth *auth.Result
	// ClientIP is the caller's address without port.
	ClientIP string
	// Secure reports an HTTPS listener.
	Secure bool
	// Endpoint is the listener URL, used as the address in Create replies.
	Endpoint string
}

// Reply is what the listener must send back.
type Reply struct {
	Status      int
	ContentType string
	Body        []byte
	// Commit, when set, must be called once with whether the reply was
	// written to the client completely (Receive output is consumed only
	// then).
	Commit func(delivered bool)

	release func() // returns Body's buffer for reuse
}

// Done must be called once the listener no longer needs Body, which may
// then be reused for another reply.
func (r *Reply) Done() {
	if r.release != nil {
		r.release()
		r.release = nil
	}
}

// Anonymous Identify product version, as Windows reports it to
// unauthenticated callers ([MS-WSMV] note <72>).
const anonymousVersion = "OS: 0.0.0 SP: 0.0 Stack: 3.0"

// IsIdentify reports whether body is an Identify request, so the listener
// can let it through unauthenticated when asked to.
func IsIdentify(body []byte, contentType string) bool {
	if !bytes.Contains(body, []byte("Identify")) && !bytes.Contains(body, []byte{'I', 0, 'd', 0}) {
		return false
	}
	utf, cs, err := wsman.DecodeBody(body, contentType)
	if err != nil {
		return false
	}
	env, err := wsman.Parse(utf, cs, wsman.ParseLimits{})
	return err == nil && env.Identify
}

// Handle processes one request.
func (s *Service) Handle(ctx context.Context, req *Request) *Reply {
	utf, cs, err := wsman.DecodeBody(req.Body, req.ContentType)
	if err != nil {
		return s.fault(err, "", wsman.UTF8)
	}
	env, err := wsman.Parse(utf, cs, wsman.ParseLimits{})
	if err != nil {
		return s.fault(err, "", cs)
	}
	if env.Identify {
		return s.identify(req, cs)
	}
	if req.Auth == nil {
		// The listener only lets Identify through unauthenticated.
		return &Reply{Status: http.StatusUnauthorized}
	}
	if err := env.Validate(); err != nil {
		return s.fault(err, env.MessageID, cs)
	}
	if req.Auth.Authorize != nil {
		if err := req.Auth.Authorize(env.ResourceURI); err != nil {
			s.logger.Warn("access denied", "user", req.Auth.Principal, "client", req.ClientIP, "resource", env.ResourceURI, "reason", err)
			return s.fault(wsman.FaultAccessDenied(), env.MessageID, cs)
		}
	}
	reply := s.dispatch(ctx, req, env)
	return reply
}

func (s *Service) identify(req *Request, cs wsman.Charset) *Reply {
	info := wsman.IdentifyInfo{ProductVendor: s.cfg.ProductVendor, ProductVersion: anonymousVersion}
	if req.Auth != nil {
		info.ProductVersion = s.cfg.ProductVersion
		if s.cfg.SecurityProfiles != nil {
			info.SecurityProfiles = s.cfg.SecurityProfiles(req.Secure)
		}
	}
	body, ct := wsman.EncodeBody(wsman.EncodeIdentify(info), cs)
	return &Reply{Status: http.StatusOK, ContentType: ct, Body: body}
}

// fault renders err as a SOAP fault reply. Errors that are not faults
// become InternalError without detail; the detail goes to the log.
func (s *Service) fault(err error, relatesTo string, cs wsman.Charset) *Reply {
	f, ok := wsman.AsFault(err)
	if !ok {
		s.logger.Error("internal error", "err", err)
		f = wsman.FaultInternal(1359, "An internal error occurred. ")
	}
	body, ct := wsman.EncodeBody(wsman.EncodeFault(f, relatesTo, s.cfg.Machine), cs)
	return &Reply{Status: http.StatusInternalServerError, ContentType: ct, Body: body}
}

// ok renders a successful reply.
func (s *Service) ok(env *wsman.Envelope, action string, body func(*bytes.Buffer)) *Reply {
	buf := s.bufs.Get().(*bytes.Buffer)
	buf.Reset()
	wsman.WriteEnvelope(buf, action, env.MessageID, body)
	out, ct := wsman.EncodeBody(buf.Bytes(), env.Charset)
	if max := s.maxEnvelope(env); len(out) > max {
		s.putBuf(buf)
		return s.fault(wsman.FaultResponseTooLarge(len(out), max), env.MessageID, env.Charset)
	}
	r := &Reply{Status: http.StatusOK, ContentType: ct, Body: out}
	if env.Charset == wsman.UTF8 {
		r.release = func() { s.putBuf(buf) }
	} else {
		s.putBuf(buf) // out is a separate UTF-16 copy
	}
	return r
}

// maxPooledBuffer bounds the reply buffers kept for reuse.
const maxPooledBuffer = 4 << 20

func (s *Service) putBuf(b *bytes.Buffer) {
	if b.Cap() <= maxPooledBuffer {
		s.bufs.Put(b)
	}
}

// maxEnvelope is the reply cap: min(client MaxEnvelopeSize, server cap).
func (s *Service) maxEnvelope(env *wsman.Envelope) int {
	m := s.cfg.MaxEnvelopeSize
	if env.MaxEnvelopeSize > 0 && int(env.MaxEnvelopeSize) < m {
		m = int(env.MaxEnvelopeSize)
	}
	return m
}

// timeout is min(OperationTimeout, MaxTimeoutms); absent means MaxTimeoutms.
func (s *Service) timeout(env *wsman.Envelope) time.Duration {
	if env.OperationTimeout > 0 && env.OperationTimeout < s.cfg.MaxTimeout {
		return env.OperationTimeout
	}
	return s.cfg.MaxTimeout
}

// authorized implements the interim policy: root, members of the
// administrator groups, and (on a non-root server) the server's own user.
func (s *Service) authorized(u identity.User) bool {
	if !u.Valid() {
		return false
	}
	if u.IsRoot() {
		return true
	}
	if !s.cfg.ServerUser.IsRoot() && s.cfg.ServerUser.Valid() && u.UID == s.cfg.ServerUser.UID {
		return true
	}
	for _, g := range s.cfg.AdminGroups {
		if u.InGroup(g) {
			return true
		}
	}
	return false
}

// owner derives the shell owner: commands run as the authenticated user
// on a root server and as the server's own user otherwise.
func (s *Service) owner(req *Request) shell.Owner {
	runAs := req.Auth.User
	if !s.cfg.ServerUser.IsRoot() {
		runAs = s.cfg.ServerUser
	}
	return shell.Owner{Principal: req.Auth.Principal, RunAs: runAs, ClientIP: req.ClientIP}
}

func (s *Service) dispatch(ctx context.Context, req *Request, env *wsman.Envelope) *Reply {
	uri := strings.ToLower(env.ResourceURI)
	isCmd := uri == strings.ToLower(wsman.ResourceCmdShell)
	isBase := uri == strings.ToLower(wsman.ResourceShellBase)
	if !isCmd && !isBase {
		return s.fault(wsman.FaultDestinationUnreachable(env.ResourceURI), env.MessageID, env.Charset)
	}
	switch env.Action {
	case wsman.ActionCreate, wsman.ActionCommand, wsman.ActionSend, wsman.ActionReceive, wsman.ActionSignal:
		if !isCmd {
			return s.fault(wsman.FaultActionNotSupported(env.Action), env.MessageID, env.Charset)
		}
		if req.Chunked {
			return s.fault(wsman.FaultNotSupportedChunked(), env.MessageID, env.Charset)
		}
	case wsman.ActionDelete, wsman.ActionGet, wsman.ActionEnumerate, wsman.ActionPull, wsman.ActionRelease:
	default:
		return s.fault(wsman.FaultActionNotSupported(env.Action), env.MessageID, env.Charset)
	}
	if !s.authorized(req.Auth.User) {
		s.logger.Warn("access denied", "user", req.Auth.Principal, "client", req.ClientIP, "action", env.Action)
		return s.fault(wsman.FaultAccessDenied(), env.MessageID, env.Charset)
	}
	if err := s.checkOptions(env); err != nil {
		return s.fault(err, env.MessageID, env.Charset)
	}
	endOp, err := s.eng.BeginOp(req.Auth.Principal)
	if err != nil {
		return s.fault(s.mapErr(err, env), env.MessageID, env.Charset)
	}
	defer endOp()

	owner := s.owner(req)
	var reply *Reply
	switch env.Action {
	case wsman.ActionCreate:
		reply, err = s.create(ctx, req, env, owner)
	case wsman.ActionCommand:
		reply, err = s.command(ctx, env, owner)
	case wsman.ActionSend:
		reply, err = s.send(ctx, env, owner)
	case wsman.ActionReceive:
		reply, err = s.receive(ctx, env, owner)
	case wsman.ActionSignal:
		reply, err = s.signal(ctx, env, owner)
	case wsman.ActionDelete:
		reply, err = s.delete(ctx, env, owner)
	case wsman.ActionGet:
		reply, err = s.get(env, owner)
	case wsman.ActionEnumerate:
		reply, err = s.enumerate(env, owner)
	case wsman.ActionPull:
		reply, err = s.pull(env, owner)
	case wsman.ActionRelease:
		reply, err = s.release(env, owner)
	}
	if err != nil {
		return s.fault(s.mapErr(err, env), env.MessageID, env.Charset)
	}
	return reply
}

// supportedOptions are the options psremote honours or knowingly ignores;
// any other option marked MustComply is refused ([MS-WSMV] note <50>).
var supportedOptions = map[string]bool{
	"winrs_noprofile": true, "winrs_codepage": true, "winrs_consolemode_stdin": true,
	"winrs_skip_cmd_shell": true, "wsman_cmdshell_option_keepalive": true,
}

func (s *Service) checkOptions(env *wsman.Envelope) error {
	for _, o := range env.Options {
		if o.MustComply && !supportedOptions[strings.ToLower(o.Name)] {
			return wsman.FaultInvalidOptions(o.Name)
		}
	}
	return nil
}

// mapErr turns engine errors into the Windows faults for them.
func (s *Service) mapErr(err error, env *wsman.Envelope) error {
	if _, ok := wsman.AsFault(err); ok {
		return err
	}
	var qe *shell.QuotaError
	var ie *shell.InvalidError
	switch {
	case errors.Is(err, shell.ErrShellNotFound):
		id, _ := env.Selector("ShellId")
		return wsman.FaultShellNotFound(id)
	case errors.Is(err, shell.ErrCommandNotFound):
		return wsman.FaultCommandNotFound()
	case errors.Is(err, shell.ErrTimedOut):
		return wsman.FaultTimedOut()
	case errors.Is(err, shell.ErrAborted), errors.Is(err, shell.ErrClosed):
		return wsman.FaultAborted()
	case errors.Is(err, shell.ErrShellAccessDisabled):
		return wsman.FaultShellAccessDisabled()
	case errors.Is(err, shell.ErrExists):
		return wsman.FaultInternal(183, "Cannot create a file when that file already exists. ")
	case errors.As(err, &qe):
		switch qe.Quota {
		case shell.QuotaShellsPerUser:
			return wsman.FaultMaxShells(qe.Limit)
		case shell.QuotaConcurrentUsers:
			return wsman.FaultMaxUsers(qe.Limit)
		default:
			return wsman.FaultMaxOperations(qe.Limit)
		}
	case errors.As(err, &ie):
		return wsman.FaultInternal(ie.Code, ie.Msg)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return wsman.FaultAborted()
	}
	s.logger.Error("operation failed", "action", env.Action, "err", err)
	return wsman.FaultInternal(1359, "An internal error occurred. ")
}

func shellID(env *wsman.Envelope) (string, error) {
	id, ok := env.Selector("ShellId")
	if !ok || id == "" {
		return "", &wsman.Fault{Code: wsman.CodeSender, Subcode: wsman.SubInvalidSelectors, Detail: "InsufficientSelectors",
			WSManCode: wsman.ErrCodeInvalidSelectors, Message: "The WS-Management service cannot process the request because the ShellId selector is missing. "}
	}
	return id, nil
}

func (s *Service) body(env *wsman.Envelope, what string) (*wsman.Element, error) {
	if env.Body == nil {
		return nil, wsman.FaultSchema("the " + what + " request has an empty body")
	}
	return env.Body, nil
}
