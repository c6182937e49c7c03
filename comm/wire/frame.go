package wire

import (
	"errors"
	"fmt"
	"io"
)

// WriteFrame writes one frame, h followed by payload, to w. It sets
// h.PayloadLen from len(payload) (a nonzero h.PayloadLen that disagrees is
// an error) and validates h before writing anything. It issues two writes
// (header, then payload); wrap w in a bufio.Writer, or use a transport that
// gathers them, when that matters.
func WriteFrame(w io.Writer, h Header, payload []byte) error {
	h, err := Prepare(h, payload, MaxPayload)
	if err != nil {
		return err
	}
	var hb [HeaderLen]byte
	h.Encode(hb[:])
	if _, err := w.Write(hb[:]); err != nil {
		return fmt.Errorf("wire: write %v header: %w", h.Kind, err)
	}
	if len(payload) > 0 {
		if _, err := w.Write(payload); err != nil {
			return fmt.Errorf("wire: write %v payload: %w", h.Kind, err)
		}
	}
	return nil
}

// Prepare returns h with PayloadLen set to len(payload), after checking that
// the result passes Validate(maxPayload). A nonzero h.PayloadLen that differs
// from len(payload) is an error. Senders call it before encoding a frame, so
// a malformed frame fails where it is made rather than at the receiver.
func Prepare(h Header, payload []byte, maxPayload int) (Header, error) {
	if len(payload) > MaxPayload {
		return h, fmt.Errorf("%w: %v frame: payload of %d bytes exceeds limit %d", ErrTooLarge, h.Kind, len(payload), MaxPayload)
	}
	if h.PayloadLen != 0 && int(h.PayloadLen) != len(payload) {
		return h, fmt.Errorf("wire: %v frame: header says %d payload bytes, payload has %d", h.Kind, h.PayloadLen, len(payload))
	}
	h.PayloadLen = uint32(len(payload))
	if err := h.Validate(maxPayload); err != nil {
		return h, err
	}
	return h, nil
}

// ReadFrame reads one frame from r, enforcing maxPayload (<= 0 or above
// MaxPayload means MaxPayload).
//
// If buf is non-nil and the frame has a payload, buf is called with the
// decoded header and may return a slice of at least h.PayloadLen bytes to
// read the payload into (the payload returned is its first h.PayloadLen
// bytes); if it returns nil, a new slice is allocated. A slice that is too
// short is an error wrapping io.ErrShortBuffer.
//
// A clean end of input before the first header byte returns io.EOF; an end
// inside a frame returns an error wrapping io.ErrUnexpectedEOF. After an
// error the reader's position inside the stream is unknown, so callers must
// stop reading.
func ReadFrame(r io.Reader, maxPayload int, buf func(Header) []byte) (Header, []byte, error) {
	var hb [HeaderLen]byte
	if _, err := io.ReadFull(r, hb[:]); err != nil {
		if errors.Is(err, io.EOF) {
			return Header{}, nil, io.EOF
		}
		return Header{}, nil, fmt.Errorf("wire: read header: %w", err)
	}
	h, err := DecodeHeader(hb[:], maxPayload)
	if err != nil {
		return Header{}, nil, err
	}
	if h.PayloadLen == 0 {
		return h, nil, nil
	}
	p, err := PayloadBuffer(h, buf)
	if err != nil {
		return h, nil, err
	}
	if _, err := io.ReadFull(r, p); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return h, nil, fmt.Errorf("wire: read %v payload of %d bytes: %w", h.Kind, h.PayloadLen, err)
	}
	return h, p, nil
}

// PayloadBuffer returns the slice a frame's payload should be read into:
// buf(h)[:h.PayloadLen] when buf is non-nil and returns a slice, else a new
// slice of h.PayloadLen bytes. A slice shorter than h.PayloadLen is an error
// wrapping io.ErrShortBuffer. Transports use it to implement the buf
// callback of ReadFrame.
func PayloadBuffer(h Header, buf func(Header) []byte) ([]byte, error) {
	n := int(h.PayloadLen)
	if buf != nil {
		if p := buf(h); p != nil {
			if len(p) < n {
				return nil, fmt.Errorf("wire: %v frame: buffer of %d bytes for a %d-byte payload: %w", h.Kind, len(p), n, io.ErrShortBuffer)
			}
			return p[:n], nil
		}
	}
	return make([]byte, n), nil
}
