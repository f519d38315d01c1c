package opts

import (
	"strconv"
	"strings"

	"github.com/nats-io/nkeys"

	"github.com/keelhq/keel/server/conf"
	"github.com/keelhq/keel/server/sublist"
)

// globalAccountName is the account every client belongs to without
// accounts ($G in nats-server); it cannot be configured.
const globalAccountName = "$G"

// accounts decodes the accounts block: a list of names, or a map of name
// to account settings.
func (d *decoder) accounts(it item, o *Options) {
	var accs []*Account
	switch it.v.Kind {
	case conf.KindArray:
		entries, _ := d.list(it)
		seen := make(map[string]bool)
		for _, e := range entries {
			name, ok := d.str(e)
			switch {
			case !ok:
			case name == globalAccountName:
				d.errorf(e, "%q is a Reserved Account", name)
			case seen[name]:
				d.errorf(e, "Duplicate Account Entry: %s", name)
			default:
				seen[name] = true
				accs = append(accs, &Account{Name: name})
			}
		}
	case conf.KindMap:
		for _, e := range it.v.Map.Entries() {
			if e.Referenced {
				continue // a variable definition, as in nats-server
			}
			child := item{path: join(it.path, e.Key), pos: e.Pos, v: e.Value}
			if e.Value.Kind != conf.KindMap {
				d.errorf(child, "Expected map entries for accounts")
				continue
			}
			if e.Key == globalAccountName {
				d.errorf(child, "%q is a Reserved Account", e.Key)
				continue
			}
			accs = append(accs, d.account(child, e.Key))
		}
	default:
		d.typeErr(it, "an array or a map of accounts")
		return
	}
	o.Accounts = append(o.Accounts, accs...)
	withUsers := false
	for _, a := range accs {
		for _, u := range a.Users {
			u.Account = a.Name
		}
		for _, u := range a.Nkeys {
			u.Account = a.Name
		}
		o.Users = append(o.Users, a.Users...)
		o.Nkeys = append(o.Nkeys, a.Nkeys...)
		withUsers = withUsers || len(a.Users) > 0 || len(a.Nkeys) > 0
	}
	d.checkAccountReferences(it, accs)
	if withUsers {
		d.unsupported(it, featAccountsUsers)
	} else if len(accs) > 0 {
		d.unavailable(it, featAccounts)
	}
}

func (d *decoder) account(it item, name string) *Account {
	a := &Account{Name: name}
	d.block(it, fields{
		"nkey": func(it item) {
			s, _ := d.str(it)
			if !nkeys.IsValidPublicAccountKey(s) {
				d.errorf(it, "Not a valid public nkey for an account: %q", s)
				return
			}
			a.Nkey = s
		},
		"users": func(it item) {
			a.Nkeys, a.Users = d.users(it, false)
		},
		"default_permissions": func(it item) { a.DefaultPermissions = d.permissions(it) },
		"imports":             func(it item) { a.Imports = d.imports(it) },
		"exports":             func(it item) { a.Exports = d.exports(it) },
		"jetstream":           func(it item) { a.JetStream = d.accountJetStream(it) },
		"mappings":            func(it item) { a.Mappings = d.mappings(it) },
		"maps":                func(it item) { a.Mappings = d.mappings(it) },
		"limits":              func(it item) { d.accountLimits(it, &a.Limits) },
		"msg_trace":           func(it item) { d.msgTrace(it, a) },
		"trace_dest":          func(it item) { d.msgTrace(it, a) },
	})
	applyDefaultPermissions(a.Users, a.Nkeys, a.DefaultPermissions)
	return a
}

// checkAccountReferences checks that exports and imports name accounts
// that exist, as nats-server does once all accounts are read.
func (d *decoder) checkAccountReferences(it item, accs []*Account) {
	known := make(map[string]bool, len(accs))
	for _, a := range accs {
		known[a.Name] = true
	}
	for _, a := range accs {
		for _, e := range a.Exports {
			kind := "stream"
			if e.Service != "" {
				kind = "service"
			}
			for _, n := range e.Accounts {
				if !known[n] {
					d.errorf(it, "%q account not defined for %s export", n, kind)
				}
			}
		}
		for _, im := range a.Imports {
			if im.StreamAccount != "" && !known[im.StreamAccount] {
				d.errorf(it, "%q account not defined for stream import", im.StreamAccount)
			}
			if im.ServiceAccount != "" && !known[im.ServiceAccount] {
				d.errorf(it, "%q account not defined for service import", im.ServiceAccount)
			}
		}
	}
}

