package opts

import (
	"strings"
	"time"

	"github.com/nats-io/nkeys"

	"github.com/keelhq/keel/server/conf"
	"github.com/keelhq/keel/server/sublist"
)

// Defaults of allow_responses, as nats-server has them.
const (
	defaultResponseMaxMsgs = 1
	defaultResponseExpires = 2 * time.Minute
)

// authorization decodes the top-level authorization block. One user with
// a password, or one token, is what Keel enforces today; everything else
// in the block is parsed and refused (see policy.go).
func (d *decoder) authorization(it item, o *Options) {
	var user, pass, token string
	var users []*User
	var nkeyUsers []*NkeyUser
	var defaults *Permissions
	var usersItem item
	fs := fields{
		"user":     d.setStr(&user),
		"username": d.setStr(&user),
		"pass":     d.setStr(&pass),
		"password": d.setStr(&pass),
		"token":    d.setStr(&token),
		"timeout": func(it item) {
			if t, ok := d.authTimeout(it); ok {
				o.AuthTimeout = t
			}
		},
		"users": func(it item) {
			usersItem = it
			nkeyUsers, users = d.users(it, false)
		},
		"proxy_required": func(it item) {
			if b, ok := d.boolean(it); ok && b {
				o.AuthProxyRequired = true
				d.unsupported(it, featProxyRequired)
			}
		},
		"auth_callout": func(it item) { o.AuthCallout = d.authCallout(it) },
		"auth_hook":    func(it item) { o.AuthCallout = d.authCallout(it) },
	}
	perms := func(it item) {
		defaults = d.permissions(it)
		d.unsupported(it, featPermissions)
	}
	fs["default_permission"], fs["default_permissions"], fs["permissions"] = perms, perms, perms
	if !d.block(it, fs) {
		return
	}
	switch {
	case (user != "" || pass != "") && token != "":
		d.errorf(it, "Cannot have a user/pass and token")
		return
	case pass != "" && user == "":
		// nats-server would run open here; Keel refuses.
		d.errorf(it, "a password needs a user: without one no authentication would be required")
		return
	case usersItem.v != nil && user != "":
		d.errorf(it, "Can not have a single user/pass and a users array")
		return
	case usersItem.v != nil && token != "":
		d.errorf(it, "Can not have a token and a users array")
		return
	}
	o.Username, o.Password, o.Authorization = user, pass, token
	applyDefaultPermissions(users, nkeyUsers, defaults)
	o.DefaultPermissions = defaults
	o.Users = append(o.Users, users...)
	o.Nkeys = append(o.Nkeys, nkeyUsers...)
	if len(users) > 0 {
		d.unsupported(usersItem, featUsers)
	}
	if len(nkeyUsers) > 0 {
		d.unsupported(usersItem, featNkeys)
	}
}

// authTimeout reads an authorization timeout and warns, as nats-server
// does, when it looks like an unquoted duration gone wrong.
func (d *decoder) authTimeout(it item) (time.Duration, bool) {
	t, ok := d.seconds(it)
	if ok && t > time.Minute {
		d.warnf(it, "invalid use of field %q: timeout of %v (%f seconds) is high, consider keeping it under 60 seconds. possibly caused by unquoted duration; use '1m' instead of 1m, for example",
			it.name(), it.v.Raw, t.Seconds())
	}
	return t, ok
}

func applyDefaultPermissions(users []*User, nkeyUsers []*NkeyUser, p *Permissions) {
	if p == nil {
		return
	}
	for _, u := range users {
		if u.Permissions == nil {
			u.Permissions = p
		}
	}
	for _, u := range nkeyUsers {
		if u.Permissions == nil {
			u.Permissions = p
		}
	}
}

