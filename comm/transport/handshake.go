package transport

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/volley-run/volley/comm/wire"
)

// ErrAuth reports a handshake refusal: the peer is in another group, could
// not prove it knows the group secret, refused us, or broke the protocol.
// Callers branch on it (errors.Is) to log refusals apart from network errors.
var ErrAuth = errors.New("authentication refused")

// Hello is what each side of a handshake says about itself.
type Hello struct {
	// Group is the group id; both sides must be in the same group. At most
	// wire.MaxGroupLen bytes, not empty.
	Group string
	// Pack is the sender's pack (container) index, >= 0.
	Pack int
}

// The handshake, four frames, every one validated by the wire package:
//
//	client -> server  Hello     {Src: client pack, payload: nonceC | group}
//	server -> client  Challenge {Src: server pack, payload: nonceS | group}
//	client -> server  Response  {payload: HMAC(secret, transcript("client"))}
//	server -> client  Response  {payload: HMAC(secret, transcript("server"))}
//
// transcript(role) = label | role | len(group) | group | client pack |
// server pack | nonceC | nonceS, so a proof is bound to this group, both
// packs and both fresh nonces, and one side's proof can never pass as the
// other's. The client proves first and the server last, so the client only
// succeeds once the server has accepted it. Either side that refuses sends a
// Refuse frame with a short reason (never the secret) and closes.
const handshakeLabel = "volley/comm/handshake/v1"

// handshakeStream is the stream handshake frames use.
const handshakeStream = 0

// ClientHandshake proves knowledge of secret to the server and checks that
// the server knows it too (mutual HMAC-SHA256 challenge/response over fresh
// random nonces, bound to the group and both packs). It returns the server's
// Hello. ctx bounds the handshake: when it ends first the conn is closed and
// the error wraps ctx's error. On any error the conn is closed; refusals
// (either way) wrap ErrAuth.
func ClientHandshake(ctx context.Context, c Conn, secret []byte, me Hello) (peer Hello, err error) {
	return runHandshake(ctx, c, secret, me, true)
}

// ServerHandshake is the server side of ClientHandshake. It refuses, with an
// error wrapping ErrAuth and the conn closed, a peer whose group differs from
// me.Group or whose proof is wrong. It returns the client's Hello.
func ServerHandshake(ctx context.Context, c Conn, secret []byte, me Hello) (peer Hello, err error) {
	return runHandshake(ctx, c, secret, me, false)
}