func (d *decoder) exports(it item) []*Export {
	entries, ok := d.list(it)
	if !ok {
		return nil
	}
	var out []*Export
	for _, e := range entries {
		if e.v.Kind != conf.KindMap {
			d.errorf(e, "Export Items should be a map with type entry, got %s", e.v.Describe())
			continue
		}
		x := &Export{}
		respType := func(it item) {
			s, ok := d.str(it)
			if !ok {
				return
			}
			switch strings.ToLower(s) {
			case "single", "singleton":
				x.ResponseType = "singleton"
			case "stream":
				x.ResponseType = "stream"
			case "chunk", "chunked":
				x.ResponseType = "chunked"
			default:
				d.errorf(it, "Unknown response type: %q", s)
			}
		}
		threshold := func(it item) {
			if t, ok := d.duration(it, false); ok {
				x.ResponseThreshold = t
			}
		}
		fs := fields{
			"stream":                 d.subject(&x.Stream),
			"service":                d.subject(&x.Service),
			"response":               respType,
			"response_type":          respType,
			"threshold":              threshold,
			"response_threshold":     threshold,
			"response_max_time":      threshold,
			"response_time":          threshold,
			"accounts":               d.setStrs(&x.Accounts),
			"latency":                func(it item) { x.Latency = d.latency(it) },
			"account_token_position": d.setInt(&x.AccountTokenPosition),
			"allow_trace":            d.setBool(&x.AllowTrace),
		}
		d.block(e, fs)
		switch {
		case x.Stream == "" && x.Service == "":
			d.errorf(e, "export needs a stream or a service")
		case x.Stream != "" && x.Service != "":
			d.errorf(e, "Detected stream %q but already saw a service", x.Stream)
		case x.Stream != "" && (x.ResponseType != "" || x.ResponseThreshold != 0):
			d.errorf(e, "Detected response directive on non-service")
		case x.Stream != "" && x.Latency != nil:
			d.errorf(e, "Detected latency directive on non-service")
		}
		out = append(out, x)
	}
	return out
}

// subject reads a valid subject into dst.
func (d *decoder) subject(dst *string) func(item) {
	return func(it item) {
		s, ok := d.str(it)
		if !ok {
			return
		}
		if !sublist.IsValidSubject(s) {
			d.errorf(it, "Subject %q is not a valid subject", s)
			return
		}
		*dst = s
	}
}

func (d *decoder) latency(it item) *Latency {
	l := &Latency{Sampling: 100}
	if it.v.Kind == conf.KindString {
		l.Subject = it.v.Str
		return l
	}
	if it.v.Kind != conf.KindMap {
		d.errorf(it, "Expected latency entry to be a map/struct or string, got %s", it.v.Describe())
		return nil
	}
	d.block(it, fields{
		"subject": d.setStr(&l.Subject),
		"sampling": func(it item) {
			switch it.v.Kind {
			case conf.KindInt:
				l.Sampling = int(it.v.Int)
			case conf.KindString:
				s := strings.TrimSpace(it.v.Str)
				if strings.EqualFold(s, "headers") {
					l.Sampling, l.Headers = 0, true
					return
				}
				n, err := strconv.Atoi(strings.TrimSuffix(s, "%"))
				if err != nil {
					d.errorf(it, "Failed to parse latency sample: %v", err)
					return
				}
				l.Sampling = n
			default:
				d.errorf(it, "Expected latency sample to be a string or map/struct, got %s", it.v.Describe())
				return
			}
			if l.Sampling < 1 || l.Sampling > 100 {
				d.errorf(it, "bad sampling percentage, should be 1-100")
			}
		},
	})
	if l.Subject == "" {
		d.errorf(it, "Latency subject required, but missing")
	}
	return l
}

