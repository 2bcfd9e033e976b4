package offsite

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Settings say where copies go; SecretKey is sealed wherever Berth keeps it.
type Settings struct {
	Endpoint  string `json:"endpoint"` // https://host:port, or http:// for a server on a private network
	Region    string `json:"region"`
	Bucket    string `json:"bucket"`
	Prefix    string `json:"prefix"`
	AccessKey string `json:"access_key"`
	SecretKey string `json:"secret_key,omitempty"`
	PathStyle bool   `json:"path_style"`
	CAPEM     string `json:"ca_pem,omitempty"`
	KeepDays  int    `json:"keep_days"` // 0: the bucket keeps what local retention keeps; else every copy at least this long
}

// FieldError is a setting that cannot be used, with the field it belongs to.
type FieldError struct{ Field, Msg string }

func (e *FieldError) Error() string { return e.Msg }

// Validate checks the settings' form without reaching the server.
func (s Settings) Validate() error {
	u, err := url.Parse(s.Endpoint)
	switch {
	case s.Endpoint == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || (u.Path != "" && u.Path != "/"):
		return &FieldError{"endpoint", "Enter the server's address as https://host[:port] (http:// only on a private network)."}
	case s.Bucket == "" || len(s.Bucket) > 63 || strings.ContainsAny(s.Bucket, "/ _"):
		return &FieldError{"bucket", "Enter a bucket name (3 to 63 lower-case letters, digits, '.' or '-')."}
	case strings.Contains(s.Prefix, ".."):
		return &FieldError{"prefix", "A prefix cannot contain '..'."}
	case s.AccessKey == "":
		return &FieldError{"access_key", "Enter the access key."}
	case s.SecretKey == "":
		return &FieldError{"secret_key", "Enter the secret key."}
	case s.KeepDays < 0 || s.KeepDays > 3650:
		return &FieldError{"keep_days", "Keep copies between 0 (as local retention) and 3650 days."}
	}
	if s.CAPEM != "" {
		if !x509.NewCertPool().AppendCertsFromPEM([]byte(s.CAPEM)) {
			return &FieldError{"ca_pem", "The CA certificate is not PEM (it starts with -----BEGIN CERTIFICATE-----)."}
		}
	}
	return nil
}

// Describe names the place for pages: s3://bucket/prefix at host.
func (s Settings) Describe() string {
	u, _ := url.Parse(s.Endpoint)
	host := s.Endpoint
	if u != nil {
		host = u.Host
	}
	return "s3://" + path.Join(s.Bucket, s.Prefix) + " at " + host
}

// Bucket is a connected S3-compatible bucket under the settings' prefix.
type Bucket struct {
	cli      *minio.Client
	settings Settings
}

