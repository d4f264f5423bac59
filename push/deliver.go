package push

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	webpush "github.com/SherClockHolmes/webpush-go"

	"github.com/passerelle/passerelle/hostport"
	"github.com/passerelle/passerelle/jobs"
	"github.com/passerelle/passerelle/moderation"
	"github.com/passerelle/passerelle/safehttp"
	"github.com/passerelle/passerelle/sanitize"
	"github.com/passerelle/passerelle/storage"
)

// raidHorizon is how far back the raid a mention belongs to is looked
// for: a raid that started earlier is still the same one (its known end
// is contiguous), so this bounds the work, not what is found.
const raidHorizon = 12 * moderation.RaidWindow

// sendPayload is a "push.send" job's.
type sendPayload struct {
	Subscription int64           `json:"subscription"`
	Payload      json.RawMessage `json:"payload"`
	Urgency      string          `json:"urgency"`
}

// outgoing is one push to queue.
type outgoing struct {
	sub     storage.PushSubscription
	payload Payload
	urgency webpush.Urgency
}

// fanOut decides who is told of one notification and queues the sends.
func (s *Service) fanOut(ctx context.Context, j *jobs.Job) error {
	var p jobPayload
	if err := json.Unmarshal(j.Payload, &p); err != nil {
		return jobs.Permanent(fmt.Errorf("push: undecodable job: %w", err))
	}
	// A live notification only: dismissed, deleted, or from an actor or
	// a domain the account blocked or muted, it is not found.
	n, err := s.store.GetNotification(ctx, p.Account, p.Notification)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	// What the account's keyword filters hide from its notifications is
	// not pushed either.
	if hidden, err := s.filtered(ctx, n); err != nil || hidden {
		return err
	}
	subs, err := s.store.ListPushSubscriptions(ctx, n.Account, s.now())
	if err != nil {
		return err
	}
	var targets []storage.PushSubscription
	for _, sub := range subs {
		if !slices.Contains(sub.Alerts, n.Type) {
			continue
		}
		ok, err := s.policyAllows(ctx, sub.Policy, n)
		if err != nil {
			return err
		}
		if ok {
			targets = append(targets, sub)
		}
	}
	if len(targets) == 0 {
		return nil
	}
	if slices.Contains(moderation.RaidTypes, n.Type) {
		return s.fanOutMention(ctx, n, targets)
	}
	pl, err := s.payload(ctx, n)
	if err != nil {
		return err
	}
	var out []outgoing
	for _, sub := range targets {
		out = append(out, outgoing{sub, pl, webpush.UrgencyNormal})
	}
	return s.queue(ctx, n, out, nil)
}

// fanOutMention pushes a mention or a quote, or, during a raid, one push
// about the raid to each subscription not yet told of it.
func (s *Service) fanOutMention(ctx context.Context, n storage.Notification, targets []storage.PushSubscription) error {
	// A subscription told of a raid that was still going on when this
	// came is not told again (cheap: no counting during a raid).
	targets = slices.DeleteFunc(targets, func(sub storage.PushSubscription) bool { return sub.RaidUntil.After(n.CreatedAt) })
	if len(targets) == 0 {
		return nil
	}
	w := moderation.RaidWindow.Microseconds()
	since := time.UnixMicro(n.CreatedAt.UnixMicro()/w*w - raidHorizon.Microseconds())
	buckets, err := s.store.NotificationBuckets(ctx, n.Account, moderation.RaidTypes, since, moderation.RaidWindow)
	if err != nil {
		return err
	}
	span, raid := moderation.RaidAt(moderation.RaidSpans(buckets, moderation.RaidThreshold), n.CreatedAt)
	if !raid {
		pl, err := s.payload(ctx, n)
		if err != nil {
			return err
		}
		var out []outgoing
		for _, sub := range targets {
			out = append(out, outgoing{sub, pl, webpush.UrgencyNormal})
		}
		return s.queue(ctx, n, out, nil)
	}
	pl, err := s.raidPayload(ctx, n, span)
	if err != nil {
		return err
	}
	var out []outgoing
	for _, sub := range targets {
		out = append(out, outgoing{sub, pl, webpush.UrgencyHigh})
	}
	// Claimed in the transaction that queues the pushes: of concurrent
	// jobs, one tells each subscription, and a crash loses neither.
	return s.queue(ctx, n, out, func(q storage.Queries, sub storage.PushSubscription) (bool, error) {
		return q.ClaimPushRaid(ctx, sub.ID, span.From, span.To)
	})
}

