package group

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
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
	// Params documents the accepted parameters, key to meaning. When it
	// is set, Launch refuses any other key (a typo must not run the job
	// with a default); nil accepts any key.
	Params map[string]string
	// Run is the worker function every rank executes.
	Run WorkerFunc
	// Independent declares that the app's workers never communicate (map
	// tasks), so a pack may run in several containers at once and the
	// first result be kept: execution speculation needs it.
	Independent bool
	// Startup, if set, runs in the container before the pack joins the
	// group (before its ranks register), with the pack's task; an error
	// fails the container. Apps use it to model slow cold starts.
	Startup func(ctx context.Context, task PackTask) error
	// Check, when set, validates the parameters on the launcher before
	// any container starts (for example that an input exists or an output
	// does not). Launch fails with its error, wrapped in ErrBadSpec, and
	// starts nothing. It must not change anything.
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

// checkKeys refuses a parameter the app does not declare, when it declares
// its parameters, naming the ones it takes.
func (a App) checkKeys(p Params) error {
	if a.Params == nil {
		return nil
	}
	for _, k := range p.Keys() {
		if _, ok := a.Params[k]; !ok {
			takes := "no parameters"
			if len(a.Params) > 0 {
				takes = strings.Join(slices.Sorted(maps.Keys(a.Params)), ", ")
			}
			return fmt.Errorf("%w: %s: unknown parameter %q (%s takes %s)", ErrBadSpec, a.Name, k, a.Name, takes)
		}
	}
	return nil
}
