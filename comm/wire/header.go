package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// Sentinel errors. Every decoding error wraps one of them, with detail saying
// what was wrong, so callers can branch with errors.Is.
var (
	// ErrCorrupt reports bytes that are not a valid frame or payload: bad
	// magic, unknown version, kind or codec, a checksum mismatch, fields that
	// contradict each other, or compressed data that does not decode.
	ErrCorrupt = errors.New("wire: corrupt frame")
	// ErrTooLarge reports a payload longer than the limit the receiver set, or
	// a payload that would decompress to more than the caller allows.
	ErrTooLarge = errors.New("wire: frame too large")
)

// Kind says what a frame is for. The zero Kind is invalid, so a zeroed
// header never decodes.
type Kind uint8

// Frame kinds. The numbers are part of the wire format: never renumber.
const (
	// KindHello opens the authentication handshake (client to server).
	// Src is the client's pack; the payload is a NonceLen-byte random nonce
	// followed by the group name (at most MaxGroupLen bytes).
	KindHello Kind = 1
	// KindChallenge answers a Hello (server to client). Src is the
	// server's pack; the payload is the server's nonce followed by its group
	// name, as in Hello.
	KindChallenge Kind = 2
	// KindResponse carries a handshake proof: the payload is exactly MACLen
	// bytes (an HMAC-SHA256).
	KindResponse Kind = 3
	// KindRefuse tells the peer that the sender refuses the connection and
	// is about to close it; the payload is a short UTF-8 reason (at most
	// MaxReasonLen bytes) that must not contain secrets.
	KindRefuse Kind = 4
	// KindEager carries a whole small message from rank Src to rank Dst
	// with Tag. Size is the message's uncompressed size; Flags names the
	// payload's codec. Without compression Size equals PayloadLen.
	KindEager Kind = 5
	// KindRTS (request to send) announces a large message from Src to Dst
	// with Tag, identified by MsgID, of Size uncompressed bytes. It has no
	// payload. Flags names the codec its Data chunks will use.
	KindRTS Kind = 6
	// KindCTS (clear to send) answers an RTS: Src is the receiver's rank,
	// Dst the sender's rank, MsgID the message being accepted. No payload.
	KindCTS Kind = 7
	// KindData carries one chunk of a large message: Src, Dst, MsgID as in
	// the RTS; Offset is where the chunk starts in the uncompressed message;
	// Size is the whole message's uncompressed size; the payload is the chunk
	// (compressed with the codec in Flags, if any). The payload is never
	// empty, and without compression Offset+PayloadLen <= Size.
	KindData Kind = 8
	// KindCredit returns flow-control credit: Src (the receiver) has consumed
	// eager messages of Size bytes in all (uncompressed sizes) sent by Dst.
	// No payload.
	KindCredit Kind = 9
	// KindDone says the sending container has finished and will send no more
	// frames (graceful end). Src is the sender's pack. No payload.
	KindDone Kind = 10
	// KindAbort withdraws a large message: Src, the sender's rank, gave up
	// on rendezvous message MsgID for rank Dst before sending any of its
	// Data, and will answer no CTS for it. A sender also answers a CTS for
	// a message it does not know with an Abort. No payload.
	KindAbort Kind = 11

	maxKind = KindAbort
)

var kindNames = [...]string{
	KindHello:     "Hello",
	KindChallenge: "Challenge",
	KindResponse:  "Response",
	KindRefuse:    "Refuse",
	KindEager:     "Eager",
	KindRTS:       "RTS",
	KindCTS:       "CTS",
	KindData:      "Data",
	KindCredit:    "Credit",
	KindDone:      "Done",
	KindAbort:     "Abort",
}

