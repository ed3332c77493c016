package certmap

import (
	"crypto/sha1"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// AuthorizationURI is the whole Authorization header value a client sends
// for certificate authentication: the DSP0226 Annex C.3.5 security profile
// URI, with no credentials part (pywinrm and pypsrp send exactly this).
const AuthorizationURI = "http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/https/mutual"

// Limits on the mapping table and on verified chains.
const (
	// MaxRules bounds the rules one Mapper holds.
	MaxRules = 10000
	// maxChains bounds the verified chains considered for one client.
	maxChains = 16
	// maxChainDepth bounds the length of one verified chain.
	maxChainDepth = 16
)

// Errors returned by this package.
var (
	// ErrNoMapping means no enabled rule maps the certificate for the
	// resource URI, or several rules tie. The caller answers AccessDenied
	// (MS-WSMV 3.1.4.1.35), or 401 during authentication.
	ErrNoMapping = errors.New("certmap: no certificate mapping applies")
	// ErrInvalidRule means a rule given to NewMapper is not valid; the
	// error is a *RuleError.
	ErrInvalidRule = errors.New("certmap: invalid rule")
)

// RuleError describes an invalid rule. It wraps [ErrInvalidRule].
type RuleError struct {
	// Index is the rule's position in the slice given to NewMapper.
	Index int
	// Field names the offending field ("Issuer", "Subject", "URI",
	// "UserName"), or is empty for a duplicate rule.
	Field string
	// Reason says what is wrong, without echoing the value.
	Reason string
}

// Error implements error.
func (e *RuleError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("certmap: rule %d: %s", e.Index, e.Reason)
	}
	return fmt.Sprintf("certmap: rule %d: %s: %s", e.Index, e.Field, e.Reason)
}

// Unwrap returns [ErrInvalidRule].
func (e *RuleError) Unwrap() error { return ErrInvalidRule }

// Rule is one entry of the certificate mapping table, the
// cert:CertMappingType of MS-WSMV 2.2.4.3 (winrm/config/service/certmapping,
// or WSMan:\localhost\ClientCertificate). Leading and trailing white space
// of every field is ignored.
type Rule struct {
	// Issuer is the SHA-1 thumbprint (40 hex digits) of a CA certificate
	// in the client's verified chain; case, white space and ":" separators
	// are ignored. See the package documentation for which CA it names.
	Issuer string
	// Subject is matched case-insensitively against the client
	// certificate's user principal name: "*" (every name), "*tail"
	// ("*@example.com"), "head*", or an exact name.
	Subject string
	// URI is matched case-insensitively against the resource URI of the
	// request: "*" (every URI), "prefix*", or an exact URI. It may not
	// contain white space or "?".
	URI string
	// UserName is the local account the certificate acts as. A leading
	// ".\" is removed; other domain-qualified names are refused, as
	// Windows refuses domain credentials here.
	UserName string
	// Enabled includes the rule in mapping; disabled rules still count as
	// duplicates.
	Enabled bool
}

// Options adjusts a Mapper beyond the Windows behaviour.
type Options struct {
	// EmailFallback matches Subject patterns against the first e-mail
	// address (rfc822Name) of the subjectAltName when the certificate has
	// no UPN. Windows documents a UPN as required; this is a psremote
	// extension for CAs that cannot issue UPNs.
	EmailFallback bool
	// CommonNameFallback matches Subject patterns against the subject's
	// common name when the certificate has neither a UPN nor (with
	// EmailFallback) an e-mail address. A psremote extension.
	CommonNameFallback bool
}

// compiled is a validated rule.
type compiled struct {
	index   int
	issuer  thumbprint
	subject pattern
	uri     pattern
	user    string
	enabled bool
}

// Mapper maps verified client certificate chains to local accounts. It is
// immutable and safe for concurrent use.
type Mapper struct {
	rules []compiled
	opts  Options
}

// NewMapper validates rules and returns a Mapper using the Windows
// behaviour (UPN only). The error is a *RuleError (wrapping
// [ErrInvalidRule]) for the first invalid rule, or for a rule whose
// (Issuer, Subject, URI) repeats an earlier one after normalisation.
func NewMapper(rules []Rule) (*Mapper, error) {
	return NewMapperOptions(rules, Options{})
}

