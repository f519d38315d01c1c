package opts

import (
	"encoding/hex"
	"regexp"
	"strings"
	"time"

	"github.com/nats-io/nkeys"

	"github.com/keelhq/keel/server/conf"
)

// tls decodes a tls {} block. No certificate is loaded: TLS is not
// available yet, and callers refuse it (client TLS) or warn (listeners
// that do not run).
func (d *decoder) tls(it item) *TLSOptions {
	if it.v.Kind != conf.KindMap {
		d.typeErr(it, "a map")
		return nil
	}
	t := &TLSOptions{}
	handshakeFirst := func(it item) {
		switch it.v.Kind {
		case conf.KindBool:
			t.HandshakeFirst = it.v.Bool
		case conf.KindString:
			switch strings.ToLower(it.v.Str) {
			case "true", "on":
				t.HandshakeFirst = true
			case "false", "off":
				t.HandshakeFirst = false
			case "auto", "auto_fallback":
				t.HandshakeFirst, t.HandshakeFirstFallback = true, defaultHandshakeFirstFallback
			default:
				if dur, ok := d.duration(it, false); ok {
					t.HandshakeFirst, t.HandshakeFirstFallback = true, dur
				}
			}
		default:
			d.errorf(it, "field %q should be a boolean or a string, got %s", it.name(), it.v.Describe())
		}
	}
	certs := func(it item) {
		entries, ok := d.list(it)
		if !ok {
			return
		}
		for _, e := range entries {
			var cp CertPair
			d.block(e, fields{"cert_file": d.setStr(&cp.CertFile), "key_file": d.setStr(&cp.KeyFile)})
			if cp.CertFile == "" || cp.KeyFile == "" {
				d.errorf(e, "error parsing certificates config: both 'cert_file' and 'cert_key' options are required")
			}
			t.Certs = append(t.Certs, cp)
		}
	}
	fs := fields{
		"cert_file": d.setStr(&t.CertFile),
		"key_file":  d.setStr(&t.KeyFile),
		"ca_file":   d.setStr(&t.CAFile),
		"insecure":  d.setBool(&t.Insecure),
		"verify": func(it item) {
			if it.v.Kind == conf.KindString && strings.EqualFold(it.v.Str, "optional") {
				t.VerifyOptional = true
				return
			}
			if it.v.Kind != conf.KindBool {
				d.errorf(it, "error parsing tls config, expected 'verify' to be a boolean or 'optional'")
				return
			}
			t.Verify = it.v.Bool
		},
		"verify_and_map": func(it item) {
			if b, ok := d.boolean(it); ok {
				t.VerifyAndMap = b
				t.Verify = t.Verify || b
			}
		},
		"verify_cert_and_check_known_urls": func(it item) {
			if b, ok := d.boolean(it); ok {
				t.VerifyCertAndCheckKnown = b
				t.Verify = t.Verify || b
			}
		},
		"allow_insecure_cipher_suites": d.setBool(&t.AllowInsecureCipherSuites),
		"cipher_suites":                d.setStrs(&t.CipherSuites),
		"curve_preferences":            d.setStrs(&t.CurvePreferences),
		"timeout":                      d.setSeconds(&t.Timeout),
		"connection_rate_limit":        d.setInt64(&t.ConnectionRateLimit),
		"pinned_certs": func(it item) {
			pins, ok := d.strs(it)
			if !ok {
				return
			}
			for i, p := range pins {
				p = strings.ToLower(p)
				if b, err := hex.DecodeString(p); err != nil || len(b) != 32 {
					d.errorf(it, "error parsing tls config, 'pinned_certs' key %s does not look like hex-encoded sha256 of DER encoded SubjectPublicKeyInfo", pins[i])
				}
				pins[i] = p
			}
			t.PinnedCerts = pins
		},
		"cert_store":              d.setStr(&t.CertStore),
		"cert_match_by":           d.setStr(&t.CertMatchBy),
		"cert_match":              d.setStr(&t.CertMatch),
		"cert_match_skip_invalid": d.setBool(&t.CertMatchSkipInvalid),
		"ca_certs_match":          d.setStrs(&t.CACertsMatch),
		"handshake_first":         handshakeFirst,
		"first":                   handshakeFirst,
		"immediate":               handshakeFirst,
		"ocsp_peer": func(it item) {
			switch it.v.Kind {
			case conf.KindBool:
				t.OCSPPeer = it.v.Bool
			case conf.KindMap:
				t.OCSPPeer = true
				d.block(it, fields{
					"verify":                           d.setBool(&t.OCSPPeer),
					"allowed_clockskew":                d.ignoreNumberOrString(),
					"ca_timeout":                       d.ignoreNumberOrString(),
					"cache_ttl_when_next_update_unset": d.ignoreNumberOrString(),
					"warn_only":                        d.ignoreBool(),
					"unknown_is_good":                  d.ignoreBool(),
					"allow_when_ca_unreachable":        d.ignoreBool(),
				})
			default:
				d.errorf(it, "error parsing ocsp peer config: unsupported type %s", it.v.Kind)
			}
		},
		"certs":        certs,
		"certificates": certs,
		"min_version": func(it item) {
			s, ok := d.str(it)
			if !ok {
				return
			}
			switch s {
			case "1.2", "1.3":
				t.MinVersion = s
			case "1.0", "1.1":
				d.errorf(it, "error parsing tls config: unsupported TLS version: TLS %s", s)
			default:
				d.errorf(it, "error parsing tls config: unknown version: %s", s)
			}
		},
	}
	d.block(it, fs)
	if t.CertFile != "" && len(t.Certs) > 0 {
		d.errorf(it, "error parsing tls config, cannot combine 'cert_file' option with 'certs' option")
	}
	return t
}

