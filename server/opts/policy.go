package opts

import (
	"fmt"

	"github.com/keelhq/keel/server/conf"
)

// What Keel does with settings whose feature is not built yet.
//
// Protection first: a setting that restricts who may connect or what they
// may do, beyond one user/password or one token, makes loading fail. If
// Keel accepted it and ran without enforcing it, the server would be open
// where the operator believes it is closed. Everything else that is not
// available yet (clustering, gateways, leafnodes, websocket, MQTT, ...)
// loads with a warning naming it, which the server logs at start-up.
//
// When a feature lands, its line here changes (or the call site goes).

// feature names something not built yet, for messages.
type feature struct {
	name   string
	plural bool
	note   string // appended to the warning, e.g. what happens instead
}

func (f feature) is() string {
	if f.plural {
		return "are"
	}
	return "is"
}

// unsupported fails loading: the setting asks for protection Keel cannot
// give yet.
func (d *decoder) unsupported(it item, f feature) {
	d.errorf(it, "%s %s not supported yet: Keel refuses to start rather than run without the protection it asks for (only one user/password or one token is supported)",
		f.name, f.is())
}

// unavailable warns: the setting is parsed but has no effect yet.
func (d *decoder) unavailable(it item, f feature) {
	note := ""
	if f.note != "" {
		note = "; " + f.note
	}
	e := &conf.Error{Pos: it.pos, Key: it.path,
		Msg: fmt.Sprintf("%s %s not available yet in Keel, the setting has no effect%s", f.name, f.is(), note)}
	d.warns = append(d.warns, e.Error())
}

// Features that protect: setting them fails.
var (
	featUsers         = feature{name: "users lists", plural: true}
	featNkeys         = feature{name: "nkey users", plural: true}
	featPermissions   = feature{name: "permissions", plural: true}
	featAuthCallout   = feature{name: "auth callout"}
	featProxyRequired = feature{name: "proxy_required authentication"}
	featNoAuthUser    = feature{name: "no_auth_user"}
	featAccountsUsers = feature{name: "accounts with users", plural: true}
	featTLS           = feature{name: "TLS"}
	featOperator      = feature{name: "operator mode (trusted operators and keys)"}
	featSentinel      = feature{name: "default_sentinel (JWT authentication)"}
	featJetStreamTPM  = feature{name: "JetStream encryption keys sealed by a TPM", plural: true}
)

// Features that do not protect: setting them warns.
var (
	featResolver      = feature{name: "account resolvers", plural: true, note: "they only serve operator mode"}
	featAccounts      = feature{name: "multiple accounts", plural: true, note: "all clients use the global account"}
	featMappings      = feature{name: "subject mappings", plural: true}
	featSystemAccount = feature{name: "the system account"}
	featCluster       = feature{name: "clustering", note: "this server runs standalone"}
	featGateway       = feature{name: "gateways", plural: true}
	featLeafNodes     = feature{name: "leafnodes", plural: true}
	featWebsocket     = feature{name: "websocket"}
	featMQTT          = feature{name: "MQTT"}
	featHTTPS         = feature{name: "HTTPS monitoring"}
	featProxyProtocol = feature{name: "the PROXY protocol"}
	featProxies       = feature{name: "trusted proxies", plural: true}
	featOCSP          = feature{name: "OCSP"}
	featFeatureFlags  = feature{name: "feature flags", plural: true}
	featJSDomains     = feature{name: "default_js_domain"}
	featAllowNonTLS   = feature{name: "allow_non_tls"}
	featClosedClients = feature{name: "max_closed_clients", note: "it sizes the closed connections kept for monitoring"}
)

// Features whose settings are complete here but whose serving code is not
// wired into the server yet: loading warns when they are turned on. The
// package that brings one in sets its flag to true.
var (
	JetStreamWired  = false
	MonitoringWired = false
)

// warnUnwired adds the warnings for enabled features that are not wired.
func (o *Options) warnUnwired() {
	if o.JetStream && !JetStreamWired {
		o.Warnings = append(o.Warnings, "JetStream is not available yet in Keel, the setting has no effect")
	}
	if o.HTTPPort != 0 && !MonitoringWired {
		o.Warnings = append(o.Warnings, "HTTP monitoring is not available yet in Keel, the setting has no effect")
	}
}
