package inventory

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
)

// ParseINI parses an Ansible inventory in INI format:
//
//	# comment, and ; comment
//	bastion.example.com              # ungrouped: before any section
//
//	[web]
//	web[01:03].example.com ansible_user=admin
//	web-old ansible_host=192.0.2.7 ansible_port=5985 note="two words"
//
//	[web:vars]
//	ansible_winrm_transport=ntlm
//
//	[prod:children]
//	web
//
// A host line is a host pattern (see the package documentation)
// followed by key=value variables, split like a POSIX shell line: quotes
// group words and '#' starts a comment. A [group:vars] line is
// key=value, where value is the rest of the line with one pair of
// enclosing quotes removed. A [group:children] line names one group,
// which the inventory must declare with a [group] or [group:children]
// section, before or after; [group:vars] also needs the group declared.
//
// Errors are *Error values naming the line.
func ParseINI(r io.Reader) (*Inventory, error) {
	data, err := readInput(r)
	if err != nil {
		return nil, err
	}
	return parseINI(data)
}

type iniState int

const (
	iniHosts iniState = iota
	iniVars
	iniChildren
)

func parseINI(data []byte) (*Inventory, error) {
	b := newBuilder()
	state, cur := iniHosts, b.ungrouped
	var edges []edge
	for n, line := range lines(data) {
		n++
		s := strings.TrimSpace(line)
		if s == "" || s[0] == '#' || s[0] == ';' {
			continue
		}
		if s[0] == '[' {
			if name, kind, ok := parseSection(s); ok {
				switch kind {
				case "", "hosts":
					state = iniHosts
				case "vars":
					state = iniVars
				case "children":
					state = iniChildren
				default:
					return nil, lineErrorf(n, "section [%s:%s] has unknown type %q: want hosts, vars or children", name, kind, kind)
				}
				g, err := b.group(name, n)
				if err != nil {
					return nil, err
				}
				if state == iniVars {
					if g.varsLine == 0 {
						g.varsLine = n
					}
				} else {
					g.declared = true
				}
				cur = g
				continue
			}
			if strings.HasSuffix(s, "]") {
				return nil, lineErrorf(n, "invalid section %q: want [group], [group:vars] or [group:children], without spaces", s)
			}
		}
		var err error
		switch state {
		case iniHosts:
			err = parseINIHost(b, cur, s, n)
		case iniVars:
			k, v, ok := strings.Cut(s, "=")
			if !ok {
				return nil, lineErrorf(n, "want key=value in [%s:vars], got %q", cur.name, s)
			}
			err = b.setGroupVar(cur, strings.TrimSpace(k), unquoteValue(strings.TrimSpace(v)), n)
		case iniChildren:
			var toks []string
			toks, err = shellSplit(s)
			if err != nil {
				break
			}
			if len(toks) != 1 {
				return nil, lineErrorf(n, "want one group name per line in [%s:children], got %q", cur.name, s)
			}
			var child *groupRec
			if child, err = b.group(toks[0], n); err == nil {
				err = b.addChild(cur, child, n)
				edges = append(edges, edge{cur, child, n})
			}
		}
		if err != nil {
			if _, ok := err.(*Error); !ok {
				err = &Error{Line: n, Err: err}
			}
			return nil, err
		}
	}
	// As in Ansible, [g:vars] and [p:children] entries must name groups
	// declared somewhere in the file. Report the first such line.
	var undefined error
	first := 0
	note := func(line int, format string, args ...any) {
		if first == 0 || line < first {
			first, undefined = line, lineErrorf(line, format, args...)
		}
	}
	for _, g := range b.groupList {
		if g.varsLine > 0 && !g.declared {
			note(g.varsLine, "section [%s:vars] is for undefined group %s", g.name, g.name)
		}
	}
	for _, e := range edges {
		if !e.child.declared {
			note(e.line, "section [%s:children] includes undefined group %s", e.parent.name, e.child.name)
		}
	}
	if undefined != nil {
		return nil, undefined
	}
	return b.finish()
}

