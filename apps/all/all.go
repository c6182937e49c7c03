// Package all registers every built-in app; import it for its side effect.
package all

import (
	_ "github.com/volley-run/volley/apps/collcheck" // registers "collcheck"
	_ "github.com/volley-run/volley/apps/hello"     // registers "hello"
	_ "github.com/volley-run/volley/apps/pagerank"  // registers "pagerank"
)
