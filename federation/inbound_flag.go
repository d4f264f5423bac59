package federation

import (
	"context"

	"github.com/passerelle/passerelle/reqlog"
	"github.com/passerelle/passerelle/sanitize"
	"github.com/passerelle/passerelle/storage"
)

// applyFlag stores a report naming one of our accounts or posts.
func (s *Service) applyFlag(ctx context.Context, act Activity) (string, error) {
	var (
		account string
		targets []string
	)
	for _, o := range act.Objects {
		if checkIRI(o) != nil {
			continue
		}
		if la := s.ourAccount(o); la != nil && account == "" {
			account = la.name
		} else if la, _, ok := s.ourStatusIRI(o); ok && account == "" {
			account = la.name
		}
		if len(targets) < maxReportTargets {
			targets = append(targets, o)
		}
	}
	if account == "" {
		return ignored("report about none of our accounts or posts"), nil
	}
	r := storage.Report{ActivityID: act.ID, Account: account, ReporterID: act.Actor, Targets: targets,
		Comment: sanitize.Text(sanitize.Plain(act.Content), maxReportComment), CreatedAt: s.now()}
	outcome := "report stored"
	dup, err := s.applyOnce(ctx, act, r.CreatedAt, func(q storage.Queries) error {
		_, _, err := q.InsertReport(ctx, r)
		return err
	})
	if err != nil || dup {
		return dupOutcome(dup), err
	}
	reqlog.Logger(ctx, s.log).Warn().Str("account", account).Str("reporter", act.Actor).Int("targets", len(targets)).
		Msg("report received: see bridge reports list")
	return outcome, nil
}