func (d *decoder) imports(it item) []*Import {
	entries, ok := d.list(it)
	if !ok {
		return nil
	}
	var out []*Import
	for _, e := range entries {
		if e.v.Kind != conf.KindMap {
			d.errorf(e, "Import Items should be a map with type entry, got %s", e.v.Describe())
			continue
		}
		im := &Import{}
		source := func(acc, subj *string) func(item) {
			return func(it item) {
				if it.v.Kind != conf.KindMap {
					d.errorf(it, "%s entry should be an account map, got %s", it.name(), it.v.Describe())
					return
				}
				d.block(it, fields{"account": d.setStr(acc), "subject": d.setStr(subj)})
				if *acc == "" || *subj == "" {
					d.errorf(it, "Expect an account name and a subject")
				}
			}
		}
		d.block(e, fields{
			"stream":      source(&im.StreamAccount, &im.StreamSubject),
			"service":     source(&im.ServiceAccount, &im.ServiceSubject),
			"prefix":      d.setStr(&im.Prefix),
			"to":          d.setStr(&im.To),
			"share":       d.setBool(&im.Share),
			"allow_trace": d.setBool(&im.AllowTrace),
		})
		switch {
		case im.StreamAccount == "" && im.ServiceAccount == "":
			d.errorf(e, "import needs a stream or a service")
		case im.StreamAccount != "" && im.ServiceAccount != "":
			d.errorf(e, "Detected stream but already saw a service")
		case im.StreamAccount != "" && im.Prefix != "" && im.To != "":
			d.errorf(e, "Stream import can not have a 'prefix' and a 'to' property")
		}
		out = append(out, im)
	}
	return out
}

func (d *decoder) accountJetStream(it item) *AccountJetStream {
	js := &AccountJetStream{MaxMemory: -1, MaxStore: -1, MaxStreams: -1, MaxConsumers: -1, MaxAckPending: -1,
		MemoryMaxStreamBytes: -1, StoreMaxStreamBytes: -1}
	switch it.v.Kind {
	case conf.KindBool:
		js.Enabled = it.v.Bool
		return js
	case conf.KindString:
		switch strings.ToLower(it.v.Str) {
		case "enabled", "enable":
			js.Enabled = true
		case "disabled", "disable":
		default:
			d.errorf(it, "Expected 'enabled' or 'disabled' for string value, got '%s'", it.v.Str)
		}
		return js
	case conf.KindMap:
	default:
		d.errorf(it, "Expected map, bool or string to define JetStream, got %s", it.v.Describe())
		return nil
	}
	js.Enabled = true
	size := func(dst *int64) func(item) {
		return func(it item) {
			if it.v.Kind != conf.KindInt {
				d.errorf(it, "Expected a parseable size for %q, got %s", it.name(), it.v.Describe())
				return
			}
			*dst = it.v.Int
		}
	}
	count := func(dst *int) func(item) {
		return func(it item) {
			var n int64
			size(&n)(it)
			*dst = int(n)
		}
	}
	fs := fields{
		"max_bytes_required": d.setBool(&js.MaxBytesRequired),
		"max_stream_bytes":   d.setBool(&js.MaxBytesRequired),
		"max_bytes":          d.setBool(&js.MaxBytesRequired),
		"max_ack_pending":    count(&js.MaxAckPending),
		"cluster_traffic": func(it item) {
			if s, ok := d.str(it); ok {
				if s != "system" && s != "owner" && s != "" {
					d.errorf(it, "Expected 'system' or 'owner' string value for %q, got %v", it.name(), s)
					return
				}
				js.ClusterTraffic = s
			}
		},
	}
	for _, k := range []string{"max_memory", "max_mem", "mem", "memory"} {
		fs[k] = size(&js.MaxMemory)
	}
	for _, k := range []string{"max_store", "max_file", "max_disk", "store", "disk"} {
		fs[k] = size(&js.MaxStore)
	}
	fs["max_streams"], fs["streams"] = count(&js.MaxStreams), count(&js.MaxStreams)
	fs["max_consumers"], fs["consumers"] = count(&js.MaxConsumers), count(&js.MaxConsumers)
	fs["mem_max_stream_bytes"], fs["memory_max_stream_bytes"] = size(&js.MemoryMaxStreamBytes), size(&js.MemoryMaxStreamBytes)
	fs["disk_max_stream_bytes"], fs["store_max_stream_bytes"] = size(&js.StoreMaxStreamBytes), size(&js.StoreMaxStreamBytes)
	d.block(it, fs)
	return js
}

func (d *decoder) accountLimits(it item, l *AccountLimits) {
	if it.v.Kind != conf.KindMap {
		d.errorf(it, "Expected account limits to be a map/struct, got %s", it.v.Describe())
		return
	}
	d.block(it, fields{
		"max_connections":   d.setInt(&l.MaxConn),
		"max_conn":          d.setInt(&l.MaxConn),
		"max_subscriptions": d.setInt(&l.MaxSubs),
		"max_subs":          d.setInt(&l.MaxSubs),
		"max_payload":       d.setInt(&l.MaxPayload),
		"max_pay":           d.setInt(&l.MaxPayload),
		"max_leafnodes":     d.setInt(&l.MaxLeafNodes),
		"max_leafs":         d.setInt(&l.MaxLeafNodes),
	})
}

