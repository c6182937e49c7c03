// Package all registers every built-in app; import it for its side effect.
package all

import (
	_ "github.com/volley-run/volley/apps/collcheck" // registers "collcheck"
	_ "github.com/volley-run/volley/apps/hello"     // registers "hello"
	_ "github.com/volley-run/volley/apps/pagerank"  // registers "pagerank"
	_ "github.com/volley-run/volley/apps/rsakeygen" // registers "rsakeygen"
	_ "github.com/volley-run/volley/apps/sleepexp"  // registers "sleepexp"
	_ "github.com/volley-run/volley/apps/terasort"  // registers "terasort"
)
