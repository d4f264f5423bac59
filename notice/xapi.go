package notice

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/passerelle/passerelle/safehttp"
)

// XClient posts through the X API v2 with OAuth 1.0a user context. It only
// ever creates one post: it deletes and changes nothing.
type XClient struct {
	BaseURL string       // "https://api.x.com"
	Auth    OAuth1       // the account's keys
	HTTP    *http.Client // the SSRF-safe client
}

// XError is an error answer of the X API.
type XError struct {
	Status int
	Title  string
	Detail string
}

func (e *XError) Error() string {
	msg := fmt.Sprintf("x api: HTTP %d", e.Status)
	if e.Title != "" {
		msg += ": " + e.Title
	}
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	return msg
}

// Post creates a post (POST /2/tweets) and returns its id.
func (c XClient) Post(ctx context.Context, text string) (string, error) {
	endpoint := strings.TrimRight(c.BaseURL, "/") + "/2/tweets"
	body, err := json.Marshal(map[string]string{"text": text})
	if err != nil {
		return "", err
	}
	auth, err := c.Auth.Authorization(http.MethodPost, endpoint, nil)
	if err != nil {
		return "", fmt.Errorf("x api: sign: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("x api: %w", err)
	}
	req.Header.Set("Authorization", auth)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return "", fmt.Errorf("x api: POST %s: %w", endpoint, err)
	}
	data, err := safehttp.LimitedBody(resp, 1<<20)
	if err != nil {
		return "", fmt.Errorf("x api: %w", err)
	}
	var answer struct {
		Data struct {
			ID string `json:"id"`
		} `json:"data"`
		Title  string `json:"title"`
		Detail string `json:"detail"`
		Errors []struct {
			Message string `json:"message"`
			Title   string `json:"title"`
			Detail  string `json:"detail"`
		} `json:"errors"`
	}
	jsonErr := json.Unmarshal(data, &answer)
	if resp.StatusCode/100 != 2 {
		e := &XError{Status: resp.StatusCode, Title: answer.Title, Detail: answer.Detail}
		for _, x := range answer.Errors {
			if e.Detail == "" {
				e.Detail = strings.TrimSpace(x.Message + " " + x.Detail)
			}
		}
		return "", e
	}
	if jsonErr != nil || answer.Data.ID == "" {
		return "", errors.New("x api: the answer has no post id")
	}
	return answer.Data.ID, nil
}
