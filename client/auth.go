package client

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/psremote/psremote/client/trust"
)

// Auth is how a [Client] authenticates: set [Config.Auth] to the value of
// one of [Basic], [NTLM], [Kerberos], [Negotiate], [Certificate] or
// [Auto]. The interface is sealed; other packages cannot implement it.
//
// Basic and Certificate send one Authorization header with every request.
// NTLM, Kerberos and Negotiate authenticate each TCP connection once, as
// Windows does: a new connection first runs the handshake on an empty
// POST (401 legs with "Authorization: Negotiate <token>"), later requests
// on it carry no Authorization, and on plain HTTP every SOAP body is
// sealed with the connection's security context (MS-WSMV 2.2.9.1). On
// HTTPS the handshake carries channel bindings (RFC 5929
// tls-server-end-point) of the certificate the connection saw, and there
// is no message encryption: TLS protects the messages.
type Auth interface {
	// String names the method: "Basic", "NTLM", "Kerberos", "Negotiate",
	// "Certificate" or "Auto".
	String() string

	// newMechanism returns the method's state for one client; host is
	// the endpoint's host name and https whether it uses TLS.
	newMechanism(host string, https bool, cfg *Config) (mechanism, error)
}

// authHeaderCertificate is the Authorization value of WinRM certificate
// authentication (winrm-protocol.md 9.3; pywinrm and pypsrp send it).
const authHeaderCertificate = "http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/https/mutual"

// Basic returns HTTP Basic authentication with user and password, sent
// with every request. On plain HTTP the password and every message travel
// in clear text; the library sends them as told (the psremote command
// refuses unless the host is in TrustedHosts and AllowUnencrypted is set,
// as the Windows client does). Windows accepts Basic only for local
// accounts, and only when its service enables it.
func Basic(user, password string) Auth { return basicAuth{user: user, password: password} }

type basicAuth struct{ user, password string }

func (basicAuth) String() string { return "Basic" }

