package cli

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/psremote/psremote/internal/testsamba"
)

// TestServeWinbindDomainUser logs an Active Directory user in with NTLM
// through winbind, end to end: a Samba DC on loopback, `psremote serve`
// with NTLMSources [winbind] (its ntlm_auth helpers reaching winbindd),
// and `psremote run --auth ntlm -u DOMAIN\user` over HTTP with message
// encryption. The domain user maps to the local account of the same name
// (Winbind.DefaultDomain) and the command runs as that account.
func TestServeWinbindDomainUser(t *testing.T) {
	bin := buildBinary(t)
	dc := testsamba.Start(t)
	const name, pw = "pswbuser", "Wb-Passw0rd-42!"
	if err := dc.AddUser(name, pw); err != nil {
		t.Fatal(err)
	}
	const group = "pswbadmins"
	if out, err := exec.Command("groupadd", "-f", group).CombinedOutput(); err != nil {
		t.Fatalf("groupadd: %v: %s", err, out)
	}
	if out, err := exec.Command("useradd", "-M", "-s", "/bin/sh", "-G", group, name).CombinedOutput(); err != nil {
		t.Fatalf("useradd: %v: %s", err, out)
	}
	t.Cleanup(func() {
		exec.Command("userdel", name).Run()
		exec.Command("groupdel", group).Run()
	})

	dir := t.TempDir()
	var env strings.Builder
	for _, kv := range dc.HelperEnv()[1:] { // PATH is the server's default
		env.WriteString("        - " + kv + "\n")
	}
	cfg := `StateDir: ` + filepath.Join(dir, "state") + `
Service:
  AdministratorGroups: [` + group + `]
  Auth:
    Basic: false
    NTLMSources: [winbind]
    Winbind:
      Args: ["--configfile=` + dc.SMBConf + `"]
      DefaultDomain: ` + testsamba.Domain + `
      Env:
` + env.String() + `Listeners:
  - {Transport: HTTP, Address: 127.0.0.1, Port: 0}
`
	cfgFile := filepath.Join(dir, "psremote.yaml")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := exec.Command(bin, "serve", "--config", cfgFile)
	srv.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stderr, err := srv.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Process.Signal(syscall.SIGTERM); srv.Wait() })
	urlc := make(chan string, 1)
	var logb strings.Builder
	go func() {
		re := regexp.MustCompile(`listening HTTP (http://\S+)`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			logb.WriteString(sc.Text() + "\n")
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				urlc <- m[1]
			}
		}
	}()
	var url string
	select {
	case url = <-urlc:
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not start")
	}
	hostport := strings.TrimPrefix(strings.TrimSuffix(url, "/wsman"), "http://")

	xdg := filepath.Join(dir, "xdg")
	if err := os.MkdirAll(filepath.Join(xdg, "psremote"), 0o700); err != nil {
		t.Fatal(err)
	}
	// NTLM over HTTP goes only to TrustedHosts (the server's identity is
	// not proven); the messages are encrypted.
	if err := os.WriteFile(filepath.Join(xdg, "psremote", "config.yaml"), []byte("TrustedHosts: \"127.0.0.1\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(password string) (string, error) {
		c := exec.Command(bin, "run", "--http", "-H", hostport, "--auth", "ntlm", "-u", testsamba.Domain+`\`+name, "--", "id -un")
		c.Env = append(os.Environ(), "XDG_CONFIG_HOME="+xdg, "PSREMOTE_PASSWORD="+password)
		out, err := c.CombinedOutput()
		return string(out), err
	}
	out, err := run(pw)
	if err != nil || strings.TrimSpace(out) != name {
		t.Fatalf("domain user login: %v: %q\nserver log:\n%s", err, out, logb.String())
	}
	if out, err := run("wrong-password"); err == nil {
		t.Fatalf("wrong password accepted: %q", out)
	}
}
