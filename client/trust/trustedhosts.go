package trust

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// ErrBadTrustedHosts is wrapped by every error [ParseTrustedHosts] returns.
var ErrBadTrustedHosts = errors.New("trust: invalid TrustedHosts")

// TrustedHosts is a parsed WinRM client TrustedHosts list: the hosts the
// client may send credentials to when it cannot authenticate the server
// (Basic over HTTP). The zero value trusts no host.
//
// Entries follow [MS-WSMV] 2.2.4.6 (ClientType, TrustedHosts):
//
//   - "*" trusts every host.
//   - "*suffix" trusts every host name ending in suffix; "*.contoso.com"
//     matches "web.contoso.com" and "a.b.contoso.com" but not
//     "contoso.com" itself, which does not end in ".contoso.com" (list it
//     separately). The star matches zero or more characters, so
//     "*contoso.com" also matches "contoso.com" and "evilcontoso.com".
//   - "prefix*" trusts every host name starting with prefix.
//   - "<local>" trusts every host name without a period (NetBIOS names).
//   - anything else names one host, compared case-insensitively.
//
// IP literals are matched by address, never by text: "10.0.0.1",
// "::1" and "[::1]" (Windows writes IPv6 in brackets; both forms are
// accepted) each match only that address, written in any equivalent form.
// The name patterns above never match an IP literal ("<local>" does not
// match "::1", although it has no period). The one IP wildcard is the
// IPv4 range form Windows users commonly write, 1-3 whole octets followed
// by ".*" ("192.168.1.*", "10.*"), which matches the IPv4 addresses whose
// leading octets are those. Other wildcards that look like IP addresses
// ("192.168.1*", "*.5", "fe80::*") are rejected as ambiguous. Matching
// uses the name as written by the user; nothing is resolved through DNS.
type TrustedHosts struct {
	all     bool
	entries []trustedEntry
}

type entryKind int

const (
	kindName       entryKind = iota // exact host name
	kindSuffix                      // "*suffix"
	kindPrefix                      // "prefix*"
	kindLocal                       // "<local>"
	kindIP                          // IP literal
	kindIPv4Prefix                  // "a.b.c.*"
)

type trustedEntry struct {
	kind entryKind
	s    string     // name, suffix, prefix, or IPv4 prefix ending in '.'
	ip   netip.Addr // kindIP
}

// ParseTrustedHosts parses the WinRM string form of a TrustedHosts list:
// entries separated by commas, with surrounding white space ignored. An
// empty string, and empty entries (as left by "a,,b" or a leading comma),
// trust nothing. Errors wrap [ErrBadTrustedHosts] and name the entry.
func ParseTrustedHosts(s string) (TrustedHosts, error) {
	var t TrustedHosts
	for i, raw := range strings.Split(s, ",") {
		e := strings.TrimSpace(raw)
		if e == "" {
			continue
		}
		ent, all, err := parseTrustedEntry(e)
		if err != nil {
			return TrustedHosts{}, fmt.Errorf("%w: entry %d %q: %v", ErrBadTrustedHosts, i+1, e, err)
		}
		if all {
			t.all = true
			continue
		}
		t.entries = append(t.entries, ent)
	}
	return t, nil
}

// parseTrustedEntry parses one non-empty, trimmed entry.
func parseTrustedEntry(e string) (ent trustedEntry, all bool, err error) {
	lower := strings.ToLower(e)
	switch {
	case e == "*":
		return trustedEntry{}, true, nil
	case lower == "<local>":
		return trustedEntry{kind: kindLocal}, false, nil
	case strings.ContainsAny(e, "<>"):
		return ent, false, errors.New(`only "<local>" may be written in angle brackets`)
	case strings.HasPrefix(e, "["):
		if strings.Contains(e, "*") {
			return ent, false, errors.New("wildcards do not apply to IPv6 addresses")
		}
		if !strings.HasSuffix(e, "]") {
			return ent, false, errors.New(`an IPv6 address is written "[address]", without a port`)
		}
		ip, err := netip.ParseAddr(e[1 : len(e)-1])
		if err != nil || !ip.Is6() {
			return ent, false, errors.New("brackets must hold an IPv6 address")
		}
		return trustedEntry{kind: kindIP, ip: ip.Unmap()}, false, nil
	}

	switch strings.Count(e, "*") {
	case 0:
	case 1:
		return parseWildcard(lower)
	default:
		return ent, false, errors.New("at most one '*' is allowed")
	}

	if ip, err := netip.ParseAddr(e); err == nil {
		return trustedEntry{kind: kindIP, ip: ip.Unmap()}, false, nil
	}
	if strings.Contains(e, ":") {
		return ent, false, errors.New("not an IPv6 address, and entries name hosts without a port")
	}
	name := strings.TrimSuffix(lower, ".")
	if err := checkName(name); err != nil {
		return ent, false, err
	}
	return trustedEntry{kind: kindName, s: name}, false, nil
}

var errNoNamePart = errors.New("a wildcard needs a non-empty name part")