// queue enqueues the sends in one transaction; claim, when set, decides
// for each subscription whether it is sent (in the transaction).
func (s *Service) queue(ctx context.Context, n storage.Notification, out []outgoing,
	claim func(q storage.Queries, sub storage.PushSubscription) (bool, error)) error {
	queued := 0
	err := s.store.InTx(ctx, func(q storage.Queries) error {
		queued = 0
		for _, o := range out {
			if claim != nil {
				ok, err := claim(q, o.sub)
				if err != nil {
					return err
				}
				if !ok {
					continue
				}
			}
			o.payload.PreferredLocale = s.locale(n.Account)
			body, err := o.payload.Encode(MaxPayload)
			if err != nil {
				return err
			}
			job, err := json.Marshal(sendPayload{Subscription: o.sub.ID, Payload: body, Urgency: string(o.urgency)})
			if err != nil {
				return err
			}
			if _, err := q.EnqueueJob(ctx, storage.NewJob{Kind: JobSend, Payload: job,
				Key:  "push:" + strconv.FormatInt(n.ID, 10) + ":" + strconv.FormatInt(o.sub.ID, 10),
				Host: hostport.URLKey(o.sub.Endpoint), Ref: "push:" + n.Account}); err != nil {
				return err
			}
			queued++
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("push: queue the pushes of notification %d: %w", n.ID, err)
	}
	if queued > 0 {
		s.wake.Nudge()
	}
	return nil
}

// policyAllows applies a subscription's policy to the notification's
// actor.
func (s *Service) policyAllows(ctx context.Context, policy string, n storage.Notification) (bool, error) {
	switch policy {
	case storage.PushPolicyAll, "":
		return true, nil
	case storage.PushPolicyFollower:
		f, err := s.store.GetFollower(ctx, n.Account, n.ActorID)
		if errors.Is(err, storage.ErrNotFound) {
			return false, nil
		}
		return err == nil && f.State == storage.FollowerAccepted, err
	case storage.PushPolicyFollowed:
		if s.set.Follows == nil {
			return false, nil
		}
		return s.set.Follows(ctx, n.Account, n.ActorID)
	}
	return false, nil // "none", or unknown
}

func (s *Service) locale(account string) string {
	if l := s.set.Languages[account]; l != "" {
		return l
	}
	return "en"
}

// defaultIcon is every push's icon: the bridge's placeholder, as the
// client API shows remote accounts, so that a phone fetches nothing from
// the remote server (docs/safety.md).
func (s *Service) defaultIcon() string {
	return strings.TrimSuffix(s.set.BaseURL, "/") + "/static/avatar.png"
}

// titles are Mastodon's (notification_mailer subjects), by type.
var titles = map[string]string{
	storage.NotificationMention:   "You were mentioned by %s",
	storage.NotificationQuote:     "%s quoted your post",
	storage.NotificationFavourite: "%s favorited your post",
	storage.NotificationReblog:    "%s boosted your post",
	storage.NotificationPoll:      "Your poll has ended",
	"follow":                      "%s followed you",
	"follow_request":              "Pending follower: %s",
	"status":                      "%s just posted",
	"update":                      "%s edited a post",
}

// filtered reports whether the account's keyword filters of the
// notifications context hide n, as the client API does: a match in the
// name or address of its actor, or in the text or content warning of the
// remote post it is about.
func (s *Service) filtered(ctx context.Context, n storage.Notification) (bool, error) {
	fs, err := s.store.ListFilters(ctx, n.Account)
	if err != nil {
		return false, err
	}
	kf := moderation.NewKeywordFilter(fs, "notifications", s.now())
	if kf.Empty() {
		return false, nil
	}
	var texts []string
	switch prof, err := s.store.GetRemoteProfile(ctx, n.ActorID); {
	case err == nil:
		texts = append(texts, prof.DisplayName, prof.Acct)
	case !errors.Is(err, storage.ErrNotFound):
		return false, err
	}
	if n.RemoteStatusID != 0 {
		switch rs, err := s.store.GetRemoteStatus(ctx, n.RemoteStatusID); {
		case err == nil:
			texts = append(texts, sanitize.Plain(rs.ContentHTML), rs.SpoilerText)
		case !errors.Is(err, storage.ErrNotFound):
			return false, err
		}
	}
	return kf.Hides(texts...), nil
}

// payload is the push of one notification.
func (s *Service) payload(ctx context.Context, n storage.Notification) (Payload, error) {
	p := Payload{NotificationID: n.ID, NotificationType: n.Type, Icon: s.defaultIcon()} // never the remote avatar
	name := actorName(n.ActorID)
	prof, err := s.store.GetRemoteProfile(ctx, n.ActorID)
	switch {
	case err == nil:
		name = prof.Acct
		if prof.DisplayName != "" {
			name = prof.DisplayName
		}
	case !errors.Is(err, storage.ErrNotFound):
		return p, err
	}
	title, ok := titles[n.Type]
	if !ok {
		title = "New notification from %s"
	}
	p.Title = title
	if strings.Contains(title, "%s") {
		p.Title = fmt.Sprintf(title, sanitize.Name(name, 0))
	}
	switch {
	case n.RemoteStatusID != 0: // a mention, a reply, a quote: their post
		rs, err := s.store.GetRemoteStatus(ctx, n.RemoteStatusID)
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return p, err
		}
		p.Body = rs.SpoilerText
		if p.Body == "" {
			p.Body = sanitize.Plain(rs.ContentHTML)
		}
	case n.StatusID != 0: // a favourite, a boost: our post
		st, err := s.store.GetStatus(ctx, n.StatusID)
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return p, err
		}
		p.Body = st.SpoilerText
		if p.Body == "" {
			p.Body = st.Text
		}
	default: // a follow: their bio
		if err == nil {
			p.Body = sanitize.Plain(prof.Summary)
		}
	}
	p.Body = sanitize.Text(strings.Join(strings.Fields(p.Body), " "), bodyChars)
	return p, nil
}

