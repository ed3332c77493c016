package listener

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// ErrNoCertificate means no certificate matched a thumbprint.
var ErrNoCertificate = errors.New("listener: no certificate with that thumbprint")

// Thumbprint returns the SHA-1 thumbprint of a DER certificate as 40
// upper-case hex digits, the form WinRM's CertificateThumbprint uses.
func Thumbprint(der []byte) string {
	sum := sha1.Sum(der)
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// Fingerprint256 returns the SHA-256 fingerprint of a DER certificate,
// for trust-on-first-use pinning by clients.
func Fingerprint256(der []byte) string {
	sum := sha256.Sum256(der)
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// normThumbprint strips separators so "ab:cd ef" matches "ABCDEF".
func normThumbprint(s string) string {
	return strings.ToUpper(strings.NewReplacer(":", "", " ", "", "\u200e", "").Replace(strings.TrimSpace(s)))
}

// LoadKeyPair loads a PEM certificate chain and key.
func LoadKeyPair(certFile, keyFile string) (tls.Certificate, error) {
	c, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("listener: certificate %s: %w", certFile, err)
	}
	return c, nil
}

// FindByThumbprint searches dir for a PEM certificate whose SHA-1
// thumbprint matches, as WinRM selects one from the certificate store.
// The key is read from the same file, or from a sibling file with the
// extension .key.
func FindByThumbprint(dir, thumbprint string) (tls.Certificate, error) {
	want := normThumbprint(thumbprint)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("listener: certificate directory: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		ext := filepath.Ext(name)
		if e.IsDir() || (ext != ".pem" && ext != ".crt" && ext != ".cer") {
			continue
		}
		path := filepath.Join(dir, name)
		data, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		if !firstCertMatches(data, want) {
			continue
		}
		keyFile := path
		if k := strings.TrimSuffix(path, ext) + ".key"; fileExists(k) {
			keyFile = k
		}
		return LoadKeyPair(path, keyFile)
	}
	return tls.Certificate{}, fmt.Errorf("%w %s in %s", ErrNoCertificate, want, dir)
}

// firstCertMatches reports whether the first CERTIFICATE block of a PEM
// file has the wanted thumbprint.
func firstCertMatches(data []byte, want string) bool {
	for {
		block, rest := pem.Decode(data)
		if block == nil {
			return false
		}
		if block.Type == "CERTIFICATE" {
			return Thumbprint(block.Bytes) == want
		}
		data = rest
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// SelfSigned returns the state directory's self-signed certificate,
// creating it on first use (ECDSA P-256, valid 5 years, names: the host
// name, localhost, 127.0.0.1 and ::1).
func SelfSigned(stateDir string) (tls.Certificate, error) {
	dir := filepath.Join(stateDir, "tls")
	certFile, keyFile := filepath.Join(dir, "selfsigned.pem"), filepath.Join(dir, "selfsigned.key")
	if fileExists(certFile) && fileExists(keyFile) {
		return LoadKeyPair(certFile, keyFile)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return tls.Certificate{}, fmt.Errorf("listener: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("listener: key: %w", err)
	}
	host, _ := os.Hostname()
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: host, Organization: []string{"psremote self-signed"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().AddDate(5, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	if host != "" && host != "localhost" {
		tmpl.DNSNames = append(tmpl.DNSNames, host)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("listener: certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("listener: key: %w", err)
	}
	if err := writeFileExcl(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return tls.Certificate{}, err
	}
	if err := writeFileExcl(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return tls.Certificate{}, err
	}
	return LoadKeyPair(certFile, keyFile)
}

// writeFileExcl writes through a temporary file and a rename, so a crash
// never leaves half a key behind.
func writeFileExcl(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return fmt.Errorf("listener: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("listener: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("listener: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("listener: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("listener: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("listener: %w", err)
	}
	return nil
}
