package membership

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/memberlist"
)

// Config says which group a node belongs to, who it is and how to reach
// the others. Group, Secret, Self and Packs are required.
type Config struct {
	// Group is the group id. Nodes whose metadata names another group are
	// refused.
	Group string

	// Secret is the group's secret, at least 16 bytes (the launcher makes a
	// fresh random one per group). memberlist's AES-256 gossip key is
	// derived from it (SHA-256 with a label), so gossip is encrypted and
	// authenticated, and nodes without it cannot talk to the group.
	Secret []byte

	// Name is this node's name, unique in the group. Default:
	// "<group>/pack-<p>.<random>" ("<group>/observer.<random>" for an
	// observer); the random part keeps speculative replicas apart.
	Name string

	// Self is this node's metadata. Self.Group may be left empty; Pack is
	// ObserverPack for an observer.
	Self Meta

	// Packs is the number of packs in the group (ceil(N/g)).
	Packs int

	// BindAddr is "host" or "host:port" to listen on, UDP and TCP.
	// Default "127.0.0.1"; port 0 or none picks a free port.
	BindAddr string

	// AdvertiseAddr is "host" or "host:port" to give peers instead of the
	// bound address (behind NAT, or when binding 0.0.0.0). Optional.
	AdvertiseAddr string

	// Seeds are "host:port" addresses of members to join (for a pack, at
	// least the launcher's Node.Addr). Empty for the first node.
	Seeds []string

	// Timing holds the failure-detection and gossip timings; zero fields
	// take their value from DefaultTiming.
	Timing Timing

	// Logger receives the node's logs; memberlist's own log lines are
	// routed into it at debug level, except refused (undecryptable or
	// unlabelled) traffic, which is logged at warn. Default slog.Default().
	Logger *slog.Logger

	// OnPackFailed, if set, is called once per failed pack: its node left
	// or died before it was done, or a member announced it failed. The
	// error is a *PackFailedError. Calls are made one at a time from a
	// goroutine of the Node; the callback must not block for long and must
	// not call Close (cancel a context and close from elsewhere).
	OnPackFailed func(pack int, err error)

	// Arbitrated is set for groups with speculative start-up replicas:
	// a pack's claim counts only once the arbiter (the launcher's
	// observer, through DeclareWinner) has declared that node the pack's
	// winner, so every member agrees on one owner per pack and losers
	// never become one. Pack nodes of such a group pass the ready barrier
	// when the arbiter announces it (AnnounceReady), and a winner that
	// goes is never replaced. Every node of a group must agree on it.
	Arbitrated bool

	// AwaitAnnouncement makes WaitReady wait, once every pack is seen,
	// until a member (the launcher's observer) announces the group ready
	// (AnnounceReady), so that all the nodes that get the announcement
	// pass the barrier together: the replicas of a speculative flight
	// then start their race at the same moment.
	AwaitAnnouncement bool

	// OnClaim, if set, is called once for every pack node this node sees
	// (speculative replicas included), in the order seen, with its claim.
	// The launcher's observer uses it to pick winners. Calls are made like
	// OnPackFailed's.
	OnClaim func(Claim)

	// OnStop, if set, is called once when this node is told to stop: the
	// arbiter declared another replica the winner of its pack, or
	// preempted it (Preempt). The error wraps ErrPreempted.
	OnStop func(err error)
}

// Claim is a pack node seen by a member: which pack and replica it claims
// to be, its name, and its metadata.
type Claim struct {
	Pack, Replica int
	Node          string
	Meta          Meta
}

