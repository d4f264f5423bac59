package jobs

import (
	"testing"
	"time"
)

// TestDueTimes: the claimer is told the earliest retry still to come;
// times a claim has passed are forgotten, far or surplus ones never kept.
func TestDueTimes(t *testing.T) {
	t0 := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	var q dueTimes
	for _, d := range []time.Duration{900 * time.Millisecond, 250 * time.Millisecond, 2 * time.Hour, 500 * time.Millisecond} {
		q.add(at(d), t0, time.Minute)
	}
	steps := []struct {
		name    string
		claimed time.Time
		want    time.Time
		ok      bool
	}{
		{"before any: the earliest", t0, at(250 * time.Millisecond), true},
		{"a claim at the earliest forgets it", at(250 * time.Millisecond), at(500 * time.Millisecond), true},
		{"a later claim forgets what it passed", at(600 * time.Millisecond), at(900 * time.Millisecond), true},
		{"two hours ahead was never kept", at(time.Second), time.Time{}, false},
	}
	for _, tc := range steps {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := q.next(tc.claimed)
			if !got.Equal(tc.want) || ok != tc.ok {
				t.Errorf("next(%v) = %v, %v; want %v, %v", tc.claimed.Sub(t0), got.Sub(t0), ok, tc.want.Sub(t0), tc.ok)
			}
		})
	}
	t.Run("bounded", func(t *testing.T) {
		var q dueTimes
		for i := range dueMax + 10 {
			q.add(at(time.Duration(i)*time.Millisecond), t0, time.Minute)
		}
		if len(q.h) != dueMax {
			t.Errorf("holds %d times, want %d", len(q.h), dueMax)
		}
	})
}
