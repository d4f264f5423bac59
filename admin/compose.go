package admin

// Compose (issue "The comms team's console", item 6): a post written in
// the console goes through the same path as one from an app (package
// publish): text, up to four images each with its required alt text, a
// content warning, visibility, reply policy and an optional time, with a
// preview of what the fediverse and Bluesky will get. An editor's or
// admin's post is published (or scheduled); a contributor's becomes a
// draft waiting for approval.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/passerelle/passerelle/policy"
	"github.com/passerelle/passerelle/publish"
	"github.com/passerelle/passerelle/render"
	"github.com/passerelle/passerelle/storage"
)

// Composer publishes what the console composes: package publish.
type Composer interface {
	UploadMedia(ctx context.Context, account string, r io.Reader, description string, focusX, focusY float64) (storage.Media, error)
	Create(ctx context.Context, account string, d publish.Draft) (storage.Status, error)
	Schedule(ctx context.Context, account string, d publish.Draft, at time.Time) (publish.Scheduled, error)
	SubmitDraft(ctx context.Context, account string, d publish.Draft, at time.Time) (storage.TeamDraft, error)
	Limits() publish.Settings
}

// BlueskyPreview is what a post becomes on Bluesky (package atproto's
// Mirror.Preview, converted by the wiring): its records as the mirror
// cuts them.
type BlueskyPreview struct {
	Records       []BlueskyRecord
	Truncated     bool
	ImageMaxBytes int64
}

// BlueskyRecord is one record of a BlueskyPreview.
type BlueskyRecord struct {
	Text             string
	Graphemes, Bytes int
	Images           []int // indexes into the post's images
	Card             string
}

// Previewer previews a post on Bluesky; false when the account is not
// mirrored.
type Previewer func(account string, st storage.Status, media []storage.Media) (BlueskyPreview, bool)

const (
	composeImages  = 4
	composeMaxBody = composeImages*(16<<20) + 1<<20 // four images at the upload limit, and the form
	composeMaxAlt  = 1500
	blueskyMaxGr   = 300
)

type composeForm struct {
	Account, Text, Warning, Visibility, Replies, At string
	Media                                           []storage.Media
}

type composeBody struct {
	Accounts     []string
	Form         composeForm
	Visibilities []string
	Replies      []string
	Slots        []int // empty image slots left
	Role         string
	// The preview, when asked for.
	Previewed bool
	Chars     int
	MaxChars  int
	Bluesky   *BlueskyPreview
	BskyMax   int
	Done      string
}

func (c *Console) composeAccounts(s *session) []string {
	return s.accountsWith(storage.RoleAdmin, storage.RoleEditor, storage.RoleContributor)
}

func (c *Console) compose(w http.ResponseWriter, r *http.Request, s *session) {
	c.composePage(w, r, s, http.StatusOK, composeBody{Form: composeForm{Visibility: storage.VisibilityPublic}}, "")
}

func (c *Console) composePage(w http.ResponseWriter, r *http.Request, s *session, code int, b composeBody, msg string) {
	b.Accounts = c.composeAccounts(s)
	if len(b.Accounts) == 0 || c.set.Compose == nil {
		c.fail(w, r, http.StatusForbidden, "err.forbidden", nil)
		return
	}
	if b.Form.Account == "" {
		b.Form.Account = b.Accounts[0]
	}
	b.Role = s.role(b.Form.Account)
	b.Visibilities = []string{storage.VisibilityPublic, storage.VisibilityUnlisted, storage.VisibilityPrivate, storage.VisibilityDirect}
	b.Replies = policy.RepliesValues
	for i := len(b.Form.Media); i < composeImages; i++ {
		b.Slots = append(b.Slots, i+1)
	}
	b.BskyMax = blueskyMaxGr
	c.render(w, r, code, "compose.html", pageData{Title: "compose", Session: s, Error: msg, Body: b})
}

