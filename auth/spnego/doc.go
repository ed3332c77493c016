// Package spnego encodes and decodes the tokens of the Simple and
// Protected GSS-API Negotiation Mechanism as they travel in HTTP
// "Authorization: Negotiate" and "WWW-Authenticate: Negotiate" headers
// (RFC 4559). It is a codec only: choosing a mechanism, computing or
// checking a mechListMIC and running NTLM or Kerberos belong to the
// callers.
//
// A Negotiate token is one of four things, told apart by [Classify]:
//   - a raw NTLMSSP message (pywinrm, masterzen/winrm, winrm-client);
//   - a raw Kerberos GSS-API token, an RFC 2743 section 3.1
//     InitialContextToken with the Kerberos V5 OID (pywinrm's kerberos
//     transport), handled with [WrapGSS], [UnwrapGSS] and [UnwrapKerberos];
//   - an SPNEGO NegTokenInit (RFC 4178 section 4.2.1) in the same GSS-API
//     framing with the SPNEGO OID, the first token of curl, gokrb5 and
//     Windows, decoded by [ParseInit]; the NegTokenInit2 of MS-SPNG 2.2.1
//     (with negHints, as Windows servers announce themselves) is accepted
//     too;
//   - an SPNEGO NegTokenResp (RFC 4178 section 4.2.2), the [1]-tagged
//     continuation token without GSS-API framing, decoded by [ParseResp]
//     and produced by [NegTokenResp.Marshal] for the server's replies.
//
// Bounds: a token is at most [MaxTokenSize] bytes and a mechanism list at
// most [MaxMechTypes] entries. The decoder follows the fixed structure of
// the ASN.1 definitions without recursion (at most seven TLV levels deep),
// accepts only definite lengths of at most four octets that lie inside
// their parent (long forms need not be minimal), and rejects trailing
// bytes, unknown, out-of-order and repeated fields. Malformed input yields
// an error wrapping [ErrMalformed] or [ErrTooLarge], never a panic.
//
// References:
//   - RFC 4178: The Simple and Protected GSS-API Negotiation Mechanism,
//     sections 4.1 (MechType, MechTypeList, ContextFlags), 4.2 and 5.
//   - RFC 2743 section 3.1: mechanism-independent token format.
//   - RFC 1964 section 1.1 and RFC 4121 section 4.1: Kerberos TOK_ID.
//   - [MS-SPNG] 2.2.1 (NegTokenInit2, negHints) and 3.2.5.2 (the
//     Microsoft Kerberos OID 1.2.840.48018.1.2.2).
//   - RFC 4559 section 4: SPNEGO tokens in HTTP headers.
//
// [MS-SPNG]: https://learn.microsoft.com/en-us/openspecs/windows_protocols/ms-spng/
package spnego
