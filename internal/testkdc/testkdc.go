package testkdc

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Realm is the realm every KDC serves.
const Realm = "EXAMPLE.TEST"

// User is the name of the password principal created at start.
const User = "user1"

// Services returns the service principals created at start; their keys
// are in [KDC.Keytab].
func Services() []string { return []string{"HTTP/localhost", "WSMAN/localhost"} }

// tools returns the programs the harness runs; Start skips the test when
// one is missing.
func tools() []string { return []string{"krb5kdc", "kdb5_util", "kadmin.local", "kinit"} }

// Bounds on start-up: port attempts and the wait for the KDC to listen.
const (
	portAttempts = 5
	listenWait   = 5 * time.Second
	cmdTimeout   = 30 * time.Second
)

// Option adjusts [Start].
type Option func(*options)

type options struct {
	disablePAC bool
	enctypes   []string
}

// DisablePAC makes the KDC issue tickets without a PAC (kdc.conf
// disable_pac). By default MIT krb5 1.20 adds a minimal PAC to every
// ticket.
func DisablePAC() Option { return func(o *options) { o.disablePAC = true } }

// Enctypes sets the realm's supported_enctypes (kdc.conf syntax, for
// example "aes128-cts-hmac-sha1-96:normal") and makes clients request only
// those types, so that keys and session keys have them. The default is
// AES-256 and AES-128 with HMAC-SHA1.
func Enctypes(e ...string) Option {
	return func(o *options) { o.enctypes = append([]string(nil), e...) }
}

// KDC is a running MIT krb5kdc on 127.0.0.1 with its own database,
// configuration, keytab and credential cache, all under a t.TempDir().
// The test's cleanup stops it.
type KDC struct {
	// Dir holds every file of this KDC.
	Dir string
	// Addr is the host:port the KDC listens on (TCP and UDP).
	Addr string
	// Krb5Conf is the client configuration file (KRB5_CONFIG).
	Krb5Conf string
	// KDCConf is the KDC profile (KRB5_KDC_PROFILE).
	KDCConf string
	// CCache is the credential cache path (without a FILE: prefix)
	// holding user1's TGT.
	CCache string
	// Keytab holds the keys of [Services].
	Keytab string
	// Password is user1's password (random per KDC).
	Password string

	tb testing.TB
}

// Start creates a realm, starts krb5kdc on a free loopback port and
// kinits user1. It skips the test when the MIT tools are not installed
// (Debian packages krb5-kdc, krb5-admin-server and krb5-user), unless
// PSREMOTE_INTEROP=1 is set, in which case a missing tool fails it.
func Start(tb testing.TB, opts ...Option) *KDC {
	tb.Helper()
	var o options
	for _, f := range opts {
		f(&o)
	}
	for _, tool := range tools() {
		if _, err := exec.LookPath(tool); err != nil {
			msg := fmt.Sprintf("testkdc: %s not found on PATH (install Debian packages krb5-kdc krb5-admin-server krb5-user)", tool)
			if os.Getenv("PSREMOTE_INTEROP") == "1" {
				tb.Fatal(msg)
			}
			tb.Skip(msg)
		}
	}
	k := &KDC{tb: tb, Dir: tb.TempDir(), Password: rand.Text()}
	k.Krb5Conf = filepath.Join(k.Dir, "krb5.conf")
	k.KDCConf = filepath.Join(k.Dir, "kdc.conf")
	k.CCache = filepath.Join(k.Dir, "ccache")
	k.Keytab = filepath.Join(k.Dir, "services.keytab")

	// The database does not depend on the port: create it once with a
	// placeholder configuration, then try ports.
	if err := k.writeConfig(0, o); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(k.Dir, "kadm5.acl"), nil, 0o600); err != nil {
		tb.Fatal(err)
	}
	if err := k.run(nil, nil, "kdb5_util", "-r", Realm, "-P", rand.Text(), "create", "-s"); err != nil {
		tb.Fatalf("testkdc: creating the database: %v", err)
	}
	if err := k.AddPrincipal(User, k.Password); err != nil {
		tb.Fatal(err)
	}
	for _, s := range Services() {
		if err := k.AddPrincipal(s, ""); err != nil {
			tb.Fatal(err)
		}
	}
	if err := k.ExportKeytab(k.Keytab, Services()...); err != nil {
		tb.Fatal(err)
	}

	var lastErr error
	for range portAttempts {
		port, err := freePort()
		if err != nil {
			lastErr = err
			continue
		}
		if err := k.writeConfig(port, o); err != nil {
			tb.Fatal(err)
		}
		if lastErr = k.startKDC(port); lastErr == nil {
			break
		}
	}
	if lastErr != nil {
		tb.Fatalf("testkdc: krb5kdc did not start: %v", lastErr)
	}
	if err := k.Kinit(User, k.Password, k.CCache); err != nil {
		tb.Fatal(err)
	}
	return k
}