// composePost previews or publishes the form.
func (c *Console) composePost(w http.ResponseWriter, r *http.Request, s *session) {
	lang := language(r)
	ctx := r.Context()
	f := composeForm{
		Account: strings.ToLower(r.PostFormValue("account")), Text: r.PostFormValue("text"), Warning: r.PostFormValue("spoiler_text"),
		Visibility: r.PostFormValue("visibility"), Replies: r.PostFormValue("replies"), At: strings.TrimSpace(r.PostFormValue("scheduled_at")),
	}
	b := composeBody{Form: f}
	fail := func(code int, msg string) {
		c.composePage(w, r, s, code, b, msg)
	}
	if !slices.Contains(c.composeAccounts(s), f.Account) {
		c.auditLog(r, storage.AuditEntry{MemberID: s.member.ID, Actor: s.member.Email, Account: f.Account, Action: "compose.refused",
			Detail: "not a member of the account"})
		b.Form.Account = ""
		fail(http.StatusForbidden, tr(lang, "err.forbidden"))
		return
	}
	// Images uploaded with an earlier preview, then new ones.
	for _, v := range r.PostForm["media"] {
		id, err := strconv.ParseInt(v, 10, 64)
		m, gerr := c.store.GetMedia(ctx, id)
		if err != nil || gerr != nil || m.Account != f.Account || m.StatusID != 0 {
			fail(http.StatusUnprocessableEntity, tr(lang, "compose.badmedia"))
			return
		}
		b.Form.Media = append(b.Form.Media, m)
	}
	for i := 1; i <= composeImages; i++ {
		file, hdr, err := r.FormFile("image" + strconv.Itoa(i))
		if errors.Is(err, http.ErrMissingFile) {
			continue
		}
		if err != nil {
			fail(http.StatusUnprocessableEntity, tr(lang, "compose.badmedia"))
			return
		}
		m, err := c.upload(ctx, f.Account, file, hdr, strings.TrimSpace(r.PostFormValue("alt"+strconv.Itoa(i))))
		file.Close()
		if err != nil {
			fail(http.StatusUnprocessableEntity, tr(lang, "compose.badimage", hdr.Filename)+" "+err.Error())
			return
		}
		b.Form.Media = append(b.Form.Media, m)
	}
	if len(b.Form.Media) > composeImages {
		b.Form.Media = b.Form.Media[:composeImages]
		fail(http.StatusUnprocessableEntity, tr(lang, "compose.toomany", composeImages))
		return
	}
	var at time.Time
	if f.At != "" {
		t, err := time.ParseInLocation("2006-01-02T15:04", f.At, time.UTC)
		if err != nil {
			fail(http.StatusUnprocessableEntity, tr(lang, "compose.badtime"))
			return
		}
		at = t
	}
	d := publish.Draft{Text: f.Text, SpoilerText: f.Warning, Visibility: f.Visibility, Replies: f.Replies,
		By: &storage.StatusAttribution{MemberID: s.member.ID}}
	for _, m := range b.Form.Media {
		d.MediaIDs = append(d.MediaIDs, m.ID)
	}
	if r.PostFormValue("action") != "publish" {
		c.preview(&b, d)
		c.composePage(w, r, s, http.StatusOK, b, "")
		return
	}
	done, audit, err := c.publish(ctx, s.role(f.Account), f.Account, d, at, lang)
	var ve *publish.ValidationError
	if errors.As(err, &ve) {
		c.preview(&b, d)
		fail(http.StatusUnprocessableEntity, ve.Msg)
		return
	}
	if err != nil {
		c.fail(w, r, http.StatusInternalServerError, "err.internal", err)
		return
	}
	audit.MemberID, audit.Actor, audit.Account = s.member.ID, s.member.Email, f.Account
	c.auditLog(r, audit)
	c.composePage(w, r, s, http.StatusOK, composeBody{Form: composeForm{Account: f.Account, Visibility: storage.VisibilityPublic}, Done: done}, "")
}

// upload stores one image of the form; its alt text is required.
func (c *Console) upload(ctx context.Context, account string, file multipart.File, hdr *multipart.FileHeader, alt string) (storage.Media, error) {
	if alt == "" {
		return storage.Media{}, errors.New("alt text required")
	}
	if len([]rune(alt)) > composeMaxAlt {
		return storage.Media{}, fmt.Errorf("alt text over %d characters", composeMaxAlt)
	}
	m, err := c.set.Compose.UploadMedia(ctx, account, file, alt, 0, 0)
	var me *publish.MediaError
	if errors.As(err, &me) {
		return storage.Media{}, errors.New(me.Msg)
	}
	return m, err
}

// publish publishes d as role may: a contributor's post is a draft; an
// editor's or admin's is published, or scheduled when at is set.
func (c *Console) publish(ctx context.Context, role, account string, d publish.Draft, at time.Time, lang string) (string, storage.AuditEntry, error) {
	switch {
	case role == storage.RoleContributor:
		td, err := c.set.Compose.SubmitDraft(ctx, account, d, at)
		return tr(lang, "compose.submitted", td.ID), storage.AuditEntry{Action: "draft.create", Target: "draft " + strconv.FormatInt(td.ID, 10)}, err
	case !at.IsZero():
		sc, err := c.set.Compose.Schedule(ctx, account, d, at)
		return tr(lang, "compose.scheduled", at.Format("2006-01-02 15:04 UTC")),
			storage.AuditEntry{Action: "status.schedule", Target: "scheduled " + strconv.FormatInt(sc.ID, 10)}, err
	default:
		st, err := c.set.Compose.Create(ctx, account, d)
		return tr(lang, "compose.published", st.ID), storage.AuditEntry{Action: "status.create", Target: "status " + strconv.FormatInt(st.ID, 10)}, err
	}
}

// preview fills b's counts and Bluesky preview for d.
func (c *Console) preview(b *composeBody, d publish.Draft) {
	b.Previewed = true
	b.Chars = render.CountCharacters(d.Text) + render.CountCharacters(d.SpoilerText)
	b.MaxChars = c.set.Compose.Limits().MaxChars
	if c.set.Preview == nil || d.Visibility == storage.VisibilityPrivate || d.Visibility == storage.VisibilityDirect {
		return // only public and unlisted posts are mirrored
	}
	if p, ok := c.set.Preview(b.Form.Account, storage.Status{Text: d.Text, SpoilerText: d.SpoilerText, MediaIDs: d.MediaIDs}, b.Form.Media); ok {
		b.Bluesky = &p
	}
}
