package views

import (
	"strings"
	"testing"
	"time"
)

func TestGraphPathBreaksWhereSamplesAreMissingAndScalesToTheLimit(t *testing.T) {
	from := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return from.Add(time.Duration(s) * time.Second) }
	s := GraphSeries{Name: "Memory", Points: []GraphPoint{{at(0), 10}, {at(15), 20}, {at(30), 10}, {at(90), 20}}}
	g := Graph{From: from, To: at(600), Step: 15 * time.Second, Series: []GraphSeries{s}, Limit: 50, Format: BytesOf,
		Detail: map[int64][]string{at(15).Unix(): {"task a on node1: 0.10 cores, 20 B"}}}
	path := g.Path(s)
	if strings.Count(path, "M") != 2 || strings.Count(path, "L") != 2 {
		t.Errorf("a minute without samples should break the line once: %q", path)
	}
	if !strings.HasPrefix(path, "M0.0 ") || !strings.Contains(path, "M90.0 ") {
		t.Errorf("x positions over a 600 s span 600 units wide: %q", path)
	}
	if g.TopLabel() != "55 B" || g.LimitY() != "13.6" {
		t.Errorf("the top is the limit and a tenth (%q), the limit line at %q", g.TopLabel(), g.LimitY())
	}
	hovers := g.Hovers()
	if len(hovers) != 4 || hovers[1].W != "15.0" || hovers[1].X != "7.5" {
		t.Fatalf("hover columns: %+v", hovers)
	}
	if !strings.Contains(hovers[1].Text, "Memory: 20 B") || !strings.Contains(hovers[1].Text, "task a on node1") || strings.Contains(hovers[0].Text, "task a") {
		t.Errorf("the hover of the second sample: %q, of the first: %q", hovers[1].Text, hovers[0].Text)
	}
	if (Graph{Series: []GraphSeries{{}}}).Empty() != true || g.Empty() {
		t.Error("Empty")
	}
}

func TestSparklineFitsItsBoxAgainstTheTotal(t *testing.T) {
	if p := (Sparkline{Values: []float64{5}}).Path(); p != "" {
		t.Errorf("one value is no trend: %q", p)
	}
	if p := (Sparkline{Values: []float64{0, 50, 100}, Max: 100}).Path(); p != "M0.0 20.0 L50.0 10.5 L100.0 1.0" {
		t.Errorf("%q", p)
	}
	if p := (Sparkline{Values: []float64{1, 2}}).Path(); p != "M0.0 10.5 L100.0 1.0" {
		t.Errorf("without a total the highest value is the top: %q", p)
	}
}