// Timing holds the timings of gossip and failure detection. Zero fields
// take their value from DefaultTiming.
//
// A killed node (no leave) is found by SWIM probing: some member probes
// it, gets no ack within ProbeTimeout, nor through IndirectChecks other
// members or a TCP ping by the end of the ProbeInterval, and suspects it;
// if the suspect does not refute within
//
//	SuspicionMult * max(1, log10(n)) * ProbeInterval
//
// (n members; with SuspicionMaxTimeoutMult 1 this does not depend on
// other members confirming the suspicion), it is declared dead, and that
// is gossiped to every member, which gives it DeadGrace to refute.
// FailureBound adds these up: see DefaultTiming for its figures. SWIM is
// probabilistic and these hold for members that get their share of CPU
// (one node per container), not as hard real-time bounds. A launcher that
// sees a container exit should call Node.AnnounceFailed, which takes one
// round trip.
type Timing struct {
	// ProbeInterval is the time between two probes by one member.
	// Default 300 ms (memberlist's local profile: 1 s).
	ProbeInterval time.Duration
	// ProbeTimeout is how long to wait for a direct ack: above the RTT
	// p99 of the network. Default 200 ms, as memberlist's local profile.
	ProbeTimeout time.Duration
	// IndirectChecks is how many members are asked to probe a node that
	// did not ack. Default 3, so that one slow link is not taken for death.
	IndirectChecks int
	// SuspicionMult scales the suspicion timeout (formula above).
	// Default 3: 1.2 s up to 10 members, 2.2 s with 64, 2.9 s with 256.
	SuspicionMult int
	// SuspicionMaxTimeoutMult bounds the suspicion timeout when no other
	// member confirms the suspicion, as a multiple of the formula.
	// Default 1, so that the bound does not depend on confirmations.
	SuspicionMaxTimeoutMult int
	// AwarenessMaxMultiplier bounds how much a member that finds itself
	// degraded (missing acks) slows its own probing, which keeps an
	// overloaded member from declaring healthy ones dead. Default 4.
	AwarenessMaxMultiplier int
	// GossipInterval is the time between two gossip rounds. Default 100 ms.
	GossipInterval time.Duration
	// GossipNodes is how many members each gossip round goes to. Default 4.
	GossipNodes int
	// RetransmitMult scales how many times a broadcast is sent on:
	// RetransmitMult * ceil(log10(n+1)). Default 3; the full syncs below
	// make up for the rare member a join does not reach.
	RetransmitMult int
	// PushPullInterval is the time between full state syncs with a random
	// member (memberlist scales it up past 32 members). Default 5 s.
	PushPullInterval time.Duration
	// StreamTimeout bounds TCP dials, reads and writes (joins, full syncs,
	// done and fail messages). Default 5 s.
	StreamTimeout time.Duration
	// JoinRetry is the pause between two attempts to join the seeds in
	// Start. Default 100 ms.
	JoinRetry time.Duration
	// SyncInterval: until every pack has been seen, a node does a full
	// state sync with a random member this often (jittered), which makes
	// the ready barrier of a large group converge in a few intervals.
	// Default 250 ms.
	SyncInterval time.Duration
	// DoneGrace is how long a pack that left without being done is given
	// for its done message to arrive before it is reported failed (the
	// message and the leave travel separately). Default 200 ms; negative
	// means none.
	DoneGrace time.Duration
	// DeadGrace is how long a pack declared dead is given to refute it
	// before it is reported failed: memberlist lets a node that was only
	// starved of CPU, and hears of its own death, refute it and come back
	// alive, which cancels the failure. Zero or negative means none. A
	// container busy with CPU-bound workers (a TeraSort pack runs 8 ranks
	// on 2 cores, with garbage collection pauses of 100 ms and more) can
	// miss probes for a second or two, so DefaultTiming has 2 s.
	DeadGrace time.Duration
}

// DefaultTiming returns the timings used for zero fields of Config.Timing,
// meant for one node per container on a LAN: memberlist's
// DefaultLocalConfig, made faster, with a DeadGrace of 2 s for packs that
// were only starved of CPU. A killed pack is reported within FailureBound:
// 4.2 s up to 10 members, 5.1 s with 65, 5.8 s with 257. (A pack whose
// process dies breaks its data connections and is reported at once.)
func DefaultTiming() Timing {
	return Timing{
		ProbeInterval:           300 * time.Millisecond,
		ProbeTimeout:            200 * time.Millisecond,
		IndirectChecks:          3,
		SuspicionMult:           3,
		SuspicionMaxTimeoutMult: 1,
		AwarenessMaxMultiplier:  4,
		GossipInterval:          100 * time.Millisecond,
		GossipNodes:             4,
		RetransmitMult:          3,
		PushPullInterval:        5 * time.Second,
		StreamTimeout:           5 * time.Second,
		JoinRetry:               100 * time.Millisecond,
		SyncInterval:            250 * time.Millisecond,
		DoneGrace:               200 * time.Millisecond,
		DeadGrace:               2 * time.Second,
	}
}

// DenseTiming returns timings for many nodes sharing few cores, such as
// hundreds of nodes in one test process or heavily throttled containers:
// probing slow enough that a node starved of CPU for a few seconds is not
// taken for dead, gossip in fewer, fuller packets, and a DeadGrace of 5 s
// in which a node declared dead because it was starved can refute it. A
// killed pack is reported within FailureBound: 13.0 s up to 10 members,
// 16.5 s with 65, 19.2 s with 257. (On the local and Docker backends the
// launcher sees a container exit and announces it at once.)
func DenseTiming() Timing {
	t := DefaultTiming()
	t.ProbeInterval = time.Second
	t.ProbeTimeout = 500 * time.Millisecond
	t.SuspicionMult = 4
	t.AwarenessMaxMultiplier = 8
	t.GossipInterval = 200 * time.Millisecond
	t.GossipNodes = 3
	t.DeadGrace = 5 * time.Second
	return t
}

