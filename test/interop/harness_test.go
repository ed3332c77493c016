package interop

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// testUser is the Linux account (and account-store user) the tests log in as.
const testUser = "psremote-it"

// adminGroup is the group whose members may open shells.
const adminGroup = "sudo"

var (
	// required is true when a skip would hide a missing peer from CI.
	required = os.Getenv("CI") == "true" || os.Getenv("PSREMOTE_INTEROP") == "1"

	// Set once by TestMain: exactly one of srv, skipReason, setupErr.
	srv        *server
	skipReason string
	setupErr   error
)

// server is the shared `psremote serve` and everything made for it:
// certificates, the test user, a loopback Kerberos realm, and a second
// server (strict) with Windows' security defaults.
type server struct {
	dir      string // temporary directory holding everything below
	bin      string // built psremote binary
	password string
	uid      int // of testUser

	caPEM      []byte
	caFile     string
	caSHA1     string // thumbprint of the test CA (the CertMapping Issuer)
	clientCert string // client certificate (UPN testUser@psremote.test) and key files
	clientKey  string
	certSHA1   string // lower-case hex SHA-1 of the server certificate (DER)

	// kdc is the loopback MIT KDC whose HTTP/localhost key both servers
	// accept; nil (with kdcErr) when it could not start.
	kdc    *kdc
	kdcErr error

	// The shared server: AllowUnencrypted true, Basic, Negotiate,
	// Kerberos and certificates, CbtHardeningLevel Relaxed.
	*instance
	// strict: Windows' defaults (AllowUnencrypted false, no Basic) and
	// CbtHardeningLevel Strict, so that clients must encrypt on HTTP and
	// bind their logins to the TLS channel on HTTPS.
	strict *instance
}

// instance is one running `psremote serve` with an HTTP and an HTTPS
// listener.
type instance struct {
	name       string
	httpURL    string
	httpsURL   string
	httpPort   int
	httpsPort  int
	thumbprint string // as printed by serve on its HTTPS listening line

	cmd  *exec.Cmd
	log  *syncBuffer
	exit chan error // receives cmd.Wait's result once
}

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	if os.Geteuid() != 0 {
		if required {
			fmt.Fprintln(os.Stderr, "interop: FAIL: these tests must run as root (CI=true or PSREMOTE_INTEROP=1 forbids skipping)")
			return 1
		}
		skipReason = "interop tests need root (they create the Linux user " + testUser + "); run as root, or set PSREMOTE_INTEROP=1 to make this a failure"
		fmt.Fprintln(os.Stderr, "interop: skipping:", skipReason)
		return m.Run()
	}

	s, cleanup, err := setup()
	if err != nil {
		setupErr = err
		fmt.Fprintln(os.Stderr, "interop: setup failed:", err)
	} else {
		srv = s
	}
	code := m.Run()
	if srv != nil {
		for _, in := range srv.instances() {
			if err := in.stop(); err != nil {
				fmt.Fprintf(os.Stderr, "interop: FAIL: %s server shutdown: %v\n", in.name, err)
				code = 1
			}
			if code != 0 {
				fmt.Fprintf(os.Stderr, "interop: %s server log (last 16 KiB):\n%s\n", in.name, in.log.tail(16<<10))
			}
		}
	}
	cleanup()
	return code
}

// serverFor returns the shared server, or skips or fails t when there is none.
func serverFor(t *testing.T) *server {
	t.Helper()
	switch {
	case skipReason != "":
		t.Skip(skipReason)
	case setupErr != nil:
		t.Fatalf("interop setup failed: %v", setupErr)
	}
	return srv
}

