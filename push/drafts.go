package push

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	webpush "github.com/SherClockHolmes/webpush-go"

	"github.com/passerelle/passerelle/hostport"
	"github.com/passerelle/passerelle/sanitize"
	"github.com/passerelle/passerelle/storage"
)

// NotificationDraft is the notification_type of the push that tells an
// account's editors and admins that a contributor's draft waits for their
// approval. Mastodon has no such type: apps show its title and body, and
// the console's drafts page (/admin/drafts) is where it is decided.
const NotificationDraft = "passerelle.draft"

// DraftSubmitted queues, in the draft's transaction q, one push to each
// live subscription of the account's editors and admins (those of tokens
// that belong to such a team member), whatever their alerts: approving
// is their job. A contributor's subscriptions get nothing.
func (s *Service) DraftSubmitted(ctx context.Context, q storage.Queries, td storage.TeamDraft) error {
	subs, err := q.ListEditorPushSubscriptions(ctx, td.Account, s.now())
	if err != nil {
		return fmt.Errorf("push: editors of %s: %w", td.Account, err)
	}
	if len(subs) == 0 {
		return nil
	}
	title, ok := draftTitles[s.locale(td.Account)]
	if !ok {
		title = draftTitles["en"]
	}
	p := Payload{NotificationID: td.ID, NotificationType: NotificationDraft, Icon: s.defaultIcon(),
		PreferredLocale: s.locale(td.Account), Title: fmt.Sprintf(title, td.Account),
		Body: sanitize.Text(strings.Join(strings.Fields(td.Text), " "), bodyChars)}
	body, err := p.Encode(MaxPayload)
	if err != nil {
		return err
	}
	for _, sub := range subs {
		job, err := json.Marshal(sendPayload{Subscription: sub.ID, Payload: body, Urgency: string(webpush.UrgencyNormal)})
		if err != nil {
			return err
		}
		if _, err := q.EnqueueJob(ctx, storage.NewJob{Kind: JobSend, Payload: job,
			Key:  "push:draft:" + strconv.FormatInt(td.ID, 10) + ":" + strconv.FormatInt(sub.ID, 10),
			Host: hostport.URLKey(sub.Endpoint), Ref: "push:" + td.Account}); err != nil {
			return fmt.Errorf("push: queue the draft's push: %w", err)
		}
	}
	s.wake.Nudge()
	return nil
}

// draftTitles are the draft push's title by language (%s: the account).
var draftTitles = map[string]string{
	"en": "A draft for @%s waits for your approval",
	"fr": "Un brouillon pour @%s attend votre approbation",
}
