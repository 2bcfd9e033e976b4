package handlers

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/berthhq/berth/store"
	bswarm "github.com/berthhq/berth/swarm"
	"github.com/berthhq/berth/swarm/enginetest"
	"github.com/chromedp/chromedp"
)

// readmeShots is where the README's screenshots live; the layout test writes them, so they stay current.
const readmeShots = "../static/screenshots"

func TestBrowserLayoutFitsAt800And1280Pixels(t *testing.T) {
	s := newSwarmServer(t)
	withNetwork(t, s)
	s.addUser("layout-admin", store.RoleAdmin)
	name := uniq("shop-web")
	one := uint64(2)
	s.mustAPI(t, s.token, http.MethodPost, "/api/v1/services", bswarm.ServiceSpec{Name: name, Image: enginetest.BusyboxImage, Replicas: &one,
		Command: []string{"sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"}, EndpointMode: "dnsrr",
		Constraints: []string{"node.role==manager"}}, http.StatusCreated) // off the workers other tests drain
	t.Cleanup(func() { s.docker.ServiceRemove(context.Background(), name) })
	b := newBrowser(t)
	b.signIn(t, s.URL, "layout-admin")
	b.poll(t, "the service running", `fetch("/services/`+name+`").then(r => r.text()).then(t => t.includes("2/2"))`, 60*time.Second)
	for _, width := range []int64{1280, 800} {
		b.do(t, "a window of the width", chromedp.EmulateViewport(width, 900), chromedp.Navigate(s.URL+"/services"), chromedp.WaitVisible(chromedp.CSS("#logout")))
		// Every entry of an admin's navigation is visible, or reachable through the menu.
		hidden := func() []string {
			return eval[[]string](t, b, `[...document.querySelectorAll("#sidebar a")].filter(a => { const r = a.getBoundingClientRect(); return r.width === 0 || r.right > innerWidth; }).map(a => a.textContent)`)
		}
		entries := eval[int](t, b, `document.querySelectorAll("#sidebar a").length`)
		if entries < 12 {
			t.Fatalf("%d px: the admin's navigation has %d entries", width, entries)
		}
		if h := hidden(); len(h) > 0 {
			if width > 900 {
				t.Errorf("%d px: navigation entries off-screen: %v", width, h)
			}
			b.do(t, "open the menu", chromedp.Click(chromedp.CSS(`label[for="nav-toggle"]`)))
			if h := hidden(); len(h) > 0 {
				t.Errorf("%d px: entries neither visible nor in the menu: %v", width, h)
			}
		}
		if !eval[bool](t, b, `(() => { const r = document.querySelector("#logout").getBoundingClientRect(); return r.width > 0 && r.right <= innerWidth; })()`) {
			t.Errorf("%d px: Sign out is not on the screen", width)
		}
		for _, path := range []string{"/services", "/services/" + name, "/audit", "/nodes"} {
			b.do(t, "open "+path, chromedp.Navigate(s.URL+path), chromedp.WaitVisible(chromedp.CSS("main h1")))
			if sw, w := eval[int](t, b, `document.documentElement.scrollWidth`), eval[int](t, b, `window.innerWidth`); sw > w {
				t.Errorf("%d px: %s is %d px wide: the page scrolls sideways", width, path, sw)
			}
			if width == 1280 && path == "/services" {
				b.saveShot(t, "services.png")
			} else if width == 1280 && path == "/services/"+name {
				b.saveShot(t, "service.png")
			}
		}
	}
	b.requireCleanConsole(t)
}

// saveShot writes the page's screenshot into the README's screenshots.
func (b *browserTab) saveShot(t *testing.T, name string) {
	t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(readmeShots, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(readmeShots, name), png, 0o644); err != nil {
		t.Fatal(err)
	}
}
