// Package identity holds the resolved local account a request acts as.
//
// It implements no wire protocol. It exists so that authentication,
// authorization, the shell engine and the process host agree on one type
// whose zero value grants nothing (see the brief's rule that an identity's
// zero value must never mean root).
//
// The zero value of [User] is deliberately unusable: it is not root, it is
// nothing. Every consumer that acts on an identity (the process host, the
// authorizer) must call [User.Valid] and refuse an invalid one, so a
// forgotten initialisation can never turn into uid 0.
package identity
