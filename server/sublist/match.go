package sublist

// Match returns the subscriptions interested in the literal subject. The
// result is shared and read-only; it stays valid (as a snapshot) after
// later changes. A subject with an empty token matches nothing.
func (s *Sublist[T]) Match(subject string) *Result[T] {
	s.matches.Add(1)
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.cache == nil {
		return s.matchLocked(subject)
	}
	s.cacheMu.RLock()
	r, ok := s.cache[subject]
	s.cacheMu.RUnlock()
	if ok {
		s.cacheHits.Add(1)
		return r
	}
	r = s.matchLocked(subject)
	// Stored while the read lock is still held, so no writer can slip in
	// between computing r and publishing it: a writer's invalidation always
	// comes after, and removes it if needed.
	s.cacheMu.Lock()
	if len(s.cache) >= maxCache {
		n := 0
		for k := range s.cache {
			delete(s.cache, k)
			if n++; n >= cacheSweep {
				break
			}
		}
	}
	s.cache[subject] = r
	s.cacheMu.Unlock()
	return r
}

// MatchBytes is Match for a subject held in a byte slice; it allocates only
// when the result is not cached yet.
func (s *Sublist[T]) MatchBytes(subject []byte) *Result[T] {
	if s.cache == nil {
		return s.Match(string(subject))
	}
	s.mu.RLock()
	s.cacheMu.RLock()
	r, ok := s.cache[string(subject)]
	s.cacheMu.RUnlock()
	s.mu.RUnlock()
	if ok {
		s.matches.Add(1)
		s.cacheHits.Add(1)
		return r
	}
	return s.Match(string(subject))
}

// HasInterest reports whether anything matches subject.
func (s *Sublist[T]) HasInterest(subject string) bool {
	return s.Match(subject).Len() > 0
}

// emptyToken reports whether subject has an empty token (it can then match
// nothing).
func emptyToken(subject string) bool {
	if subject == "" || subject[0] == tsep || subject[len(subject)-1] == tsep {
		return true
	}
	for i := 1; i < len(subject); i++ {
		if subject[i] == tsep && subject[i-1] == tsep {
			return true
		}
	}
	return false
}

func (s *Sublist[T]) matchLocked(subject string) *Result[T] {
	r := &Result[T]{}
	if emptyToken(subject) {
		return r
	}
	var arr [32]string
	toks := arr[:0]
	start := 0
	for i := 0; i < len(subject); i++ {
		if subject[i] == tsep {
			toks = append(toks, subject[start:i])
			start = i + 1
		}
	}
	toks = append(toks, subject[start:])
	matchLevel(s.root, toks, r)
	return r
}

func matchLevel[T comparable](l *level[T], toks []string, r *Result[T]) {
	for i, tok := range toks {
		if l == nil {
			return
		}
		if l.fwc != nil {
			addNode(l.fwc, r)
		}
		if l.pwc != nil {
			matchLevel(l.pwc.next, toks[i+1:], r)
			if i == len(toks)-1 {
				addNode(l.pwc, r)
			}
		}
		n := l.nodes[tok]
		if n == nil {
			return
		}
		if i == len(toks)-1 {
			addNode(n, r)
			return
		}
		l = n.next
	}
}

func addNode[T comparable](n *node[T], r *Result[T]) {
	r.Plain = append(r.Plain, n.plain.list...)
	for name, qs := range n.queues {
		merged := false
		// The same group can be matched through several nodes (for example
		// "foo.*" and "foo.>"): its members form one group.
		for qi := range r.Queues {
			if r.QueueNames[qi] == name {
				r.Queues[qi] = append(r.Queues[qi], qs.list...)
				merged = true
				break
			}
		}
		if !merged {
			r.Queues = append(r.Queues, append([]T(nil), qs.list...))
			r.QueueNames = append(r.QueueNames, name)
		}
	}
}
