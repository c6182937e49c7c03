package action

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"
)

// Environment variables a launcher sets for a local container. An OpenWhisk
// container sets neither and serves on :8080.
const (
	// EnvListen is the address to listen on (default ":8080").
	EnvListen = "VOLLEY_LISTEN"
	// EnvAddrFD names an inherited file descriptor to which the container
	// writes its listening address, one line, once it accepts connections.
	EnvAddrFD = "VOLLEY_ADDR_FD"
)

// DefaultListen is the OpenWhisk action port.
const DefaultListen = ":8080"

// Serve runs the action protocol server until ctx ends, then shuts it down
// gracefully: in-flight runs see their context cancelled (a container told
// to stop with SIGTERM stops its pack at once) and get a few seconds to
// answer.
func Serve(ctx context.Context, srv *Server, log *slog.Logger) error {
	addr := os.Getenv(EnvListen)
	if addr == "" {
		addr = DefaultListen
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", addr, err)
	}
	if err := reportAddr(ln.Addr().String()); err != nil {
		ln.Close()
		return err
	}
	log.Debug("action runtime listening", "addr", ln.Addr().String(), "pid", os.Getpid())
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second,
		BaseContext: func(net.Listener) context.Context { return ctx }}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutCtx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// reportAddr writes addr to the descriptor named by EnvAddrFD, if any.
func reportAddr(addr string) error {
	fdStr := os.Getenv(EnvAddrFD)
	if fdStr == "" {
		return nil
	}
	fd, err := strconv.Atoi(fdStr)
	if err != nil || fd < 3 {
		return fmt.Errorf("%s=%q is not an inherited descriptor", EnvAddrFD, fdStr)
	}
	f := os.NewFile(uintptr(fd), "volley-addr")
	if f == nil {
		return fmt.Errorf("%s=%d is not open", EnvAddrFD, fd)
	}
	defer f.Close()
	if _, err := fmt.Fprintln(f, addr); err != nil {
		return fmt.Errorf("report address on fd %d: %w", fd, err)
	}
	return nil
}
