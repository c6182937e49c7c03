// Package rsakeygen is Raptor's workload: every rank generates an RSA key
// and returns its size and a fingerprint of the public key (never the
// key). Its workers do not communicate, so it suits execution speculation.
package rsakeygen

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/volley-run/volley/group"
)

// Result is what each rank returns.
type Result struct {
	Rank        int     `json:"rank"`
	Bits        int     `json:"bits"`        // bit length of the modulus
	Fingerprint string  `json:"fingerprint"` // SHA-256 of the PKIX public key, first 16 bytes, hex
	Ms          float64 `json:"ms"`          // generation time
}

func init() {
	group.Register(group.App{
		Name:        "rsakeygen",
		Summary:     "every rank generates an RSA key (default 2048 bits) and returns its size and fingerprint",
		Params:      map[string]string{"bits": "modulus size, 1024-8192 (default 2048)"},
		Independent: true,
		Run:         Run,
	})
}

// Run generates one key. Key generation cannot be interrupted, so when
// ctx ends first Run returns at once and the generation finishes unseen.
func Run(ctx context.Context, w *group.Worker) (any, error) {
	bits, err := w.Params().Int("bits", 2048)
	if err != nil {
		return nil, err
	}
	if bits < 1024 || bits > 8192 {
		return nil, fmt.Errorf("bits must be in [1024, 8192], got %d", bits)
	}
	type out struct {
		res Result
		err error
	}
	done := make(chan out, 1)
	go func() {
		t0 := time.Now()
		key, err := rsa.GenerateKey(rand.Reader, bits)
		if err != nil {
			done <- out{err: fmt.Errorf("generate key: %w", err)}
			return
		}
		der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
		if err != nil {
			done <- out{err: fmt.Errorf("encode public key: %w", err)}
			return
		}
		sum := sha256.Sum256(der)
		done <- out{res: Result{Rank: w.Rank(), Bits: key.N.BitLen(), Fingerprint: hex.EncodeToString(sum[:16]),
			Ms: float64(time.Since(t0).Microseconds()) / 1000}}
	}()
	select {
	case o := <-done:
		return o.res, o.err
	case <-ctx.Done():
		return nil, fmt.Errorf("key generation abandoned: %w", context.Cause(ctx))
	}
}
