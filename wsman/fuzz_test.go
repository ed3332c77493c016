package wsman

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Native fuzz targets. Run one at a time, for example
//
//	go test -run='^$' -fuzz='^FuzzParse$' -fuzztime=30s ./wsman
//
// (anchor the pattern: FuzzParse is a prefix of FuzzParseXML). Crashers
// land in testdata/fuzz/<Target>/ and then run as ordinary tests.

// hostileSeeds are malicious or broken inputs for the XML targets.
var hostileSeeds = []string{
	`<!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">]><l>&c;&c;</l>`,
	`<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>`,
	`<r>&foo;</r>`,
	nested(DefaultMaxDepth + 1),
	withAttrs(maxAttrs + 1),
	`<a><b></a></b>`,
	`<a/><b/>`,
	`<p:a/>`,
	`<?php x ?><a/>`,
	"<a>\xff</a>",
	"<a>x<b/>y<c>z</c>w</a>",
	`<e xmlns:a="u" xmlns:b="u"><e xmlns:c="u"><l xmlns:q="u"/><l xmlns:q="u"/></e></e>`,
	`<s:Envelope xmlns:s="` + NsSOAP + `"><s:Body><wsmid:Identify xmlns:wsmid="` + NsIdentity + `"/></s:Body></s:Envelope>`,
	`<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body/></e:Envelope>`,
	`<r xml:lang="en" xmlns="urn:d" xmlns:p="urn:p" p:a="&#xd;&#9;"><![CDATA[x]]>&#xD;&#xA;<p:c/></r>`,
	`<:a a:="1" :b="2"/>`,
}

// mswsmvSeeds returns every file of testdata/mswsmv.
func mswsmvSeeds(f *testing.F) [][]byte {
	f.Helper()
	entries, err := os.ReadDir(filepath.Join("testdata", "mswsmv"))
	if err != nil {
		f.Fatal(err)
	}
	var out [][]byte
	for _, e := range entries {
		if e.IsDir() || strings.HasSuffix(e.Name(), ".md") {
			continue
		}
		data, err := os.ReadFile(filepath.Join("testdata", "mswsmv", e.Name()))
		if err != nil {
			f.Fatal(err)
		}
		out = append(out, data)
	}
	return out
}

// FuzzParse runs the request pipeline of the service on arbitrary bytes:
// DecodeBody, Parse, Validate and every body parser. Nothing may panic,
// every error must be a *Fault that encodes to well-formed XML, and a
// reply that echoes the MessageID must be well-formed and give it back.
func FuzzParse(f *testing.F) {
	for _, data := range mswsmvSeeds(f) {
		f.Add(data, "application/soap+xml;charset=UTF-8")
	}
	for _, s := range hostileSeeds {
		f.Add([]byte(s), "")
	}
	std := envelopeXML(headers(nil), receiveBody)
	f.Add(std, "application/soap+xml;charset=UTF-8")
	f.Add(indent(std), "")
	f.Add(envelopeXML(headers(nil), `<rsp:Shell><rsp:Environment><rsp:Variable Name="a">b</rsp:Variable></rsp:Environment><rsp:IdleTimeOut>PT1S</rsp:IdleTimeOut></rsp:Shell>`), "")
	f.Add(envelopeXML(headers(nil), `<rsp:Send><rsp:Stream Name="stdin" CommandId="C" End="true">eQ0K</rsp:Stream></rsp:Send>`), "")
	f.Add(envelopeXML(headers(nil), `<rsp:CommandLine CommandId="C"><rsp:Command>a</rsp:Command><rsp:Arguments>b</rsp:Arguments></rsp:CommandLine>`), "")
	f.Add(envelopeXML(headers(nil), `<rsp:Signal CommandId="C"><rsp:Code>`+SignalTerminate+`</rsp:Code></rsp:Signal>`), "")
	le, _ := EncodeBody(std, UTF16LE)
	f.Add(le, "application/soap+xml;charset=UTF-16")
	f.Add(le[2:], "application/soap+xml;charset=UTF-16")
	be, _ := EncodeBody(std, UTF16BE)
	f.Add(be, "")
	f.Add(append(le, 'x'), "")
	f.Add([]byte{0xFF, 0xFE, '<', 0, 0x00, 0xD8}, "")
	f.Add([]byte{0xEF, 0xBB, 0xBF, '<', 'a', '/', '>'}, "text/xml; charset=\"utf-16\"")

	f.Fuzz(func(t *testing.T, data []byte, contentType string) {
		utf, cs, err := DecodeBody(data, contentType)
		if err != nil {
			mustEncodeFault(t, err, "")
			return
		}
		env, err := Parse(utf, cs, ParseLimits{})
		if err != nil {
			mustEncodeFault(t, err, "")
			return
		}
		if env.Charset != cs {
			t.Fatalf("Envelope.Charset = %v; want %v", env.Charset, cs)
		}
		if err := env.Validate(); err != nil {
			mustEncodeFault(t, err, env.MessageID)
		}
		// Every body parser copes with every body, and with its children.
		for _, el := range append([]*Element{env.Body}, childrenOf(env.Body)...) {
			for name, parse := range bodyParsers {
				if err := parse(el); err != nil {
					if _, ok := AsFault(err); !ok {
						t.Fatalf("Parse%s error %v (%T) is not a *Fault", name, err, err)
					}
				}
			}
		}
		env.Selector("ShellId")
		env.OptionBool("WINRS_NOPROFILE")

		var buf bytes.Buffer
		WriteEnvelope(&buf, env.Action+"Response", env.MessageID, nil)
		out, ct := EncodeBody(buf.Bytes(), env.Charset)
		back, cs2, err := DecodeBody(out, ct)
		if err != nil || cs2 != env.Charset || !bytes.Equal(back, buf.Bytes()) {
			t.Fatalf("reply does not survive EncodeBody/DecodeBody in %v: %v", env.Charset, err)
		}
		root, err := ParseXML(back, ParseLimits{})
		if err != nil {
			t.Fatalf("reply is not well-formed: %v\n%q", err, back)
		}
		if env.MessageID != "" {
			got := headerElem(root, NsAddressing, "RelatesTo").Text
			if want := normalizeEOL(xmlReplacement(env.MessageID)); got != want {
				t.Fatalf("RelatesTo = %q; want %q", got, want)
			}
		}
	})
}

