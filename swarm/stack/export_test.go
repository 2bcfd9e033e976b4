package stack

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/berthhq/berth/swarm"
)

// A stack's export, read back under another name, gives the same service specs, with
// every object the services use referenced by its name rather than copied.
func TestExportReadsBackAsTheSameSpecs(t *testing.T) {
	ctx := context.Background()
	first, err := Parse(ctx, Input{Name: "shop", Compose: shop, Env: "API_KEY=k", Files: map[string]string{"site.conf": "x", "pw.txt": "y"}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := Export("shop", specsOf(first))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "s3cret") || strings.Contains(string(out), "\"y\"") {
		t.Fatal("the export carries a secret's value")
	}
	again, err := Parse(ctx, Input{Name: "copy", Compose: string(out)})
	if err != nil {
		t.Fatalf("the export does not read back: %v\n%s", err, out)
	}
	if len(again.Warnings) != 0 {
		t.Errorf("the export uses keys Berth does not apply: %+v", again.Warnings)
	}
	for i, s := range again.Services {
		a, b := first.Services[i].Spec, s.Spec
		if b.Name != "copy_"+first.Services[i].Key {
			t.Errorf("name %s", b.Name)
		}
		a.Name, b.Name = "", ""
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		if string(ja) != string(jb) {
			t.Errorf("%s differs after the round trip:\n%s\n%s", first.Services[i].Key, ja, jb)
		}
	}
	for _, o := range again.Objects {
		if !o.External || !strings.HasPrefix(o.Name, "shop_") {
			t.Errorf("object %+v is not the original, by name", o)
		}
	}
}

func specsOf(p Plan) (out []swarm.ServiceSpec) {
	for _, s := range p.Services {
		out = append(out, s.Spec)
	}
	return out
}