// setup builds the binary, writes certificates and configuration, creates
// the Linux user and starts the server. cleanup is never nil and undoes
// whatever was done, even when err is not nil.
func setup() (s *server, cleanup func(), err error) {
	var undo []func()
	cleanup = func() {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
	}
	dir, err := os.MkdirTemp("", "psremote-interop-")
	if err != nil {
		return nil, cleanup, err
	}
	undo = append(undo, func() { os.RemoveAll(dir) })
	s = &server{dir: dir}

	if err := s.build(); err != nil {
		return nil, cleanup, err
	}
	if err := s.writeCerts(); err != nil {
		return nil, cleanup, fmt.Errorf("certificates: %w", err)
	}
	delUser, err := createUser()
	undo = append(undo, delUser)
	if err != nil {
		return nil, cleanup, err
	}
	u, err := user.Lookup(testUser)
	if err != nil {
		return nil, cleanup, err
	}
	s.uid, _ = strconv.Atoi(u.Uid)

	s.password = "It_" + randomHex(12)
	if err := s.addStoreUser(); err != nil {
		return nil, cleanup, err
	}
	// The realm is optional for the tests that do not need Kerberos;
	// those that do fail (or skip) with kdcErr.
	s.kdc, s.kdcErr = startKDC(filepath.Join(dir, "kdc"))
	if s.kdc != nil {
		undo = append(undo, s.kdc.stop)
	} else {
		fmt.Fprintln(os.Stderr, "interop: no Kerberos realm:", s.kdcErr)
	}
	if err := s.start(); err != nil {
		for _, in := range s.instances() {
			in.kill()
		}
		return nil, cleanup, err
	}
	return s, cleanup, nil
}

// upnSAN is a subjectAltName extension holding one user principal name
// (otherName 1.3.6.1.4.1.311.20.2.3, a UTF8String), as Windows and
// Ansible's certificate-authentication guides issue them.
func upnSAN(upn string) (pkix.Extension, error) {
	val, err := asn1.MarshalWithParams(upn, "utf8")
	if err != nil {
		return pkix.Extension{}, err
	}
	other, err := asn1.Marshal(struct {
		TypeID asn1.ObjectIdentifier
		Value  asn1.RawValue
	}{asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 20, 2, 3}, asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: val}})
	if err != nil {
		return pkix.Extension{}, err
	}
	other[0] = 0xa0 // GeneralName otherName: [0] IMPLICIT OtherName
	names, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence, IsCompound: true, Bytes: other})
	if err != nil {
		return pkix.Extension{}, err
	}
	return pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 17}, Value: names}, nil
}

// repoRoot is the product module's directory, two levels up.
func repoRoot() (string, error) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		return "", err
	}
	mod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		return "", err
	}
	if !bytes.Contains(mod, []byte("module github.com/psremote/psremote\n")) {
		return "", fmt.Errorf("%s/go.mod is not the psremote module", root)
	}
	return root, nil
}

// build compiles cmd/psremote, or uses the binary named by PSREMOTE_BIN.
func (s *server) build() error {
	if bin := os.Getenv("PSREMOTE_BIN"); bin != "" {
		abs, err := filepath.Abs(bin)
		s.bin = abs
		return err
	}
	root, err := repoRoot()
	if err != nil {
		return err
	}
	s.bin = filepath.Join(s.dir, "psremote")
	cmd := exec.Command("go", "build", "-o", s.bin, "./cmd/psremote")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/psremote in %s: %v\n%s", root, err, out)
	}
	return nil
}

