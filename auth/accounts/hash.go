package accounts

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/crypto/argon2"
)

// hashParams are the argon2id cost parameters of one hash.
type hashParams struct {
	memory  uint32 // KiB
	time    uint32 // passes
	threads uint8  // lanes
	saltLen int    // bytes
	keyLen  int    // bytes
}

// defaultParams follow the OWASP Password Storage Cheat Sheet's first
// argon2id choice: 19 MiB, 2 passes, 1 lane.
var defaultParams = hashParams{memory: 19 * 1024, time: 2, threads: 1, saltLen: 16, keyLen: 32}

// Bounds on the parameters accepted from a store file, so that a damaged
// or hostile entry cannot make one verification allocate gigabytes or
// run for minutes.
const (
	maxMemoryKiB = 1 << 20 // 1 GiB
	maxTime      = 64
	minSaltLen   = 8
	maxSaltLen   = 64
	minKeyLen    = 16
	maxKeyLen    = 64
)

const phcPrefix = "$argon2id$"

var b64 = base64.RawStdEncoding

// errBadHash reports a hash field that is not a usable argon2id PHC string.
var errBadHash = errors.New("not an argon2id PHC string")

// phcHash is a parsed argon2id PHC string:
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>
//
// with salt and key in unpadded standard base64.
type phcHash struct {
	params hashParams
	salt   []byte
	key    []byte
}

// newHash returns a fresh salted argon2id hash of password.
func newHash(password string, p hashParams) phcHash {
	salt := make([]byte, p.saltLen)
	rand.Read(salt) // never fails (crypto/rand docs)
	return phcHash{params: p, salt: salt, key: derive(password, salt, p)}
}

func derive(password string, salt []byte, p hashParams) []byte {
	return argon2.IDKey([]byte(password), salt, p.time, p.memory, p.threads, uint32(p.keyLen))
}

// String encodes h in PHC form.
func (h phcHash) String() string {
	return fmt.Sprintf("%sv=%d$m=%d,t=%d,p=%d$%s$%s", phcPrefix, argon2.Version,
		h.params.memory, h.params.time, h.params.threads,
		b64.EncodeToString(h.salt), b64.EncodeToString(h.key))
}

// parsePHC decodes and bounds-checks an argon2id PHC string.
func parsePHC(s string) (phcHash, error) {
	var h phcHash
	rest, ok := strings.CutPrefix(s, phcPrefix)
	if !ok {
		return h, errBadHash
	}
	parts := strings.Split(rest, "$")
	if len(parts) != 4 {
		return h, errBadHash
	}
	if parts[0] != "v="+strconv.Itoa(argon2.Version) {
		return h, fmt.Errorf("%w: unsupported version %q", errBadHash, parts[0])
	}
	var m, t, p uint64
	ps := strings.Split(parts[1], ",")
	if len(ps) != 3 {
		return h, fmt.Errorf("%w: parameters %q", errBadHash, parts[1])
	}
	for i, dst := range []*uint64{&m, &t, &p} {
		name := "mtp"[i : i+1]
		v, ok := strings.CutPrefix(ps[i], name+"=")
		if !ok {
			return h, fmt.Errorf("%w: parameters %q", errBadHash, parts[1])
		}
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return h, fmt.Errorf("%w: parameter %s: %v", errBadHash, name, err)
		}
		*dst = n
	}
	if p < 1 || p > 255 || t < 1 || t > maxTime || m < 8*p || m > maxMemoryKiB {
		return h, fmt.Errorf("%w: parameters %q out of range", errBadHash, parts[1])
	}
	salt, err := b64.DecodeString(parts[2])
	if err != nil || len(salt) < minSaltLen || len(salt) > maxSaltLen {
		return h, fmt.Errorf("%w: bad salt", errBadHash)
	}
	key, err := b64.DecodeString(parts[3])
	if err != nil || len(key) < minKeyLen || len(key) > maxKeyLen {
		return h, fmt.Errorf("%w: bad key", errBadHash)
	}
	h.params = hashParams{memory: uint32(m), time: uint32(t), threads: uint8(p),
		saltLen: len(salt), keyLen: len(key)}
	h.salt, h.key = salt, key
	return h, nil
}

// verify reports whether password matches h, comparing in constant time.
func (h phcHash) verify(password string) bool {
	got := derive(password, h.salt, h.params)
	return subtle.ConstantTimeCompare(got, h.key) == 1
}

// dummyHashes caches, per parameter set, a hash of a random password.
// Verifying against it costs the same as verifying a real entry, so the
// time taken does not reveal whether an account exists.
var dummyHashes sync.Map // hashParams -> phcHash

func dummyHash(p hashParams) phcHash {
	if h, ok := dummyHashes.Load(p); ok {
		return h.(phcHash)
	}
	v, _ := dummyHashes.LoadOrStore(p, newHash(rand.Text(), p))
	return v.(phcHash)
}
