package sip

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strings"
	"time"
)

// Digest algorithms a registrar may offer (RFC 8760 adds SHA-256 to SIP).
const (
	AlgorithmMD5    = "MD5"
	AlgorithmSHA256 = "SHA-256"
)

// ValidAlgorithm reports whether name is a digest algorithm kcc implements.
func ValidAlgorithm(name string) bool {
	return name == AlgorithmMD5 || name == AlgorithmSHA256
}

func newHash(alg string) hash.Hash {
	if alg == AlgorithmSHA256 {
		return sha256.New()
	}
	return md5.New()
}

func hexDigest(alg string, parts ...string) string {
	h := newHash(alg)
	h.Write([]byte(strings.Join(parts, ":")))
	return hex.EncodeToString(h.Sum(nil))
}

// credentials is a parsed Authorization header (RFC 3261 §22.4, RFC 7616).
type credentials struct {
	username, realm, nonce, uri, response string
	algorithm, cnonce, qop, nc            string
}

var errBadCredentials = errors.New("malformed digest credentials")

// maxAuthHeader bounds the work spent on one Authorization header.
const maxAuthHeader = 2048

// parseCredentials parses `Digest k=v, k="v", ...`. It accepts the parameter
// order and quoting variations phones send and refuses anything else.
func parseCredentials(v string) (credentials, error) {
	var c credentials
	if len(v) > maxAuthHeader {
		return c, fmt.Errorf("%w: header too long", errBadCredentials)
	}
	scheme, rest, ok := strings.Cut(strings.TrimSpace(v), " ")
	if !ok || !strings.EqualFold(scheme, "Digest") {
		return c, fmt.Errorf("%w: scheme is not Digest", errBadCredentials)
	}
	for rest = strings.TrimSpace(rest); rest != ""; {
		key, after, ok := strings.Cut(rest, "=")
		if !ok {
			return c, fmt.Errorf("%w: parameter without value", errBadCredentials)
		}
		key = strings.ToLower(strings.TrimSpace(key))
		after = strings.TrimLeft(after, " \t")
		var val string
		if strings.HasPrefix(after, `"`) {
			end := strings.IndexByte(after[1:], '"')
			if end < 0 {
				return c, fmt.Errorf("%w: unterminated quote", errBadCredentials)
			}
			val, rest = after[1:1+end], after[2+end:]
		} else {
			val, rest, _ = strings.Cut(after, ",")
			val = strings.TrimSpace(val)
			rest = "," + rest
		}
		rest = strings.TrimLeft(rest, " \t")
		if rest != "" {
			if rest[0] != ',' {
				return c, fmt.Errorf("%w: missing comma after %s", errBadCredentials, key)
			}
			rest = strings.TrimLeft(rest[1:], " \t")
		}
		switch key {
		case "username":
			c.username = val
		case "realm":
			c.realm = val
		case "nonce":
			c.nonce = val
		case "uri":
			c.uri = val
		case "response":
			c.response = val
		case "algorithm":
			c.algorithm = val
		case "cnonce":
			c.cnonce = val
		case "qop":
			c.qop = val
		case "nc":
			c.nc = val
		}
	}
	if c.username == "" || c.nonce == "" || c.uri == "" || c.response == "" {
		return c, fmt.Errorf("%w: username, nonce, uri and response are required", errBadCredentials)
	}
	if c.algorithm == "" {
		c.algorithm = AlgorithmMD5
	}
	return c, nil
}

// expectedResponse computes the digest response for c with password (RFC 7616 §3.4.1).
func expectedResponse(c credentials, method, realm, password string) string {
	ha1 := hexDigest(c.algorithm, c.username, realm, password)
	ha2 := hexDigest(c.algorithm, method, c.uri)
	if c.qop == "auth" {
		return hexDigest(c.algorithm, ha1, c.nonce, c.nc, c.cnonce, c.qop, ha2)
	}
	return hexDigest(c.algorithm, ha1, c.nonce, ha2)
}

// nonces issues and checks stateless nonces: a timestamp and an HMAC over it,
// so the registrar keeps no memory per challenge (a REGISTER flood cannot grow
// it) and a nonce from another server or an old one is refused.
type nonces struct {
	key      []byte
	lifetime time.Duration
	now      func() time.Time
}

func (n nonces) issue() string {
	var ts [8]byte
	binary.BigEndian.PutUint64(ts[:], uint64(n.now().Unix()))
	return base64.RawURLEncoding.EncodeToString(append(ts[:], n.mac(ts[:])...))
}

func (n nonces) mac(ts []byte) []byte {
	m := hmac.New(sha256.New, n.key)
	m.Write(ts)
	return m.Sum(nil)[:16]
}

// check reports whether nonce is ours (valid) and whether it has expired (stale).
func (n nonces) check(nonce string) (valid, stale bool) {
	raw, err := base64.RawURLEncoding.DecodeString(nonce)
	if err != nil || len(raw) != 24 {
		return false, false
	}
	if subtle.ConstantTimeCompare(raw[8:], n.mac(raw[:8])) != 1 {
		return false, false
	}
	issued := time.Unix(int64(binary.BigEndian.Uint64(raw[:8])), 0)
	age := n.now().Sub(issued)
	return true, age > n.lifetime || age < -time.Minute
}

func challenge(realm, nonce, alg string, stale bool) string {
	s := fmt.Sprintf(`Digest realm="%s", nonce="%s", algorithm=%s, qop="auth"`, realm, nonce, alg)
	if stale {
		s += ", stale=true"
	}
	return s
}
