package blockstore

import "strings"

// isAll reports whether filter selects every subject.
func isAll(filter string) bool { return filter == "" || filter == ">" }

// isLiteral reports whether filter has no wildcard token.
func isLiteral(filter string) bool {
	for i := 0; i < len(filter); i++ {
		c := filter[i]
		if (c == '*' || c == '>') && (i == 0 || filter[i-1] == '.') &&
			(i+1 == len(filter) || filter[i+1] == '.') {
			return false
		}
	}
	return true
}

// subjectMatches reports whether the literal subject subj matches filter,
// where "*" matches one token and a final ">" one or more.
func subjectMatches(subj, filter string) bool {
	if isAll(filter) {
		return true
	}
	for {
		var ft string
		i := strings.IndexByte(filter, '.')
		if i < 0 {
			ft, filter = filter, ""
		} else {
			ft, filter = filter[:i], filter[i+1:]
		}
		if ft == ">" && i < 0 {
			return subj != ""
		}
		if subj == "" && ft != "" {
			return false
		}
		var st string
		j := strings.IndexByte(subj, '.')
		if j < 0 {
			st, subj = subj, ""
		} else {
			st, subj = subj[:j], subj[j+1:]
		}
		if ft != "*" && ft != st {
			return false
		}
		if i < 0 {
			return j < 0
		}
		if j < 0 {
			return false
		}
	}
}
