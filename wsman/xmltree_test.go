package wsman

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
)

func nested(depth int) string {
	return strings.Repeat("<e>", depth) + strings.Repeat("</e>", depth)
}

func flat(children int) string {
	return "<r>" + strings.Repeat("<c/>", children) + "</r>"
}

func withAttrs(n int) string {
	var b strings.Builder
	b.WriteString("<e")
	for i := range n {
		fmt.Fprintf(&b, ` a%d="%d"`, i, i)
	}
	b.WriteString("/>")
	return b.String()
}

// TestParseXMLLimits checks the bounds of xmltree.go. Exceeding one is an
// ErrXMLLimit; staying at it is fine.
func TestParseXMLLimits(t *testing.T) {
	tests := []struct {
		name    string
		doc     string
		lim     ParseLimits
		limited bool
	}{
		{"depth 64", nested(DefaultMaxDepth), ParseLimits{}, false},
		{"depth 65", nested(DefaultMaxDepth + 1), ParseLimits{}, true},
		{"depth 65 inside an envelope", `<s:Envelope xmlns:s="` + NsSOAP + `"><s:Body>` + nested(63) + `</s:Body></s:Envelope>`, ParseLimits{}, true},
		{"custom depth 3", nested(3), ParseLimits{MaxDepth: 3}, false},
		{"custom depth 3 exceeded", nested(4), ParseLimits{MaxDepth: 3}, true},
		{"default element count", flat(DefaultMaxElements - 1), ParseLimits{}, false},
		{"element count over the default", flat(DefaultMaxElements), ParseLimits{}, true},
		{"custom element count", flat(9), ParseLimits{MaxElements: 10}, false},
		{"custom element count exceeded", flat(10), ParseLimits{MaxElements: 10}, true},
		{"negative limits mean the defaults", nested(DefaultMaxDepth + 1), ParseLimits{MaxDepth: -1, MaxElements: -1}, true},
		{"64 attributes", withAttrs(maxAttrs), ParseLimits{}, false},
		{"65 attributes", withAttrs(maxAttrs + 1), ParseLimits{}, true},
		{"namespace declarations count as attributes", `<e xmlns:x="urn:x"` + strings.TrimPrefix(withAttrs(maxAttrs), "<e"), ParseLimits{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root, err := ParseXML([]byte(tt.doc), tt.lim)
			if got := errors.Is(err, ErrXMLLimit); got != tt.limited {
				t.Fatalf("ParseXML error = %v; want limit error %v", err, tt.limited)
			}
			if !tt.limited && root == nil {
				t.Fatalf("ParseXML = nil, nil")
			}
			if tt.limited {
				if root != nil {
					t.Errorf("ParseXML returned a tree with a limit error")
				}
				// Parse maps limit errors to the invalid-XML fault.
				_, perr := Parse([]byte(tt.doc), UTF8, tt.lim)
				checkFault(t, perr, SubInternalError, ErrCodeInvalidXML)
			}
		})
	}
}

