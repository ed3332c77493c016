package trust

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// DefaultHTTPSPort is the WinRM HTTPS port ([MS-WSMV] 2.2.4.5). Known-hosts
// entries for a host given without a port are stored under it.
const DefaultHTTPSPort = 5986

// maxNameLen is the longest DNS name in text form (RFC 1035 2.3.4, without
// the trailing dot); maxLabelLen the longest label.
const (
	maxNameLen  = 253
	maxLabelLen = 63
)

// target is a connection target as the user wrote it: a host name or an IP
// literal, with an optional port.
type target struct {
	name string     // lower-case host name without a trailing dot; "" for an IP
	ip   netip.Addr // valid for an IP literal (IPv4-mapped IPv6 unmapped)
	port string     // decimal port, or "" when none was given
}

// host returns the host part in the form used for certificate name checks
// and for messages: the name, or the IP without brackets.
func (t target) host() string {
	if t.ip.IsValid() {
		return t.ip.String()
	}
	return t.name
}

// hostPort returns the normalized "host:port" key, filling in defPort when
// no port was given. IPv6 literals get brackets.
func (t target) hostPort(defPort int) string {
	port := t.port
	if port == "" {
		port = strconv.Itoa(defPort)
	}
	return net.JoinHostPort(t.host(), port)
}

// parseTarget parses "host", "host:port", "v4", "v4:port", "v6", "[v6]" or
// "[v6]:port". Host names are lower-cased and lose a trailing dot.
func parseTarget(s string) (target, error) {
	if s == "" {
		return target{}, errors.New("empty host")
	}
	var t target
	host := s
	hasPort := false
	switch {
	case strings.HasPrefix(s, "["):
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return target{}, fmt.Errorf("%q: missing ']'", s)
		}
		host = s[1:end]
		rest := s[end+1:]
		if rest != "" {
			if !strings.HasPrefix(rest, ":") {
				return target{}, fmt.Errorf("%q: unexpected text after ']'", s)
			}
			t.port, hasPort = rest[1:], true
		}
		ip, err := netip.ParseAddr(host)
		if err != nil || !ip.Is6() {
			return target{}, fmt.Errorf("%q: brackets must hold an IPv6 address", s)
		}
		t.ip = ip.Unmap()
	case strings.Count(s, ":") > 1:
		// Bare IPv6 literal; it cannot carry a port without brackets.
		ip, err := netip.ParseAddr(s)
		if err != nil {
			return target{}, fmt.Errorf("%q: not a valid IPv6 address (write [address]:port for a port)", s)
		}
		t.ip = ip.Unmap()
	default:
		if i := strings.IndexByte(s, ':'); i >= 0 {
			host, t.port, hasPort = s[:i], s[i+1:], true
		}
		if ip, err := netip.ParseAddr(host); err == nil {
			t.ip = ip.Unmap()
			break
		}
		name := strings.TrimSuffix(strings.ToLower(host), ".")
		if err := checkName(name); err != nil {
			return target{}, fmt.Errorf("%q: %w", s, err)
		}
		t.name = name
	}
	if hasPort {
		n, err := strconv.Atoi(t.port)
		if err != nil || n < 1 || n > 65535 || t.port[0] == '+' {
			return target{}, fmt.Errorf("%q: port must be a number from 1 to 65535", s)
		}
		t.port = strconv.Itoa(n)
	}
	return t, nil
}

// checkName reports whether name (lower case, no trailing dot) is a host
// name: dot-separated labels of 1-63 letters, digits, '-' or '_', at most
// 253 characters. '_' is allowed because Windows machine names may hold it.
// A name made only of digits and dots is rejected: it is a malformed IPv4
// address, not a name.
func checkName(name string) error {
	if name == "" {
		return errors.New("empty host name")
	}
	if len(name) > maxNameLen {
		return fmt.Errorf("host name longer than %d characters", maxNameLen)
	}
	if isDigitsAndDots(name) {
		return errors.New("not a valid IPv4 address")
	}
	for label := range strings.SplitSeq(name, ".") {
		if label == "" {
			return errors.New("empty label in host name")
		}
		if len(label) > maxLabelLen {
			return fmt.Errorf("host name label longer than %d characters", maxLabelLen)
		}
	}
	return checkNameChars(name)
}

// checkNameChars reports a character that cannot appear in a host name.
func checkNameChars(s string) error {
	for _, r := range s {
		if !isNameChar(r) {
			return fmt.Errorf("character %q is not allowed in a host name (letters, digits, '-', '_' and '.')", r)
		}
	}
	return nil
}

func isNameChar(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
		r == '-' || r == '_' || r == '.'
}

func isDigitsAndDots(s string) bool {
	for _, r := range s {
		if r != '.' && (r < '0' || r > '9') {
			return false
		}
	}
	return true
}