// Connect builds the client (nothing is sent until the first request).
func Connect(s Settings) (*Bucket, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	u, _ := url.Parse(s.Endpoint)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.ResponseHeaderTimeout = time.Minute
	if s.CAPEM != "" {
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM([]byte(s.CAPEM))
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	lookup := minio.BucketLookupAuto
	if s.PathStyle {
		lookup = minio.BucketLookupPath
	}
	cli, err := minio.New(u.Host, &minio.Options{
		Creds: credentials.NewStaticV4(s.AccessKey, s.SecretKey, ""), Secure: u.Scheme == "https",
		Region: s.Region, BucketLookup: lookup, Transport: tr, TrailingHeaders: true,
	})
	if err != nil {
		return nil, &FieldError{"endpoint", "The endpoint cannot be used: " + err.Error()}
	}
	return &Bucket{cli: cli, settings: s}, nil
}

// Settings are the bucket's settings.
func (b *Bucket) Settings() Settings { return b.settings }

// key is the object's full name under the prefix.
func (b *Bucket) key(name string) string { return path.Join(b.settings.Prefix, name) }

// Put uploads size bytes from r as name, with CRC32C checksums of the content (which
// buckets with object lock require), calling progress with the bytes read so far. An
// object larger than one part goes up in parts, several at once.
func (b *Bucket) Put(ctx context.Context, name string, r io.Reader, size int64, progress func(int64)) error {
	if progress != nil {
		r = &countingReader{r: r, report: progress}
	}
	if size > minPartSize {
		return b.explain(b.putParts(ctx, b.key(name), r, size))
	}
	_, err := b.cli.PutObject(ctx, b.settings.Bucket, b.key(name), r, size, minio.PutObjectOptions{
		ContentType: "application/octet-stream", Checksum: minio.ChecksumCRC32C,
	})
	return b.explain(err)
}

// Get opens an object for reading.
func (b *Bucket) Get(ctx context.Context, name string) (io.ReadCloser, error) {
	obj, err := b.cli.GetObject(ctx, b.settings.Bucket, b.key(name), minio.GetObjectOptions{})
	if err != nil {
		return nil, b.explain(err)
	}
	if _, err := obj.Stat(); err != nil {
		obj.Close()
		return nil, b.explain(err)
	}
	return obj, nil
}

// Object is one object's name (under the prefix), size and tag.
type Object struct {
	Name string
	Size int64
	ETag string
}

// List returns the objects whose names start with under (relative to the prefix).
func (b *Bucket) List(ctx context.Context, under string) ([]Object, error) {
	base := b.key("")
	if base != "" && base != "." {
		base += "/"
	} else {
		base = ""
	}
	var out []Object
	for o := range b.cli.ListObjects(ctx, b.settings.Bucket, minio.ListObjectsOptions{Prefix: base + under, Recursive: true}) {
		if o.Err != nil {
			return nil, b.explain(o.Err)
		}
		out = append(out, Object{Name: strings.TrimPrefix(o.Key, base), Size: o.Size, ETag: o.ETag})
	}
	return out, nil
}

// Remove deletes the objects named.
func (b *Bucket) Remove(ctx context.Context, names ...string) error {
	for _, n := range names {
		if err := b.cli.RemoveObject(ctx, b.settings.Bucket, b.key(n), minio.RemoveObjectOptions{}); err != nil {
			return b.explain(err)
		}
	}
	return nil
}

// Probe checks that the bucket exists (a lenient server would make one on the first
// write), then writes, reads back and removes a small object: the settings work end to end.
func (b *Bucket) Probe(ctx context.Context) error {
	// A listing, not a HEAD request: its refusal says why (no bucket, unknown key, wrong secret).
	for o := range b.cli.ListObjects(ctx, b.settings.Bucket, minio.ListObjectsOptions{Prefix: b.key(".berth-probe-"), MaxKeys: 1}) {
		if o.Err != nil {
			return b.explain(o.Err)
		}
	}
	name := fmt.Sprintf(".berth-probe-%d", time.Now().UnixNano())
	body := "berth can write here"
	if err := b.Put(ctx, name, strings.NewReader(body), int64(len(body)), nil); err != nil {
		return err
	}
	r, err := b.Get(ctx, name)
	if err != nil {
		return err
	}
	got, err := io.ReadAll(r)
	r.Close()
	if err != nil || string(got) != body {
		return fmt.Errorf("the test object did not read back as written (%v)", err)
	}
	return b.Remove(ctx, name)
}

// explain turns the server's refusals into words naming the setting to check.
func (b *Bucket) explain(err error) error {
	if err == nil {
		return nil
	}
	var resp minio.ErrorResponse
	if errors.As(err, &resp) {
		switch resp.Code {
		case "NoSuchBucket":
			return &FieldError{"bucket", "There is no bucket " + b.settings.Bucket + " at " + b.settings.Endpoint + "."}
		case "InvalidAccessKeyId":
			return &FieldError{"access_key", "The server does not know this access key."}
		case "SignatureDoesNotMatch":
			return &FieldError{"secret_key", "The secret key does not match the access key."}
		case "AccessDenied":
			return &FieldError{"access_key", "The server refused access to the bucket with these keys: " + resp.Message}
		case "NoSuchKey":
			return fmt.Errorf("%w: %s", ErrNoObject, resp.Key)
		}
	}
	return fmt.Errorf("the bucket at %s: %w", b.settings.Endpoint, err)
}

// ErrNoObject means the object is not in the bucket.
var ErrNoObject = errors.New("not in the bucket")

type countingReader struct {
	r      io.Reader
	n      int64
	last   time.Time
	report func(int64)
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if now := time.Now(); now.Sub(c.last) > 250*time.Millisecond || err != nil {
		c.last = now
		c.report(c.n)
	}
	return n, err
}
