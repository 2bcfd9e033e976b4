package views

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// graphW and graphH are a graph's drawing size in SVG units (the page scales it to its width).
const graphW, graphH = 600.0, 150.0

// GraphPoint is one value of a series at one time.
type GraphPoint struct {
	T time.Time
	V float64
}

// GraphSeries is one line of a graph.
type GraphSeries struct {
	Name   string
	Class  string // the line's colour class
	Points []GraphPoint
}

// Graph is one chart of lines over a time span, drawn server-side as SVG.
type Graph struct {
	ID     string
	Title  string
	Now    string // the latest figure in words
	From   time.Time
	To     time.Time
	Step   time.Duration
	Series []GraphSeries
	Limit  float64              // drawn as a dashed line (a memory limit); 0 for none
	Format func(float64) string // a value in words
	Detail map[int64][]string   // more hover lines by bucket time (unix seconds), such as each task's figure
}

// GraphHover is one hover column: where it is and what it says.
type GraphHover struct {
	X, W string
	Text string
}

// top is the value at the top of the y axis: a little over the highest value or the limit.
func (g Graph) top() float64 {
	m := g.Limit
	for _, s := range g.Series {
		for _, p := range s.Points {
			m = max(m, p.V)
		}
	}
	if m <= 0 {
		return 1
	}
	return m * 1.1
}

func (g Graph) x(t time.Time) float64 {
	span := g.To.Sub(g.From).Seconds()
	if span <= 0 {
		return 0
	}
	return t.Sub(g.From).Seconds() / span * graphW
}

func (g Graph) y(v, top float64) float64 { return graphH - v/top*graphH }

// Path is a series' SVG path; the line breaks where samples are missing (Berth or a node was down).
func (g Graph) Path(s GraphSeries) string {
	top := g.top()
	var b strings.Builder
	var last time.Time
	for i, p := range s.Points {
		cmd := "L"
		if i == 0 || p.T.Sub(last) > 2*g.Step {
			cmd = "M"
		}
		fmt.Fprintf(&b, "%s%.1f %.1f ", cmd, g.x(p.T), g.y(p.V, top))
		last = p.T
	}
	return strings.TrimSpace(b.String())
}

// LimitY is the limit line's height, as an SVG coordinate.
func (g Graph) LimitY() string { return fmt.Sprintf("%.1f", g.y(g.Limit, g.top())) }

// TopLabel says the value at the top of the y axis.
func (g Graph) TopLabel() string { return g.Format(g.top()) }

// Empty says no series has a sample in the span.
func (g Graph) Empty() bool {
	for _, s := range g.Series {
		if len(s.Points) > 0 {
			return false
		}
	}
	return true
}

// Hovers are one column per sampled time, whose title says every series' value there.
func (g Graph) Hovers() []GraphHover {
	at := map[int64][]string{}
	for _, s := range g.Series {
		for _, p := range s.Points {
			at[p.T.Unix()] = append(at[p.T.Unix()], s.Name+": "+g.Format(p.V))
		}
	}
	times := make([]int64, 0, len(at))
	for t := range at {
		times = append(times, t)
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	w := max(g.Step.Seconds()/g.To.Sub(g.From).Seconds()*graphW, 1)
	out := make([]GraphHover, 0, len(times))
	for _, t := range times {
		lines := append([]string{FormatTime(time.Unix(t, 0))}, at[t]...)
		lines = append(lines, g.Detail[t]...)
		out = append(out, GraphHover{X: fmt.Sprintf("%.1f", g.x(time.Unix(t, 0))-w/2), W: fmt.Sprintf("%.1f", w), Text: strings.Join(lines, "\n")})
	}
	return out
}

// Sparkline is a small trend line without axes, for a table cell.
type Sparkline struct {
	Values []float64
	Max    float64 // the top (a total such as the node's memory); 0: the highest value
	Title  string
}

// Path is the trend as an SVG path in a 100×20 box.
func (s Sparkline) Path() string {
	top := s.Max
	for _, v := range s.Values {
		if s.Max == 0 {
			top = max(top, v)
		}
	}
	if top <= 0 || len(s.Values) < 2 {
		return ""
	}
	var b strings.Builder
	for i, v := range s.Values {
		cmd := "L"
		if i == 0 {
			cmd = "M"
		}
		fmt.Fprintf(&b, "%s%.1f %.1f ", cmd, float64(i)/float64(len(s.Values)-1)*100, 20-min(v/top, 1)*19)
	}
	return strings.TrimSpace(b.String())
}

// Rate says bytes per second.
func Rate(v float64) string { return Bytes(int64(v)) + "/s" }

// BytesOf says a byte count held as a float.
func BytesOf(v float64) string { return Bytes(int64(v)) }

// rangeQuery is the page's stream's query for its graphs' range ("" for the first, 1h).
func rangeQuery(u ServiceUsage) string {
	if !u.On || u.Range == "" || u.Range == "1h" {
		return ""
	}
	return "?range=" + u.Range
}
