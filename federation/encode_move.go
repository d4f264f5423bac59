package federation

// encodeMove builds Move{actor, object: actor, target, to: followers}.
func encodeMove(id, actor, target, followers string) ([]byte, error) {
	return marshalJSON(activityJSON{Context: asContext, ID: id, Type: "Move", Actor: actor, To: followers, Object: actor, Target: target})
}
