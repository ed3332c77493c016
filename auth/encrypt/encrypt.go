package encrypt

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Wrapper is implemented by established security contexts
// (auth/ntlm.Session, auth/kerberos.Context, later CredSSP). Both methods
// advance the context's per-direction state (sequence numbers, RC4 or TLS
// state), so messages must be wrapped and unwrapped in order.
type Wrapper interface {
	// WrapWinRM protects one message and returns the security header
	// (the NTLM signature, the Kerberos wrap token header, or for
	// CredSSP the first trailer-length bytes of the TLS records) and the
	// rest of the protected message.
	WrapWinRM(plaintext []byte) (header, ciphertext []byte, err error)
	// UnwrapWinRM verifies and decrypts one message given the two parts
	// WrapWinRM returned.
	UnwrapWinRM(header, ciphertext []byte) ([]byte, error)
}

// Protocol values of the Content-Type protocol parameter and of the
// metadata part's Content-Type (MS-WSMV 2.2.9.1).
const (
	// ProtocolSPNEGO is used for Negotiate (NTLM or Kerberos through
	// SPNEGO, or raw NTLM in the Negotiate scheme). pywinrm also uses it
	// for its Kerberos transport, so a Kerberos context must accept it.
	ProtocolSPNEGO = "application/HTTP-SPNEGO-session-encrypted"
	// ProtocolKerberos is used after the Kerberos HTTP scheme.
	ProtocolKerberos = "application/HTTP-Kerberos-session-encrypted"
	// ProtocolCredSSP is used after CredSSP.
	ProtocolCredSSP = "application/HTTP-CredSSP-session-encrypted"
)

// Boundary is the multipart boundary MS-WSMV requires.
const Boundary = "Encrypted Boundary"

// Media types of encrypted bodies.
const (
	mediaEncrypted      = "multipart/encrypted"
	mediaMultiEncrypted = "multipart/x-multi-encrypted"
)

// Bounds.
const (
	// CredSSPChunk is the largest plaintext one CredSSP part carries
	// (16 KiB, the TLS record limit); larger messages are split.
	CredSSPChunk = 16384
	// MaxParts bounds the metadata/data part pairs of one body: enough
	// for a 16 MiB CredSSP message in 16 KiB chunks.
	MaxParts = 1024
	// DefaultMaxPlain is the plaintext bound Open applies when given
	// maxPlain <= 0: 512000 bytes, WinRM's default MaxEnvelopeSizekb of
	// 500.
	DefaultMaxPlain = 500 * 1024
	// maxContentType bounds the Content-Type header ParseContentType
	// reads.
	maxContentType = 1024
	// maxBoundary is the longest boundary RFC 2046 allows.
	maxBoundary = 70
)

// Sentinel errors. Errors returned by this package wrap one of them, or
// the error of the Wrapper (wrapped with %w). Error texts never contain
// message bytes.
var (
	// ErrNotEncrypted means the Content-Type is not multipart/encrypted
	// or multipart/x-multi-encrypted with a protocol parameter.
	ErrNotEncrypted = errors.New("encrypt: body is not encrypted")
	// ErrMalformed means the multipart framing could not be parsed.
	ErrMalformed = errors.New("encrypt: malformed encrypted body")
	// ErrLength means a part decrypted to another length than its
	// Length= parameter announced.
	ErrLength = errors.New("encrypt: decrypted length does not match Length")
	// ErrTooLarge means the plaintext exceeds the caller's bound.
	ErrTooLarge = errors.New("encrypt: plaintext too large")
	// ErrProtocol means Seal or Open was given a protocol other than
	// ProtocolSPNEGO, ProtocolKerberos and ProtocolCredSSP.
	ErrProtocol = errors.New("encrypt: unknown protocol")
)

// canonicalProtocol returns the constant matching p case-insensitively.
func canonicalProtocol(p string) (string, bool) {
	for _, c := range []string{ProtocolSPNEGO, ProtocolKerberos, ProtocolCredSSP} {
		if strings.EqualFold(p, c) {
			return c, true
		}
	}
	return "", false
}

// ParseContentType reports whether an HTTP Content-Type is
// multipart/encrypted or multipart/x-multi-encrypted (multi) and returns
// its protocol and boundary parameters. It is tolerant: media type and
// parameter names in any case, optional spaces (and folded line breaks)
// around ";" and "=", quoted or bare values. A known protocol is returned
// in its canonical spelling (one of the Protocol constants), another one
// as sent. ok is false without a protocol parameter; a missing boundary
// parameter defaults to Boundary.
func ParseContentType(ct string) (protocol, boundary string, multi bool, ok bool) {
	if len(ct) > maxContentType {
		return "", "", false, false
	}
	media, rest, _ := strings.Cut(ct, ";")
	switch strings.ToLower(strings.Trim(media, " \t\r\n")) {
	case mediaEncrypted:
	case mediaMultiEncrypted:
		multi = true
	default:
		return "", "", false, false
	}
	var haveBoundary bool
	for rest != "" {
		var name, value string
		name, value, rest = nextParam(rest)
		switch strings.ToLower(name) {
		case "protocol":
			protocol = value
		case "boundary":
			boundary, haveBoundary = value, true
		}
	}
	if c, known := canonicalProtocol(protocol); known {
		protocol = c
	}
	if !haveBoundary {
		boundary = Boundary
	}
	if protocol == "" || boundary == "" || len(boundary) > maxBoundary {
		return "", "", false, false
	}
	return protocol, boundary, multi, true
}

