package jetstream

import "github.com/keelhq/keel/server/jetstream/jsapi"

// Keel runs JetStream on one server: the API of a cluster (leader step
// downs, peer removal and evacuation, moves) is answered as the reference
// answers it when not clustered, with "JetStream clustering support
// required", rather than left to time out. The consensus layer replaces
// these routes with HandleAPI (same patterns). The meta leader step down
// is left unanswered, as the reference leaves it.

func clusterRoutes() []route {
	return []route{
		{jsapi.APIStreamLeaderStepDown, jsapi.StreamLeaderStepDownResponseType, handleClusterRequired},
		{jsapi.APIStreamRemovePeer, jsapi.StreamRemovePeerResponseType, handleClusterRequired},
		{jsapi.APIStreamEvacuatePeer, jsapi.StreamEvacuatePeerResponseType, handleClusterRequired},
		{jsapi.APIStreamCancelMove, jsapi.StreamCancelMoveResponseType, handleClusterRequired},
		{jsapi.APIConsumerLeaderStepDown, jsapi.ConsumerLeaderStepDownResponseType, handleClusterRequired},
		{jsapi.APIConsumerRemovePeer, jsapi.ConsumerRemovePeerResponseType, handleClusterRequired},
		{jsapi.APIConsumerEvacuatePeer, jsapi.ConsumerEvacuatePeerResponseType, handleClusterRequired},
	}
}

func handleClusterRequired(js *JetStream, r *Request) {
	rt, _ := js.api.lookup(r.Subject)
	js.RespondError(r, rt.respType, jsapi.ErrClusterRequired())
}
