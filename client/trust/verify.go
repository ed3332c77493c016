package trust

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
)

// ErrNoCertificate means the server sent no certificate.
var ErrNoCertificate = errors.New("trust: server sent no certificate")

// Policy says how [KnownHosts.VerifyConnection] treats a server certificate
// that does not verify against the CA roots. The zero Policy is the strict
// one: system roots, no pinning of new hosts; [DefaultPolicy] turns on
// trust on first use.
type Policy struct {
	// CARoots are the trusted roots (--ca-file); nil means the system
	// roots.
	CARoots *x509.CertPool
	// Insecure accepts any certificate, without pinning (--insecure).
	Insecure bool
	// AcceptNew pins the certificate of a host not yet in known_hosts and
	// accepts it (trust on first use). DefaultPolicy sets it.
	AcceptNew bool
	// AcceptChanged replaces a pinned fingerprint that no longer matches
	// and accepts the certificate: the user has accepted the change.
	AcceptChanged bool
	// OnAccept, if not nil, is called once per accepted handshake with the
	// normalized host:port, how the certificate was accepted and its
	// fingerprint, so the caller can tell the user (for example that a
	// new host was pinned). VerifyConnection itself prints nothing.
	OnAccept func(hostport string, how Outcome, fingerprint string)
}

// DefaultPolicy returns the client's default: system roots, trust on first
// use for new hosts, changed certificates refused.
func DefaultPolicy() Policy { return Policy{AcceptNew: true} }

// Outcome says why a certificate was accepted.
type Outcome int

// Outcomes reported to Policy.OnAccept.
const (
	// OutcomeVerified: the chain verified against the CA roots for the
	// host name; nothing was pinned.
	OutcomeVerified Outcome = iota + 1
	// OutcomeInsecure: nothing was checked (Policy.Insecure).
	OutcomeInsecure
	// OutcomeKnown: the fingerprint matched the pinned one.
	OutcomeKnown
	// OutcomeNew: first use; the fingerprint was pinned.
	OutcomeNew
	// OutcomeReplaced: the certificate had changed and Policy.AcceptChanged
	// replaced the pinned fingerprint.
	OutcomeReplaced
)

// String returns the outcome's lower-case name.
func (o Outcome) String() string {
	switch o {
	case OutcomeVerified:
		return "verified"
	case OutcomeInsecure:
		return "insecure"
	case OutcomeKnown:
		return "known"
	case OutcomeNew:
		return "new"
	case OutcomeReplaced:
		return "replaced"
	}
	return fmt.Sprintf("Outcome(%d)", int(o))
}

// ChangedError means the server presented a certificate whose fingerprint
// differs from the one pinned in known_hosts: the server was reinstalled or
// re-keyed, or someone is intercepting the connection. The CLI shows both
// fingerprints and how to accept the new one.
type ChangedError struct {
	Host  string // normalized host:port
	Known string // pinned fingerprint
	Got   string // fingerprint the server presented
	File  string // known_hosts file holding Known
}

// Error names the host, the file and both fingerprints.
func (e *ChangedError) Error() string {
	return fmt.Sprintf("trust: certificate of %s has changed: %s pins %s, server presented %s",
		e.Host, e.File, e.Known, e.Got)
}

// UnknownHostError means the certificate did not verify against the CA
// roots and the host is not pinned, and the policy does not pin new hosts.
type UnknownHostError struct {
	Host string // normalized host:port
	Got  string // fingerprint the server presented
	Err  error  // why CA verification failed
}

// Error names the host, its fingerprint and the verification failure.
func (e *UnknownHostError) Error() string {
	return fmt.Sprintf("trust: certificate of %s (%s) is not trusted: %v, and the host is not in known_hosts",
		e.Host, e.Got, e.Err)
}

// Unwrap returns the CA verification error.
func (e *UnknownHostError) Unwrap() error { return e.Err }

