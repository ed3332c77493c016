package certmap

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/psremote/psremote/auth"
)

// MechanismName is the Result.Mechanism of a certificate authentication,
// and the source name given to the Resolver.
const MechanismName = "ClientCertificate"

// Mechanism is WinRM certificate authentication as an [auth.Mechanism]:
// the client proves its certificate in the TLS handshake and sends
// "Authorization: " + [AuthorizationURI]; the Mapper names the local
// account. It is safe for concurrent use.
type Mechanism struct {
	mapper  *Mapper
	resolve auth.Resolver
	// now is the clock for the validity-period check; tests replace it.
	now func() time.Time
}

// NewMechanism returns a Mechanism mapping certificates with m and
// resolving the mapped account names with resolve.
func NewMechanism(m *Mapper, resolve auth.Resolver) *Mechanism {
	return &Mechanism{mapper: m, resolve: resolve, now: time.Now}
}

// Scheme returns [AuthorizationURI]: the listener splits the header at
// the first space, so the whole URI is the scheme and Credentials is
// empty.
func (*Mechanism) Scheme() string { return AuthorizationURI }

// Challenge returns ("", false): WinRM lists no certificate scheme in its
// 401 (winrm-protocol.md 9.1), clients send the header unprompted, and the
// profile is advertised in IdentifyResponse's SecurityProfiles instead
// (MS-WSMV 3.1.4.1.23).
func (*Mechanism) Challenge(bool) (string, bool) { return "", false }

// Accept authenticates a request carrying the certificate profile URI.
// It requires HTTPS (else an error wrapping auth.ErrNotPermitted) and a
// client certificate that crypto/tls verified (r.TLS.VerifiedChains; the
// listener must request one with tls.VerifyClientCertIfGiven and the
// trusted CAs in ClientCAs), still within its validity period, with the
// Client Authentication extended key usage. It maps the certificate as
// [Mapper] does for an unknown resource URI (see the package
// documentation; [Mechanism.Authorize] checks the real URI later), then
// resolves the rule's UserName. Every refusal wraps
// auth.ErrBadCredentials except transport and header-shape errors.
func (mm *Mechanism) Accept(ctx context.Context, r auth.Request) (auth.Step, error) {
	if err := ctx.Err(); err != nil {
		return auth.Step{}, err
	}
	if mm.mapper == nil || mm.resolve == nil {
		return auth.Step{}, errors.New("certmap: mechanism built without a mapper or resolver")
	}
	if !r.Secure || r.TLS == nil {
		return auth.Step{}, fmt.Errorf("%w: certificate authentication needs HTTPS", auth.ErrNotPermitted)
	}
	if strings.TrimSpace(r.Credentials) != "" {
		return auth.Step{}, fmt.Errorf("%w: certificate authentication carries no credentials", auth.ErrMalformed)
	}
	chains := r.TLS.VerifiedChains
	if len(chains) == 0 || len(chains[0]) == 0 {
		if len(r.TLS.PeerCertificates) == 0 {
			return auth.Step{}, fmt.Errorf("%w: no client certificate", auth.ErrBadCredentials)
		}
		return auth.Step{}, fmt.Errorf("%w: client certificate not verified", auth.ErrBadCredentials)
	}
	leaf := chains[0][0]
	if now := mm.now(); now.Before(leaf.NotBefore) || now.After(leaf.NotAfter) {
		// The handshake checked this, but a keep-alive connection can
		// outlive the certificate.
		return auth.Step{}, fmt.Errorf("%w: client certificate outside its validity period", auth.ErrBadCredentials)
	}
	if !slices.Contains(leaf.ExtKeyUsage, x509.ExtKeyUsageClientAuth) && !slices.Contains(leaf.ExtKeyUsage, x509.ExtKeyUsageAny) {
		return auth.Step{}, fmt.Errorf("%w: client certificate lacks the Client Authentication extended key usage", auth.ErrBadCredentials)
	}
	mt, err := mm.mapper.identify(chains)
	if err != nil {
		return auth.Step{}, fmt.Errorf("%w: %w", auth.ErrBadCredentials, err)
	}
	u, err := mm.resolve(mt.user, MechanismName)
	if err != nil {
		return auth.Step{}, fmt.Errorf("%w: certificate mapping rule %d: account: %v", auth.ErrBadCredentials, mt.rule, err)
	}
	if !u.Valid() {
		return auth.Step{}, fmt.Errorf("%w: certificate mapping rule %d: resolver returned no identity", auth.ErrBadCredentials, mt.rule)
	}
	authorize := func(resourceURI string) error { return mm.Authorize(chains, resourceURI) }
	return auth.Step{Done: true, Result: auth.Result{Principal: mt.name, User: u, Mechanism: MechanismName, Authorize: authorize}}, nil
}

// Authorize is the second half of certificate mapping, run once the
// request's resource URI is known: chains are the connection's
// tls.ConnectionState.VerifiedChains. It returns nil when the mapping for
// resourceURI exists and names the same account the request was
// authenticated as; otherwise an error wrapping [ErrNoMapping], which
// the caller answers with wsman:AccessDenied. A rule limited to some URIs
// therefore restricts a certificate, and a URI-specific rule naming
// another account than the certificate's authentication-time mapping
// denies that URI rather than switching accounts mid-request.
func (mm *Mechanism) Authorize(chains [][]*x509.Certificate, resourceURI string) error {
	if mm.mapper == nil {
		return fmt.Errorf("%w: no mapper", ErrNoMapping)
	}
	got, err := mm.mapper.mapChains(chains, resourceURI)
	if err != nil {
		return err
	}
	authn, err := mm.mapper.identify(chains)
	if err != nil {
		return err
	}
	if got.user != authn.user {
		return fmt.Errorf("%w: rule %d maps this resource URI to another account than the one authenticated (rule %d)",
			ErrNoMapping, got.rule, authn.rule)
	}
	return nil
}
