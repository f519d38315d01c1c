package jsapi

import (
	"fmt"
	"strings"
)

// Subjects of the JetStream API. The T-suffixed forms are fmt templates
// (stream, then consumer); the others are the subscriptions that serve them.
const (
	APIAll        = "$JS.API.>"
	APIDomainAllT = "$JS.%s.API.>"

	APIAccountInfo = "$JS.API.INFO"

	APIStreamCreate          = "$JS.API.STREAM.CREATE.*"
	APIStreamCreateT         = "$JS.API.STREAM.CREATE.%s"
	APIStreamUpdate          = "$JS.API.STREAM.UPDATE.*"
	APIStreamUpdateT         = "$JS.API.STREAM.UPDATE.%s"
	APIStreamNames           = "$JS.API.STREAM.NAMES"
	APIStreamList            = "$JS.API.STREAM.LIST"
	APIStreamInfo            = "$JS.API.STREAM.INFO.*"
	APIStreamInfoT           = "$JS.API.STREAM.INFO.%s"
	APIStreamDelete          = "$JS.API.STREAM.DELETE.*"
	APIStreamDeleteT         = "$JS.API.STREAM.DELETE.%s"
	APIStreamPurge           = "$JS.API.STREAM.PURGE.*"
	APIStreamPurgeT          = "$JS.API.STREAM.PURGE.%s"
	APIStreamSnapshot        = "$JS.API.STREAM.SNAPSHOT.*"
	APIStreamSnapshotT       = "$JS.API.STREAM.SNAPSHOT.%s"
	APIStreamRestore         = "$JS.API.STREAM.RESTORE.*"
	APIStreamRestoreT        = "$JS.API.STREAM.RESTORE.%s"
	APIStreamMsgDelete       = "$JS.API.STREAM.MSG.DELETE.*"
	APIStreamMsgDeleteT      = "$JS.API.STREAM.MSG.DELETE.%s"
	APIStreamMsgGet          = "$JS.API.STREAM.MSG.GET.*"
	APIStreamMsgGetT         = "$JS.API.STREAM.MSG.GET.%s"
	APIStreamRemovePeer      = "$JS.API.STREAM.PEER.REMOVE.*"
	APIStreamRemovePeerT     = "$JS.API.STREAM.PEER.REMOVE.%s"
	APIStreamEvacuatePeer    = "$JS.API.STREAM.PEER.EVACUATE.*"
	APIStreamEvacuatePeerT   = "$JS.API.STREAM.PEER.EVACUATE.%s"
	APIStreamCancelMove      = "$JS.API.STREAM.CANCEL_MOVE.*"
	APIStreamCancelMoveT     = "$JS.API.STREAM.CANCEL_MOVE.%s"
	APIStreamLeaderStepDown  = "$JS.API.STREAM.LEADER.STEPDOWN.*"
	APIStreamLeaderStepDownT = "$JS.API.STREAM.LEADER.STEPDOWN.%s"

	// APIDirectGet takes a JSApiMsgGetRequest body; APIDirectGetLastBySubject names
	// the stream and the subject in the request subject and takes no body.
	APIDirectGet               = "$JS.API.DIRECT.GET.*"
	APIDirectGetT              = "$JS.API.DIRECT.GET.%s"
	APIDirectGetLastBySubject  = "$JS.API.DIRECT.GET.*.>"
	APIDirectGetLastBySubjectT = "$JS.API.DIRECT.GET.%s.%s"
	APIDirectGetPrefix         = "$JS.API.DIRECT.GET"

	APIConsumerCreate          = "$JS.API.CONSUMER.CREATE.*"
	APIConsumerCreateT         = "$JS.API.CONSUMER.CREATE.%s"
	APIConsumerCreateEx        = "$JS.API.CONSUMER.CREATE.*.>"
	APIConsumerCreateExT       = "$JS.API.CONSUMER.CREATE.%s.%s.%s"
	APIDurableCreate           = "$JS.API.CONSUMER.DURABLE.CREATE.*.*"
	APIDurableCreateT          = "$JS.API.CONSUMER.DURABLE.CREATE.%s.%s"
	APIConsumerNames           = "$JS.API.CONSUMER.NAMES.*"
	APIConsumerNamesT          = "$JS.API.CONSUMER.NAMES.%s"
	APIConsumerList            = "$JS.API.CONSUMER.LIST.*"
	APIConsumerListT           = "$JS.API.CONSUMER.LIST.%s"
	APIConsumerInfo            = "$JS.API.CONSUMER.INFO.*.*"
	APIConsumerInfoT           = "$JS.API.CONSUMER.INFO.%s.%s"
	APIConsumerDelete          = "$JS.API.CONSUMER.DELETE.*.*"
	APIConsumerDeleteT         = "$JS.API.CONSUMER.DELETE.%s.%s"
	APIConsumerPause           = "$JS.API.CONSUMER.PAUSE.*.*"
	APIConsumerPauseT          = "$JS.API.CONSUMER.PAUSE.%s.%s"
	APIConsumerUnpin           = "$JS.API.CONSUMER.UNPIN.*.*"
	APIConsumerUnpinT          = "$JS.API.CONSUMER.UNPIN.%s.%s"
	APIConsumerResetT          = "$JS.API.CONSUMER.RESET.%s.%s"
	APIConsumerMsgNextT        = "$JS.API.CONSUMER.MSG.NEXT.%s.%s"
	APIConsumerMsgNextPrefix   = "$JS.API.CONSUMER.MSG.NEXT."
	APIConsumerLeaderStepDown  = "$JS.API.CONSUMER.LEADER.STEPDOWN.*.*"
	APIConsumerLeaderStepDownT = "$JS.API.CONSUMER.LEADER.STEPDOWN.%s.%s"
	APIConsumerRemovePeer      = "$JS.API.CONSUMER.PEER.REMOVE.*.*"
	APIConsumerRemovePeerT     = "$JS.API.CONSUMER.PEER.REMOVE.%s.%s"
	APIConsumerEvacuatePeer    = "$JS.API.CONSUMER.PEER.EVACUATE.*.*"
	APIConsumerEvacuatePeerT   = "$JS.API.CONSUMER.PEER.EVACUATE.%s.%s"

	// System account only.
	APIMetaLeaderStepDown       = "$JS.API.META.LEADER.STEPDOWN"
	APIMetaRescue               = "$JS.API.META.RESCUE"
	APIServerRemove             = "$JS.API.SERVER.REMOVE"
	APIServerEvacuate           = "$JS.API.SERVER.EVACUATE"
	APIAccountPurge             = "$JS.API.ACCOUNT.PURGE.*"
	APIAccountPurgeT            = "$JS.API.ACCOUNT.PURGE.%s"
	APIAccountStreamMove        = "$JS.API.ACCOUNT.STREAM.MOVE.*.*"
	APIAccountStreamMoveT       = "$JS.API.ACCOUNT.STREAM.MOVE.%s.%s"
	APIAccountStreamCancelMove  = "$JS.API.ACCOUNT.STREAM.CANCEL_MOVE.*.*"
	APIAccountStreamCancelMoveT = "$JS.API.ACCOUNT.STREAM.CANCEL_MOVE.%s.%s"
	APIAccountAPIPrefix         = "$JS.API.ACCOUNT."
)

