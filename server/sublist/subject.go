// Package sublist owns NATS subject routing: subject and filter validation
// as nats-server v2.15 does it, the subscription trie with the `*` and `>`
// wildcards, queue groups, and a match cache that stays correct while
// subscriptions come and go.
//
// The trie is generic over the value stored for each subscription (the
// server stores a pointer to its own subscription record), so matching
// hands back the caller's own values with no conversion and no allocation.
package sublist

import "strings"

const (
	tsep = '.'
	pwc  = '*'
	fwc  = '>'
)

// IsValidSubject reports whether subject is a valid subscription subject
// (a filter): non-empty tokens, no white space, and `>` only as the last
// token. `*` and `>` are wildcards only when they stand alone as a token;
// inside a longer token they are ordinary characters.
func IsValidSubject(subject string) bool {
	if subject == "" {
		return false
	}
	sawFWC := false
	start := 0
	for i := 0; i <= len(subject); i++ {
		if i < len(subject) && subject[i] != tsep {
			continue
		}
		tok := subject[start:i]
		start = i + 1
		if len(tok) == 0 || sawFWC {
			return false
		}
		if len(tok) == 1 {
			switch tok[0] {
			case fwc:
				sawFWC = true
			case ' ', '\t', '\n', '\r', '\f':
				return false
			}
			continue
		}
		if strings.ContainsAny(tok, " \t\n\r\f") {
			return false
		}
	}
	return true
}

// IsValidLiteralSubject reports whether subject has only non-empty tokens
// and no wildcard token. This is the check behind the pedantic
// 'Invalid Publish Subject' error; like the reference it does not look
// for white space (the protocol parser already split on it).
func IsValidLiteralSubject(subject string) bool {
	start := 0
	for i := 0; i <= len(subject); i++ {
		if i < len(subject) && subject[i] != tsep {
			continue
		}
		tok := subject[start:i]
		start = i + 1
		switch {
		case len(tok) == 0:
			return false
		case len(tok) == 1 && (tok[0] == pwc || tok[0] == fwc):
			return false
		}
	}
	return true
}

// IsValidPublishSubject reports whether subject is valid and literal: what
// a message may be published to.
func IsValidPublishSubject(subject string) bool {
	return IsValidSubject(subject) && IsLiteral(subject)
}

// IsLiteral reports whether subject has no wildcard token. It does not
// validate the subject.
func IsLiteral(subject string) bool {
	for i := 0; i < len(subject); i++ {
		c := subject[i]
		if c != pwc && c != fwc {
			continue
		}
		if (i == 0 || subject[i-1] == tsep) && (i+1 == len(subject) || subject[i+1] == tsep) {
			return false
		}
	}
	return true
}

// MatchLiteral reports whether the literal subject is matched by filter,
// which may hold wildcards. Both are assumed valid.
func MatchLiteral(subject, filter string) bool {
	for {
		var st, ft string
		st, subject = nextToken(subject)
		ft, filter = nextToken(filter)
		switch {
		case ft == ">" && st != "":
			return true
		case ft == "" && st == "":
			return subject == "" && filter == ""
		case ft == "" || st == "":
			return false
		case ft != "*" && ft != st:
			return false
		}
		if subject == "" && filter == "" {
			return true
		}
		if subject == "" || filter == "" {
			// One ran out of tokens; only a trailing ">" would be left to
			// match and it needs at least one token.
			return false
		}
	}
}

// nextToken splits off the first token; rest is what follows the
// separator ("" when tok was the last token).
func nextToken(s string) (tok, rest string) {
	if i := strings.IndexByte(s, tsep); i >= 0 {
		return s[:i], s[i+1:]
	}
	return s, ""
}