// isSpace reports HTTP whitespace, including the CR and LF of a folded
// header line.
func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// nextParam reads one "name=value" parameter from s (which follows a
// ";") and returns it with the text after the next ";". value may be a
// quoted-string with backslash escapes.
func nextParam(s string) (name, value, rest string) {
	i := 0
	for i < len(s) && s[i] != '=' && s[i] != ';' {
		i++
	}
	name = strings.Trim(s[:i], " \t\r\n")
	if i == len(s) || s[i] == ';' {
		if i < len(s) {
			i++
		}
		return name, "", s[i:]
	}
	i++ // '='
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	if i < len(s) && s[i] == '"' {
		var b strings.Builder
		i++
		for i < len(s) && s[i] != '"' {
			if s[i] == '\\' && i+1 < len(s) {
				i++
			}
			b.WriteByte(s[i])
			i++
		}
		if i < len(s) {
			i++ // closing quote
		}
		for i < len(s) && s[i] != ';' {
			i++
		}
		if i < len(s) {
			i++
		}
		return name, b.String(), s[i:]
	}
	j := i
	for j < len(s) && s[j] != ';' {
		j++
	}
	value = strings.Trim(s[i:j], " \t\r\n")
	if j < len(s) {
		j++
	}
	return name, value, s[j:]
}

// validCharset reports whether cs can go into the OriginalContent header
// unquoted: an RFC 2978 charset name.
func validCharset(cs string) bool {
	if cs == "" || len(cs) > 40 {
		return false
	}
	for i := 0; i < len(cs); i++ {
		c := cs[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'+-^_`{}~.", c) >= 0) {
			return false
		}
	}
	return true
}

// Seal frames plaintext (a SOAP envelope, charset from the caller e.g.
// "UTF-8" or "UTF-16"; empty means "UTF-8") for the given protocol,
// returning the body and the Content-Type to send. CredSSP bodies over
// 16 KiB are split into 16 KiB chunks as multipart/x-multi-encrypted; NTLM
// and Kerberos never are. Each chunk is wrapped once, in order. The output
// is byte for byte what pywinrm produces for the same wrapper output.
func Seal(w Wrapper, protocol, charset string, plaintext []byte) (body []byte, contentType string, err error) {
	canon, known := canonicalProtocol(protocol)
	if !known {
		return nil, "", fmt.Errorf("%w: %q", ErrProtocol, protocol)
	}
	if w == nil {
		return nil, "", errors.New("encrypt: nil Wrapper")
	}
	protocol = canon
	if charset == "" {
		charset = "UTF-8"
	}
	if !validCharset(charset) {
		return nil, "", fmt.Errorf("encrypt: invalid charset %q", charset)
	}
	media := mediaEncrypted
	chunks := [][]byte{plaintext}
	if protocol == ProtocolCredSSP && len(plaintext) > CredSSPChunk {
		media = mediaMultiEncrypted
		chunks = chunks[:0]
		for p := plaintext; len(p) > 0; {
			n := min(len(p), CredSSPChunk)
			chunks = append(chunks, p[:n])
			p = p[n:]
		}
	}
	delim := "--" + Boundary + "\r\n"
	for i, c := range chunks {
		hdr, ct, err := w.WrapWinRM(c)
		if err != nil {
			return nil, "", fmt.Errorf("encrypt: wrapping part %d: %w", i+1, err)
		}
		if uint64(len(hdr)) > math.MaxUint32 {
			return nil, "", fmt.Errorf("encrypt: security header of %d bytes", len(hdr))
		}
		body = append(body, delim...)
		body = append(body, "\tContent-Type: "+protocol+"\r\n"...)
		body = append(body, "\tOriginalContent: type=application/soap+xml;charset="+charset+";Length="+strconv.Itoa(len(c))+"\r\n"...)
		body = append(body, delim...)
		body = append(body, "\tContent-Type: application/octet-stream\r\n"...)
		body = binary.LittleEndian.AppendUint32(body, uint32(len(hdr)))
		body = append(body, hdr...)
		body = append(body, ct...)
	}
	body = append(body, "--"+Boundary+"--\r\n"...)
	return body, media + `;protocol="` + protocol + `";boundary="` + Boundary + `"`, nil
}