// Subjects outside $JS.API that JetStream uses.
const (
	// SnapshotAckT is where a snapshot's chunks are acked: stream, then a
	// unique token; the sender appends more tokens per chunk.
	SnapshotAckT = "$JS.SNAPSHOT.ACK.%s.%s"
	// RestoreDeliverT receives a restore's chunks: stream, unique token.
	RestoreDeliverT = "$JS.SNAPSHOT.RESTORE.%s.%s"

	AckT              = "$JS.ACK.%s.%s"
	AckPrefix         = "$JS.ACK."
	FlowControlPrefix = "$JS.FC."
	ReservedPrefix    = "$JS."
)

// StreamNameFromSubject is the stream token of $JS.API.STREAM.<OP>.<stream>
// and $JS.API.CONSUMER.<OP>.<stream>... (the fifth token), or "".
func StreamNameFromSubject(subject string) string { return tokenAt(subject, 5) }

// ConsumerNameFromSubject is the consumer token of
// $JS.API.CONSUMER.<OP>.<stream>.<consumer> (the sixth token), or "".
func ConsumerNameFromSubject(subject string) string { return tokenAt(subject, 6) }

// MsgStreamNameFromSubject is the stream token of $JS.API.STREAM.MSG.GET.<stream>
// and $JS.API.STREAM.MSG.DELETE.<stream> (the sixth token), or "".
func MsgStreamNameFromSubject(subject string) string { return tokenAt(subject, 6) }

// DirectGetSubjectKey splits $JS.API.DIRECT.GET.<stream>.<subject> into its
// stream and subject; ok is false when either is missing.
func DirectGetSubjectKey(subject string) (stream, key string, ok bool) {
	rest, found := strings.CutPrefix(subject, APIDirectGetPrefix+".")
	if !found {
		return "", "", false
	}
	stream, key, found = strings.Cut(rest, ".")
	return stream, key, found && stream != "" && key != ""
}

// tokenAt returns the n-th (1-based) dot-separated token of s, or "".
func tokenAt(s string, n int) string {
	for i := 1; ; i++ {
		tok, rest, more := strings.Cut(s, ".")
		if i == n {
			return tok
		}
		if !more {
			return ""
		}
		s = rest
	}
}

// DomainMappings maps the subjects of a JetStream domain's API onto the
// local ones: with domain "hub", $JS.hub.API.STREAM.INFO.X is served as
// $JS.API.STREAM.INFO.X. KV and object store subjects keep their names
// (they have their own prefixes, which the domain only qualifies).
func DomainMappings(domain string) map[string]string {
	m := make(map[string]string, 9)
	for from, to := range map[string]string{
		"INFO":       APIAccountInfo,
		"STREAM.>":   "$JS.API.STREAM.>",
		"CONSUMER.>": "$JS.API.CONSUMER.>",
		"DIRECT.>":   "$JS.API.DIRECT.>",
		"META.>":     "$JS.API.META.>",
		"SERVER.>":   "$JS.API.SERVER.>",
		"ACCOUNT.>":  "$JS.API.ACCOUNT.>",
		"$KV.>":      "$KV.>",
		"$OBJ.>":     "$OBJ.>",
	} {
		m[fmt.Sprintf("$JS.%s.API.%s", domain, from)] = to
	}
	return m
}
