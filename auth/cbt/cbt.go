package cbt

import (
	"crypto"
	"crypto/md5"
	"crypto/subtle"
	"crypto/x509"
	"encoding/binary"
	"fmt"
	"strings"

	// Hash implementations the certificate signature may name.
	_ "crypto/sha256"
	_ "crypto/sha512"
)

// Prefix is the channel-binding prefix of the tls-server-end-point type.
const Prefix = "tls-server-end-point:"

// TLSServerEndPoint returns the RFC 5929 application data for cert:
// "tls-server-end-point:" followed by the hash of the certificate's DER
// encoding. The hash is the one the certificate's signature uses, except
// that MD5, SHA-1 and unknown algorithms use SHA-256.
func TLSServerEndPoint(cert *x509.Certificate) []byte {
	h := signatureHash(cert.SignatureAlgorithm).New()
	h.Write(cert.Raw)
	return h.Sum([]byte(Prefix))
}

func signatureHash(alg x509.SignatureAlgorithm) crypto.Hash {
	switch alg {
	case x509.SHA384WithRSA, x509.ECDSAWithSHA384, x509.SHA384WithRSAPSS:
		return crypto.SHA384
	case x509.SHA512WithRSA, x509.ECDSAWithSHA512, x509.SHA512WithRSAPSS:
		return crypto.SHA512
	default:
		// SHA-256 signatures, and MD5, SHA-1, Ed25519 and unknown ones
		// by the RFC 5929 rule.
		return crypto.SHA256
	}
}

// Struct encodes a gss_channel_bindings structure with no initiator or
// acceptor address and the given application data, as the MD5 hashes of
// RFC 4121 and MS-NLMP expect it: five little-endian 32-bit fields
// (initiator address type and length, acceptor address type and length,
// application data length) with the application data after the last.
func Struct(appData []byte) []byte {
	b := make([]byte, 20, 20+len(appData))
	binary.LittleEndian.PutUint32(b[16:], uint32(len(appData)))
	return append(b, appData...)
}

// Hash returns MD5 of [Struct](appData): the value NTLM carries in the
// MsvAvChannelBindings AV pair and Kerberos in the Bnd field of the
// authenticator checksum.
func Hash(appData []byte) [16]byte {
	return md5.Sum(Struct(appData))
}

// Policy is WinRM's CbtHardeningLevel.
type Policy int

// Policies, from the weakest.
const (
	// None ignores channel bindings.
	None Policy = iota
	// Relaxed checks bindings a client sent and accepts clients that
	// sent none (the Windows default).
	Relaxed
	// Strict requires matching bindings.
	Strict
)

// String returns the configuration name of p.
func (p Policy) String() string {
	switch p {
	case None:
		return "None"
	case Relaxed:
		return "Relaxed"
	case Strict:
		return "Strict"
	}
	return fmt.Sprintf("Policy(%d)", int(p))
}

// ParsePolicy parses a CbtHardeningLevel value, case-insensitively. The
// empty string is Relaxed, the default.
func ParsePolicy(s string) (Policy, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "relaxed":
		return Relaxed, nil
	case "strict":
		return Strict, nil
	case "none":
		return None, nil
	}
	return Relaxed, fmt.Errorf("cbt: unknown CbtHardeningLevel %q (want Strict, Relaxed or None)", s)
}

// Check applies p to what a client presented. present reports whether
// the client sent bindings (for NTLM, an MsvAvChannelBindings pair that
// is not all zeros; for Kerberos, a Bnd field that is not all zeros), and
// match whether they equal the expected value. secure is false on plain
// HTTP, where bindings are always ignored (MS-WSMV 2.2.4.34).
func (p Policy) Check(secure, present, match bool) error {
	if !secure || p == None {
		return nil
	}
	if present && !match {
		return ErrMismatch
	}
	if !present && p == Strict {
		return ErrMissing
	}
	return nil
}

// Binding is what an acceptor checks a client's channel bindings
// against: the policy, whether the connection is HTTPS, and the TLS
// channel's application data.
type Binding struct {
	// Policy is the listener's CbtHardeningLevel.
	Policy Policy
	// Secure is true on HTTPS; bindings are ignored on plain HTTP.
	Secure bool
	// AppData is [TLSServerEndPoint] of the listener certificate on
	// HTTPS, nil otherwise.
	AppData []byte
}

// Verify applies the policy to the 16-byte MD5 bindings hash a client
// sent (NTLM's MsvAvChannelBindings, the Bnd field of Kerberos'
// authenticator checksum); absent or all zeros means none was sent.
func (b Binding) Verify(got []byte) error {
	var zero [16]byte
	present := len(got) == 16 && subtle.ConstantTimeCompare(got, zero[:]) == 0
	match := false
	if present && b.AppData != nil {
		want := Hash(b.AppData)
		match = subtle.ConstantTimeCompare(want[:], got) == 1
	}
	return b.Policy.Check(b.Secure, present, match)
}
