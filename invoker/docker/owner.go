package docker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Labels Volley puts on what it makes in Docker.
const (
	// LabelRuntime names the Runtime that made a container or network.
	LabelRuntime = "volley.runtime"
	// LabelGroup names the group a container was started for.
	LabelGroup = "volley.group"
	// LabelOwner is "pid:starttime" of the process that made it, so a
	// sweep can tell a live runtime's containers from a dead one's.
	LabelOwner = "volley.owner"
	// LabelImage marks the worker image and its build layers.
	LabelImage = "volley.image"
)

// owner is this process's LabelOwner value.
var owner = func() string {
	st, err := procStart(os.Getpid())
	if err != nil {
		return fmt.Sprintf("%d:?", os.Getpid())
	}
	return fmt.Sprintf("%d:%s", os.Getpid(), st)
}()

// procStart is the start time of process pid in clock ticks since boot
// (field 22 of /proc/PID/stat), which tells a process from a later one
// that got the same pid.
func procStart(pid int) (string, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "", err
	}
	// The command name (field 2) is in parentheses and may hold spaces.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return "", errors.New("malformed stat")
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return "", errors.New("short stat")
	}
	return f[19], nil
}

// ownerAlive reports whether the process named by a LabelOwner value
// still runs.
func ownerAlive(v string) bool {
	pidStr, start, ok := strings.Cut(v, ":")
	pid, err := strconv.Atoi(pidStr)
	if !ok || err != nil {
		return false
	}
	st, err := procStart(pid)
	return err == nil && (start == "?" || st == start)
}

// Sweep removes the containers and networks that Volley runtimes of
// processes no longer running left behind (a launcher that crashed or was
// killed), through the CLI bin (default "docker"). What live runtimes own
// is left alone. It returns how many containers and networks it removed.
func Sweep(ctx context.Context, bin string) (containers, networks int, err error) {
	if bin == "" {
		bin = "docker"
	}
	e := engine{bin}
	out, err := e.run(ctx, "ps", "-a", "--filter", "label="+LabelOwner, "--format", `{{.ID}} {{.Label "`+LabelOwner+`"}}`)
	if err != nil {
		return 0, 0, fmt.Errorf("sweep: %w", err)
	}
	var dead []string
	for _, l := range lines(out) {
		id, v, _ := strings.Cut(l, " ")
		if !ownerAlive(v) {
			dead = append(dead, id)
		}
	}
	if err := e.remove(ctx, dead...); err != nil {
		return 0, 0, fmt.Errorf("sweep: %w", err)
	}
	out, err = e.run(ctx, "network", "ls", "--filter", "label="+LabelOwner, "--format", `{{.ID}} {{.Label "`+LabelOwner+`"}}`)
	if err != nil {
		return len(dead), 0, fmt.Errorf("sweep: %w", err)
	}
	nets := 0
	for _, l := range lines(out) {
		id, v, _ := strings.Cut(l, " ")
		if ownerAlive(v) {
			continue
		}
		// A network whose last container is still on its way out is left
		// to the next sweep.
		if _, err := e.run(ctx, "network", "rm", id); err == nil {
			nets++
		} else if !onlyGone(err) && !strings.Contains(err.Error(), "active endpoints") {
			return len(dead), nets, fmt.Errorf("sweep: %w", err)
		}
	}
	return len(dead), nets, nil
}
