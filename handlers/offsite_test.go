package handlers

import (
	"bytes"
	"context"
	"encoding/hex"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/store"
	"github.com/berthhq/berth/swarm"
	"github.com/berthhq/berth/swarm/enginetest"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// offsiteEnv is a backup environment with a real S3 server and an admin's token.
type offsiteEnv struct {
	*backupEnv
	s3    *enginetest.S3
	admin string
}

func newOffsiteEnv(t *testing.T) *offsiteEnv {
	t.Helper()
	e := newBackupEnv(t)
	s3 := enginetest.StartS3(t)
	s3.MakeBucket(t, "berth-copies")
	u := e.addUser("root", store.RoleAdmin)
	token, _, _ := e.Store.CreateAPIToken(context.Background(), u.ID, "offsite")
	return &offsiteEnv{backupEnv: e, s3: s3, admin: token}
}

// settings are the bucket's settings as an admin enters them.
func (e *offsiteEnv) settings() map[string]any {
	return map[string]any{"endpoint": e.s3.Endpoint, "region": "us-east-1", "bucket": "berth-copies", "prefix": "env1",
		"access_key": e.s3.AccessKey, "secret_key": e.s3.SecretKey, "path_style": true}
}

// configure saves the bucket and returns the backup key Berth showed.
func (e *offsiteEnv) configure(t *testing.T) string {
	t.Helper()
	var out struct {
		BackupKey string `json:"backup_key"`
	}
	e.mustAPI(t, e.admin, http.MethodPut, "/api/v1/backups/offsite", e.settings(), http.StatusOK).decode(t, &out)
	if !strings.HasPrefix(out.BackupKey, "berth-backup-key:") {
		t.Fatalf("the first save showed no backup key: %+v", out)
	}
	return out.BackupKey
}

// waitCopy waits until the snapshot's off-site copy reaches a state, and returns it.
func (e *offsiteEnv) waitCopy(t *testing.T, id, want string, within time.Duration) apiCopy {
	t.Helper()
	deadline := time.Now().Add(within)
	var last apiSnapshot
	for time.Now().Before(deadline) {
		e.mustAPI(t, e.token, http.MethodGet, "/api/v1/backups/"+id, nil, http.StatusOK).decode(t, &last)
		if last.Offsite != nil && last.Offsite.State == want {
			return *last.Offsite
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("the copy of %s did not become %q: %+v", id, want, last.Offsite)
	return apiCopy{}
}

// bucket is a client of the S3 server, for looking at what Berth put there.
func (e *offsiteEnv) bucket(t *testing.T) *minio.Client {
	cli, err := minio.New(strings.TrimPrefix(e.s3.Endpoint, "http://"), &minio.Options{Creds: credentials.NewStaticV4(e.s3.AccessKey, e.s3.SecretKey, ""), BucketLookup: minio.BucketLookupPath})
	if err != nil {
		t.Fatal(err)
	}
	return cli
}

// storedFilesContain says which of the S3 server's data files hold needle.
func storedFilesContain(t *testing.T, dir string, needle []byte) []string {
	t.Helper()
	var hits []string
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() {
			if raw, err := os.ReadFile(p); err == nil && bytes.Contains(raw, needle) {
				hits = append(hits, p)
			}
		}
		return nil
	})
	return hits
}

func TestOffsiteCopiesAreEncryptedListedAndVerified(t *testing.T) {
	e := newOffsiteEnv(t)
	ctx := context.Background()
	step(t, "bad settings are answered by field, nothing saved", func(t *testing.T) {
		for field, change := range map[string]map[string]any{
			"secret_key": {"secret_key": "not-the-secret"},
			"bucket":     {"bucket": "no-such-bucket"},
			"endpoint":   {"endpoint": "ftp://x"},
		} {
			body := e.settings()
			for k, v := range change {
				body[k] = v
			}
			r := e.api(t, e.admin, http.MethodPut, "/api/v1/backups/offsite", body)
			if r.Status != http.StatusUnprocessableEntity || !strings.Contains(r.Body, `"`+field+`"`) {
				t.Errorf("%s wrong: %d %s", field, r.Status, r.Body)
			}
		}
		if r := e.api(t, e.token, http.MethodPut, "/api/v1/backups/offsite", e.settings()); r.Status != http.StatusForbidden {
			t.Errorf("an operator set the bucket: %d", r.Status)
		}
		var got map[string]any
		e.mustAPI(t, e.admin, http.MethodGet, "/api/v1/backups/offsite", nil, http.StatusOK).decode(t, &got)
		if got["configured"] != false {
			t.Errorf("refused settings were saved: %v", got)
		}
	})
	key := e.configure(t)
	var shown map[string]any
	r := e.mustAPI(t, e.admin, http.MethodGet, "/api/v1/backups/offsite", nil, http.StatusOK)
	r.decode(t, &shown)
	if strings.Contains(r.Body, e.s3.SecretKey) || strings.Contains(r.Body, strings.TrimPrefix(key, "berth-backup-key:")[:8]) {
		t.Errorf("the settings answer shows the secret key or the backup key: %s", r.Body)
	}
	if strings.Contains(e.Log.String(), e.s3.SecretKey) {
		t.Error("the log shows the bucket's secret key")
	}

	// A volume of random bytes (stored as they are in the compressed archive) and a secret.
	e.mustAPI(t, e.token, http.MethodPost, "/api/v1/volumes", map[string]string{"name": "appdata"}, http.StatusCreated)
	e.mustAPI(t, e.token, http.MethodPost, "/api/v1/secrets", map[string]string{"name": "db_pw", "data": "offsite-secret-9f3a"}, http.StatusCreated)
	app := swarm.ServiceSpec{Name: "app", Image: enginetest.BusyboxImage, EndpointMode: "dnsrr",
		Command: []string{"sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"},
		Volumes: []swarm.VolumeRef{{Mapping: "appdata", Target: "/data"}}, Secrets: []swarm.FileRef{{Name: "db_pw"}}}
	e.mustAPI(t, e.token, http.MethodPost, "/api/v1/services", app, http.StatusCreated)
	known := e.exec(t, "app", "sh", "-c", "head -c 200000 /dev/urandom > /data/blob && head -c 48 /data/blob | od -An -tx1 | tr -d ' \\n'")
	needle := must(hex.DecodeString(strings.TrimSpace(known))).value(t)

	snap := e.backupNow(t)
	copied := e.waitCopy(t, snap.ID, "copied", 2*time.Minute)
	if copied.CopiedAt == "" {
		t.Errorf("a copied snapshot without its time: %+v", copied)
	}
	step(t, "the bucket holds only ciphertext", func(t *testing.T) {
		if hits := storedFilesContain(t, filepath.Join(e.Data, "backups", snap.ID), needle); len(hits) == 0 {
			t.Fatal("control: the local archive does not hold the volume's bytes as they are, so the search below proves nothing")
		}
		if hits := storedFilesContain(t, e.s3.Dir, needle); len(hits) > 0 {
			t.Errorf("the volume's bytes are readable in the bucket's files: %v", hits)
		}
		for _, plain := range []string{"offsite-secret-9f3a", "db_pw", `"mapping"`, "appdata"} {
			if hits := storedFilesContain(t, e.s3.Dir, []byte(plain)); len(hits) > 0 {
				t.Errorf("%q is readable in the bucket's files: %v", plain, hits)
			}
		}
	})
	var remote []apiSnapshot
	e.mustAPI(t, e.admin, http.MethodGet, "/api/v1/backups/offsite/snapshots", nil, http.StatusOK).decode(t, &remote)
	if len(remote) != 1 || remote[0].ID != snap.ID || len(remote[0].Volumes) != 1 || !strings.Contains(strings.Join(remote[0].Secrets, ","), "db_pw") {
		t.Fatalf("the bucket's copies: %+v", remote)
	}
	verify := func() (ok bool, body string) {
		var v struct {
			OK         bool
			Mismatches []struct{ File, Recorded, Now string }
		}
		res := e.mustAPI(t, e.token, http.MethodPost, "/api/v1/backups/"+snap.ID+"/verify?where=offsite", nil, http.StatusOK)
		res.decode(t, &v)
		return v.OK, res.Body
	}
	if ok, body := verify(); !ok {
		t.Fatalf("the untouched copy does not verify: %s", body)
	}
	step(t, "a new backup key seals new copies; the old copy still opens", func(t *testing.T) {
		var rotated struct {
			ID  string `json:"id"`
			Key string `json:"backup_key"`
		}
		e.mustAPI(t, e.admin, http.MethodPost, "/api/v1/backups/offsite/keys", map[string]any{}, http.StatusOK).decode(t, &rotated)
		if !strings.HasPrefix(rotated.Key, "berth-backup-key:") || rotated.Key == key {
			t.Fatalf("the rotated key: %+v", rotated)
		}
		second := e.backupNow(t)
		e.waitCopy(t, second.ID, "copied", 2*time.Minute)
		copies := must(e.Store.OffsiteCopies(ctx)).value(t)
		if copies[second.ID].KeyID != rotated.ID || copies[snap.ID].KeyID == rotated.ID {
			t.Errorf("the copies' keys after rotation: first %s, second %s, new key %s", copies[snap.ID].KeyID, copies[second.ID].KeyID, rotated.ID)
		}
		for _, id := range []string{snap.ID, second.ID} {
			var v struct{ OK bool }
			if e.mustAPI(t, e.token, http.MethodPost, "/api/v1/backups/"+id+"/verify?where=offsite", nil, http.StatusOK).decode(t, &v); !v.OK {
				t.Errorf("the copy of %s does not open after the rotation", id)
			}
		}
		recs := must(e.Store.AuditRecords(ctx, store.AuditFilter{Action: "backup.key.rotate"})).value(t)
		if len(recs) != 1 || recs[0].Actor != "root" || strings.Contains(recs[0].Detail, strings.TrimPrefix(rotated.Key, "berth-backup-key:")[:8]) {
			t.Errorf("the rotation's audit record: %+v", recs)
		}
	})
	step(t, "a flipped byte in the bucket is caught", func(t *testing.T) {
		cli := e.bucket(t)
		// Objects have random names; the volume's archive is the largest.
		var name string
		var largest int64
		for o := range cli.ListObjects(ctx, "berth-copies", minio.ListObjectsOptions{Prefix: "env1/snapshots/" + snap.ID + "/", Recursive: true}) {
			if o.Err != nil {
				t.Fatal(o.Err)
			}
			if strings.Contains(o.Key, snap.Volumes[0].Mapping) {
				t.Errorf("an object's name says which mapping it holds: %s", o.Key)
			}
			if o.Size > largest {
				name, largest = o.Key, o.Size
			}
		}
		obj := must(cli.GetObject(ctx, "berth-copies", name, minio.GetObjectOptions{})).value(t)
		raw := must(io.ReadAll(obj)).value(t)
		raw[len(raw)/2] ^= 0x01
		if _, err := cli.PutObject(ctx, "berth-copies", name, bytes.NewReader(raw), int64(len(raw)), minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
		ok, body := verify()
		if ok || !strings.Contains(body, snap.Volumes[0].File) || !strings.Contains(body, "does not decrypt") {
			t.Errorf("remote verify after a flipped byte: %s", body)
		}
		if ok, body := verifyLocal(e, t, snap.ID); !ok {
			t.Errorf("the local snapshot no longer verifies: %s", body)
		}
		var remoteRecs []store.AuditRecord
		for _, r := range must(e.Store.AuditRecords(ctx, store.AuditFilter{Action: "backup.verify"})).value(t) {
			if r.Object == "backup:"+snap.ID+" (off-site copy)" {
				remoteRecs = append(remoteRecs, r)
			}
		}
		if len(remoteRecs) < 2 || !strings.HasPrefix(remoteRecs[0].Outcome, "failed") || remoteRecs[1].Outcome != "ok" {
			t.Errorf("the remote verifies' audit records, newest first: %+v", remoteRecs)
		}
	})
	step(t, "a snapshot removed here keeps its bucket copy and loses its copy record", func(t *testing.T) {
		if err := e.Backups.Target.Remove(snap.ID); err != nil {
			t.Fatal(err)
		}
		e.Offsite.CopyDue(ctx)
		if _, left := must(e.Store.OffsiteCopies(ctx)).value(t)[snap.ID]; left {
			t.Error("the copy record of a snapshot gone from this machine stays")
		}
		var remote []apiSnapshot
		e.mustAPI(t, e.admin, http.MethodGet, "/api/v1/backups/offsite/snapshots", nil, http.StatusOK).decode(t, &remote)
		ids := map[string]bool{}
		for _, r := range remote {
			ids[r.ID] = true
		}
		if len(remote) != 2 || !ids[snap.ID] {
			t.Errorf("the bucket's copies after the local one went: %+v", remote)
		}
	})
}

// verifyLocal verifies the local snapshot.
func verifyLocal(e *offsiteEnv, t *testing.T, id string) (bool, string) {
	var v struct{ OK bool }
	res := e.mustAPI(t, e.token, http.MethodPost, "/api/v1/backups/"+id+"/verify", nil, http.StatusOK)
	res.decode(t, &v)
	return v.OK, res.Body
}
