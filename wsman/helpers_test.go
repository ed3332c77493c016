package wsman

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// decodeAndParse runs DecodeBody and Parse the way the service does.
func decodeAndParse(body []byte, contentType string) (*Envelope, error) {
	utf, cs, err := DecodeBody(body, contentType)
	if err != nil {
		return nil, err
	}
	return Parse(utf, cs, ParseLimits{})
}

// mustParseTree parses well-formed data or fails the test.
func mustParseTree(t testing.TB, data []byte) *Element {
	t.Helper()
	root, err := ParseXML(data, ParseLimits{})
	if err != nil {
		t.Fatalf("ParseXML: %v\n%s", err, data)
	}
	return root
}

// readMSWSMV returns a file of testdata/mswsmv.
func readMSWSMV(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "mswsmv", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// listMSWSMV lists testdata/mswsmv files whose names match pattern.
func listMSWSMV(t testing.TB, pattern string) []string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", "mswsmv", pattern))
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(paths))
	for _, p := range paths {
		names = append(names, filepath.Base(p))
	}
	slices.Sort(names)
	return names
}

// checkFault checks that err is a *Fault with the given subcode and
// WSManFault code, and returns it.
func checkFault(t testing.TB, err error, sub Subcode, code uint32) *Fault {
	t.Helper()
	if err == nil {
		t.Fatalf("err = nil; want fault %s code %d", sub.Local, code)
	}
	f, ok := AsFault(err)
	if !ok {
		t.Fatalf("err = %v (%T); want *Fault", err, err)
	}
	if f.Subcode != sub || f.WSManCode != code {
		t.Fatalf("fault = %s/{%s}%s code %d; want {%s}%s code %d (%s)",
			f.Code, f.Subcode.Space, f.Subcode.Local, f.WSManCode, sub.Space, sub.Local, code, f.Message)
	}
	return f
}

// declaresPrefixOn reports whether the first element named local (any
// prefix) declares xmlns:prefix itself.
func declaresPrefixOn(t testing.TB, data []byte, local, prefix string) bool {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(string(data)))
	for {
		tok, err := d.RawToken()
		if err != nil {
			return false
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == local {
			for _, a := range se.Attr {
				if a.Name.Space == "xmlns" && a.Name.Local == prefix {
					return true
				}
			}
			return false
		}
	}
}

// rootPrefixes returns the prefix declarations on the document element,
// which ParseXML drops from the tree; QName values such as s:Subcode's
// "w:InvalidSelectors" are resolved against them.
func rootPrefixes(t testing.TB, data []byte) map[string]string {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(string(data)))
	for {
		tok, err := d.RawToken()
		if err != nil {
			t.Fatalf("no root element: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			m := map[string]string{}
			for _, a := range se.Attr {
				if a.Name.Space == "xmlns" {
					m[a.Name.Local] = a.Value
				}
			}
			return m
		}
	}
}

// descend follows a chain of {namespace, local} children from e; it returns
// nil when a qn is missing.
func descend(e *Element, steps ...[2]string) *Element {
	for _, s := range steps {
		e = e.Child(s[0], s[1])
	}
	return e
}

func qn(space, local string) [2]string { return [2]string{space, local} }

func headerElem(env *Element, space, local string) *Element {
	return descend(env, qn(NsSOAP, "Header"), qn(space, local))
}

// treeShape is an element reduced to its namespace URI, local name and
// children: prefixes, attributes, text and whitespace are ignored.
type treeShape struct {
	Name     string
	Children []treeShape
}

// shapeOf reduces e to its shape, leaving out every element for which
// skip returns true (with its subtree).
func shapeOf(e *Element, skip func(*Element) bool) treeShape {
	n := treeShape{Name: "{" + e.Space + "}" + e.Local}
	for _, c := range e.Children {
		if skip != nil && skip(c) {
			continue
		}
		n.Children = append(n.Children, shapeOf(c, skip))
	}
	return n
}

// String renders the shape one element per line, indented, for diffs.
func (n treeShape) String() string {
	var b strings.Builder
	var walk func(treeShape, int)
	walk = func(n treeShape, depth int) {
		b.WriteString(strings.Repeat("  ", depth))
		b.WriteString(n.Name)
		b.WriteByte('\n')
		for _, c := range n.Children {
			walk(c, depth+1)
		}
	}
	walk(n, 0)
	return b.String()
}

// skipNames returns a skip predicate matching the given {namespace, local}
// names.
func skipNames(names ...[2]string) func(*Element) bool {
	return func(e *Element) bool {
		for _, n := range names {
			if e.Space == n[0] && e.Local == n[1] {
				return true
			}
		}
		return false
	}
}

// nsAttr returns the attribute {space}local of e.
func nsAttr(e *Element, space, local string) (string, bool) {
	if e == nil {
		return "", false
	}
	for _, a := range e.Attrs {
		if a.Name.Space == space && a.Name.Local == local {
			return a.Value, true
		}
	}
	return "", false
}

// textOf returns e's own character data, or "" for a nil e.
func textOf(e *Element) string {
	if e == nil {
		return ""
	}
	return e.Text
}
