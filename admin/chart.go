package admin

// The follower chart of the reach page: inline SVG drawn on the server
// (no script; the CSP allows no inline style, and SVG's presentation
// attributes are not styles), with a <title> and <desc>, and the same
// figures in a table next to it.

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/passerelle/passerelle/storage"
)

// Chart geometry, in SVG user units.
const (
	chartW, chartH      = 640, 240
	chartLeft           = 56 // room for the values
	chartRight          = 16
	chartTop            = 16
	chartBottom         = 40 // room for the days
	chartPlotW, chartH0 = chartW - chartLeft - chartRight, chartH - chartTop - chartBottom
)

// chartPoint is one sample on the chart.
type chartPoint struct{ X, Y float64 }

// chartLine is one network's followers.
type chartLine struct {
	Points []chartPoint
	Path   string // polyline points
}

// followerChart is what the template draws.
type followerChart struct {
	W, H, Left, Top, Right, Bottom int
	LabelX, XLabelY                int // where the values and the days are written
	Fediverse, Bluesky             chartLine
	HasBluesky                     bool
	YTicks                         []chartTick
	XTicks                         []chartTick
	First, Last                    string // days
	Rows                           []storage.FollowerSnapshot
	LastFediverse, LastBluesky     int64
}

type chartTick struct {
	Pos    float64
	Label  string
	Anchor string // the days' text-anchor
}

// newFollowerChart lays out snaps (oldest first) over the days from
// `from` to `to` (YYYY-MM-DD, inclusive; a single day is drawn at the
// left).
func newFollowerChart(snaps []storage.FollowerSnapshot, from, to string) *followerChart {
	if len(snaps) == 0 {
		return nil
	}
	start, _ := time.Parse(time.DateOnly, from)
	end, _ := time.Parse(time.DateOnly, to)
	days := max(end.Sub(start).Hours()/24, 1)
	var top int64
	for _, s := range snaps {
		top = max(top, s.Fediverse)
		if s.BlueskyOK {
			top = max(top, s.Bluesky)
		}
	}
	top = niceCeil(top)
	c := &followerChart{W: chartW, H: chartH, Left: chartLeft, Top: chartTop, Right: chartW - chartRight, Bottom: chartH - chartBottom,
		LabelX: chartLeft - 6, XLabelY: chartH - 14, First: from, Last: to, Rows: snaps}
	x := func(day string) float64 {
		d, _ := time.Parse(time.DateOnly, day)
		return round1(chartLeft + float64(chartPlotW)*d.Sub(start).Hours()/24/days)
	}
	y := func(n int64) float64 { return round1(float64(chartTop) + float64(chartH0)*(1-float64(n)/float64(top))) }
	for _, s := range snaps {
		c.Fediverse.Points = append(c.Fediverse.Points, chartPoint{x(s.Day), y(s.Fediverse)})
		c.LastFediverse = s.Fediverse
		if s.BlueskyOK {
			c.HasBluesky = true
			c.Bluesky.Points = append(c.Bluesky.Points, chartPoint{x(s.Day), y(s.Bluesky)})
			c.LastBluesky = s.Bluesky
		}
	}
	c.Fediverse.Path, c.Bluesky.Path = polyline(c.Fediverse.Points), polyline(c.Bluesky.Points)
	for i := int64(0); i <= 4; i++ {
		n := top * i / 4
		c.YTicks = append(c.YTicks, chartTick{Pos: y(n), Label: strconv.FormatInt(n, 10)})
	}
	c.XTicks = []chartTick{{chartLeft, from, "start"}, {chartW - chartRight, to, "end"}}
	return c
}

// niceCeil is the chart's top for a highest value n: four times a
// round step (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 times a power of ten,
// whole), so that the four ticks are whole and round.
func niceCeil(n int64) int64 {
	for p := int64(1); ; p *= 10 {
		for _, m := range []int64{10, 12, 15, 20, 25, 30, 40, 50, 60, 80} {
			if m*p%10 != 0 {
				continue
			}
			if step := m * p / 10; 4*step >= n {
				return 4 * step
			}
		}
	}
}

func round1(f float64) float64 { return float64(int64(f*10+0.5)) / 10 }

func polyline(ps []chartPoint) string {
	var b strings.Builder
	for i, p := range ps {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%g,%g", p.X, p.Y)
	}
	return b.String()
}