// String returns the kind's name, or "Kind(n)" for an unknown value.
func (k Kind) String() string {
	if k >= 1 && k <= maxKind {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Valid reports whether k is a kind this version of the format defines.
func (k Kind) Valid() bool { return k >= 1 && k <= maxKind }

// Format constants.
const (
	// Magic is the first two bytes of every frame header ("VL").
	Magic uint16 = 0x564C
	// Version is the format version this package writes and accepts.
	Version uint8 = 1
	// HeaderLen is the encoded length of a Header in bytes.
	HeaderLen = 52
	// MaxPayload is the hard upper bound on a frame's payload length. A
	// decoder never accepts more; callers may set a lower limit.
	MaxPayload = 1 << 20

	// NonceLen is the length of the random nonce in Hello and Challenge.
	NonceLen = 32
	// MACLen is the length of the proof in a Response (HMAC-SHA256).
	MACLen = 32
	// MaxGroupLen is the longest group name Hello and Challenge may carry.
	MaxGroupLen = 256
	// MaxReasonLen is the longest reason a Refuse frame may carry.
	MaxReasonLen = 256
)

// Header layout (big-endian):
//
//	offset size field
//	 0     2    magic 0x56 0x4C ("VL")
//	 2     1    version (1)
//	 3     1    kind
//	 4     1    flags: payload codec (0 none, 1 zstd, 2 s2)
//	 5     3    reserved, zero
//	 8     4    payload length (uint32)
//	12     4    src (int32)
//	16     4    dst (int32)
//	20     4    tag (int32)
//	24     8    msg id (uint64)
//	32     8    offset (uint64)
//	40     8    size (uint64)
//	48     4    CRC-32C (Castagnoli) of bytes 0..47
const (
	offMagic      = 0
	offVersion    = 2
	offKind       = 3
	offFlags      = 4
	offReserved   = 5
	offPayloadLen = 8
	offSrc        = 12
	offDst        = 16
	offTag        = 20
	offMsgID      = 24
	offOffset     = 32
	offSize       = 40
	offCRC        = 48
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Header is the fixed part of a frame. Which fields a kind uses is listed
// with each Kind constant; fields a kind does not use must be zero, and
// Validate (called by DecodeHeader) enforces that.
type Header struct {
	// Kind says what the frame is for.
	Kind Kind
	// Flags holds the payload's compression codec (see Codec). Only Eager,
	// RTS and Data frames may set it.
	Flags uint8
	// Src is the sending rank (or pack, for Hello, Challenge and Done).
	Src int32
	// Dst is the destination rank.
	Dst int32
	// Tag is the message tag (Eager, RTS).
	Tag int32
	// MsgID names a large message (RTS, CTS, Data).
	MsgID uint64
	// Offset is where a Data chunk starts in its message.
	Offset uint64
	// Size is a message's uncompressed size (Eager, RTS, Data) or the
	// credit returned (Credit).
	Size uint64
	// PayloadLen is the number of payload bytes that follow the header.
	PayloadLen uint32
}

// Codec returns the payload's compression codec (the Flags field).
func (h Header) Codec() Codec { return Codec(h.Flags) }

// String formats the header for logs and errors.
func (h Header) String() string {
	return fmt.Sprintf("%v{src=%d dst=%d tag=%d msg=%d off=%d size=%d len=%d codec=%v}",
		h.Kind, h.Src, h.Dst, h.Tag, h.MsgID, h.Offset, h.Size, h.PayloadLen, h.Codec())
}

// Encode writes the header's HeaderLen bytes into b[:HeaderLen], including
// the checksum. It does not validate h (see Validate) and panics if
// len(b) < HeaderLen.
func (h Header) Encode(b []byte) {
	_ = b[HeaderLen-1]
	binary.BigEndian.PutUint16(b[offMagic:], Magic)
	b[offVersion] = Version
	b[offKind] = byte(h.Kind)
	b[offFlags] = h.Flags
	b[offReserved], b[offReserved+1], b[offReserved+2] = 0, 0, 0
	binary.BigEndian.PutUint32(b[offPayloadLen:], h.PayloadLen)
	binary.BigEndian.PutUint32(b[offSrc:], uint32(h.Src))
	binary.BigEndian.PutUint32(b[offDst:], uint32(h.Dst))
	binary.BigEndian.PutUint32(b[offTag:], uint32(h.Tag))
	binary.BigEndian.PutUint64(b[offMsgID:], h.MsgID)
	binary.BigEndian.PutUint64(b[offOffset:], h.Offset)
	binary.BigEndian.PutUint64(b[offSize:], h.Size)
	binary.BigEndian.PutUint32(b[offCRC:], crc32.Checksum(b[:offCRC], castagnoli))
}

// Append appends the encoded header to b and returns the extended slice.
// Like Encode, it does not validate h.
func (h Header) Append(b []byte) []byte {
	n := len(b)
	b = append(b, make([]byte, HeaderLen)...)
	h.Encode(b[n:])
	return b
}

// limit returns the effective payload limit for a caller's maxPayload:
// MaxPayload when maxPayload <= 0 or above MaxPayload.
func limit(maxPayload int) int {
	if maxPayload <= 0 || maxPayload > MaxPayload {
		return MaxPayload
	}
	return maxPayload
}

// DecodeHeader decodes and validates the header in b[:HeaderLen]. It checks
// magic, version, checksum and reserved bytes, then applies Validate with
// maxPayload (<= 0 or above MaxPayload means MaxPayload). It never panics;
// errors wrap ErrCorrupt or ErrTooLarge and say what is wrong.
func DecodeHeader(b []byte, maxPayload int) (Header, error) {
	if len(b) < HeaderLen {
		return Header{}, fmt.Errorf("%w: header is %d bytes, want %d", ErrCorrupt, len(b), HeaderLen)
	}
	if m := binary.BigEndian.Uint16(b[offMagic:]); m != Magic {
		return Header{}, fmt.Errorf("%w: bad magic %#04x, want %#04x", ErrCorrupt, m, Magic)
	}
	if v := b[offVersion]; v != Version {
		return Header{}, fmt.Errorf("%w: unsupported version %d, want %d", ErrCorrupt, v, Version)
	}
	if got, want := binary.BigEndian.Uint32(b[offCRC:]), crc32.Checksum(b[:offCRC], castagnoli); got != want {
		return Header{}, fmt.Errorf("%w: header checksum %#08x, computed %#08x", ErrCorrupt, got, want)
	}
	if b[offReserved]|b[offReserved+1]|b[offReserved+2] != 0 {
		return Header{}, fmt.Errorf("%w: reserved bytes % x are not zero", ErrCorrupt, b[offReserved:offReserved+3])
	}
	h := Header{
		Kind:       Kind(b[offKind]),
		Flags:      b[offFlags],
		PayloadLen: binary.BigEndian.Uint32(b[offPayloadLen:]),
		Src:        int32(binary.BigEndian.Uint32(b[offSrc:])),
		Dst:        int32(binary.BigEndian.Uint32(b[offDst:])),
		Tag:        int32(binary.BigEndian.Uint32(b[offTag:])),
		MsgID:      binary.BigEndian.Uint64(b[offMsgID:]),
		Offset:     binary.BigEndian.Uint64(b[offOffset:]),
		Size:       binary.BigEndian.Uint64(b[offSize:]),
	}
	if err := h.Validate(maxPayload); err != nil {
		return Header{}, err
	}
	return h, nil
}

// field names, for "must be zero" checks.
const (
	fDst    = 1 << iota // Dst
	fTag                // Tag
	fMsgID              // MsgID
	fOffset             // Offset
	fSize               // Size
	fFlags              // Flags
)

// Validate checks that h is a well-formed header of its kind: the kind and
// codec are known, ranks are not negative, fields the kind does not use are
// zero, the payload length is allowed for the kind and at most maxPayload
// (<= 0 or above MaxPayload means MaxPayload), and a Data chunk lies inside
// its message. Errors wrap ErrCorrupt or ErrTooLarge.
func (h Header) Validate(maxPayload int) error {
	if !h.Kind.Valid() {
		return fmt.Errorf("%w: unknown frame kind %d", ErrCorrupt, uint8(h.Kind))
	}
	if !h.Codec().Valid() {
		return fmt.Errorf("%w: %v frame: unknown codec %d in flags", ErrCorrupt, h.Kind, h.Flags)
	}
	if lim := limit(maxPayload); int64(h.PayloadLen) > int64(lim) {
		return fmt.Errorf("%w: %v frame: payload of %d bytes exceeds limit %d", ErrTooLarge, h.Kind, h.PayloadLen, lim)
	}

	// unused: fields that must be zero; minLen/maxLen: payload bounds.
	var unused int
	minLen, maxLen := 0, 0
	switch h.Kind {
	case KindHello, KindChallenge:
		unused = fDst | fTag | fMsgID | fOffset | fSize | fFlags
		minLen, maxLen = NonceLen, NonceLen+MaxGroupLen
	case KindResponse:
		unused = fDst | fTag | fMsgID | fOffset | fSize | fFlags
		minLen, maxLen = MACLen, MACLen
	case KindRefuse:
		unused = fDst | fTag | fMsgID | fOffset | fSize | fFlags
		minLen, maxLen = 0, MaxReasonLen
	case KindEager:
		unused = fMsgID | fOffset
		minLen, maxLen = 0, MaxPayload
	case KindRTS:
		unused = fOffset
	case KindCTS, KindAbort:
		unused = fTag | fOffset | fSize | fFlags
	case KindData:
		unused = fTag
		minLen, maxLen = 1, MaxPayload
	case KindCredit:
		unused = fTag | fMsgID | fOffset | fFlags
	case KindDone:
		unused = fDst | fTag | fMsgID | fOffset | fSize | fFlags
	}
	if err := h.checkUnused(unused); err != nil {
		return err
	}
	if n := int(h.PayloadLen); n < minLen || n > maxLen {
		if minLen == maxLen {
			return fmt.Errorf("%w: %v frame: payload of %d bytes, want %d", ErrCorrupt, h.Kind, n, minLen)
		}
		return fmt.Errorf("%w: %v frame: payload of %d bytes, want %d..%d", ErrCorrupt, h.Kind, n, minLen, maxLen)
	}

	// Ranks (or packs) must not be negative where they mean something.
	if h.Kind != KindResponse && h.Kind != KindRefuse && h.Src < 0 {
		return fmt.Errorf("%w: %v frame: negative src %d", ErrCorrupt, h.Kind, h.Src)
	}
	if unused&fDst == 0 && h.Dst < 0 {
		return fmt.Errorf("%w: %v frame: negative dst %d", ErrCorrupt, h.Kind, h.Dst)
	}
	if (h.Kind == KindResponse || h.Kind == KindRefuse) && h.Src != 0 {
		return fmt.Errorf("%w: %v frame: src %d must be 0", ErrCorrupt, h.Kind, h.Src)
	}

	switch h.Kind {
	case KindEager:
		if h.Codec() == CodecNone && h.Size != uint64(h.PayloadLen) {
			return fmt.Errorf("%w: Eager frame: size %d differs from uncompressed payload length %d", ErrCorrupt, h.Size, h.PayloadLen)
		}
	case KindData:
		if h.Offset >= h.Size {
			return fmt.Errorf("%w: Data frame: offset %d is not inside the %d-byte message", ErrCorrupt, h.Offset, h.Size)
		}
		if h.Codec() == CodecNone && uint64(h.PayloadLen) > h.Size-h.Offset {
			return fmt.Errorf("%w: Data frame: chunk [%d, %d+%d) runs past the %d-byte message", ErrCorrupt, h.Offset, h.Offset, h.PayloadLen, h.Size)
		}
	}
	return nil
}

func (h Header) checkUnused(unused int) error {
	type field struct {
		bit   int
		name  string
		isSet bool
	}
	for _, f := range [...]field{
		{fDst, "dst", h.Dst != 0},
		{fTag, "tag", h.Tag != 0},
		{fMsgID, "msg id", h.MsgID != 0},
		{fOffset, "offset", h.Offset != 0},
		{fSize, "size", h.Size != 0},
		{fFlags, "flags", h.Flags != 0},
	} {
		if unused&f.bit != 0 && f.isSet {
			return fmt.Errorf("%w: %v frame: %s must be zero", ErrCorrupt, h.Kind, f.name)
		}
	}
	return nil
}