// writeCerts makes a CA and a server certificate for 127.0.0.1, ::1 and
// localhost, writing ca.pem, server.pem and server.key into s.dir.
func (s *server) writeCerts() error {
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "psremote interop test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(48 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return err
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "localhost"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(48 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	sum := sha1.Sum(der)
	s.certSHA1 = hex.EncodeToString(sum[:])
	caSum := sha1.Sum(caDER)
	s.caSHA1 = hex.EncodeToString(caSum[:])

	// A client certificate for certificate authentication: its user
	// principal name is what CertMapping matches.
	ckey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	san, err := upnSAN(testUser + "@psremote.test")
	if err != nil {
		return err
	}
	ctmpl := &x509.Certificate{
		SerialNumber:    big.NewInt(3),
		Subject:         pkix.Name{CommonName: testUser},
		NotBefore:       now.Add(-time.Hour),
		NotAfter:        now.Add(48 * time.Hour),
		KeyUsage:        x509.KeyUsageDigitalSignature,
		ExtKeyUsage:     []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		ExtraExtensions: []pkix.Extension{san},
	}
	cder, err := x509.CreateCertificate(rand.Reader, ctmpl, caCert, &ckey.PublicKey, caKey)
	if err != nil {
		return err
	}
	ckeyDER, err := x509.MarshalPKCS8PrivateKey(ckey)
	if err != nil {
		return err
	}
	s.clientCert = filepath.Join(s.dir, "client.pem")
	s.clientKey = filepath.Join(s.dir, "client.key")
	s.caPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
	s.caFile = filepath.Join(s.dir, "ca.pem")
	files := map[string][]byte{
		"ca.pem":     s.caPEM,
		"server.pem": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		"server.key": pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
		"client.pem": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cder}),
		"client.key": pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ckeyDER}),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(s.dir, name), data, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// createUser makes testUser a fresh Linux account in adminGroup, creating
// the group if the system has none. The returned func removes what it made.
func createUser() (undo func(), err error) {
	var steps []func()
	undo = func() {
		for i := len(steps) - 1; i >= 0; i-- {
			steps[i]()
		}
	}
	if _, err := user.LookupGroup(adminGroup); err != nil {
		if out, err := exec.Command("groupadd", adminGroup).CombinedOutput(); err != nil {
			return undo, fmt.Errorf("groupadd %s: %v: %s", adminGroup, err, out)
		}
		steps = append(steps, func() { exec.Command("groupdel", adminGroup).Run() })
	}
	// A user left behind by an interrupted run is removed first.
	if u, err := user.Lookup(testUser); err == nil {
		uid, _ := strconv.Atoi(u.Uid)
		killUserProcs(uid)
		exec.Command("userdel", "-r", testUser).Run()
	}
	out, err := exec.Command("useradd", "-m", "-s", "/bin/sh", "-G", adminGroup, testUser).CombinedOutput()
	if err != nil {
		return undo, fmt.Errorf("useradd %s: %v: %s", testUser, err, out)
	}
	steps = append(steps, func() {
		if u, err := user.Lookup(testUser); err == nil {
			uid, _ := strconv.Atoi(u.Uid)
			killUserProcs(uid)
		}
		if out, err := exec.Command("userdel", "-r", testUser).CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "interop: userdel -r %s: %v: %s\n", testUser, err, out)
		}
	})
	return undo, nil
}

