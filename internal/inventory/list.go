package inventory

import (
	"bytes"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// readInput reads at most MaxFileSize bytes of UTF-8 text, dropping a
// byte order mark.
func readInput(r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFileSize+1))
	if err != nil {
		return nil, &Error{Err: fmt.Errorf("reading: %w", err)}
	}
	if len(data) > MaxFileSize {
		return nil, &Error{Err: limitf("input larger than %d bytes", MaxFileSize)}
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(data) {
		line := 1
		for len(data) > 0 {
			r, n := utf8.DecodeRune(data)
			if r == utf8.RuneError && n <= 1 {
				break
			}
			if r == '\n' {
				line++
			}
			data = data[n:]
		}
		return nil, lineErrorf(line, "not valid UTF-8")
	}
	return data, nil
}

// lines splits text into lines without their line ends.
func lines(data []byte) []string {
	s := strings.Split(string(data), "\n")
	for i, l := range s {
		s[i] = strings.TrimSuffix(l, "\r")
	}
	return s
}

// ParseList parses a plain host list: hosts separated by newlines,
// commas or white space; '#' starts a comment that runs to the end of
// the line. A host is written host, host:port, an IPv4 address, a bare
// IPv6 address, or [IPv6]:port; its Name and Address are the host or
// address, without brackets or port. A host listed twice is listed once,
// at its first place, and must then have the same port each time. Every
// host is in ungrouped, and has no variables. Host ranges, URLs and
// key=value variables are refused: they belong in an Ansible inventory.
//
// Errors are *Error values naming the line.
func ParseList(r io.Reader) (*Inventory, error) {
	data, err := readInput(r)
	if err != nil {
		return nil, err
	}
	return parseList(data)
}

func parseList(data []byte) (*Inventory, error) {
	b := newBuilder()
	for n, line := range lines(data) {
		n++
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		for _, tok := range strings.FieldsFunc(line, func(r rune) bool { return r == ',' || unicode.IsSpace(r) }) {
			addr, port, err := parseListEntry(tok)
			if err != nil {
				return nil, &Error{Line: n, Err: err}
			}
			h, ok := b.hosts[addr]
			if ok {
				if h.port != port {
					return nil, lineErrorf(n, "%q: host %s is listed on line %d with %s", tok, addr, h.line, portText(h.port))
				}
				continue
			}
			if h, err = b.host(addr, n); err != nil {
				return nil, err
			}
			h.addr, h.port = addr, port
			b.addHost(b.ungrouped, h)
		}
	}
	return b.finish()
}

func portText(p int) string {
	if p == 0 {
		return "no port"
	}
	return "port " + strconv.Itoa(p)
}

// parseListEntry parses one entry of a host list into an address and a
// port, 0 if none.
func parseListEntry(tok string) (addr string, port int, err error) {
	switch {
	case strings.Contains(tok, "://"):
		return "", 0, fmt.Errorf("%q: URLs are not supported in a host list; write host or host:port", tok)
	case strings.Contains(tok, "="):
		return "", 0, fmt.Errorf("%q: variables are not supported in a host list; use an Ansible INI inventory", tok)
	}
	addr, portStr := tok, ""
	if tok[0] == '[' {
		end := strings.IndexByte(tok, ']')
		if end < 0 {
			return "", 0, fmt.Errorf("%q: missing ']'", tok)
		}
		addr = tok[1:end]
		if ip, err := netip.ParseAddr(addr); err != nil || !ip.Is6() {
			if _, rerr := parseRange(addr); rerr == nil {
				return "", 0, fmt.Errorf("%q: host ranges are supported only in Ansible inventories", tok)
			}
			return "", 0, fmt.Errorf("%q: %q is not an IPv6 address", tok, addr)
		}
		switch rest := tok[end+1:]; {
		case rest == "":
		case rest[0] == ':':
			if portStr = rest[1:]; portStr == "" {
				return "", 0, fmt.Errorf("%q: missing port", tok)
			}
		default:
			return "", 0, fmt.Errorf("%q: want [address]:port", tok)
		}
	} else if i := strings.IndexByte(tok, ':'); i >= 0 && strings.Count(tok, ":") == 1 {
		if addr, portStr = tok[:i], tok[i+1:]; portStr == "" {
			return "", 0, fmt.Errorf("%q: missing port", tok)
		}
	} else if i >= 0 {
		if ip, err := netip.ParseAddr(tok); err != nil || !ip.Is6() {
			return "", 0, fmt.Errorf("%q: more than one ':' and not an IPv6 address (write [address]:port)", tok)
		}
	}
	if strings.ContainsAny(addr, "[]") {
		return "", 0, fmt.Errorf("%q: host ranges are supported only in Ansible inventories", tok)
	}
	if err := checkName(addr, false); err != nil {
		return "", 0, err
	}
	if portStr != "" {
		if port, err = parsePort(portStr); err != nil {
			return "", 0, fmt.Errorf("%q: %w", tok, err)
		}
	}
	return addr, port, nil
}
