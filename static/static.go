// Package static embeds Berth's stylesheets and scripts, served with a content
// hash in the URL so browsers may cache them for a long time.
package static

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"sync"
)

//go:embed berth.css berth.js terminal.js replay.js upload.js favicon.svg vendor
var Files embed.FS

var (
	hashesOnce sync.Once
	hashes     map[string]string
)

// URL returns the path of an embedded file with its content hash as version.
func URL(name string) string {
	hashesOnce.Do(func() {
		hashes = map[string]string{}
		_ = fs.WalkDir(Files, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			data, err := Files.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(data)
			hashes[p] = hex.EncodeToString(sum[:6])
			return nil
		})
	})
	return "/static/" + name + "?v=" + hashes[name]
}
