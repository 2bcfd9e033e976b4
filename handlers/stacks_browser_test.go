package handlers

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// An operator deploys a stack from the page: the preview first, a refusal that names
// the place in the file and deploys nothing, then the stack, its services live, and
// its removal once its name is typed.
func TestBrowserStackDeployPreviewRefusalAndRemoval(t *testing.T) {
	s := newSwarmServer(t)
	withNetwork(t, s)
	name := strings.ReplaceAll(uniq("web"), "-", "")
	t.Cleanup(func() { s.api(t, s.token, "DELETE", "/api/v1/stacks/"+name+"?volumes=true", nil) })
	dir := t.TempDir()
	for file, text := range map[string]string{"pw.txt": "hunter2", "app.conf": "port=8080\n"} {
		if err := os.WriteFile(filepath.Join(dir, file), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	good := stackCompose(19000 + int(time.Now().UnixNano()%1000))
	bad := strings.Replace(good, "volumes: [data:/data]", `volumes: ["/etc:/host-etc"]`, 1)
	b := newBrowser(t)
	b.signIn(t, s.URL, "op")
	fill := func(compose string) []chromedp.Action[chromedp.Void] {
		return []chromedp.Action[chromedp.Void]{
			chromedp.Navigate(s.URL + "/stacks/new"),
			chromedp.WaitVisible(chromedp.CSS("#stack-form")),
			chromedp.SendKeys(chromedp.CSS("#name"), name),
			chromedp.SetValue(chromedp.CSS("#compose"), compose),
			chromedp.SetValue(chromedp.CSS("#env"), "GREETING=hi\n"),
			chromedp.SetUploadFiles(chromedp.CSS("#files"), []string{filepath.Join(dir, "pw.txt"), filepath.Join(dir, "app.conf")}),
		}
	}
	b.do(t, "preview the stack", append(fill(good), chromedp.Click(chromedp.CSS("#preview-stack")), chromedp.WaitVisible(chromedp.CSS("#stack-preview")))...)
	if got := b.text(t, "#stack-summary"); got != "7 created." {
		t.Errorf("preview summary %q", got)
	}
	if left := stackLeftovers(t, s, name); len(left) > 0 {
		t.Errorf("the preview made %v", left)
	}
	b.do(t, "deploy a file with a bind mount", append(fill(bad), chromedp.Click(chromedp.CSS("#deploy-stack")), chromedp.WaitVisible(chromedp.CSS("#stack-errors")))...)
	if got := b.text(t, "#stack-errors"); !strings.Contains(got, "services.db.volumes[0]") || !strings.Contains(got, "Bind mounts of the host's filesystem are refused") {
		t.Errorf("refusal reads %q", got)
	}
	if left := stackLeftovers(t, s, name); len(left) > 0 {
		t.Errorf("a refused file deployed %v", left)
	}
	b.do(t, "deploy the stack", append(fill(good), chromedp.Click(chromedp.CSS("#deploy-stack")), chromedp.WaitVisible(chromedp.CSS("#stack-notice")))...)
	if got := b.text(t, "#stack-notice"); !strings.Contains(got, "Deployed stack "+name+": 7 created") {
		t.Errorf("notice %q", got)
	}
	b.poll(t, "the three services running, pushed to the open page", `[...document.querySelectorAll("#stack-services .replicas")].filter(e => e.textContent.trim() === "1/1").length === 3`, 90*time.Second)
	b.screenshot(t, "stack")
	b.do(t, "redeploy the stack", chromedp.Click(chromedp.CSS("#redeploy-stack button")))
	b.poll(t, "the redeploy's notice", `(document.querySelector("#stack-notice") || {}).textContent?.includes("Redeploying 3 services of `+name+`")`, 15*time.Second)
	b.do(t, "remove the stack",
		chromedp.SendKeys(chromedp.CSS("#confirm"), name),
		chromedp.Click(chromedp.CSS("#volumes")),
		chromedp.Click(chromedp.CSS("#remove-stack button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#stacks")),
	)
	if left := stackLeftovers(t, s, name); len(left) > 0 {
		t.Errorf("left behind: %v", left)
	}
	if _, err := s.Store.VolumeMapping(context.Background(), name+"_data"); err == nil {
		t.Error("the stack's volume mapping stayed though its removal was asked")
	}
	b.requireCleanConsole(t)
}