func (a basicAuth) newMechanism(string, bool, *Config) (mechanism, error) {
	if a.user == "" {
		return nil, errors.New("client: Basic authentication needs a user name")
	}
	if strings.ContainsAny(a.user, ":\r\n") || strings.ContainsAny(a.password, "\r\n") {
		return nil, errors.New("client: Basic user names cannot contain ':' and credentials cannot contain line breaks")
	}
	return headerMechanism("Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(a.user+":"+a.password))), nil
}

// Certificate returns WinRM client-certificate authentication: the TLS
// handshake presents cert (with its private key), and every request
// carries the Authorization value of the https/mutual security profile.
// The server maps the certificate to an account (WinRM's certmapping). It
// needs an https endpoint. cert is added to a copy of Config.TLSConfig.
func Certificate(cert tls.Certificate) Auth { return certAuth{cert: cert} }

type certAuth struct{ cert tls.Certificate }

func (certAuth) String() string { return "Certificate" }

func (a certAuth) newMechanism(_ string, https bool, _ *Config) (mechanism, error) {
	if !https {
		return nil, errors.New("client: certificate authentication needs an https endpoint")
	}
	if len(a.cert.Certificate) == 0 || a.cert.PrivateKey == nil {
		return nil, errors.New("client: certificate authentication needs a certificate with its private key")
	}
	return headerMechanism("Authorization: " + authHeaderCertificate), nil
}

// NTLM returns NTLMv2 authentication with user and password, in the
// Negotiate HTTP scheme (raw NTLMSSP tokens, as pywinrm, masterzen/winrm
// and Windows' own fallback send them). user is "DOMAIN\user",
// "user@domain" (sent as the user name with an empty domain, as Windows
// does) or "user" (a local account of the server). The password is
// reduced to its NT hash when a connection authenticates; it never
// appears in errors.
//
// NTLM does not prove the server's identity: over plain HTTP it is sent
// only to hosts that match [Config.TrustedHosts], else New fails with an
// [*UntrustedHostError] (the Windows rule; the SOAP traffic is still
// sealed). Over HTTPS the server is proven by its certificate and the
// handshake carries channel bindings.
func NTLM(user, password string) Auth { return ntlmAuth{user: user, password: password} }

// KerberosOptions configure [Kerberos] and the Kerberos part of
// [Negotiate]. Credentials are, in this order: Password, Keytab, else the
// credential cache. No system Kerberos library is used.
type KerberosOptions struct {
	// SPN is the server's service principal, "HTTP/host" or "WSMAN/host"
	// ("HTTP@host" is accepted too); default "HTTP/<endpoint host>", as
	// Windows clients use.
	SPN string
	// CCache is the credential cache file (a "FILE:" prefix is allowed)
	// holding a ticket-granting ticket, as kinit leaves it; default
	// $KRB5CCNAME, else /tmp/krb5cc_<uid>.
	CCache string
	// Principal is the client principal for a Password or Keytab login:
	// "user@REALM", or "user" in krb5.conf's default realm.
	Principal string
	// Password logs Principal in (an AS exchange) instead of using the
	// credential cache.
	Password string
	// Keytab is a client keytab file that logs Principal in.
	Keytab string
	// Krb5Conf is the krb5.conf to read (realms, KDCs, default realm);
	// default the first existing file of $KRB5_CONFIG, else
	// /etc/krb5.conf.
	Krb5Conf string
}

// Kerberos returns Kerberos V5 authentication in the Negotiate HTTP
// scheme (a raw GSS-API Kerberos token, as pywinrm sends it). The client
// obtains a service ticket for opts.SPN once and authenticates each new
// connection with it. Mutual authentication is required: the server's
// AP-REP in the final WWW-Authenticate header must verify, or the reply
// is discarded. Kerberos proves the server's identity, so it goes over
// plain HTTP to any host, with every message sealed.
func Kerberos(opts KerberosOptions) Auth { return kerberosAuth{opts: opts} }

// Negotiate returns Windows' default method: Kerberos when a ticket can be
// obtained, else NTLM with user and password.
//
// Kerberos uses, in this order: krb.Password or krb.Keytab when set (for
// krb.Principal, or else the principal derived from user); then, when
// password is set and user names a realm ("user@REALM" or
// "DOMAIN\user"), a login as that principal with password; and when
// password is empty, the credential cache. A plain "user" with a password
// is a local account of the server and goes straight to NTLM, as on
// Windows.
//
// The fall-back to NTLM happens when no service ticket can be obtained
// (no credential cache, no krb5.conf, KDC unreachable, unknown SPN), not
// when the server refuses a ticket; it needs user and password, and over
// plain HTTP a host in [Config.TrustedHosts] (else the connection fails
// with an [*UntrustedHostError]). The choice is made on the first
// connection and kept for the life of the Client.
func Negotiate(user, password string, krb KerberosOptions) Auth {
	return negotiateAuth{user: user, password: password, krb: krb}
}

// Auto returns the psremote command's default method: [Negotiate] with
// user, password and krb, except that a server whose 401 offers Basic and
// not Negotiate (a psremote server with Basic only, say) is answered with
// [Basic] with user and password, provided Basic may go there: over
// HTTPS, or over plain HTTP when [Config.AllowUnencrypted] is set and the
// host matches [Config.TrustedHosts]. The switch happens once, on the
// first connection, and only on that signal: a server that offers
// Negotiate and refuses the login is not sent the password in Basic.
func Auto(user, password string, krb KerberosOptions) Auth {
	return autoAuth{neg: negotiateAuth{user: user, password: password, krb: krb}}
}

// UntrustedHostError is returned when NTLM credentials (chosen with
// [NTLM], or [Negotiate]'s fall-back) would go over plain HTTP to a host
// that does not match [Config.TrustedHosts]: NTLM cannot prove who the
// server is, so a man in the middle could relay the login. It unwraps to
// trust.ErrNotTrustedHost.
type UntrustedHostError struct {
	// Host is the endpoint's host.
	Host string
	// Mechanism is "NTLM" or "Negotiate".
	Mechanism string
	// Cause, for Negotiate, is why Kerberos could not be used.
	Cause error
}

// Error names the host, the rule and the ways out.
func (e *UntrustedHostError) Error() string {
	what := "NTLM"
	if e.Mechanism == "Negotiate" {
		what = "Negotiate's fall-back to NTLM"
		if e.Cause != nil {
			what += " (Kerberos: " + e.Cause.Error() + ")"
		}
	}
	return fmt.Sprintf("client: refusing %s to %s over plain HTTP: NTLM does not prove the server's identity, and %s is not in TrustedHosts; add it to TrustedHosts, connect over HTTPS, or use Kerberos",
		what, e.Host, e.Host)
}

// Unwrap returns trust.ErrNotTrustedHost.
func (e *UntrustedHostError) Unwrap() error { return trust.ErrNotTrustedHost }

// permitNTLM checks the TrustedHosts rule for NTLM over plain HTTP.
func permitNTLM(cfg *Config, host string, https bool, mech string, cause error) error {
	if https {
		return nil
	}
	th, err := trust.ParseTrustedHosts(cfg.TrustedHosts)
	if err != nil {
		return fmt.Errorf("client: Config.TrustedHosts: %w", err)
	}
	if th.Match(host) {
		return nil
	}
	return &UntrustedHostError{Host: host, Mechanism: mech, Cause: cause}
}

// mechanism is an authentication method's state inside one Client,
// shared by its connections.
type mechanism interface {
	// header returns the Authorization header line sent with every
	// request, or "" for a connection-oriented mechanism.
	header() string
	// begin starts the authentication of a new connection. bindings is
	// the TLS channel's application data (cbt.TLSServerEndPoint of the
	// certificate the connection saw), nil on plain HTTP.
	begin(ctx context.Context, bindings []byte) (handshake, error)
}

// headerMechanism sends a fixed Authorization header.
type headerMechanism string

func (h headerMechanism) header() string { return string(h) }

func (h headerMechanism) begin(context.Context, []byte) (handshake, error) {
	return nil, errors.New("client: internal error: no handshake for a header mechanism")
}
