package jetstream

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Schedule patterns (Nats-Schedule), as nats-server reads them:
//
//	@at <RFC 3339 time>     once (no time zone header allowed)
//	@every <duration>       repeating, at least one second apart (no time zone)
//	@yearly @annually @monthly @weekly @daily @midnight @hourly
//	<sec> <min> <hour> <day of month> <month> <day of week>
//
// Cron fields take '*' or '?', numbers, names (jan..dec, sun..sat), ranges
// a-b, lists a,b and steps x/n. When neither day field is a wildcard, a
// day matching either fires (as in classic cron); otherwise both must.

// cronSpec is a parsed cron pattern: one bit per allowed value.
type cronSpec struct {
	sec, min, hour, dom, month, dow uint64
	domAny, dowAny                  bool
}

type cronField struct {
	lo, hi int
	names  map[string]int
}

var (
	cronSec   = cronField{0, 59, nil}
	cronMin   = cronField{0, 59, nil}
	cronHour  = cronField{0, 23, nil}
	cronDom   = cronField{1, 31, nil}
	cronMonth = cronField{1, 12, map[string]int{"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
		"jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12}}
	cronDow = cronField{0, 6, map[string]int{"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}}
)

var cronAliases = map[string]string{
	"@yearly": "0 0 0 1 1 *", "@annually": "0 0 0 1 1 *", "@monthly": "0 0 0 1 * *",
	"@weekly": "0 0 0 * * 0", "@daily": "0 0 0 * * *", "@midnight": "0 0 0 * * *", "@hourly": "0 0 * * * *",
}

func parseCronSpec(pattern string) (cronSpec, error) {
	if alias, ok := cronAliases[pattern]; ok {
		pattern = alias
	}
	f := strings.Fields(pattern)
	if len(f) != 6 {
		return cronSpec{}, fmt.Errorf("cron pattern needs 6 fields, has %d", len(f))
	}
	var c cronSpec
	var err error
	parse := func(s string, fd cronField, dst *uint64, anyFlag *bool) {
		if err != nil {
			return
		}
		var wild bool
		*dst, wild, err = fd.parse(s)
		if anyFlag != nil {
			*anyFlag = wild
		}
	}
	parse(f[0], cronSec, &c.sec, nil)
	parse(f[1], cronMin, &c.min, nil)
	parse(f[2], cronHour, &c.hour, nil)
	parse(f[3], cronDom, &c.dom, &c.domAny)
	parse(f[4], cronMonth, &c.month, nil)
	parse(f[5], cronDow, &c.dow, &c.dowAny)
	return c, err
}

// parse reads one field; wild reports a bare '*' or '?' (or one with step
// 1) among its terms.
func (fd cronField) parse(s string) (bits uint64, wild bool, err error) {
	for _, term := range strings.Split(s, ",") {
		if term == "" {
			continue
		}
		rng, stepStr, hasStep := strings.Cut(term, "/")
		step := 1
		if hasStep {
			if step, err = fd.num(stepStr, nil); err != nil || step == 0 {
				return 0, false, fmt.Errorf("bad step in %q", term)
			}
		}
		lo, hi := fd.lo, fd.hi
		switch {
		case rng == "*" || rng == "?":
			if step == 1 {
				wild = true
			}
		default:
			a, b, isRange := strings.Cut(rng, "-")
			if lo, err = fd.num(a, fd.names); err != nil {
				return 0, false, err
			}
			hi = lo
			switch {
			case isRange:
				if strings.Contains(b, "-") {
					return 0, false, fmt.Errorf("too many hyphens in %q", term)
				}
				if hi, err = fd.num(b, fd.names); err != nil {
					return 0, false, err
				}
			case hasStep:
				hi = fd.hi // "n/step" runs to the end of the range
			}
		}
		if lo < fd.lo || hi > fd.hi || lo > hi {
			return 0, false, fmt.Errorf("%q out of range %d-%d", term, fd.lo, fd.hi)
		}
		for v := lo; v <= hi; v += step {
			bits |= 1 << uint(v)
		}
	}
	if bits == 0 {
		return 0, false, errors.New("empty cron field")
	}
	return bits, wild, nil
}

func (fd cronField) num(s string, names map[string]int) (int, error) {
	if v, ok := names[strings.ToLower(s)]; ok {
		return v, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("bad number %q", s)
	}
	return n, nil
}

func (c *cronSpec) dayOK(t time.Time) bool {
	d := c.dom&(1<<uint(t.Day())) != 0
	w := c.dow&(1<<uint(t.Weekday())) != 0
	if c.domAny || c.dowAny {
		return d && w
	}
	return d || w
}

// next is the first time strictly after from that the pattern matches, in
// loc, within five years.
func (c *cronSpec) next(from time.Time, loc *time.Location) (time.Time, error) {
	t := from.In(loc).Truncate(time.Second).Add(time.Second)
	limit := t.Year() + 5
	for t.Year() <= limit {
		switch {
		case c.month&(1<<uint(t.Month())) == 0:
			t = time.Date(t.Year(), t.Month()+1, 1, 0, 0, 0, 0, loc)
		case !c.dayOK(t):
			t = time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, loc)
		case c.hour&(1<<uint(t.Hour())) == 0:
			t = time.Date(t.Year(), t.Month(), t.Day(), t.Hour()+1, 0, 0, 0, loc)
		case c.min&(1<<uint(t.Minute())) == 0:
			t = t.Truncate(time.Minute).Add(time.Minute)
		case c.sec&(1<<uint(t.Second())) == 0:
			t = t.Add(time.Second)
		default:
			return t, nil
		}
	}
	return time.Time{}, errors.New("cron pattern never matches")
}

// nextSchedule reads a schedule pattern relative to ts (unix ns): when it
// fires next, whether it repeats, and whether the pattern is valid. A
// repeating schedule that would have fired already (after a restart) fires
// once, one interval from now, rather than catching up.
func nextSchedule(pattern string, loc *time.Location, ts int64) (time.Time, bool, bool) {
	if pattern == "" {
		return time.Time{}, false, true
	}
	now := time.Now().UTC()
	if at, ok := strings.CutPrefix(pattern, "@at "); ok {
		if loc != nil {
			return time.Time{}, false, false
		}
		t, err := time.Parse(time.RFC3339, at)
		return t, false, err == nil
	}
	if every, ok := strings.CutPrefix(pattern, "@every "); ok {
		d, err := time.ParseDuration(every)
		if loc != nil || err != nil || d < time.Second {
			return time.Time{}, false, false
		}
		next := time.Unix(0, ts).UTC().Round(time.Second).Add(d)
		if next.Before(now) {
			next = now.Round(time.Second).Add(d)
		}
		return next, true, true
	}
	spec, err := parseCronSpec(pattern)
	if err != nil {
		return time.Time{}, false, false
	}
	if loc == nil {
		loc = time.UTC
	}
	next, err := spec.next(time.Unix(0, ts), loc)
	if err == nil && next.Before(now) {
		next, err = spec.next(now.Round(time.Second), loc)
	}
	return next, true, err == nil
}