// TestParseXMLHostile checks documents that must be refused, and that
// the refusal is not a limit error (they are malformed or forbidden).
func TestParseXMLHostile(t *testing.T) {
	const laughs = `<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<lolz>&lol9;</lolz>`
	tests := []struct {
		name  string
		doc   string
		inErr string // part of the error text, or ""
	}{
		{"billion laughs", laughs, "DTD"},
		{"external entity", `<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>`, "DTD"},
		{"external DTD", `<!DOCTYPE r SYSTEM "http://example.com/evil.dtd"><r/>`, "DTD"},
		{"parameter entity", `<!DOCTYPE r [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]><r/>`, "DTD"},
		{"DOCTYPE inside an envelope position", `<s:Envelope xmlns:s="` + NsSOAP + `"><!DOCTYPE x><s:Body/></s:Envelope>`, ""},
		{"undefined entity", `<r>&foo;</r>`, ""},
		{"undefined entity in an attribute", `<r a="&foo;"/>`, ""},
		{"entity without semicolon", `<r>&amp</r>`, ""},
		{"invalid character reference", `<r>&#1;</r>`, ""},
		{"uppercase X in a character reference", `<r>&#X41;</r>`, ""},
		{"raw control character", "<r>\x01</r>", ""},
		{"mismatched end tag", `<a></b>`, ""},
		{"crossed end tags", `<a><b></a></b>`, ""},
		{"same local name, other prefix", `<x:a xmlns:x="urn:1" xmlns:y="urn:1"></y:a>`, ""},
		{"unclosed element", `<a><b></b>`, ""},
		{"end tag only", `</a>`, ""},
		{"two roots", `<a/><b/>`, "root"},
		{"two roots with whitespace", "<a/>\n<a/>\n", "root"},
		{"undeclared element prefix", `<p:a/>`, "undeclared"},
		{"undeclared prefix on a child", `<a xmlns:p="urn:p"><q:b/></a>`, "undeclared"},
		{"prefix out of scope", `<a><b xmlns:p="urn:p"/><p:c/></a>`, "undeclared"},
		{"undeclared attribute prefix", `<a q:x="1"/>`, "undeclared"},
		{"processing instruction before the root", `<?php echo 1; ?><a/>`, "processing instruction"},
		{"processing instruction inside", `<a><?pi data?></a>`, "processing instruction"},
		{"XML declaration after the root", `<a/><?xml version="1.0"?>`, "processing instruction"},
		{"text before the root", `x<a/>`, "outside the root"},
		{"text after the root", `<a/>x`, "outside the root"},
		{"CDATA outside the root", `<a/><![CDATA[x]]>`, "outside the root"},
		{"no root", ``, "no root"},
		{"only whitespace and a comment", " \n<!-- c -->\n", "no root"},
		{"unsupported declared encoding", `<?xml version="1.0" encoding="EBCDIC-US"?><a/>`, ""},
		{"duplicate-free but unterminated attribute", `<a b="1/>`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root, err := ParseXML([]byte(tt.doc), ParseLimits{})
			if err == nil {
				t.Fatalf("ParseXML = %+v, nil; want an error", root)
			}
			if errors.Is(err, ErrXMLLimit) {
				t.Errorf("ParseXML error = %v; want a non-limit error", err)
			}
			if !strings.Contains(err.Error(), tt.inErr) {
				t.Errorf("ParseXML error = %q; want it to mention %q", err, tt.inErr)
			}
			if strings.Contains(err.Error(), "root:x:0:0") || strings.Contains(err.Error(), "lollol") {
				t.Errorf("ParseXML error %q leaks expanded content", err)
			}
		})
	}
}

// TestParseXMLBillionLaughsCost checks that the entity declarations are
// refused without being expanded: parsing allocates little.
func TestParseXMLBillionLaughsCost(t *testing.T) {
	doc := []byte(`<!DOCTYPE l [<!ENTITY a "` + strings.Repeat("x", 1000) + `">` +
		`<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">` +
		`<!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;"><!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">]><l>&e;&e;&e;&e;</l>`)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := ParseXML(doc, ParseLimits{})
	runtime.ReadMemStats(&after)
	if err == nil {
		t.Fatal("ParseXML accepted a DTD")
	}
	// Expansion would need 40 MB; the decoder's buffers need a few KB.
	if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
		t.Errorf("ParseXML allocated %d bytes; want under 1 MiB", n)
	}
}

func TestParseXMLText(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want string // Text of the root
	}{
		{"predefined entities", `<r>&lt;&gt;&amp;&quot;&apos;</r>`, `<>&"'`},
		{"decimal character references", `<r>&#65;&#160;&#8364;</r>`, "A\u00a0€"},
		{"hex character references", `<r>&#x42;&#x1F600;&#x9;&#xA;&#xD;</r>`, "B😀\t\n\r"},
		{"CDATA kept verbatim", `<r><![CDATA[<x>&amp;]]></r>`, "<x>&amp;"},
		{"comments dropped", `<r>a<!-- <b> -->b</r>`, "ab"},
		{"raw CR LF becomes LF", "<r>a\r\nb\rc</r>", "a\nb\nc"},
		{"non-ASCII kept", `<r>Grüße ✓ 𝄞</r>`, "Grüße ✓ 𝄞"},
		{"whitespace kept", "<r>\n  x \t</r>", "\n  x \t"},
		{"greater-than in text", `<r>a>b]]x</r>`, "a>b]]x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root, err := ParseXML([]byte(tt.doc), ParseLimits{})
			if err != nil {
				t.Fatalf("ParseXML: %v", err)
			}
			if root.Text != tt.want {
				t.Errorf("Text = %q; want %q", root.Text, tt.want)
			}
		})
	}
	t.Run("attribute values", func(t *testing.T) {
		root, err := ParseXML([]byte(`<r a="&lt;&amp;&quot;&#x41;" b='x"y' c="&#9;&#10;&#13;"/>`), ParseLimits{})
		if err != nil {
			t.Fatalf("ParseXML: %v", err)
		}
		for name, want := range map[string]string{"a": `<&"A`, "b": `x"y`, "c": "\t\n\r"} {
			if got, _ := root.Attr(name); got != want {
				t.Errorf("Attr(%s) = %q; want %q", name, got, want)
			}
		}
	})
}

