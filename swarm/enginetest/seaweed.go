package enginetest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// SeaweedVersion is the S3-compatible server the off-site tests copy to, built from the module proxy.
const SeaweedVersion = "v0.0.0-20261109003541-7506e5f91cd6"

// EnvSeaweed names the built weed binary (set by the test command).
const EnvSeaweed = "BERTH_TEST_SEAWEED"

// S3 is a real S3-compatible server (SeaweedFS in one process) with one set of keys.
type S3 struct {
	Endpoint  string // http://127.0.0.1:port
	AccessKey string
	SecretKey string
	Dir       string // where it keeps its data, for tests that look at the stored bytes
	port      int
	serverProcess
}

// StartS3 starts an S3 server on free local ports, stopped when the test ends.
func StartS3(t testing.TB) *S3 {
	t.Helper()
	bin := toolBinary(t, EnvSeaweed, "S3 server")
	s := &S3{AccessKey: "berthtest", SecretKey: "berth-test-secret-key", Dir: t.TempDir(), port: freePort(t)}
	s.Endpoint = fmt.Sprintf("http://127.0.0.1:%d", s.port)
	conf := map[string]any{"identities": []map[string]any{{
		"name": "berth", "credentials": []map[string]string{{"accessKey": s.AccessKey, "secretKey": s.SecretKey}},
		"actions": []string{"Admin", "Read", "Write", "List", "Tagging"},
	}}}
	raw, _ := json.Marshal(conf)
	confFile := filepath.Join(s.Dir, "s3.json")
	if err := os.WriteFile(confFile, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(s.Dir, "data")
	os.MkdirAll(data, 0o700)
	s.name, s.wait, s.log = "weed's S3", 60*time.Second, filepath.Join(s.Dir, "weed.log")
	s.addr = "127.0.0.1:" + strconv.Itoa(s.port)
	s.args = []string{bin, "server", "-dir=" + data, "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
		"-master.port=" + strconv.Itoa(freePort(t)), "-volume.port=" + strconv.Itoa(freePort(t)), "-filer.port=" + strconv.Itoa(freePort(t)),
		"-master.port.grpc=" + strconv.Itoa(freePort(t)), "-volume.port.grpc=" + strconv.Itoa(freePort(t)), "-filer.port.grpc=" + strconv.Itoa(freePort(t)),
		"-s3", "-s3.port=" + strconv.Itoa(s.port), "-s3.port.grpc=" + strconv.Itoa(freePort(t)), "-s3.config=" + confFile,
		"-s3.port.iceberg=0", "-s3.port.lance=0", "-volume.max=0", "-master.volumeSizeLimitMB=64"}
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s
}

// MakeBucket creates a bucket (as an admin would before pointing Berth at it).
func (s *S3) MakeBucket(t testing.TB, name string) {
	t.Helper()
	cli, err := minio.New(strings.TrimPrefix(s.Endpoint, "http://"), &minio.Options{Creds: credentials.NewStaticV4(s.AccessKey, s.SecretKey, ""), BucketLookup: minio.BucketLookupPath})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		err := cli.MakeBucket(ctx, name, minio.MakeBucketOptions{})
		if err == nil {
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("make bucket %s: %v", name, err)
		}
		time.Sleep(200 * time.Millisecond) // the server answers before its filer is ready
	}
}