// CrowdedTiming returns timings for hundreds of containers on a few cores
// whose engine competes with them for the CPU, such as 256 Docker
// containers on 2 cores: there, after the ready barrier, packs went
// silent for longer than DenseTiming tolerates (about 15 s) and did not
// all come back in time. Probes every 2 s and a DeadGrace of 20 s: a
// killed pack is reported within FailureBound, 52.5 s with 257 members.
// (Runtimes that see a container die say so at once; this bound is for
// silent packs, such as one cut off by a partition.)
func CrowdedTiming() Timing {
	t := DenseTiming()
	t.ProbeInterval = 2 * time.Second
	t.ProbeTimeout = time.Second
	t.SuspicionMult = 5
	t.GossipInterval = 300 * time.Millisecond
	t.DeadGrace = 20 * time.Second
	return t
}

// withDefaults returns t with its zero fields taken from DefaultTiming.
func (t Timing) withDefaults() Timing {
	d := DefaultTiming()
	setDur := func(v *time.Duration, def time.Duration) {
		if *v == 0 {
			*v = def
		}
	}
	setInt := func(v *int, def int) {
		if *v == 0 {
			*v = def
		}
	}
	setDur(&t.ProbeInterval, d.ProbeInterval)
	setDur(&t.ProbeTimeout, d.ProbeTimeout)
	setInt(&t.IndirectChecks, d.IndirectChecks)
	setInt(&t.SuspicionMult, d.SuspicionMult)
	setInt(&t.SuspicionMaxTimeoutMult, d.SuspicionMaxTimeoutMult)
	setInt(&t.AwarenessMaxMultiplier, d.AwarenessMaxMultiplier)
	setDur(&t.GossipInterval, d.GossipInterval)
	setInt(&t.GossipNodes, d.GossipNodes)
	setInt(&t.RetransmitMult, d.RetransmitMult)
	setDur(&t.PushPullInterval, d.PushPullInterval)
	setDur(&t.StreamTimeout, d.StreamTimeout)
	setDur(&t.JoinRetry, d.JoinRetry)
	setDur(&t.SyncInterval, d.SyncInterval)
	setDur(&t.DoneGrace, d.DoneGrace)
	return t
}

func (t Timing) check() error {
	if t.ProbeTimeout >= t.ProbeInterval {
		return fmt.Errorf("ProbeTimeout %v must be below ProbeInterval %v", t.ProbeTimeout, t.ProbeInterval)
	}
	if t.SuspicionMult < 1 || t.SuspicionMaxTimeoutMult < 1 || t.GossipNodes < 1 ||
		t.RetransmitMult < 1 || t.IndirectChecks < 0 || t.AwarenessMaxMultiplier < 1 {
		return errors.New("negative multiplier or count")
	}
	return nil
}

// FailureBound returns the time within which, with these timings (zero
// fields defaulted), every one of n members reports a pack whose node was
// killed: being probed and failing a probe round (3 probe intervals), the
// suspicion timeout, and spreading the death by gossip (log base
// GossipNodes of n, plus 2, gossip rounds), and DeadGrace. See Timing for
// what it assumes.
func (t Timing) FailureBound(n int) time.Duration {
	t = t.withDefaults()
	n = max(n, 2)
	probe := 3 * t.ProbeInterval
	scale := math.Max(1, math.Log10(float64(n)))
	suspicion := time.Duration(float64(t.SuspicionMult*t.SuspicionMaxTimeoutMult) * scale * float64(t.ProbeInterval))
	rounds := math.Ceil(math.Log(float64(n))/math.Log(float64(max(t.GossipNodes, 2)))) + 2
	gossip := time.Duration(rounds) * t.GossipInterval
	return probe + suspicion + gossip + max(t.DeadGrace, 0)
}

// keyLabel separates the gossip key from other keys derived from the
// group secret (such as the data connections' HMAC key).
const keyLabel = "volley/comm/membership gossip key v1\x00"

// gossipKey derives memberlist's AES-256 key from the group secret.
func gossipKey(secret []byte) []byte {
	h := sha256.New()
	h.Write([]byte(keyLabel))
	h.Write(secret)
	return h.Sum(nil)
}