// users decodes a users list into password users and nkey users. The
// users of a leafnode listener take an account and no nkey, permissions
// or connection types.
func (d *decoder) users(it item, leaf bool) ([]*NkeyUser, []*User) {
	entries, ok := d.list(it)
	if !ok {
		return nil, nil
	}
	var nkeyUsers []*NkeyUser
	users := []*User{}
	for _, e := range entries {
		if e.v.Kind != conf.KindMap {
			d.errorf(e, "Expected user entry to be a map/struct, got %s", e.v.Describe())
			continue
		}
		u, nk := &User{}, &NkeyUser{}
		var perms *Permissions
		fs := fields{
			"user":     d.setStr(&u.Username),
			"username": d.setStr(&u.Username),
			"pass":     d.setStr(&u.Password),
			"password": d.setStr(&u.Password),
			"proxy_required": func(it item) {
				if b, ok := d.boolean(it); ok {
					u.ProxyRequired, nk.ProxyRequired = b, b
				}
			},
		}
		if leaf {
			fs["account"] = d.setStr(&u.Account)
		} else {
			fs["nkey"] = d.setStr(&nk.Nkey)
			perm := func(it item) { perms = d.permissions(it) }
			fs["permission"], fs["permissions"], fs["authorization"] = perm, perm, perm
			cts := func(it item) {
				types := d.connectionTypes(it)
				u.AllowedConnectionTypes, nk.AllowedConnectionTypes = types, types
			}
			fs["allowed_connection_types"], fs["connection_types"], fs["clients"] = cts, cts, cts
		}
		d.block(e, fs)
		nk.Account = u.Account
		switch {
		case nk.Nkey == "" && u.Username == "":
			d.errorf(e, "User entry requires a user")
		case nk.Nkey != "":
			if !nkeys.IsValidPublicUserKey(nk.Nkey) {
				d.errorf(e, "Not a valid public nkey for a user")
			} else if u.Username != "" || u.Password != "" {
				d.errorf(e, "Nkey users do not take usernames or passwords")
			}
			nk.Permissions = perms
			nkeyUsers = append(nkeyUsers, nk)
		default:
			u.Permissions = perms
			users = append(users, u)
		}
	}
	return nkeyUsers, users
}

var connectionTypes = map[string]bool{
	"STANDARD": true, "WEBSOCKET": true, "LEAFNODE": true, "LEAFNODE_WS": true,
	"MQTT": true, "MQTT_WS": true, "IN_PROCESS": true,
}

func (d *decoder) connectionTypes(it item) []string {
	types, ok := d.strs(it)
	if !ok {
		return nil
	}
	var unknown []string
	for i, t := range types {
		types[i] = strings.ToUpper(t)
		if !connectionTypes[types[i]] {
			unknown = append(unknown, types[i])
		}
	}
	if len(unknown) > 0 {
		d.errorf(it, "invalid connection types %q", unknown)
	}
	return types
}

// permissions decodes a permissions map.
func (d *decoder) permissions(it item) *Permissions {
	if it.v.Kind != conf.KindMap {
		d.errorf(it, "Expected permissions to be a map/struct, got %s", it.v.Describe())
		return nil
	}
	p := &Permissions{}
	for _, e := range it.v.Map.Entries() {
		child := item{path: join(it.path, e.Key), pos: e.Pos, v: e.Value, ref: e.Referenced}
		switch strings.ToLower(e.Key) {
		case "pub", "publish", "import":
			p.Publish = d.subjectPermission(child, false)
		case "sub", "subscribe", "export":
			p.Subscribe = d.subjectPermission(child, true)
		case "publish_allow_responses", "allow_responses":
			p.Response = d.allowResponses(child)
		default:
			if !e.Referenced {
				d.errorf(child, "Unknown field %q parsing permissions", e.Key)
			}
		}
	}
	if p.Response != nil {
		// As nats-server: allowing responses alone implies publishing
		// nothing else.
		if p.Publish == nil {
			p.Publish = &SubjectPermission{}
		}
		if p.Publish.Allow == nil {
			p.Publish.Allow = []string{}
		}
	}
	return p
}