// defaultHandshakeFirstFallback is the fallback delay of handshake_first: auto.
const defaultHandshakeFirstFallback = 50 * time.Millisecond

// ignoreNumberOrString and ignoreBool check the type of settings that are
// only carried inside a feature that is refused anyway.
func (d *decoder) ignoreNumberOrString() func(item) {
	return func(it item) {
		switch it.v.Kind {
		case conf.KindInt, conf.KindFloat, conf.KindString:
		default:
			d.typeErr(it, "a number or a duration")
		}
	}
}

func (d *decoder) ignoreBool() func(item) {
	return func(it item) { d.boolean(it) }
}

// ocsp decodes the ocsp (stapling) setting.
func (d *decoder) ocsp(it item, o *Options) {
	switch it.v.Kind {
	case conf.KindBool:
		mode := "never"
		if it.v.Bool {
			mode = "auto"
		}
		o.OCSP = &OCSPOptions{Mode: mode}
	case conf.KindMap:
		oc := &OCSPOptions{Mode: "auto"}
		d.block(it, fields{
			"mode": func(it item) {
				s, ok := d.str(it)
				if !ok {
					return
				}
				switch m := strings.ToLower(s); m {
				case "always", "must", "never", "auto":
					oc.Mode = m
				default:
					d.errorf(it, "error parsing ocsp config: unsupported ocsp mode %q", s)
				}
			},
			"urls": d.setStrs(&oc.OverrideURLs),
			"url":  d.setStrs(&oc.OverrideURLs),
		})
		o.OCSP = oc
	default:
		d.errorf(it, "error parsing ocsp config: unsupported type %s", it.v.Kind)
		return
	}
	d.unavailable(it, featOCSP)
}

func (d *decoder) ocspCache(it item, o *Options) {
	switch it.v.Kind {
	case conf.KindBool:
		typ := "none"
		if it.v.Bool {
			typ = "local"
		}
		o.OCSPCache = &OCSPCacheOptions{Type: typ}
	case conf.KindMap:
		c := &OCSPCacheOptions{Type: "local"}
		d.block(it, fields{
			"type": func(it item) {
				s, ok := d.str(it)
				if !ok {
					return
				}
				switch t := strings.ToLower(s); t {
				case "none", "local":
					c.Type = t
				default:
					d.errorf(it, "error parsing ocsp_cache config: unknown cache type %q", s)
				}
			},
			"local_store":      d.setStr(&c.LocalStore),
			"preserve_revoked": d.setBool(&c.PreserveRevoked),
			"save_interval":    d.setDur(&c.SaveInterval, false),
		})
		o.OCSPCache = c
	default:
		d.errorf(it, "error parsing ocsp_cache config: unsupported type %s", it.v.Kind)
		return
	}
	d.unavailable(it, featOCSP)
}

