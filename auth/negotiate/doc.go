// Package negotiate implements the server side of the HTTP "Negotiate" and
// "Kerberos" authentication schemes as a WinRM service speaks them: NTLM
// and Kerberos, raw or wrapped in SPNEGO, with the security context kept
// per TCP connection for message encryption.
//
// A Negotiate token (RFC 4559) is told apart by spnego.Classify and handled
// as follows:
//
//   - Raw NTLMSSP (pywinrm, masterzen/winrm, winrm-client): a NEGOTIATE
//     starts a fresh NTLM context, even on a connection that is already
//     authenticated, and is answered with the CHALLENGE in a 401; the
//     AUTHENTICATE finishes it.
//   - A raw Kerberos GSS token (pywinrm's kerberos transport, which requires
//     mutual authentication): the AP-REQ is verified and the AP-REP goes back
//     raw in "WWW-Authenticate: Negotiate <token>" with the response.
//   - SPNEGO NegTokenInit (curl, gokrb5, Windows): the acceptor picks the
//     first mechanism in the initiator's list it supports (Kerberos when a
//     keytab is configured, NTLM when an account source is), uses the
//     optimistic token when it is for that mechanism, and answers with a
//     NegTokenResp: accept-incomplete (or request-mic when the pick was not
//     the initiator's first choice) with supportedMech and the NTLM
//     CHALLENGE, or accept-completed with the Kerberos AP-REP.
//   - SPNEGO NegTokenResp: the next NTLM message (NEGOTIATE after a
//     mechanism switch, then AUTHENTICATE) or the Kerberos AP-REQ.
//
// The "Kerberos" scheme takes Kerberos tokens only (raw, or SPNEGO offering
// Kerberos) and answers in the same scheme; WinRM clients that use it
// encrypt with the HTTP-Kerberos-session-encrypted protocol.
//
// # mechListMIC
//
// When the initiator sends a mechListMIC with its NTLM AUTHENTICATE (RFC
// 4178 section 5, MS-SPNG 3.3.5.1), the acceptor verifies it over the DER
// MechTypeList the initiator sent, then signs its own mechListMIC over the
// same bytes and returns it with accept-completed. Each MIC takes a
// sequence number in its direction, and after each one the NTLM RC4 state
// of that direction is reset to its state at the end of authentication,
// so that the first sealed message starts from a fresh key stream with
// sequence number 1 (MS-SPNG 3.1.5.1, as Windows, gss-ntlmssp and
// pyspnego do). A mechListMIC the initiator omits although the acceptor
// asked for it (request-mic) is not insisted on: the acceptor picks
// Kerberos whenever the initiator offers it before NTLM and a keytab is
// configured, so there is no weaker choice to be downgraded to.
//
// Kerberos mechListMICs are not implemented (auth/kerberos has no
// GSS_GetMIC): a Kerberos token that comes with one is refused, and none
// is asked for. Clients list Kerberos first and send no MIC with its
// optimistic token; a Windows client that lists NEGOEX first would expect
// one, which is a known gap.
//
// # Accounts and identities
//
// NTLM responses are checked by the configured sources in order (the
// psremote account store through [StoreSource]; an Active Directory source
// through Samba winbind can be added as another [NTLMSource]). The user
// name may arrive as "user", "DOMAIN\user" (the domain travels in its own
// field), "user@domain" or ".\user"; the store is searched for the part
// before any '@'. The throttling gate of auth.Request is called with that
// name right before the response is verified. Kerberos principals are
// mapped to local user names by a kerberos.PrincipalMap; no gate is
// needed, since a ticket cannot be guessed.
//
// Every established context is stored in the connection's auth.ConnState
// with its Wrapper (the NTLM session when sealing was negotiated, the
// Kerberos context) and the encryption protocols a request may use with it.
//
// References:
//   - RFC 4559: SPNEGO-based Kerberos and NTLM HTTP authentication.
//   - RFC 4178 sections 3 to 5: SPNEGO negotiation and the mechListMIC.
//   - MS-SPNG 3.1.5.1 (NTLM RC4 key state for the mechListMIC) and 3.2.5.2
//     (the Microsoft Kerberos OID).
//   - MS-NLMP 3.2.5 (server NTLM processing), through package auth/ntlm.
//   - RFC 4121 section 4.1 and RFC 4120 section 3.2, through package
//     auth/kerberos.
//   - MS-WSMV 2.2.9.1 (encryption protocols) and 3.1.4.1.5 with RFC 5929
//     (channel binding, CbtHardeningLevel).
package negotiate
