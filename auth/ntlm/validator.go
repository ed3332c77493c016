package ntlm

import (
	"context"
	"crypto/hmac"
	"errors"
	"fmt"
	"strings"
)

// Validator checks an NTLMv2 response. The local store implementation,
// [HashValidator], computes NTOWFv2 from an NT hash; another can forward
// the response to a domain controller (for example through Samba
// winbind's ntlm_auth, helper protocol ntlm-server-1), which is why the
// interface sees the response and not a password.
type Validator interface {
	// Validate checks ntResponse (the whole NtChallengeResponse:
	// NTProofStr followed by the client blob) for user and domain, as the
	// client sent them, against serverChallenge. It returns the
	// SessionBaseKey and the account name to use (canonical spelling), or
	// an error wrapping ErrBadCredentials when the response does not
	// verify or the user is unknown. Other errors mean the account source
	// failed.
	Validate(ctx context.Context, user, domain string, serverChallenge [8]byte, ntResponse []byte) (sessionBaseKey [16]byte, account string, err error)
}

// HashValidator is a [Validator] over NT hashes (MD4 of the UTF-16LE
// password, see [NTHash]), for psremote's account store.
//
// NTOWFv2 mixes the domain into the key, and clients disagree on which
// domain they use: winrm-client computes with the domain upper-cased but
// sends it as typed, requests-ntlm upper-cases it, Azure/go-ntlmssp echoes
// the server's TargetName, and some clients compute with none (MS-NLMP
// 3.2.5.1.2 asks servers to accept that). HashValidator therefore tries
// the domain as sent, upper-cased, and empty, and compares in constant
// time. The account returned is the user name as the client sent it.
type HashValidator struct {
	// Lookup returns the NT hash for a user name (case-insensitive
	// matching is the store's business) or an error wrapping
	// ErrBadCredentials when the user is unknown.
	Lookup func(ctx context.Context, user string) (ntHash [16]byte, err error)
}

// Validate implements [Validator].
func (v HashValidator) Validate(ctx context.Context, user, domain string, serverChallenge [8]byte, ntResponse []byte) ([16]byte, string, error) {
	if v.Lookup == nil {
		return [16]byte{}, "", errors.New("ntlm: HashValidator has no Lookup")
	}
	if len(ntResponse) < minNTLMv2Response {
		return [16]byte{}, "", fmt.Errorf("%w: NTLMv2 response of %d bytes", ErrMalformed, len(ntResponse))
	}
	if err := ctx.Err(); err != nil {
		return [16]byte{}, "", err
	}
	ntHash, err := v.Lookup(ctx, user)
	if err != nil {
		return [16]byte{}, "", fmt.Errorf("ntlm: looking up %q: %w", user, err)
	}
	proof, blob := [16]byte(ntResponse[:16]), ntResponse[16:]
	candidates := [3]string{domain, strings.ToUpper(domain), ""}
	for i, d := range candidates {
		if i > 0 && (d == candidates[0] || (i == 2 && d == candidates[1])) {
			continue // already tried
		}
		key := ntowfv2(ntHash, user, d)
		want := ntProof(key, serverChallenge, blob)
		if hmac.Equal(want[:], proof[:]) {
			return hmacMD5(key[:], proof[:]), user, nil
		}
	}
	return [16]byte{}, "", fmt.Errorf("%w: NTLMv2 response does not verify for %q", ErrBadCredentials, user)
}
