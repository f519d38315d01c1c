package jsapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
)

// TestErrorCodes pins representative errors to the reference's numbers
// and texts (nats-server v2.15.3 errors.json).
func TestErrorCodes(t *testing.T) {
	cases := []struct {
		err     *ApiError
		code    int
		errCode ErrCode
		desc    string
	}{
		{ErrAccountResourcesExceeded(), 400, 10002, "resource limits exceeded for account"},
		{ErrBadRequest(), 400, 10003, "bad request"},
		{ErrClusterNotAvail(), 503, 10008, "JetStream system temporarily unavailable"},
		{ErrConsumerNotFound(), 404, 10014, "consumer not found"},
		{ErrSnapshotDeliverSubjectInvalid(), 400, 10015, "deliver subject not valid"},
		{ErrInsufficientResources(), 503, 10023, "insufficient resources"},
		{ErrInvalidJSON(errors.New("unexpected EOF")), 400, 10025, "invalid JSON: unexpected EOF"},
		{ErrMaximumConsumersLimit(), 400, 10026, "maximum consumers limit reached"},
		{ErrMaximumStreamsLimit(), 400, 10027, "maximum number of streams reached"},
		{ErrMemoryResourcesExceeded(), 500, 10028, "insufficient memory resources available"},
		{ErrMirrorWithSubjects(), 400, 10034, "stream mirrors can not contain subjects"},
		{ErrNoMessageFound(), 404, 10037, "no message found"},
		{ErrNotEmptyRequest(), 400, 10038, "expected an empty request payload"},
		{ErrNotEnabledForAccount(), 503, 10039, "JetStream not enabled for account"},
		{ErrSequenceNotFound(42), 400, 10043, "sequence 42 not found"},
		{ErrStorageResourcesExceeded(), 500, 10047, "insufficient storage resources available"},
		{ErrStreamCreate(errors.New("boom")), 500, 10049, "boom"},
		{ErrStreamInvalidConfig(errors.New("invalid subject")), 500, 10052, "invalid subject"},
		{ErrStreamMessageExceedsMaximum(), 400, 10054, "message size exceeds maximum allowed"},
		{ErrStreamMirrorNotUpdatable(), 400, 10055, "stream mirror configuration can not be updated"},
		{ErrStreamMismatch(), 400, 10056, "stream name in subject does not match request"},
		{ErrStreamNameExist(), 400, 10058, "stream name already in use with a different configuration"},
		{ErrStreamNotFound(), 404, 10059, "stream not found"},
		{ErrStreamNotMatch(), 400, 10060, "expected stream does not match"},
		{ErrStreamSequenceNotMatch(), 503, 10063, "expected stream sequence does not match"},
		{ErrStreamSubjectOverlap(), 400, 10065, "subjects overlap with an existing stream"},
		{ErrStreamWrongLastMsgID("abc"), 400, 10070, "wrong last msg ID: abc"},
		{ErrStreamWrongLastSequence(7), 400, 10071, "wrong last sequence: 7"},
		{ErrStreamReplicasNotSupported(), 500, 10074, "replicas > 1 not supported in non-clustered mode"},
		{ErrNotEnabled(), 503, 10076, "JetStream not enabled"},
		{ErrStreamSealed(), 400, 10109, "invalid operation on sealed stream"},
		{ErrStreamMaxBytesRequired(), 400, 10113, "account requires a stream config to have max bytes set"},
		{ErrStreamNameContainsPathSeparators(), 400, 10128, "Stream name can not contain path separators"},
		{ErrStreamNameExistRestoreFailed(), 400, 10130, "stream name already in use, cannot restore"},
		{ErrReplicasCountCannotBeNegative(), 400, 10133, "replicas count cannot be negative"},
		{ErrPedantic(errors.New("x")), 400, 10157, "pedantic mode: x"},
		{ErrStreamDuplicateMessageConflict(), 409, 10158, "duplicate message id is in process"},
		{ErrStreamWrongLastSequenceConstant(), 400, 10164, "wrong last sequence"},
		{ErrMessageTTLInvalid(), 400, 10165, "invalid per-message TTL"},
		{ErrMessageTTLDisabled(), 400, 10166, "per-message TTL is disabled"},
		{ErrStreamTooManyRequests(), 429, 10167, "too many requests"},
		{ErrMessageIncrDisabled(), 400, 10168, "message counters is disabled"},
		{ErrAtomicPublishDisabled(), 400, 10174, "atomic publish is disabled"},
		{ErrAtomicPublishUnsupportedHeaderBatch("Nats-Msg-Id"), 400, 10177, "atomic publish unsupported header used: Nats-Msg-Id"},
		{ErrStreamMinLastSeq(), 412, 10180, "min last sequence"},
		{ErrRequiredApiLevel(), 412, 10185, "JetStream minimum api level required"},
		{ErrMessageSchedulesDisabled(), 400, 10188, "message schedules is disabled"},
		{ErrStreamOfflineReason(errors.New("unsupported")), 500, 10194, "stream is offline: unsupported"},
		{ErrBatchPublishDisabled(), 400, 10205, "batch publish is disabled"},
		{ErrRestoreSubscribeFailed("$JS.SNAPSHOT.RESTORE.S.x", errors.New("denied")), 500, 10042,
			"JetStream unable to subscribe to restore snapshot $JS.SNAPSHOT.RESTORE.S.x: denied"},
		{ErrStreamExternalDelPrefixOverlaps("dlv", "foo"), 400, 10022,
			"stream external delivery prefix dlv overlaps with stream subject foo"},
		{ErrConsumerMaxPendingAckExcess(1000), 400, 10121, "consumer max ack pending exceeds system limit of 1000"},
		{ErrSourceConsumerFlowControlStalled(), 500, 10228, "stream source consumer stalled on flow control"},
	}
	for _, c := range cases {
		t.Run(ErrorName(c.errCode), func(t *testing.T) {
			if c.err.Code != c.code || c.err.ErrCode != c.errCode || c.err.Description != c.desc {
				t.Errorf("got %d/%d %q, want %d/%d %q", c.err.Code, c.err.ErrCode, c.err.Description, c.code, c.errCode, c.desc)
			}
		})
	}
}

