package handlers

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/swarm"
	"github.com/berthhq/berth/swarm/enginetest"
	"github.com/chromedp/chromedp"
)

// An admin sets the bucket in a real browser, is shown the backup key once, and the
// Backups page follows the new snapshot's copy until it reads "copied".
func TestBrowserOffsitePageShowsTheKeyOnceAndTheBackupsPageFollowsTheCopy(t *testing.T) {
	e := newOffsiteEnv(t)
	e.mustAPI(t, e.token, http.MethodPost, "/api/v1/volumes", map[string]string{"name": "media"}, http.StatusCreated)
	e.mustAPI(t, e.token, http.MethodPost, "/api/v1/services", swarm.ServiceSpec{Name: "media", Image: enginetest.BusyboxImage, EndpointMode: "dnsrr",
		Command: []string{"sh", "-c", "head -c 50000000 /dev/urandom > /data/blob; trap 'exit 0' TERM; while true; do sleep 1; done"},
		Volumes: []swarm.VolumeRef{{Mapping: "media", Target: "/data"}}}, http.StatusCreated)
	e.exec(t, "media", "sh", "-c", "while [ $(wc -c < /data/blob) -lt 50000000 ]; do sleep 0.2; done")

	b := newBrowser(t)
	b.signIn(t, e.URL, "root")
	b.do(t, "fill in the bucket and save",
		chromedp.Navigate(e.URL+"/backups/offsite"),
		chromedp.WaitVisible(chromedp.CSS("#offsite-form")),
		chromedp.SendKeys(chromedp.CSS("#endpoint"), e.s3.Endpoint),
		chromedp.SendKeys(chromedp.CSS("#region"), "us-east-1"),
		chromedp.SendKeys(chromedp.CSS("#bucket"), "berth-copies"),
		chromedp.SendKeys(chromedp.CSS("#access_key"), e.s3.AccessKey),
		chromedp.SendKeys(chromedp.CSS("#secret_key"), e.s3.SecretKey),
		chromedp.Click(chromedp.CSS("#save-offsite")),
		chromedp.WaitVisible(chromedp.CSS("#backup-key-text")),
	)
	b.screenshot(t, "offsite-key-shown-once")
	if key := b.text(t, "#backup-key-text"); !strings.HasPrefix(key, "berth-backup-key:") {
		t.Errorf("the key shown: %q", key)
	}
	b.do(t, "open the page again", chromedp.Navigate(e.URL+"/backups/offsite"), chromedp.WaitVisible(chromedp.CSS("#offsite-form")))
	if eval[bool](t, b, `!!document.querySelector("#backup-key-text") || document.body.innerText.includes("berth-backup-key:") || document.body.innerHTML.includes(`+"`"+e.s3.SecretKey+"`"+`)`) {
		t.Error("the key or the secret key is shown again")
	}
	b.do(t, "open the backups page", chromedp.Navigate(e.URL+"/backups"), chromedp.WaitVisible(chromedp.CSS("#offsite-where")))
	eval[bool](t, b, `window.berthMarker = true`)
	b.do(t, "back up now", chromedp.Click(chromedp.CSS("#backup-now")))
	b.poll(t, "the copy's state in the list", `[...document.querySelectorAll("#backups td[id^='offsite-']")].some(td => td.innerText.startsWith("copied"))`, 2*time.Minute)
	b.screenshot(t, "offsite-copied")
	if !eval[bool](t, b, `window.berthMarker === true`) {
		t.Error("the page reloaded instead of updating")
	}
	b.requireCleanConsole(t)
}
