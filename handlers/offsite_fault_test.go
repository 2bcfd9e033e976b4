package handlers

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/swarm/enginetest"
	dswarm "github.com/docker/docker/api/types/swarm"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// The bucket's server stops during a copy, then Berth is killed during the next one:
// the local snapshot stays complete, the copy is retried and completes, and the bucket
// never lists a half-copied snapshot.
func TestOffsiteCopySurvivesTheServerStoppingAndBerthBeingKilled(t *testing.T) {
	node := enginetest.Dedicated(t)
	ctx := context.Background()
	s3 := enginetest.StartS3(t)
	s3.MakeBucket(t, "berth-copies")
	berth := newBerthProcess(t, node.Host())
	admin := berth.member("root", "admin")
	cli := must(node.Client()).value(t)
	defer cli.Close()
	if _, err := cli.SwarmInit(ctx, dswarm.InitRequest{ListenAddr: node.Addr, AdvertiseAddr: node.Addr}); err != nil {
		t.Fatal(err)
	}
	berth.Serve()
	api := func(method, path string, body any, want int) string {
		t.Helper()
		code, out := berth.call(method, path, admin, body)
		if code != want {
			t.Fatalf("%s %s: %d %s", method, path, code, out)
		}
		return out
	}
	api(http.MethodPut, "/api/v1/backups/offsite", map[string]any{"endpoint": s3.Endpoint, "region": "us-east-1", "bucket": "berth-copies",
		"access_key": s3.AccessKey, "secret_key": s3.SecretKey, "path_style": true}, http.StatusOK)
	api(http.MethodPost, "/api/v1/volumes", map[string]string{"name": "bulk"}, http.StatusCreated)
	// Random bytes do not compress: 600 MB take seconds to copy, long enough to act in the middle.
	runOnce(t, ctx, cli, "head -c 600000000 /dev/urandom > /v/blob", "bulk")
	var started struct{ ID string }
	json.Unmarshal([]byte(api(http.MethodPost, "/api/v1/backups", nil, http.StatusAccepted)), &started)
	id := started.ID

	bucket := must(minio.New(strings.TrimPrefix(s3.Endpoint, "http://"), &minio.Options{Creds: credentials.NewStaticV4(s3.AccessKey, s3.SecretKey, ""), BucketLookup: minio.BucketLookupPath})).value(t)
	// listed says whether the bucket holds the copy's index, which is what makes a copy listed.
	listed := func() bool {
		_, err := bucket.StatObject(ctx, "berth-copies", "snapshots/"+id+"/index", minio.StatObjectOptions{})
		return err == nil
	}
	// snapshot reads the snapshot (zero while it is still being taken).
	snapshot := func() apiSnapshot {
		var s apiSnapshot
		if code, out := berth.call(http.MethodGet, "/api/v1/backups/"+id, admin, nil); code == http.StatusOK {
			json.Unmarshal([]byte(out), &s)
		}
		return s
	}
	// copying waits until the copy is under way with some bytes sent.
	copying := func(what string) {
		t.Helper()
		waitFor(t, 3*time.Minute, what, func() bool {
			c := snapshot().Offsite
			return c != nil && c.State == "copying" && c.DoneBytes > 0
		})
	}

	step(t, "the server stops in the middle of the copy", func(t *testing.T) {
		copying("the first copy under way")
		s3.Stop()
		var s apiSnapshot
		waitFor(t, 3*time.Minute, "the copy to fail", func() bool {
			s = snapshot()
			return s.Offsite != nil && s.Offsite.State == "failed"
		})
		if s.Status != "complete" || s.Offsite.Error == "" || s.Offsite.NextTry == "" {
			t.Errorf("after the server stopped: status %s, copy %+v", s.Status, s.Offsite)
		}
		var verdict struct{ OK bool }
		json.Unmarshal([]byte(api(http.MethodPost, "/api/v1/backups/"+id+"/verify", nil, http.StatusOK)), &verdict)
		if !verdict.OK {
			t.Error("the local snapshot does not verify after its copy failed")
		}
		if err := s3.Start(); err != nil {
			t.Fatal(err)
		}
		if listed() {
			t.Error("the bucket lists the copy that failed half-way")
		}
	})
	step(t, "Berth is killed in the middle of the retry", func(t *testing.T) {
		copying("the retry under way")
		berth.Kill()
		if listed() {
			t.Error("the bucket lists the copy Berth was killed in the middle of")
		}
	})
	step(t, "after the restart the copy starts again and completes", func(t *testing.T) {
		berth.Serve()
		var s apiSnapshot
		waitFor(t, 5*time.Minute, "the copy to complete", func() bool {
			s = snapshot()
			if s.Offsite != nil && s.Offsite.State != "copied" && listed() && s.Offsite.State != "copying" {
				t.Errorf("the bucket lists a copy Berth says is %s", s.Offsite.State)
			}
			return s.Offsite != nil && s.Offsite.State == "copied"
		})
		if !listed() || s.Offsite.Attempts < 1 {
			t.Errorf("the copied snapshot: listed %v, %+v", listed(), s.Offsite)
		}
		var remote []apiSnapshot
		json.Unmarshal([]byte(api(http.MethodGet, "/api/v1/backups/offsite/snapshots", nil, http.StatusOK)), &remote)
		if len(remote) != 1 || remote[0].ID != id || remote[0].Volumes[0].DataBytes < 600000000 {
			t.Errorf("the bucket's copies: %s", fmt.Sprint(remote))
		}
		var verdict struct{ OK bool }
		if out := api(http.MethodPost, "/api/v1/backups/"+id+"/verify?where=offsite", nil, http.StatusOK); json.Unmarshal([]byte(out), &verdict) != nil || !verdict.OK {
			t.Errorf("the bucket's copy does not verify: %s", out)
		}
	})
}