// killUserProcs ends, by pid, every process left running as uid (the
// test user exists only for these tests, so all of them came from here).
func killUserProcs(uid int) {
	for i := 0; i < 50; i++ {
		ps := userProcs(uid)
		if len(ps) == 0 {
			return
		}
		for _, p := range ps {
			syscall.Kill(p.pid, syscall.SIGKILL)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *server) addStoreUser() error {
	cmd := exec.Command(s.bin, "user", "add", testUser, "--state-dir", s.stateDir())
	cmd.Env = append(os.Environ(), "PSREMOTE_PASSWORD="+s.password)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("psremote user add %s: %v\n%s", testUser, err, out)
	}
	return nil
}

func (s *server) stateDir() string { return filepath.Join(s.dir, "state") }

// listenRE matches serve's start-up lines, one per listener; further
// " key=value" fields after the thumbprint are allowed.
var listenRE = regexp.MustCompile(`^psremote: listening (HTTPS?) (https?://127\.0\.0\.1:(\d+)/wsman)(?: thumbprint=([0-9A-Fa-f]{40}))?(?: \S+)*\s*$`)

// authConfig is the Negotiate/Kerberos part of Service.Auth shared by
// both servers: the realm's keytab and a principal map that makes
// user1@EXAMPLE.TEST the test user.
func (s *server) authConfig() (string, error) {
	if s.kdc == nil {
		return "", nil
	}
	pmap := filepath.Join(s.dir, "principals")
	if err := os.WriteFile(pmap, []byte(kdcUser+"@"+kdcRealm+" "+testUser+"\n"), 0o600); err != nil {
		return "", err
	}
	return fmt.Sprintf(", Keytab: %q, PrincipalMapFile: %q", s.kdc.keytab, pmap), nil
}

// start starts the shared and the strict server.
func (s *server) start() error {
	krb, err := s.authConfig()
	if err != nil {
		return err
	}
	listeners := fmt.Sprintf(`Listeners:
  - {Transport: HTTP, Address: 127.0.0.1, Port: 0}
  - {Transport: HTTPS, Address: 127.0.0.1, Port: 0, CertificateFile: %q, KeyFile: %q}
`, filepath.Join(s.dir, "server.pem"), filepath.Join(s.dir, "server.key"))
	shared := fmt.Sprintf(`StateDir: %q
Service:
  AllowUnencrypted: true
  Auth: {Basic: true, BasicSources: [store], Certificate: true, ClientCAFile: %q%s}
Winrs: {IdleTimeout: 7200000}
%sCertMapping:
  - {Issuer: %q, Subject: "*@psremote.test", UserName: %q}
`, s.stateDir(), s.caFile, krb, listeners, s.caSHA1, testUser)
	if s.instance, err = s.launch("shared", shared); err != nil {
		return err
	}
	strict := fmt.Sprintf(`StateDir: %q
Service:
  Auth: {Basic: false, CbtHardeningLevel: Strict%s}
%s`, s.stateDir(), krb, listeners)
	s.strict, err = s.launch("strict", strict)
	return err
}

// instances lists the servers started so far.
func (s *server) instances() []*instance {
	var out []*instance
	for _, in := range []*instance{s.instance, s.strict} {
		if in != nil {
			out = append(out, in)
		}
	}
	return out
}

// launch starts `psremote serve` with the configuration cfg and waits for
// its two listening lines.
func (s *server) launch(name, cfg string) (*instance, error) {
	cfgFile := filepath.Join(s.dir, name+".yaml")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	in := &instance{name: name, log: &syncBuffer{}, exit: make(chan error, 1)}
	in.cmd = exec.Command(s.bin, "serve", "--config", cfgFile, "--state-dir", s.stateDir())
	in.cmd.Stdout = in.log
	in.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stderr, err := in.cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := in.cmd.Start(); err != nil {
		return nil, err
	}
	lines := make(chan string, 4)
	// However launch ends, keep draining lines so the reader never blocks.
	defer func() {
		go func() {
			for range lines {
			}
		}()
	}()
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			in.log.Write([]byte(line + "\n"))
			if listenRE.MatchString(line) {
				lines <- line
			}
		}
		close(lines)
		io.Copy(in.log, stderr)
		in.exit <- in.cmd.Wait()
	}()

	deadline := time.After(30 * time.Second)
	for in.httpPort == 0 || in.httpsPort == 0 {
		select {
		case line, ok := <-lines:
			if !ok {
				in.kill()
				return nil, fmt.Errorf("psremote serve (%s) exited before listening:\n%s", name, in.log.tail(8<<10))
			}
			m := listenRE.FindStringSubmatch(line)
			port, _ := strconv.Atoi(m[3])
			if m[1] == "HTTP" {
				in.httpURL, in.httpPort = m[2], port
			} else {
				in.httpsURL, in.httpsPort, in.thumbprint = m[2], port, strings.ToLower(m[4])
			}
		case <-deadline:
			in.kill()
			return nil, fmt.Errorf("psremote serve (%s) printed no HTTP and HTTPS listening lines within 30s:\n%s", name, in.log.tail(8<<10))
		}
	}
	return in, nil
}

// stop sends SIGTERM and expects a clean exit 0 within 15 s.
func (in *instance) stop() error {
	if err := in.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return fmt.Errorf("SIGTERM: %w", err)
	}
	select {
	case err := <-in.exit:
		if err != nil {
			return fmt.Errorf("psremote serve after SIGTERM: %v (want exit status 0)", err)
		}
		return nil
	case <-time.After(15 * time.Second):
		in.cmd.Process.Kill()
		<-in.exit
		return errors.New("psremote serve did not exit within 15s of SIGTERM; killed")
	}
}

