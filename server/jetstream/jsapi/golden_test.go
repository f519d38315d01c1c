package jsapi

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestGoldenReplay replays goldenScript against refModel, a minimal
// JetStream front end built only from this package, and compares its
// replies byte for byte with the reference's (testdata/golden). The model
// has no message store: the script only asks what configuration, defaults,
// validation and response shapes decide. Values that differ between any
// two servers (creation times, the server name, API counters) are
// normalized on the reference's side.
func TestGoldenReplay(t *testing.T) {
	golden := readGolden(t)
	m := newRefModel()
	for _, st := range goldenScript {
		want, ok := golden[st.name]
		if !ok {
			t.Fatalf("%s: no reply in %s (run TestCaptureGolden -capture)", st.name, goldenFile)
		}
		got := m.handle(st)
		if w := normalizeGolden(want); string(got) != w {
			t.Errorf("%s:\n got %s\nwant %s", st.name, got, w)
		}
	}
}

// goldenFile holds the reference's replies, each after a "-- name --"
// line and followed by a newline (status-only replies are their header
// block, "NATS/1.0 408 Bad Request\r\n\r\n").
const goldenFile = "testdata/nats-server-v2.15.3.txt"

const goldenHeader = "Replies of nats-server v2.15.3 to the requests of goldenScript and goldenShapes\n" +
	"(golden_cases_test.go), captured by TestCaptureGolden.\n"

func readGolden(t *testing.T) map[string][]byte {
	t.Helper()
	raw, err := os.ReadFile(goldenFile)
	if err != nil {
		t.Fatalf("%v (run TestCaptureGolden -capture)", err)
	}
	out := map[string][]byte{}
	// Each reply ends with the newline that the next "\n-- " (or the end
	// of the file) starts with.
	for _, part := range strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n-- ")[1:] {
		name, body, ok := strings.Cut(part, " --\n")
		if !ok {
			t.Fatalf("%s: bad entry %.40q", goldenFile, part)
		}
		out[name] = []byte(body)
	}
	return out
}

var (
	goldenTimes  = regexp.MustCompile(`"(created|ts)":"[^"]+"`)
	goldenAPI    = regexp.MustCompile(`"api":\{"level":5,"total":\d+,"errors":\d+\}`)
	goldenLeader = regexp.MustCompile(`"leader":"[^"]+"`)
	// Mirrors and sources read through internal consumers that come and go.
	goldenConsumers     = regexp.MustCompile(`"consumers":\d+,"limits"`)
	goldenConsumerCount = regexp.MustCompile(`"consumer_count":\d+`)
)

// modelTime stands for every creation and gathering time.
var modelTime = time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)

func normalizeGolden(b []byte) string {
	s := goldenTimes.ReplaceAllString(string(b), `"$1":"`+modelTime.Format(time.RFC3339Nano)+`"`)
	s = goldenAPI.ReplaceAllString(s, `"api":{"level":5,"total":0,"errors":0}`)
	s = goldenLeader.ReplaceAllString(s, `"leader":"SERVER"`)
	s = goldenConsumers.ReplaceAllString(s, `"consumers":0,"limits"`)
	s = goldenConsumerCount.ReplaceAllString(s, `"consumer_count":0`)
	return sortSourceInfos(s)
}

// sortSourceInfos sorts the elements of a stream info's "sources" array
// (the one after "state", not the configuration's) by their text, which
// starts with the name.
func sortSourceInfos(s string) string {
	state := strings.Index(s, `"state":{`)
	if state < 0 {
		return s
	}
	at := strings.Index(s[state:], `"sources":[`)
	if at < 0 {
		return s
	}
	start := state + at + len(`"sources":[`)
	var elems []string
	depth, from := 0, start
	for i := start; i < len(s); i++ {
		switch s[i] {
		case '{', '[':
			depth++
		case '}':
			depth--
			if depth == 0 {
				elems = append(elems, s[from:i+1])
				from = i + 2 // skip the comma
			}
		case ']':
			if depth == 0 {
				slices.Sort(elems)
				return s[:start] + strings.Join(elems, ",") + s[i:]
			}
			depth--
		}
	}
	return s
}

