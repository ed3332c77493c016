package wsman

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// parseXMLStd is the encoding/xml-based parser psremote used first. It
// is kept as the reference for FuzzParseXMLDifferential: ParseXML must
// accept a subset of what it accepts, and build the same tree. DTDs,
// entity declarations and processing instructions other than the XML
// declaration are refused; only the five predefined entities and
// character references are expanded.
func parseXMLStd(data []byte, lim ParseLimits) (*Element, error) {
	if lim.MaxDepth <= 0 {
		lim.MaxDepth = DefaultMaxDepth
	}
	if lim.MaxElements <= 0 {
		lim.MaxElements = DefaultMaxElements
	}
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	// The body was already converted to UTF-8; an encoding declaration
	// naming UTF-16 (or UTF-8 in any spelling) is accepted as such.
	d.CharsetReader = func(label string, in io.Reader) (io.Reader, error) {
		switch strings.ToLower(label) {
		case "utf-8", "utf8", "utf-16", "utf-16le", "utf-16be", "utf16", "us-ascii", "ascii":
			return in, nil
		}
		return nil, fmt.Errorf("unsupported encoding %q", label)
	}
	var (
		root  *Element
		stack []*Element
		count int
		text  [][]byte // character data of each open element
	)
	for {
		tok, err := d.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("wsman: malformed XML: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			count++
			if count > lim.MaxElements {
				return nil, fmt.Errorf("%w: more than %d elements", ErrXMLLimit, lim.MaxElements)
			}
			if len(stack) >= lim.MaxDepth {
				return nil, fmt.Errorf("%w: nesting deeper than %d", ErrXMLLimit, lim.MaxDepth)
			}
			if len(t.Attr) > maxAttrs {
				return nil, fmt.Errorf("%w: more than %d attributes", ErrXMLLimit, maxAttrs)
			}
			if root != nil && len(stack) == 0 {
				return nil, errors.New("wsman: malformed XML: more than one root element")
			}
			el := &Element{Space: t.Name.Space, Local: t.Name.Local, Attrs: t.Attr}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.Children = append(p.Children, el)
			} else {
				root = el
			}
			stack = append(stack, el)
			text = append(text, nil)
		case xml.EndElement:
			if len(stack) == 0 {
				return nil, errors.New("wsman: malformed XML: unexpected end element")
			}
			el := stack[len(stack)-1]
			if t.Name.Space != el.Space || t.Name.Local != el.Local {
				return nil, fmt.Errorf("wsman: malformed XML: element <%s> closed by </%s>", el.Local, t.Name.Local)
			}
			el.Text = string(text[len(text)-1])
			stack = stack[:len(stack)-1]
			text = text[:len(text)-1]
		case xml.CharData:
			if len(stack) > 0 {
				text[len(text)-1] = append(text[len(text)-1], t...)
			} else if len(bytes.Trim(t, " \t\r\n")) > 0 {
				return nil, errors.New("wsman: malformed XML: text outside the root element")
			}
		case xml.Directive:
			return nil, errors.New("wsman: DTDs and entity declarations are not accepted")
		case xml.ProcInst:
			if t.Target != "xml" || root != nil {
				return nil, fmt.Errorf("wsman: processing instruction %q not accepted", t.Target)
			}
		case xml.Comment:
		}
	}
	if root == nil {
		return nil, errors.New("wsman: malformed XML: no root element")
	}
	if len(stack) != 0 {
		return nil, errors.New("wsman: malformed XML: unexpected end of document")
	}
	if err := resolveNamespaces(root, nil); err != nil {
		return nil, err
	}
	return root, nil
}

// FuzzParseXMLDifferential checks the scanner against encoding/xml: any
// document ParseXML accepts, parseXMLStd accepts too, with an identical
// tree.
func FuzzParseXMLDifferential(f *testing.F) {
	for _, s := range []string{
		`<a/>`, `<a b="1" c='2'>t&amp;x&#65;&#x42;<![CDATA[<raw>]]><!-- c --><d/>tail</a>`,
		`<?xml version="1.0" encoding="utf-8"?>` + "\n<s:E xmlns:s=\"u\">\r\n<s:B>x\ry</s:B></s:E>",
		`<a xmlns="d" xmlns:p="q"><p:b p:at="v">&lt;&gt;&quot;&apos;</p:b></a>`,
		`<a>]]></a>`, `<a>&#0;</a>`, `<a b="<"/>`, `<a></b>`, `<!DOCTYPE a><a/>`, `<a x="1" x="2"/>`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := ParseXML(data, ParseLimits{})
		if err != nil {
			return
		}
		want, err := parseXMLStd(data, ParseLimits{})
		if err != nil {
			t.Fatalf("ParseXML accepted what encoding/xml rejects (%v):\n%q", err, data)
		}
		if !reflect.DeepEqual(normTree(got), normTree(want)) {
			t.Fatalf("trees differ for %q:\n got %#v\nwant %#v", data, normTree(got), normTree(want))
		}
	})
}

// normTree makes empty and nil attribute lists compare equal.
func normTree(e *Element) *Element {
	c := *e
	if len(c.Attrs) == 0 {
		c.Attrs = nil
	}
	c.Children = nil
	for _, ch := range e.Children {
		c.Children = append(c.Children, normTree(ch))
	}
	return &c
}

func TestScannerMatchesStdOnGoldenFiles(t *testing.T) {
	files, _ := filepathGlob("testdata/mswsmv/*.xml")
	if len(files) == 0 {
		t.Skip("no golden files")
	}
	for _, fn := range files {
		data := mustRead(t, fn)
		got, err1 := ParseXML(data, ParseLimits{})
		want, err2 := parseXMLStd(data, ParseLimits{})
		if (err1 == nil) != (err2 == nil) {
			t.Errorf("%s: scanner err %v, encoding/xml err %v", fn, err1, err2)
			continue
		}
		if err1 == nil && !reflect.DeepEqual(normTree(got), normTree(want)) {
			t.Errorf("%s: trees differ", fn)
		}
	}
}

func filepathGlob(p string) ([]string, error) { return filepath.Glob(p) }

func mustRead(t *testing.T, fn string) []byte {
	t.Helper()
	b, err := os.ReadFile(fn)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
