package openwhisk

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/apache/openwhisk-client-go/whisk"
)

// DefaultImage is the worker image the action runs when Config.Image is
// empty: the tag deploy/build-image.sh builds.
const DefaultImage = "volley-worker:dev"

// Config configures a Runtime.
type Config struct {
	// APIHost is the OpenWhisk API host: "http://host:port", or a host
	// name, which means https.
	APIHost string
	// Auth is the namespace's "uuid:key".
	Auth string
	// Namespace is the namespace to use; default "_" (the credential's own).
	Namespace string
	// Insecure skips TLS certificate checks (only for the default
	// HTTPClient).
	Insecure bool
	// Action is the action's name (default "volley"); Image its Docker
	// image (default DefaultImage).
	Action string
	Image  string
	// MemoryMB (default 256), Timeout (default 5 min, OpenWhisk's
	// maximum) and Concurrency (default 1) are the action's limits. A
	// group whose deadline is later than Timeout is cut at Timeout.
	MemoryMB    int
	Timeout     time.Duration
	Concurrency int
	// GroupInvoke chooses how a group is sent: "auto" (default: the group
	// endpoint when the server offers it), "on" (require it), "off"
	// (single activations).
	GroupInvoke string
	// PollMin and PollMax bound the backoff between polls for an
	// activation's record (default 20 ms, 1 s).
	PollMin, PollMax time.Duration
	// HTTPClient makes the requests; default: a client with a 70 s
	// timeout (longer than a blocking invoke's 60 s).
	HTTPClient *http.Client
	// Logger receives backend events. Default: discard.
	Logger *slog.Logger
}

// Resolve fills APIHost, Auth and Namespace from the environment and the
// wskprops file where they are empty, and the other fields from their
// defaults. It fails when no API host or no credential is found.
func (c Config) Resolve() (Config, error) {
	props, path, err := readWskprops()
	if err != nil {
		return c, err
	}
	pick := func(field *string, env, prop string) {
		if *field == "" {
			*field = os.Getenv(env)
		}
		if *field == "" {
			*field = props[prop]
		}
	}
	pick(&c.APIHost, "__OW_API_HOST", "APIHOST")
	pick(&c.Auth, "__OW_API_KEY", "AUTH")
	pick(&c.Namespace, "__OW_NAMESPACE", "NAMESPACE")
	where := "no wskprops file"
	if path != "" {
		where = path
	}
	if c.APIHost == "" {
		return c, fmt.Errorf("no OpenWhisk API host: pass --apihost, set __OW_API_HOST, or set APIHOST in %s", where)
	}
	if c.Auth == "" {
		return c, fmt.Errorf("no OpenWhisk credential: pass --auth UUID:KEY, set __OW_API_KEY, or set AUTH in %s", where)
	}
	if c.Namespace == "" {
		c.Namespace = "_"
	}
	if c.Action == "" {
		c.Action = "volley"
	}
	if c.Image == "" {
		c.Image = DefaultImage
	}
	if c.MemoryMB <= 0 {
		c.MemoryMB = 256
	}
	if c.Timeout <= 0 {
		c.Timeout = 5 * time.Minute
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 1
	}
	switch c.GroupInvoke {
	case "":
		c.GroupInvoke = "auto"
	case "auto", "on", "off":
	default:
		return c, fmt.Errorf("group invoke %q: want auto, on or off", c.GroupInvoke)
	}
	if c.PollMin <= 0 {
		c.PollMin = 20 * time.Millisecond
	}
	if c.PollMax < c.PollMin {
		c.PollMax = max(time.Second, c.PollMin)
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: 70 * time.Second}
		if c.Insecure {
			// Set here rather than by client-go, which would replace the
			// shared client's transport on every whisk.NewClient.
			c.HTTPClient.Transport = &http.Transport{Proxy: http.ProxyFromEnvironment,
				TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
		}
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// readWskprops reads $WSK_CONFIG_FILE, else ~/.wskprops; a missing default
// file is no error, a missing WSK_CONFIG_FILE is.
func readWskprops() (map[string]string, string, error) {
	path := os.Getenv("WSK_CONFIG_FILE")
	explicit := path != ""
	if !explicit {
		home, err := os.UserHomeDir()
		if err != nil {
			return map[string]string{}, "", nil
		}
		path = filepath.Join(home, ".wskprops")
	}
	props, err := whisk.ReadProps(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) && !explicit {
			return map[string]string{}, "", nil
		}
		return nil, path, fmt.Errorf("wskprops file %s (WSK_CONFIG_FILE): %w", path, err)
	}
	return props, path, nil
}

// whiskConfig is a fresh client-go configuration: client-go's activation
// calls rewrite Namespace, so each client gets its own copy.
func (c Config) whiskConfig() *whisk.Config {
	return &whisk.Config{Host: c.APIHost, AuthToken: c.Auth, Namespace: c.Namespace}
}
