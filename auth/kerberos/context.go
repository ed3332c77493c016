package kerberos

import (
	"crypto/rand"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/jcmturner/gokrb5/v8/types"
)

// Context is an established Kerberos security context: the authenticated
// client's name and the keys and sequence numbers that protect WinRM
// messages (WrapWinRM, UnwrapWinRM). Its methods are safe for concurrent
// use; messages in one direction must still be wrapped and unwrapped in
// the order they travel.
type Context struct {
	initiator bool     // true on the client side
	cname     []string // client principal name components
	crealm    string
	expiry    time.Time // ticket end time
	flags     uint32    // GSS flags the initiator asked for

	session    types.EncryptionKey  // ticket session key
	initSubkey *types.EncryptionKey // from the authenticator, if sent
	accSubkey  *types.EncryptionKey // from the AP-REP, if sent
	rand       io.Reader            // confounders

	// mu protects the sequence numbers.
	mu      sync.Mutex
	sendSeq uint64
	recvSeq uint64
}

// Principal returns the authenticated client as "name@REALM", with the
// components of a multi-component name joined by "/".
func (c *Context) Principal() string { return c.ClientName() + "@" + c.crealm }

// ClientName returns the client principal name without the realm.
func (c *Context) ClientName() string { return strings.Join(c.cname, "/") }

// Realm returns the client's realm.
func (c *Context) Realm() string { return c.crealm }

// Expiry returns the end time of the service ticket on the acceptor side
// (the context should not be used after it) and the zero time on the
// initiator side.
func (c *Context) Expiry() time.Time { return c.expiry }

// MutualAuth reports whether the initiator asked for mutual
// authentication (and so processed the AP-REP's acceptor subkey and
// sequence number).
func (c *Context) MutualAuth() bool { return c.flags&flagMutual != 0 }

// randReader returns c's source of randomness.
func (c *Context) randReader() io.Reader {
	if c.rand != nil {
		return c.rand
	}
	return rand.Reader
}