func childrenOf(e *Element) []*Element {
	if e == nil {
		return nil
	}
	return e.Children
}

// mustEncodeFault checks that err is a *Fault whose encoding parses.
func mustEncodeFault(t *testing.T, err error, relatesTo string) {
	t.Helper()
	f, ok := AsFault(err)
	if !ok {
		t.Fatalf("error %v (%T) is not a *Fault", err, err)
	}
	if _, perr := ParseXML(EncodeFault(f, relatesTo, "host"), ParseLimits{}); perr != nil {
		t.Fatalf("fault %v encodes to malformed XML: %v", f, perr)
	}
}

// FuzzParseXML checks that ParseXML never panics, respects its limits,
// and that a parsed tree written back out (with fresh prefixes, through
// EscapeText and EscapeAttr) parses to the same tree.
func FuzzParseXML(f *testing.F) {
	for _, data := range mswsmvSeeds(f) {
		f.Add(data)
	}
	for _, s := range hostileSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		lim := ParseLimits{MaxDepth: 12, MaxElements: 200}
		root, err := ParseXML(data, lim)
		if err != nil {
			if root != nil {
				t.Fatalf("ParseXML returned a tree and error %v", err)
			}
			return
		}
		depth, count := treeSize(root)
		if depth > lim.MaxDepth || count > lim.MaxElements {
			t.Fatalf("tree of depth %d with %d elements passed limits %+v", depth, count, lim)
		}
		var buf bytes.Buffer
		if !writeTree(&buf, root) {
			return // a name this writer cannot express
		}
		again, err := ParseXML(buf.Bytes(), lim)
		if errors.Is(err, ErrXMLLimit) {
			return // fresh prefix declarations can push past maxAttrs
		}
		if err != nil {
			t.Fatalf("written tree does not parse: %v\n%q\nfrom %q", err, buf.Bytes(), data)
		}
		if got, want := renderTree(again), renderTree(root); got != want {
			t.Fatalf("tree changed through write and parse:\n got %s\nwant %s\nwritten %q", got, want, buf.Bytes())
		}
	})
}

func treeSize(e *Element) (depth, count int) {
	count = 1
	for _, c := range e.Children {
		d, n := treeSize(c)
		depth = max(depth, d)
		count += n
	}
	return depth + 1, count
}

