package monitor_test

import "strings"

// Where Keel's answers may differ in shape from the reference's, and why.
// Each entry is a known gap or a field present or absent by value; the
// reason says which.

var (
	noSystemAccount = "Keel has no system account yet"
	syncPolicy      = "omitted by value: Keel syncs before every ack by default (sync_always), the reference every 2 minutes (sync_interval)"
	noConsumers     = "the consumer layer is not built yet"
)

var varzRules = shapeRules{
	tolerated: map[string]string{
		"system_account":                 noSystemAccount,
		"feature_flags":                  "the reference lists its built-in feature flags; Keel only configured ones",
		"jetstream.config.sync_always":   syncPolicy,
		"jetstream.config.sync_interval": syncPolicy,
	},
	// Keys are the endpoints requested so far, which differ by design.
	opaque: map[string]bool{"http_req_stats": true},
}

var jszRules = shapeRules{
	tolerated: map[string]string{
		"config.sync_always":   syncPolicy,
		"config.sync_interval": syncPolicy,
		"consumers_leader":     noConsumers + " (omitted when zero)",
		"account_details[].stream_detail[].consumer_detail": noConsumers,
	},
	// Stream configurations are the JetStream layer's JSON, compared with
	// the reference by its own tests of $JS.API.
	opaque: map[string]bool{"account_details[].stream_detail[].config": true},
}

var accountzRules = shapeRules{
	tolerated: map[string]string{
		"system_account":         noSystemAccount,
		"account_detail.imports": "the reference's imports are of its system account's services",
	},
}

// Without clients, the reference lists its system account's internal
// subscriptions, which Keel does not have.
var emptySubszRules = shapeRules{tolerated: map[string]string{"subscriptions_list": noSystemAccount}}

func rulesFor(name string) shapeRules {
	switch {
	case name == "varz" || name == "nojs_varz":
		return varzRules
	case name == "nojs_subsz_subs":
		return emptySubszRules
	case strings.HasPrefix(name, "jsz") || strings.HasPrefix(name, "nojs_jsz"):
		return jszRules
	case strings.HasPrefix(name, "accountz"):
		return accountzRules
	}
	return shapeRules{}
}
