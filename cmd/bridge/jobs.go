package main

import (
	"github.com/passerelle/passerelle/federation"
	"github.com/passerelle/passerelle/jobs"
	"github.com/passerelle/passerelle/reach"
)

// registerJobs puts the work of the durable queue on the process's job
// runner: deliveries, scheduled statuses, uploaded videos, Web Push, the
// Bluesky mirror and the reading of its notifications (when an account is
// mirrored), the follower samples of the console's reach page, and the
// feeds' polls (always: the jobs of feeds no
// longer configured are still looked at).
func (a *app) registerJobs(r *jobs.Runner, d *federation.Deliverer) error {
	if err := d.Register(r); err != nil {
		return err
	}
	if err := a.pub.RegisterScheduler(r); err != nil {
		return err
	}
	if err := a.pub.RegisterVideo(r); err != nil { // uploaded videos converted
		return err
	}
	if err := a.fed.RegisterHome(r); err != nil { // boosted posts fetched for the home timelines
		return err
	}
	if err := a.fed.RegisterPolls(r); err != nil { // results and ends of polls
		return err
	}
	if err := a.push.Register(r); err != nil { // Web Push (package push)
		return err
	}
	if a.mirror != nil {
		if err := a.mirror.Register(r); err != nil {
			return err
		}
		if err := a.mirror.RegisterInbox(r); err != nil {
			return err
		}
	}
	if err := a.followerSampler().Register(r); err != nil {
		return err
	}
	return a.feedPoller().Register(r)
}

// followerSampler samples the accounts' followers on both networks for
// the console's chart (package reach).
func (a *app) followerSampler() *reach.Sampler {
	set := reach.Settings{}
	for _, acc := range a.cfg.Accounts {
		set.Accounts = append(set.Accounts, acc.Username)
		if acc.Bluesky.Enabled() {
			set.Mirrored = append(set.Mirrored, acc.Username)
		}
	}
	if a.mirror != nil { // a nil *Mirror would make a non-nil interface
		set.Bluesky = a.mirror
	}
	return reach.New(set, a.store, a.log.With().Str("component", "reach").Logger())
}