// writableName reports whether a name without prefix can be written as
// is. The encoding/xml-based ParseXML accepted a prefix bound to ""
// (xmlns:p="", which Namespaces in XML forbids) and checked names only
// with their prefix, so <p:000 xmlns:p=""> gave the local name "000",
// which is no XML name on its own (regression input
// testdata/fuzz/FuzzParseXML/6278d59c9e9a51bf; the scanner now refuses
// both). Names starting with a non-ASCII character are left out, to stay
// clear of the XML name-character tables.
func writableName(s string) bool {
	if s == "" {
		return false
	}
	c := s[0]
	return c == '_' || c == ':' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// writeTree serializes e: every namespaced element and attribute gets a
// prefix declared on its own element, and the element's text comes before
// its children. It reports false for names it cannot write back.
func writeTree(b *bytes.Buffer, e *Element) bool {
	if strings.Contains(e.Local, ":") && e.Space != "" || e.Space == "" && !writableName(e.Local) {
		return false
	}
	name := e.Local
	b.WriteString("<")
	if e.Space != "" {
		name = "e:" + e.Local
		b.WriteString(name + ` xmlns:e="`)
		EscapeAttr(b, e.Space)
		b.WriteString(`"`)
	} else {
		b.WriteString(name)
	}
	prefixes := map[string]string{}
	for _, a := range e.Attrs {
		switch {
		case a.Name.Space == "":
			if !writableName(a.Name.Local) {
				return false
			}
			b.WriteString(" " + a.Name.Local)
		case a.Name.Space == nsXML:
			b.WriteString(" xml:" + a.Name.Local)
		default:
			if strings.Contains(a.Name.Local, ":") {
				return false
			}
			p, ok := prefixes[a.Name.Space]
			if !ok {
				p = fmt.Sprintf("a%d", len(prefixes))
				prefixes[a.Name.Space] = p
				b.WriteString(" xmlns:" + p + `="`)
				EscapeAttr(b, a.Name.Space)
				b.WriteString(`"`)
			}
			b.WriteString(" " + p + ":" + a.Name.Local)
		}
		b.WriteString(`="`)
		EscapeAttr(b, a.Value)
		b.WriteString(`"`)
	}
	b.WriteString(">")
	EscapeText(b, e.Text)
	for _, c := range e.Children {
		if !writeTree(b, c) {
			return false
		}
	}
	b.WriteString("</" + name + ">")
	return true
}

// renderTree renders e completely; text is EOL-normalized (a CR that
// came from &#xD; is written raw by EscapeText and read back as LF).
func renderTree(e *Element) string {
	var b strings.Builder
	fmt.Fprintf(&b, "<{%s}%s", e.Space, e.Local)
	for _, a := range e.Attrs {
		fmt.Fprintf(&b, " {%s}%s=%q", a.Name.Space, a.Name.Local, a.Value)
	}
	fmt.Fprintf(&b, " %q>", normalizeEOL(e.Text))
	for _, c := range e.Children {
		b.WriteString(renderTree(c))
	}
	b.WriteString("</>")
	return b.String()
}

// FuzzParseDuration checks that ParseDuration never panics, never
// returns a negative duration, and agrees with FormatDuration and
// FormatDayDuration.
func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{
		"PT60.000S", "PT20S", "P0DT0H1M0S", "PT7200.000S", "P1DT2H3M4.5S", "PT0.001S", "P", "PT", "60",
		"PT-5S", "PT1..5S", "P106751D", "PT9223372036.854775807S", "PT99999999999999999999S", " PT5S ",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err != nil {
			return
		}
		if d < 0 {
			t.Fatalf("ParseDuration(%q) = %v, nil; want a non-negative duration", s, d)
		}
		if !strings.HasPrefix(strings.TrimSpace(s), "P") {
			t.Fatalf("ParseDuration(%q) accepted a value not starting with P", s)
		}
		// Both renderings parse back exactly, truncated to their unit.
		for _, c := range []struct {
			s    string
			unit time.Duration
		}{{FormatDuration(d), time.Millisecond}, {FormatDayDuration(d), time.Second}} {
			got, err := ParseDuration(c.s)
			want := d.Truncate(c.unit)
			if err != nil || got != want {
				t.Fatalf("ParseDuration(%q) = %v, %v; want %v (from %q)", c.s, got, err, want, s)
			}
		}
	})
}

// FuzzEscape checks that EscapeText and EscapeAttr always produce
// well-formed XML that reads back as the input with the documented
// replacements.
func FuzzEscape(f *testing.F) {
	for _, s := range []string{
		"", "plain", `<>&"'`, "\t\n\r", "\x00\x01\x1f\x7f", "a\xffb\xc3", "\xed\xa0\x80", "\uFFFE\uFFFF\uFFFD",
		"Grüße ✓ 𝄞", "]]>", "&amp;", "\r\n", "\U0010FFFF",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkEscapeRoundTrip(t, s)
	})
}
