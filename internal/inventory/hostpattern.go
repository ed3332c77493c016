package inventory

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// alphabet orders alphabetic range bounds as Ansible does: a-z, then A-Z.
const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

// parseHostPattern parses the host part of an Ansible inventory entry:
// a host name, an IPv4 address, an IPv6 address (bare, or in brackets
// when followed by a port), with an optional ":port", and with any
// number of ranges such as web[01:10:2] or db-[a:c]. It returns the host
// names, in expansion order, and the port, 0 if none.
func parseHostPattern(tok string) ([]string, int, error) {
	if tok == "" {
		return nil, 0, fmt.Errorf("empty host")
	}
	// [v6] or [v6]:port.
	if tok[0] == '[' {
		if end := strings.IndexByte(tok, ']'); end > 0 {
			if ip, err := netip.ParseAddr(tok[1:end]); err == nil && ip.Is6() {
				rest := tok[end+1:]
				if rest == "" {
					return []string{tok[1:end]}, 0, nil
				}
				if rest[0] != ':' {
					return nil, 0, fmt.Errorf("host %q: want [address]:port", tok)
				}
				p, err := parsePort(rest[1:])
				if err != nil {
					return nil, 0, fmt.Errorf("host %q: %w", tok, err)
				}
				return []string{tok[1:end]}, p, nil
			}
		}
	}
	// Colons outside ranges separate a port, or belong to an IPv6
	// address.
	colons, last, depth := 0, -1, 0
	for i := 0; i < len(tok); i++ {
		switch tok[i] {
		case '[':
			depth++
		case ']':
			depth--
		case ':':
			if depth == 0 {
				colons++
				last = i
			}
		}
	}
	host, port := tok, 0
	switch {
	case colons == 1:
		p, err := parsePort(tok[last+1:])
		if err != nil {
			return nil, 0, fmt.Errorf("host %q: %w", tok, err)
		}
		host, port = tok[:last], p
	case colons > 1:
		if ip, err := netip.ParseAddr(tok); err != nil || !ip.Is6() {
			return nil, 0, fmt.Errorf("invalid host %q: more than one ':' and not an IPv6 address (write [address]:port)", tok)
		}
		return []string{tok}, 0, nil
	}
	names, err := expandRanges(host, MaxHosts)
	if err != nil {
		return nil, 0, err
	}
	return names, port, nil
}

// hostRange is one [begin:end:step] of a host pattern.
type hostRange struct {
	alpha      bool
	begin, end int // indexes into alphabet, or numbers
	step       int
	width      int // zero-padded width of numbers, 0 for none
}

func (r hostRange) count() int { return (r.end-r.begin)/r.step + 1 }

func (r hostRange) value(i int) string {
	v := r.begin + i*r.step
	if r.alpha {
		return alphabet[v : v+1]
	}
	s := strconv.Itoa(v)
	if len(s) < r.width {
		s = strings.Repeat("0", r.width-len(s)) + s
	}
	return s
}

// expandRanges expands the ranges of a host name, refusing more than
// limit names. Like Ansible, the first range varies slowest.
func expandRanges(host string, limit int) ([]string, error) {
	if !strings.ContainsAny(host, "[]") {
		return []string{host}, nil
	}
	var (
		lits   []string // lits[i] comes before ranges[i]; one more literal than ranges
		ranges []hostRange
	)
	rest := host
	total := 1
	for {
		open := strings.IndexAny(rest, "[]")
		if open < 0 {
			lits = append(lits, rest)
			break
		}
		if rest[open] == ']' {
			return nil, fmt.Errorf("host %q: ']' without '['", host)
		}
		end := strings.IndexAny(rest[open+1:], "[]")
		if end < 0 || rest[open+1+end] != ']' {
			return nil, fmt.Errorf("host %q: unterminated range", host)
		}
		spec := rest[open+1 : open+1+end]
		r, err := parseRange(spec)
		if err != nil {
			return nil, fmt.Errorf("host %q: range [%s]: %w", host, spec, err)
		}
		if total > limit/r.count() {
			return nil, limitf("host range %q expands to more than %d hosts", host, limit)
		}
		total *= r.count()
		lits = append(lits, rest[:open])
		ranges = append(ranges, r)
		rest = rest[open+1+end+1:]
	}
	names := make([]string, 0, total)
	idx := make([]int, len(ranges))
	var b strings.Builder
	for {
		b.Reset()
		for i, r := range ranges {
			b.WriteString(lits[i])
			b.WriteString(r.value(idx[i]))
		}
		b.WriteString(lits[len(ranges)])
		names = append(names, b.String())
		// Advance the last range fastest.
		i := len(ranges) - 1
		for ; i >= 0; i-- {
			idx[i]++
			if idx[i] < ranges[i].count() {
				break
			}
			idx[i] = 0
		}
		if i < 0 {
			return names, nil
		}
	}
}

// parseRange parses begin:end or begin:end:step. As in Ansible an empty
// begin is 0, bounds are numbers or single letters, and a number with a
// leading zero pads every value to its width.
func parseRange(spec string) (hostRange, error) {
	parts := strings.Split(spec, ":")
	if len(parts) != 2 && len(parts) != 3 {
		return hostRange{}, fmt.Errorf("want [begin:end] or [begin:end:step]")
	}
	begin, end := parts[0], parts[1]
	if begin == "" {
		begin = "0"
	}
	if end == "" {
		return hostRange{}, fmt.Errorf("no end")
	}
	r := hostRange{step: 1}
	if len(parts) == 3 {
		s, err := strconv.Atoi(parts[2])
		if err != nil || s < 1 || strings.Trim(parts[2], "0123456789") != "" {
			return hostRange{}, fmt.Errorf("step %q is not a positive number", parts[2])
		}
		r.step = min(s, MaxHosts+1)
	}
	bi, ei := strings.Index(alphabet, begin), strings.Index(alphabet, end)
	switch {
	case len(begin) == 1 && len(end) == 1 && bi >= 0 && ei >= 0:
		r.alpha, r.begin, r.end = true, bi, ei
	case isDigits(begin) && isDigits(end):
		if len(begin) > 9 || len(end) > 9 {
			return hostRange{}, fmt.Errorf("numbers longer than 9 digits")
		}
		r.begin, _ = strconv.Atoi(begin)
		r.end, _ = strconv.Atoi(end)
		if begin[0] == '0' && len(begin) > 1 {
			if len(begin) != len(end) {
				return hostRange{}, fmt.Errorf("zero-padded bounds %q and %q differ in width", begin, end)
			}
			r.width = len(begin)
		}
	default:
		return hostRange{}, fmt.Errorf("bounds must be numbers or single letters")
	}
	if r.begin > r.end {
		return hostRange{}, fmt.Errorf("begin %q is after end %q", begin, end)
	}
	return r, nil
}

func isDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}