// splitHostPort accepts "host" or "host:port".
func splitHostPort(s string) (string, int, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		// No port: the whole string is the host (IPv6 without brackets too).
		if ip := net.ParseIP(s); ip != nil || !strings.Contains(s, ":") {
			return s, 0, nil
		}
		return "", 0, err
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 0 || p > 65535 {
		return "", 0, fmt.Errorf("bad port in %q", s)
	}
	return host, p, nil
}

// prepare checks cfg and fills in its defaults.
func (cfg *Config) prepare() error {
	if cfg.Group == "" {
		return errors.New("membership: Config.Group is empty")
	}
	if len(cfg.Secret) < 16 {
		return fmt.Errorf("membership: group %s: Config.Secret has %d bytes, need at least 16", cfg.Group, len(cfg.Secret))
	}
	if cfg.Packs < 1 {
		return fmt.Errorf("membership: group %s: Config.Packs is %d, need at least 1", cfg.Group, cfg.Packs)
	}
	cfg.Secret = append([]byte(nil), cfg.Secret...)
	cfg.Seeds = append([]string(nil), cfg.Seeds...)
	if cfg.Self.Group == "" {
		cfg.Self.Group = cfg.Group
	}
	if err := cfg.Self.check(cfg.Group, cfg.Packs); err != nil {
		return fmt.Errorf("membership: group %s: Config.Self: %v", cfg.Group, err)
	}
	cfg.Self.Done = false
	if cfg.Name == "" {
		var b [4]byte
		_, _ = rand.Read(b[:])
		if cfg.Self.IsObserver() {
			cfg.Name = fmt.Sprintf("%s/observer.%s", cfg.Group, hex.EncodeToString(b[:]))
		} else {
			cfg.Name = fmt.Sprintf("%s/pack-%d.%s", cfg.Group, cfg.Self.Pack, hex.EncodeToString(b[:]))
		}
	}
	if cfg.BindAddr == "" {
		cfg.BindAddr = "127.0.0.1"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cfg.Timing = cfg.Timing.withDefaults()
	if err := cfg.Timing.check(); err != nil {
		return fmt.Errorf("membership: group %s: Config.Timing: %v", cfg.Group, err)
	}
	// The meta must fit once Done is set too.
	done := cfg.Self
	done.Done = true
	if _, err := encodeMeta(done, MaxMetaSize); err != nil {
		return fmt.Errorf("membership: group %s: Config.Self: %w", cfg.Group, err)
	}
	return nil
}

// memberlistConfig builds memberlist's configuration from cfg (prepared).
func (cfg *Config) memberlistConfig(d *delegate) (*memberlist.Config, error) {
	mc := memberlist.DefaultLocalConfig()
	mc.Name = cfg.Name
	host, port, err := splitHostPort(cfg.BindAddr)
	if err != nil {
		return nil, fmt.Errorf("BindAddr: %w", err)
	}
	mc.BindAddr, mc.BindPort, mc.AdvertisePort = host, port, port
	if cfg.AdvertiseAddr != "" {
		host, port, err := splitHostPort(cfg.AdvertiseAddr)
		if err != nil {
			return nil, fmt.Errorf("AdvertiseAddr: %w", err)
		}
		mc.AdvertiseAddr = host
		if port != 0 {
			mc.AdvertisePort = port
		}
	}
	t := cfg.Timing
	mc.ProbeInterval = t.ProbeInterval
	mc.ProbeTimeout = t.ProbeTimeout
	mc.IndirectChecks = t.IndirectChecks
	mc.SuspicionMult = t.SuspicionMult
	mc.SuspicionMaxTimeoutMult = t.SuspicionMaxTimeoutMult
	mc.AwarenessMaxMultiplier = t.AwarenessMaxMultiplier
	mc.GossipInterval = t.GossipInterval
	mc.GossipNodes = t.GossipNodes
	mc.GossipToTheDeadTime = 2 * t.PushPullInterval
	mc.RetransmitMult = t.RetransmitMult
	mc.PushPullInterval = t.PushPullInterval
	mc.TCPTimeout = t.StreamTimeout
	// Alive messages queue here while a member is busy; a deeper queue
	// drops fewer of them (and of the refutations among them) when a
	// large group forms at once.
	mc.HandoffQueueDepth = 4096

	// Compression (LZW) costs more CPU and garbage than it saves on a LAN.
	mc.EnableCompression = false

	mc.SecretKey = gossipKey(cfg.Secret)
	mc.GossipVerifyIncoming = true
	mc.GossipVerifyOutgoing = true

	mc.Delegate = d
	mc.Events = d
	mc.Alive = d
	mc.Merge = d
	mc.Conflict = d
	mc.LogOutput = nil
	mc.Logger = newMemberlistLogger(cfg.Logger)
	return mc, nil
}