// Principal returns user1's principal name, "user1@EXAMPLE.TEST".
func (k *KDC) Principal() string { return User + "@" + Realm }

// Env returns the environment lines a child process needs to use this
// realm: KRB5_CONFIG, KRB5_KDC_PROFILE, KRB5CCNAME, KRB5_KTNAME and
// KRB5RCACHEDIR. Append them to a filtered environment (see [KDC.Environ]).
func (k *KDC) Env() []string {
	return []string{
		"KRB5_CONFIG=" + k.Krb5Conf,
		"KRB5_KDC_PROFILE=" + k.KDCConf,
		"KRB5CCNAME=FILE:" + k.CCache,
		"KRB5_KTNAME=FILE:" + k.Keytab,
		"KRB5RCACHEDIR=" + k.Dir,
	}
}

// Environ returns the current process environment without any KRB5*
// variable, followed by [KDC.Env]: what a child process should run with
// so that it never reads /etc/krb5.conf or the caller's credentials.
func (k *KDC) Environ() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "KRB5") {
			env = append(env, kv)
		}
	}
	return append(env, k.Env()...)
}

// AddPrincipal creates a principal in the realm, with the given password
// or, when password is empty, a random key.
func (k *KDC) AddPrincipal(name, password string) error {
	if strings.ContainsAny(name+password, " \t\n\"'\\") {
		return fmt.Errorf("testkdc: principal name and password must not contain spaces, quotes or backslashes")
	}
	q := "addprinc -randkey " + name
	if password != "" {
		q = "addprinc -pw " + password + " " + name
	}
	if err := k.run(nil, nil, "kadmin.local", "-r", Realm, "-q", q); err != nil {
		return fmt.Errorf("testkdc: adding %s: %w", name, err)
	}
	return nil
}

// ExportKeytab writes the current keys of the principals to a keytab file
// (kadmin ktadd -norandkey, so existing keytabs stay valid).
func (k *KDC) ExportKeytab(path string, principals ...string) error {
	for _, p := range principals {
		if err := k.run(nil, nil, "kadmin.local", "-r", Realm, "-q", "ktadd -norandkey -k "+path+" "+p); err != nil {
			return fmt.Errorf("testkdc: exporting %s: %w", p, err)
		}
	}
	return nil
}

// RotateKey gives the principal a new random key (its kvno goes up by
// one), so that keytabs exported before no longer hold its current key.
func (k *KDC) RotateKey(principal string) error {
	if err := k.run(nil, nil, "kadmin.local", "-r", Realm, "-q", "cpw -randkey "+principal); err != nil {
		return fmt.Errorf("testkdc: rotating %s: %w", principal, err)
	}
	return nil
}

// Kinit obtains a TGT for principal (a name in this realm) with MIT kinit,
// giving the password on standard input, into the credential cache file
// ccache.
func (k *KDC) Kinit(principal, password, ccache string) error {
	if !strings.Contains(principal, "@") {
		principal += "@" + Realm
	}
	env := []string{"KRB5CCNAME=FILE:" + ccache}
	if err := k.run([]byte(password+"\n"), env, "kinit", "-c", "FILE:"+ccache, principal); err != nil {
		return fmt.Errorf("testkdc: kinit %s: %w", principal, err)
	}
	return nil
}

