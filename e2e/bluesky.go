package e2e

// Helpers for the Bluesky mirror's end-to-end test and benchmark: a
// bridge configuration whose news account is mirrored to a PDS, and the
// few Mastodon client API calls a comms team's app makes.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"time"
)

// BlueskyConfig is a bridge configuration (Config) with news mirrored to
// a PDS. The app password is read from the environment variable
// BSKY_APP_PASSWORD, as a deployment would.
type BlueskyConfig struct {
	Config
	PDSURL     string
	Identifier string
	Handle     string // bluesky.handle; empty: the default
	Replies    string // empty: the default
	Extra      string // more bluesky keys, "key: value" lines
}

// YAML renders the configuration.
func (c BlueskyConfig) YAML() string {
	var b strings.Builder
	b.WriteString(c.Config.YAML()) // ends with the news account
	if c.Replies != "" {
		fmt.Fprintf(&b, "    replies: %q\n", c.Replies)
	}
	fmt.Fprintf(&b, "    bluesky:\n      pds_url: %q\n      identifier: %q\n      app_password: \"${BSKY_APP_PASSWORD}\"\n", c.PDSURL, c.Identifier)
	if c.Handle != "" {
		fmt.Fprintf(&b, "      handle: %q\n", c.Handle)
	}
	for _, l := range strings.Split(strings.TrimSpace(c.Extra), "\n") {
		if l != "" {
			b.WriteString("      " + strings.TrimSpace(l) + "\n")
		}
	}
	return b.String()
}

// CreateToken makes a client API token for news with `bridge token
// create`, with extra environment variables ("NAME=value").
func CreateToken(bin, cfgPath string, env []string) (string, error) {
	cmd := exec.Command(bin, "--config", cfgPath, "token", "create", "--account", "news", "--scopes", "read write")
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("e2e: bridge token create: %w", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return strings.TrimSpace(lines[len(lines)-1]), nil
}

// API calls the bridge's Mastodon client API with a token.
type API struct {
	BaseURL string
	Token   string
	Client  *http.Client
}

func (a API) do(ctx context.Context, method, path, contentType string, body io.Reader, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, a.BaseURL+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+a.Token)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := a.Client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("e2e: %s %s: status %d: %s", method, path, resp.StatusCode, data)
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

// UploadMedia uploads an image with its description (POST /api/v2/media)
// and returns its id.
func (a API) UploadMedia(ctx context.Context, data []byte, name, description string) (string, error) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	f, err := w.CreateFormFile("file", name)
	if err != nil {
		return "", err
	}
	f.Write(data)
	w.WriteField("description", description)
	w.Close()
	var out struct {
		ID string `json:"id"`
	}
	err = a.do(ctx, http.MethodPost, "/api/v2/media", w.FormDataContentType(), &buf, &out)
	return out.ID, err
}

// PostStatus publishes (POST /api/v1/statuses) and returns the id.
func (a API) PostStatus(ctx context.Context, status map[string]any) (string, error) {
	b, err := json.Marshal(status)
	if err != nil {
		return "", err
	}
	var out struct {
		ID string `json:"id"`
	}
	err = a.do(ctx, http.MethodPost, "/api/v1/statuses", "application/json", bytes.NewReader(b), &out)
	return out.ID, err
}

// DeleteStatus deletes a status (DELETE /api/v1/statuses/:id).
func (a API) DeleteStatus(ctx context.Context, id string) error {
	return a.do(ctx, http.MethodDelete, "/api/v1/statuses/"+id, "", nil, nil)
}

// BlueskyDelivery is the bluesky part of a status's delivery.
type BlueskyDelivery struct {
	State string   `json:"state"`
	URIs  []string `json:"uris"`
	Error string   `json:"error"`
}

// Delivery is GET /api/v1/passerelle/statuses/:id/delivery.
type Delivery struct {
	ServersReached int64            `json:"servers_reached"`
	Pending        int64            `json:"pending"`
	Failed         int64            `json:"failed"`
	FanoutPending  bool             `json:"fanout_pending"`
	Bluesky        *BlueskyDelivery `json:"bluesky"`
}

// Delivery reads a status's delivery.
func (a API) Delivery(ctx context.Context, id string) (Delivery, error) {
	var d Delivery
	err := a.do(ctx, http.MethodGet, "/api/v1/passerelle/statuses/"+id+"/delivery", "", nil, &d)
	return d, err
}

// WaitBluesky polls a status's delivery until its Bluesky mirror reaches
// state, and returns it.
func (a API) WaitBluesky(ctx context.Context, id, state string, poll time.Duration) (BlueskyDelivery, error) {
	for {
		d, err := a.Delivery(ctx, id)
		if err != nil {
			return BlueskyDelivery{}, err
		}
		if d.Bluesky != nil && d.Bluesky.State == state {
			return *d.Bluesky, nil
		}
		select {
		case <-ctx.Done():
			return BlueskyDelivery{}, fmt.Errorf("e2e: status %s: Bluesky mirror %+v, want %s: %w", id, d.Bluesky, state, ctx.Err())
		case <-time.After(poll):
		}
	}
}

// Notification is the part of a Mastodon notification the benchmarks read.
type Notification struct {
	ID      string `json:"id"`
	Type    string `json:"type"`
	Account struct {
		Acct string `json:"acct"`
	} `json:"account"`
	Status *struct {
		ID      string `json:"id"`
		Content string `json:"content"`
	} `json:"status"`
}

// Notifications lists the newest notifications (GET
// /api/v1/notifications), of the given types when there are any.
func (a API) Notifications(ctx context.Context, types ...string) ([]Notification, error) {
	q := url.Values{"limit": {"40"}}
	for _, t := range types {
		q.Add("types[]", t)
	}
	var out []Notification
	err := a.do(ctx, http.MethodGet, "/api/v1/notifications?"+q.Encode(), "", nil, &out)
	return out, err
}
