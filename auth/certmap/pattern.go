package certmap

import (
	"encoding/hex"
	"errors"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// Input bounds for rule fields.
const (
	// maxSubjectLen bounds a Subject pattern and a certificate name, in
	// bytes. UPNs are at most a few hundred characters in practice.
	maxSubjectLen = 1024
	// maxURILen bounds a URI pattern, in bytes.
	maxURILen = 2048
	// maxUserNameLen bounds UserName, in bytes.
	maxUserNameLen = 256
	// maxIssuerLen bounds the Issuer text before separators are removed.
	maxIssuerLen = 256
)

// patternKind says where a pattern's one "*" is.
type patternKind uint8

const (
	kindExact  patternKind = iota // no "*": the whole name
	kindAny                       // "*" alone: everything
	kindSuffix                    // "*tail": names ending in tail
	kindPrefix                    // "head*": names starting with head
)

// pattern is a parsed Subject or URI pattern of MS-WSMV 2.2.4.3.
type pattern struct {
	kind patternKind
	// lit is the pattern without its "*", case-folded.
	lit string
	// length is the length of the configured pattern text, "*" included,
	// in UTF-16 code units as Windows counts string lengths. It decides
	// precedence ("longest Subject field", MS-WSMV 3.1.4.1.35).
	length int
}

// errPattern is the reason a pattern was refused; the caller wraps it.
var (
	errEmpty       = errors.New("empty")
	errTooLong     = errors.New("too long")
	errNotUTF8     = errors.New("not valid UTF-8")
	errControl     = errors.New("contains a control character")
	errTwoStars    = errors.New(`more than one "*"`)
	errStarInside  = errors.New(`"*" is neither the first nor the last character`)
	errStarNotLast = errors.New(`"*" is not the last character`)
	errWhitespace  = errors.New("contains white space")
	errQuestion    = errors.New(`contains "?"`)
)

// fold case-folds s for comparisons. Windows compares these strings
// case-insensitively; lower-casing both sides is the Go equivalent that
// keeps prefix and suffix tests meaningful.
func fold(s string) string { return strings.ToLower(s) }

// utf16Len returns the length of s in UTF-16 code units.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// checkText applies the checks shared by every rule field.
func checkText(s string, limit int) error {
	switch {
	case s == "":
		return errEmpty
	case len(s) > limit:
		return errTooLong
	case !utf8.ValidString(s):
		return errNotUTF8
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return errControl
		}
	}
	return nil
}

// parseSubjectPattern parses a Subject pattern: at least one character,
// at most one "*", which must be the first or the last character
// (MS-WSMV 2.2.4.3; "*" alone matches every name).
func parseSubjectPattern(s string) (pattern, error) {
	if err := checkText(s, maxSubjectLen); err != nil {
		return pattern{}, err
	}
	p := pattern{length: utf16Len(s)}
	switch n := strings.Count(s, "*"); {
	case n == 0:
		p.kind, p.lit = kindExact, fold(s)
	case n > 1:
		return pattern{}, errTwoStars
	case s == "*":
		p.kind = kindAny
	case s[0] == '*':
		p.kind, p.lit = kindSuffix, fold(s[1:])
	case s[len(s)-1] == '*':
		p.kind, p.lit = kindPrefix, fold(s[:len(s)-1])
	default:
		return pattern{}, errStarInside
	}
	return p, nil
}

// parseURIPattern parses a URI pattern: at least one character, at most
// one "*", which must be the last character, no white space and no "?"
// (MS-WSMV 2.2.4.3).
func parseURIPattern(s string) (pattern, error) {
	if err := checkText(s, maxURILen); err != nil {
		return pattern{}, err
	}
	for _, r := range s {
		if unicode.IsSpace(r) {
			return pattern{}, errWhitespace
		}
	}
	if strings.ContainsRune(s, '?') {
		return pattern{}, errQuestion
	}
	p := pattern{length: utf16Len(s)}
	switch n := strings.Count(s, "*"); {
	case n == 0:
		p.kind, p.lit = kindExact, fold(s)
	case n > 1:
		return pattern{}, errTwoStars
	case s == "*":
		p.kind = kindAny
	case s[len(s)-1] == '*':
		p.kind, p.lit = kindPrefix, fold(s[:len(s)-1])
	default:
		return pattern{}, errStarNotLast
	}
	return p, nil
}

// match reports whether the case-folded name matches p.
func (p pattern) match(folded string) bool {
	switch p.kind {
	case kindAny:
		return true
	case kindSuffix:
		return strings.HasSuffix(folded, p.lit)
	case kindPrefix:
		return strings.HasPrefix(folded, p.lit)
	default:
		return folded == p.lit
	}
}

// thumbprint is the SHA-1 hash of a certificate's DER encoding, the
// Windows "thumbprint".
type thumbprint [20]byte

// String returns the thumbprint as 40 upper-case hex digits, the way
// Windows shows it.
func (t thumbprint) String() string { return strings.ToUpper(hex.EncodeToString(t[:])) }

// parseThumbprint accepts 40 hex digits in either case, ignoring white
// space, ":" separators and invisible format characters (the Windows
// certificate dialog prepends U+200E LEFT-TO-RIGHT MARK to a copied
// thumbprint, a classic cause of "the thumbprint is not valid").
func parseThumbprint(s string) (thumbprint, error) {
	var t thumbprint
	if len(s) > maxIssuerLen {
		return t, errTooLong
	}
	if !utf8.ValidString(s) {
		return t, errNotUTF8
	}
	var b strings.Builder
	for _, r := range s {
		if unicode.IsSpace(r) || r == ':' || unicode.Is(unicode.Cf, r) {
			continue
		}
		b.WriteRune(r)
	}
	digits := b.String()
	if len(digits) != 2*len(t) {
		return t, errors.New("not 40 hex digits")
	}
	if _, err := hex.Decode(t[:], []byte(digits)); err != nil {
		return t, errors.New("not 40 hex digits")
	}
	return t, nil
}
