package main

import (
	"context"
	"fmt"
	"time"

	"github.com/passerelle/passerelle/federation"
	"github.com/passerelle/passerelle/feeds"
)

// runFeeds polls the accounts' website feeds (accounts[].feeds) until ctx
// is cancelled, then reports on done; at once when there are none.
func (a *app) runFeeds(ctx context.Context, done chan<- error) {
	srcs := feeds.Sources(a.cfg.Accounts)
	if len(srcs) == 0 {
		done <- nil
		return
	}
	v, _, _ := buildInfo()
	client := federation.NewHTTPClient(federation.ClientConfig{
		AllowPrivateNetworks: a.cfg.Federation.AllowPrivateNetworks,
		UserAgent:            fmt.Sprintf("Passerelle/%s (+%s; feed reader)", v, a.cfg.Server.BaseURL()),
		Timeout:              30 * time.Second,
		MaxBodyBytes:         feeds.DefaultMaxBody,
	})
	p := feeds.NewPoller(feeds.Settings{MaxChars: a.pub.Limits().MaxChars}, srcs, a.store, a.pub, client,
		a.log.With().Str("component", "feeds").Logger())
	done <- p.Run(ctx)
}
