// Package certmap implements WinRM client-certificate authentication:
// the https/mutual security profile (DSP0226 Annex C.3.5) and the
// certificate mapping table that turns a verified client certificate into
// a local account.
//
// It implements MS-WSMV 3.1.4.1.35 (Certificate Mapping), the rule fields
// and patterns of MS-WSMV 2.2.4.3 (CertMappingType) and
// 3.1.4.1.29.3 (the .../config/service/certmapping resource), and the
// request shape of winrm-protocol.md 9.3 ("Certificate auth").
//
// # The request
//
// The client presents its certificate in the TLS handshake and sends the
// header "Authorization: http://schemas.dmtf.org/wbem/wsman/1/wsman/secprofile/https/mutual"
// ([AuthorizationURI]; the whole value is the URI, as pywinrm, pypsrp and
// masterzen/winrm send it). [Mechanism] adapts this to auth.Mechanism;
// it offers no 401 challenge, because WinRM lists none for certificates
// (winrm-protocol.md 9.1) and advertises the profile only in
// IdentifyResponse (MS-WSMV 3.1.4.1.23).
//
// # What is matched
//
// Subject patterns are matched against the client certificate's user
// principal name: the first otherName of type 1.3.6.1.4.1.311.20.2.3
// (szOID_NT_PRINCIPAL_NAME, shown by Windows as "Other Name: Principal
// Name=") in the subjectAltName extension. This is what Windows uses:
// guides to WinRM certificate authentication list a UPN in the
// subjectAltName and the Client Authentication extended key usage as the
// two requirements on a client certificate, and the Ansible guide
// creates mappings with Subject = cert.GetNameInfo('UpnName') (the
// first UPN, as CertGetNameString returns it). The subject DN, its common name
// and e-mail addresses are not consulted by Windows; a certificate without
// a UPN maps to nothing, not even to Subject "*". [Options] can add the
// first rfc822Name (e-mail) and then the common name as fallbacks, a
// psremote extension that is off by default.
//
// Subject patterns (MS-WSMV 2.2.4.3): at least one character, at most one
// "*", first or last: "*", "*@example.com", "alice@*", "alice@example.com"
// (3.1.4.1.29.3 allows the "*" only first; the wider 2.2.4.3 rule is
// kept, as a table written for Windows never uses the difference).
// URI patterns: at least one character, at most one "*", last; no white
// space, no "?". Both compare case-insensitively. Precedence counts the
// length of the configured pattern (with its "*") in UTF-16 code units, as
// Windows measures strings.
//
// # Which issuer
//
// MS-WSMV 2.2.4.3 says the Issuer thumbprint "MUST always identify the
// certificate used to sign the client certificate". The Ansible guide
// instead configures the last element of the chain Windows builds (the
// root), which coincides with the direct issuer for a CA-signed leaf and
// with the certificate itself for a self-signed one. psremote accepts
// both without changing what spec-conformant tables do: rules are first
// looked for among those naming the direct issuer; only when none of
// them matches the certificate and URI are rules naming the next CA up
// considered, and so on to the trust anchor. A self-signed client
// certificate trusted directly (a verified chain of length one) is its
// own issuer. Within the chosen level, MS-WSMV 3.1.4.1.35 applies: the
// longest Subject wins, then the longest URI; no match or a tie is
// [ErrNoMapping] (AccessDenied).
//
// # Authentication, then authorization
//
// The listener authenticates before it parses the SOAP envelope, so the
// resource URI is not known yet. [Mechanism.Accept] therefore maps with
// the empty URI, which only URI "*" rules match; when none applies but
// every rule matching the certificate (for some URI) names one account,
// that account is used. Once the URI is known the caller must call
// [Mechanism.Authorize], which maps again with the real URI and refuses
// (AccessDenied) when no rule applies to it or it maps to another
// account than the authenticated one: a URI-specific rule narrows what a
// certificate may reach, and never switches the account of a request.
//
// # Differences from Windows
//
// The mapping's Password is not used: psremote runs commands as the
// account by switching user ids, so UserName alone is kept (Windows keeps
// the password to log the account on). Chain verification (trust, expiry,
// Client Authentication usage) is crypto/tls's job, configured by the
// listener; Map assumes a verified chain. Go's verifier refuses a
// certificate whose only subjectAltName entries are otherNames if that
// extension is critical (as RFC 5280 requires for an empty subject DN),
// so client certificates need a subject DN, as Ansible's and Windows'
// own templates give them.
package certmap