func runHandshake(ctx context.Context, c Conn, secret []byte, me Hello, client bool) (Hello, error) {
	side := "server"
	if client {
		side = "client"
	}
	fail := func(err error) (Hello, error) {
		_ = c.Close()
		return Hello{}, fmt.Errorf("transport: %s handshake with %s: %w", side, c.RemoteAddr(), err)
	}
	switch {
	case len(secret) == 0:
		return fail(errors.New("empty secret"))
	case me.Group == "" || len(me.Group) > wire.MaxGroupLen:
		return fail(fmt.Errorf("group name of %d bytes, want 1..%d", len(me.Group), wire.MaxGroupLen))
	case me.Pack < 0 || me.Pack > math.MaxInt32:
		return fail(fmt.Errorf("pack %d out of range", me.Pack))
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	stop := context.AfterFunc(ctx, func() { _ = c.Close() })
	hs := &handshake{c: c, secret: secret, me: me}
	var peer Hello
	var err error
	if client {
		peer, err = hs.client()
	} else {
		peer, err = hs.server()
	}
	if !stop() {
		// ctx ended and closed the conn, maybe after we were done.
		if err == nil {
			err = errors.New("conn closed")
		}
		return fail(fmt.Errorf("%w: %w", context.Cause(ctx), err))
	}
	if err != nil {
		return fail(err)
	}
	return peer, nil
}

type handshake struct {
	c      Conn
	secret []byte
	me     Hello
	buf    [wire.NonceLen + wire.MaxGroupLen]byte
}

func newNonce() ([]byte, error) {
	n := make([]byte, wire.NonceLen)
	if _, err := rand.Read(n); err != nil {
		return nil, fmt.Errorf("nonce: %w", err)
	}
	return n, nil
}

// mac computes the proof of role over the transcript.
func (hs *handshake) mac(role string, group string, clientPack, serverPack int32, nc, ns []byte) []byte {
	m := hmac.New(sha256.New, hs.secret)
	var b []byte
	b = append(b, handshakeLabel...)
	b = append(b, 0)
	b = append(b, role...)
	b = append(b, 0)
	b = binary.BigEndian.AppendUint32(b, uint32(len(group)))
	b = append(b, group...)
	b = binary.BigEndian.AppendUint32(b, uint32(clientPack))
	b = binary.BigEndian.AppendUint32(b, uint32(serverPack))
	b = append(b, nc...)
	b = append(b, ns...)
	m.Write(b)
	return m.Sum(nil)
}

func (hs *handshake) send(h wire.Header, payload []byte) error {
	if err := hs.c.WriteFrame(handshakeStream, h, payload); err != nil {
		return fmt.Errorf("send %v: %w", h.Kind, err)
	}
	return nil
}

// refuse tells the peer why (best effort) and returns err wrapped in ErrAuth.
func (hs *handshake) refuse(reason string, err error) error {
	_ = hs.c.WriteFrame(handshakeStream, wire.Header{Kind: wire.KindRefuse}, []byte(reason))
	return fmt.Errorf("%w: %w", ErrAuth, err)
}

// recv reads the next frame, which must be of kind want; a Refuse from the
// peer becomes an ErrAuth error.
func (hs *handshake) recv(want wire.Kind) (wire.Header, []byte, error) {
	_, h, p, err := hs.c.ReadFrame(func(h wire.Header) []byte {
		if int(h.PayloadLen) <= len(hs.buf) {
			return hs.buf[:h.PayloadLen]
		}
		return nil
	})
	if err != nil {
		if errors.Is(err, wire.ErrCorrupt) || errors.Is(err, wire.ErrTooLarge) {
			return h, nil, fmt.Errorf("%w: waiting for %v: %w", ErrAuth, want, err)
		}
		return h, nil, fmt.Errorf("waiting for %v: %w", want, err)
	}
	switch h.Kind {
	case want:
		return h, p, nil
	case wire.KindRefuse:
		return h, nil, fmt.Errorf("%w: peer refused: %q", ErrAuth, p)
	}
	return h, nil, hs.refuse("protocol error", fmt.Errorf("got a %v frame, want %v", h.Kind, want))
}

func (hs *handshake) client() (Hello, error) {
	nc, err := newNonce()
	if err != nil {
		return Hello{}, err
	}
	pc := int32(hs.me.Pack)
	if err := hs.send(wire.Header{Kind: wire.KindHello, Src: pc}, append(nc, hs.me.Group...)); err != nil {
		return Hello{}, err
	}
	h, p, err := hs.recv(wire.KindChallenge)
	if err != nil {
		return Hello{}, err
	}
	ps := h.Src
	ns, group := append([]byte(nil), p[:wire.NonceLen]...), string(p[wire.NonceLen:])
	if group != hs.me.Group {
		return Hello{}, hs.refuse("wrong group", fmt.Errorf("server pack %d is in group %q, not %q", ps, group, hs.me.Group))
	}
	if err := hs.send(wire.Header{Kind: wire.KindResponse}, hs.mac("client", group, pc, ps, nc, ns)); err != nil {
		return Hello{}, err
	}
	_, proof, err := hs.recv(wire.KindResponse)
	if err != nil {
		return Hello{}, err
	}
	if !hmac.Equal(proof, hs.mac("server", group, pc, ps, nc, ns)) {
		return Hello{}, hs.refuse("authentication failed", fmt.Errorf("server pack %d does not know the group secret", ps))
	}
	return Hello{Group: group, Pack: int(ps)}, nil
}

func (hs *handshake) server() (Hello, error) {
	h, p, err := hs.recv(wire.KindHello)
	if err != nil {
		return Hello{}, err
	}
	pc := h.Src
	nc, group := append([]byte(nil), p[:wire.NonceLen]...), string(p[wire.NonceLen:])
	if group != hs.me.Group {
		return Hello{}, hs.refuse("wrong group", fmt.Errorf("client pack %d is in group %q, not %q", pc, group, hs.me.Group))
	}
	ns, err := newNonce()
	if err != nil {
		return Hello{}, err
	}
	ps := int32(hs.me.Pack)
	if err := hs.send(wire.Header{Kind: wire.KindChallenge, Src: ps}, append(ns, group...)); err != nil {
		return Hello{}, err
	}
	_, proof, err := hs.recv(wire.KindResponse)
	if err != nil {
		return Hello{}, err
	}
	if !hmac.Equal(proof, hs.mac("client", group, pc, ps, nc, ns)) {
		return Hello{}, hs.refuse("authentication failed", fmt.Errorf("client pack %d does not know the group secret", pc))
	}
	if err := hs.send(wire.Header{Kind: wire.KindResponse}, hs.mac("server", group, pc, ps, nc, ns)); err != nil {
		return Hello{}, err
	}
	return Hello{Group: group, Pack: int(pc)}, nil
}
