package bench

import (
	"context"
	"crypto/subtle"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/psremote/psremote/auth"
	"github.com/psremote/psremote/internal/identity"
	"github.com/psremote/psremote/internal/listener"
	"github.com/psremote/psremote/internal/proc"
	"github.com/psremote/psremote/internal/service"
	"github.com/psremote/psremote/internal/shell"
)

// heavy reports whether the full-size measurements were asked for. Without
// PSREMOTE_BENCH=1 the tests run small smoke versions of the same code.
func heavy() bool { return os.Getenv("PSREMOTE_BENCH") == "1" }

// Credentials of the in-process server's only account.
const (
	benchUser     = "bench"
	benchPassword = "Bench_pw_7f3a9c"
)

// fakeSource is an in-memory password source standing in for the account
// store, so that the benchmarks measure the server and not argon2id
// (Basic caches verified credentials for 60 s anyway).
type fakeSource struct{ user, password string }

func (f fakeSource) Name() string { return "bench" }

func (f fakeSource) VerifyPassword(_ context.Context, user, password string) error {
	u := subtle.ConstantTimeCompare([]byte(user), []byte(f.user))
	p := subtle.ConstantTimeCompare([]byte(password), []byte(f.password))
	if u&p != 1 {
		return auth.ErrBadCredentials
	}
	return nil
}

// inProcServer is a psremote server assembled the way internal/cli/serve.go
// does it, listening on HTTP 127.0.0.1 with an ephemeral port.
type inProcServer struct {
	url  string
	host *proc.Host
	eng  *shell.Engine
	srv  *listener.Server
}

// startServer starts an in-process server with the default configuration
// except: HTTP with AllowUnencrypted, no per-user shell limit, and the
// fake password source. Commands run as the current user.
func startServer(tb testing.TB) *inProcServer {
	tb.Helper()
	self, err := identity.Current()
	if err != nil {
		tb.Fatal(err)
	}
	// Like serve's default "info" level, but the lines go nowhere.
	logger := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
	mechs := []auth.Mechanism{auth.NewBasic(auth.BasicConfig{
		Sources:          []auth.PasswordVerifier{fakeSource{benchUser, benchPassword}},
		Resolve:          func(string, string) (identity.User, error) { return identity.Current() },
		AllowUnencrypted: true,
	})}
	host := proc.NewHost(self)
	eng := shell.New(shell.Config{
		AllowRemoteShellAccess: true,
		IdleTimeout:            2 * time.Hour, // Winrs IdleTimeout default
		MaxShellsPerUser:       0,             // unlimited
		MaxConcurrentUsers:     10,            // default
		MaxOperationsPerUser:   1500,          // default
		OutputBuffer:           1024 << 10,    // default MaxOutputBufferKB
	}, host)
	svc := service.New(service.Config{
		Machine:         "bench",
		MaxEnvelopeSize: 500 << 10, // default MaxEnvelopeSizekb
		MaxTimeout:      60 * time.Second,
		MaxBatchItems:   32000,
		AdminGroups:     []string{"sudo", "wheel"},
		ServerUser:      self,
		ProductVendor:   "psremote",
		ProductVersion:  "OS: 0.0.0 SP: 0.0 Stack: 3.0",
		Logger:          logger,
	}, eng)
	srv := listener.New(listener.Config{
		Endpoints:          []listener.Endpoint{{Transport: "HTTP", Addr: "127.0.0.1:0", URLPrefix: "wsman"}},
		Mechanisms:         mechs,
		MaxEnvelopeSize:    500 << 10,
		MaxPacketRetrieval: 120 * time.Second,
		Service:            svc,
		Logger:             logger,
	})
	bound, err := srv.Start()
	if err != nil {
		tb.Fatal(err)
	}
	s := &inProcServer{url: bound[0].URL, host: host, eng: eng, srv: srv}
	tb.Cleanup(s.stop)
	return s
}

func (s *inProcServer) stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.srv.Shutdown(ctx) }()
	s.eng.Close(ctx)
	s.host.Close(ctx)
	<-done
}

func (s *inProcServer) client(maxConns int) *client {
	return newClient(s.url, benchUser, benchPassword, maxConns)
}

// localSpawn runs the baseline: /bin/sh -c true through os/exec,
// spawned and waited for.
func localSpawn() error {
	return exec.Command("/bin/sh", "-c", "true").Run()
}

// summary describes a sample of durations.
type summary struct {
	n                   int
	mean, p50, p99, max time.Duration
}

func summarize(d []time.Duration) summary {
	if len(d) == 0 {
		return summary{}
	}
	s := slices.Clone(d)
	slices.Sort(s)
	var sum time.Duration
	for _, v := range s {
		sum += v
	}
	return summary{n: len(s), mean: sum / time.Duration(len(s)),
		p50: percentile(s, 50), p99: percentile(s, 99), max: s[len(s)-1]}
}

// percentile is the nearest-rank percentile of sorted.
func percentile(sorted []time.Duration, p float64) time.Duration {
	k := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[min(max(k, 0), len(sorted)-1)]
}

func us(d time.Duration) string { return fmt.Sprintf("%8.1f µs", float64(d)/1e3) }

// cpuTimes reads the process's own and its reaped children's CPU time.
type cpuTimes struct{ self, children time.Duration }

func readCPU() cpuTimes {
	var self, ch syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &self)
	_ = syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ch)
	tv := func(r *syscall.Rusage) time.Duration {
		return time.Duration(r.Utime.Nano() + r.Stime.Nano())
	}
	return cpuTimes{self: tv(&self), children: tv(&ch)}
}

func (a cpuTimes) sub(b cpuTimes) cpuTimes {
	return cpuTimes{self: a.self - b.self, children: a.children - b.children}
}

// table renders rows of cells with aligned columns.
func table(rows [][]string) string {
	w := map[int]int{}
	for _, r := range rows {
		for i, c := range r {
			w[i] = max(w[i], len([]rune(c)))
		}
	}
	var b strings.Builder
	for _, r := range rows {
		for i, c := range r {
			if i > 0 {
				b.WriteString("  ")
			}
			b.WriteString(c)
			b.WriteString(strings.Repeat(" ", w[i]-len([]rune(c))))
		}
		b.WriteString("\n")
	}
	return b.String()
}
