package jetstream

import (
	"errors"
	"hash/fnv"
	"math/rand/v2"
	"regexp"
	"strconv"
	"strings"

	"github.com/keelhq/keel/server/jetstream/jsapi"
	"github.com/keelhq/keel/server/sublist"
)

// subjectTransform rewrites subjects matching src into dest: a stream's
// subject_transform, its republish destination, and (later) the transforms
// of mirrors and sources. jsapi.ValidateTransform has already judged the
// pair when the configuration was accepted; this compiles it for use.
type subjectTransform struct {
	src   string
	all   bool // src is ">": every subject matches
	srcN  int  // tokens in src
	fwc   bool // src (and dest) end in '>'
	parts []destPart
}

type destKind int

const (
	dLiteral destKind = iota
	dWildcard
	dPartition
	dSplitFromLeft
	dSplitFromRight
	dSliceFromLeft
	dSliceFromRight
	dSplit
	dLeft
	dRight
	dRandom
	dRest // the trailing '>'
)

// destPart is one destination token: a literal, or a function of source
// tokens (refs are indexes into the source's tokens).
type destPart struct {
	kind    destKind
	literal string
	refs    []int
	n       int
	sep     string
}

var destFuncs = []struct {
	re   *regexp.Regexp
	kind destKind
}{
	{regexp.MustCompile(`^{{\s*[wW]ildcard\s*\((.*)\)\s*}}$`), dWildcard},
	{regexp.MustCompile(`^{{\s*[pP]artition\s*\((.*)\)\s*}}$`), dPartition},
	{regexp.MustCompile(`^{{\s*[sS]plit[fF]rom[lL]eft\s*\((.*)\)\s*}}$`), dSplitFromLeft},
	{regexp.MustCompile(`^{{\s*[sS]plit[fF]rom[rR]ight\s*\((.*)\)\s*}}$`), dSplitFromRight},
	{regexp.MustCompile(`^{{\s*[sS]lice[fF]rom[lL]eft\s*\((.*)\)\s*}}$`), dSliceFromLeft},
	{regexp.MustCompile(`^{{\s*[sS]lice[fF]rom[rR]ight\s*\((.*)\)\s*}}$`), dSliceFromRight},
	{regexp.MustCompile(`^{{\s*[rR]ight\s*\((.*)\)\s*}}$`), dRight},
	{regexp.MustCompile(`^{{\s*[lL]eft\s*\((.*)\)\s*}}$`), dLeft},
	{regexp.MustCompile(`^{{\s*[sS]plit\s*\((.*)\)\s*}}$`), dSplit},
	{regexp.MustCompile(`^{{\s*[rR]andom\s*\((.*)\)\s*}}$`), dRandom},
}

var argSep = regexp.MustCompile(`,\s*`)

var errBadTransform = errors.New("jetstream: invalid subject transform")

// newSubjectTransform compiles src -> dest (src "" means ">"); nil when
// dest is empty (no transform).
func newSubjectTransform(src, dest string) (*subjectTransform, error) {
	if dest == "" {
		return nil, nil
	}
	if err := jsapi.ValidateTransform(src, dest); err != nil {
		return nil, err
	}
	if src == "" {
		src = ">"
	}
	stoks := strings.Split(src, ".")
	t := &subjectTransform{src: src, all: src == ">", srcN: len(stoks), fwc: stoks[len(stoks)-1] == ">"}
	// Wildcard N (1-based) is the N-th '*' of the source.
	var pwcPos []int
	for i, tok := range stoks {
		if tok == "*" {
			pwcPos = append(pwcPos, i)
		}
	}
	ref := func(n int) (int, error) {
		if n < 1 || n > len(pwcPos) {
			return 0, errBadTransform
		}
		return pwcPos[n-1], nil
	}
	atoi := func(s string) (int, error) { return strconv.Atoi(strings.TrimSpace(s)) }
	for _, tok := range strings.Split(dest, ".") {
		if tok == ">" {
			t.parts = append(t.parts, destPart{kind: dRest})
			continue
		}
		if len(tok) > 1 && tok[0] == '$' {
			if n, err := strconv.Atoi(tok[1:]); err == nil {
				r, err := ref(n)
				if err != nil {
					return nil, err
				}
				t.parts = append(t.parts, destPart{kind: dWildcard, refs: []int{r}})
				continue
			}
		}
		p := destPart{kind: dLiteral, literal: tok}
		for _, f := range destFuncs {
			m := f.re.FindStringSubmatch(tok)
			if m == nil {
				continue
			}
			args := argSep.Split(m[1], -1)
			p.kind = f.kind
			switch f.kind {
			case dPartition:
				n, err := atoi(args[0])
				if err != nil {
					return nil, errBadTransform
				}
				p.n = n
				for _, a := range args[1:] {
					w, err := atoi(a)
					if err != nil {
						return nil, errBadTransform
					}
					r, err := ref(w)
					if err != nil {
						return nil, err
					}
					p.refs = append(p.refs, r)
				}
			case dRandom:
				n, err := atoi(args[0])
				if err != nil {
					return nil, errBadTransform
				}
				p.n = n
			default:
				w, err := atoi(args[0])
				if err != nil {
					return nil, errBadTransform
				}
				r, err := ref(w)
				if err != nil {
					return nil, err
				}
				p.refs = []int{r}
				if len(args) > 1 {
					if f.kind == dSplit {
						p.sep = args[1]
					} else if p.n, err = atoi(args[1]); err != nil {
						return nil, errBadTransform
					}
				}
			}
			break
		}
		t.parts = append(t.parts, p)
	}
	return t, nil
}

