package wsman

import (
	"encoding/xml"
	"errors"
	"fmt"
	"maps"
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

// resolveNamespaces replaces prefixes (RawToken leaves them in Space) by
// namespace URIs, following xmlns declarations in scope.
func resolveNamespaces(e *Element, scope map[string]string) error {
	local, copied := scope, false
	for _, a := range e.Attrs {
		if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") {
			if !copied {
				local = maps.Clone(scope)
				if local == nil {
					local = make(map[string]string, 4)
				}
				copied = true
			}
			if a.Name.Space == "xmlns" {
				if a.Value == "" {
					// Namespaces in XML 1.0 forbids undeclaring a prefix.
					return fmt.Errorf("wsman: malformed XML: empty namespace for prefix %q", a.Name.Local)
				}
				local[a.Name.Local] = a.Value
			} else {
				local[""] = a.Value
			}
		}
	}
	ns, ok := lookupNS(local, e.Space)
	if !ok {
		return fmt.Errorf("wsman: malformed XML: undeclared namespace prefix %q", e.Space)
	}
	e.Space = ns
	attrs := e.Attrs[:0]
	for _, a := range e.Attrs {
		if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") {
			continue
		}
		if a.Name.Space != "" {
			switch a.Name.Space {
			case "xml":
				a.Name.Space = nsXML
			default:
				uri, ok := local[a.Name.Space]
				if !ok {
					return fmt.Errorf("wsman: malformed XML: undeclared namespace prefix %q", a.Name.Space)
				}
				a.Name.Space = uri
			}
		}
		attrs = append(attrs, a)
	}
	e.Attrs = attrs
	for _, c := range e.Children {
		if err := resolveNamespaces(c, local); err != nil {
			return err
		}
	}
	return nil
}

func lookupNS(scope map[string]string, prefix string) (string, bool) {
	if prefix == "xml" {
		return nsXML, true
	}
	uri, ok := scope[prefix]
	if !ok && prefix == "" {
		return "", true
	}
	return uri, ok
}

const nsXML = "http://www.w3.org/XML/1998/namespace"