// refModel answers requests the way the reference's handlers do, in their
// order of checks, with this package doing every check.
type refModel struct {
	streams MapCatalog
	seq     map[string]uint64
	msgIDs  map[string]uint64
}

func newRefModel() *refModel {
	return &refModel{streams: MapCatalog{}, seq: map[string]uint64{}, msgIDs: map[string]uint64{}}
}

const modelVersion = "2.15.3"

func (m *refModel) env() *Env { return &Env{Streams: m.streams} }

func marshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func (m *refModel) info(cfg *StreamConfig, dynamic bool) *StreamInfo {
	c := *cfg.Clone()
	if dynamic {
		c = WithDynamicStreamMetadata(c, modelVersion, APILevel)
	}
	si := &StreamInfo{Config: c, Created: modelTime, State: EmptyState(cfg), TimeStamp: modelTime}
	if c.Mirror != nil {
		si.Mirror = NewStreamSourceInfo(c.Mirror)
	}
	for _, s := range c.Sources {
		si.Sources = append(si.Sources, NewStreamSourceInfo(s))
	}
	// The reference reports sources in map order; the golden files are
	// normalized to name order.
	slices.SortFunc(si.Sources, func(a, b *StreamSourceInfo) int { return strings.Compare(a.Name, b.Name) })
	return si
}