// kill ends a server that failed to start properly.
func (in *instance) kill() {
	if in.cmd != nil && in.cmd.Process != nil {
		in.cmd.Process.Kill()
		select {
		case <-in.exit:
		case <-time.After(5 * time.Second):
		}
	}
}

// proc is one process seen in /proc.
type proc struct {
	pid  int
	argv []string
}

// userProcs lists the processes whose /proc entry belongs to uid.
func userProcs(uid int) []proc {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var ps []proc
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		fi, err := os.Stat(filepath.Join("/proc", e.Name()))
		if err != nil {
			continue
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok || int(st.Uid) != uid {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		ps = append(ps, proc{pid: pid, argv: strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")})
	}
	return ps
}

// sleepProcs lists the test user's `sleep ARG` processes.
func (s *server) sleepProcs(arg string) []proc {
	var out []proc
	for _, p := range userProcs(s.uid) {
		if len(p.argv) == 2 && filepath.Base(p.argv[0]) == "sleep" && p.argv[1] == arg {
			out = append(out, p)
		}
	}
	return out
}

// waitFor polls cond every 20 ms until it holds or d passes.
func waitFor(d time.Duration, cond func() bool) bool {
	end := time.Now().Add(d)
	for {
		if cond() {
			return true
		}
		if time.Now().After(end) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// tail returns at most the last n bytes written.
func (b *syncBuffer) tail(n int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	data := b.buf.Bytes()
	if len(data) > n {
		data = data[len(data)-n:]
	}
	return string(data)
}

// peer checks, each run once.
var (
	pywinrmOnce sync.Once
	pywinrmErr  error
	nodeOnce    sync.Once
	nodeErr     error
)

// needPeer skips t (or fails it, when required) if check reports the
// named peer missing.
func needPeer(t *testing.T, name string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if required {
		t.Fatalf("peer %s is missing (CI=true or PSREMOTE_INTEROP=1 forbids skipping; .ci/run installs it): %v", name, err)
	}
	t.Skipf("peer %s is missing (set PSREMOTE_INTEROP=1 to make this a failure): %v", name, err)
}

// pythonBin is Debian's interpreter, which sees python3-winrm (the
// python3 on PATH may be a separate build that does not).
const pythonBin = "/usr/bin/python3"

func checkPywinrm() error {
	pywinrmOnce.Do(func() {
		out, err := exec.Command(pythonBin, "-c", "import winrm, requests").CombinedOutput()
		if err != nil {
			pywinrmErr = fmt.Errorf("%s cannot import winrm (apt-get install python3-winrm): %v: %s", pythonBin, err, out)
		}
	})
	return pywinrmErr
}

// nodeDir holds package.json and package-lock.json for winrm-client.
const nodeDir = "node"

// checkNode finds node and winrm-client, running `npm ci` in nodeDir when
// node_modules is absent.
func checkNode() error {
	nodeOnce.Do(func() {
		if _, err := exec.LookPath("node"); err != nil {
			nodeErr = err
			return
		}
		pkg := filepath.Join(nodeDir, "node_modules", "winrm-client", "package.json")
		if _, err := os.Stat(pkg); err != nil {
			cmd := exec.Command("npm", "ci", "--no-audit", "--no-fund")
			cmd.Dir = nodeDir
			if out, err := cmd.CombinedOutput(); err != nil {
				nodeErr = fmt.Errorf("npm ci in %s: %v: %s", nodeDir, err, out)
				return
			}
		}
		out, err := exec.Command("node", "-e", `process.stdout.write(require("./`+nodeDir+`/node_modules/winrm-client/package.json").version)`).Output()
		if err != nil {
			nodeErr = fmt.Errorf("reading winrm-client version: %v", err)
			return
		}
		if string(out) != "0.0.11" {
			nodeErr = fmt.Errorf("winrm-client version %q, want 0.0.11", out)
		}
	})
	return nodeErr
}