// TestParseXMLTextAroundChild is the regression test for a panic found
// while writing these tests: ParseXML kept one strings.Builder per open
// element in a growing []strings.Builder, so text after a child element
// was written to a builder that append had copied, and strings.Builder
// panics on that ("illegal use of non-zero Builder copied by value").
// Every pretty-printed envelope, all the [MS-WSMV] examples among them,
// triggered it. xmltree.go now keeps the text in [][]byte.
func TestParseXMLTextAroundChild(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want map[string]string // element local name → its own Text
	}{
		{"text around a child", `<a>x<b/>y</a>`, map[string]string{"a": "xy", "b": ""}},
		{"text around a child with text", `<a>x<b>z</b>y</a>`, map[string]string{"a": "xy", "b": "z"}},
		{"pretty-printed", "<a>\n <b>\n  <c/>\n </b>\n <d>v</d>\n</a>", map[string]string{"a": "\n \n \n", "b": "\n  \n ", "c": "", "d": "v"}},
		{"deep then shallow", "<a>1<b>2<c>3<d>4<e>5</e>4</d>3</c>2</b>1<f>6</f>1</a>", map[string]string{"a": "111", "b": "22", "c": "33", "d": "44", "e": "5", "f": "6"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root, err := ParseXML([]byte(tt.doc), ParseLimits{})
			if err != nil {
				t.Fatalf("ParseXML: %v", err)
			}
			got := map[string]string{}
			var walk func(*Element)
			walk = func(e *Element) {
				got[e.Local] = e.Text
				for _, c := range e.Children {
					walk(c)
				}
			}
			walk(root)
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("texts = %q; want %q", got, tt.want)
			}
		})
	}
}