// VerifyConnection returns a function for [tls.Config.VerifyConnection]
// that checks the server certificate of hostport ("host", "host:port",
// "[v6]:port"; the port defaults to [DefaultHTTPSPort]) against policy p:
//
//  1. If the chain verifies (RFC 5280, via [x509.Certificate.Verify])
//     against p.CARoots, or the system roots when nil, with the other
//     certificates the server sent as intermediates, for the server-auth
//     usage, and the leaf names the host (a DNS SAN, or an IP SAN for an IP
//     literal), the certificate is accepted and nothing is pinned.
//  2. Otherwise, if p.Insecure, it is accepted.
//  3. Otherwise trust on first use, by the SHA-256 fingerprint of the leaf:
//     an unknown host is pinned and accepted if p.AcceptNew, else refused
//     with [*UnknownHostError]; a known host with the same fingerprint is
//     accepted; a known host with a different one is refused with
//     [*ChangedError] unless p.AcceptChanged, which replaces the pin. A
//     pinned certificate is trusted as is, whatever its names and validity
//     dates, like an ssh host key.
//
// Go's own verification must be off for step 1 to replace it, so the
// tls.Config needs InsecureSkipVerify set; [KnownHosts.TLSConfig] builds
// such a config. An error from the returned function aborts the handshake
// (crypto/tls sends a bad_certificate alert) and is returned by it,
// unwrapped, so errors.As finds the types above.
//
// The function is bound to hostport: use the config for that endpoint
// only. k may be nil, which disables pinning (step 3 refuses every
// certificate). Pinning errors (an unwritable known_hosts) also refuse.
func (k *KnownHosts) VerifyConnection(hostport string, p Policy) func(tls.ConnectionState) error {
	return func(cs tls.ConnectionState) error {
		t, err := parseTarget(hostport)
		if err != nil {
			return fmt.Errorf("trust: bad host: %w", err)
		}
		key := t.hostPort(DefaultHTTPSPort)
		if len(cs.PeerCertificates) == 0 {
			return ErrNoCertificate
		}
		leaf := cs.PeerCertificates[0]
		fp := Fingerprint(leaf)
		accept := func(o Outcome) error {
			if p.OnAccept != nil {
				p.OnAccept(key, o, fp)
			}
			return nil
		}

		// Loading the system roots costs about 14 ms per process, most of
		// a one-shot command; when they are what would be used, settle the
		// cases that do not need them first. The outcome is the same: an
		// insecure policy accepts anything, and a pinned certificate is
		// trusted as it is.
		if p.CARoots == nil {
			if p.Insecure {
				return accept(OutcomeInsecure)
			}
			if k != nil {
				if known, ok := k.Lookup(key); ok && known == fp {
					return accept(OutcomeKnown)
				}
			}
		}
		verr := verifyChain(cs.PeerCertificates, t.host(), p.CARoots)
		if verr == nil {
			return accept(OutcomeVerified)
		}
		if p.Insecure {
			return accept(OutcomeInsecure)
		}
		if k == nil {
			return &UnknownHostError{Host: key, Got: fp, Err: verr}
		}
		o, err := k.pin(key, fp, p, verr)
		if err != nil {
			return err
		}
		return accept(o)
	}
}

// pin is the trust-on-first-use step for a normalized key and fingerprint.
func (k *KnownHosts) pin(key, fp string, p Policy, verr error) (Outcome, error) {
	// Fast path without the file lock: the pin matches.
	k.mu.RLock()
	known, ok := k.entries[key]
	k.mu.RUnlock()
	if ok && known == fp {
		return OutcomeKnown, nil
	}
	// Decide again on the file's current contents, under the lock: another
	// process may have pinned or replaced the entry since Open.
	var o Outcome
	err := k.updateKey(key, fp, func(key, known, fp string, ok bool) (bool, error) {
		switch {
		case !ok && p.AcceptNew:
			o = OutcomeNew
			return true, nil
		case !ok:
			return false, &UnknownHostError{Host: key, Got: fp, Err: verr}
		case known == fp:
			o = OutcomeKnown
			return false, nil
		case p.AcceptChanged:
			o = OutcomeReplaced
			return true, nil
		default:
			return false, &ChangedError{Host: key, Known: known, Got: fp, File: k.path}
		}
	})
	return o, err
}

// verifyChain verifies certs[0] for host against roots (nil: system roots)
// with certs[1:] as intermediates.
func verifyChain(certs []*x509.Certificate, host string, roots *x509.CertPool) error {
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	_, err := certs[0].Verify(x509.VerifyOptions{
		DNSName:       host,
		Roots:         roots,
		Intermediates: inter,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	return err
}

// TLSConfig returns a client TLS config for hostport that verifies the
// server with [KnownHosts.VerifyConnection] under p: InsecureSkipVerify is
// set because VerifyConnection replaces Go's verification, ServerName is
// the host name (empty for IP literals, which are not sent as SNI), and
// TLS 1.2 is the minimum version. k may be nil (no pinning).
func (k *KnownHosts) TLSConfig(hostport string, p Policy) (*tls.Config, error) {
	t, err := parseTarget(hostport)
	if err != nil {
		return nil, fmt.Errorf("trust: bad host: %w", err)
	}
	return &tls.Config{
		ServerName:         t.name,
		MinVersion:         tls.VersionTLS12,
		InsecureSkipVerify: true, // replaced by VerifyConnection
		VerifyConnection:   k.VerifyConnection(hostport, p),
	}, nil
}

// LoadCertPool reads PEM certificates from path (--ca-file) into a new
// pool, for Policy.CARoots. A file without any certificate is an error.
func LoadCertPool(path string) (*x509.CertPool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("trust: CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("trust: CA file %s: no PEM certificates found", path)
	}
	return pool, nil
}