// parseSection parses [name] or [name:kind] with an optional trailing
// comment; ok is false if s is not a section header.
func parseSection(s string) (name, kind string, ok bool) {
	end := strings.IndexByte(s, ']')
	if end < 0 {
		return "", "", false
	}
	if after := strings.TrimSpace(s[end+1:]); after != "" && after[0] != '#' && after[0] != ';' {
		return "", "", false
	}
	name, kind, colon := strings.Cut(s[1:end], ":")
	if name == "" || strings.ContainsFunc(name, unicode.IsSpace) {
		return "", "", false
	}
	if colon && (kind == "" || strings.ContainsFunc(kind, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '_'
	})) {
		return "", "", false
	}
	return name, kind, true
}

// parseINIHost parses a host line of group g.
func parseINIHost(b *builder, g *groupRec, s string, n int) error {
	toks, err := shellSplit(s)
	if err != nil || len(toks) == 0 {
		return err
	}
	names, port, err := parseHostPattern(toks[0])
	if err != nil {
		return err
	}
	type kv struct{ k, v string }
	var vars []kv
	for _, t := range toks[1:] {
		k, v, ok := strings.Cut(t, "=")
		if !ok {
			return fmt.Errorf("want key=value host variable, got %q", t)
		}
		keep, err := b.filterVar(k, v, n)
		if err != nil {
			return err
		}
		if keep {
			vars = append(vars, kv{k, v})
		}
	}
	for _, name := range names {
		h, err := b.host(name, n)
		if err != nil {
			return err
		}
		b.addHost(g, h)
		if port > 0 {
			h.vars[varPort] = varVal{strconv.Itoa(port), n}
		}
		for _, x := range vars {
			h.vars[x.k] = varVal{x.v, n}
		}
	}
	return nil
}

// shellSplit splits a line into words as a POSIX shell does, without
// expansions: white space separates words, '…' quotes literally, "…"
// quotes with \" and \\ escapes, a backslash outside quotes escapes the
// next character, and an unquoted '#' starts a comment.
func shellSplit(s string) ([]string, error) {
	var (
		words []string
		w     strings.Builder
		inW   bool
	)
	emit := func() {
		if inW {
			words = append(words, w.String())
			w.Reset()
			inW = false
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f':
			emit()
		case c == '#':
			emit()
			return words, nil
		case c == '\\':
			if i+1 == len(s) {
				return nil, fmt.Errorf("backslash at end of line")
			}
			i++
			w.WriteByte(s[i])
			inW = true
		case c == '\'':
			end := strings.IndexByte(s[i+1:], '\'')
			if end < 0 {
				return nil, fmt.Errorf("unterminated ' quote")
			}
			w.WriteString(s[i+1 : i+1+end])
			i += 1 + end
			inW = true
		case c == '"':
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\') {
					i++
				}
				w.WriteByte(s[i])
			}
			if i == len(s) {
				return nil, fmt.Errorf("unterminated \" quote")
			}
			inW = true
		default:
			w.WriteByte(c)
			inW = true
		}
	}
	emit()
	return words, nil
}

// unquoteValue removes one pair of quotes enclosing a whole [group:vars]
// value, as Ansible does when the value is a quoted Python string, and
// the escapes \\, \', \", \n, \t and \r inside; other values are
// returned unchanged.
func unquoteValue(v string) string {
	if len(v) < 2 || (v[0] != '"' && v[0] != '\'') || v[len(v)-1] != v[0] {
		return v
	}
	q := v[0]
	var b strings.Builder
	inner := v[1 : len(v)-1]
	for i := 0; i < len(inner); i++ {
		c := inner[i]
		switch {
		case c == q:
			return v // a quote ends the string early: not one string
		case c == '\\' && i+1 < len(inner):
			i++
			switch e := inner[i]; e {
			case '\\', '\'', '"':
				b.WriteByte(e)
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			default:
				b.WriteByte('\\')
				b.WriteByte(e)
			}
		case c == '\\':
			return v // the backslash escapes the closing quote
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