// parseWildcard parses a lower-case entry holding exactly one '*' that is
// not the whole entry.
func parseWildcard(e string) (ent trustedEntry, all bool, err error) {
	if strings.ContainsAny(e, ":[]") {
		return ent, false, errors.New("wildcards do not apply to IPv6 addresses")
	}
	switch {
	case strings.HasPrefix(e, "*"):
		suffix := e[1:]
		switch {
		case strings.Trim(suffix, ".") == "":
			return ent, false, errNoNamePart
		case isDigitsAndDots(suffix):
			return ent, false, errors.New("wildcards do not apply to IP addresses; list each address, or an IPv4 range as \"a.b.c.*\"")
		case strings.HasSuffix(suffix, "."):
			return ent, false, errors.New("a suffix must not end with '.'")
		}
		if err := checkFragment(strings.TrimPrefix(suffix, ".")); err != nil {
			return ent, false, err
		}
		return trustedEntry{kind: kindSuffix, s: suffix}, false, nil
	case strings.HasSuffix(e, "*"):
		prefix := e[:len(e)-1]
		if isDigitsAndDots(prefix) {
			p, err := parseIPv4Prefix(prefix)
			if err != nil {
				return ent, false, err
			}
			return trustedEntry{kind: kindIPv4Prefix, s: p}, false, nil
		}
		if strings.HasPrefix(prefix, ".") {
			return ent, false, errors.New("a prefix must not start with '.'")
		}
		if err := checkFragment(strings.TrimSuffix(prefix, ".")); err != nil {
			return ent, false, err
		}
		return trustedEntry{kind: kindPrefix, s: prefix}, false, nil
	default:
		return ent, false, errors.New("'*' must be the first or the last character")
	}
}

// checkFragment checks a part of a host name cut by a wildcard: name
// characters, no empty labels.
func checkFragment(s string) error {
	if s == "" {
		return errNoNamePart
	}
	if strings.Contains(s, "..") || strings.HasPrefix(s, ".") || strings.HasSuffix(s, ".") {
		return errors.New("empty label in host name")
	}
	return checkNameChars(s)
}

// parseIPv4Prefix checks the prefix of an "a.b.c.*" range: one to three
// decimal octets, each followed by '.', and returns it in canonical form
// (no leading zeros).
func parseIPv4Prefix(p string) (string, error) {
	const hint = `an IPv4 range is written as 1-3 whole octets followed by ".*", e.g. "192.168.1.*"`
	if !strings.HasSuffix(p, ".") {
		return "", errors.New(hint)
	}
	octets := strings.Split(strings.TrimSuffix(p, "."), ".")
	if len(octets) > 3 {
		return "", errors.New(hint)
	}
	var b strings.Builder
	for _, o := range octets {
		n, err := strconv.Atoi(o)
		if err != nil || n > 255 || len(o) > 3 {
			return "", errors.New(hint)
		}
		b.WriteString(strconv.Itoa(n))
		b.WriteByte('.')
	}
	return b.String(), nil
}

// Match reports whether host is trusted. host is what the user connects
// to: "host", "host:port", an IPv4 address with or without ":port", or an
// IPv6 address bare, in brackets, or as "[v6]:port". The port is ignored.
// A malformed host matches nothing, not even "*".
func (t TrustedHosts) Match(host string) bool {
	tg, err := parseTarget(host)
	if err != nil {
		return false
	}
	return t.match(tg)
}

func (t TrustedHosts) match(tg target) bool {
	if t.all {
		return true
	}
	for _, e := range t.entries {
		if e.matches(tg) {
			return true
		}
	}
	return false
}

func (e trustedEntry) matches(tg target) bool {
	if tg.ip.IsValid() {
		switch e.kind {
		case kindIP:
			// An entry without a zone matches the address on any interface.
			if e.ip.Zone() == "" {
				return e.ip == tg.ip.WithZone("")
			}
			return e.ip == tg.ip
		case kindIPv4Prefix:
			return tg.ip.Is4() && strings.HasPrefix(tg.ip.String(), e.s)
		}
		return false
	}
	switch e.kind {
	case kindName:
		return tg.name == e.s
	case kindSuffix:
		return strings.HasSuffix(tg.name, e.s)
	case kindPrefix:
		return strings.HasPrefix(tg.name, e.s)
	case kindLocal:
		return !strings.Contains(tg.name, ".")
	}
	return false
}

// All reports whether the list trusts every host ("*").
func (t TrustedHosts) All() bool { return t.all }

// IsEmpty reports whether the list trusts no host.
func (t TrustedHosts) IsEmpty() bool { return !t.all && len(t.entries) == 0 }

// String returns the list in canonical WinRM form: entries lower-cased,
// IPv6 addresses in brackets, joined by ",". It parses back to an
// equivalent list.
func (t TrustedHosts) String() string {
	if t.all {
		return "*"
	}
	parts := make([]string, 0, len(t.entries))
	for _, e := range t.entries {
		switch e.kind {
		case kindName:
			parts = append(parts, e.s)
		case kindSuffix:
			parts = append(parts, "*"+e.s)
		case kindPrefix, kindIPv4Prefix:
			parts = append(parts, e.s+"*")
		case kindLocal:
			parts = append(parts, "<local>")
		case kindIP:
			if e.ip.Is6() {
				parts = append(parts, "["+e.ip.String()+"]")
			} else {
				parts = append(parts, e.ip.String())
			}
		}
	}
	return strings.Join(parts, ",")
}
