package docker

import (
	"bufio"
	"encoding/json"
	"fmt"
	"log/slog"
	"os/exec"
	"strconv"
	"sync"
	"time"
)

// watcher follows the engine's "die" events for one runtime's containers
// (one `docker events` process for all of them), so a container that
// stops, is killed or runs out of memory is noticed at once.
type watcher struct {
	cmd  *exec.Cmd
	done chan struct{}
	log  *slog.Logger

	mu   sync.Mutex
	subs map[string]func(error) // container name -> its exit callback
}

// watchDeaths starts `docker events` for containers labelled with the
// runtime id, from since on (so none is missed between the start of the
// watcher and the first container).
func watchDeaths(e engine, runtimeID string, since time.Time, log *slog.Logger) (*watcher, error) {
	cmd := exec.Command(e.bin, "events", "--since", strconv.FormatInt(since.Unix(), 10),
		"--filter", "type=container", "--filter", "event=die", "--filter", "label="+LabelRuntime+"="+runtimeID,
		"--format", "{{json .}}")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("docker events: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("docker events: %w", err)
	}
	w := &watcher{cmd: cmd, done: make(chan struct{}), log: log, subs: map[string]func(error){}}
	go func() {
		defer close(w.done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			var ev struct {
				Actor struct {
					Attributes map[string]string `json:"Attributes"`
				} `json:"Actor"`
			}
			name := ""
			if err := json.Unmarshal(sc.Bytes(), &ev); err == nil {
				name = ev.Actor.Attributes["name"]
			}
			if name == "" {
				log.Warn("unreadable docker event", "line", sc.Text())
				continue
			}
			w.died(name, exitError(ev.Actor.Attributes["exitCode"]))
		}
		_ = cmd.Wait()
	}()
	return w, nil
}

// exitError words a container's exit code.
func exitError(code string) error {
	switch code {
	case "0":
		return nil
	case "137":
		return fmt.Errorf("exit code 137 (killed)")
	default:
		return fmt.Errorf("exit code %s", code)
	}
}

func (w *watcher) died(name string, err error) {
	w.mu.Lock()
	fn, ok := w.subs[name]
	delete(w.subs, name)
	w.mu.Unlock()
	if ok {
		fn(err)
	}
}

// subscribe calls fn (once) when the container called name dies; it is
// called before the container is created.
func (w *watcher) subscribe(name string, fn func(error)) {
	w.mu.Lock()
	w.subs[name] = fn
	w.mu.Unlock()
}

// unsubscribe forgets the container called name.
func (w *watcher) unsubscribe(name string) {
	w.mu.Lock()
	delete(w.subs, name)
	w.mu.Unlock()
}

// close stops the events process and waits for its reader.
func (w *watcher) close() {
	_ = w.cmd.Process.Kill()
	<-w.done
}
