package handlers

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/berthhq/berth/swarm/backup"
	"github.com/berthhq/berth/swarm/backup/offsite"
	"github.com/berthhq/berth/swarm/enginetest"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// BenchmarkOffsiteCopy1GiB measures, in one run, copying a snapshot of a 1 GiB volume to
// the local S3 server through Berth (encrypted in chunks, with checksums) against a plain
// upload of the same archive file with the same client library (minio-go's PutObject,
// CRC32C checksums), unencrypted. Run it with:
//
//	go run ./cmd/testenv -race=false -checks=false -- -run '^$' -bench OffsiteCopy1GiB -benchtime 3x ./handlers/
func BenchmarkOffsiteCopy1GiB(b *testing.B) {
	ts, node := newSwarmOfOne(b)
	ctx := context.Background()
	s3 := enginetest.StartS3(b)
	s3.MakeBucket(b, "bench")
	u := ts.addUser("op", "operator")
	token := must(createToken(ts, u.Username)).value(b)
	if r := ts.api(b, token, http.MethodPost, "/api/v1/volumes", map[string]string{"name": "benchvol"}); r.Status != http.StatusCreated {
		b.Fatal(r.Body)
	}
	cli := must(node.Client()).value(b)
	defer cli.Close()
	runOnce(b, ctx, cli, "for i in $(seq 1 16); do head -c 67108864 /dev/urandom > /v/rand$i; done; sync", "benchvol")
	done := make(chan backup.Result, 1)
	if _, err := ts.Backups.Start(ctx, "bench", func(r backup.Result) { done <- r }); err != nil {
		b.Fatal(err)
	}
	res := <-done
	if res.Err != nil {
		b.Fatal(res.Err)
	}
	// The bucket is set straight in the store, so the running copier queues nothing and
	// only the benchmark copies.
	settings := offsite.Settings{Endpoint: s3.Endpoint, Region: "us-east-1", Bucket: "bench", AccessKey: s3.AccessKey, SecretKey: s3.SecretKey, PathStyle: true}
	raw, _ := json.Marshal(settings)
	key := offsite.NewKey()
	if err := ts.Store.SetOffsiteTarget(ctx, raw, "bench"); err != nil {
		b.Fatal(err)
	}
	if err := ts.Store.AddBackupKey(ctx, key.ID(), key.Raw(), "bench", true); err != nil {
		b.Fatal(err)
	}
	// The plain upload is minio-go's own PutObject of the file (parts read at offsets, four at once).
	plainClient := must(minio.New(strings.TrimPrefix(s3.Endpoint, "http://"), &minio.Options{Creds: credentials.NewStaticV4(s3.AccessKey, s3.SecretKey, ""), BucketLookup: minio.BucketLookupPath, TrailingHeaders: true})).value(b)
	archive := filepath.Join(ts.Data, "backups", res.Manifest.ID, res.Manifest.Volumes[0].File)
	size := must(os.Stat(archive)).value(b).Size()
	var berth, plain []float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		dropCaches(b)
		start := time.Now()
		n, err := ts.Offsite.Copy(ctx, res.Manifest.ID)
		if err != nil {
			b.Fatal(err)
		}
		berth = append(berth, mbps(n, time.Since(start)))

		dropCaches(b)
		f := must(os.Open(archive)).value(b)
		start = time.Now()
		if _, err := plainClient.PutObject(ctx, "bench", "plain/archive", f, size, minio.PutObjectOptions{Checksum: minio.ChecksumCRC32C}); err != nil {
			b.Fatal(err)
		}
		plain = append(plain, mbps(size, time.Since(start)))
		f.Close()
	}
	b.StopTimer()
	b.ReportMetric(float64(size)/(1<<20), "archive-MiB")
	b.ReportMetric(medianF(plain), "plain-MB/s")
	b.ReportMetric(medianF(berth), "berth-MB/s")
	b.ReportMetric(medianF(berth)/medianF(plain), "berth/plain")
}
