package testsamba

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/psremote/psremote/internal/filelock"
)

// Domain names of the test domain.
const (
	Realm  = "SAMBA.TEST"
	Domain = "SAMBATEST"
	// AdminPassword is the Administrator's password.
	AdminPassword = "Adm1n-Passw0rd!"
)

// nssWrapper lets ntlm_auth and wbinfo find winbindd's socket in the
// DC's private run directory.
const nssWrapper = "/usr/lib/x86_64-linux-gnu/libnss_wrapper.so"

// DC is a running domain controller.
type DC struct {
	// Dir holds the provisioned domain, its logs and sockets.
	Dir string
	// SMBConf is the DC's smb.conf.
	SMBConf string
	// Krb5Conf is a krb5.conf for the realm.
	Krb5Conf string
	cmd      *exec.Cmd
	exited   chan struct{} // closed once samba has exited and been reaped
}

// toolTimeout bounds one samba-tool or wbinfo run.
const toolTimeout = 60 * time.Second

// tool runs a Samba command line, bounded by toolTimeout.
func tool(env []string, name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), toolTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	return cmd.CombinedOutput()
}

// Start provisions a domain in a temporary directory and runs samba until
// the test ends. It skips the test when samba is not installed or the
// test does not run as root, unless PSREMOTE_INTEROP is set (CI), where a
// missing peer is a failure.
func Start(tb testing.TB) *DC {
	tb.Helper()
	need := func(format string, args ...any) {
		tb.Helper()
		msg := fmt.Sprintf(format, args...)
		if os.Getenv("PSREMOTE_INTEROP") != "" {
			tb.Fatalf("testsamba: %s (PSREMOTE_INTEROP is set, so this is a failure)", msg)
		}
		tb.Skipf("testsamba: %s", msg)
	}
	for _, bin := range []string{"samba", "samba-tool", "ntlm_auth"} {
		if _, err := exec.LookPath(bin); err != nil {
			need("%s not installed (apt-get install samba samba-ad-dc samba-ad-provision samba-dsdb-modules winbind libnss-wrapper)", bin)
		}
	}
	if _, err := os.Stat(nssWrapper); err != nil {
		need("%s missing (apt-get install libnss-wrapper)", nssWrapper)
	}
	if os.Geteuid() != 0 {
		need("a Samba DC needs root")
	}
	unlock, err := filelock.Lock(filepath.Join(os.TempDir(), "psremote-testsamba.lock"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(unlock)
	dir, err := os.MkdirTemp("", "psremote-samba-")
	if err != nil {
		tb.Fatal(err)
	}
	dc := &DC{Dir: dir, SMBConf: filepath.Join(dir, "etc", "smb.conf"), Krb5Conf: filepath.Join(dir, "krb5.conf")}
	tb.Cleanup(func() { dc.stop(); os.RemoveAll(dir) })
	if err := dc.provision(); err != nil {
		tb.Fatal(err)
	}
	if err := dc.start(); err != nil {
		tb.Fatal(err)
	}
	return dc
}

func (dc *DC) provision() error {
	run := filepath.Join(dc.Dir, "run")
	args := []string{"domain", "provision", "--targetdir=" + dc.Dir, "--realm=" + Realm, "--domain=" + Domain,
		"--server-role=dc", "--dns-backend=SAMBA_INTERNAL", "--use-rfc2307", "--adminpass=" + AdminPassword,
		"--host-ip=127.0.0.1", "--host-name=dc1",
		"--option=interfaces=127.0.0.1", "--option=bind interfaces only=yes",
		"--option=log file=" + filepath.Join(dc.Dir, "log", "log.%m"), "--option=pid directory=" + run,
		"--option=ncalrpc dir=" + filepath.Join(run, "ncalrpc"), "--option=winbindd socket directory=" + filepath.Join(run, "winbindd"),
		"--option=load printers=no", "--option=printing=bsd", "--option=printcap name=/dev/null",
		"--option=disable spoolss=yes", "--option=ntp signd socket directory=" + filepath.Join(run, "ntp_signd")}
	if out, err := tool(nil, "samba-tool", args...); err != nil {
		return fmt.Errorf("testsamba: provision: %v\n%s", err, tail(out))
	}
	for _, d := range []string{run, filepath.Join(dc.Dir, "log")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	// Keep only shares inside the directory: drop [homes] up to [sysvol].
	conf, err := os.ReadFile(dc.SMBConf)
	if err != nil {
		return err
	}
	if i, j := bytes.Index(conf, []byte("[homes]")), bytes.Index(conf, []byte("[sysvol]")); i >= 0 && j > i {
		conf = append(conf[:i:i], conf[j:]...)
		if err := os.WriteFile(dc.SMBConf, conf, 0o644); err != nil {
			return err
		}
	}
	krb := fmt.Sprintf(`[libdefaults]
    default_realm = %[1]s
    dns_lookup_realm = false
    dns_lookup_kdc = false
    rdns = false
    dns_canonicalize_hostname = false
[realms]
    %[1]s = {
        kdc = 127.0.0.1:88
    }
[domain_realm]
    dc1 = %[1]s
    localhost = %[1]s
`, Realm)
	return os.WriteFile(dc.Krb5Conf, []byte(krb), 0o644)
}

func (dc *DC) start() error {
	logf, err := os.Create(filepath.Join(dc.Dir, "log", "samba.stdout"))
	if err != nil {
		return err
	}
	dc.cmd = exec.Command("samba", "-i", "-M", "single", "-l", filepath.Join(dc.Dir, "log"), "-s", dc.SMBConf)
	dc.cmd.Stdout, dc.cmd.Stderr = logf, logf
	dc.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := dc.cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("testsamba: samba: %w", err)
	}
	logf.Close()
	dc.exited = make(chan struct{})
	go func() { dc.cmd.Wait(); close(dc.exited) }()
	pipe := filepath.Join(dc.Dir, "run", "winbindd", "pipe")
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-dc.exited:
			out, _ := os.ReadFile(filepath.Join(dc.Dir, "log", "samba.stdout"))
			return fmt.Errorf("testsamba: samba exited while starting:\n%s", tail(out))
		default:
		}
		if listening("127.0.0.1:389") && listening("127.0.0.1:88") {
			if st, err := os.Stat(pipe); err == nil && st.Mode()&os.ModeSocket != 0 {
				return dc.waitWinbind(deadline)
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	out, _ := os.ReadFile(filepath.Join(dc.Dir, "log", "samba.stdout"))
	return fmt.Errorf("testsamba: samba not ready within 60 s:\n%s", tail(out))
}

// waitWinbind waits until winbindd answers for the domain.
func (dc *DC) waitWinbind(deadline time.Time) error {
	var last []byte
	for time.Now().Before(deadline) {
		out, err := tool(dc.HelperEnv(), "wbinfo", "-p")
		if err == nil {
			return nil
		}
		last = out
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("testsamba: winbindd not answering: %s", tail(last))
}

func listening(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// HelperEnv is the environment ntlm_auth and wbinfo need to reach this
// DC's winbindd.
func (dc *DC) HelperEnv() []string {
	return []string{
		"PATH=/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin",
		"LD_PRELOAD=" + nssWrapper,
		"NSS_WRAPPER_PASSWD=/etc/passwd",
		"NSS_WRAPPER_GROUP=/etc/group",
		"SELFTEST_WINBINDD_SOCKET_DIR=" + filepath.Join(dc.Dir, "run", "winbindd"),
	}
}

// AddUser creates a domain user.
func (dc *DC) AddUser(name, password string) error {
	out, err := tool(nil, "samba-tool", "user", "add", name, password, "-s", dc.SMBConf)
	if err != nil {
		return fmt.Errorf("testsamba: user add %s: %v: %s", name, err, tail(out))
	}
	return nil
}

func (dc *DC) stop() {
	if dc.exited == nil {
		return
	}
	syscall.Kill(-dc.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-dc.exited:
	case <-time.After(10 * time.Second):
		syscall.Kill(-dc.cmd.Process.Pid, syscall.SIGKILL)
		<-dc.exited
	}
}

func tail(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 2000 {
		s = "..." + s[len(s)-2000:]
	}
	return s
}
