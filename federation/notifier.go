package federation

import (
	"context"

	"github.com/passerelle/passerelle/storage"
)

// Notifier is told of each notification the inbound activities create
// (mentions, replies, quotes, favourites, boosts), in the transaction
// that creates it, so that what it queues (package push: the Web Push
// notifications) is durable with the notification or not at all. It must
// be quick: it runs on the inbox's path.
type Notifier interface {
	Notified(ctx context.Context, q storage.Queries, n storage.Notification) error
}

// notified tells the notifier of n, created in q's transaction.
func (s *Service) notified(ctx context.Context, q storage.Queries, n storage.Notification) error {
	if s.notifier == nil {
		return nil
	}
	return s.notifier.Notified(ctx, q, n)
}