// subjectPermission reads a subject, a list of subjects, or
// {allow: ..., deny: ...}.
func (d *decoder) subjectPermission(it item, queues bool) *SubjectPermission {
	if it.v.Kind != conf.KindMap {
		return &SubjectPermission{Allow: d.permSubjects(it, queues)}
	}
	if it.v.Map.Len() == 0 {
		return nil
	}
	sp := &SubjectPermission{}
	for _, e := range it.v.Map.Entries() {
		child := item{path: join(it.path, e.Key), pos: e.Pos, v: e.Value}
		switch strings.ToLower(e.Key) {
		case "allow":
			sp.Allow = d.permSubjects(child, queues)
		case "deny":
			sp.Deny = d.permSubjects(child, queues)
		default:
			if !e.Referenced {
				d.errorf(child, "Unknown field name %q parsing subject permissions, only 'allow' or 'deny' are permitted", e.Key)
			}
		}
	}
	return sp
}

func (d *decoder) permSubjects(it item, queues bool) []string {
	if it.v.Kind != conf.KindString && it.v.Kind != conf.KindArray {
		d.errorf(it, "Expected subject permissions to be a subject, or array of subjects, got %s", it.v.Describe())
		return nil
	}
	subjects, ok := d.strs(it)
	if !ok {
		return nil
	}
	for _, s := range subjects {
		if sublist.IsValidSubject(s) {
			continue
		}
		parts := strings.Fields(s)
		switch {
		case !queues || len(parts) != 2 || !sublist.IsValidSubject(parts[0]):
			d.errorf(it, "subject %q is not a valid subject", s)
		case !sublist.IsValidSubject(parts[1]):
			d.errorf(it, "queue %q is not a valid queue", parts[1])
		}
	}
	return subjects
}

func (d *decoder) allowResponses(it item) *ResponsePermission {
	rp := &ResponsePermission{MaxMsgs: defaultResponseMaxMsgs, Expires: defaultResponseExpires}
	switch it.v.Kind {
	case conf.KindBool:
		if it.v.Bool {
			return rp
		}
		return nil
	case conf.KindMap:
	default:
		d.errorf(it, "error parsing response permissions, expected a boolean or a map")
		return nil
	}
	max := func(it item) {
		if n, ok := d.integer(it); ok && n != 0 {
			rp.MaxMsgs = int(n)
		}
	}
	expires := func(it item) {
		if it.v.Kind != conf.KindString {
			d.errorf(it, "error parsing expires, not a duration string")
			return
		}
		if t, ok := d.duration(it, false); ok && t != 0 {
			rp.Expires = t
		}
	}
	d.block(it, fields{
		"max": max, "max_msgs": max, "max_messages": max, "max_responses": max,
		"expires": expires, "expiration": expires, "ttl": expires,
	})
	return rp
}

func (d *decoder) authCallout(it item) *AuthCallout {
	if it.v.Kind != conf.KindMap {
		d.errorf(it, "Expected authorization callout to be a map/struct, got %s", it.v.Describe())
		return nil
	}
	ac := &AuthCallout{}
	xkey := func(it item) {
		if s, ok := d.str(it); ok {
			ac.XKey = s
			if !nkeys.IsValidPublicCurveKey(s) {
				d.errorf(it, "Expected callout xkey to be a valid public xkey, got %q", s)
			}
		}
	}
	d.block(it, fields{
		"issuer": func(it item) {
			if s, ok := d.str(it); ok {
				ac.Issuer = s
				if !nkeys.IsValidPublicAccountKey(s) {
					d.errorf(it, "Expected callout user to be a valid public account nkey, got %q", s)
				}
			}
		},
		"account":          d.setStr(&ac.Account),
		"acc":              d.setStr(&ac.Account),
		"auth_users":       d.setStrs(&ac.AuthUsers),
		"users":            d.setStrs(&ac.AuthUsers),
		"allowed_accounts": d.setStrs(&ac.AllowedAccounts),
		"xkey":             xkey,
		"key":              xkey,
	})
	if ac.Account == "" {
		ac.Account = globalAccountName
	}
	if ac.Issuer == "" {
		d.errorf(it, "Authorization callouts require an issuer to be specified")
	}
	if len(ac.AuthUsers) == 0 {
		d.errorf(it, "Authorization callouts require authorized users to be specified")
	}
	d.unsupported(it, featAuthCallout)
	return ac
}
