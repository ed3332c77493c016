package inventory

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// yamlWorkSlack and yamlWorkFactor bound the YAML nodes visited,
// counting each visit through an alias, to yamlWorkSlack plus
// yamlWorkFactor times the nodes of the document: aliases may repeat
// small pieces, but cannot multiply the work.
const (
	yamlWorkSlack  = 1 << 20
	yamlWorkFactor = 4
)

// maxYAMLDepth bounds the nesting of a variable's value.
const maxYAMLDepth = 100

// ParseYAML parses an Ansible inventory in YAML (or JSON) format:
//
//	all:
//	  vars:
//	    ansible_winrm_transport: ntlm
//	  hosts:
//	    bastion.example.com:
//	  children:
//	    web:
//	      hosts:
//	        web[01:03].example.com:
//	          ansible_user: admin
//	      vars:
//	        ansible_port: 5986
//	      children:
//	        web_old:
//
// The top level maps group names, usually just all, to groups. A group
// is null or a mapping with the keys hosts, vars and children, each null
// or a mapping: hosts maps host patterns (see the package documentation)
// to null or a mapping of variables, vars maps variables to values, and
// children maps group names to groups. As in Ansible, hosts and children
// may also be a single name, and a group may appear under several
// parents. Other keys are refused, unlike Ansible, which ignores them
// with a warning. Anchors, aliases and merge keys (<<) work.
//
// Errors are *Error values, naming the line when it is known.
func ParseYAML(r io.Reader) (*Inventory, error) {
	data, err := readInput(r)
	if err != nil {
		return nil, err
	}
	return parseYAML(data)
}

type yamlParser struct {
	b       *builder
	work    int
	maxWork int
}

func parseYAML(data []byte) (*Inventory, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, &Error{Err: fmt.Errorf("invalid YAML: %w", err)}
	}
	p := &yamlParser{b: newBuilder(), maxWork: yamlWorkSlack + yamlWorkFactor*countNodes(&doc)}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return nil, &Error{Err: fmt.Errorf("empty YAML inventory")}
	}
	top, err := p.deref(doc.Content[0])
	if err != nil {
		return nil, err
	}
	if top.Kind != yaml.MappingNode {
		return nil, lineErrorf(top.Line, "want a mapping of group names at the top level, got %s", kindName(top))
	}
	if err := p.eachPair(top, func(k, v *yaml.Node) error {
		if k.Value == "plugin" && v.Kind == yaml.ScalarNode {
			return lineErrorf(k.Line, "inventory plugins (plugin: %s) are not supported", v.Value)
		}
		_, err := p.group(k, v, 1)
		return err
	}); err != nil {
		return nil, err
	}
	return p.b.finish()
}

// spend counts work.
func (p *yamlParser) spend() error {
	p.work++
	if p.work > p.maxWork {
		return &Error{Err: limitf("YAML too complex: more than %d nodes visited, counting aliases", p.maxWork)}
	}
	return nil
}

// countNodes counts the nodes of a document, without following aliases.
func countNodes(doc *yaml.Node) int {
	n := 0
	stack := []*yaml.Node{doc}
	for len(stack) > 0 {
		x := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		n++
		stack = append(stack, x.Content...)
	}
	return n
}

// deref follows aliases.
func (p *yamlParser) deref(n *yaml.Node) (*yaml.Node, error) {
	for i := 0; n != nil && n.Kind == yaml.AliasNode; i++ {
		if i > maxYAMLDepth || n.Alias == nil {
			return nil, lineErrorf(n.Line, "unresolvable alias")
		}
		n = n.Alias
	}
	if n == nil {
		return nil, &Error{Err: fmt.Errorf("empty YAML node")}
	}
	return n, p.spend()
}

// eachPair calls f for each key and value of a mapping, aliases
// resolved. Merge keys are left to the caller.
func (p *yamlParser) eachPair(m *yaml.Node, f func(k, v *yaml.Node) error) error {
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, err := p.deref(m.Content[i])
		if err != nil {
			return err
		}
		if k.Kind != yaml.ScalarNode {
			return lineErrorf(k.Line, "want a scalar key, got %s", kindName(k))
		}
		v, err := p.deref(m.Content[i+1])
		if err != nil {
			return err
		}
		if err := f(k, v); err != nil {
			return err
		}
	}
	return nil
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func isMerge(k *yaml.Node) bool { return k.ShortTag() == "!!merge" }

