// Package offsite copies snapshots to an S3-compatible bucket, encrypted before they
// leave: every object is sealed in 1 MiB chunks with AES-256-GCM under a key derived
// from the backup key and a random salt, each chunk numbered and the last one marked,
// and the object's name bound in, so the bucket's operator learns only sizes and can
// neither change, cut, reorder nor swap an object without it failing to open.
package offsite

import (
	"bufio"
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
)

// ChunkSize is the plaintext size of every chunk but the last.
const ChunkSize = 1 << 20

const (
	magic      = "BERTHOFS1" // format and version
	idLen      = 8
	saltLen    = 32
	headerLen  = len(magic) + idLen + saltLen
	tagLen     = 16
	sealedSize = ChunkSize + tagLen
)

// Key is a backup key: 32 random bytes, kept apart from the VM by an admin.
type Key struct {
	secret [32]byte
	id     [idLen]byte
}

// NewKey makes a fresh backup key.
func NewKey() Key {
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		panic(fmt.Sprintf("offsite: no randomness: %v", err))
	}
	return keyFrom(raw)
}

func keyFrom(raw [32]byte) Key {
	k := Key{secret: raw}
	copy(k.id[:], derive(raw[:], "berth offsite key id v1"))
	return k
}

// ParseKey reads a key as Text writes it (spaces and dashes between groups allowed).
func ParseKey(text string) (Key, error) {
	text = strings.TrimPrefix(strings.TrimSpace(text), "berth-backup-key:")
	text = strings.NewReplacer(" ", "", "-", "", "\n", "").Replace(text)
	raw, err := hex.DecodeString(text)
	if err != nil || len(raw) != 32 {
		return Key{}, errors.New("a backup key is 64 hexadecimal characters (as Berth showed it)")
	}
	return keyFrom([32]byte(raw)), nil
}

// Text is the key as an admin writes it down: "berth-backup-key:" and 64 hex digits in groups.
func (k Key) Text() string {
	h := hex.EncodeToString(k.secret[:])
	var groups []string
	for i := 0; i < len(h); i += 8 {
		groups = append(groups, h[i:i+8])
	}
	return "berth-backup-key:" + strings.Join(groups, "-")
}

// ID names the key without revealing it.
func (k Key) ID() string { return hex.EncodeToString(k.id[:]) }

// Raw is the key's bytes, for sealing it in Berth's database.
func (k Key) Raw() []byte { return bytes.Clone(k.secret[:]) }

// KeyFromRaw rebuilds a key from Raw's bytes.
func KeyFromRaw(raw []byte) (Key, error) {
	if len(raw) != 32 {
		return Key{}, errors.New("a backup key is 32 bytes")
	}
	return keyFrom([32]byte(raw)), nil
}

func derive(key []byte, purpose string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(purpose))
	return m.Sum(nil)
}

// objectAEAD is the cipher for one object: the key derived from the backup key and the object's salt.
func objectAEAD(k Key, salt []byte) cipher.AEAD {
	block, err := aes.NewCipher(derive(k.secret[:], "berth offsite object v1:"+string(salt)))
	if err != nil {
		panic(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return aead
}

// chunkNonce numbers a chunk and marks the last one.
func chunkNonce(n uint64, last bool) []byte {
	nonce := make([]byte, 12)
	binary.BigEndian.PutUint64(nonce, n)
	if last {
		nonce[11] = 1
	}
	return nonce
}

// SealedSize is how many bytes Encrypt writes for size bytes of plaintext.
func SealedSize(size int64) int64 {
	chunks := max(1, (size+ChunkSize-1)/ChunkSize) // an empty object is one empty chunk
	return int64(headerLen) + size + chunks*tagLen
}

// Encrypt returns a writer sealing what is written to it into w as the object named
// name; Close writes the last chunk (it does not close w).
func Encrypt(w io.Writer, k Key, name string) (io.WriteCloser, error) {
	header := make([]byte, 0, headerLen)
	header = append(header, magic...)
	header = append(header, k.id[:]...)
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return nil, err
	}
	header = append(header, salt...)
	if _, err := w.Write(header); err != nil {
		return nil, err
	}
	return &sealer{w: w, aead: objectAEAD(k, salt), ad: append(header, name...), buf: make([]byte, 0, ChunkSize), out: make([]byte, 0, sealedSize)}, nil
}

type sealer struct {
	w    io.Writer
	aead cipher.AEAD
	ad   []byte
	buf  []byte
	out  []byte
	n    uint64
	err  error
}

func (s *sealer) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 && s.err == nil {
		if len(s.buf) == ChunkSize { // a full chunk with more to come: not the last
			s.flush(false)
			continue
		}
		take := min(len(p), ChunkSize-len(s.buf))
		s.buf = append(s.buf, p[:take]...)
		p, written = p[take:], written+take
	}
	return written, s.err
}

func (s *sealer) flush(last bool) {
	s.out = s.aead.Seal(s.out[:0], chunkNonce(s.n, last), s.buf, s.ad)
	s.n++
	s.buf = s.buf[:0]
	if _, err := s.w.Write(s.out); err != nil {
		s.err = err
	}
}

func (s *sealer) Close() error {
	if s.err == nil {
		s.flush(true)
	}
	return s.err
}

// ErrDamaged means an object does not open: changed, cut short, or not the one named.
var ErrDamaged = errors.New("the copy does not decrypt: it was changed, cut short or moved in the bucket")

// Decrypt returns a reader of the plaintext of the object named name, sealed with one
// of keys; reading fails with ErrDamaged at the first chunk that does not open.
func Decrypt(r io.Reader, keys []Key, name string) (io.Reader, error) {
	header := make([]byte, headerLen)
	if _, err := io.ReadFull(r, header); err != nil {
		return nil, fmt.Errorf("%w (no header: %v)", ErrDamaged, err)
	}
	if string(header[:len(magic)]) != magic {
		return nil, fmt.Errorf("%w (not a Berth copy)", ErrDamaged)
	}
	id := header[len(magic) : len(magic)+idLen]
	for _, k := range keys {
		if bytes.Equal(k.id[:], id) {
			return &opener{r: bufio.NewReaderSize(r, sealedSize+1), aead: objectAEAD(k, header[len(magic)+idLen:]), ad: append(header, name...), in: make([]byte, sealedSize)}, nil
		}
	}
	return nil, fmt.Errorf("sealed with backup key %s, which this Berth does not hold: enter that key", hex.EncodeToString(id))
}

type opener struct {
	r     *bufio.Reader
	aead  cipher.AEAD
	ad    []byte
	in    []byte
	plain []byte
	n     uint64
	done  bool
	err   error
}

func (o *opener) Read(p []byte) (int, error) {
	for len(o.plain) == 0 {
		if o.err != nil {
			return 0, o.err
		}
		if o.done {
			return 0, io.EOF
		}
		o.next()
	}
	n := copy(p, o.plain)
	o.plain = o.plain[n:]
	return n, nil
}

// next opens the following chunk; it is the last when nothing follows it.
func (o *opener) next() {
	n, err := io.ReadFull(o.r, o.in)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		o.err = err
		return
	}
	_, peek := o.r.Peek(1)
	last := n < sealedSize || errors.Is(peek, io.EOF)
	if peek != nil && !errors.Is(peek, io.EOF) {
		o.err = peek
		return
	}
	plain, oerr := o.aead.Open(o.in[:0], chunkNonce(o.n, last), o.in[:n], o.ad)
	if oerr != nil {
		o.err = ErrDamaged
		return
	}
	o.plain, o.n, o.done = plain, o.n+1, last
}
