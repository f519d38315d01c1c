package server

import (
	"crypto/subtle"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/keelhq/keel/server/opts"
)

// authRequired reports whether clients must authenticate: Keel supports
// the simple kinds for now, one user/password or one token.
func authRequired(o *opts.Options) bool {
	return o.Username != "" || o.Authorization != ""
}

// credentials is what a client authenticated with, kept so a reload can
// check it again.
type credentials struct {
	user, pass, token string
}

// checkAuth validates the credentials of c's CONNECT against o and
// remembers them.
func (s *Server) checkAuth(c *client, o *opts.Options) bool {
	co := &c.copts
	if co.Account != "" || co.NewAccount {
		// Account designation in CONNECT is refused, as in the reference.
		return false
	}
	creds := credentials{user: co.User, pass: co.Pass, token: co.Token}
	c.mu.Lock()
	c.creds = creds
	c.mu.Unlock()
	return credsValid(creds, o)
}

func credsValid(cr credentials, o *opts.Options) bool {
	switch {
	case o.Authorization != "":
		return comparePassword(o.Authorization, cr.token)
	case o.Username != "":
		return cr.user == o.Username && comparePassword(o.Password, cr.pass)
	}
	return true
}

// comparePassword accepts a bcrypt hash (as the reference does for
// passwords and tokens starting with "$2") or a plain secret, compared in
// constant time.
func comparePassword(want, got string) bool {
	if isBcrypt(want) {
		return bcrypt.CompareHashAndPassword([]byte(want), []byte(got)) == nil
	}
	return subtle.ConstantTimeCompare([]byte(want), []byte(got)) == 1
}

// authViolation answers a failed authentication and closes.
func (c *client) authViolation() {
	if c.copts.User != "" {
		c.Errorf("authentication error - User %q", c.copts.User)
	} else {
		c.Errorf("authentication error")
	}
	c.sendErr(errAuthViolation)
	c.closeConnection(AuthenticationViolation, true)
}

// setAuthTimer closes the client if no valid CONNECT arrives in time.
func (c *client) setAuthTimer(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.authTimer = time.AfterFunc(d, func() {
		c.sendErr(errAuthTimeout)
		c.Debugf("%s", errAuthTimeout)
		c.closeConnection(AuthenticationTimeout, true)
	})
}

// isBcrypt reports whether a configured secret is a bcrypt hash.
func isBcrypt(secret string) bool {
	return strings.HasPrefix(secret, "$2a$") || strings.HasPrefix(secret, "$2b$") || strings.HasPrefix(secret, "$2y$")
}
