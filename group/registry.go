package group

import (
	"context"
	"fmt"
	"sort"
	"sync"
)

// WorkerFunc is the body of one rank. Its result must encode to JSON. A
// returned error, or a panic, becomes that rank's error; the other ranks go
// on. It must return promptly once ctx is done.
type WorkerFunc func(ctx context.Context, w *Worker) (any, error)

// App is a registered job.
type App struct {
	// Name is what users type: volley run NAME.
	Name string
	// Summary is one line for `volley apps`.
	Summary string
	// Params documents the accepted parameters, key to meaning.
	Params map[string]string
	// Run is the worker function every rank executes.
	Run WorkerFunc
	// Check, when set, vets the parameters on the launcher before any
	// container starts (for example that an input file exists), so bad
	// input fails fast as bad usage. Launch wraps its error in
	// ErrBadSpec. Workers must still handle bad input themselves: Check
	// runs where the launcher runs, which need not be where they do.
	Check func(Params) error
}

var (
	registryMu sync.RWMutex
	registry   = map[string]App{}
)

// Register adds an app to the registry. It panics on an empty name, a nil
// Run or a duplicate name, since those are programming errors caught at
// init time.
func Register(app App) {
	if app.Name == "" || app.Run == nil {
		panic("group.Register: app needs a name and a Run function")
	}
	registryMu.Lock()
	defer registryMu.Unlock()
	if _, dup := registry[app.Name]; dup {
		panic(fmt.Sprintf("group.Register: app %q registered twice", app.Name))
	}
	registry[app.Name] = app
}

// Lookup finds a registered app; the error wraps ErrUnknownApp and lists the
// known names.
func Lookup(name string) (App, error) {
	registryMu.RLock()
	defer registryMu.RUnlock()
	app, ok := registry[name]
	if !ok {
		return App{}, fmt.Errorf("%w %q (registered: %v)", ErrUnknownApp, name, appNamesLocked())
	}
	return app, nil
}

// Apps returns the registered apps sorted by name.
func Apps() []App {
	registryMu.RLock()
	defer registryMu.RUnlock()
	apps := make([]App, 0, len(registry))
	for _, a := range registry {
		apps = append(apps, a)
	}
	sort.Slice(apps, func(i, j int) bool { return apps[i].Name < apps[j].Name })
	return apps
}

func appNamesLocked() []string {
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
