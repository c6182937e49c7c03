package comm

import (
	"fmt"
	"log/slog"

	"github.com/volley-run/volley/comm/membership"
	"github.com/volley-run/volley/comm/wire"
)

// Config describes one container's place in a group. Group, Secret,
// Workers, Granularity and Pack are required; the rest have defaults.
type Config struct {
	// Group is the group id; peers of other groups are refused.
	Group string
	// Secret is the group's secret (at least 16 bytes). Membership gossip
	// is encrypted with a key derived from it, and data connections prove
	// knowledge of it (HMAC challenge).
	Secret []byte
	// Workers is the group size N.
	Workers int
	// Granularity is g, ranks per container.
	Granularity int
	// Pack is this container's index; it hosts ranks
	// [Pack*Granularity, min((Pack+1)*Granularity, Workers)).
	Pack int
	// Transport is "tcp", "sctp" or "auto" (default): SCTP when the kernel
	// has it, TCP otherwise.
	Transport string
	// Compression is "" or "none" (default), "zstd" or "s2"; it applies to
	// remote payloads only, and a payload that does not shrink is sent as
	// is.
	Compression string
	// BindAddr is the host (or host:port) to listen on for membership and
	// data; default "127.0.0.1".
	BindAddr string
	// AdvertiseAddr is the host peers should use to reach us, when it
	// differs from BindAddr (for example when binding 0.0.0.0).
	AdvertiseAddr string
	// Seeds are membership addresses to join (the launcher's, on the local
	// backend).
	Seeds []string
	// Replica numbers this container among the speculative replicas of
	// its pack (0 for the first).
	Replica int
	// Arbitrated is set when the pack has speculative start-up replicas:
	// this node's ranks join the communicator only if the launcher
	// declares it the winner (see membership.Config.Arbitrated); a loser
	// is stopped, its context cancelled with membership.ErrPreempted.
	Arbitrated bool
	// AwaitReady makes the ready barrier wait for the launcher's
	// announcement (membership.Config.AwaitAnnouncement).
	AwaitReady bool
	// Membership holds failure-detection timings; zero fields take
	// membership.DefaultTiming.
	Membership membership.Timing
	// EagerLimit is the largest message sent at once (eagerly); larger ones
	// wait until the receiver asks for them (rendezvous), so a slow
	// receiver never makes anyone buffer them. Default 64 KiB.
	EagerLimit int
	// EagerWindow bounds the eager bytes one rank may have sent to another
	// that the receiver has not consumed yet; past it, messages go by
	// rendezvous. Default 4 MiB.
	EagerWindow int
	// ChunkSize is the size of the pieces a large message is cut into on
	// the wire, further bounded per connection by transport.Conn.MaxFrame
	// (an SCTP socket with a small send buffer). Default and most
	// wire.MaxPayload (1 MiB): one writev per MiB, as a plain TCP stream
	// would write it.
	ChunkSize int
	// MaxMessage is the largest message a node accepts from another pack;
	// a peer announcing more is a protocol error. Default 4 GiB.
	MaxMessage int
	// Logger receives the node's logs. Default: discard.
	Logger *slog.Logger
}

// Defaults for Config.
const (
	DefaultEagerLimit  = 64 << 10
	DefaultEagerWindow = 4 << 20
	DefaultChunkSize   = wire.MaxPayload
	DefaultMaxMessage  = 4 << 30
)

func (c Config) withDefaults() Config {
	if c.Transport == "" {
		c.Transport = "auto"
	}
	if c.BindAddr == "" {
		c.BindAddr = "127.0.0.1"
	}
	if c.EagerLimit <= 0 {
		c.EagerLimit = DefaultEagerLimit
	}
	if c.EagerWindow <= 0 {
		c.EagerWindow = DefaultEagerWindow
	}
	if c.ChunkSize <= 0 {
		c.ChunkSize = DefaultChunkSize
	}
	if c.MaxMessage <= 0 {
		c.MaxMessage = DefaultMaxMessage
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

func (c Config) validate() error {
	switch {
	case c.Group == "":
		return fmt.Errorf("comm: config: empty group id")
	case len(c.Secret) < 16:
		return fmt.Errorf("comm: config: secret has %d bytes, want at least 16", len(c.Secret))
	case c.Workers < 1 || c.Granularity < 1:
		return fmt.Errorf("comm: config: workers %d and granularity %d must be >= 1", c.Workers, c.Granularity)
	case c.Pack < 0 || c.Pack >= c.packs():
		return fmt.Errorf("comm: config: pack %d not in [0,%d)", c.Pack, c.packs())
	case c.ChunkSize > wire.MaxPayload:
		return fmt.Errorf("comm: config: chunk size %d above the frame limit %d", c.ChunkSize, wire.MaxPayload)
	case c.EagerLimit > wire.MaxPayload:
		return fmt.Errorf("comm: config: eager limit %d above the frame limit %d", c.EagerLimit, wire.MaxPayload)
	}
	if _, err := wire.ParseCodec(c.Compression); err != nil {
		return fmt.Errorf("comm: config: compression: %w", err)
	}
	return nil
}

// packs is the number of containers in the group.
func (c Config) packs() int { return (c.Workers + c.Granularity - 1) / c.Granularity }
