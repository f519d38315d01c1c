package jsapi

import "strings"

// Subject rules used by configuration checks. They follow the reference's
// definitions exactly (a token may be any bytes but whitespace; '*' and '>'
// are wildcards only as whole tokens) because a subject Keel accepts in a
// stream configuration must be one nats-server accepts too.

// IsValidSubject reports whether s is a valid subject or subscription
// filter: non-empty tokens, no whitespace, and '>' only as the last token.
func IsValidSubject(s string) bool {
	if s == "" {
		return false
	}
	sawFWC := false
	for tok := range strings.SplitSeq(s, ".") {
		if tok == "" || sawFWC {
			return false
		}
		if strings.ContainsAny(tok, " \t\n\r\f") {
			return false
		}
		if tok == ">" {
			sawFWC = true
		}
	}
	return true
}

// IsLiteralSubject reports whether s has no wildcard token. It does not
// check validity.
func IsLiteralSubject(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '*' || c == '>' {
			if (i == 0 || s[i-1] == '.') && (i+1 == len(s) || s[i+1] == '.') {
				return false
			}
		}
	}
	return true
}

// IsValidPublishSubject reports whether s is a valid subject without
// wildcards.
func IsValidPublishSubject(s string) bool {
	return IsValidSubject(s) && IsLiteralSubject(s)
}

// SubjectsCollide reports whether some literal subject matches both a and b
// (either may hold wildcards).
func SubjectsCollide(a, b string) bool {
	if a == b {
		return true
	}
	ta, tb := strings.Split(a, "."), strings.Split(b, ".")
	pa, fa := wildcards(ta)
	pb, fb := wildcards(tb)
	litA, litB := !pa && !fa, !pb && !fb
	switch {
	case litA && litB:
		return false // equal strings returned above
	case litA:
		return subsetMatch(ta, tb)
	case litB:
		return subsetMatch(tb, ta)
	}
	// Both have wildcards. Without '>' the token counts must agree; with
	// one, the shorter side must be the one ending in '>'.
	if len(ta) != len(tb) {
		if !fa && !fb {
			return false
		}
		if len(ta) < len(tb) && !fa || len(tb) < len(ta) && !fb {
			return false
		}
	}
	for i := 0; i < min(len(ta), len(tb)); i++ {
		x, y := ta[i], tb[i]
		if x == "" || y == "" {
			return false
		}
		if x != "*" && y != "*" && x != ">" && y != ">" && x != y {
			return false
		}
	}
	return true
}

// SubjectIsSubsetOf reports whether every subject matching s also matches
// filter: "foo.*" is a subset of ">", "*.*" and "foo.*", but not of
// "foo.bar".
func SubjectIsSubsetOf(s, filter string) bool {
	return subsetMatch(strings.Split(s, "."), strings.Split(filter, "."))
}

func wildcards(toks []string) (pwc, fwc bool) {
	for _, t := range toks {
		switch t {
		case "*":
			pwc = true
		case ">":
			fwc = true
		}
	}
	return pwc, fwc
}

// subsetMatch walks filter's tokens against toks: '>' in the filter takes
// the rest, '*' in the filter takes any one token, and a wildcard in toks
// is only covered by the same wildcard (or a '>') in the filter.
func subsetMatch(toks, filter []string) bool {
	for i, f := range filter {
		if i >= len(toks) || f == "" {
			return false
		}
		if f == ">" {
			return true
		}
		t := toks[i]
		if t == "" || t == ">" {
			return false
		}
		if t == "*" {
			if f != "*" {
				return false
			}
			continue
		}
		if f != "*" && f != t {
			return false
		}
	}
	return len(toks) == len(filter)
}

// IsValidName reports whether name may name a stream or consumer: not empty,
// and free of whitespace, '.', '*', '>' and path separators.
func IsValidName(name string) bool {
	return name != "" && !strings.ContainsAny(name, " \t\r\n\f.*>\\/")
}

// IsReservedSubject reports whether s lies in a space the server keeps for
// itself and a client may not pick as a deliver subject: service replies
// (_R_.), gateway routed replies (_GR_., $GR.), and JetStream's own $JS.API,
// $JS.<domain>.API, $JS.ACK, $JS.FC, $JS.SNAPSHOT and $JS.EVENT.
func IsReservedSubject(s string) bool {
	if strings.HasPrefix(s, "_R_.") || hasTokenPrefix(s, "_GR_.") || hasTokenPrefix(s, "$GR.") {
		return true
	}
	if !strings.HasPrefix(s, "$JS.") {
		return false
	}
	toks := strings.SplitN(s, ".", 4)
	if len(toks) < 2 {
		return false
	}
	switch toks[1] {
	case "API", "ACK", "FC", "SNAPSHOT", "EVENT":
		return true
	}
	return len(toks) >= 3 && toks[2] == "API"
}

// hasTokenPrefix is a prefix test that, like the reference's for gateway
// replies, needs at least one byte after the prefix.
func hasTokenPrefix(s, p string) bool {
	return len(s) > len(p) && s[:len(p)] == p
}