// matches reports whether subject is one the transform applies to.
func (t *subjectTransform) matches(subject string) bool {
	return t.all || sublist.MatchLiteral(subject, t.src)
}

// apply transforms subject; ok is false when subject does not match src.
func (t *subjectTransform) apply(subject string) (string, bool) {
	if !t.matches(subject) {
		return "", false
	}
	toks := strings.Split(subject, ".")
	var b strings.Builder
	b.Grow(len(subject) + 16)
	for i, p := range t.parts {
		if i > 0 {
			b.WriteByte('.')
		}
		switch p.kind {
		case dLiteral:
			b.WriteString(p.literal)
		case dWildcard:
			b.WriteString(toks[p.refs[0]])
		case dRest:
			b.WriteString(strings.Join(toks[t.srcN-1:], "."))
		case dPartition:
			var key []byte
			if len(p.refs) == 0 {
				key = []byte(subject)
			}
			for _, r := range p.refs {
				key = append(key, toks[r]...)
			}
			b.WriteString(partition(key, p.n))
		case dRandom:
			if p.n <= 0 {
				b.WriteString("0")
			} else {
				b.WriteString(strconv.Itoa(rand.IntN(p.n)))
			}
		default:
			writeTokenFunc(&b, p, toks[p.refs[0]])
		}
	}
	return b.String(), true
}

// partition is the reference's bucket: FNV-1a of the key, modulo n.
func partition(key []byte, n int) string {
	if n <= 0 {
		return "0"
	}
	h := fnv.New32a()
	h.Write(key)
	return strconv.FormatUint(uint64(h.Sum32()%uint32(n)), 10)
}

// writeTokenFunc applies the functions that cut one source token.
func writeTokenFunc(b *strings.Builder, p destPart, tok string) {
	n, l := p.n, len(tok)
	switch p.kind {
	case dSplitFromLeft:
		if n > 0 && n < l {
			b.WriteString(tok[:n] + "." + tok[n:])
			return
		}
	case dSplitFromRight:
		if n > 0 && n < l {
			b.WriteString(tok[:l-n] + "." + tok[l-n:])
			return
		}
	case dSliceFromLeft:
		if n > 0 && n < l {
			var parts []string
			for i := 0; i < l; i += n {
				parts = append(parts, tok[i:min(i+n, l)])
			}
			b.WriteString(strings.Join(parts, "."))
			return
		}
	case dSliceFromRight:
		if n > 0 && n < l {
			var parts []string
			if r := l % n; r > 0 {
				parts = append(parts, tok[:r])
			}
			for i := l % n; i < l; i += n {
				parts = append(parts, tok[i:i+n])
			}
			b.WriteString(strings.Join(parts, "."))
			return
		}
	case dLeft:
		if n > 0 && n < l {
			b.WriteString(tok[:n])
			return
		}
	case dRight:
		if n > 0 && n < l {
			b.WriteString(tok[l-n:])
			return
		}
	case dSplit:
		var parts []string
		for _, s := range strings.Split(tok, p.sep) {
			if s != "" {
				parts = append(parts, s)
			}
		}
		b.WriteString(strings.Join(parts, "."))
		return
	}
	b.WriteString(tok)
}
