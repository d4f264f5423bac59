package federation

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/passerelle/passerelle/storage"
)

// HostFailure is a server an account's deliveries failed at, or are
// waiting to be tried again for: the console's reach page lists them.
type HostFailure struct {
	Host      string
	Failed    int64     // given up (after the retries)
	Retrying  int64     // waiting for their next try
	LastError string    // the most recent one's
	LastAt    time.Time // when it was given up, or its next try
	Next      bool      // LastAt is a next try (the most recent one is retried)
}

// maxFailureJobs bounds the deliveries DeliveryFailures reads.
const maxFailureJobs = 5000

// DeliveryFailures groups by server the deliveries of account that failed
// since `since` or wait for a retry after an error, the server with the
// most recent one first. It reads at most the 5,000 most recent of all
// accounts.
func DeliveryFailures(ctx context.Context, store storage.Store, account string, since time.Time) ([]HostFailure, error) {
	probs, err := store.DeliveryProblems(ctx, JobDeliver, since, maxFailureJobs)
	if err != nil {
		return nil, fmt.Errorf("federation: delivery failures of %s: %w", account, err)
	}
	var out []HostFailure
	byHost := map[string]int{}
	for _, p := range probs { // the most recent first
		var pl deliverPayload
		if json.Unmarshal(p.Payload, &pl) != nil || !strings.EqualFold(pl.Signer, account) {
			continue
		}
		i, ok := byHost[p.Host]
		if !ok {
			i = len(out)
			byHost[p.Host] = i
			out = append(out, HostFailure{Host: p.Host, LastError: p.LastError, LastAt: p.At, Next: !p.Failed})
		}
		if p.Failed {
			out[i].Failed++
		} else {
			out[i].Retrying++
		}
	}
	return out, nil
}