// run runs one MIT tool with stdin as its standard input and this
// realm's environment (extra overrides it), and reports its output on
// failure.
func (k *KDC) run(stdin []byte, extra []string, name string, args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(k.Environ(), extra...)
	cmd.Dir = k.Dir
	cmd.Stdin = bytes.NewReader(stdin)
	setDeathSignal(cmd)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w: %s", name, err, bytes.TrimSpace(out))
	}
	return nil
}

// startKDC starts krb5kdc in the foreground (-n) on port and waits until
// it accepts TCP connections. On failure no process is left running.
func (k *KDC) startKDC(port int) error {
	logf, err := os.OpenFile(filepath.Join(k.Dir, "krb5kdc.out"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command("krb5kdc", "-n", "-r", Realm)
	cmd.Env = k.Environ()
	cmd.Dir = k.Dir
	cmd.Stdout, cmd.Stderr = logf, logf
	setDeathSignal(cmd)
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	stop := func() {
		_ = cmd.Process.Kill()
		<-done
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(listenWait)
	for {
		select {
		case <-done:
			return fmt.Errorf("krb5kdc exited at start (port %d in use?): see %s", port, logf.Name())
		default:
		}
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			stop()
			return fmt.Errorf("krb5kdc not listening on %s after %v", addr, listenWait)
		}
		time.Sleep(20 * time.Millisecond)
	}
	k.Addr = addr
	k.tb.Cleanup(stop)
	return nil
}

// writeConfig writes krb5.conf and kdc.conf for port.
func (k *KDC) writeConfig(port int, o options) error {
	enctypes := "aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal"
	clientEnctypes := ""
	if len(o.enctypes) > 0 {
		enctypes = strings.Join(o.enctypes, " ")
		// Clients request only these types too, so that session keys
		// have them (the KDC otherwise prefers AES-256 session keys).
		var names []string
		for _, e := range o.enctypes {
			name, _, _ := strings.Cut(e, ":")
			names = append(names, name)
		}
		list := strings.Join(names, " ")
		clientEnctypes = "    default_tkt_enctypes = " + list + "\n    default_tgs_enctypes = " + list + "\n    permitted_enctypes = " + list + "\n"
	}
	krb5 := fmt.Sprintf(`[libdefaults]
    default_realm = %[1]s
    dns_lookup_kdc = false
    dns_lookup_realm = false
    dns_canonicalize_hostname = false
    rdns = false
    ignore_acceptor_hostname = true
    udp_preference_limit = 1
    default_ccache_name = FILE:%[2]s
    default_keytab_name = FILE:%[3]s
%[5]s[realms]
    %[1]s = {
        kdc = 127.0.0.1:%[4]d
    }
[domain_realm]
    localhost = %[1]s
    .localhost = %[1]s
    127.0.0.1 = %[1]s
`, Realm, k.CCache, k.Keytab, port, clientEnctypes)
	kdc := fmt.Sprintf(`[kdcdefaults]
    kdc_listen = 127.0.0.1:%[2]d
    kdc_tcp_listen = 127.0.0.1:%[2]d
[realms]
    %[1]s = {
        database_name = %[3]s
        key_stash_file = %[4]s
        acl_file = %[5]s
        max_life = 10h 0m 0s
        max_renewable_life = 7d 0h 0m 0s
        supported_enctypes = %[6]s
        disable_pac = %[7]t
    }
[logging]
    kdc = FILE:%[8]s
    default = FILE:%[8]s
`, Realm, port, filepath.Join(k.Dir, "principal"), filepath.Join(k.Dir, "stash"),
		filepath.Join(k.Dir, "kadm5.acl"), enctypes, o.disablePAC, filepath.Join(k.Dir, "kdc.log"))
	if err := os.WriteFile(k.Krb5Conf, []byte(krb5), 0o600); err != nil {
		return err
	}
	return os.WriteFile(k.KDCConf, []byte(kdc), 0o600)
}

// freePort returns a port that was free on 127.0.0.1 for both TCP and UDP
// a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	u, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return 0, errors.Join(errors.New("udp port taken"), err)
	}
	u.Close()
	return port, nil
}