func (d *decoder) msgTrace(it item, a *Account) {
	dest := func(it item) {
		s, ok := d.str(it)
		if !ok {
			return
		}
		if !sublist.IsValidPublishSubject(s) {
			d.errorf(it, "Trace destination %q is not valid", s)
			return
		}
		a.TraceDest = s
	}
	switch it.v.Kind {
	case conf.KindString:
		dest(it)
	case conf.KindMap:
		d.block(it, fields{
			"dest": dest,
			"sampling": func(it item) {
				var n int64
				switch it.v.Kind {
				case conf.KindInt:
					n = it.v.Int
				case conf.KindString:
					v, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(it.v.Str), "%"))
					if err != nil {
						d.errorf(it, "Invalid trace destination sampling value %q", it.v.Str)
						return
					}
					n = int64(v)
				default:
					d.errorf(it, "Trace destination sampling field %q should be an integer or a percentage, got %s", it.name(), it.v.Describe())
					return
				}
				if n < 1 || n > 100 {
					d.errorf(it, "Trace destination sampling value %d is invalid, needs to be [1..100]", n)
					return
				}
				a.TraceSampling = int(n)
			},
		})
	default:
		d.errorf(it, "Expected account message trace %q to be a string or a map/struct, got %s", it.name(), it.v.Describe())
		return
	}
	switch {
	case a.TraceDest != "" && a.TraceSampling == 0:
		a.TraceSampling = 100
	case a.TraceSampling > 0 && a.TraceDest == "":
		d.warnf(it, "Trace destination sampling ignored since no destination was set")
		a.TraceSampling = 0
	}
}

// topMappings decodes top-level mappings (for the global account).
func (d *decoder) topMappings(it item, o *Options) {
	o.Mappings = append(o.Mappings, d.mappings(it)...)
	d.unavailable(it, featMappings)
}

// mappings decodes subject mappings: subject to destination, to
// {dest, weight, cluster}, or to a list of those.
func (d *decoder) mappings(it item) []*Mapping {
	if it.v.Kind != conf.KindMap {
		d.typeErr(it, "a map of subject mappings")
		return nil
	}
	var out []*Mapping
	for _, e := range it.v.Map.Entries() {
		child := item{path: join(it.path, e.Key), pos: e.Pos, v: e.Value}
		if !sublist.IsValidSubject(e.Key) {
			d.errorf(child, "Subject %q is not a valid subject", e.Key)
			continue
		}
		m := &Mapping{Subject: e.Key}
		switch e.Value.Kind {
		case conf.KindString:
			m.Destinations = []MapDest{{Subject: e.Value.Str, Weight: 100}}
		case conf.KindMap:
			if md, ok := d.mapDest(child); ok {
				m.Destinations = []MapDest{md}
			}
		case conf.KindArray:
			items, _ := d.list(child)
			for _, x := range items {
				if md, ok := d.mapDest(x); ok {
					m.Destinations = append(m.Destinations, md)
				}
			}
		default:
			d.errorf(child, "Unknown type %s for mapping destination", e.Value.Kind)
			continue
		}
		out = append(out, m)
	}
	return out
}

func (d *decoder) mapDest(it item) (MapDest, bool) {
	if it.v.Kind != conf.KindMap {
		d.errorf(it, "Expected an entry for the mapping destination")
		return MapDest{}, false
	}
	var md MapDest
	weightSet := false
	d.block(it, fields{
		"dest":        d.setStr(&md.Subject),
		"destination": d.setStr(&md.Subject),
		"cluster":     d.setStr(&md.Cluster),
		"weight": func(it item) {
			var w int64
			switch it.v.Kind {
			case conf.KindInt:
				w = it.v.Int
			case conf.KindString:
				n, err := strconv.ParseInt(strings.TrimSuffix(it.v.Str, "%"), 10, 64)
				if err != nil {
					d.errorf(it, "Invalid weight %q for mapping destination", it.v.Str)
					return
				}
				w = n
			default:
				d.errorf(it, "Unknown entry type for weight of %s", it.v.Describe())
				return
			}
			if w < 0 || w > 100 {
				d.errorf(it, "Invalid weight %d for mapping destination", w)
				return
			}
			md.Weight, weightSet = uint8(w), true
		},
	})
	if !weightSet {
		d.errorf(it, "Missing weight for mapping destination %q", md.Subject)
		return md, false
	}
	return md, true
}
