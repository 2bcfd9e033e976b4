package handlers

import (
	"context"
	"strings"
	"testing"

	"github.com/berthhq/berth/swarm/enginetest"
	"github.com/chromedp/chromedp"
)

func TestBrowserSetupLoginNavigateLogout(t *testing.T) {
	cluster := enginetest.Shared(t)
	ts := newServer(t, cluster.Manager().Host())
	token, err := ts.Store.NewSetupToken(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t)

	// First admin through the one-time setup link.
	b.do(t, "open the setup link",
		chromedp.Navigate(ts.URL+"/setup?token="+token),
		chromedp.WaitVisible(chromedp.CSS("#setup form")),
		chromedp.SendKeys(chromedp.CSS("#username"), "founder"),
		chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
		chromedp.SendKeys(chromedp.CSS("#password_confirm"), testPassword),
		chromedp.Click(chromedp.CSS("#setup button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#environment")),
	)
	if got := b.text(t, "#swarm-state"); !strings.Contains(got, "active, manager") {
		t.Errorf("dashboard swarm state %q", got)
	}
	b.screenshot(t, "dashboard")

	// htmx navigation: the page is swapped in place, not reloaded.
	eval[bool](t, b, `window.berthMarker = true`)
	b.do(t, "go to the audit log",
		chromedp.Click(chromedp.CSS(`nav a[href="/audit"]`)),
		chromedp.WaitVisible(chromedp.CSS("#audit-records")),
	)
	if !eval[bool](t, b, `window.berthMarker === true`) {
		t.Error("following a navigation link reloaded the page instead of swapping it")
	}
	if loc := eval[string](t, b, `location.pathname`); loc != "/audit" {
		t.Errorf("address bar shows %s, want /audit", loc)
	}
	if got := b.text(t, "#audit-records tbody"); !strings.Contains(got, "setup.first_admin") || !strings.Contains(got, "founder") {
		t.Errorf("audit log after setup: %q", got)
	}
	if cur := b.text(t, `nav a[aria-current="page"]`); cur != "Audit log" {
		t.Errorf("current navigation item %q", cur)
	}
	b.screenshot(t, "audit")

	b.do(t, "sign out",
		chromedp.Click(chromedp.CSS("#logout")),
		chromedp.WaitVisible(chromedp.CSS("#login form")),
	)
	if loc := eval[string](t, b, `location.pathname`); loc != "/login" {
		t.Errorf("after sign-out the address is %s", loc)
	}
	b.do(t, "a protected page after sign-out",
		chromedp.Navigate(ts.URL+"/team"),
		chromedp.WaitVisible(chromedp.CSS("#login form")),
	)

	b.do(t, "a wrong password",
		chromedp.SendKeys(chromedp.CSS("#username"), "founder"),
		chromedp.SendKeys(chromedp.CSS("#password"), "not my password"),
		chromedp.Click(chromedp.CSS("#login button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#login-error")),
	)
	if got := b.text(t, "#login-error"); got != "Wrong username or password." {
		t.Errorf("wrong password message %q", got)
	}
	if kept := eval[string](t, b, `document.querySelector("#username").value`); kept != "founder" {
		t.Errorf("the username was not kept after a refusal: %q", kept)
	}
	b.do(t, "sign in",
		chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
		chromedp.Click(chromedp.CSS("#login button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#members")),
	)
	if loc := eval[string](t, b, `location.pathname`); loc != "/team" {
		t.Errorf("after sign-in the address is %s, want back to /team", loc)
	}
	b.screenshot(t, "team")
	b.requireCleanConsole(t)
}