// raidPayload is the one push about a raid.
func (s *Service) raidPayload(ctx context.Context, n storage.Notification, span moderation.RaidSpan) (Payload, error) {
	domains, err := s.store.NotificationDomains(ctx, n.Account, moderation.RaidTypes, span.From, s.now().Add(time.Second))
	if err != nil {
		return Payload{}, err
	}
	// Bluesky's accounts are one origin (moderation.Origins).
	return Payload{
		NotificationID: n.ID, NotificationType: n.Type, Icon: s.defaultIcon(),
		Title: "Raid: " + moderation.Origins(domains).Summary(),
		Body:  "Mentions are piling up. They are grouped as one raid in the app, where its servers can be blocked in one step; no more pushes about it.",
	}, nil
}

// actorName is user@host from an actor IRI, when nothing better is known.
func actorName(actorID string) string {
	host := hostport.URLKey(actorID)
	i := strings.LastIndexByte(strings.TrimSuffix(actorID, "/"), '/')
	if i < 0 || host == "" {
		return actorID
	}
	return strings.TrimSuffix(actorID, "/")[i+1:] + "@" + host
}

// send delivers one push.
func (s *Service) send(ctx context.Context, j *jobs.Job) error {
	var p sendPayload
	if err := json.Unmarshal(j.Payload, &p); err != nil {
		return jobs.Permanent(fmt.Errorf("push: undecodable job: %w", err))
	}
	sub, err := s.store.GetPushSubscriptionByID(ctx, p.Subscription)
	if errors.Is(err, storage.ErrNotFound) {
		return nil // unsubscribed meanwhile
	}
	if err != nil {
		return err
	}
	now := s.now()
	ttl := s.set.TTL - now.Sub(j.CreatedAt)
	if ttl < time.Second {
		s.log.Info().Int64("subscription", sub.ID).Msg("push dropped: older than its TTL")
		return nil
	}
	resp, err := webpush.SendNotificationWithContext(ctx, p.Payload,
		&webpush.Subscription{Endpoint: sub.Endpoint, Keys: webpush.Keys{Auth: sub.Auth, P256dh: sub.P256dh}},
		&webpush.Options{
			HTTPClient: s.client, RecordSize: webpush.MaxRecordSize, Subscriber: s.subject(),
			TTL: int(ttl / time.Second), Urgency: webpush.Urgency(p.Urgency),
			VAPIDPublicKey: s.publicKey, VAPIDPrivateKey: s.privateKey, // the JWT expires in 12 h (webpush-go, on the real clock)
		})
	if errors.Is(err, safehttp.ErrForbiddenAddress) {
		// The endpoint's name leads to a private address: it never will
		// work, and must not be tried again.
		if _, derr := s.store.DeleteGonePushSubscription(ctx, sub.ID, sub.Endpoint); derr != nil {
			return derr
		}
		return jobs.Permanent(fmt.Errorf("push: subscription %d removed: %w", sub.ID, err))
	}
	if errors.Is(err, webpush.ErrMaxPadExceeded) {
		return jobs.Permanent(fmt.Errorf("push: payload too large: %w", err))
	}
	if err != nil {
		return fmt.Errorf("push to %s: %w", hostport.URLKey(sub.Endpoint), err)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	code := resp.StatusCode
	switch {
	case code >= 200 && code < 300:
		return nil
	case code == http.StatusNotFound || code == http.StatusGone:
		gone, err := s.store.DeleteGonePushSubscription(ctx, sub.ID, sub.Endpoint)
		if err != nil {
			return err
		}
		if gone {
			s.log.Info().Int64("subscription", sub.ID).Str("account", sub.Account).Int("status", code).
				Msg("push subscription removed: the push service says it is gone")
		}
		return nil
	case code == http.StatusTooManyRequests || code >= 500:
		err := fmt.Errorf("push to %s: %s", hostport.URLKey(sub.Endpoint), resp.Status)
		if secs, perr := strconv.Atoi(strings.TrimSpace(resp.Header.Get("Retry-After"))); perr == nil && secs > 0 {
			return jobs.RetryAfter(time.Duration(secs)*time.Second, err)
		}
		return err
	}
	return jobs.Permanent(fmt.Errorf("push to %s: %s", hostport.URLKey(sub.Endpoint), resp.Status))
}