// section returns the mapping of a hosts, vars or children entry: nil
// for null, and a one-entry mapping for a single name where allowed.
func (p *yamlParser) section(group, key string, v *yaml.Node, nameOK bool) (*yaml.Node, error) {
	switch {
	case isNull(v):
		return nil, nil
	case v.Kind == yaml.MappingNode:
		return v, nil
	case nameOK && v.Kind == yaml.ScalarNode:
		return &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{v, {Kind: yaml.ScalarNode, Tag: "!!null", Line: v.Line}}}, nil
	}
	return nil, lineErrorf(v.Line, "group %s: %s must be a mapping, got %s", group, key, kindName(v))
}

// group parses the group called k.Value, whose definition is v, at the
// given depth below the top level.
func (p *yamlParser) group(k, v *yaml.Node, depth int) (*groupRec, error) {
	if depth > MaxGroupDepth {
		return nil, &Error{Line: k.Line, Err: limitf("groups nested more than %d deep", MaxGroupDepth)}
	}
	g, err := p.b.group(k.Value, k.Line)
	if err != nil {
		return nil, err
	}
	if isNull(v) {
		return g, nil
	}
	if v.Kind != yaml.MappingNode {
		return nil, lineErrorf(v.Line, "group %s must be a mapping with hosts, vars or children, got %s", g.name, kindName(v))
	}
	err = p.eachPair(v, func(sk, sv *yaml.Node) error {
		switch sk.Value {
		case "hosts":
			m, err := p.section(g.name, sk.Value, sv, true)
			if err != nil || m == nil {
				return err
			}
			return p.eachPair(m, func(hk, hv *yaml.Node) error { return p.hosts(g, hk, hv) })
		case "vars":
			m, err := p.section(g.name, sk.Value, sv, false)
			if err != nil || m == nil {
				return err
			}
			return p.vars(m, 0, func(key, val string, line int) error { return p.b.setGroupVar(g, key, val, line) })
		case "children":
			m, err := p.section(g.name, sk.Value, sv, true)
			if err != nil || m == nil {
				return err
			}
			return p.eachPair(m, func(ck, cv *yaml.Node) error {
				child, err := p.group(ck, cv, depth+1)
				if err != nil {
					return err
				}
				return p.b.addChild(g, child, ck.Line)
			})
		}
		return lineErrorf(sk.Line, "group %s: unexpected key %q: want hosts, vars or children", g.name, sk.Value)
	})
	return g, err
}

// hosts adds the hosts of pattern k, with variables v, to g.
func (p *yamlParser) hosts(g *groupRec, k, v *yaml.Node) error {
	names, port, err := parseHostPattern(k.Value)
	if err != nil {
		return &Error{Line: k.Line, Err: err}
	}
	if !isNull(v) && v.Kind != yaml.MappingNode {
		return lineErrorf(v.Line, "host %s: variables must be a mapping, got %s", k.Value, kindName(v))
	}
	type kv struct {
		k    string
		v    varVal
		keep bool
	}
	var vars []kv
	if !isNull(v) {
		err := p.vars(v, 0, func(key, val string, line int) error {
			keep, err := p.b.filterVar(key, val, line)
			vars = append(vars, kv{key, varVal{val, line}, keep})
			return err
		})
		if err != nil {
			return err
		}
	}
	for _, name := range names {
		h, err := p.b.host(name, k.Line)
		if err != nil {
			return err
		}
		p.b.addHost(g, h)
		if port > 0 {
			h.vars[varPort] = varVal{strconv.Itoa(port), k.Line}
		}
		for _, x := range vars {
			if x.keep {
				h.vars[x.k] = x.v
			}
		}
	}
	return nil
}

