// Package throttle slows down failed logins without locking legitimate
// users out.
//
// WinRM itself has no such mechanism (Windows relies on the account
// lockout policy, which lets an attacker lock any account out from
// anywhere); this package implements the psremote issue "Failed logins
// are slowed per source address and per account name with growing
// delays; a legitimate user from another address is not locked out". It
// implements no wire protocol.
//
// # Use
//
// Before checking credentials the listener calls [Limiter.Wait] with the
// client address and the claimed account name, then reports the outcome
// with [Limiter.Failure] or [Limiter.Success]. Nothing is ever refused
// outright by the counters: an attempt is only held before it is
// answered. The single exception is an address that already has more than
// Config.Max of held attempts queued, whose further attempts get
// [ErrThrottled] at once (the caller answers 401 without checking them).
//
// # Counters
//
// Three kinds of counter record recent failures, each a score that grows
// by one per failure and decays exponentially with a half-life of
// Config.Window (a failure counts 1 when it happens, 1/2 one Window
// later, 1/4 after two):
//
//   - per source address: an IPv4 address, or the /64 prefix of an IPv6
//     address (one host's whole SLAAC range; IPv4-mapped IPv6 addresses
//     count as IPv4, zones are ignored);
//   - per account name (case-folded, hashed with a per-Limiter seed);
//   - per (address, account) pair.
//
// # Delay
//
// With n = floor(score) - Config.Free, a score gives no delay while n <= 0
// and Base·2^(n-1) beyond, capped at Config.Max: with the defaults (Free
// 5, Base 1 s, Max 30 s) the 6th to 10th failures from an address cost 1,
// 2, 4, 8 and 16 s on the next attempt, and every later one 30 s.
//
// An attempt is held for the larger of
//
//   - the address's delay, whatever account it tries; and
//   - when the account itself is under attack (its own score beyond
//     Free): for an address that has failed for this account, the
//     account's delay but at most Base·2^(p-1) for its own p failures on
//     the account (so it loses its free attempts on that account); for
//     any other address, at most Config.AccountMax (default Base).
//
// An attacker hammering "root" from one address therefore waits up to
// Max per attempt, a botnet spraying "root" from many addresses gets no
// free attempts on it, and the real root logging in from elsewhere waits
// at most AccountMax (one second by default), and Base after a typo.
//
// A success clears the address's pair counter for that account and takes
// the same amount off the address and account counters, so a user's own
// typos are forgiven once they log in, but succeeding on one account
// forgives nothing on another.
//
// # Limits
//
// At most Config.MaxEntries counters are kept (all kinds together, about
// 150 bytes each); when full, the least recently updated one is dropped.
// Decay is computed lazily on access, so the Limiter owns no goroutine
// and needs no Close. Scores are capped at Free+40, beyond which the
// delay is Max anyway, so with the defaults an address's delays end
// within three Windows of its attack stopping.
//
// Addresses behind one NAT share a counter; an attacker there slows its
// neighbours down (never more than Max per attempt).
package throttle
