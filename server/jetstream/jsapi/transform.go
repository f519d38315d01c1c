package jsapi

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// Validation of subject transforms (stream subject_transform, the
// subject_transforms of mirrors and sources, republish). Only the checks
// live here: applying a transform to a message belongs to the JetStream
// layer. The rules and error texts are the reference's, since they reach
// clients inside "stream transform: ..." descriptions.

// Transform errors. All of them match errors.Is(err, ErrInvalidMapping)
// except ErrBadSubject.
var (
	ErrBadSubject     = errors.New("invalid subject")
	ErrInvalidMapping = errors.New("invalid mapping destination")

	errMappingSubject     = fmt.Errorf("%w: invalid transform", ErrInvalidMapping)
	errMappingUnknownFunc = fmt.Errorf("%w: unknown function", ErrInvalidMapping)
	errMappingIndexRange  = fmt.Errorf("%w: wildcard index out of range", ErrInvalidMapping)
	errMappingFewArgs     = fmt.Errorf("%w: not enough arguments passed to the function", ErrInvalidMapping)
	errMappingBadArg      = fmt.Errorf("%w: function argument is invalid or in the wrong format", ErrInvalidMapping)
	errMappingManyArgs    = fmt.Errorf("%w: too many arguments passed to the function", ErrInvalidMapping)
	errMappingUnavailable = fmt.Errorf("%w: function is not available in this context", ErrInvalidMapping)
)

// mappingError names the destination token a mapping error is about.
type mappingError struct {
	token string
	err   error
}

func (e *mappingError) Error() string {
	if e.token == "" {
		return e.err.Error()
	}
	return fmt.Sprintf("%s in %s", e.err, e.token)
}

func (e *mappingError) Unwrap() error { return e.err }

// transformKind is what a destination token does.
type transformKind int

const (
	tkLiteral transformKind = iota
	tkWildcard
	tkPartition
	tkSplitFromLeft
	tkSplitFromRight
	tkSliceFromLeft
	tkSliceFromRight
	tkSplit
	tkLeft
	tkRight
	tkRandom
)

// mappingFuncs are the {{function(args)}} forms, tried in this order. The
// patterns accept the reference's spellings (first letter of each word in
// either case, spaces around the name and before the parenthesis).
var mappingFuncs = []struct {
	re   *regexp.Regexp
	kind transformKind
}{
	{regexp.MustCompile(`{{\s*[wW]ildcard\s*\((.*)\)\s*}}`), tkWildcard},
	{regexp.MustCompile(`{{\s*[pP]artition\s*\((.*)\)\s*}}`), tkPartition},
	{regexp.MustCompile(`{{\s*[sS]plit[fF]rom[lL]eft\s*\((.*)\)\s*}}`), tkSplitFromLeft},
	{regexp.MustCompile(`{{\s*[sS]plit[fF]rom[rR]ight\s*\((.*)\)\s*}}`), tkSplitFromRight},
	{regexp.MustCompile(`{{\s*[sS]lice[fF]rom[lL]eft\s*\((.*)\)\s*}}`), tkSliceFromLeft},
	{regexp.MustCompile(`{{\s*[sS]lice[fF]rom[rR]ight\s*\((.*)\)\s*}}`), tkSliceFromRight},
	{regexp.MustCompile(`{{\s*[rR]ight\s*\((.*)\)\s*}}`), tkRight},
	{regexp.MustCompile(`{{\s*[lL]eft\s*\((.*)\)\s*}}`), tkLeft},
	{regexp.MustCompile(`{{\s*[sS]plit\s*\((.*)\)\s*}}`), tkSplit},
	{regexp.MustCompile(`{{\s*[rR]andom\s*\((.*)\)\s*}}`), tkRandom},
}

// accountFuncs are resolved when an account mapping is installed and are
// never valid in a stream transform.
var accountFuncs = []*regexp.Regexp{
	regexp.MustCompile(`{{\s*[aA]ccount-[hH]ash-[iI]mport\s*\((.*)\)\s*}}`),
	regexp.MustCompile(`{{\s*[aA]ccount-[hH]ash-[lL]eaf-[rR]emote\s*\((.*)\)\s*}}`),
	regexp.MustCompile(`{{\s*[aA]ccount-[hH]ash\s*\((.*)\)\s*}}`),
}

var argSeparator = regexp.MustCompile(`,\s*`)

func isFunctionToken(t string) bool {
	return len(t) > 4 && t[:2] == "{{" && t[len(t)-2:] == "}}"
}

func isAccountFunction(t string) bool {
	if !isFunctionToken(t) {
		return false
	}
	for _, re := range accountFuncs {
		if re.MatchString(t) {
			return true
		}
	}
	return false
}

// ValidateTransform checks a transform from src (empty means ">") to dest
// (empty means no transform, always valid) as nats-server does for
// mappings: dest's tokens must be literals, '>' as the last token when src
// ends in '>', $N or {{wildcard(N)}} references to src's '*' tokens, or one
// of the mapping functions with well-formed arguments.
func ValidateTransform(src, dest string) error {
	if dest == "" {
		return nil
	}
	sawFWC := false
	for tok := range strings.SplitSeq(dest, ".") {
		if tok == "" || sawFWC {
			return &mappingError{tok, errMappingSubject}
		}
		if isFunctionToken(tok) {
			if isAccountFunction(tok) {
				return &mappingError{tok, errMappingUnavailable}
			}
			known := false
			for _, f := range mappingFuncs {
				if f.re.MatchString(tok) {
					known = true
					break
				}
			}
			if !known {
				return &mappingError{tok, errMappingUnknownFunc}
			}
			continue
		}
		if tok == ">" {
			sawFWC = true
		} else if strings.ContainsAny(tok, "\t\n\f\r ") {
			return errMappingSubject
		}
	}
	return checkTransform(src, dest)
}

