package wsman

import (
	"encoding/xml"
	"errors"
	"fmt"
	"strings"
)

// Parser limits. Every request body is parsed into an [Element] tree under
// these bounds, so hostile input costs at most linear time and memory.
const (
	// DefaultMaxDepth bounds element nesting. WS-Man envelopes nest about
	// eight deep; config documents a few more.
	DefaultMaxDepth = 64
	// DefaultMaxElements bounds the number of elements in one document.
	DefaultMaxElements = 20000
	// maxAttrs bounds the attributes of one element.
	maxAttrs = 64
)

// ErrXMLLimit is wrapped by parse errors caused by a limit, not by
// malformed XML.
var ErrXMLLimit = errors.New("wsman: XML limit exceeded")

// Element is a parsed XML element with namespace-resolved names. Text is
// the concatenation of the element's own character data.
type Element struct {
	Space, Local string
	Attrs        []xml.Attr
	Children     []*Element
	Text         string

	// nsDecl holds the namespace declarations made on this element
	// (prefix to URI; "" for the default), for QName-valued text.
	nsDecl map[string]string
}

// Attr returns the value of the attribute with the given local name in
// no namespace, or in any namespace if none matches exactly.
func (e *Element) Attr(local string) (string, bool) {
	if e == nil {
		return "", false
	}
	for _, a := range e.Attrs {
		if a.Name.Local == local && a.Name.Space == "" {
			return a.Value, true
		}
	}
	for _, a := range e.Attrs {
		if a.Name.Local == local {
			return a.Value, true
		}
	}
	return "", false
}

// AttrFold is Attr with a case-insensitive name, for attributes clients
// spell differently (ShellId, ShellID).
func (e *Element) AttrFold(local string) (string, bool) {
	if e == nil {
		return "", false
	}
	for _, a := range e.Attrs {
		if strings.EqualFold(a.Name.Local, local) {
			return a.Value, true
		}
	}
	return "", false
}

// Child returns the first child with the given namespace and local name.
func (e *Element) Child(space, local string) *Element {
	if e == nil {
		return nil
	}
	for _, c := range e.Children {
		if c.Local == local && c.Space == space {
			return c
		}
	}
	return nil
}

// ChildrenNamed returns every child with the given namespace and local name.
func (e *Element) ChildrenNamed(space, local string) []*Element {
	if e == nil {
		return nil
	}
	var out []*Element
	for _, c := range e.Children {
		if c.Local == local && c.Space == space {
			out = append(out, c)
		}
	}
	return out
}

// RawText returns Text, or "" for a nil element.
func (e *Element) RawText() string {
	if e == nil {
		return ""
	}
	return e.Text
}

// TrimText returns Text without surrounding XML whitespace.
func (e *Element) TrimText() string {
	if e == nil {
		return ""
	}
	return strings.Trim(e.Text, " \t\r\n")
}

// Is reports whether e has the given namespace and local name.
func (e *Element) Is(space, local string) bool {
	return e != nil && e.Space == space && e.Local == local
}

// ParseLimits bounds [ParseXML].
type ParseLimits struct {
	MaxDepth    int
	MaxElements int
}

// nsScope maps prefixes to namespace URIs. Each prefix has a stack of
// bindings, so entering and leaving an element costs only its own
// declarations (copying the whole map per element made hostile documents
// quadratic).
type nsScope map[string][]string

func (sc nsScope) lookup(prefix string) (string, bool) {
	if prefix == "xml" {
		return nsXML, true
	}
	if b := sc[prefix]; len(b) > 0 {
		return b[len(b)-1], true
	}
	if prefix == "" {
		return "", true
	}
	return "", false
}

func isXMLNS(a xml.Attr) bool {
	return a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns")
}

// resolveNamespaces replaces prefixes (left in Space by the scanner) by
// namespace URIs, following the xmlns declarations in scope.
func resolveNamespaces(root *Element, _ map[string]string) error {
	return resolveIn(root, nsScope{})
}

func resolveIn(e *Element, sc nsScope) error {
	var pushed []string
	defer func() {
		for _, p := range pushed {
			sc[p] = sc[p][:len(sc[p])-1]
		}
	}()
	for _, a := range e.Attrs {
		if !isXMLNS(a) {
			continue
		}
		prefix := ""
		if a.Name.Space == "xmlns" {
			if a.Value == "" {
				// Namespaces in XML 1.0 forbids undeclaring a prefix.
				return fmt.Errorf("wsman: malformed XML: empty namespace for prefix %q", a.Name.Local)
			}
			prefix = a.Name.Local
		}
		sc[prefix] = append(sc[prefix], a.Value)
		pushed = append(pushed, prefix)
		if e.nsDecl == nil {
			e.nsDecl = make(map[string]string, 4)
		}
		e.nsDecl[prefix] = a.Value
	}
	ns, ok := sc.lookup(e.Space)
	if !ok {
		return fmt.Errorf("wsman: malformed XML: undeclared namespace prefix %q", e.Space)
	}
	e.Space = ns
	attrs := e.Attrs[:0]
	for _, a := range e.Attrs {
		if isXMLNS(a) {
			continue
		}
		if a.Name.Space != "" {
			uri, ok := sc.lookup(a.Name.Space)
			if !ok {
				return fmt.Errorf("wsman: malformed XML: undeclared namespace prefix %q", a.Name.Space)
			}
			a.Name.Space = uri
		}
		attrs = append(attrs, a)
	}
	e.Attrs = attrs
	for _, c := range e.Children {
		if err := resolveIn(c, sc); err != nil {
			return err
		}
	}
	return nil
}

const nsXML = "http://www.w3.org/XML/1998/namespace"
