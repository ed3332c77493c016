package interop

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The loopback Kerberos realm of the interop tests (the project's
// internal/testkdc does the same for unit tests; this module cannot
// import it).
const (
	kdcRealm = "EXAMPLE.TEST"
	kdcUser  = "user1" // mapped to testUser by the servers' PrincipalMapFile
)

// kdc is a running MIT krb5kdc on 127.0.0.1 with its own database, a
// keytab for HTTP/localhost and WSMAN/localhost, and user1's TGT in a
// credential cache.
type kdc struct {
	dir, krb5Conf, kdcConf, ccache, keytab, password string

	cmd  *exec.Cmd
	done chan struct{}
}

// startKDC creates the realm in dir and starts the KDC. The Debian
// packages krb5-kdc, krb5-admin-server and krb5-user provide the tools.
func startKDC(dir string) (*kdc, error) {
	for _, tool := range []string{"krb5kdc", "kdb5_util", "kadmin.local", "kinit"} {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, fmt.Errorf("%s not found (apt-get install krb5-kdc krb5-admin-server krb5-user): %w", tool, err)
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	k := &kdc{dir: dir, password: "Krb_" + randomHex(10),
		krb5Conf: filepath.Join(dir, "krb5.conf"), kdcConf: filepath.Join(dir, "kdc.conf"),
		ccache: filepath.Join(dir, "ccache"), keytab: filepath.Join(dir, "services.keytab")}
	port, err := kdcPort()
	if err != nil {
		return nil, err
	}
	if err := k.writeConfig(port); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "kadm5.acl"), nil, 0o600); err != nil {
		return nil, err
	}
	steps := [][]string{
		{"kdb5_util", "-r", kdcRealm, "-P", randomHex(16), "create", "-s"},
		{"kadmin.local", "-r", kdcRealm, "-q", "addprinc -pw " + k.password + " " + kdcUser},
		{"kadmin.local", "-r", kdcRealm, "-q", "addprinc -randkey HTTP/localhost"},
		{"kadmin.local", "-r", kdcRealm, "-q", "addprinc -randkey WSMAN/localhost"},
		{"kadmin.local", "-r", kdcRealm, "-q", "ktadd -norandkey -k " + k.keytab + " HTTP/localhost WSMAN/localhost"},
	}
	for _, st := range steps {
		if err := k.run(nil, st[0], st[1:]...); err != nil {
			return nil, err
		}
	}
	if err := k.start(port); err != nil {
		return nil, err
	}
	if err := k.run([]byte(k.password+"\n"), "kinit", "-c", "FILE:"+k.ccache, kdcUser+"@"+kdcRealm); err != nil {
		k.stop()
		return nil, err
	}
	return k, nil
}

// env is what a Kerberos client needs to use the realm: the
// configuration and the credential cache, never /etc/krb5.conf.
func (k *kdc) env() map[string]string {
	return map[string]string{"KRB5_CONFIG": k.krb5Conf, "KRB5CCNAME": "FILE:" + k.ccache}
}

// environ is the current environment without KRB5* variables, plus env.
func (k *kdc) environ() []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "KRB5") {
			out = append(out, kv)
		}
	}
	for n, v := range k.env() {
		out = append(out, n+"="+v)
	}
	return append(out, "KRB5_KDC_PROFILE="+k.kdcConf)
}

func (k *kdc) run(stdin []byte, name string, args ...string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env, cmd.Dir, cmd.Stdin = k.environ(), k.dir, bytes.NewReader(stdin)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %w: %s", name, err, bytes.TrimSpace(out))
	}
	return nil
}

// start runs krb5kdc in the foreground and waits until it listens.
func (k *kdc) start(port int) error {
	logf, err := os.OpenFile(filepath.Join(k.dir, "krb5kdc.out"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	k.cmd = exec.Command("krb5kdc", "-n", "-r", kdcRealm)
	k.cmd.Env, k.cmd.Dir, k.cmd.Stdout, k.cmd.Stderr = k.environ(), k.dir, logf, logf
	k.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := k.cmd.Start(); err != nil {
		return err
	}
	k.done = make(chan struct{})
	go func() {
		_ = k.cmd.Wait()
		close(k.done)
	}()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	for deadline := time.Now().Add(5 * time.Second); ; {
		select {
		case <-k.done:
			return fmt.Errorf("krb5kdc exited at start: see %s", logf.Name())
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			k.stop()
			return fmt.Errorf("krb5kdc not listening on %s", addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop kills the KDC.
func (k *kdc) stop() {
	if k.cmd != nil && k.cmd.Process != nil {
		k.cmd.Process.Kill()
		<-k.done
	}
}

func (k *kdc) writeConfig(port int) error {
	krb5 := fmt.Sprintf(`[libdefaults]
    default_realm = %[1]s
    dns_lookup_kdc = false
    dns_lookup_realm = false
    dns_canonicalize_hostname = false
    rdns = false
    udp_preference_limit = 1
    default_ccache_name = FILE:%[2]s
[realms]
    %[1]s = {
        kdc = 127.0.0.1:%[3]d
    }
[domain_realm]
    localhost = %[1]s
    .localhost = %[1]s
`, kdcRealm, k.ccache, port)
	kdcConf := fmt.Sprintf(`[kdcdefaults]
    kdc_listen = 127.0.0.1:%[2]d
    kdc_tcp_listen = 127.0.0.1:%[2]d
[realms]
    %[1]s = {
        database_name = %[3]s
        key_stash_file = %[4]s
        acl_file = %[5]s
        supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal
    }
[logging]
    kdc = FILE:%[6]s
`, kdcRealm, port, filepath.Join(k.dir, "principal"), filepath.Join(k.dir, "stash"),
		filepath.Join(k.dir, "kadm5.acl"), filepath.Join(k.dir, "kdc.log"))
	if err := os.WriteFile(k.krb5Conf, []byte(krb5), 0o600); err != nil {
		return err
	}
	return os.WriteFile(k.kdcConf, []byte(kdcConf), 0o600)
}

// kdcPort returns a port free for TCP and UDP on 127.0.0.1 a moment ago.
func kdcPort() (int, error) {
	for range 5 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		l.Close()
		if err == nil {
			u.Close()
			return port, nil
		}
	}
	return 0, errors.New("no free port for the KDC")
}