// checkTransform is the part of ValidateTransform that relates dest to src:
// matching '>' and wildcard references in range.
func checkTransform(src, dest string) error {
	if dest == "" {
		return nil
	}
	if src == "" {
		src = ">"
	}
	sOK, _, sPWC, sFWC := subjectShape(src)
	dOK, dToks, dPWC, dFWC := subjectShape(dest)
	if !sOK || !dOK || dPWC > 0 || sFWC != dFWC {
		return ErrBadSubject
	}
	for _, tok := range dToks {
		kind, refs, err := parseDestToken(tok)
		if err != nil {
			return err
		}
		if sPWC == 0 && !sFWC {
			// A literal source has no wildcards to refer to.
			if kind != tkLiteral && kind != tkRandom && kind != tkPartition {
				return &mappingError{tok, errMappingIndexRange}
			}
			continue
		}
		for _, r := range refs {
			if r > sPWC {
				return &mappingError{fmt.Sprintf("%s: [%d]", tok, r), errMappingIndexRange}
			}
		}
	}
	return nil
}

// subjectShape splits s into tokens and counts its wildcards; ok is false
// for an empty subject, an empty token or a token after '>'. Unlike
// IsValidSubject it does not look for whitespace.
func subjectShape(s string) (ok bool, toks []string, pwc int, fwc bool) {
	if s == "" {
		return false, nil, 0, false
	}
	toks = strings.Split(s, ".")
	for _, t := range toks {
		if t == "" || fwc {
			return false, nil, 0, false
		}
		switch t {
		case ">":
			fwc = true
		case "*":
			pwc++
		}
	}
	return true, toks, pwc, fwc
}

// parseDestToken classifies a destination token and returns the source
// wildcard positions (1-based) it refers to.
func parseDestToken(tok string) (transformKind, []int, error) {
	if len(tok) <= 1 {
		return tkLiteral, nil, nil
	}
	if tok[0] == '$' {
		// "$1" refers to the first wildcard; "$foo" is an ordinary literal.
		n, err := strconv.Atoi(tok[1:])
		if err != nil {
			return tkLiteral, nil, nil
		}
		return tkWildcard, []int{n}, nil
	}
	if !isFunctionToken(tok) {
		return tkLiteral, nil, nil
	}
	if isAccountFunction(tok) {
		return 0, nil, &mappingError{tok, errMappingUnavailable}
	}
	for _, f := range mappingFuncs {
		m := f.re.FindStringSubmatch(tok)
		if len(m) < 2 {
			continue
		}
		return parseFuncArgs(tok, f.kind, argSeparator.Split(m[1], -1))
	}
	return 0, nil, &mappingError{tok, errMappingUnknownFunc}
}

func parseFuncArgs(tok string, kind transformKind, args []string) (transformKind, []int, error) {
	bad := func(e error) (transformKind, []int, error) { return 0, nil, &mappingError{tok, e} }
	atoi := func(s string) (int, error) { return strconv.Atoi(strings.Trim(s, " ")) }
	switch kind {
	case tkWildcard:
		if len(args) == 1 && args[0] == "" {
			return bad(errMappingFewArgs)
		}
		if len(args) > 1 {
			return bad(errMappingManyArgs)
		}
		n, err := atoi(args[0])
		if err != nil {
			return bad(errMappingBadArg)
		}
		return kind, []int{n}, nil
	case tkPartition:
		// partition(buckets[, wildcard...])
		n, err := atoi(args[0])
		if err != nil || n > math.MaxInt32 {
			return bad(errMappingBadArg)
		}
		refs := make([]int, 0, len(args)-1)
		for _, a := range args[1:] {
			r, err := atoi(a)
			if err != nil {
				return bad(errMappingBadArg)
			}
			refs = append(refs, r)
		}
		return kind, refs, nil
	case tkSplit:
		// split(wildcard, delimiter)
		if len(args) < 2 {
			return bad(errMappingFewArgs)
		}
		if len(args) > 2 {
			return bad(errMappingManyArgs)
		}
		n, err := atoi(args[0])
		if err != nil || strings.ContainsAny(args[1], " .") {
			return bad(errMappingBadArg)
		}
		return kind, []int{n}, nil
	case tkRandom:
		if len(args) != 1 {
			return bad(errMappingFewArgs)
		}
		n, err := atoi(args[0])
		if err != nil || n > math.MaxInt32 {
			return bad(errMappingBadArg)
		}
		return kind, nil, nil
	default:
		// The (wildcard, int32) functions: split/slice from left/right,
		// left, right.
		if len(args) < 2 {
			return bad(errMappingFewArgs)
		}
		if len(args) > 2 {
			return bad(errMappingManyArgs)
		}
		n, err := atoi(args[0])
		if err != nil {
			return bad(errMappingBadArg)
		}
		if _, err := strconv.ParseInt(strings.Trim(args[1], " "), 10, 32); err != nil {
			return bad(errMappingBadArg)
		}
		return kind, []int{n}, nil
	}
}