func (m *refModel) handle(st goldenStep) []byte {
	body := []byte(st.body)
	levelErr := CheckRequiredAPILevel(st.header[HdrRequiredAPILevel], APILevel)
	subj := st.subject
	switch {
	case subj == APIAccountInfo:
		stats := &AccountStats{Tier: Tier{Streams: len(m.streams), Limits: UnlimitedAccountLimits}, API: APIStats{Level: APILevel}}
		for _, c := range m.streams {
			if c.MaxBytes > 0 {
				if c.Storage == MemoryStorage {
					stats.ReservedMemory += uint64(c.MaxBytes)
				} else {
					stats.ReservedStore += uint64(c.MaxBytes)
				}
			}
		}
		return marshal(AccountInfoResponse{ApiResponse{Type: AccountInfoResponseType}, stats})

	case strings.HasPrefix(subj, APIDirectGetPrefix+"."):
		if levelErr != nil {
			return []byte(DirectGetRequiredAPILevel)
		}
		var status string
		if _, key, _ := DirectGetSubjectKey(subj); key != "" {
			_, status = ParseDirectGetLastBySubject(subj, body)
		} else {
			_, status = ParseDirectGet(body)
		}
		if status == "" {
			status = DirectGetNotFound // the model stores no messages
		}
		return []byte(status)

	case strings.HasPrefix(subj, "$JS.API.STREAM.CREATE."):
		resp := StreamCreateResponse{ApiResponse: ApiResponse{Type: StreamCreateResponseType}}
		if resp.Error = levelErr; resp.Error != nil {
			return marshal(resp)
		}
		var req StreamConfigRequest
		if err := DecodeRequest(body, &req, true); err != nil {
			resp.Error = ErrInvalidJSON(err)
			return marshal(resp)
		}
		cfg, _, apiErr := CheckStreamCreate(StreamNameFromSubject(subj), &req, m.env())
		if apiErr != nil {
			resp.Error = apiErr
			return marshal(resp)
		}
		m.streams[cfg.Name] = &cfg
		resp.StreamInfo, resp.DidCreate = m.info(&cfg, true), true
		return marshal(resp)

	case strings.HasPrefix(subj, "$JS.API.STREAM.UPDATE."):
		resp := StreamUpdateResponse{ApiResponse: ApiResponse{Type: StreamUpdateResponseType}}
		var req StreamConfigRequest
		if err := DecodeRequest(body, &req, true); err != nil {
			resp.Error = ErrInvalidJSON(err)
			return marshal(resp)
		}
		name := StreamNameFromSubject(subj)
		old := m.streams[name]
		cfg, apiErr := CheckStreamUpdate(name, &req, old, m.env())
		if apiErr != nil {
			resp.Error = apiErr
			return marshal(resp)
		}
		m.streams[name] = &cfg
		resp.StreamInfo = m.info(&cfg, true)
		return marshal(resp)

	case strings.HasPrefix(subj, "$JS.API.STREAM.INFO."):
		resp := StreamInfoResponse{ApiResponse: ApiResponse{Type: StreamInfoResponseType}}
		var req JSApiStreamInfoRequest
		if IsJSONObjectOrArray(body) {
			if err := DecodeRequest(body, &req, true); err != nil {
				resp.Error = ErrInvalidJSON(err)
				return marshal(resp)
			}
		}
		cfg, ok := m.streams[StreamNameFromSubject(subj)]
		if !ok {
			resp.Error = ErrStreamNotFound()
			return marshal(resp)
		}
		resp.StreamInfo = m.info(cfg, true)
		resp.StreamInfo.Cluster = &ClusterInfo{Leader: "SERVER"}
		if req.SubjectsFilter != "" {
			// No messages: no subjects, and the paging fields stay zero.
			resp.StreamInfo.State.Subjects, resp.ApiPaged = SubjectsPage(nil, req.Offset)
		}
		return marshal(resp)

	case subj == APIStreamNames || subj == APIStreamList:
		var req JSApiStreamNamesRequest
		if IsJSONObjectOrArray(body) {
			if err := DecodeRequest(body, &req, true); err != nil {
				return marshal(ApiResponse{Type: StreamNamesResponseType, Error: ErrInvalidJSON(err)})
			}
		}
		var names []string
		for name, c := range m.streams {
			if req.Subject == "" || slices.ContainsFunc(c.Subjects, func(s string) bool { return SubjectsCollide(req.Subject, s) }) {
				names = append(names, name)
			}
		}
		slices.Sort(names)
		if subj == APIStreamNames {
			page, paged := Page(names, req.Offset, NamesLimit)
			resp := StreamNamesResponse{ApiResponse: ApiResponse{Type: StreamNamesResponseType}, ApiPaged: paged}
			resp.Streams = append(resp.Streams, page...)
			return marshal(resp)
		}
		page, paged := Page(names, req.Offset, ListLimit)
		resp := StreamListResponse{ApiResponse: ApiResponse{Type: StreamListResponseType}, ApiPaged: paged, Streams: []*StreamInfo{}}
		for _, n := range page {
			resp.Streams = append(resp.Streams, m.info(m.streams[n], false))
		}
		return marshal(resp)

	case strings.HasPrefix(subj, "$JS.API.STREAM.DELETE."):
		resp := StreamDeleteResponse{ApiResponse: ApiResponse{Type: StreamDeleteResponseType}}
		name := StreamNameFromSubject(subj)
		switch _, ok := m.streams[name]; {
		case !IsEmptyRequest(body):
			resp.Error = ErrNotEmptyRequest()
		case !ok:
			resp.Error = ErrStreamNotFound()
		default:
			delete(m.streams, name)
			resp.Success = true
		}
		return marshal(resp)

	case strings.HasPrefix(subj, "$JS.API.STREAM.PURGE."):
		resp := StreamPurgeResponse{ApiResponse: ApiResponse{Type: StreamPurgeResponseType}}
		if IsJSONObjectOrArray(body) {
			var req JSApiStreamPurgeRequest
			if err := DecodeRequest(body, &req, true); err != nil {
				resp.Error = ErrInvalidJSON(err)
				return marshal(resp)
			}
			if resp.Error = req.Check(); resp.Error != nil {
				return marshal(resp)
			}
		}
		switch cfg, ok := m.streams[StreamNameFromSubject(subj)]; {
		case !ok:
			resp.Error = ErrStreamNotFound()
		case cfg.Sealed:
			resp.Error = ErrStreamSealed()
		case cfg.DenyPurge:
			resp.Error = ErrStreamPurgeFailed(errString("stream purge not permitted"))
		default:
			resp.Success = true
		}
		return marshal(resp)

	case strings.HasPrefix(subj, "$JS.API.STREAM.MSG.GET."):
		resp := MsgGetResponse{ApiResponse: ApiResponse{Type: StreamMsgGetResponseType}}
		var req JSApiMsgGetRequest
		if IsEmptyRequest(body) {
			resp.Error = ErrBadRequest()
		} else if err := DecodeRequest(body, &req, true); err != nil {
			resp.Error = ErrInvalidJSON(err)
		} else if resp.Error = req.CheckMsgGet(); resp.Error == nil {
			if _, ok := m.streams[MsgStreamNameFromSubject(subj)]; !ok {
				resp.Error = ErrStreamNotFound()
			} else {
				resp.Error = ErrNoMessageFound()
			}
		}
		return marshal(resp)

	case strings.HasPrefix(subj, "$JS.API.STREAM.MSG.DELETE."):
		resp := MsgDeleteResponse{ApiResponse: ApiResponse{Type: StreamMsgDeleteResponseType}}
		var req JSApiMsgDeleteRequest
		if IsEmptyRequest(body) {
			resp.Error = ErrBadRequest()
		} else if err := DecodeRequest(body, &req, true); err != nil {
			resp.Error = ErrInvalidJSON(err)
		} else {
			switch cfg, ok := m.streams[MsgStreamNameFromSubject(subj)]; {
			case !ok:
				resp.Error = ErrStreamNotFound()
			case cfg.Sealed:
				resp.Error = ErrStreamSealed()
			case cfg.DenyDelete:
				resp.Error = ErrStreamMsgDeleteFailed(errString("message delete not permitted"))
			default:
				resp.Error = ErrSequenceNotFound(req.Seq)
			}
		}
		return marshal(resp)

	case strings.HasPrefix(subj, "$JS.API.STREAM.SNAPSHOT."):
		resp := StreamSnapshotResponse{ApiResponse: ApiResponse{Type: StreamSnapshotResponseType}}
		var req JSApiStreamSnapshotRequest
		switch _, ok := m.streams[StreamNameFromSubject(subj)]; {
		case IsEmptyRequest(body):
			resp.Error = ErrBadRequest()
		case !ok:
			resp.Error = ErrStreamNotFound()
		default:
			if err := DecodeRequest(body, &req, true); err != nil {
				resp.Error = ErrInvalidJSON(err)
			} else {
				resp.Error = req.Check()
			}
		}
		return marshal(resp)

	case strings.HasPrefix(subj, "$JS.API.STREAM.RESTORE."):
		resp := StreamRestoreResponse{ApiResponse: ApiResponse{Type: StreamRestoreResponseType}}
		var req JSApiStreamRestoreRequest
		if IsEmptyRequest(body) {
			resp.Error = ErrBadRequest()
		} else if err := DecodeRequest(body, &req, true); err != nil {
			resp.Error = ErrInvalidJSON(err)
		} else {
			_, resp.Error = CheckStreamRestore(StreamNameFromSubject(subj), &req, m.env())
		}
		return marshal(resp)
	}

	// A publish: the stream whose subjects take it acknowledges it.
	for name, c := range m.streams {
		if !slices.ContainsFunc(c.Subjects, func(s string) bool { return SubjectIsSubsetOf(subj, s) }) {
			continue
		}
		if exp := st.header[HdrExpectedStream]; exp != "" && exp != name {
			return PubAckError(name, ErrStreamNotMatch())
		}
		prefix := PubAckPrefix(name, "")
		if id := st.header[HdrMsgID]; id != "" {
			if seq, dup := m.msgIDs[name+"/"+id]; dup {
				return AppendPubAck(nil, prefix, seq, true)
			}
			defer func() { m.msgIDs[name+"/"+id] = m.seq[name] }()
		}
		m.seq[name]++
		return AppendPubAck(nil, prefix, m.seq[name], false)
	}
	return nil
}

type errString string

func (e errString) Error() string { return string(e) }