// operators decodes trusted operator JWTs (file names or inline JWTs).
func (d *decoder) operators(it item, o *Options) {
	if s, ok := d.strs(it); ok {
		o.TrustedOperators = append(o.TrustedOperators, s...)
	}
	d.unsupported(it, featOperator)
}

func (d *decoder) trustedKeys(it item, o *Options) {
	keys, ok := d.strs(it)
	if ok {
		for _, k := range keys {
			if !nkeys.IsValidPublicOperatorKey(k) {
				d.errorf(it, "trust key %q required to be a valid public operator nkey", k)
			}
		}
		o.TrustedKeys = keys
	}
	d.unsupported(it, featOperator)
}

var (
	memResolver = regexp.MustCompile(`(?i)^\s*(MEM|MEMORY)\s*$`)
	urlResolver = regexp.MustCompile(`(?i)^\s*URL\(\s*"?([^\s"]*)"?\s*\)\s*$`)
)

// resolver decodes the account resolver of operator mode.
func (d *decoder) resolver(it item, o *Options) {
	// A resolver alone protects nothing: it serves accounts to operator
	// mode, which is what is refused.
	defer d.unavailable(it, featResolver)
	switch it.v.Kind {
	case conf.KindString:
		if memResolver.MatchString(it.v.Str) {
			o.Resolver = &ResolverOptions{Kind: "MEM"}
			return
		}
		if m := urlResolver.FindStringSubmatch(it.v.Str); m != nil {
			o.Resolver = &ResolverOptions{Kind: "URL", URL: m[1]}
			return
		}
		d.errorf(it, `error parsing account resolver, should be MEM or URL("url") or a map containing dir and type state=[FULL|CACHE])`)
	case conf.KindMap:
		r := &ResolverOptions{}
		d.block(it, fields{
			"dir":          d.setStr(&r.Dir),
			"type":         d.setStr(&r.Kind),
			"allow_delete": d.setBool(&r.AllowDelete),
			"hard_delete":  d.setBool(&r.HardDelete),
			"limit":        d.setInt64(&r.Limit),
			"ttl":          d.setDur(&r.TTL, false),
			"interval":     d.setDur(&r.Interval, false),
			"timeout":      d.setDur(&r.Timeout, false),
		})
		r.Kind = strings.ToUpper(r.Kind)
		switch r.Kind {
		case "FULL", "CACHE":
			if r.Dir == "" {
				d.errorf(it, "dir has no value and needs to point to a directory")
			}
		case "MEM", "MEMORY":
			r.Kind = "MEM"
		default:
			d.errorf(it, `error parsing account resolver, should be MEM or URL("url") or a map containing dir and type state=[FULL|CACHE])`)
		}
		o.Resolver = r
	default:
		d.errorf(it, "error parsing operator resolver, wrong type %s", it.v.Kind)
	}
}

// proxies decodes proxies { trusted: [{key: ...}] }.
func (d *decoder) proxies(it item, o *Options) {
	d.block(it, fields{
		"trusted": func(it item) {
			entries, ok := d.list(it)
			if !ok {
				return
			}
			for _, e := range entries {
				p := &TrustedProxy{}
				key := func(it item) {
					if s, ok := d.str(it); ok {
						if !nkeys.IsValidPublicServerKey(s) {
							d.errorf(it, "invalid proxy key %q", s)
						}
						p.Key = s
					}
				}
				d.block(e, fields{"key": key, "public_key": key})
				o.Proxies = append(o.Proxies, p)
			}
		},
	})
	d.unavailable(it, featProxies)
}