func TestParseXMLNamespaces(t *testing.T) {
	doc := `<?xml version="1.0"?>
<!-- leading comment -->
<r xmlns="urn:default" xmlns:p="urn:p" plain="1" p:q="2" xml:lang="en-US">
  <child/>
  <p:child/>
  <x:child xmlns:x="urn:x" x:attr="3"/>
  <inner xmlns="urn:inner"><deep/></inner>
  <unset xmlns=""><none/></unset>
  <p:rebound xmlns:p="urn:rebound"><p:child/></p:rebound>
  <p:after/>
</r>`
	root, err := ParseXML([]byte(doc), ParseLimits{})
	if err != nil {
		t.Fatalf("ParseXML: %v", err)
	}
	var got []string
	var walk func(e *Element, depth int)
	walk = func(e *Element, depth int) {
		s := fmt.Sprintf("%d {%s}%s", depth, e.Space, e.Local)
		for _, a := range e.Attrs {
			s += fmt.Sprintf(" {%s}%s=%s", a.Name.Space, a.Name.Local, a.Value)
		}
		got = append(got, s)
		for _, c := range e.Children {
			walk(c, depth+1)
		}
	}
	walk(root, 0)
	want := []string{
		"0 {urn:default}r {}plain=1 {urn:p}q=2 {" + nsXML + "}lang=en-US",
		"1 {urn:default}child",
		"1 {urn:p}child",
		"1 {urn:x}child {urn:x}attr=3",
		"1 {urn:inner}inner",
		"2 {urn:inner}deep",
		"1 {}unset",
		"2 {}none",
		"1 {urn:rebound}rebound",
		"2 {urn:rebound}child",
		"1 {urn:p}after",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("tree:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestElementHelpers(t *testing.T) {
	root, err := ParseXML([]byte(`<r xmlns:p="urn:p" xmlns:q="urn:q" Name="plain" p:Name="prefixed" q:Only="q" ShellID="S">`+
		`<p:c>1</p:c><c>2</c><p:c>3</p:c><q:c> 4 </q:c></r>`), ParseLimits{})
	if err != nil {
		t.Fatalf("ParseXML: %v", err)
	}
	var nilElement *Element
	tests := []struct {
		name      string
		got, want any
	}{
		{"Attr prefers no namespace", first(root.Attr("Name")), "plain"},
		{"Attr falls back to any namespace", first(root.Attr("Only")), "q"},
		{"Attr missing", second(root.Attr("Missing")), false},
		{"Attr is case-sensitive", second(root.Attr("shellid")), false},
		{"AttrFold", first(root.AttrFold("shellid")), "S"},
		{"AttrFold ShellId", first(root.AttrFold("ShellId")), "S"},
		{"Child by namespace", root.Child("urn:p", "c").Text, "1"},
		{"Child without namespace", root.Child("", "c").Text, "2"},
		{"Child missing", root.Child("urn:none", "c") == nil, true},
		{"ChildrenNamed", len(root.ChildrenNamed("urn:p", "c")), 2},
		{"TrimText", root.Child("urn:q", "c").TrimText(), "4"},
		{"Is", root.Is("", "r"), true},
		{"Is other namespace", root.Is("urn:p", "r"), false},
		{"nil Attr", second(nilElement.Attr("x")), false},
		{"nil AttrFold", second(nilElement.AttrFold("x")), false},
		{"nil Child", nilElement.Child("", "x") == nil, true},
		{"nil ChildrenNamed", len(nilElement.ChildrenNamed("", "x")), 0},
		{"nil TrimText", nilElement.TrimText(), ""},
		{"nil Is", nilElement.Is("", ""), false},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %#v; want %#v", tt.name, tt.got, tt.want)
		}
	}
}

func first[A, B any](a A, _ B) A  { return a }
func second[A, B any](_ A, b B) B { return b }

// TestParseXMLStrictness lists documents that are not well-formed XML
// but that the scanner of xmlscan.go accepts (encoding/xml, its
// reference, rejects all three). xmlscan.go promises a subset of what
// encoding/xml accepts, so FuzzParseXMLDifferential fails on them too.
func TestParseXMLStrictness(t *testing.T) {
	for _, doc := range []string{
		"<\u00b7a/>",         // U+00B7 is a NameChar, not a NameStartChar
		"<\u0300a/>",         // combining grave accent, likewise
		"<a \u0301b=\"1\"/>", // also for attribute names
		"<!-- a -- b --><a/>",
	} {
		if _, err := ParseXML([]byte(doc), ParseLimits{}); err == nil {
			t.Errorf("ParseXML(%q) = nil error; want a malformed-XML error", doc)
		}
	}
}

// TestParseXMLNamespaceScopeCost bounds the work of namespace resolution.
// xmltree.go documents that hostile input costs at most linear time and
// memory, but resolveNamespaces clones the whole in-scope prefix map for
// every element that declares a namespace (maps.Clone, xmltree.go:122).
// 63 nested elements with 63 declarations each build a scope of ~4000
// prefixes; every further element with one xmlns attribute then copies
// all of them. A 370 KB body (under the 500 KB default request cap, and
// reachable unauthenticated through Identify, which the listener parses
// before authentication) took about 4 s of CPU with encoding/xml and
// 2.2 s with the xmlscan.go scanner, against 7-20 ms for a plain document
// of the same size.
func TestParseXMLNamespaceScopeCost(t *testing.T) {
	const leaves = 1000
	var hostile strings.Builder
	for i := range DefaultMaxDepth - 1 {
		hostile.WriteString("<e")
		for j := range maxAttrs - 1 {
			fmt.Fprintf(&hostile, ` xmlns:p%d_%d="urn:u"`, i, j)
		}
		hostile.WriteString(">")
	}
	hostile.WriteString(strings.Repeat(`<l xmlns:q="urn:u"/>`, leaves))
	hostile.WriteString(strings.Repeat("</e>", DefaultMaxDepth-1))
	// The baseline has the same size and element count without the
	// deep scope.
	baseline := "<r>" + strings.Repeat(`<l xmlns:q="urn:u"/>`, leaves+(hostile.Len()-leaves*20)/20) + "</r>"

	perByte := func(doc string) float64 {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		if _, err := ParseXML([]byte(doc), ParseLimits{}); err != nil {
			t.Fatalf("ParseXML: %v", err)
		}
		runtime.ReadMemStats(&after)
		return float64(after.TotalAlloc-before.TotalAlloc) / float64(len(doc))
	}
	h, b := perByte(hostile.String()), perByte(baseline)
	t.Logf("allocated %.0f bytes per input byte; baseline %.0f", h, b)
	if h > 10*b {
		t.Errorf("namespace-heavy document allocates %.0f bytes per input byte; want within 10x of the %.0f of a plain document", h, b)
	}
}
