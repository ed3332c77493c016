// Package testserver starts an in-process psremote server on loopback for
// tests: the process host, shell engine, WS-Management service and
// listeners assembled as `psremote serve` does, with Basic authentication
// against one fixed user. It implements no protocol of its own.
package testserver

import (
	"context"
	"crypto/subtle"
	"testing"
	"time"

	"github.com/psremote/psremote/auth"
	"github.com/psremote/psremote/internal/identity"
	"github.com/psremote/psremote/internal/listener"
	"github.com/psremote/psremote/internal/proc"
	"github.com/psremote/psremote/internal/service"
	"github.com/psremote/psremote/internal/shell"
)

// Options configure [Start]. Zero values give one HTTP listener on
// 127.0.0.1 with a free port, commands run as the test's own user.
type Options struct {
	// User and Password are the only accepted credentials.
	User, Password string
	// Endpoints to open; default one HTTP listener on 127.0.0.1:0.
	Endpoints []listener.Endpoint
	// AllowUnencrypted permits Basic on HTTP listeners; it is forced on
	// when Endpoints is empty.
	AllowUnencrypted bool
	// RunAs adjusts the identity commands run as (for example its shell).
	RunAs func(identity.User) identity.User
	// MaxTimeout caps OperationTimeout; default one minute.
	MaxTimeout time.Duration
}

// Server is a running test server; tb.Cleanup stops it.
type Server struct {
	// Bound lists the open listeners, in Endpoints order.
	Bound []listener.Bound
	// Engine is the shell engine, for counting shells.
	Engine *shell.Engine
	// Host is the process host, for counting processes.
	Host *proc.Host
}

// URL returns the first listener's URL.
func (s *Server) URL() string { return s.Bound[0].URL }

type source struct{ user, password string }

func (s source) Name() string { return "testserver" }

func (s source) VerifyPassword(_ context.Context, user, password string) error {
	u := subtle.ConstantTimeCompare([]byte(user), []byte(s.user))
	p := subtle.ConstantTimeCompare([]byte(password), []byte(s.password))
	if u&p != 1 {
		return auth.ErrBadCredentials
	}
	return nil
}

// Start starts a server and registers its shutdown with tb.Cleanup.
func Start(tb testing.TB, o Options) *Server {
	tb.Helper()
	self, err := identity.Current()
	if err != nil {
		tb.Fatal(err)
	}
	runAs := self
	if o.RunAs != nil {
		runAs = o.RunAs(self)
	}
	if len(o.Endpoints) == 0 {
		o.Endpoints = []listener.Endpoint{{Transport: "HTTP", Addr: "127.0.0.1:0", URLPrefix: "wsman"}}
		o.AllowUnencrypted = true
	}
	if o.MaxTimeout == 0 {
		o.MaxTimeout = time.Minute
	}
	host := proc.NewHost(self)
	eng := shell.New(shell.Config{AllowRemoteShellAccess: true, IdleTimeout: time.Hour, OutputBuffer: 1 << 20}, host)
	svc := service.New(service.Config{Machine: "m", MaxEnvelopeSize: 512000, MaxTimeout: o.MaxTimeout,
		ServerUser: self, ProductVendor: "psremote", ProductVersion: "OS: 1.0.0 SP: 0.0 Stack: 3.0"}, eng)
	srv := listener.New(listener.Config{
		Endpoints: o.Endpoints,
		Mechanisms: []auth.Mechanism{auth.NewBasic(auth.BasicConfig{
			Sources:          []auth.PasswordVerifier{source{o.User, o.Password}},
			Resolve:          func(string, string) (identity.User, error) { return runAs, nil },
			AllowUnencrypted: o.AllowUnencrypted,
		})},
		MaxEnvelopeSize: 512000, Service: svc})
	bound, err := srv.Start()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		eng.Close(ctx)
		host.Close(ctx)
	})
	return &Server{Bound: bound, Engine: eng, Host: host}
}