// NewMapperOptions is [NewMapper] with Options.
func NewMapperOptions(rules []Rule, opts Options) (*Mapper, error) {
	if len(rules) > MaxRules {
		return nil, fmt.Errorf("%w: %d rules, more than %d", ErrInvalidRule, len(rules), MaxRules)
	}
	m := &Mapper{rules: make([]compiled, 0, len(rules)), opts: opts}
	seen := make(map[string]int, len(rules))
	for i, r := range rules {
		c, err := compile(i, r)
		if err != nil {
			return nil, err
		}
		key := string(c.issuer[:]) + "\x00" + fold(strings.TrimSpace(r.Subject)) + "\x00" + fold(strings.TrimSpace(r.URI))
		if j, dup := seen[key]; dup {
			return nil, &RuleError{Index: i, Reason: fmt.Sprintf("same Issuer, Subject and URI as rule %d", j)}
		}
		seen[key] = i
		m.rules = append(m.rules, c)
	}
	return m, nil
}

func compile(i int, r Rule) (compiled, error) {
	c := compiled{index: i, enabled: r.Enabled}
	var err error
	if c.issuer, err = parseThumbprint(strings.TrimSpace(r.Issuer)); err != nil {
		return c, &RuleError{Index: i, Field: "Issuer", Reason: err.Error()}
	}
	if c.subject, err = parseSubjectPattern(strings.TrimSpace(r.Subject)); err != nil {
		return c, &RuleError{Index: i, Field: "Subject", Reason: err.Error()}
	}
	if c.uri, err = parseURIPattern(strings.TrimSpace(r.URI)); err != nil {
		return c, &RuleError{Index: i, Field: "URI", Reason: err.Error()}
	}
	user := strings.TrimPrefix(strings.TrimSpace(r.UserName), `.\`)
	if err := checkText(user, maxUserNameLen); err != nil {
		return c, &RuleError{Index: i, Field: "UserName", Reason: err.Error()}
	}
	if strings.ContainsRune(user, '\\') {
		return c, &RuleError{Index: i, Field: "UserName", Reason: "domain accounts are not allowed"}
	}
	c.user = user
	return c, nil
}

// match is the outcome of mapping.
type match struct {
	// user is the rule's UserName.
	user string
	// name is the certificate name the Subject pattern matched.
	name string
	// rule is the index of the chosen rule.
	rule int
}

// Map returns the local account for a verified client chain and a
// resource URI. chain[0] is the client certificate and chain[1:] its
// issuers up to a trusted root, as one entry of
// tls.ConnectionState.VerifiedChains; a chain of one certificate is a
// self-signed client certificate trusted directly, which is its own
// issuer. The chain must already be verified: Map only maps.
//
// Enabled rules match when their Issuer names a CA of the chain (the
// direct issuer first, then each CA above it, as the package
// documentation explains), their Subject matches the certificate's UPN
// and their URI matches resourceURI. The longest Subject, then the
// longest URI, wins. No match, or a tie, is an error wrapping
// [ErrNoMapping].
func (m *Mapper) Map(chain []*x509.Certificate, resourceURI string) (user string, err error) {
	return m.MapChains([][]*x509.Certificate{chain}, resourceURI)
}

// MapChains is [Mapper.Map] over every verified chain of one client
// certificate (tls.ConnectionState.VerifiedChains): a CA counts at a
// level when it appears at that distance from the leaf in any chain, so
// a cross-signed issuer matches whichever chain verification reported.
func (m *Mapper) MapChains(chains [][]*x509.Certificate, resourceURI string) (user string, err error) {
	mt, err := m.mapChains(chains, resourceURI)
	if err != nil {
		return "", err
	}
	return mt.user, nil
}

func (m *Mapper) mapChains(chains [][]*x509.Certificate, resourceURI string) (match, error) {
	leaf, levels, err := issuerLevels(chains)
	if err != nil {
		return match{}, err
	}
	name, err := subjectName(leaf, m.opts)
	if err != nil {
		return match{}, fmt.Errorf("%w: %w", ErrNoMapping, err)
	}
	return m.choose(name, levels, resourceURI, true)
}

// identify returns the mapping used when the request is authenticated,
// before its resource URI is known: the rule Map picks for the empty
// URI (which only URI "*" rules match); failing that, the account named
// by every rule that matches the certificate for some URI, if they all
// name the same one.
func (m *Mapper) identify(chains [][]*x509.Certificate) (match, error) {
	leaf, levels, err := issuerLevels(chains)
	if err != nil {
		return match{}, err
	}
	name, err := subjectName(leaf, m.opts)
	if err != nil {
		return match{}, fmt.Errorf("%w: %w", ErrNoMapping, err)
	}
	mt, err := m.choose(name, levels, "", true)
	if err == nil || !errors.Is(err, errNoCandidate) {
		return mt, err
	}
	cands := m.candidates(fold(name), levels, "", false)
	if len(cands) == 0 {
		return match{}, err
	}
	for _, c := range cands[1:] {
		if c.user != cands[0].user {
			return match{}, fmt.Errorf("%w: no rule applies to every resource URI and the URI-specific rules name different accounts", ErrNoMapping)
		}
	}
	return match{user: cands[0].user, name: name, rule: cands[0].index}, nil
}

// errNoCandidate marks the "nothing matched" case of choose, as opposed
// to a tie.
var errNoCandidate = fmt.Errorf("%w: no enabled rule matches", ErrNoMapping)

// choose runs the MS-WSMV 3.1.4.1.35 selection at the first issuer level
// that has any matching rule.
func (m *Mapper) choose(name string, levels [][]thumbprint, uri string, checkURI bool) (match, error) {
	cands := m.candidates(fold(name), levels, fold(uri), checkURI)
	if len(cands) == 0 {
		return match{}, errNoCandidate
	}
	best := cands[0]
	tie := false
	for _, c := range cands[1:] {
		switch {
		case c.subject.length > best.subject.length,
			c.subject.length == best.subject.length && c.uri.length > best.uri.length:
			best, tie = c, false
		case c.subject.length == best.subject.length && c.uri.length == best.uri.length:
			tie = true
		}
	}
	if tie {
		return match{}, fmt.Errorf("%w: several rules match equally well (rule %d and another)", ErrNoMapping, best.index)
	}
	return match{user: best.user, name: name, rule: best.index}, nil
}

// candidates returns the enabled rules matching the folded name (and
// folded URI when checkURI) whose Issuer is at the first level that has
// any such rule.
func (m *Mapper) candidates(name string, levels [][]thumbprint, uri string, checkURI bool) []*compiled {
	var out []*compiled
	for _, level := range levels {
		for i := range m.rules {
			c := &m.rules[i]
			if !c.enabled || !slices.Contains(level, c.issuer) || !c.subject.match(name) {
				continue
			}
			if checkURI && !c.uri.match(uri) {
				continue
			}
			out = append(out, c)
		}
		if len(out) > 0 {
			return out
		}
	}
	return nil
}

// issuerLevels returns the leaf of chains and the thumbprints of the CA
// certificates at each distance above it: levels[0] holds the direct
// issuers, levels[1] their issuers, and so on. A one-certificate chain
// (a self-signed certificate trusted directly) is its own direct issuer.
func issuerLevels(chains [][]*x509.Certificate) (*x509.Certificate, [][]thumbprint, error) {
	if len(chains) == 0 || len(chains[0]) == 0 || chains[0][0] == nil {
		return nil, nil, fmt.Errorf("%w: no verified client certificate chain", ErrNoMapping)
	}
	if len(chains) > maxChains {
		chains = chains[:maxChains]
	}
	leaf := chains[0][0]
	var levels [][]thumbprint
	add := func(depth int, c *x509.Certificate) {
		for len(levels) <= depth {
			levels = append(levels, nil)
		}
		t := thumbprint(sha1.Sum(c.Raw))
		if !slices.Contains(levels[depth], t) {
			levels[depth] = append(levels[depth], t)
		}
	}
	for _, chain := range chains {
		if len(chain) == 0 || len(chain) > maxChainDepth || slices.Contains(chain, nil) {
			return nil, nil, fmt.Errorf("%w: malformed verified chain", ErrNoMapping)
		}
		if !chain[0].Equal(leaf) {
			return nil, nil, fmt.Errorf("%w: verified chains disagree on the client certificate", ErrNoMapping)
		}
		if len(chain) == 1 {
			add(0, chain[0])
			continue
		}
		for i, c := range chain[1:] {
			add(i, c)
		}
	}
	return leaf, levels, nil
}
