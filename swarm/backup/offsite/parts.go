package offsite

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"sort"
	"sync"

	"github.com/minio/minio-go/v7"
)

const (
	minPartSize   = 8 << 20 // S3 wants at least 5 MiB for every part but the last
	maxParts      = 9000    // S3 allows 10,000
	parallelParts = 4       // parts in flight at once: 4 × 8 MiB of memory for most objects
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// partSizeFor is the part size for an object: 8 MiB, or more for objects over about 70 GiB.
func partSizeFor(size int64) int64 {
	per := (size + maxParts - 1) / maxParts
	return max(minPartSize, (per+(1<<20)-1)&^((1<<20)-1))
}

// partUpload is one multipart upload in progress: its parts, and the first error.
type partUpload struct {
	mu    sync.Mutex
	parts []minio.CompletePart
	err   error
}

func (u *partUpload) failed() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.err
}

func (u *partUpload) done(part minio.CompletePart, err error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if err != nil {
		if u.err == nil {
			u.err = err
		}
		return
	}
	u.parts = append(u.parts, part)
}

// putParts reads size bytes from r in parts and sends up to parallelParts of them at
// once, each with its CRC32C checksum; on any failure the upload is aborted, so no
// partial object is left behind.
func (b *Bucket) putParts(ctx context.Context, key string, r io.Reader, size int64) error {
	core := minio.Core{Client: b.cli}
	opts := minio.PutObjectOptions{ContentType: "application/octet-stream", Checksum: minio.ChecksumCRC32C}
	id, err := core.NewMultipartUpload(ctx, b.settings.Bucket, key, opts)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	partSize := partSizeFor(size)
	free := make(chan []byte, parallelParts)
	for range parallelParts {
		free <- make([]byte, partSize)
	}
	var u partUpload
	var wg sync.WaitGroup
	var sent int64
	for n := 1; sent < size && u.failed() == nil; n++ {
		buf := <-free
		k, rerr := io.ReadFull(r, buf[:min(partSize, size-sent)])
		if rerr != nil {
			u.done(minio.CompletePart{}, fmt.Errorf("reading part %d: %w", n, rerr))
			free <- buf
			break
		}
		sent += int64(k)
		wg.Add(1)
		go func(n int, part []byte) {
			defer wg.Done()
			defer func() { free <- buf }()
			var sum [4]byte
			binary.BigEndian.PutUint32(sum[:], crc32.Checksum(part, castagnoli))
			crc := base64.StdEncoding.EncodeToString(sum[:])
			h := http.Header{}
			h.Set("x-amz-checksum-crc32c", crc)
			p, err := core.PutObjectPart(ctx, b.settings.Bucket, key, id, n, bytes.NewReader(part), int64(len(part)), minio.PutObjectPartOptions{CustomHeader: h})
			if err != nil {
				cancel()
			}
			u.done(minio.CompletePart{PartNumber: n, ETag: p.ETag, ChecksumCRC32C: crc}, err)
		}(n, buf[:k])
	}
	wg.Wait()
	if err := u.failed(); err != nil {
		core.AbortMultipartUpload(context.WithoutCancel(ctx), b.settings.Bucket, key, id)
		return err
	}
	if extra, _ := r.Read(make([]byte, 1)); extra > 0 {
		core.AbortMultipartUpload(context.WithoutCancel(ctx), b.settings.Bucket, key, id)
		return errors.New("the content was longer than its stated size")
	}
	sort.Slice(u.parts, func(i, j int) bool { return u.parts[i].PartNumber < u.parts[j].PartNumber })
	if _, err := core.CompleteMultipartUpload(ctx, b.settings.Bucket, key, id, u.parts, opts); err != nil {
		core.AbortMultipartUpload(context.WithoutCancel(ctx), b.settings.Bucket, key, id)
		return err
	}
	return nil
}
