package inventory

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
)

// maxHostErrors bounds the host errors Select reports at once.
const maxHostErrors = 10

// Select returns the hosts that Ansible-style patterns select, each
// once, in inventory order (Ansible orders them by pattern instead). Each
// argument is one pattern or a list of them separated by ',' or, when it
// has no ',', by ':'; as in Ansible, an argument that is one IPv6
// address is one pattern, and lists holding IPv6 addresses must use ','.
// No arguments select all. A pattern is:
//
//   - all or *: every host;
//   - a host name, which wins over a group of the same name;
//   - a group name: the hosts in the group or its descendants;
//   - a glob with *, ? and [...] ([!...] negates), matched against
//     group names, and against host names too when no group matches or
//     the glob holds '.', '*', '?' or '[';
//   - ~regexp: a Go regular expression matched against the start of
//     group and host names;
//   - any of those followed by a subscript: [i] (negative from the end),
//     [i:j] (inclusive) or [i:], which picks among the pattern's hosts in
//     inventory order.
//
// A pattern prefixed with & keeps only the hosts it also matches, and one
// prefixed with ! removes the hosts it matches. As in Ansible, plain
// patterns are applied first, then & ones, then ! ones, whatever their
// order; with no plain pattern, all is assumed. Unlike Ansible, a pattern
// that matches no host or group is an error, an *UnknownPatternError,
// even after ! (a misspelled exclusion would otherwise select the hosts
// it was meant to exclude). A group with no hosts is not an error.
//
// Select also fails when a selected host's connection variables are
// invalid (see [Host.Connection]); the error names the line.
func (inv *Inventory) Select(patterns ...string) ([]Host, error) {
	var plain, and, not []string
	for _, arg := range patterns {
		parts := splitPatterns(arg)
		if len(parts) == 0 {
			return nil, fmt.Errorf("inventory: empty host pattern %q", arg)
		}
		for _, p := range parts {
			switch p[0] {
			case '&':
				and = append(and, p[1:])
			case '!':
				not = append(not, p[1:])
			default:
				plain = append(plain, p)
			}
		}
	}
	if len(plain) == 0 {
		plain = []string{groupAll}
	}
	sel := make([]bool, len(inv.hosts))
	for _, p := range plain {
		m, err := inv.match(p)
		if err != nil {
			return nil, err
		}
		for _, i := range m {
			sel[i] = true
		}
	}
	for _, p := range and {
		m, err := inv.match(p)
		if err != nil {
			return nil, err
		}
		keep := make([]bool, len(inv.hosts))
		for _, i := range m {
			keep[i] = true
		}
		for i := range sel {
			sel[i] = sel[i] && keep[i]
		}
	}
	for _, p := range not {
		m, err := inv.match(p)
		if err != nil {
			return nil, err
		}
		for _, i := range m {
			sel[i] = false
		}
	}
	var (
		out  []Host
		errs []error
	)
	for i, ok := range sel {
		if !ok {
			continue
		}
		if err := inv.hostErrs[i]; err != nil {
			if len(errs) < maxHostErrors {
				errs = append(errs, err)
			}
			continue
		}
		out = append(out, copyHost(inv.hosts[i]))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// splitPatterns splits a pattern list at commas or, when it has none, at
// colons outside brackets, unless it is one IPv6 address.
func splitPatterns(s string) []string {
	var parts []string
	switch {
	case strings.Contains(s, ","):
		parts = strings.Split(s, ",")
	case isIPv6Pattern(s):
		parts = []string{s}
	default:
		depth, start := 0, 0
		for i := 0; i < len(s); i++ {
			switch s[i] {
			case '[':
				depth++
			case ']':
				depth--
			case ':':
				if depth == 0 {
					parts = append(parts, s[start:i])
					start = i + 1
				}
			}
		}
		parts = append(parts, s[start:])
	}
	out := parts[:0]
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func isIPv6Pattern(s string) bool {
	s = strings.TrimLeft(strings.TrimSpace(s), "&!")
	ip, err := netip.ParseAddr(s)
	return err == nil && ip.Is6()
}

// subscriptRE matches a pattern's trailing [i], [i:j] or [i:].
var subscriptRE = regexp.MustCompile(`^(.+)\[(?:(-?[0-9]+)|([0-9]+):([0-9]+)?)\]$`)

// match returns the indexes, ascending, of the hosts that one pattern,
// without its & or ! prefix, matches.
func (inv *Inventory) match(pat string) ([]int, error) {
	if pat == "" {
		return nil, fmt.Errorf("inventory: empty host pattern after & or !")
	}
	if i, ok := inv.hostIdx[pat]; ok {
		return []int{i}, nil
	}
	expr, sub := pat, []string(nil)
	if pat[0] != '~' {
		if m := subscriptRE.FindStringSubmatch(pat); m != nil {
			expr, sub = m[1], m[2:]
		}
	}
	matchName, err := compilePattern(expr)
	if err != nil {
		return nil, err
	}
	hosts := make([]bool, len(inv.hosts))
	groupHit := false
	if gi, ok := inv.groupIdx[expr]; ok {
		groupHit = true
		for _, i := range inv.members[gi] {
			hosts[i] = true
		}
	} else if expr[0] == '~' || strings.ContainsAny(expr, "*?[") {
		for gi, g := range inv.groups {
			if matchName(g.Name) {
				groupHit = true
				for _, i := range inv.members[gi] {
					hosts[i] = true
				}
			}
		}
	}
	hostHit := false
	if !groupHit || expr[0] == '~' || strings.ContainsAny(expr, ".*?[") {
		if i, ok := inv.hostIdx[expr]; ok {
			hosts[i], hostHit = true, true
		} else if expr[0] == '~' || strings.ContainsAny(expr, "*?[") {
			for i, h := range inv.hosts {
				if matchName(h.Name) {
					hosts[i], hostHit = true, true
				}
			}
		}
	}
	if !groupHit && !hostHit {
		return nil, inv.unknown(pat)
	}
	var out []int
	for i, ok := range hosts {
		if ok {
			out = append(out, i)
		}
	}
	if sub == nil {
		return out, nil
	}
	return applySubscript(pat, out, sub)
}

// applySubscript picks hosts by [i], [i:j] or [i:]; sub holds the
// submatches of subscriptRE after the pattern.
func applySubscript(pat string, hosts []int, sub []string) ([]int, error) {
	n := len(hosts)
	if sub[0] != "" {
		i, err := strconv.Atoi(sub[0])
		if err == nil && i < 0 {
			i += n
		}
		if err != nil || i < 0 || i >= n {
			return nil, fmt.Errorf("inventory: pattern %q: index out of range: it matches %d hosts", pat, n)
		}
		return hosts[i : i+1], nil
	}
	start, err := strconv.Atoi(sub[1])
	if err != nil {
		return nil, fmt.Errorf("inventory: pattern %q: bad subscript", pat)
	}
	end := n - 1
	if sub[2] != "" {
		if end, err = strconv.Atoi(sub[2]); err != nil {
			return nil, fmt.Errorf("inventory: pattern %q: bad subscript", pat)
		}
	}
	end = min(end, n-1)
	if start > end {
		return nil, nil
	}
	return hosts[start : end+1], nil
}

// compilePattern returns a matcher for a glob or, after '~', a regular
// expression anchored at the start.
func compilePattern(expr string) (func(string) bool, error) {
	if expr[0] == '~' {
		re, err := regexp.Compile(`^(?:` + expr[1:] + `)`)
		if err != nil {
			return nil, fmt.Errorf("inventory: pattern %q: %w", expr, err)
		}
		return re.MatchString, nil
	}
	return func(name string) bool { return globMatch(expr, name) }, nil
}

// globMatch matches name against a shell glob as Python's fnmatch does:
// * matches any run of characters, ? any one, [seq] one in seq, [!seq]
// one not in it; a '[' without its ']' is literal.
func globMatch(pat, name string) bool {
	p, n := []rune(pat), []rune(name)
	// Backtracking to the last '*' is enough: each '*' only needs to try
	// to grow, so the match is linear in len(p)*len(n) at worst.
	pi, ni := 0, 0
	starP, starN := -1, 0
	for ni < len(n) {
		if pi < len(p) {
			switch p[pi] {
			case '*':
				starP, starN = pi, ni
				pi++
				continue
			case '?':
				pi++
				ni++
				continue
			case '[':
				if ok, next, valid := matchClass(p, pi, n[ni]); valid {
					if ok {
						pi, ni = next, ni+1
						continue
					}
				} else if n[ni] == '[' {
					pi++
					ni++
					continue
				}
			default:
				if p[pi] == n[ni] {
					pi++
					ni++
					continue
				}
			}
		}
		if starP < 0 {
			return false
		}
		starN++
		pi, ni = starP+1, starN
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// matchClass matches c against the class starting at p[i] == '['. It
// returns whether c is in the class, the index after the class, and
// whether the class is closed.
func matchClass(p []rune, i int, c rune) (ok bool, next int, valid bool) {
	j := i + 1
	negate := j < len(p) && p[j] == '!'
	if negate {
		j++
	}
	first := true
	for ; j < len(p); j++ {
		if p[j] == ']' && !first {
			return ok != negate, j + 1, true
		}
		first = false
		lo := p[j]
		if j+2 < len(p) && p[j+1] == '-' && p[j+2] != ']' {
			if lo <= c && c <= p[j+2] {
				ok = true
			}
			j += 2
			continue
		}
		if lo == c {
			ok = true
		}
	}
	return false, 0, false
}

// UnknownPatternError is a host pattern that matches no host and no
// group. It lists what the inventory knows.
type UnknownPatternError struct {
	// Pattern is the pattern, without its & or ! prefix.
	Pattern string
	// Groups are the names of every group, in inventory order.
	Groups []string
	// Hosts are the names of every host, in inventory order.
	Hosts []string
}

// maxListed bounds the names UnknownPatternError.Error lists.
const maxListed = 20

// Error lists the known groups and hosts, at most 20 of each.
func (e *UnknownPatternError) Error() string {
	list := func(names []string) string {
		if len(names) == 0 {
			return "none"
		}
		if len(names) <= maxListed {
			return strings.Join(names, ", ")
		}
		return fmt.Sprintf("%s and %d more", strings.Join(names[:maxListed], ", "), len(names)-maxListed)
	}
	return fmt.Sprintf("inventory: pattern %q matches no host or group; groups: %s; hosts: %s",
		e.Pattern, list(e.Groups), list(e.Hosts))
}

func (inv *Inventory) unknown(pat string) error {
	e := &UnknownPatternError{Pattern: pat, Groups: make([]string, len(inv.groups)), Hosts: make([]string, len(inv.hosts))}
	for i, g := range inv.groups {
		e.Groups[i] = g.Name
	}
	for i, h := range inv.hosts {
		e.Hosts[i] = h.Name
	}
	return e
}
