package federation

import "github.com/go-fed/activity/streams"

// encodeMove builds Move{actor, object: actor, target, to: followers} with
// go-fed (moves.go checks target first: mustIRI panics on a bad IRI).
func encodeMove(id, actor, target, followers string) ([]byte, error) {
	mv := streams.NewActivityStreamsMove()
	mv.SetJSONLDId(idProp(id))
	a := streams.NewActivityStreamsActorProperty()
	a.AppendIRI(mustIRI(actor))
	mv.SetActivityStreamsActor(a)
	o := streams.NewActivityStreamsObjectProperty()
	o.AppendIRI(mustIRI(actor))
	mv.SetActivityStreamsObject(o)
	t := streams.NewActivityStreamsTargetProperty()
	t.AppendIRI(mustIRI(target))
	mv.SetActivityStreamsTarget(t)
	to := streams.NewActivityStreamsToProperty()
	to.AppendIRI(mustIRI(followers))
	mv.SetActivityStreamsTo(to)
	return serialize(mv)
}