// vars calls set for each variable of mapping m, first those of its
// merge keys, which explicit keys override.
func (p *yamlParser) vars(m *yaml.Node, depth int, set func(key, val string, line int) error) error {
	if depth > maxYAMLDepth {
		return lineErrorf(m.Line, "merge keys nested too deeply")
	}
	// Merge keys first, the last mapping of a merge list first, so that
	// earlier ones win, as the YAML merge key type says.
	err := p.eachPair(m, func(k, v *yaml.Node) error {
		if !isMerge(k) {
			return nil
		}
		srcs := []*yaml.Node{v}
		if v.Kind == yaml.SequenceNode {
			srcs = v.Content
		}
		for i := len(srcs) - 1; i >= 0; i-- {
			src, err := p.deref(srcs[i])
			if err != nil {
				return err
			}
			if src.Kind != yaml.MappingNode {
				return lineErrorf(src.Line, "merge key: want a mapping, got %s", kindName(src))
			}
			if err := p.vars(src, depth+1, set); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return p.eachPair(m, func(k, v *yaml.Node) error {
		if isMerge(k) {
			return nil
		}
		if v.Kind == yaml.ScalarNode && v.Tag == "!vault" {
			p.b.warn(k.Line, "%s ignored: Ansible Vault values are not supported", k.Value)
			return nil
		}
		val, err := p.value(v)
		if err != nil {
			return err
		}
		return set(k.Value, val, k.Line)
	})
}

// value renders a variable's value as a string: a scalar as written
// (null as ""), a sequence or mapping as compact JSON.
func (p *yamlParser) value(v *yaml.Node) (string, error) {
	if v.Kind == yaml.ScalarNode {
		if isNull(v) {
			return "", nil
		}
		return v.Value, nil
	}
	var b bytes.Buffer
	if err := p.renderJSON(&b, v, 0); err != nil {
		return "", err
	}
	return b.String(), nil
}

func (p *yamlParser) renderJSON(b *bytes.Buffer, n *yaml.Node, depth int) error {
	if depth > maxYAMLDepth {
		return lineErrorf(n.Line, "value nested more than %d deep", maxYAMLDepth)
	}
	n, err := p.deref(n)
	if err != nil {
		return err
	}
	switch n.Kind {
	case yaml.SequenceNode:
		b.WriteByte('[')
		for i, c := range n.Content {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := p.renderJSON(b, c, depth+1); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case yaml.MappingNode:
		b.WriteByte('{')
		first := true
		err := p.eachPair(n, func(k, v *yaml.Node) error {
			if !first {
				b.WriteByte(',')
			}
			first = false
			writeJSONString(b, k.Value)
			b.WriteByte(':')
			return p.renderJSON(b, v, depth+1)
		})
		if err != nil {
			return err
		}
		b.WriteByte('}')
	case yaml.ScalarNode:
		writeJSONScalar(b, n)
	default:
		return lineErrorf(n.Line, "unexpected YAML %s", kindName(n))
	}
	return nil
}

func writeJSONScalar(b *bytes.Buffer, n *yaml.Node) {
	switch n.ShortTag() {
	case "!!null":
		b.WriteString("null")
		return
	case "!!bool":
		var v bool
		if n.Decode(&v) == nil {
			b.WriteString(strconv.FormatBool(v))
			return
		}
	case "!!int":
		var v int64
		if n.Decode(&v) == nil {
			b.WriteString(strconv.FormatInt(v, 10))
			return
		}
	case "!!float":
		var v float64
		if n.Decode(&v) == nil {
			if out, err := json.Marshal(v); err == nil {
				b.Write(out)
				return
			}
		}
	}
	writeJSONString(b, n.Value)
}

func writeJSONString(b *bytes.Buffer, s string) {
	e := json.NewEncoder(b)
	e.SetEscapeHTML(false)
	_ = e.Encode(s) // a string always encodes
	b.Truncate(b.Len() - 1)
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a sequence"
	case yaml.MappingNode:
		return "a mapping"
	case yaml.ScalarNode:
		if isNull(n) {
			return "null"
		}
		return fmt.Sprintf("%q", strings.TrimSpace(n.Value))
	}
	return "a YAML node"
}
