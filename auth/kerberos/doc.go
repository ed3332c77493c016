// Package kerberos implements the Kerberos V5 GSS-API mechanism as WinRM
// uses it: an acceptor that verifies a client's AP-REQ against a keytab
// and answers with an AP-REP, an initiator that obtains a service ticket
// and authenticates to a server, and the per-message encryption of
// winrm-protocol.md section 9.5 for both roles. A PrincipalMap turns an
// authenticated principal into a local user name.
//
// The tokens seen here are raw Kerberos GSS tokens: pywinrm sends them
// directly in "Authorization: Negotiate"; curl, gokrb5 and Windows wrap
// them in SPNEGO, which another package removes.
//
// # Specifications
//
//   - RFC 4120 section 3.2 (client/server exchange) and 5.5.1, 5.5.2:
//     KRB_AP_REQ, the authenticator, KRB_AP_REP and EncAPRepPart, with key
//     usages 2 (ticket), 11 (authenticator) and 12 (EncAPRepPart); section
//     3.2.3's checks (ticket times, client name, clock skew, replay cache).
//   - RFC 4121 section 4.1: context tokens framed by RFC 2743 section 3.1
//     (0x60, OID 1.2.840.113554.1.2.2, TOK_ID 01 00 / 02 00 / 03 00) and
//     the 0x8003 authenticator checksum (Lgth, Bnd, Flags); section 2 and
//     4.2.6.2: wrap tokens (TOK_ID 05 04; flags SentByAcceptor, Sealed,
//     AcceptorSubkey; EC; RRC; 64-bit sequence numbers) with key usages 22
//     and 24, and the rotation of section 4.2.5.
//   - RFC 3961, RFC 3962 and RFC 8009: encryption types, through gokrb5's
//     crypto package.
//   - RFC 5929 and RFC 2744 section 3.11 channel bindings, through package
//     auth/cbt, checked per WinRM's CbtHardeningLevel (MS-WSMV 3.1.4.1.5).
//   - MS-KILE section 3.4.5.4.1: Windows' wrap-token layout (EC = 16, data
//     rotated by RRC + EC although RRC is 28), which UnwrapWinRM accepts
//     besides the RFC 4121 reading (rotation = RRC). MIT krb5 1.20 outside
//     DCE style accepts only RRC = 16 + h + EC with a rotation of RRC; no
//     Windows capture was available to settle what Windows sends to WinRM
//     clients, so both are taken.
//
// # Message encryption layout
//
// WrapWinRM emits exactly what MIT krb5's gss_wrap_iov with HEADER, DATA
// and PADDING buffers emits for AES (pyspnego's wrap_winrm, used by
// pywinrm and pypsrp; Windows accepts it): EC = 0, RRC = 16 + h where h is
// the checksum size (RRC = 28 and a 60-byte header for the AES-SHA1
// types), and a ciphertext as long as the plaintext. See
// [Context.WrapWinRM]. The acceptor sends an acceptor subkey of the
// session key's type in the AP-REP whenever the client asked for mutual
// authentication, as Windows and MIT krb5 do, so both directions are
// protected with a key only this context knows; sequence numbers start
// from the authenticator's (initiator) and the AP-REP's (acceptor).
// RC4 and DES3 session keys authenticate but cannot wrap (their RFC 4757
// and RFC 1964 token formats are not implemented).
//
// # What gokrb5 does and does not do here
//
// gokrb5 parses AP-REQs, tickets, authenticators, keytabs and credential
// caches, implements the encryption types, and its client gets tickets
// from a credential cache, keytab or password. Written here instead:
// building the AP-REP (gokrb5 can only parse one), acceptor-side wrap
// tokens with confidentiality and the WinRM IOV layout (gokrb5's wrap
// token supports neither), the acceptor's checks (gokrb5's
// service.VerifyAPREQ uses a process-wide replay cache whose cleanup
// goroutine never exits, reads the wall clock directly, and rejects MIT
// 1.20's minimal PAC unless PAC decoding is turned off), and the
// channel-binding check, which gokrb5 does not do. Nothing here is global:
// each Acceptor owns a bounded replay cache and its clock.
package kerberos