func TestErrorTable(t *testing.T) {
	if len(errorTable) != 227 {
		t.Errorf("table has %d errors, the reference has 227", len(errorTable))
	}
	statuses := map[int]bool{400: true, 404: true, 409: true, 412: true, 429: true, 500: true, 503: true}
	names := map[string]bool{}
	for code, d := range errorTable {
		if code < 10002 || code > 10228 {
			t.Errorf("%s: err_code %d outside the reference's range", d.name, code)
		}
		if !statuses[d.status] {
			t.Errorf("%s: status %d", d.name, d.status)
		}
		if names[d.name] {
			t.Errorf("duplicate name %s", d.name)
		}
		names[d.name] = true
		if e, ok := Lookup(code); !ok || e.ErrCode != code || e.Code != d.status {
			t.Errorf("Lookup(%d) = %v, %v", code, e, ok)
		}
	}
	if _, ok := Lookup(1); ok {
		t.Error("Lookup of an unknown code succeeded")
	}
}

func TestErrorIdentity(t *testing.T) {
	a, b := ErrStreamNotFound(), ErrStreamNotFound()
	if a == b {
		t.Fatal("constructors must return fresh values")
	}
	a.Description = "changed"
	if ErrStreamNotFound().Description != "stream not found" {
		t.Fatal("changing one error changed the table")
	}
	wrapped := fmt.Errorf("lookup: %w", ErrStreamNotFound())
	if !errors.Is(wrapped, ErrStreamNotFound()) || errors.Is(wrapped, ErrConsumerNotFound()) {
		t.Error("errors.Is must compare err_code")
	}
	if !IsErr(wrapped, ErrCodeConsumerNotFound, ErrCodeStreamNotFound) || IsErr(wrapped, ErrCodeBadRequest) || IsErr(nil, ErrCodeStreamNotFound) {
		t.Error("IsErr")
	}
	if got := ErrStreamNotFound().Error(); got != "stream not found (10059)" {
		t.Errorf("Error() = %q", got)
	}
}

func TestAsApiError(t *testing.T) {
	inner := ErrStreamSubjectOverlap()
	if got := AsApiError(fmt.Errorf("create: %w", inner), ErrStreamCreate); got != inner {
		t.Errorf("an API error must pass through, got %v", got)
	}
	got := AsApiError(errors.New("disk full"), ErrStreamCreate)
	if got.ErrCode != ErrCodeStreamCreate || got.Description != "disk full" {
		t.Errorf("plain errors must be wrapped, got %v", got)
	}
	if AsApiError(nil, ErrStreamCreate) != nil {
		t.Error("nil must stay nil")
	}
}

func TestApiErrorJSON(t *testing.T) {
	b, err := json.Marshal(ErrStreamReplicasNotSupported())
	if err != nil {
		t.Fatal(err)
	}
	// The reference's encoder escapes '>' too.
	want := `{"code":500,"err_code":10074,"description":"replicas \u003e 1 not supported in non-clustered mode"}`
	if string(b) != want {
		t.Errorf("got %s\nwant %s", b, want)
	}
	var back ApiError
	if err := json.Unmarshal(b, &back); err != nil || back != *ErrStreamReplicasNotSupported() {
		t.Errorf("round trip: %v %v", back, err)
	}
}
